"""Applying a provider's :class:`Batch` to the cache, in one transaction.

Everything the provider said is cleaned here (escape sequences, control characters)
before it is stored, so no later reader has to remember to. Local triage state on a
thread (queue, priority, tags, assignee) is only overwritten by fields the provider
actually reports (non-``None``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from console import identity
from console.cache.commerce import apply_commerce
from console.cache import tags as tag_origins
from console.cache.db import transaction
from providers.records import Batch, Channel, Direction, Message, Status, Thread
from providers.text import clean_line, clean_text

PREVIEW_CHARS = 160
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    new_threads: list[int] = field(default_factory=list)
    new_inbound: list[int] = field(default_factory=list)  # message ids, for triage / tone / SLA
    edited_inbound: list[int] = field(default_factory=list)  # inbound messages whose text changed: re-read
    confirmed: list[int] = field(default_factory=list)  # outbox ids whose sent message came back
    touched_threads: set[int] = field(default_factory=set)
    created: dict[str, int] = field(default_factory=dict)  # remote id -> local id of threads new in this batch

    @property
    def changed(self) -> bool:
        return bool(self.touched_threads or self.new_threads)


def ts(value: datetime | float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return value.timestamp()


def ensure_account(db: sqlite3.Connection, name: str, provider: str, channel: str) -> int:
    row = db.execute("SELECT id FROM accounts WHERE name=?", (name,)).fetchone()
    if row:
        db.execute("UPDATE accounts SET provider=?, channel=? WHERE id=?", (provider, channel, row[0]))
        return row[0]
    return db.execute(
        "INSERT INTO accounts(name, provider, channel) VALUES (?,?,?)", (name, provider, channel)
    ).lastrowid


def apply_batch(db: sqlite3.Connection, account_id: int, batch: Batch) -> IngestResult:
    """Store one batch and the account's new cursor atomically."""
    result = IngestResult()
    with transaction(db):
        for customer in batch.customers:
            identity.upsert_customer(db, customer)
        for thread in batch.threads:
            _upsert_thread(db, account_id, thread, result)
        for message in sorted(batch.messages, key=lambda m: m.sent_at):
            _upsert_message(db, account_id, message, result)
        _restore_reported_state(db, batch, result)
        for remote_id in batch.deleted_messages:
            _remove_message(db, account_id, remote_id, result)
        order_customers = set()
        for order in batch.orders:
            ident_id = identity.upsert_identity(db, order.customer)
            cust = db.execute("SELECT customer_id FROM identities WHERE id=?", (ident_id,)).fetchone()[0]
            order_customers.add(cust)
            db.execute(
                """INSERT INTO orders(account_id, remote_id, customer_id, identity_id, number, placed_at, total,
                                      currency, status, items, tracking_url)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT(account_id, remote_id) DO UPDATE SET
                     status=excluded.status, total=excluded.total, items=excluded.items,
                     tracking_url=excluded.tracking_url""",
                (account_id, order.remote_id, cust, ident_id, clean_line(order.number), ts(order.placed_at),
                 float(order.total), clean_line(order.currency), clean_line(order.status),
                 json.dumps([clean_line(i) for i in order.items]), clean_line(order.tracking_url)),
            )
        result.touched_threads |= apply_commerce(db, account_id, batch)
        _customer_since(db, result.touched_threads, order_customers)
        source = db.execute("SELECT name FROM accounts WHERE id=?", (account_id,)).fetchone()[0]
        for art in batch.articles:
            upsert_article(db, source, art.remote_id, art.title, art.body, art.tags, art.url, art.questions)
        db.execute(
            "UPDATE accounts SET cursor=?, last_sync_at=? WHERE id=?", (batch.cursor, time.time(), account_id)
        )
    return result


