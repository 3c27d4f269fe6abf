"""What an undoable action is about to change, kept so that ``undo`` can put it back.

``perform`` calls :func:`before` ahead of an undoable action's handler and
:func:`record` after it succeeds, in the same transaction: the touched
conversations' columns, the messages it moves, and the outbox rows it queued.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

# The columns an undoable action may change on a conversation.
COLUMNS = ("status", "snoozed_until", "tags", "priority", "assignee", "merged_into", "sla_due_at", "sort_due",
           "unread", "last_message_at", "last_inbound_at", "preview")


def _touched(action_id: str, thread_id: int | None, args: dict) -> tuple[list[int], list[int]] | None:
    """(conversations, messages) an undoable action changes; None if it cannot be undone."""
    if action_id in ("close", "reopen", "snooze", "tag", "assign", "priority"):
        return [thread_id], []
    if action_id == "bulk":
        from console.actions.bulk import thread_list

        return thread_list(args.get("threads")), []
    if action_id == "merge_conversations":
        return [thread_id, int(args.get("other") or 0)], []
    if action_id == "split_message":
        return [thread_id], [int(args.get("message_id") or 0)]
    return None


@dataclass
class Mark:
    action: str
    threads: dict[int, dict[str, Any]]
    messages: dict[int, int]
    outbox_after: int
    threads_after: int


def before(db: sqlite3.Connection, action_id: str, thread_id: int | None, args: dict) -> Mark | None:
    try:
        touched = _touched(action_id, thread_id, args)
    except ValueError:
        return None  # the handler will say what is wrong with the arguments
    if touched is None:
        return None
    thread_ids, message_ids = touched
    threads = {r["id"]: {c: r[c] for c in COLUMNS} for r in db.execute(
        f"SELECT id, {', '.join(COLUMNS)} FROM threads WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(thread_ids),))}
    messages = dict(db.execute("SELECT id, thread_id FROM messages WHERE id IN (SELECT value FROM json_each(?))",
                               (json.dumps(message_ids),)).fetchall())
    top = db.execute("SELECT (SELECT COALESCE(MAX(id), 0) FROM outbox), (SELECT COALESCE(MAX(id), 0) FROM threads)")
    outbox_after, threads_after = top.fetchone()
    return Mark(action_id, threads, messages, outbox_after, threads_after)


def record(db: sqlite3.Connection, who: str, mark: Mark) -> None:
    outbox_ids = [r[0] for r in db.execute("SELECT id FROM outbox WHERE id > ?", (mark.outbox_after,))]
    created = [r[0] for r in db.execute("SELECT id FROM threads WHERE id > ?", (mark.threads_after,))]
    db.execute(
        "INSERT INTO undo_log(at, who, action, thread_ids, before, outbox_ids) VALUES (?,?,?,?,?,?)",
        (time.time(), who, mark.action, json.dumps(list(mark.threads) + created),
         json.dumps({"threads": mark.threads, "messages": mark.messages, "created": created}), json.dumps(outbox_ids)))
