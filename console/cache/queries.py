"""Read queries written for the screens.

The inbox reads windows of rows by keyset pagination over covering indexes: a
page at any depth costs the same as the first. A :class:`Filter` describes which
conversations a view holds; :func:`inbox_page` returns rows after (or before) a
keyset position.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, replace

from console.cache import merged
from console.cache.customer_record import REFERENCE_CUSTOMERS

OPEN_STATES = ("open", "pending")
ALL_STATES = ("open", "pending", "snoozed", "closed")


@dataclass(frozen=True)
class Filter:
    """Which conversations a view shows. Empty fields do not filter."""

    statuses: tuple[str, ...] = OPEN_STATES
    channels: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    assignee: str | None = None  # a name; "" means unassigned
    tags: tuple[str, ...] = ()
    tones: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    customer_id: int | None = None
    thread_ids: tuple[int, ...] | None = None  # search results, drill-downs
    reference: tuple[str, str] | None = None  # ("order", "NW-104801") / ("charge", "ch_…"): that customer's
    people: tuple[str, ...] = ()  # addresses, handles, phone numbers, whole or a prefix: their customers' threads
    assignee_name: str | None = None  # an agent by whole name or first name, any case ("Tom" -> "Tom Becker")
    with_draft: bool = False  # only conversations holding an unsent draft
    order: str = "due"  # due: by SLA due time, oldest first (fair); recent: newest activity first

    def with_(self, **changes) -> Filter:
        return replace(self, **changes)


@dataclass(frozen=True)
class InboxRow:
    id: int
    key: tuple  # keyset position of this row
    channel: str
    channel_detail: str
    customer: str
    subject: str
    preview: str
    status: str
    priority: int
    queue: str
    assignee: str | None
    tags: tuple[str, ...]
    tone: str
    sla_due_at: float | None
    last_message_at: float
    unread: bool
    followers: int | None
    rule: str
    outbox_state: str = ""  # worst state of this thread's outbox rows: failed/held/queued


ROW_COLUMNS = """t.id, t.channel, t.channel_detail, COALESCE(c.name, '') AS customer, t.subject, t.preview, t.status,
    t.priority, t.queue, t.assignee, t.tags, t.tone, t.sla_due_at, t.sort_due, t.last_message_at, t.unread,
    i.followers, t.rule"""


def _where(f: Filter, *, ordered: bool = False) -> tuple[str, list]:
    """SQL condition and parameters for a view.

    ``ordered``: the query walks the view in order with a LIMIT. Several statuses
    (``IN``) would let SQLite pick the status index and sort every matching row;
    the unary ``+`` steers it to walk the order index instead and stop after LIMIT
    rows, which keeps page one and page 1000 equally cheap.
    """
    clauses: list[str] = []
    params: list = []

    def among(column: str, values) -> None:
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)

    among("+t.status" if ordered and len(f.statuses) > 1 else "t.status", f.statuses)
    among("t.channel", f.channels)
    among("t.queue", f.queues)
    among("t.tone", f.tones)
    if f.assignee is not None:
        if f.assignee == "":
            clauses.append("t.assignee IS NULL")
        else:
            clauses.append("t.assignee = ?")
            params.append(f.assignee)
    for tag in f.tags:
        clauses.append("EXISTS (SELECT 1 FROM json_each(t.tags) WHERE value = ?)")
        params.append(tag)
    if f.accounts:
        clauses.append(f"t.account_id IN (SELECT id FROM accounts WHERE name IN ({','.join('?' * len(f.accounts))}))")
        params.extend(f.accounts)
    if f.customer_id is not None:
        clauses.append("t.customer_id = ?")
        params.append(f.customer_id)
    if f.reference is not None:
        clauses.append(f"t.customer_id IN ({REFERENCE_CUSTOMERS[f.reference[0]]})")
        params.append(f.reference[1])
    if f.thread_ids is not None:
        clauses.append(f"t.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(f.thread_ids)))
    if f.assignee_name is not None:
        clauses.append("(t.assignee LIKE ? ESCAPE '\\' OR t.assignee LIKE ? ESCAPE '\\')")
        params += [_like(f.assignee_name), _like(f.assignee_name) + " %"]
    if f.with_draft:
        clauses.append("t.id IN (SELECT thread_id FROM drafts WHERE text != '')")
    for who in f.people:
        clauses.append(f"t.customer_id IN (SELECT customer_id FROM identities WHERE {_PERSON})")
        params += _person_params(who)
    return (" AND ".join(clauses) or "1"), params


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# An identity matches a person query by its address (with or without the leading @ of a
# Matrix or Mastodon handle, any case), its folded email, or its phone digits, each from
# the start. Prefixes are index ranges: a handful of index seeks on any cache size.
_PERSON = " OR ".join(["(address >= ? COLLATE NOCASE AND address < ? COLLATE NOCASE)"] * 2
                      + ["(email_key >= ? AND email_key < ?)", "(phone_key >= ? AND phone_key < ?)"])


def _prefix_range(prefix: str) -> list[str]:
    """[low, high) of the strings starting with ``prefix``; an empty range for none."""
    if not prefix:
        return ["", ""]
    return [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]


def _person_params(who: str) -> list:
    text = who.strip().lower()
    digits = "".join(ch for ch in who if ch.isdigit())
    phone = "+" + digits if len(digits) >= 3 and not any(ch.isalpha() for ch in who) else ""
    return [*_prefix_range(text), *_prefix_range("@" + text if not text.startswith("@") else ""),
            *_prefix_range(text), *_prefix_range(phone)]


def _order(f: Filter, reverse: bool) -> tuple[str, str, str]:
    """(key expression, ORDER BY, comparison op) for the view's order, forwards or backwards."""
    if f.order == "recent":
        key = "(t.last_message_at, t.id)"
        return key, ("t.last_message_at ASC, t.id ASC" if reverse else "t.last_message_at DESC, t.id DESC"), (
            ">" if reverse else "<")
    key = "(t.sort_due, t.id)"
    return key, ("t.sort_due DESC, t.id DESC" if reverse else "t.sort_due ASC, t.id ASC"), ("<" if reverse else ">")


