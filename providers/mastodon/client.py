"""A thin async client for the Mastodon REST API that turns HTTP trouble into provider errors.

Rate limits: every answer carries ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``;
once the budget is spent we stop asking until the reset time instead of collecting
429s, and a 429 itself becomes ``TransientError(retry_after=...)``.
"""

from __future__ import annotations

import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from providers.base import AuthError, PermanentError, TransientError, api_headers


def parse_link_header(value: str | None) -> dict[str, dict[str, str]]:
    """``Link: <url>; rel="next", <url>; rel="prev"`` → {"next": {query params}, ...}."""
    links: dict[str, dict[str, str]] = {}
    for part in (value or "").split(","):
        if ";" not in part:
            continue
        url_part, *params = part.split(";")
        url = url_part.strip().strip("<>")
        for p in params:
            name, _, val = p.strip().partition("=")
            if name.strip() == "rel":
                query = parse_qs(urlsplit(url).query)
                links[val.strip().strip('"')] = {k: v[-1] for k, v in query.items()}
    return links


def _reset_seconds(value: str | None, now: float) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` / ``Retry-After`` value (ISO time, HTTP date or seconds)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return max(0.0, when.timestamp() - now)


def error_text(resp: httpx.Response) -> str:
    """The ``error`` field of Mastodon's JSON error body, or the status line."""
    try:
        body = resp.json()
        if isinstance(body, dict) and body.get("error"):
            return str(body["error"])[:200]
    except ValueError:
        pass
    return f"HTTP {resp.status_code}"


class MastodonClient:
    def __init__(self, base_url: str, token: str, *, timeout: float, account: str, transport=None) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=api_headers(f"Bearer {token}"),
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
        )
        self._blocked_until = 0.0

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    async def request(self, method: str, path: str, *, not_found_ok: bool = False, **kw: Any) -> httpx.Response:
        now = time.time()
        if self._blocked_until > now:
            wait = self._blocked_until - now
            raise TransientError(f"{self.account}: Mastodon rate limit reached, waiting {wait:.0f}s", retry_after=wait)
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.TimeoutException as e:
            raise TransientError(f"{self.account}: {self.base_url} did not answer in time ({type(e).__name__})") from e
        except httpx.TransportError as e:
            raise TransientError(f"{self.account}: cannot reach {self.base_url}: {e}") from e
        self._note_rate_limit(resp)
        self.raise_for(resp, not_found_ok=not_found_ok)
        return resp

    def _note_rate_limit(self, resp: httpx.Response) -> None:
        remaining = resp.headers.get("X-RateLimit-Remaining")
        if remaining is not None and remaining.strip().isdigit() and int(remaining) <= 0:
            wait = _reset_seconds(resp.headers.get("X-RateLimit-Reset"), time.time())
            if wait:
                self._blocked_until = time.time() + wait

    def raise_for(self, resp: httpx.Response, *, not_found_ok: bool = False) -> None:
        code = resp.status_code
        if code < 400 or (code == 404 and not_found_ok):
            return
        detail = error_text(resp)
        if code == 401:
            raise AuthError(
                f"{self.account}: Mastodon refused the access token ({detail})",
                fix=f"create a new token and run: switchboard accounts add {self.account}",
            )
        if code == 403:
            raise PermanentError(f"{self.account}: Mastodon forbids this ({detail})",
                                 fix="check the token's scopes (read write)")
        if code == 429:
            now = time.time()
            wait = _reset_seconds(resp.headers.get("Retry-After"), now)
            if wait is None:
                wait = _reset_seconds(resp.headers.get("X-RateLimit-Reset"), now)
            if wait:
                self._blocked_until = now + wait
            raise TransientError(f"{self.account}: Mastodon rate limit reached ({detail})", retry_after=wait)
        if code == 404:
            raise PermanentError(f"{self.account}: not found on {self.base_url} ({detail})",
                                 fix="the post was probably deleted")
        if code == 422:
            raise PermanentError(f"{self.account}: Mastodon rejected the post ({detail})")
        if code >= 500 or code in (408, 425):
            raise TransientError(f"{self.account}: {self.base_url} answered {code} ({detail})")
        raise PermanentError(f"{self.account}: {self.base_url} answered {code} ({detail})")

    async def get_json(self, path: str, **kw: Any) -> Any:
        return (await self.request("GET", path, **kw)).json()
