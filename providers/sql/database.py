"""One read-only session on the company's database, whichever kind it is.

- PostgreSQL (psycopg 3): ``default_transaction_read_only`` and a ``statement_timeout``
  set for the session, and psycopg's own ``read_only`` on every transaction.
- MySQL / MariaDB (PyMySQL): ``SET SESSION TRANSACTION READ ONLY`` and each pull in a
  ``START TRANSACTION READ ONLY``; the time limit through ``max_execution_time``
  (MySQL) or ``max_statement_time`` (MariaDB), and the socket's read timeout.
- SQLite (the standard library): the file opened ``mode=ro`` with ``PRAGMA query_only``;
  the time limit through a progress handler.

Calls block, so the adapter runs them in a worker thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from providers.base import AuthError, OptionError, PermanentError, ProviderError, TransientError

SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mysql",
           "sqlite": "sqlite"}


@dataclass(frozen=True)
class Target:
    kind: str  # postgresql | mysql | sqlite
    dsn: str
    host: str = ""
    port: int | None = None
    user: str = ""
    database: str = ""
    path: str = ""


def parse_dsn(dsn: str, account: str) -> Target:
    """Read a DSN; refuse one that carries a password (it belongs in the keyring)."""
    parts = urlsplit(dsn or "")
    kind = SCHEMES.get(parts.scheme.split("+")[0].lower())
    if kind is None:
        raise OptionError(f"account {account!r}: dsn {parts.scheme + '://…' if parts.scheme else dsn!r} "
                          "is not a database this adapter knows",
                          fix="use postgresql://user@host:5432/db, mysql://user@host:3306/db or sqlite:///path/to/file")
    if parts.password is not None:
        raise OptionError(f"account {account!r}: the dsn holds a password",
                          fix=f"remove it from config.toml and run: switchboard accounts add {account}")
    if kind == "sqlite":
        path = unquote(parts.path)
        if not path:
            raise OptionError(f"account {account!r}: the sqlite dsn names no file", fix="write sqlite:///path/to/shop.db")
        return Target(kind, dsn, path=path)
    try:
        port = parts.port
    except ValueError:
        raise OptionError(f"account {account!r}: the dsn's port is not a number", fix="e.g. db.internal:5432") from None
    return Target(kind, dsn, host=parts.hostname or "", port=port, user=unquote(parts.username or ""),
                  database=unquote(parts.path.lstrip("/")))


def since_value(kind: str, since: datetime) -> Any:
    """The ``:since`` parameter as each driver compares best: aware for PostgreSQL, naive UTC elsewhere."""
    utc = since.astimezone(timezone.utc)
    if kind == "postgresql":
        return utc
    if kind == "mysql":
        return utc.replace(tzinfo=None)
    return utc.strftime("%Y-%m-%d %H:%M:%S")


class Database:
    """A read-only session; ``rows(sql, params)`` returns column names and every row."""

    def __init__(self, target: Target, password: str | None, timeout: float, account: str) -> None:
        self.target = target
        self.password = password
        self.timeout = timeout
        self.account = account
        self.conn: Any = None

    @property
    def paramstyle(self) -> str:
        return "qmark" if self.target.kind == "sqlite" else "pyformat"

    def connect(self) -> None:
        t = self.target
        try:
            if t.kind == "postgresql":
                self.conn = _postgres(t, self.password, self.timeout)
            elif t.kind == "mysql":
                self.conn = _mysql(t, self.password, self.timeout)
            else:
                self.conn = _sqlite(t, self.timeout)
        except ProviderError:
            raise
        except ImportError as exc:
            raise OptionError(f"account {self.account!r}: {t.kind} needs the {exc.name} driver, not installed",
                              fix="pip install 'switchboard-console[sql]'") from None
        except Exception as exc:
            raise _explain(exc, self.account, "connect") from None

    def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                conn.close()
            except Exception:
                pass

    def rows(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        if self.conn is None:
            raise PermanentError(f"account {self.account!r}: not connected", fix="call open() first")
        deadline = time.monotonic() + self.timeout
        try:
            if self.target.kind == "sqlite":
                self.conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
            if self.target.kind == "mysql":
                self.conn.query("START TRANSACTION READ ONLY")
            cur = self.conn.cursor()
            try:
                cur.execute(sql, params)
                names = [d[0].lower() for d in cur.description or ()]
                data = cur.fetchall()
            finally:
                cur.close()
            self.conn.rollback()  # nothing to keep: end the read-only transaction
            return names, list(data)
        except Exception as exc:
            try:
                self.conn.rollback()
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise ProviderError(f"account {self.account!r}: a query ran longer than {self.timeout:g} s",
                                    fix="narrow it or add an index; or raise the account's timeout") from None
            raise _explain(exc, self.account, "query") from None


def _postgres(t: Target, password: str | None, timeout: float):
    import psycopg

    ms = int(timeout * 1000)
    conn = psycopg.connect(t.dsn, password=password, connect_timeout=max(1, int(timeout)),
                           options=f"-c default_transaction_read_only=on -c statement_timeout={ms}",
                           application_name="switchboard")
    conn.read_only = True
    return conn


def _mysql(t: Target, password: str | None, timeout: float):
    import pymysql

    conn = pymysql.connect(host=t.host or "localhost", port=t.port or 3306, user=t.user, password=password or "",
                           database=t.database or None, connect_timeout=max(1, int(timeout)),
                           read_timeout=max(1, int(timeout)) + 5, autocommit=False, charset="utf8mb4")
    conn.query("SET SESSION TRANSACTION READ ONLY")
    for setting in (f"SET SESSION max_execution_time = {int(timeout * 1000)}",  # MySQL
                    f"SET SESSION max_statement_time = {timeout:g}"):  # MariaDB
        try:
            conn.query(setting)
        except pymysql.MySQLError:
            pass  # the other server's name for it
    return conn


def _sqlite(t: Target, timeout: float):
    import sqlite3
    from pathlib import Path

    path = Path(t.path).expanduser()
    if not path.is_file():
        raise OptionError(f"no SQLite database at {path}", fix="check the path in the account's dsn")
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=timeout, check_same_thread=False)
    conn.execute("PRAGMA query_only = ON")
    return conn


def _explain(exc: Exception, account: str, doing: str) -> ProviderError:
    """A driver's error as one line: bad password, unreachable, or what the database said."""
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    low = text.lower()
    if "password authentication failed" in low or "access denied" in low or "no password supplied" in low:
        return AuthError(f"account {account!r}: the database refused the login ({text})",
                         fix=f"check the user in the dsn and the password: switchboard accounts add {account}")
    if doing == "connect" and any(w in low for w in ("could not connect", "connection refused", "timeout",
                                                      "can't connect", "name or service", "timed out")):
        return TransientError(f"account {account!r}: cannot reach the database ({text})",
                              fix="check the network and the dsn's host and port")
    return ProviderError(f"account {account!r}: the database said: {text}",
                         fix="check the query in config.toml" if doing == "query" else "check the dsn")