def inbox_page(db: sqlite3.Connection, f: Filter, *, after: tuple | None = None, before: tuple | None = None,
               limit: int = 100) -> list[InboxRow]:
    """Up to ``limit`` rows following ``after`` (or preceding ``before``), in view order."""
    where, params = _where(f, ordered=True)
    reverse = before is not None
    key_expr, order_by, op = _order(f, reverse)
    anchor = before if reverse else after
    if anchor is not None:
        where += f" AND {key_expr} {op} (?, ?)"
        params.extend(anchor)
    sql = f"""SELECT {ROW_COLUMNS} FROM threads t
              LEFT JOIN customers c ON c.id = t.customer_id
              LEFT JOIN identities i ON i.id = t.identity_id
              WHERE {where} ORDER BY {order_by} LIMIT ?"""
    rows = [_row(r, f) for r in db.execute(sql, (*params, limit))]
    if reverse:
        rows.reverse()
    _attach_outbox_states(db, rows)
    return rows


def inbox_at(db: sqlite3.Connection, f: Filter, offset: int, limit: int = 100) -> list[InboxRow]:
    """Rows from a numeric position: only for jumps (scrollbar drag, G); steps use keysets."""
    where, params = _where(f, ordered=True)
    _, order_by, _ = _order(f, False)
    sql = f"""SELECT {ROW_COLUMNS} FROM threads t
              LEFT JOIN customers c ON c.id = t.customer_id
              LEFT JOIN identities i ON i.id = t.identity_id
              WHERE {where} ORDER BY {order_by} LIMIT ? OFFSET ?"""
    rows = [_row(r, f) for r in db.execute(sql, (*params, limit, max(0, offset)))]
    _attach_outbox_states(db, rows)
    return rows


