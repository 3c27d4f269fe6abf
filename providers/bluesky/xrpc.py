"""XRPC as a :class:`providers.http.JsonApi`, with an app-password session that refreshes itself.

``createSession`` logs in; when a call answers ``ExpiredToken`` the session is
refreshed with ``refreshSession`` (or, if the refresh token is dead too, created
again) and the call is retried once. HTTP trouble becomes provider errors;
rate limits (``ratelimit-remaining`` / ``ratelimit-reset``) are honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from providers.base import AuthError, PermanentError, ProviderError
from providers.http import JsonApi
from providers.text import clean_line

CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"


class XrpcError(PermanentError):
    """A refused XRPC call; ``error`` is the lexicon's error name (NotFound, InvalidRequest, ...)."""

    def __init__(self, message: str, *, status: int, error: str, detail: str = "", fix: str = "") -> None:
        super().__init__(message, fix=fix)
        self.status = status
        self.error = error
        self.detail = detail


LOGINS = ("com.atproto.server.createSession", "com.atproto.server.refreshSession")


def _body(resp: httpx.Response) -> tuple[str, str]:
    """The lexicon's error name and its message, cleaned (hostile text)."""
    try:
        body = resp.json()
    except ValueError:
        return "", clean_line(resp.text)[:200]
    if not isinstance(body, dict):
        return "", ""
    return clean_line(str(body.get("error") or "")), clean_line(str(body.get("message") or ""))[:200]


class Session(JsonApi):
    service = "Bluesky"
    rate_headers = ("ratelimit-remaining", "ratelimit-reset")

    def __init__(self, service: str, handle: str, password: Callable[[], str], *, timeout: float, account: str,
                 appview: str | None = None) -> None:
        super().__init__(service, account=account, timeout=timeout)
        self.appview = appview.rstrip("/") if appview else None
        self.handle = handle
        self._password = password
        self.access_jwt = ""
        self.refresh_jwt = ""
        self.did = ""

    # ------------------------------------------------------------------ login

    async def login(self) -> None:
        body = await self._send("POST", self.base_url, LOGINS[0], auth=None,
                                json={"identifier": self.handle, "password": self._password()})
        self._take(body)

    async def refresh(self) -> None:
        try:
            body = await self._send("POST", self.base_url, LOGINS[1], auth=self.refresh_jwt)
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
        base = self.appview if (self.appview and nsid.startswith("app.bsky.") and method == "GET") else self.base_url
        headers = {"atproto-proxy": CHAT_PROXY} if chat else {}
        try:
            return await self._send(method, base, nsid, auth=self.access_jwt, headers=headers, **kw)
        except XrpcError as e:
            if e.error not in ("ExpiredToken",):
                raise
        await self.refresh()
        return await self._send(method, base, nsid, auth=self.access_jwt, headers=headers, **kw)

    async def _send(self, method: str, base: str, nsid: str, *, auth: str | None,
                    headers: dict[str, str] | None = None, **kw: Any) -> Any:
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = f"Bearer {auth}"
        resp = await self.request(method, f"{base}/xrpc/{nsid}", headers=hdrs, **kw)
        return resp.json() if resp.content else {}

    # ------------------------------------------------------------------ errors

    def detail(self, resp: httpx.Response) -> str:
        error, message = _body(resp)
        return f"{error}: {message}" if error and message else (error or message or f"HTTP {resp.status_code}")

    def refusal(self, resp: httpx.Response, detail: str) -> ProviderError | None:
        code = resp.status_code
        nsid = resp.request.url.path.rsplit("/xrpc/", 1)[-1]
        error, message = _body(resp)
        if code == 429:
            return None
        if error == "ExpiredToken":
            return XrpcError(f"{self.account}: session expired", status=code, error=error, detail=message)
        if nsid in LOGINS and code in (400, 401):
            return AuthError(f"{self.account}: Bluesky refused the login for {self.handle} ({detail})",
                             fix=f"create an app password in Bluesky settings, then run: switchboard accounts add "
                                 f"{self.account}")
        if code == 401 and not nsid.startswith("chat."):
            return AuthError(f"{self.account}: Bluesky refused the session ({detail})",
                             fix=f"run: switchboard accounts add {self.account}")
        if code >= 500 or code in self.transient_codes:
            return None
        return XrpcError(f"{self.account}: {nsid} failed ({detail})", status=code, error=error, detail=message)
