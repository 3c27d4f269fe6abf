"""The Zendesk Support API as a :class:`providers.http.JsonApi`.

Log-in: ``{email}/token`` and the API token by basic auth, or an OAuth access token
as a bearer when no email is configured. A 429 becomes ``TransientError`` with the
``Retry-After`` seconds (60 when it says none: the limits are per minute), and no
request leaves before that time is up. Opened read-only, anything but a GET is
refused before it is sent.
"""

from __future__ import annotations

import httpx

from providers.http import JsonApi
from providers.text import clean_line


class ZendeskClient(JsonApi):
    service = "Zendesk"
    reachable_fix = "check the network and the subdomain option; Switchboard retries by itself"
    default_wait = 60.0
    conflict_codes = (409,)  # a safe update whose updated_stamp is no longer the ticket's
    auth_hint = "check email and that token access is on; "
    forbidden_fix = "the user must be an agent with access to the ticket's group"
    not_found_fix = "check the subdomain option; the ticket may have been deleted"

    def __init__(self, base_url: str, *, email: str | None, secret: str, account: str, timeout: float,
                 read_only: bool) -> None:
        # An agent's e-mail logs in with its API token (basic auth); without one the secret is an OAuth token.
        super().__init__(base_url, account=account, timeout=timeout, read_only=read_only,
                         authorization=None if email else f"Bearer {secret}",
                         auth=httpx.BasicAuth(f"{email}/token", secret) if email else None)
        self.email = email
        self.secret_name = "API token" if email else "OAuth token"

    def detail(self, resp: httpx.Response) -> str:
        """Zendesk's ``{"error": ..., "description": ...}`` (or ``details``) as one short line."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return f"HTTP {resp.status_code}"
        error = body.get("error")
        if isinstance(error, dict):  # {"error": {"title": ..., "message": ...}}
            text = str(error.get("message") or error.get("title") or "")
        else:
            text = " ".join(str(x) for x in (error, body.get("description")) if x)
        details = body.get("details")
        if isinstance(details, dict):
            for field, problems in details.items():
                for problem in problems if isinstance(problems, list) else [problems]:
                    if isinstance(problem, dict) and problem.get("description"):
                        text += f"; {field}: {problem['description']}"
        return clean_line(text)[:200] or f"HTTP {resp.status_code}"
