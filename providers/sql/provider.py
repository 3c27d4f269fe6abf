"""``SqlProvider``: customers and orders from the company's own database, read-only by construction.

Configured with a ``dsn`` (no password in it: that is in the keyring) and two named
queries, ``customers`` and ``orders``, each a SELECT that may use ``:since``: the
time of the previous pull (minus a few minutes of overlap, since rows committed late
would otherwise be missed), or the start of the account's window on the first pull.
Each pull runs both queries in read-only transactions and hands the rows over in
bounded batches. Customers link to the people already known by email and phone
through the core's identity rules; this adapter never decides who is who.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import ClassVar

from providers.base import (
    Batch,
    Channel,
    Option,
    OptionError,
    Provider,
    PushAction,
    Receipt,
    Unsupported,
)
from providers.sql import convert
from providers.sql.database import Database, parse_dsn, since_value
from providers.sql.queries import NAMES, NamedQuery, check

OVERLAP = timedelta(minutes=5)
BATCH_ROWS = 1000


class SqlProvider(Provider):
    kind: ClassVar[str] = "sql"
    channel = Channel.COMMERCE
    capabilities = frozenset()
    secret_label = "database password"
    options = (
        Option("dsn", str, required=True,
               help="postgresql://user@host:5432/db, mysql://user@host:3306/db or sqlite:///path/shop.db"),
        Option("customers", str, "", help="SELECT email, phone, name, external_id … WHERE updated_at > :since"),
        Option("orders", str, "", help="SELECT email, order_number, placed_at, total, currency, status … :since"),
        Option("timeout", float, 30.0, help="seconds a query may run before it is stopped"),
    )

    def __init__(self, account) -> None:
        super().__init__(account)
        self.target = parse_dsn(self.opts["dsn"], self.name)
        self.queries: dict[str, NamedQuery] = {
            name: check(name, self.opts[name], self.name) for name in NAMES if self.opts[name].strip()}
        if not self.queries:
            raise OptionError(f"account {self.name!r}: no customers or orders query",
                              fix='add customers = "SELECT email, name … WHERE updated_at > :since"')
        self.check_timeout()
        self.needs_secret = self.target.kind != "sqlite"
        self.database: Database | None = None
        self._pending: list[Batch] = []
        self.skipped = 0  # rows with no email or phone, so no one to link them to

    async def open(self, read_only: bool) -> None:
        self.read_only = True  # this adapter never writes, whatever it is asked
        if self.database is None:
            password = self.account.secret() if self.needs_secret else None
            db = Database(self.target, password, self.opts["timeout"], self.name)
            await asyncio.to_thread(db.connect)
            self.database = db

    async def close(self) -> None:
        if self.database is not None:
            db, self.database = self.database, None
            await asyncio.to_thread(db.close)

    async def reachable(self) -> str:
        return f"{self.target.kind} answered; the session is read-only; queries: {', '.join(self.queries)}"

    async def pull(self, cursor: str | None) -> Batch:
        if self._pending:
            batch = self._pending.pop(0)
            batch.more = bool(self._pending)
            return batch
        started = datetime.now(timezone.utc)
        since = _since(cursor) or started - timedelta(days=self.account.window_days)
        customers, orders = [], []
        if "customers" in self.queries:
            for row in await self._rows("customers", since):
                rec = convert.customer(row)
                if rec is None:
                    self.skipped += 1
                else:
                    customers.append(rec)
        if "orders" in self.queries:
            for row in await self._rows("orders", since):
                try:
                    rec = convert.order(row)
                except ValueError as exc:
                    raise OptionError(f"account {self.name!r}: the orders query returned a row whose {exc}",
                                      fix="select placed_at as a timestamp and total as a number") from None
                if rec is None:
                    self.skipped += 1
                else:
                    orders.append(rec)
        next_cursor = json.dumps({"v": 1, "since": (started - OVERLAP).isoformat()})
        batches = [Batch(cursor=next_cursor, customers=customers[i:i + BATCH_ROWS])
                   for i in range(0, len(customers), BATCH_ROWS)]
        batches += [Batch(cursor=next_cursor, orders=orders[i:i + BATCH_ROWS])
                    for i in range(0, len(orders), BATCH_ROWS)]
        if not batches:
            return Batch(cursor=next_cursor)
        for b in batches[:-1]:
            b.cursor = cursor  # only the last page moves the cursor: a crash mid-way pulls it all again
        self._pending = batches
        return await self.pull(cursor)

    async def _rows(self, name: str, since: datetime) -> list[dict]:
        assert self.database is not None, "open() first"
        sql, count = self.queries[name].bound(self.database.paramstyle)
        params = (since_value(self.target.kind, since),) * count
        columns, rows = await asyncio.to_thread(self.database.rows, sql, params)
        convert.require(columns, name, self.name)
        return [dict(zip(columns, r)) for r in rows]

    async def push(self, action: PushAction) -> Receipt:
        raise Unsupported(f"{self.name}: the company's database is read-only here; nothing is written to it")


def _since(cursor: str | None) -> datetime | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
        return datetime.fromisoformat(state["since"])
    except (ValueError, TypeError, KeyError):
        return None  # unreadable: pull the window again (ingest is idempotent)
