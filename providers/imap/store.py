"""The adapter's own store: the sync maps in an SQLite file of their own, read by key.

The UID and thread maps grow with the mailbox. Loaded whole at every start (the journal
this replaces), they made `switchboard sync --once` of a 100,000-message mailbox with one
new message cost seconds before a single IMAP command. Here they are tables keyed the way
the sync asks (folder + UID, Message-ID, thread), so a start reads a few pages and a pull
reads the rows of what changed. This file is the adapter's, in its state folder; it is
never the console's cache.

Every row carries the number of the pull that wrote it (``seq``) and expunged UIDs are
marked with the pull that removed them (``gone``). The cursor the core commits names the
pull it came from; a pull the core never committed (a crash between this store's commit and
the core's transaction) is undone on the next :meth:`MapStore.rewind`: its rows are
deleted and its removals restored, so a message is never thought stored when it is not.
Updates to a conversation's facts are not undone: they are the same when pulled again.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

FILE = "maps.sqlite3"
StoreError = sqlite3.Error  # raised as it is: the core says what it means (e.g. a full disk) and what to do

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uids (
    folder TEXT NOT NULL, uv INTEGER NOT NULL, uid INTEGER NOT NULL,
    mid TEXT NOT NULL, ts INTEGER NOT NULL, inbound INTEGER NOT NULL,
    seq INTEGER NOT NULL, gone INTEGER,
    PRIMARY KEY (folder, uv, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uids_mid ON uids(mid);
CREATE INDEX IF NOT EXISTS uids_seq ON uids(seq);
CREATE INDEX IF NOT EXISTS uids_gone ON uids(gone) WHERE gone IS NOT NULL;
CREATE TABLE IF NOT EXISTS thread_of (mid TEXT PRIMARY KEY, thread TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS thread_of_thread ON thread_of(thread);
CREATE INDEX IF NOT EXISTS thread_of_seq ON thread_of(seq);
CREATE TABLE IF NOT EXISTS threads (id TEXT PRIMARY KEY, info TEXT NOT NULL, last REAL NOT NULL,
                                    seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS threads_last ON threads(last);
CREATE INDEX IF NOT EXISTS threads_seq ON threads(seq);
CREATE TABLE IF NOT EXISTS by_subject (key TEXT PRIMARY KEY, thread TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS by_subject_thread ON by_subject(thread);
CREATE INDEX IF NOT EXISTS by_subject_seq ON by_subject(seq);
"""


