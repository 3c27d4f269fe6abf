"""A small async client for the Matrix client-server API, with the errors mapped.

Every failure leaves here as one of the provider errors, with one line that says
what went wrong and what to do: network trouble and rate limits are transient,
refused credentials are an :class:`AuthError`, anything else a request can never
do is permanent. An expired token is replaced by logging in again once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from providers.base import AuthError, PermanentError, TransientError
from providers.matrix.session import SessionStore
from providers.text import clean_line

API = "/_matrix/client/v3"


def path(*parts: str, prefix: str = API) -> str:
    """An API path with every part percent-quoted (room ids hold '!' and ':')."""
    return prefix + "".join("/" + quote(p, safe="") for p in parts)


class MatrixError(PermanentError):
    """A request the homeserver answered with an error; carries errcode and status."""


class MatrixClient:
    def __init__(self, *, account: str, homeserver: str, user_id: str, device_name: str, timeout: float,
                 store: SessionStore, password: Callable[[], str]) -> None:
        self.account = account
        self.homeserver = homeserver.rstrip("/")
        self.user_id = user_id
        self.device_name = device_name
        self.timeout = timeout
        self.store = store
        self._password = password
        self._http: httpx.AsyncClient | None = None
        self._login_lock = asyncio.Lock()

    # ------------------------------------------------------------------ life cycle

    async def open(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self.homeserver, timeout=httpx.Timeout(self.timeout),
                                           headers={"User-Agent": "Switchboard"}, follow_redirects=True)

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    @property
    def device_id(self) -> str:
        return self.store.session.device_id

    # ------------------------------------------------------------------ requests

    async def request(self, method: str, url: str, *, params: dict | None = None, json: Any = None,
                      auth: bool = True, timeout: float | None = None) -> dict:
        """One API call; JSON body of the answer. Re-logs in once on M_UNKNOWN_TOKEN."""
        if auth and not self.store.session.access_token:
            await self.login()
        token_used = self.store.session.access_token
        resp = await self._send(method, url, params=params, json=json, auth=auth, timeout=timeout)
        if auth and resp.status_code == 401 and _errcode(resp) == "M_UNKNOWN_TOKEN":
            await self.login(stale=token_used)
            resp = await self._send(method, url, params=params, json=json, auth=auth, timeout=timeout)
        return self._decode(resp, method, url)

    async def _send(self, method, url, *, params, json, auth, timeout) -> httpx.Response:
        if self._http is None:
            raise PermanentError(f"{self.account}: the Matrix connection is closed", fix="open the account first")
        headers = {"Authorization": f"Bearer {self.store.session.access_token}"} if auth else {}
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json is not None:
            kwargs["json"] = json
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(self.timeout, read=timeout)
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientError(f"{self.account}: {self.homeserver} did not answer in time ({type(exc).__name__})",
                                 fix="the homeserver is slow or unreachable; Switchboard will retry") from None
        except httpx.TransportError as exc:
            reason = clean_line(str(exc)) or type(exc).__name__
            raise TransientError(f"{self.account}: cannot reach the homeserver {self.homeserver} ({reason})",
                                 fix="check that it is running and the address is right; Switchboard will retry"
                                 ) from None

    def _decode(self, resp: httpx.Response, method: str, url: str) -> dict:
        if resp.status_code < 400:
            try:
                body = resp.json()
            except ValueError:
                raise TransientError(f"{self.account}: the homeserver sent a reply that is not JSON "
                                     f"(HTTP {resp.status_code})", fix="is the homeserver address right?") from None
            return body if isinstance(body, dict) else {"value": body}
        code = _errcode(resp)
        error = clean_line(_field(resp, "error"))[:200] or resp.reason_phrase
        what = f"{method} {url.split('?')[0].removeprefix(API)}"
        if resp.status_code == 429 or code == "M_LIMIT_EXCEEDED":
            retry_after = _retry_after(resp)
            raise TransientError(f"{self.account}: rate limited by the homeserver ({what})",
                                 fix=f"waiting {retry_after:.1f}s before trying again" if retry_after else "",
                                 retry_after=retry_after)
        if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN") or resp.status_code == 401:
            raise AuthError(f"{self.account}: the homeserver no longer accepts our session ({error})",
                            fix=f"run: switchboard accounts add {self.account}")
        if code == "M_USER_DEACTIVATED":
            raise AuthError(f"{self.account}: the Matrix account {self.user_id} is deactivated",
                            fix="ask the homeserver's admin to reactivate it, or use another account")
        if resp.status_code >= 500:
            raise TransientError(f"{self.account}: homeserver error HTTP {resp.status_code} on {what}: {error}",
                                 fix="Switchboard will retry")
        err = MatrixError(f"{self.account}: {what} refused: {code or resp.status_code} {error}".rstrip())
        err.errcode = code  # type: ignore[attr-defined]
        err.status = resp.status_code  # type: ignore[attr-defined]
        raise err

    async def download(self, mxc: str) -> bytes:
        """Bytes of an ``mxc://server/id`` media file (authenticated media, Matrix 1.11)."""
        server, _, media_id = mxc.removeprefix("mxc://").partition("/")
        if not mxc.startswith("mxc://") or not server or not media_id:
            raise PermanentError(f"{self.account}: {mxc!r} is not an mxc:// media address")
        url = path("media", "download", server, media_id, prefix="/_matrix/client/v1")
        resp = await self._send("GET", url, params=None, json=None, auth=True, timeout=None)
        if resp.status_code == 401 and _errcode(resp) == "M_UNKNOWN_TOKEN":
            await self.login(stale=self.store.session.access_token)
            resp = await self._send("GET", url, params=None, json=None, auth=True, timeout=None)
        if resp.status_code >= 400:
            self._decode(resp, "GET", url)  # raises the mapped error
        return resp.content

    # ------------------------------------------------------------------ login

    async def login(self, stale: str | None = None) -> None:
        """Exchange the password for an access token on our stable device id."""
        async with self._login_lock:
            if stale is not None and self.store.session.access_token != stale:
                return  # someone else already logged in again while we waited
            password = self._password()
            body = {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": self.user_id},
                "password": password,
                "device_id": self.store.session.device_id,
                "initial_device_display_name": self.device_name,
            }
            resp = await self._send("POST", path("login"), params=None, json=body, auth=False, timeout=None)
            if resp.status_code == 403 or _errcode(resp) in ("M_FORBIDDEN", "M_USER_DEACTIVATED"):
                self.store.forget_token()
                if _errcode(resp) == "M_USER_DEACTIVATED":
                    raise AuthError(f"{self.account}: the Matrix account {self.user_id} is deactivated",
                                    fix="ask the homeserver's admin to reactivate it, or use another account")
                raise AuthError(f"{self.account}: {self.homeserver} refused the password for {self.user_id}",
                                fix=f"store the right password with: switchboard accounts add {self.account}")
            if 400 <= resp.status_code < 500 and resp.status_code != 429:
                raise AuthError(f"{self.account}: {self.homeserver} refused to log in {self.user_id}: "
                                f"{_errcode(resp) or resp.status_code} {clean_line(_field(resp, 'error'))[:200]}".rstrip(),
                                fix="check homeserver and user_id in config.toml")
            data = self._decode(resp, "POST", path("login"))
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise TransientError(f"{self.account}: the homeserver's login answer had no access token")
            self.store.session.access_token = token
            if isinstance(data.get("device_id"), str) and data["device_id"]:
                self.store.session.device_id = data["device_id"]
            self.store.save()


def _field(resp: httpx.Response, name: str) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def _errcode(resp: httpx.Response) -> str:
    return _field(resp, "errcode") if resp.status_code >= 400 else ""


def _retry_after(resp: httpx.Response) -> float | None:
    """Seconds to wait: ``retry_after_ms`` in the body, else the Retry-After header."""
    try:
        body = resp.json()
    except ValueError:
        body = {}
    ms = body.get("retry_after_ms") if isinstance(body, dict) else None
    if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0:
        return ms / 1000.0
    header = resp.headers.get("Retry-After", "")
    try:
        return max(0.0, float(header))
    except ValueError:
        return None
