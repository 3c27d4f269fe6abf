"""Team presence in the cache: the ``team_presence`` rows and the conversation-key index.

Writers (the presence client, in the engine's writer thread): :func:`store`, :func:`expire`,
:func:`resolve_pending`. Readers (the screens, ``switchboard team``): :func:`by_thread`,
:func:`for_thread`, :func:`entries`. Every reader filters on ``expires_at`` too, so a row
the client has not yet deleted is never shown past its time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from console.cache.db import transaction
from console.team.content import Entry
from console.team.keys import conversation_key


def store(db: sqlite3.Connection, changed: Iterable[tuple[str, str, Entry | None]], now: float,
          identities: Mapping[str, str]) -> set[int]:
    """Apply entries as read from the room: (room, agent, entry or None to clear).
    Returns this cache's conversations whose presence changed (before and after)."""
    changed = list(changed)
    touched: set[int] = set()
    with transaction(db):
        keys = {e.key for _, _, e in changed if e is not None and e.key}
        found = resolve(db, keys, identities) if keys else {}
        for room, agent, entry in changed:
            old = db.execute("SELECT thread_id FROM team_presence WHERE room=? AND agent=?", (room, agent)).fetchone()
            if old is not None and old[0] is not None:
                touched.add(old[0])
            if entry is None or entry.expires_at <= now:
                db.execute("DELETE FROM team_presence WHERE room=? AND agent=?", (room, agent))
                continue
            thread_id = found.get(entry.key)
            db.execute(
                """INSERT INTO team_presence(room, agent, name, mode, conv_key, thread_id, since, seen_at, expires_at)
                   VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(room, agent) DO UPDATE SET name=excluded.name,
                   mode=excluded.mode, conv_key=excluded.conv_key, thread_id=excluded.thread_id,
                   since=excluded.since, seen_at=excluded.seen_at, expires_at=excluded.expires_at""",
                (room, agent, entry.name, entry.mode, entry.key, thread_id, entry.since, entry.seen_at,
                 entry.expires_at))
            if thread_id is not None:
                touched.add(thread_id)
    return touched


def expire(db: sqlite3.Connection, now: float) -> tuple[bool, set[int]]:
    """Delete entries past their time: (whether any went, their conversations)."""
    gone = db.execute("SELECT thread_id FROM team_presence WHERE expires_at <= ?", (now,)).fetchall()
    if not gone:
        return False, set()
    with transaction(db):
        db.execute("DELETE FROM team_presence WHERE expires_at <= ?", (now,))
    return True, {r[0] for r in gone if r[0] is not None}


def forget_room(db: sqlite3.Connection, keep: Iterable[str]) -> None:
    """Drop rows of rooms no longer in [team] (the config changed)."""
    keep = list(keep)
    with transaction(db):
        db.execute(f"DELETE FROM team_presence WHERE room NOT IN ({','.join('?' * len(keep))})", keep)


def resolve_pending(db: sqlite3.Connection, identities: Mapping[str, str]) -> set[int]:
    """Entries naming a conversation this cache did not have yet: look again (new threads synced)."""
    rows = db.execute("SELECT DISTINCT conv_key FROM team_presence WHERE thread_id IS NULL AND conv_key != ''"
                      ).fetchall()
    if not rows or not _index_behind(db, identities):
        return set()  # nothing new was synced since the last look: no write, no lock
    with transaction(db):
        found = resolve(db, {r[0] for r in rows}, identities)
        for key, thread_id in found.items():
            db.execute("UPDATE team_presence SET thread_id=? WHERE conv_key=? AND thread_id IS NULL", (thread_id, key))
    return set(found.values())


def _index_behind(db: sqlite3.Connection, identities: Mapping[str, str]) -> bool:
    """Whether some account has threads (or a remote identity) the key index has not seen.
    Walks only the threads newer than the index (by id), so it is cheap when nothing is new."""
    for name, identity in identities.items():
        row = db.execute("""SELECT a.id, s.identity, COALESCE(s.scanned_to, 0) FROM accounts a
                            LEFT JOIN team_key_scans s ON s.account_id = a.id WHERE a.name=?""", (name,)).fetchone()
        if row is None:
            continue
        if row[1] is not None and row[1] != identity:
            return True
        # "+account_id": walk the ids above the mark, not the account's whole (account_id, remote_id) index.
        if db.execute("SELECT 1 FROM threads WHERE id > ? AND +account_id = ? LIMIT 1", (row[2], row[0])).fetchone():
            return True
    return False


