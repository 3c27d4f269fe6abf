""""Anything newer?" in a room, asked just before a reply goes out.

The room's timeline is read backwards (``/messages?dir=b``) to the moment the draft
began: a message from anyone but the support account is the customer writing again; one
from the support account that none of this console's outbox keys made (its txnId, or the
key in its content) is another agent's reply (agents share the support account). In an
encrypted room events are decrypted when this console has the keys; one it cannot read
still counts, by its sender. State events, reactions, receipts and edits are no news.
"""

from __future__ import annotations

from datetime import UTC, datetime

from providers.base import Newer
from providers.matrix.client import path

PAGES = 10  # pages of 100 events at most
MESSAGE_TYPES = ("m.room.message", "m.room.encrypted", "m.sticker")


async def look(adapter, action, since: datetime, own_keys: frozenset[str], outbox_key: str) -> Newer | None:
    since_ms = since.timestamp() * 1000
    room = action.thread_remote_id
    params = {"dir": "b", "limit": "100"}
    found: list[Newer] = []
    for _ in range(PAGES):
        page = await adapter.client.request("GET", path("rooms", room, "messages"), params=params)
        chunk = [e for e in page.get("chunk") or [] if isinstance(e, dict)]
        for event in chunk:
            ts = event.get("origin_server_ts")
            if not isinstance(ts, int) or ts < since_ms:
                return _newest(found)
            if event.get("type") not in MESSAGE_TYPES or event.get("state_key") is not None:
                continue
            content = event.get("content") if isinstance(event.get("content"), dict) else {}
            relates = content.get("m.relates_to")
            if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
                continue  # an edit of an earlier message
            at = datetime.fromtimestamp(ts / 1000, UTC)
            if event.get("sender") != adapter.user_id:
                found.append(Newer(kind="customer", at=at, who=str(event.get("sender") or "")))
                continue
            if event.get("type") == "m.room.encrypted" and adapter._crypto is not None:
                event = adapter._crypto.decrypt(event, room) or event
            unsigned = event.get("unsigned") if isinstance(event.get("unsigned"), dict) else {}
            content = event.get("content") if isinstance(event.get("content"), dict) else {}
            keys = {unsigned.get("transaction_id"), content.get(outbox_key)}
            if not keys & set(own_keys):
                found.append(Newer(kind="agent", at=at))
        if not page.get("end") or not chunk:
            break
        params = {**params, "from": page["end"]}
    return _newest(found)


def _newest(found: list[Newer]) -> Newer | None:
    if not found:
        return None
    pool = [n for n in found if n.kind == "customer"] or found
    return Newer(kind=pool[0].kind, at=pool[0].at, who=pool[0].who, count=len(pool))  # newest first (dir=b)
