"""Merge two conversations of one customer (an email and a chat about the same order)
and split a message out into a conversation of its own; both audited, both reversible
(``unmerge_conversation``; a split conversation merges back), and both undoable for a
few seconds. See :mod:`console.cache.merged` for how the threads stay apart underneath,
so each reply still goes out on the channel of the message it answers. Local only:
the providers keep their own threads.
"""

from __future__ import annotations

import json
import time

from console.actions.gate import Context, Result
from console.actions.registry import Action, register
from console.cache import merged


def _merge(ctx: Context, thread_id: int, other: int | None = None) -> Result:
    """``other`` joins ``thread_id``: hidden from the views, its messages shown here."""
    if other is None:
        raise ValueError("which conversation joins this one? give other=…")
    keep, join = _row(ctx, thread_id), _row(ctx, int(other))
    if keep["id"] == join["id"]:
        raise ValueError("a conversation cannot be merged into itself")
    for t in (keep, join):
        if t["merged_into"] is not None:
            raise ValueError(f"“{t['subject']}” is already merged into another conversation — open that one")
    if keep["customer_id"] != join["customer_id"]:
        raise ValueError("these conversations are from different customers — link the customers first")
    if ctx.db.execute("SELECT 1 FROM drafts WHERE thread_id=? AND text != ''", (join["id"],)).fetchone():
        raise ValueError(f"“{join['subject']}” has an unsent draft — send or discard it first")
    tags = sorted(set(json.loads(keep["tags"])) | set(json.loads(join["tags"])))
    ctx.db.execute(
        """UPDATE threads SET tags=?, unread=MAX(unread, ?), last_message_at=MAX(last_message_at, ?),
             last_inbound_at=MAX(COALESCE(last_inbound_at, 0), COALESCE(?, 0)),
             preview=CASE WHEN ? > last_message_at THEN ? ELSE preview END,
             sla_due_at=MIN(COALESCE(sla_due_at, 9e15), COALESCE(?, 9e15)), sort_due=MIN(sort_due, ?),
             status=CASE WHEN status IN ('closed', 'snoozed') AND ? IN ('open', 'pending') THEN ? ELSE status END
           WHERE id=?""",
        (json.dumps(tags), join["unread"], join["last_message_at"], join["last_inbound_at"], join["last_message_at"],
         join["preview"], join["sla_due_at"], join["sort_due"], join["status"], join["status"], keep["id"]))
    ctx.db.execute("UPDATE threads SET sla_due_at=NULL WHERE id=? AND sla_due_at >= 9e15", (keep["id"],))
    ctx.db.execute("UPDATE threads SET status='merged', merged_into=? WHERE id=?", (keep["id"], join["id"]))
    return Result(True, f"“{join['subject']}” ({join['channel']}) merged into this conversation",
                  {"thread_id": keep["id"]})


def _unmerge(ctx: Context, thread_id: int, other: int | None = None) -> Result:
    """Take a merged thread (``other``, or the newest one) out of this conversation again."""
    joined = [t for t in merged.members(ctx.db, thread_id)[1:] if other is None or t == int(other)]
    if not joined:
        raise LookupError("nothing is merged into this conversation")
    out = _row(ctx, joined[-1])
    was = ctx.db.execute("SELECT direction FROM messages WHERE thread_id=? ORDER BY sent_at DESC, id DESC LIMIT 1",
                         (out["id"],)).fetchone()
    status = "open" if was is not None and was[0] == "inbound" else "pending"
    ctx.db.execute("UPDATE threads SET status=?, merged_into=NULL WHERE id=?", (status, out["id"]))
    return Result(True, f"“{out['subject']}” ({out['channel']}) is its own conversation again", {"thread_id": out["id"]})


def _split(ctx: Context, thread_id: int, message_id: int | None = None) -> Result:
    """Move one message into a new conversation of the same customer; replies there go out
    on the thread it came from."""
    if message_id is None:
        raise ValueError("which message? give message_id=…")
    m = ctx.db.execute("SELECT * FROM messages WHERE id=? AND thread_id IN (SELECT value FROM json_each(?))",
                       (int(message_id), json.dumps(merged.members(ctx.db, thread_id)))).fetchone()
    if m is None:
        raise LookupError(f"message {message_id} is not in this conversation")
    if ctx.db.execute("SELECT COUNT(*) FROM messages WHERE thread_id=?", (m["thread_id"],)).fetchone()[0] < 2:
        raise ValueError("that is the conversation's only message — nothing to split it from")
    src = _row(ctx, m["thread_id"])
    subject = " ".join(m["text"].split())[:80] or src["subject"]
    new_id = ctx.db.execute(
        """INSERT INTO threads(account_id, remote_id, channel, channel_detail, subject, preview, status, priority, queue,
                               assignee, last_message_at, last_inbound_at, unread, customer_id, identity_id, meta,
                               created_at)
           VALUES (?,?,?,?,?,?,'open',?,?,?,?,?,0,?,?,?,?)""",
        (src["account_id"], f"{src['remote_id']}#split-{m['id']}", src["channel"], src["channel_detail"], subject,
         subject, src["priority"], src["queue"], src["assignee"], m["sent_at"],
         m["sent_at"] if m["direction"] == "inbound" else None, src["customer_id"],
         m["author_identity_id"] or src["identity_id"],
         json.dumps({"split_from": json.loads(src["meta"] or "{}").get("split_from", src["id"])}), time.time()),
    ).lastrowid
    ctx.db.execute("UPDATE messages SET thread_id=? WHERE id=?", (new_id, m["id"]))
    return Result(True, "message split into a new conversation", {"thread_id": new_id})


def _row(ctx: Context, thread_id: int):
    row = ctx.db.execute("SELECT * FROM threads WHERE id=?", (thread_id,)).fetchone()
    if row is None:
        raise LookupError(f"no conversation {thread_id}")
    return row


for _action in [
    Action("merge_conversations", "Merge another conversation of this customer into this one", ("M",), mutating=True,
           context="thread", needs_thread=True, handler=_merge),
    Action("unmerge_conversation", "Take a merged conversation out again", ("O",), mutating=True, context="thread",
           needs_thread=True, handler=_unmerge),
    Action("split_message", "Split a message out into a new conversation", ("B",), mutating=True, context="thread",
           needs_thread=True, handler=_split),
]:
    register(_action)