def resolve(db: sqlite3.Connection, keys: set[str], identities: Mapping[str, str]) -> dict[str, int]:
    """This cache's conversation for each key it has one for.

    The key index holds the key of every thread up to a high-water mark per account; it
    is extended by the threads synced since (ids only grow), so a lookup costs the new
    threads' hashes, once. A changed remote identity (config edited) re-indexes its account.
    """
    accounts = {r["name"]: r["id"] for r in db.execute("SELECT id, name FROM accounts")}
    for name, identity in identities.items():
        account_id = accounts.get(name)
        if account_id is None:
            continue
        scan = db.execute("SELECT identity, scanned_to FROM team_key_scans WHERE account_id=?", (account_id,)).fetchone()
        scanned_to = 0
        if scan is not None and scan["identity"] == identity:
            scanned_to = scan["scanned_to"]
        elif scan is not None:
            db.execute("DELETE FROM team_keys WHERE account_id=?", (account_id,))
        rows = db.execute("SELECT id, remote_id FROM threads WHERE +account_id=? AND id>? ORDER BY id",
                          (account_id, scanned_to)).fetchall()
        if rows or scan is None or scan["identity"] != identity:
            db.executemany("INSERT OR IGNORE INTO team_keys(conv_key, thread_id, account_id) VALUES (?,?,?)",
                           [(conversation_key(identity, r["remote_id"]), r["id"], account_id) for r in rows])
            top = rows[-1]["id"] if rows else scanned_to
            db.execute("""INSERT INTO team_key_scans(account_id, identity, scanned_to) VALUES (?,?,?)
                          ON CONFLICT(account_id) DO UPDATE SET identity=excluded.identity,
                          scanned_to=excluded.scanned_to""", (account_id, identity, top))
    out: dict[str, int] = {}
    keys = list(keys)
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        for r in db.execute(f"SELECT conv_key, thread_id FROM team_keys WHERE conv_key IN ({','.join('?' * len(part))})",
                            part):
            out[r[0]] = r[1]
    return out


def announced(db: sqlite3.Connection, thread_id: int) -> sqlite3.Row | None:
    """What a console needs to announce a conversation: its account, remote id and queue."""
    return db.execute("""SELECT a.name AS account, t.remote_id, t.queue FROM threads t
                         JOIN accounts a ON a.id = t.account_id WHERE t.id=?""", (thread_id,)).fetchone()


# --------------------------------------------------------------------------- readers


def by_thread(db: sqlite3.Connection, now: float, *, exclude: str = "") -> dict[int, list[sqlite3.Row]]:
    """Other agents on each conversation of this cache, replying first (the inbox marks)."""
    out: dict[int, list[sqlite3.Row]] = {}
    for r in db.execute("""SELECT thread_id, agent, name, mode, since FROM team_presence
                           WHERE thread_id IS NOT NULL AND expires_at > ? AND agent != ?
                           ORDER BY mode = 'replying' DESC, since, agent""", (now, exclude)):
        out.setdefault(r["thread_id"], []).append(r)
    return out


def for_thread(db: sqlite3.Connection, thread_id: int, now: float, *, exclude: str = "") -> list[sqlite3.Row]:
    """Other agents on one conversation, replying first (the conversation pane's line)."""
    return db.execute("""SELECT agent, name, mode, since FROM team_presence
                         WHERE thread_id = ? AND expires_at > ? AND agent != ?
                         ORDER BY mode = 'replying' DESC, since, agent""", (thread_id, now, exclude)).fetchall()


def entries(db: sqlite3.Connection, now: float) -> list[sqlite3.Row]:
    """Every live entry with its conversation's id and subject where this cache has it."""
    return db.execute("""SELECT p.room, p.agent, p.name, p.mode, p.conv_key, p.thread_id, p.since, p.seen_at,
                                p.expires_at, t.subject
                         FROM team_presence p LEFT JOIN threads t ON t.id = p.thread_id
                         WHERE p.expires_at > ? ORDER BY p.name, p.agent, p.seen_at DESC""", (now,)).fetchall()
