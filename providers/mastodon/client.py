"""The Mastodon REST API as a :class:`providers.http.JsonApi`.

Rate limits: every answer carries ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``;
once the budget is spent we stop asking until the reset time instead of collecting
429s, and a 429 itself becomes ``TransientError(retry_after=...)``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from providers.base import PermanentError, ProviderError
from providers.http import JsonApi


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


class MastodonClient(JsonApi):
    service = "Mastodon"
    rate_headers = ("X-RateLimit-Remaining", "X-RateLimit-Reset")
    auth_hint = "create a new one (Preferences → Development), then "
    forbidden_fix = "check the token's scopes (read write)"
    not_found_fix = "the post was probably deleted"

    def __init__(self, base_url: str, token: str, *, timeout: float, account: str, read_only: bool = False,
                 transport=None) -> None:
        super().__init__(base_url, account=account, timeout=timeout, read_only=read_only,
                         authorization=f"Bearer {token}", transport=transport)
        self.secret_name = "access token"

    def refusal(self, resp: httpx.Response, detail: str) -> ProviderError | None:
        if resp.status_code == 422:
            return PermanentError(f"{self.account}: Mastodon rejected the post ({detail})")
        return None
