"""RT's REST2 API as a :class:`providers.http.JsonApi`.

Opened read-only it refuses, before anything leaves the machine, every request that is
not a GET or one of REST2's read-only search POSTs (``/tickets``, ``/transactions``,
``/attachments``, whose body is a query, not a change).
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.http import JsonApi

API = "/REST/2.0"
SEARCHES = ("/tickets", "/transactions", "/attachments")


class RtClient(JsonApi):
    service = "RT"
    reachable_fix = "check the url option and that RT is running; Switchboard retries by itself"
    auth_hint = "check username; "
    conflict_codes = (412,)  # an If-Match ETag that is no longer the ticket's
    forbidden_fix = "ask an RT admin for the right (e.g. ReplyToTicket, ModifyTicket) on the queue"

    def __init__(self, url: str, *, username: str | None, secret: str, account: str, timeout: float,
                 read_only: bool) -> None:
        # A user logs in with basic auth; no user name means the secret is an RT auth token.
        super().__init__(url.rstrip("/") + API, account=account, timeout=timeout, read_only=read_only,
                         authorization=None if username else f"token {secret}",
                         auth=httpx.BasicAuth(username, secret) if username else None)
        self.url = url.rstrip("/")
        self.username = username
        self.secret_name = "password" if username else "auth token"

    def reads_only(self, method: str, path: str) -> bool:
        return method == "GET" or (method == "POST" and path.split("?")[0] in SEARCHES)

    def where(self, path: str) -> str:
        return self.url

    async def search(self, collection: str, query: list[dict], **params: Any) -> Any:
        """One page of a REST2 JSON search (``POST /transactions`` …): read-only."""
        return (await self.request("POST", collection, params=params, json=query)).json()
