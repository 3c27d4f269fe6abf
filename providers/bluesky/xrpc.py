"""XRPC over httpx with an app-password session that refreshes itself.

``createSession`` logs in; when a call answers ``ExpiredToken`` the session is
refreshed with ``refreshSession`` (or, if the refresh token is dead too, created
again) and the call is retried once. HTTP trouble becomes provider errors;
rate limits (``ratelimit-remaining`` / ``ratelimit-reset``) are honoured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from providers.base import USER_AGENT, AuthError, PermanentError, TransientError
CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"


class XrpcError(PermanentError):
    """A refused XRPC call; ``error`` is the lexicon's error name (NotFound, InvalidRequest, ...)."""

    def __init__(self, message: str, *, status: int, error: str, detail: str = "", fix: str = "") -> None:
        super().__init__(message, fix=fix)
        self.status = status
        self.error = error
        self.detail = detail


def _body(resp: httpx.Response) -> tuple[str, str]:
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:200]
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("message") or "")[:200]


def _seconds_until(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    # ratelimit-reset is a Unix time; Retry-After is a number of seconds.
    return max(0.0, number - now) if number > 1e9 else max(0.0, number)


class Session:
    def __init__(self, service: str, handle: str, password: Callable[[], str], *, timeout: float, account: str,
                 appview: str | None = None) -> None:
        self.service = service.rstrip("/")
        self.appview = appview.rstrip("/") if appview else None
        self.handle = handle
        self.account = account
        self._password = password
        self._http = httpx.AsyncClient(timeout=timeout, headers={"User-Agent": USER_AGENT},
                                       follow_redirects=False)
        self.access_jwt = ""
        self.refresh_jwt = ""
        self.did = ""
        self._blocked_until = 0.0

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ login

    async def login(self) -> None:
        body = await self._send("POST", self.service, "com.atproto.server.createSession", auth=None,
                                json={"identifier": self.handle, "password": self._password()}, login=True)
        self._take(body)

    async def refresh(self) -> None:
        try:
            body = await self._send("POST", self.service, "com.atproto.server.refreshSession",
                                    auth=self.refresh_jwt, login=True)
        except (AuthError, XrpcError):
            await self.login()  # the refresh token expired or was revoked: log in again
            return
        self._take(body)

    def _take(self, body: dict[str, Any]) -> None:
        self.access_jwt = body["accessJwt"]
        self.refresh_jwt = body["refreshJwt"]
        self.did = body.get("did") or self.did
        self.handle = body.get("handle") or self.handle

    # ------------------------------------------------------------------ calls

    async def query(self, nsid: str, params: dict[str, Any] | None = None, *, chat: bool = False) -> Any:
        return await self.call("GET", nsid, params=params, chat=chat)

    async def procedure(self, nsid: str, body: dict[str, Any], *, chat: bool = False) -> Any:
        return await self.call("POST", nsid, json=body, chat=chat)

    async def call(self, method: str, nsid: str, *, chat: bool = False, **kw: Any) -> Any:
        base = self.appview if (self.appview and nsid.startswith("app.bsky.") and method == "GET") else self.service
        headers = {"atproto-proxy": CHAT_PROXY} if chat else {}
        try:
            return await self._send(method, base, nsid, auth=self.access_jwt, headers=headers, **kw)
        except XrpcError as e:
            if e.error not in ("ExpiredToken",):
                raise
        await self.refresh()
        return await self._send(method, base, nsid, auth=self.access_jwt, headers=headers, **kw)

    async def _send(self, method: str, base: str, nsid: str, *, auth: str | None, login: bool = False,
                    headers: dict[str, str] | None = None, **kw: Any) -> Any:
        now = time.time()
        if self._blocked_until > now:
            wait = self._blocked_until - now
            raise TransientError(f"{self.account}: Bluesky rate limit reached, waiting {wait:.0f}s", retry_after=wait)
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = f"Bearer {auth}"
        try:
            resp = await self._http.request(method, f"{base}/xrpc/{nsid}", headers=hdrs, **kw)
        except httpx.TimeoutException as e:
            raise TransientError(f"{self.account}: {base} did not answer in time") from e
        except httpx.TransportError as e:
            raise TransientError(f"{self.account}: cannot reach {base}: {e}") from e
        remaining = resp.headers.get("ratelimit-remaining")
        if remaining is not None and remaining.strip().isdigit() and int(remaining) <= 0:
            wait = _seconds_until(resp.headers.get("ratelimit-reset"), time.time())
            if wait:
                self._blocked_until = time.time() + wait
        if resp.status_code < 400:
            return resp.json() if resp.content else {}
        self._raise(resp, nsid, login)

    def _raise(self, resp: httpx.Response, nsid: str, login: bool) -> None:
        code = resp.status_code
        error, message = _body(resp)
        detail = f"{error}: {message}" if error and message else (error or message or f"HTTP {code}")
        if code == 429:
            now = time.time()
            wait = _seconds_until(resp.headers.get("retry-after"), now)
            if wait is None:
                wait = _seconds_until(resp.headers.get("ratelimit-reset"), now)
            if wait:
                self._blocked_until = now + wait
            raise TransientError(f"{self.account}: Bluesky rate limit reached ({detail})", retry_after=wait)
        if error == "ExpiredToken":
            raise XrpcError(f"{self.account}: session expired", status=code, error=error, detail=message)
        if login and code in (400, 401):
            raise AuthError(f"{self.account}: Bluesky refused the login for {self.handle} ({detail})",
                            fix=f"create an app password in Bluesky settings, then run: switchboard accounts add "
                                f"{self.account}")
        if code == 401 and not nsid.startswith("chat."):
            raise AuthError(f"{self.account}: Bluesky refused the session ({detail})",
                            fix=f"run: switchboard accounts add {self.account}")
        if code >= 500 or code in (408, 425):
            raise TransientError(f"{self.account}: Bluesky answered {code} to {nsid} ({detail})")
        raise XrpcError(f"{self.account}: {nsid} failed ({detail})", status=code, error=error, detail=message)
