""""Anything newer?" in a Mastodon conversation, asked just before a reply goes out.

The conversation is the reply chain under its root (public mentions and direct messages
alike), read with ``GET /api/v1/statuses/:root/context``. A descendant posted since the draft
began, on the instance's clock (the skew its ``Date`` headers show), is news unless the cache
holds it (``known``): one by the brand account is another agent's reply (agents share the
account) unless this console posted it under one of its outbox keys; one by anyone else is
the customer (or someone else in the thread) writing again. A new post outside the chain
is a new conversation, not news for this one. Mastodon does not show a post's
Idempotency-Key: this console knows its own posts by status id, from this process's memory
or from the cache once the reply's receipt is stored.
"""

from __future__ import annotations

from datetime import datetime

from providers.base import Newer
from providers.mastodon.convert import parse_time


async def look(adapter, action, since: datetime, own_keys: frozenset[str], known: frozenset[str]) -> Newer | None:
    floor = adapter.client.server_time(since)
    own_id = str(adapter._me.get("id", ""))
    resp = await adapter.client.request("GET", f"/api/v1/statuses/{action.thread_remote_id}/context",
                                        not_found_ok=True)
    found = []
    for status in (resp.json().get("descendants") or []) if resp.status_code == 200 else []:
        sid, at = str(status.get("id")), parse_time(status.get("created_at"))
        if at < floor or sid in known:
            continue
        if str((status.get("account") or {}).get("id")) != own_id:
            found.append(Newer(kind="customer", at=at))
        elif adapter._key_of.get(sid) not in own_keys:
            found.append(Newer(kind="agent", at=at))
    pool = [n for n in found if n.kind == "customer"] or found
    if not pool:
        return None
    last = max(pool, key=lambda n: n.at)
    return Newer(kind=last.kind, at=last.at, count=len(pool))