def _customer_since(db: sqlite3.Connection, threads: set[int], customers: set[int]) -> None:
    """A customer is a customer since the earliest thing known about them (first order or message),
    not since the day this cache first saw them."""
    ids = set(customers)
    if threads:
        ids.update(r[0] for r in db.execute(
            "SELECT DISTINCT customer_id FROM threads WHERE customer_id IS NOT NULL AND id IN (SELECT value FROM "
            "json_each(?))", (json.dumps(sorted(threads)),)))
    if not ids:
        return
    db.execute(
        """UPDATE customers SET created_at = MIN(created_at,
             COALESCE((SELECT MIN(placed_at) FROM orders WHERE customer_id = customers.id), created_at),
             COALESCE((SELECT MIN(m.sent_at) FROM threads t JOIN messages m ON m.thread_id = t.id
                       WHERE t.customer_id = customers.id), created_at))
           WHERE id IN (SELECT value FROM json_each(?))""", (json.dumps(sorted(ids)),))


def upsert_article(db, source, remote_id, title, body, tags, url="", questions=()) -> None:
    db.execute(
        """INSERT INTO articles(source, remote_id, title, body, tags, url, questions) VALUES (?,?,?,?,?,?,?)
           ON CONFLICT(source, remote_id) DO UPDATE SET title=excluded.title, body=excluded.body,
             tags=excluded.tags, url=excluded.url, questions=excluded.questions
           WHERE articles.title != excluded.title OR articles.body != excluded.body
             OR articles.tags != excluded.tags OR articles.url != excluded.url
             OR articles.questions != excluded.questions""",
        (source, remote_id, clean_line(title), clean_text(body), json.dumps([clean_line(t) for t in tags]),
         clean_line(url), json.dumps([q for q in (clean_line(q) for q in questions) if q])),
    )


