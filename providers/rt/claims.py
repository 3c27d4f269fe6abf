"""Claims and "anything newer?" on an RT ticket.

Claim ("assign to me"): the ticket's Owner becomes the account's RT user only if it is
Nobody, already us, or the owner the agent saw (``expect``), written with ``If-Match``
(the ETag read with the owner), so RT refuses the write (412) if the ticket moved in
between; then it is read again. RT checks the ETag and writes in two steps, so two writes
that both read the same ETag could both pass; the tie is broken by RT's own history: the
first Owner transaction after that ETag wins, whoever made it, and a console that wrote
after it puts the winner back. Every console reads the same history, so they agree.

Newer: the ticket's ``Create``/``Correspond`` transactions since the draft began that are
not this console's own (the outbox key is in the content of ours). RT's times have whole
seconds: in the draft's own second only transactions the cache has not pulled count.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from providers.base import ClaimLost, Newer, PermanentError, Receipt, RemoteChanged, TransientError
from providers.rt.convert import NOBODY, parse_time

log = logging.getLogger("switchboard.rt.claims")

TRIES = 4


def _name(owner) -> str:
    if isinstance(owner, dict):
        return str(owner.get("Name") or owner.get("id") or "")
    return str(owner or "")


async def _owner_and_etag(adapter, ticket: int) -> tuple[str, str]:
    resp = await adapter.client.request("GET", f"/ticket/{ticket}", params={"fields": "Owner",
                                                                           "fields[Owner]": "Name"})
    return _name(resp.json().get("Owner")), resp.headers.get("ETag", "").strip('"')


async def _owner_changes(adapter, ticket: int, after: int) -> list[dict]:
    page = await adapter.client.search("/transactions", [
        {"field": "ObjectType", "operator": "=", "value": "RT::Ticket"},
        {"field": "ObjectId", "operator": "=", "value": ticket},
        {"field": "Field", "operator": "=", "value": "Owner"},
        {"field": "id", "operator": ">", "value": after},
    ], orderby="id", order="ASC", per_page=20, fields="Type,Created,Field,OldValue,NewValue,Creator")
    return page.get("items") or []


async def _user_name(adapter, user_id) -> str:
    found = await adapter.client.request("GET", f"/user/{user_id}", not_found_ok=True, params={"fields": "Name"})
    return str(found.json().get("Name") or user_id) if found.status_code == 200 else str(user_id)


async def _taken_at(adapter, ticket: int) -> datetime | None:
    page = await adapter.client.search("/transactions", [
        {"field": "ObjectType", "operator": "=", "value": "RT::Ticket"},
        {"field": "ObjectId", "operator": "=", "value": ticket},
        {"field": "Field", "operator": "=", "value": "Owner"},
    ], orderby="id", order="DESC", per_page=1, fields="Created")
    items = page.get("items") or []
    return parse_time(items[0].get("Created")) if items else None


async def claim(adapter, ticket: int, action) -> Receipt:
    me = adapter._me
    if not me:
        raise PermanentError(f"{adapter.name}: claiming needs the account's RT user name",
                             fix="set username = ... in the account's [[accounts]] table")
    expect = action.args.get("expect") or None
    for _ in range(TRIES):
        owner, etag = await _owner_and_etag(adapter, ticket)
        if owner == me:
            return Receipt(owner=me, sent_at=datetime.now(timezone.utc), detail="already yours in RT")
        if owner not in ("", NOBODY) and owner != expect:
            log.debug("claim of ticket %s by %s: lost (taken by %s)", ticket, me, owner)
            raise ClaimLost(f"{owner} owns ticket {ticket} in RT", owner=owner, at=await _taken_at(adapter, ticket))
        try:
            await adapter.client.request("PUT", f"/ticket/{ticket}", json={"Owner": me},
                                         headers={"If-Match": f'"{etag}"'})
        except RemoteChanged:
            log.debug("claim of ticket %s by %s: 412, reading again", ticket, me)
            continue  # the ticket moved since we read its owner: read again
        return await _settle(adapter, ticket, me, int(etag) if etag.isdigit() else 0)
    raise TransientError(f"{adapter.name}: ticket {ticket} kept changing while claiming it", fix="it will be retried")


async def _settle(adapter, ticket: int, me: str, read_at: int) -> Receipt:
    """Our write went in: the first Owner change after the ETag we read decides who won."""
    changes = await _owner_changes(adapter, ticket, read_at)
    first = changes[0] if changes else None
    winner = await _user_name(adapter, first["NewValue"]) if first and first.get("NewValue") else me
    if winner == me:
        log.debug("claim of ticket %s by %s: won", ticket, me)
        return Receipt(owner=me, sent_at=datetime.now(timezone.utc), detail="claimed in RT")
    log.debug("claim of ticket %s by %s: lost (both writes passed If-Match; RT's history says %s)", ticket, me, winner)
    owner, etag = await _owner_and_etag(adapter, ticket)
    if owner == me:  # we wrote over the winner: give it back
        try:
            await adapter.client.request("PUT", f"/ticket/{ticket}", json={"Owner": winner},
                                         headers={"If-Match": f'"{etag}"'})
        except RemoteChanged:
            pass  # it moved again: whoever moved it saw the same history
    raise ClaimLost(f"{winner} owns ticket {ticket} in RT", owner=winner, at=parse_time(first.get("Created")))


async def newer(adapter, ticket: int, since: datetime, own_keys: frozenset[str]) -> Newer | None:
    floor = since.astimezone(timezone.utc).replace(microsecond=0)
    after = (floor - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    txns = await adapter._search_all("/transactions", [
        {"field": "ObjectType", "operator": "=", "value": "RT::Ticket"},
        {"field": "ObjectId", "operator": "=", "value": ticket},
        {"field": "Type", "operator": "IN", "value": ["Create", "Correspond"]},
        {"field": "Created", "operator": ">", "value": after},
    ], orderby="id", order="ASC", fields="Type,Created,Creator", **{"fields[Creator]": "Name,RealName"})
    seen = adapter._seen if adapter._seen is not None else -1
    candidates = []
    for txn in txns:
        at = parse_time(txn.get("Created"))
        if at is None or at < floor or (at == floor and int(txn["id"]) <= seen):
            continue
        candidates.append((txn, at))
    if not candidates:
        return None
    ours = await _own_transactions(adapter, [int(t["id"]) for t, _ in candidates], own_keys)
    found = []
    for txn, at in candidates:
        if int(txn["id"]) in ours:
            continue
        creator = txn.get("Creator") or {}
        user = creator.get("id") or ""
        staff = await adapter._privileged(user)
        found.append(Newer(kind="agent" if staff else "customer", at=at,
                           who=str(creator.get("RealName") or user) if staff else ""))
    if not found:
        return None
    customer = [n for n in found if n.kind == "customer"]
    pool = customer or found
    return Newer(kind=pool[-1].kind, at=pool[-1].at, who=pool[-1].who, count=len(pool))


async def _own_transactions(adapter, txn_ids: list[int], own_keys: frozenset[str]) -> set[int]:
    """Which of these transactions carry one of this console's outbox keys in their content."""
    if not own_keys or not txn_ids:
        return set()
    parts = await adapter._search_all("/attachments", [
        {"field": "TransactionId", "operator": "IN", "value": txn_ids},
        {"field": "ContentType", "operator": "=", "value": "text/html"},
    ], fields="TransactionId,Content")
    marks = [f"switchboard-key: {k} " for k in own_keys]
    return {int(p["TransactionId"]) for p in parts if any(m in (p.get("Content") or "") for m in marks)}
