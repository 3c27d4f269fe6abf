"""A claim on a Zendesk ticket: ``assignee_id`` set to the account's own agent only if the
ticket is unassigned, already ours, or assigned to whom the agent saw (``expect``), as a
safe update (``safe_update`` + the ``updated_stamp`` read with the assignee), so Zendesk
refuses it (409) when the ticket changed in between; then the assignee is read again.
Owners are named as the pull names them: the agent's email (else their name)."""

from __future__ import annotations

from datetime import datetime, timezone

from providers.base import ClaimLost, PermanentError, Receipt, RemoteChanged, TransientError

TRIES = 4


def _label(user: dict) -> str:
    return str(user.get("email") or user.get("name") or user.get("id") or "")


async def claim(adapter, ticket: int, action) -> Receipt:
    me = adapter._me
    if not me.get("id"):
        raise PermanentError(f"{adapter.name}: Zendesk did not say who this account's agent is",
                             fix="check the account's email and token")
    expect = action.args.get("expect") or None
    for _ in range(TRIES):
        found = (await adapter.client.get(f"/api/v2/tickets/{ticket}.json")).get("ticket") or {}
        holder = found.get("assignee_id")
        if holder == me["id"]:
            return Receipt(owner=_label(me), sent_at=datetime.now(timezone.utc), detail="already yours in Zendesk")
        if holder:
            await adapter._load_users({holder})
            owner = _label(adapter._users.get(holder) or {"id": holder})
            if owner != expect:
                raise ClaimLost(f"{owner} is the assignee of ticket {ticket} in Zendesk", owner=owner)
        body = {"ticket": {"assignee_id": me["id"], "safe_update": True, "updated_stamp": found.get("updated_at"),
                           "metadata": {"switchboard_key": action.key}}}
        try:
            await adapter.client.request("PUT", f"/api/v2/tickets/{ticket}.json", json=body)
        except RemoteChanged:
            continue  # it changed between our read and our write: read again
        return Receipt(owner=_label(me), sent_at=datetime.now(timezone.utc), detail="claimed in Zendesk")
    raise TransientError(f"{adapter.name}: ticket {ticket} kept changing while claiming it", fix="it will be retried")
