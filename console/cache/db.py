"""Opening the cache: one SQLite file per profile, WAL, private to the user."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from console.cache.schema import MIGRATIONS, SCHEMA_VERSION
from console.errors import UserError


def cache_path(data_dir: Path, profile: str) -> Path:
    return Path(data_dir) / f"{profile}.sqlite3"


def connect(path: Path | str, *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the cache at ``path``.

    The file and its WAL/SHM companions are created with mode 0600. Errors a user
    can act on (disk full, unreadable file, cache from a newer version) become a
    one-line :class:`UserError`.
    """
    path = Path(path)
    memory = str(path) == ":memory:"
    if not memory:
        if not create and not path.exists():
            raise UserError(f"no cache at {path}", fix="run `switchboard sync --once` first (or add --demo)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create the file ourselves so it is private from its first byte. Only when it is not
            # there: closing a descriptor drops every POSIX lock this process holds on the file, so
            # opening and closing one beside a live connection (the sync's second connection) would
            # let another process take SQLite's locks, checkpoint and delete the WAL under it.
            if not path.exists():
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass  # another process made it just now
                else:
                    os.close(fd)
        except OSError as exc:
            raise UserError(f"cannot create the cache at {path}: {exc.strerror}", fix="choose another --data-dir") from None
    old_umask = os.umask(0o077)  # the -wal and -shm files SQLite creates inherit this
    try:
        db = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA temp_store=MEMORY")
            db.execute("PRAGMA cache_size=-16000")  # 16 MB page cache
            migrate(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise explain(exc, path) from None
    finally:
        os.umask(old_umask)
    if not memory:
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{path}{suffix}")
            if p.exists() and (p.stat().st_mode & 0o077):
                os.chmod(p, 0o600)
    return db


def open_existing(path: Path | str) -> sqlite3.Connection | None:
    """The cache at ``path`` opened read-only, neither created nor migrated; None when there
    is none (for checks that must leave no file behind, like `switchboard doctor`)."""
    path = Path(path)
    if not path.is_file():
        return None
    from urllib.request import pathname2url

    db = sqlite3.connect(f"file:{pathname2url(str(path.resolve()))}?mode=ro", uri=True, timeout=5.0,
                         isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


def migrate(db: sqlite3.Connection) -> int:
    """Apply every migration newer than the file's ``user_version``; return the new version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError(
            f"the cache was written by a newer Switchboard (schema {version}, this one knows {SCHEMA_VERSION})",
            fix="upgrade Switchboard, or use another --profile",
        )
    for number in range(version, SCHEMA_VERSION):
        step = MIGRATIONS[number]
        try:
            if isinstance(step, str):
                db.executescript(f"BEGIN IMMEDIATE;\n{step}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
            else:
                db.execute("BEGIN IMMEDIATE")
                step(db)
                db.execute(f"PRAGMA user_version = {number + 1}")
                db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def explain(exc: sqlite3.Error, path: Path | str = "") -> UserError:
    """Turn an SQLite error into one line that names the problem and the fix."""
    text = str(exc)
    cache = f"the cache {path}" if str(path) else "the cache"
    if "disk is full" in text or "disk I/O" in text:
        return UserError(f"cannot write {cache}: the disk is full", fix="free some space; nothing was lost")
    if "not a database" in text or "malformed" in text:
        return UserError(
            f"{cache} is damaged ({text})",
            fix="move it aside; `switchboard sync --once` pulls provider data again",
        )
    if "locked" in text:
        return UserError(f"{cache} is busy ({text})", fix="close the other Switchboard using this profile")
    if "readonly" in text or "unable to open" in text:
        return UserError(f"cannot open {cache} ({text})", fix="check the folder's permissions or pick another --data-dir")
    return UserError(f"cache error: {text}")


class transaction:
    """``with transaction(db):`` — BEGIN IMMEDIATE … COMMIT, ROLLBACK on error. Re-entrant."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
