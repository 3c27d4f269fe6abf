"""The rt adapter against a private, real RT 5 on loopback: first sync and an incremental pull.

    .venv/bin/python -m bench.bench_rt [--tickets 300] [--replies 1]

Makes the tickets through RT's REST2 (each by its own customer, with ``--replies``
staff replies), then times a first sync of the whole window into a fresh cache and an
incremental pull after 10 new transactions, (RT runs without its access log here, as a production RT would.)
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from providers.base import AccountConfig
from providers.rt import RtProvider
from tests.support.servers.rt import AGENT, AGENT_PASSWORD, start_rt


async def sync(p: RtProvider, db, account_id: int, cursor):
    pages = messages = 0
    while True:
        batch = await p.pull(cursor)
        apply_batch(db, account_id, batch)
        pages, messages, cursor = pages + 1, messages + len(batch.messages), batch.cursor
        if not batch.more:
            return cursor, pages, messages


async def main(tickets: int, replies: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_rt(Path(tmp) / "rt", access_log=False)
        try:
            t0 = time.perf_counter()
            made = []
            for n in range(tickets):
                who = server.customer(f"Bench Customer {n}")
                made.append((who, server.open_ticket(who, f"Bench ticket {n}", f"Question number {n}")))
                for r in range(replies):
                    server.colleague_replies(made[-1][1], f"Answer {r} to {n}")
            print(f"made {tickets} tickets with {replies} replies each through REST2 in {time.perf_counter() - t0:.1f} s")

            db = connect(Path(tmp) / "cache.sqlite3")
            account_id = ensure_account(db, "helpdesk", "rt", "helpdesk")
            p = RtProvider(AccountConfig("helpdesk", "rt", {"url": server.url, "username": AGENT},
                                         secret=lambda: AGENT_PASSWORD))
            await p.open(read_only=True)
            try:
                t0 = time.perf_counter()
                cursor, pages, messages = await sync(p, db, account_id, None)
                took = time.perf_counter() - t0
                print(f"first sync: {tickets} tickets, {messages} messages, {pages} pages in {took:.2f} s "
                      f"({messages / took:.0f} messages/s)")
                for who, ticket in made[:10]:
                    server.customer_writes(who, ticket, "One more thing")
                t0 = time.perf_counter()
                _, pages, messages = await sync(p, db, account_id, cursor)
                took = time.perf_counter() - t0
                print(f"incremental pull after 10 new messages: {messages} messages, {pages} page(s) in "
                      f"{took * 1000:.0f} ms")
            finally:
                await p.close()
                db.close()
        finally:
            server.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=300)
    ap.add_argument("--replies", type=int, default=1)
    args = ap.parse_args()
    asyncio.run(main(args.tickets, args.replies))