def inbox_count(db: sqlite3.Connection, f: Filter) -> int:
    where, params = _where(f)
    return db.execute(f"SELECT COUNT(*) FROM threads t WHERE {where}", params).fetchone()[0]


def in_view(db: sqlite3.Connection, f: Filter, thread_id: int) -> bool:
    """Whether a conversation is in a view: one look-up by its id, whatever the view's size."""
    where, params = _where(f)
    return db.execute(f"SELECT 1 FROM threads t WHERE t.id = ? AND {where}", [thread_id, *params]).fetchone() is not None


def position_of(db: sqlite3.Connection, f: Filter, thread_id: int) -> int | None:
    """Index of a thread within a view (to keep the cursor on it after a refresh)."""
    row = db.execute("SELECT sort_due, last_message_at FROM threads WHERE id=?", (thread_id,)).fetchone()
    if row is None:
        return None
    where, params = _where(f)
    if f.order == "recent":
        where += " AND (t.last_message_at, t.id) > (?, ?)"
        params += [row["last_message_at"], thread_id]
    else:
        where += " AND (t.sort_due, t.id) < (?, ?)"
        params += [row["sort_due"], thread_id]
    return db.execute(f"SELECT COUNT(*) FROM threads t WHERE {where}", params).fetchone()[0]


def _row(r: sqlite3.Row, f: Filter) -> InboxRow:
    key = (r["last_message_at"], r["id"]) if f.order == "recent" else (r["sort_due"], r["id"])
    return InboxRow(
        id=r["id"], key=key, channel=r["channel"], channel_detail=r["channel_detail"], customer=r["customer"],
        subject=r["subject"], preview=r["preview"], status=r["status"], priority=r["priority"], queue=r["queue"],
        assignee=r["assignee"], tags=tuple(json.loads(r["tags"] or "[]")), tone=r["tone"],
        sla_due_at=r["sla_due_at"], last_message_at=r["last_message_at"], unread=bool(r["unread"]),
        followers=r["followers"], rule=r["rule"],
    )


def _attach_outbox_states(db: sqlite3.Connection, rows: list[InboxRow]) -> None:
    if not rows:
        return
    ids = json.dumps([r.id for r in rows])
    states = dict(db.execute(
        """SELECT thread_id, MIN(CASE state WHEN 'failed' THEN 0 WHEN 'held' THEN 1 WHEN 'sending' THEN 2
                                           WHEN 'queued' THEN 3 END)
           FROM outbox WHERE state != 'sent' AND thread_id IN (SELECT value FROM json_each(?)) GROUP BY thread_id""",
        (ids,)).fetchall())
    names = {0: "failed", 1: "held", 2: "sending", 3: "queued"}
    for i, r in enumerate(rows):
        if r.id in states:
            rows[i] = replace(r, outbox_state=names.get(states[r.id], ""))


# --------------------------------------------------------------------------- one conversation


def thread(db: sqlite3.Connection, thread_id: int) -> sqlite3.Row | None:
    return db.execute(
        """SELECT t.*, a.name AS account, a.provider AS provider, c.name AS customer_name,
                  i.address AS customer_address, i.display_name AS customer_display, i.followers AS followers
           FROM threads t JOIN accounts a ON a.id = t.account_id
           LEFT JOIN customers c ON c.id = t.customer_id
           LEFT JOIN identities i ON i.id = t.identity_id
           WHERE t.id=?""",
        (thread_id,),
    ).fetchone()


def messages(db: sqlite3.Connection, thread_id: int) -> list[sqlite3.Row]:
    """Every message of a conversation (and of the threads merged into it), in reading order."""
    return db.execute(
        f"""SELECT m.*, o.state AS outbox_state, o.last_error AS outbox_error, o.next_try_at AS outbox_next_try
           FROM messages m LEFT JOIN outbox o ON o.id = m.outbox_id
           WHERE {_in_conversation(db, thread_id)} ORDER BY m.sent_at, m.id""",
        (thread_id,),
    ).fetchall()


