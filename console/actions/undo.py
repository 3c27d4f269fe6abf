"""Undo the agent's last change (close, reopen, snooze, tag, assign, priority, bulk, merge,
split) within :data:`UNDO_SECONDS`.

The conversations get back the columns :mod:`console.actions.history` kept. Outbox
rows the change queued and not yet pushed are cancelled, so the provider never sees
them; where a row already went out, the opposite change is queued instead.
"""

from __future__ import annotations

import json
import time

from console.actions import domain
from console.actions.gate import Context, Result
from console.actions.registry import Action, register

UNDO_SECONDS = 10.0
# What the notice says was taken back: "undone: the close".
UNDONE_WORDS = {"close": "the close", "reopen": "the reopen", "snooze": "the snooze", "assign": "the assignment",
                "tag": "the tag change", "priority": "the priority change", "bulk": "the change",
                "merge_conversations": "the merge", "split_message": "the split"}


def _undo(ctx: Context, thread_id: int | None = None) -> Result:
    row = ctx.db.execute("SELECT * FROM undo_log WHERE who=? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                         (ctx.agent,)).fetchone()
    if row is None or time.time() - row["at"] > UNDO_SECONDS:
        raise LookupError(f"nothing to undo — a change can be undone for {UNDO_SECONDS:.0f} seconds")
    kept = json.loads(row["before"])
    outbox_ids = json.loads(row["outbox_ids"])
    among = f"id IN ({','.join('?' * len(outbox_ids))})"
    ctx.db.execute(f"UPDATE outbox SET state='cancelled' WHERE state='queued' AND {among}", outbox_ids)
    went_out = {r[0] for r in ctx.db.execute(
        f"SELECT DISTINCT thread_id FROM outbox WHERE state IN ('sending', 'sent', 'failed', 'held') AND {among}",
        outbox_ids)}
    threads = {int(tid): cols for tid, cols in kept["threads"].items()}
    for tid, cols in threads.items():
        if tid in went_out:
            _queue_opposite(ctx, tid, cols)
        ctx.db.execute(f"UPDATE threads SET {', '.join(c + '=?' for c in cols)} WHERE id=?", (*cols.values(), tid))
    for message_id, home in kept["messages"].items():
        ctx.db.execute("UPDATE messages SET thread_id=? WHERE id=?", (home, int(message_id)))
    origin = next(iter(threads), None)
    for created in kept["created"]:  # a conversation split off: folded back into the one it came from
        ctx.db.execute("UPDATE threads SET status='merged', merged_into=? WHERE id=?", (origin, created))
    ctx.db.execute("UPDATE undo_log SET undone_at=? WHERE id=?", (time.time(), row["id"]))
    n = len(threads)
    what = UNDONE_WORDS.get(row["action"], "the last change")
    return Result(True, f"undone: {what}" + (f" to {n} conversations" if row["action"] == "bulk" else ""),
                  {"threads": list(threads)})


def _queue_opposite(ctx: Context, thread_id: int, before: dict) -> None:
    """The change already reached the provider: queue the pushes that take it back there."""
    now = ctx.db.execute("SELECT status, tags, assignee, priority FROM threads WHERE id=?", (thread_id,)).fetchone()
    if now["status"] != before["status"]:
        if before["status"] == "closed":
            domain.queue_push(ctx, thread_id, "close")
        elif before["status"] == "snoozed" and before["snoozed_until"]:
            domain.queue_push(ctx, thread_id, "snooze", args={"until": before["snoozed_until"]})
        else:
            domain.queue_push(ctx, thread_id, "reopen")
    had, has = set(json.loads(before["tags"])), set(json.loads(now["tags"]))
    if had != has:
        domain.queue_push(ctx, thread_id, "tag", args={"add": sorted(had - has), "remove": sorted(has - had)})
    if now["assignee"] != before["assignee"]:
        domain.queue_push(ctx, thread_id, "assign", args={"to": before["assignee"]})
    if now["priority"] != before["priority"]:
        domain.queue_push(ctx, thread_id, "priority", args={"level": before["priority"]})


register(Action("undo", f"Undo your last change (for {UNDO_SECONDS:.0f} seconds), or cancel a reply still "
                "in its undo-send window", ("ctrl+z",), mutating=True, handler=_undo))
