"""A thin async client for RT's REST2 API that turns HTTP trouble into provider errors.

Opened read-only it refuses, before anything leaves the machine, every request that is
not a GET or one of REST2's read-only search POSTs (``/tickets``, ``/transactions``,
``/attachments``, whose body is a query, not a change).
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import AuthError, PermanentError, RemoteChanged, TransientError, api_headers, retry_after_seconds

API = "/REST/2.0"
SEARCHES = ("/tickets", "/transactions", "/attachments")


def error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return " ".join(str(body["message"]).split())[:200]
    return f"HTTP {resp.status_code}"


class RtClient:
    def __init__(self, url: str, *, username: str | None, secret: str, account: str, timeout: float,
                 read_only: bool) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self.read_only = read_only
        self.username = username
        # A user logs in with basic auth; no user name means the secret is an RT auth token.
        auth = httpx.BasicAuth(username, secret) if username else None
        self._http = httpx.AsyncClient(base_url=self.url + API, headers=api_headers(None if username else f"token {secret}"),
                                       auth=auth, timeout=timeout, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, *, not_found_ok: bool = False, **kw: Any) -> httpx.Response:
        if self.read_only and not (method == "GET" or (method == "POST" and path.split("?")[0] in SEARCHES)):
            raise PermanentError(f"{self.account}: opened read-only, refusing {method} {path}")
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.TimeoutException as e:
            raise TransientError(f"{self.account}: RT at {self.url} did not answer in time",
                                 fix="check that RT is running; Switchboard retries by itself") from e
        except httpx.TransportError as e:
            raise TransientError(f"{self.account}: cannot reach RT at {self.url} ({type(e).__name__})",
                                 fix="check the url option and that RT is running; Switchboard retries by itself") from e
        self.raise_for(resp, not_found_ok=not_found_ok)
        return resp

    def raise_for(self, resp: httpx.Response, *, not_found_ok: bool = False) -> None:
        code = resp.status_code
        if code < 400 or (code == 404 and not_found_ok):
            return
        detail = error_text(resp)
        if code == 401:
            what = "password" if self.username else "auth token"
            raise AuthError(f"{self.account}: RT refused the {what} ({detail})",
                            fix=f"check username; store the right {what} with: switchboard accounts add {self.account}")
        if code == 412:
            raise RemoteChanged(f"{self.account}: the ticket changed in RT since it was last read")
        if code == 429:
            wait = retry_after_seconds(resp.headers.get("Retry-After"))
            raise TransientError(f"{self.account}: RT is rate limiting ({detail})", retry_after=wait)
        if code == 403:
            raise PermanentError(f"{self.account}: RT forbids this for the account's user ({detail})",
                                 fix="ask an RT admin for the right (e.g. ReplyToTicket, ModifyTicket) on the queue")
        if code >= 500 or code in (408, 425):
            raise TransientError(f"{self.account}: RT answered {code} ({detail})")
        raise PermanentError(f"{self.account}: RT answered {code} to {resp.request.method} "
                             f"{resp.request.url.path} ({detail})")

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params)).json()

    async def search(self, collection: str, query: list[dict], **params: Any) -> Any:
        """One page of a REST2 JSON search (``POST /transactions`` …): read-only."""
        return (await self.request("POST", collection, params=params, json=query)).json()
