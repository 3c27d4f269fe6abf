"""A thin async client for the Zendesk Support API that turns HTTP trouble into provider errors.

Log-in: ``{email}/token`` and the API token by basic auth, or an OAuth access token
as a bearer when no email is configured. A 429 becomes ``TransientError`` with the
``Retry-After`` seconds, and no request leaves before that time is up. Opened
read-only, anything but a GET is refused before it is sent.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from providers.base import AuthError, PermanentError, RemoteChanged, TransientError, api_headers, retry_after_seconds


def error_text(resp: httpx.Response) -> str:
    """Zendesk's ``{"error": ..., "description": ...}`` (or ``details``) as one short line."""
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {resp.status_code}"
    error = body.get("error")
    if isinstance(error, dict):  # {"error": {"title": ..., "message": ...}}
        text = error.get("message") or error.get("title") or ""
    else:
        text = " ".join(str(x) for x in (error, body.get("description")) if x)
    details = body.get("details")
    if isinstance(details, dict):
        for field, problems in details.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                if isinstance(problem, dict) and problem.get("description"):
                    text += f"; {field}: {problem['description']}"
    return " ".join(text.split())[:200] or f"HTTP {resp.status_code}"


class ZendeskClient:
    def __init__(self, base_url: str, *, email: str | None, secret: str, account: str, timeout: float,
                 read_only: bool) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.read_only = read_only
        self.email = email
        # An agent's e-mail logs in with its API token (basic auth); without one the secret is an OAuth token.
        auth = httpx.BasicAuth(f"{email}/token", secret) if email else None
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=api_headers(None if email else f"Bearer {secret}"),
                                       auth=auth, timeout=timeout, follow_redirects=False)
        self.blocked_until = 0.0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        if self.read_only and method != "GET":
            raise PermanentError(f"{self.account}: opened read-only, refusing {method} {path}")
        wait = self.blocked_until - time.time()
        if wait > 0:
            raise TransientError(f"{self.account}: Zendesk rate limit, next try in {wait:.0f} s", retry_after=wait)
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.TimeoutException as e:
            raise TransientError(f"{self.account}: Zendesk at {self.base_url} did not answer in time",
                                 fix="Switchboard retries by itself") from e
        except httpx.TransportError as e:
            raise TransientError(f"{self.account}: cannot reach Zendesk at {self.base_url} ({type(e).__name__})",
                                 fix="check the network and the subdomain option; Switchboard retries by itself") from e
        self.raise_for(resp)
        return resp

    def raise_for(self, resp: httpx.Response) -> None:
        code = resp.status_code
        if code < 400:
            return
        detail = error_text(resp)
        if code == 401:
            what = "API token" if self.email else "OAuth token"
            raise AuthError(f"{self.account}: Zendesk refused the {what} ({detail})",
                            fix=f"check email and that token access is on; store a new {what} with: "
                                f"switchboard accounts add {self.account}")
        if code == 409:
            raise RemoteChanged(f"{self.account}: Zendesk refused the update: the ticket changed since it was read "
                           f"({detail})")
        if code == 429:
            wait = retry_after_seconds(resp.headers.get("Retry-After"))
            if wait is None:
                wait = 60.0  # the API's limits are per minute
            self.blocked_until = time.time() + wait
            raise TransientError(f"{self.account}: Zendesk rate limit reached, next try in {wait:.0f} s",
                                 retry_after=wait)
        if code == 403:
            raise PermanentError(f"{self.account}: Zendesk forbids this for the account's user ({detail})",
                                 fix="the user must be an agent with access to the ticket's group")
        if code == 404:
            raise PermanentError(f"{self.account}: not found on {self.base_url} ({detail})",
                                 fix="check the subdomain option; the ticket may have been deleted")
        if code >= 500:
            raise TransientError(f"{self.account}: Zendesk answered {code} ({detail})")
        raise PermanentError(f"{self.account}: Zendesk answered {code} ({detail})")

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params or None)).json()