def _in_conversation(db: sqlite3.Connection, thread_id: int) -> str:
    """The message condition for one conversation: its own thread (the fast path, walking
    the thread's index in order), or with threads merged into it."""
    if len(merged.members(db, thread_id)) == 1:
        return "m.thread_id=?"
    return "m.thread_id IN (SELECT ?1 UNION ALL SELECT id FROM threads WHERE merged_into=?1)"


def draft(db: sqlite3.Connection, thread_id: int) -> sqlite3.Row | None:
    return db.execute("SELECT * FROM drafts WHERE thread_id=?", (thread_id,)).fetchone()


def unsent_drafts(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM drafts WHERE text != ''").fetchone()[0]


@dataclass(frozen=True)
class DraftHolder:
    thread_id: int
    subject: str
    customer: str
    updated_at: float
    effects: tuple[str, ...]  # a macro's "on send" effects waiting on the draft


def conversations_with_drafts(db: sqlite3.Connection, thread_ids: tuple[int, ...] | None = None) -> list[DraftHolder]:
    """The conversations holding an unsent draft (all, or those among ``thread_ids``), newest
    draft first: for the quit question, and the warning before closing one."""
    where, params = "d.text != ''", []
    if thread_ids is not None:
        where += " AND d.thread_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(list(thread_ids)))
    return [DraftHolder(r["thread_id"], r["subject"], r["customer"], r["updated_at"],
                        tuple(step["say"] for step in json.loads(r["effects"])))
            for r in db.execute(
                f"""SELECT d.thread_id, d.updated_at, d.effects, t.subject, COALESCE(c.name, '') AS customer
                    FROM drafts d JOIN threads t ON t.id = d.thread_id LEFT JOIN customers c ON c.id = t.customer_id
                    WHERE {where} ORDER BY d.updated_at DESC""", params)]


def outbox_counts(db: sqlite3.Connection) -> dict[str, int]:
    return dict(db.execute("SELECT state, COUNT(*) FROM outbox WHERE state != 'sent' GROUP BY state").fetchall())


def waiting_sends(db: sqlite3.Connection, now: float, author: str | None = None) -> list[sqlite3.Row]:
    """Replies still in their undo-send window at ``now``, newest first: the outbox id, the
    conversation the sent message shows in (``thread_id``), its subject and when it may go."""
    return db.execute(
        """SELECT o.id AS outbox_id, COALESCE(m.thread_id, o.thread_id) AS thread_id, t.subject, o.next_try_at
           FROM outbox o LEFT JOIN messages m ON m.outbox_id = o.id
           JOIN threads t ON t.id = COALESCE(m.thread_id, o.thread_id)
           WHERE o.state = 'queued' AND o.kind IN ('reply', 'move_private') AND o.next_try_at > ?
             AND (? IS NULL OR o.author = ?)
           ORDER BY o.id DESC""", (now, author, author)).fetchall()


# --------------------------------------------------------------------------- search


def search_threads(db: sqlite3.Connection, words: str, *, author: str = "", limit: int = 200) -> list[int]:
    """Thread ids whose messages match ``words`` (FTS5), newest matches first.

    Newest-first by rowid is bounded work for any word (see the performance notes).
    The last word is first matched whole, which is cheap even for a word in every
    message; only when that finds fewer than ``limit`` conversations is it widened
    to a prefix ("refu" finds "refund"), whose cost grows with the words it covers.
    A one-word ``author`` also names people by address or handle prefix (``jwagner``
    finds jwagner@example.com's conversations on every channel).
    """
    seen: dict[int, None] = {}
    if author and len(author.split()) == 1:
        seen.update(dict.fromkeys(_person_threads(db, words, author, limit)))
        if len(seen) >= limit:
            return list(seen)[:limit]
    for prefix in (False, True):
        match = fts_query(words, author, prefix=prefix)
        if not match or (prefix and match == fts_query(words, author, prefix=False)):
            break
        # Over-fetch messages: several may belong to one thread.
        hits = 0
        for (thread_id,) in db.execute(
            """SELECT m.thread_id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
               WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT ?""",
            (match, limit * 4),
        ):
            hits += 1
            seen.setdefault(thread_id, None)
            if len(seen) >= limit:
                return list(seen)
        if hits >= limit * 4:
            break  # a common word: the whole-word matches already fill the window
    return list(seen)


def _person_threads(db: sqlite3.Connection, words: str, who: str, limit: int) -> list[int]:
    """Threads of the customers with an address starting ``who``, newest first; with
    ``words``, those among the conversations the words find (as ``refund from:emma.`` does)."""
    people = f"t.customer_id IN (SELECT customer_id FROM identities WHERE {_PERSON})"
    if not words.split():
        return [r[0] for r in db.execute(
            f"SELECT t.id FROM threads t WHERE {people} ORDER BY t.last_message_at DESC, t.id DESC LIMIT ?",
            (*_person_params(who), limit))]
    found = search_threads(db, words, limit=limit)
    kept = {r[0] for r in db.execute(f"SELECT t.id FROM threads t WHERE t.id IN (SELECT value FROM json_each(?)) AND {people}",
                                     (json.dumps(found), *_person_params(who)))}
    return [tid for tid in found if tid in kept]


def fts_query(words: str, author: str = "", *, prefix: bool = True) -> str:
    """An FTS5 MATCH expression from free text: each word quoted (no syntax injection),
    and with ``prefix`` the last word (2+ characters) as a prefix."""
    terms = [w.replace('"', '""') for w in words.split() if w.strip('"')]
    parts = [f'"{t}"' for t in terms]
    if prefix and parts and len(terms[-1]) >= 2:
        parts[-1] += "*"
    expr = " AND ".join(parts)
    if author:
        a = f'author:"{author.replace(chr(34), chr(34) * 2)}"*'
        expr = f"{expr} AND {a}" if expr else a
    return expr


# --------------------------------------------------------------------------- identities (link chooser)


def identity_candidates(db: sqlite3.Connection, words: str, *, exclude_customer_id: int | None = None,
                        limit: int = 50) -> list[sqlite3.Row]:
    """Identities whose address, display name or customer name contains ``words`` (all of them),
    excluding those already on ``exclude_customer_id``; newest customers first."""
    clauses, params = ["1"], []
    if exclude_customer_id is not None:
        clauses.append("i.customer_id != ?")
        params.append(exclude_customer_id)
    for word in words.split():
        like = "%" + _like(word) + "%"
        clauses.append("(i.address LIKE ? ESCAPE '\\' OR i.display_name LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\')")
        params += [like, like, like]
    return db.execute(
        f"""SELECT i.id, i.channel, i.address, i.display_name, i.network, i.followers, i.customer_id,
                   COALESCE(c.name, '') AS customer_name
            FROM identities i LEFT JOIN customers c ON c.id = i.customer_id
            WHERE {' AND '.join(clauses)} ORDER BY i.customer_id DESC, i.id LIMIT ?""",
        (*params, limit),
    ).fetchall()


def inbox_by_ids(db: sqlite3.Connection, f: Filter) -> list[InboxRow]:
    """Every row of a view given by ``f.thread_ids`` (search results, drill-downs), in view order.

    Driven by the id list (one rowid lookup per id) instead of scanning the view's
    index and testing each row against the list, which costs a full scan on a big cache.
    """
    ids = list(f.thread_ids or ())
    if not ids:
        return []
    where, params = _where(f.with_(thread_ids=None))
    _, order_by, _ = _order(f, False)
    sql = f"""SELECT {ROW_COLUMNS} FROM json_each(?) j CROSS JOIN threads t ON t.id = j.value
              LEFT JOIN customers c ON c.id = t.customer_id
              LEFT JOIN identities i ON i.id = t.identity_id
              WHERE {where} ORDER BY {order_by}"""
    rows = [_row(r, f) for r in db.execute(sql, (json.dumps(ids), *params))]
    _attach_outbox_states(db, rows)
    return rows


def inbox_key_at(db: sqlite3.Connection, f: Filter, offset: int) -> tuple | None:
    """The keyset position of the row at ``offset`` in a view (for jumps: G, scrollbar drags).

    Reads only the covering status/order indexes (no joins), so a jump deep into a
    view costs a few milliseconds; the rows then come from ``inbox_page(after=...)``.
    """
    where, params = _where(f)
    key_expr, order_by, _ = _order(f, False)
    row = db.execute(f"SELECT {key_expr[1:-1]} FROM threads t WHERE {where} ORDER BY {order_by} LIMIT 1 OFFSET ?",
                     (*params, max(0, offset))).fetchone()
    return tuple(row) if row is not None else None


def messages_tail(db: sqlite3.Connection, thread_id: int, limit: int) -> tuple[list[sqlite3.Row], int]:
    """The newest ``limit`` messages of a conversation in reading order, and how many it has in all
    (a long chat room opens without reading every message)."""
    where = _in_conversation(db, thread_id)
    total = db.execute(f"SELECT COUNT(*) FROM messages m WHERE {where}", (thread_id,)).fetchone()[0]
    rows = db.execute(
        f"""SELECT * FROM (
             SELECT m.*, o.state AS outbox_state, o.last_error AS outbox_error, o.next_try_at AS outbox_next_try
             FROM messages m LEFT JOIN outbox o ON o.id = m.outbox_id
             WHERE {where} ORDER BY m.sent_at DESC, m.id DESC LIMIT ?)
           ORDER BY sent_at, id""",
        (thread_id, limit),
    ).fetchall()
    return rows, total


def assignees(db: sqlite3.Connection, limit: int = 50) -> list[str]:
    """People conversations are assigned to (for the assign chooser, beside [[agents]])."""
    return [r[0] for r in db.execute(
        "SELECT DISTINCT assignee FROM threads WHERE assignee IS NOT NULL LIMIT ?", (limit,))]


def known_tags(db: sqlite3.Connection, recent: int = 2000) -> list[str]:
    """Tags used on the most recent conversations, sorted (for the tag chooser)."""
    return [r[0] for r in db.execute(
        """SELECT DISTINCT j.value FROM (SELECT tags FROM threads ORDER BY id DESC LIMIT ?) t,
                  json_each(t.tags) j ORDER BY 1""", (recent,))]


def account_capabilities(db: sqlite3.Connection, account: str) -> set[str]:
    """What an account said it can do when it was last opened (empty if unknown)."""
    row = db.execute("SELECT capabilities FROM accounts WHERE name=?", (account,)).fetchone()
    try:
        return set(json.loads(row["capabilities"] or "[]")) if row else set()
    except ValueError:
        return set()


def customer_of(db: sqlite3.Connection, thread_id: int) -> int | None:
    row = db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id,)).fetchone()
    return row[0] if row else None


def reply_limits(db: sqlite3.Connection, account: str) -> dict[str, int] | None:
    """The reply limits an account's adapter stated when last opened (None: never opened)."""
    row = db.execute("SELECT reply_limits FROM accounts WHERE name=?", (account,)).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def store_reply_limits(db: sqlite3.Connection, account_id: int, limits: dict[str, int]) -> None:
    db.execute("UPDATE accounts SET reply_limits=? WHERE id=?", (json.dumps(limits, sort_keys=True), account_id))


def view_ids(db: sqlite3.Connection, f: Filter, among=None) -> list[int]:
    """Every conversation id of a view, in view order ("mark all in this view"); with ``among``,
    only those of them that are (still) in the view."""
    if among is not None:
        among = tuple(among) if f.thread_ids is None else tuple(set(among) & set(f.thread_ids))
        f = f.with_(thread_ids=among)
    where, params = _where(f)
    _, order_by, _ = _order(f, False)
    return [r[0] for r in db.execute(f"SELECT t.id FROM threads t WHERE {where} ORDER BY {order_by}", params)]
