"""Claims: "assign to me" (and a reply on an unassigned conversation) asks the system of
record to make this agent the owner, and only one agent can win.

A claim is an outbox row of kind ``claim`` (args: ``agent``, and ``expect``: the owner the
agent saw, None for nobody), queued by the action in the same transaction as everything
else, pushed by the dispatcher like any other change, in order with the conversation's
other rows. Until the system of record answers, the conversation is **not** shown as
ours: a claim that cannot reach the server (offline, server down) waits in the outbox
as "claiming", never pretends to have won. Then:

- won: the conversation's assignee is the owner the adapter reports (the row is sent);
- lost (:class:`providers.base.ClaimLost`): the row is ``lost``, its reason says who holds
  the conversation and since when ("Priya took this at 14:02"), the assignee is theirs,
  and this console's replies still waiting in the conversation are held, text kept — the
  agent sends anyway (R) or cancels (the text goes back into the draft);
- the account cannot claim atomically (chat, social, a mailbox without CONDSTORE): no
  claim is queued; "assign to me" is today's assignment (local, or the adapter's plain
  ``assign``). The adapter's capabilities, stored when it opens, decide.

Read-only consoles claim nothing: the action gate refuses "assign" and the dispatcher
never runs there.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime

from console.cache.db import transaction
from providers.text import clean_line

PENDING = ("queued", "sending")


def can_claim(db: sqlite3.Connection, thread_id: int) -> bool:
    """Whether the conversation's account claims in its system of record (as last opened)."""
    row = db.execute("SELECT a.capabilities FROM threads t JOIN accounts a ON a.id=t.account_id WHERE t.id=?",
                     (thread_id,)).fetchone()
    try:
        return row is not None and "claim" in json.loads(row[0] or "[]")
    except ValueError:
        return False


def pending(db: sqlite3.Connection, thread_id: int) -> sqlite3.Row | None:
    return db.execute(f"SELECT * FROM outbox WHERE thread_id=? AND kind='claim' AND state IN {PENDING} "
                      "ORDER BY id DESC LIMIT 1", (thread_id,)).fetchone()


def when(at: datetime | float | None) -> str:
    if at is None:
        return ""
    stamp = at if isinstance(at, datetime) else datetime.fromtimestamp(at).astimezone()
    return stamp.astimezone().strftime("%H:%M")


def record_won(db: sqlite3.Connection, row: sqlite3.Row, owner: str | None) -> None:
    """The system of record (or, without claims, this console) made the agent the owner."""
    args = json.loads(row["args"] or "{}")
    name = clean_line(owner or args.get("agent") or row["author"] or "") or None
    with transaction(db):
        db.execute("UPDATE threads SET assignee=? WHERE id=?", (name, row["thread_id"]))


def record_lost(db: sqlite3.Connection, row: sqlite3.Row, owner: str, at: datetime | None) -> str:
    """Another agent holds the conversation: say who, show them as the assignee, hold our replies."""
    who = clean_line(owner)[:80] or "another agent"
    stamp = when(at) or when(time.time())
    reason = f"{who} took this at {stamp}"
    hold = (f"held: {who} took this conversation at {stamp} — your reply is kept: read the conversation, "
            "then send it anyway (R) or cancel")
    with transaction(db):
        db.execute("UPDATE outbox SET state='lost', last_error=?, claimed_by=NULL, lease_until=0, sent_at=? "
                   "WHERE id=?", (reason, time.time(), row["id"]))
        db.execute("UPDATE threads SET assignee=? WHERE id=?", (who, row["thread_id"]))
        waiting = [r[0] for r in db.execute(
            "SELECT id FROM outbox WHERE thread_id=? AND id>? AND state='queued' AND kind IN ('reply','move_private')",
            (row["thread_id"], row["id"]))]
        for outbox_id in waiting:
            db.execute("UPDATE outbox SET state='held', last_error=? WHERE id=?", (hold, outbox_id))
            db.execute("UPDATE messages SET state='held' WHERE outbox_id=?", (outbox_id,))
    return reason


def line(db: sqlite3.Connection, thread_id: int) -> str:
    """The conversation's claim in a few words: 'claiming…', 'Priya took this at 14:02', or ''."""
    row = db.execute("SELECT state, last_error FROM outbox WHERE thread_id=? AND kind='claim' ORDER BY id DESC LIMIT 1",
                     (thread_id,)).fetchone()
    if row is None:
        return ""
    if row["state"] in PENDING:
        return "claiming… (waiting for the server)" + (f": {row['last_error']}" if row["last_error"] else "")
    if row["state"] == "lost":
        return row["last_error"]
    if row["state"] == "failed":
        return f"claim failed: {row['last_error']}"
    return ""


def own_keys(db: sqlite3.Connection, thread_id: int) -> frozenset[str]:
    """Outbox keys of this console's messages in the conversation: not news for its next reply."""
    return frozenset(r[0] for r in db.execute(
        "SELECT key FROM outbox WHERE thread_id=? AND kind IN ('reply','move_private','note')", (thread_id,)))