class MapStore:
    """One SQLite connection (``path`` or ``":memory:"``), used by one thread at a time."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level="DEFERRED")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key='id'").fetchone()
        if row is None:
            self.id = uuid.uuid4().hex[:12]
            self.db.execute("INSERT INTO meta VALUES ('id', ?), ('seq', '0'), ('count', '0'), ('numberings', '{}')",
                            (self.id,))
            self.db.commit()
        else:
            self.id = row[0]
        self.seq = int(self._meta("seq"))  # the last pull written
        self.count = int(self._meta("count"))  # live UIDs
        self.numberings: dict[str, int] = json.loads(self._meta("numberings") or "{}")  # folder -> UIDVALIDITY held

    def _meta(self, key: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else "0"

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    # ------------------------------------------------------------------ pulls and their commits

    @property
    def writing(self) -> int:
        """The number the rows of the pull under way are written with."""
        return self.seq + 1

    def commit(self) -> int:
        """End the pull under way: its rows are kept; returns its number for the cursor."""
        self.seq += 1
        self.db.execute("UPDATE meta SET value=? WHERE key='seq'", (str(self.seq),))
        self._write_meta()
        self.db.commit()
        return self.seq

    def _write_meta(self) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [("seq", str(self.seq)), ("count", str(self.count)),
                             ("numberings", json.dumps(self.numberings, sort_keys=True))])

    def rewind(self, seq: int) -> bool:
        """Back to the end of pull ``seq`` (the one the core committed). False when the store
        is behind it (rows lost): the caller starts over."""
        self.db.rollback()
        if seq > self.seq:
            return False
        if seq < self.seq:
            for table in ("uids", "thread_of", "threads", "by_subject"):
                self.db.execute(f"DELETE FROM {table} WHERE seq > ?", (seq,))
            self.db.execute("UPDATE uids SET gone=NULL WHERE gone > ?", (seq,))
            self.seq = seq
            self.count = self.db.execute("SELECT COUNT(*) FROM uids WHERE gone IS NULL").fetchone()[0]
        # Removals the core has committed are final.
        self.db.execute("DELETE FROM uids WHERE gone IS NOT NULL AND gone <= ?", (seq,))
        self._write_meta()
        self.db.commit()
        return True

    def reset(self) -> None:
        """Forget everything (a sync starting over)."""
        self.db.rollback()
        for table in ("uids", "thread_of", "threads", "by_subject"):
            self.db.execute(f"DELETE FROM {table}")
        self.seq, self.count, self.numberings = 0, 0, {}
        self._write_meta()
        self.id = uuid.uuid4().hex[:12]  # cursors naming the old contents no longer match
        self.db.execute("UPDATE meta SET value=? WHERE key='id'", (self.id,))
        self.db.commit()

    def drop_numberings(self, keep: dict[str, int]) -> None:
        """Remove the UIDs of folders no longer read and of numberings replaced (UIDVALIDITY)."""
        for folder, uv in list(self.numberings.items()):
            if keep.get(folder) != uv:
                gone = self.db.execute("DELETE FROM uids WHERE folder=? AND uv=? AND gone IS NULL",
                                       (folder, uv)).rowcount
                self.db.execute("DELETE FROM uids WHERE folder=? AND uv=?", (folder, uv))
                self.count -= gone
                del self.numberings[folder]

    # ------------------------------------------------------------------ UIDs

    def uid(self, folder: str, uv: int, uid: int) -> tuple | None:
        row = self.db.execute("SELECT mid, ts, inbound FROM uids WHERE folder=? AND uv=? AND uid=? AND gone IS NULL",
                              (folder, uv, uid)).fetchone()
        return None if row is None else tuple(row)

    def put_uid(self, folder: str, uv: int, uid: int, entry: tuple) -> None:
        if self.numberings.get(folder) != uv:
            self.drop_numberings({**self.numberings, folder: uv})  # the folder was renumbered: old UIDs go
            self.numberings[folder] = uv
        cur = self.db.execute("INSERT OR IGNORE INTO uids(folder, uv, uid, mid, ts, inbound, seq) VALUES (?,?,?,?,?,?,?)",
                              (folder, uv, uid, entry[0], int(entry[1]), int(entry[2]), self.writing))
        self.count += cur.rowcount

    def remove_uids(self, folder: str, uv: int, uids: list[int]) -> list[tuple[int, tuple]]:
        """Mark ``uids`` expunged; returns (uid, entry) of those that were known."""
        found = self.uids_in(folder, uv, uids)
        self.db.execute(f"UPDATE uids SET gone=? WHERE folder=? AND uv=? AND gone IS NULL AND uid IN ({_json_ints})",
                        (self.writing, folder, uv, json.dumps([u for u, _ in found])))
        self.count -= len(found)
        return found

    def uids_in(self, folder: str, uv: int, uids) -> list[tuple[int, tuple]]:
        rows = self.db.execute(
            f"SELECT uid, mid, ts, inbound FROM uids WHERE folder=? AND uv=? AND gone IS NULL AND uid IN ({_json_ints}) "
            "ORDER BY uid", (folder, uv, json.dumps(sorted(set(uids))))).fetchall()
        return [(r[0], tuple(r[1:])) for r in rows]

    def uids_between(self, folder: str, uv: int, ranges: list[tuple[int, int]]) -> list[int]:
        out: list[int] = []
        for lo, hi in ranges:
            out += [r[0] for r in self.db.execute(
                "SELECT uid FROM uids WHERE folder=? AND uv=? AND uid BETWEEN ? AND ? AND gone IS NULL",
                (folder, uv, lo, hi)).fetchall()]
        return out

    def all_uids(self, folder: str, uv: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT uid FROM uids WHERE folder=? AND uv=? AND gone IS NULL", (folder, uv)).fetchall()]

    def where(self, mid: str) -> list[tuple[str, int, int]]:
        """(folder, uidvalidity, uid) of every live copy of a message."""
        return [tuple(r) for r in self.db.execute(
            "SELECT folder, uv, uid FROM uids WHERE mid=? AND gone IS NULL ORDER BY uid", (mid,)).fetchall()]

    def copies(self, mids: list[str]) -> list[tuple[str, int, str]]:
        """(folder, uidvalidity, mid) of every live copy of these messages."""
        return [tuple(r) for r in self.db.execute(
            f"SELECT folder, uv, mid FROM uids WHERE gone IS NULL AND mid IN ({_json_texts})",
            (json.dumps(sorted(set(mids))),)).fetchall()]

    def of_threads(self, threads: list[str]) -> list[tuple[str, int, int, tuple, str]]:
        """(folder, uidvalidity, uid, entry, thread) of every live message of these conversations."""
        rows = self.db.execute(
            f"""SELECT u.folder, u.uv, u.uid, u.mid, u.ts, u.inbound, t.thread FROM thread_of t
                JOIN uids u ON u.mid = t.mid AND u.gone IS NULL WHERE t.thread IN ({_json_texts})
                ORDER BY u.folder, u.uid""",
            (json.dumps(sorted(set(threads))),)).fetchall()
        return [(r[0], r[1], r[2], (r[3], r[4], r[5]), r[6]) for r in rows]

    def threads_of_uids(self, folder: str, uv: int, uids) -> list[str]:
        rows = self.db.execute(
            f"""SELECT DISTINCT t.thread FROM uids u JOIN thread_of t ON t.mid = u.mid
                WHERE u.folder=? AND u.uv=? AND u.gone IS NULL AND u.uid IN ({_json_ints})""",
            (folder, uv, json.dumps(sorted(set(uids))))).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ key -> value tables

    def get(self, table: str, key: str) -> str | None:
        column = "info" if table == "threads" else "thread"
        key_col = "id" if table == "threads" else ("mid" if table == "thread_of" else "key")
        row = self.db.execute(f"SELECT {column} FROM {table} WHERE {key_col}=?", (key,)).fetchone()
        return None if row is None else row[0]

    def add(self, table: str, key: str, thread: str) -> None:
        """thread_of / by_subject: the first answer stays."""
        key_col = "mid" if table == "thread_of" else "key"
        self.db.execute(f"INSERT OR IGNORE INTO {table}({key_col}, thread, seq) VALUES (?,?,?)",
                        (key, thread, self.writing))

    def mids_of_thread(self, thread: str) -> set[str]:
        return {mid for (mid,) in self.db.execute("SELECT mid FROM thread_of WHERE thread=?", (thread,))}

    def put_thread(self, thread: str, info: str, last: float) -> None:
        self.db.execute("INSERT INTO threads(id, info, last, seq) VALUES (?,?,?,?) "
                        "ON CONFLICT(id) DO UPDATE SET info=excluded.info, last=excluded.last",
                        (thread, info, last, self.writing))

    def items(self, table: str) -> list[tuple[str, str]]:
        """Every row of a key -> value table (a whole-state cursor only)."""
        cols = {"threads": "id, info", "thread_of": "mid, thread", "by_subject": "key, thread"}[table]
        return self.db.execute(f"SELECT {cols} FROM {table} ORDER BY 1").fetchall()

    def all_uid_rows(self) -> list[tuple]:
        return self.db.execute(
            "SELECT folder, uv, uid, mid, ts, inbound FROM uids WHERE gone IS NULL ORDER BY folder, uid").fetchall()

    # ------------------------------------------------------------------ forgetting old conversations

    def prune(self, before: float) -> int:
        """Forget conversations quiet since ``before`` (found by index: only they are read)."""
        old = [r[0] for r in self.db.execute("SELECT id FROM threads WHERE last < ?", (before,)).fetchall()]
        if not old:
            return 0
        ids = json.dumps(old)
        gone = self.db.execute(
            f"""DELETE FROM uids WHERE ts < ? AND gone IS NULL AND mid IN
                (SELECT mid FROM thread_of WHERE thread IN ({_json_texts}))""", (before, ids)).rowcount
        self.count -= gone
        self.db.execute(
            f"""DELETE FROM thread_of WHERE thread IN ({_json_texts})
                AND NOT EXISTS (SELECT 1 FROM uids u WHERE u.mid = thread_of.mid)""", (ids,))
        self.db.execute(f"DELETE FROM threads WHERE id IN ({_json_texts})", (ids,))
        self.db.execute(f"DELETE FROM by_subject WHERE thread IN ({_json_texts})", (ids,))
        return len(old)


_json_ints = "SELECT value FROM json_each(?)"
_json_texts = "SELECT value FROM json_each(?)"