def _upsert_thread(db: sqlite3.Connection, account_id: int, t: Thread, result: IngestResult) -> int:
    ident_id = identity.upsert_identity(db, t.customer)
    customer_id = db.execute("SELECT customer_id FROM identities WHERE id=?", (ident_id,)).fetchone()[0]
    channel = t.channel.value if isinstance(t.channel, Channel) else str(t.channel)
    meta = json.dumps(t.meta, default=str) if t.meta else None
    row = db.execute("SELECT id, last_message_at, tags, tag_origins FROM threads WHERE account_id=? AND remote_id=?",
                     (account_id, t.remote_id)).fetchone()
    reported = sorted({clean_line(x) for x in t.tags}) if t.tags is not None else None
    if row is None:
        thread_id = db.execute(
            """INSERT INTO threads(account_id, remote_id, channel, channel_detail, subject, status, priority, queue,
                                   assignee, tags, tag_origins, snoozed_until, last_message_at, unread, customer_id,
                                   identity_id, meta, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (account_id, t.remote_id, channel, clean_line(t.channel_detail), clean_line(t.subject),
             (t.status or Status.OPEN).value, 1 if t.priority is None else int(t.priority), clean_line(t.queue or ""),
             clean_line(t.assignee) or None if t.assignee else None,
             json.dumps(reported or []), json.dumps({x: tag_origins.PROVIDER for x in reported or []}),
             ts(t.snoozed_until),
             ts(t.last_message_at), int(bool(t.unread)), customer_id, ident_id, meta or "{}", time.time()),
        ).lastrowid
        result.new_threads.append(thread_id)
        result.created[t.remote_id] = thread_id
    else:
        thread_id = row[0]
        sets = ["subject=?", "channel_detail=CASE WHEN ?!='' THEN ? ELSE channel_detail END",
                "last_message_at=MAX(last_message_at, ?)"]
        detail = clean_line(t.channel_detail)
        params: list = [clean_line(t.subject), detail, detail, ts(t.last_message_at)]
        for col, value in (("status", t.status.value if t.status else None), ("priority", t.priority),
                           ("queue", clean_line(t.queue) if t.queue is not None else None),
                           ("assignee", clean_line(t.assignee) if t.assignee is not None else None),
                           ("unread", int(t.unread) if t.unread is not None else None),
                           ("snoozed_until", ts(t.snoozed_until)), ("meta", meta)):
            if value is not None:
                # A thread merged here stays merged whatever state its provider reports.
                sets.append("status=CASE WHEN status='merged' THEN status ELSE ? END" if col == "status" else f"{col}=?")
                params.append(value)
        if reported is not None:  # merged with triage and agent tags, never replacing them
            merged = tag_origins.merge_reported(*tag_origins.load(row["tags"], row["tag_origins"]), reported)
            sets.append("tags=?, tag_origins=?")
            params.extend(tag_origins.dump(*merged))
        db.execute(f"UPDATE threads SET {', '.join(sets)} WHERE id=?", (*params, thread_id))
    result.touched_threads.add(thread_id)
    return thread_id


def _restore_reported_state(db: sqlite3.Connection, batch: Batch, result: IngestResult) -> None:
    """A conversation seen for the first time arrives with its history; its earlier
    inbound messages must not reopen it or mark it unread when the provider said
    what its state is (a closed ticket from last month stays closed)."""
    for t in batch.threads:
        thread_id = result.created.get(t.remote_id)
        if thread_id is None:
            continue
        if t.status is not None:
            db.execute("UPDATE threads SET status=?, snoozed_until=? WHERE id=?",
                       (t.status.value, ts(t.snoozed_until), thread_id))
        if t.unread is not None:
            db.execute("UPDATE threads SET unread=? WHERE id=?", (int(t.unread), thread_id))


def _thread_id_for(db, account_id: int, m: Message, result: IngestResult) -> int:
    row = db.execute("SELECT id FROM threads WHERE account_id=? AND remote_id=?",
                     (account_id, m.thread_remote_id)).fetchone()
    if row:
        return row[0]
    # An adapter should send the thread with its first message; be forgiving if not.
    first_line = clean_line(m.text.split("\n", 1)[0])[:80] if m.text else ""
    return _upsert_thread(db, account_id, Thread(
        remote_id=m.thread_remote_id, channel=m.author.channel, subject=first_line, customer=m.author,
        last_message_at=m.sent_at, unread=m.direction == Direction.INBOUND), result)


def stored_form(m: Message) -> tuple[str, str]:
    """A message's text and meta exactly as the cache stores them."""
    return clean_text(m.text), json.dumps({k: v for k, v in m.meta.items()}, default=str)


def _upsert_message(db: sqlite3.Connection, account_id: int, m: Message, result: IngestResult) -> None:
    thread_id = _thread_id_for(db, account_id, m, result)
    text, meta = stored_form(m)
    attachments = json.dumps([
        {"name": clean_line(a.name), "content_type": clean_line(a.content_type), "size": int(a.size or 0), "ref": a.ref}
        for a in m.attachments
    ])
    existing = db.execute("SELECT id, text, meta, direction FROM messages WHERE account_id=? AND remote_id=?",
                          (account_id, m.remote_id)).fetchone()
    if existing:
        if existing["text"] != text or existing["meta"] != meta:  # an edit
            db.execute("UPDATE messages SET text=?, meta=?, attachments=? WHERE id=?",
                       (text, meta, attachments, existing["id"]))
            result.touched_threads.add(thread_id)
            if existing["direction"] == "inbound" and existing["text"] != text:
                result.edited_inbound.append(existing["id"])
        return
    author_id = identity.upsert_identity(db, m.author) if m.author and m.author.address else None
    author = clean_line(m.author.display_name or m.author.address) if m.author else ""
    sent_at = ts(m.sent_at)
    if m.action_key:
        # Our own queued message coming back from the provider: confirm, never duplicate.
        ob = db.execute("SELECT id FROM outbox WHERE key=?", (m.action_key,)).fetchone()
        if ob:
            updated = db.execute(
                "UPDATE messages SET remote_id=?, state='sent', sent_at=? WHERE outbox_id=? AND remote_id IS NULL",
                (m.remote_id, sent_at, ob[0]),
            ).rowcount
            db.execute("UPDATE outbox SET state='sent', sent_at=COALESCE(sent_at, ?), remote_id=COALESCE(remote_id, ?) "
                       "WHERE id=? AND state != 'sent'", (sent_at, m.remote_id, ob[0]))
            result.confirmed.append(ob[0])
            result.touched_threads.add(thread_id)
            if updated:
                return
            if db.execute("SELECT 1 FROM messages WHERE outbox_id=?", (ob[0],)).fetchone():
                return
    direction = m.direction.value if isinstance(m.direction, Direction) else str(m.direction)
    msg_id = db.execute(
        """INSERT INTO messages(thread_id, account_id, remote_id, direction, author_identity_id, author, sent_at, text,
                                attachments, meta, state)
           VALUES (?,?,?,?,?,?,?,?,?,?, 'received')""",
        (thread_id, account_id, m.remote_id, direction, author_id, author, sent_at, text, attachments, meta),
    ).lastrowid
    preview = clean_line(text)[:PREVIEW_CHARS]
    if direction == "inbound":
        db.execute(
            """UPDATE threads SET last_inbound_at=MAX(COALESCE(last_inbound_at, 0), ?),
                 last_message_at=MAX(last_message_at, ?), preview=?, unread=1,
                 status=CASE WHEN status IN ('closed','snoozed','pending') THEN 'open' ELSE status END,
                 snoozed_until=CASE WHEN status IN ('closed','snoozed','pending') THEN NULL ELSE snoozed_until END
               WHERE id IN (?, (SELECT merged_into FROM threads WHERE id=?))""",  # a merged thread wakes its conversation
            (sent_at, sent_at, preview, thread_id, thread_id),
        )
        result.new_inbound.append(msg_id)
    elif direction == "outbound":
        db.execute(
            """UPDATE threads SET last_message_at=MAX(last_message_at, ?), preview=?,
                 first_response_at=COALESCE(first_response_at, ?) WHERE id=?""",
            (sent_at, preview, sent_at, thread_id),
        )
    result.touched_threads.add(thread_id)


def _remove_message(db: sqlite3.Connection, account_id: int, remote_id: str, result: IngestResult) -> None:
    row = db.execute("SELECT id, thread_id, meta FROM messages WHERE account_id=? AND remote_id=?",
                     (account_id, remote_id)).fetchone()
    if row is None:
        return
    meta = json.loads(row["meta"] or "{}")
    meta["removed"] = True
    db.execute("UPDATE messages SET text='', attachments='[]', meta=? WHERE id=?", (json.dumps(meta), row["id"]))
    result.touched_threads.add(row["thread_id"])


Triage = Callable[[sqlite3.Connection, IngestResult, Any], None]
Foresee = Callable[[Batch], Any]


class BatchWriter:
    """Stores each batch together with its triage in ONE transaction, off the event loop.

    Writes run one at a time in a worker thread of their own, on a connection of their
    own (WAL lets the screen read meanwhile), so a first sync of thousands of messages
    never stalls the UI. A crash mid-batch leaves neither untriaged messages nor a moved
    cursor: the batch is pulled and triaged again. A cache with no file (``:memory:``)
    has no second door; it is written in place.
    """

    def __init__(self, db: sqlite3.Connection, triage: Triage | None = None, foresee: Foresee | None = None) -> None:
        """``foresee`` sees each batch as it arrives, before its turn to be stored, and what it returns
        is handed to ``triage`` with the stored result (the service reads tone ahead with it)."""
        from console.cache.db import connect

        path = db.execute("PRAGMA database_list").fetchone()[2]
        self.triage = triage
        self.foresee = foresee
        self._db = connect(path) if path else db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") if path else None

    async def apply(self, account_id: int, batch: Batch) -> IngestResult:
        ahead = self.foresee(batch) if self.foresee is not None and self.triage is not None else None
        return await self.run(lambda db: self._apply(db, account_id, batch, ahead))

    async def run(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """Any other write of the sync (the service's ticks) takes its turn in the same thread."""
        if self._pool is None:
            return write(self._db)
        return await asyncio.get_running_loop().run_in_executor(self._pool, write, self._db)

    def _apply(self, db: sqlite3.Connection, account_id: int, batch: Batch, ahead: Any = None) -> IngestResult:
        try:
            with transaction(db):
                result = apply_batch(db, account_id, batch)
                if self.triage is not None and (result.new_inbound or result.touched_threads):
                    self.triage(db, result, ahead)
                return result
        except sqlite3.Error:
            raise
        except Exception:  # a triage bug must not stop the sync: store the batch, say why it is untriaged
            if self.triage is None:
                raise
            log.exception("triage failed; the batch is stored untriaged")
            return apply_batch(db, account_id, batch)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._db.close()
