"""Merged conversations, read side: which threads make one conversation, and which
thread a reply goes out on.

A conversation merged into another keeps its own thread (its channel, its remote
id) with ``status='merged'`` and ``merged_into`` set, hidden from every view; its
messages show in the conversation it joined. A conversation split off a message
has no remote thread of its own (``meta.split_from``): its replies go out on the
thread it came from.
"""

from __future__ import annotations

import json
import sqlite3


def members(db: sqlite3.Connection, thread_id: int) -> list[int]:
    """The conversation and every thread merged into it (its own id first)."""
    return [thread_id] + [r[0] for r in db.execute("SELECT id FROM threads WHERE merged_into=? ORDER BY id",
                                                   (thread_id,))]


def reply_thread(db: sqlite3.Connection, thread_id: int, answering: int | None = None) -> int:
    """The thread whose channel a reply in this conversation goes out on: that of the
    message being answered (by default the customer's newest message)."""
    ids = json.dumps(members(db, thread_id))
    if answering is not None:
        row = db.execute("SELECT thread_id FROM messages WHERE id=? AND thread_id IN (SELECT value FROM json_each(?))",
                         (int(answering), ids)).fetchone()
        if row is None:
            raise LookupError(f"message {answering} is not in this conversation")
    else:
        row = db.execute("""SELECT thread_id FROM messages WHERE direction='inbound'
                              AND thread_id IN (SELECT value FROM json_each(?)) ORDER BY sent_at DESC, id DESC LIMIT 1""",
                         (ids,)).fetchone()
    via = row[0] if row else thread_id
    meta = json.loads(db.execute("SELECT meta FROM threads WHERE id=?", (via,)).fetchone()[0] or "{}")
    return int(meta.get("split_from", via))


def merge_candidates(db: sqlite3.Connection, thread_id: int, limit: int = 200) -> list[sqlite3.Row]:
    """The same customer's other conversations, on any channel, that could join this one
    (not merged anywhere themselves), newest first."""
    return db.execute(
        """SELECT t.id, t.channel, t.subject, t.status, t.last_message_at, a.name AS account
           FROM threads t JOIN accounts a ON a.id = t.account_id
           WHERE t.customer_id = (SELECT customer_id FROM threads WHERE id=?1) AND t.id != ?1
             AND t.merged_into IS NULL AND t.status != 'merged'
           ORDER BY t.last_message_at DESC, t.id DESC LIMIT ?2""", (thread_id, limit)).fetchall()
