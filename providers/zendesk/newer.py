""""Anything newer?" on a Zendesk ticket, asked just before a reply goes out.

The ticket's audits (``GET /api/v2/tickets/{id}/audits.json``, cursor pages) from the moment
the draft began, on Zendesk's clock (the skew its ``Date`` headers show): each public
``Comment`` event is news unless its audit's ``metadata.custom`` carries one of this console's
outbox keys or the cache already holds the comment. The author's role tells the customer (an
end-user) from another agent. Internal notes and field changes are no news, as in RT.
Zendesk's times have whole seconds: the draft's own second counts.
"""

from __future__ import annotations

from datetime import datetime

from providers.base import Newer
from providers.text import clean_line
from providers.zendesk.convert import parse_time

KEY_FIELD = "switchboard_key"


async def look(adapter, ticket: int, since: datetime, own_keys: frozenset[str], known: frozenset[str]) -> Newer | None:
    floor = adapter.client.server_time(since)
    found = []
    for audit in await adapter._all_pages(f"/api/v2/tickets/{ticket}/audits.json", "audits"):
        at = parse_time(audit.get("created_at"))
        custom = (audit.get("metadata") or {}).get("custom") or {}
        if at is None or at < floor or custom.get(KEY_FIELD) in own_keys:
            continue
        for event in audit.get("events") or []:
            if event.get("type") == "Comment" and event.get("public") and f"{ticket}-{event.get('id')}" not in known:
                found.append((event.get("author_id") or audit.get("author_id"), at))
    if not found:
        return None
    await adapter._load_users({author for author, _ in found})
    news = []
    for author, at in found:
        user = adapter._users.get(author or 0) or {}
        if user.get("role") in ("agent", "admin"):
            news.append(Newer(kind="agent", at=at, who=clean_line(user.get("name") or user.get("email") or "")))
        else:
            news.append(Newer(kind="customer", at=at))
    pool = [n for n in news if n.kind == "customer"] or news
    return Newer(kind=pool[-1].kind, at=pool[-1].at, who=pool[-1].who, count=len(pool))
