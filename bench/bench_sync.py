"""Sync benchmark: how long the UI's event loop stalls while a first sync lands.

    .venv/bin/python -m bench.bench_sync                 # 10,000 messages in 2,000 conversations
    .venv/bin/python -m bench.bench_sync --messages 50000 --page 500

A headless Switchboard app runs on a fresh cache while the real engine (with the
triage service) pulls pages from an in-process adapter. A probe task on the app's
loop sleeps 2 ms at a time and records how late it wakes: the longest delay is the
longest stall a key press would have met. Printed for the engine (ingest and triage
in one transaction, in its worker thread) and, for comparison, for the same pages
applied on the loop itself (how the engine did it before). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from console.cache.ingest import apply_batch, ensure_account
from console.config import AccountSettings, Config
from console.engine import Engine
from console.service import Service
from providers.base import AccountConfig, Batch, Channel, Direction, Identity, Message, Provider, Thread

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
WORDS = ("refund", "parcel", "invoice", "login", "broken", "thanks", "late", "size", "address", "discount")


class FirstSync(Provider):
    """Pages of a first sync: ``messages`` inbound messages over ``messages // 5`` conversations."""

    kind = "bench"
    channel = Channel.EMAIL
    needs_secret = False

    def __init__(self, account: AccountConfig, *, messages: int, page: int) -> None:
        super().__init__(account)
        self.total, self.page = messages, page

    async def open(self, read_only: bool) -> None:
        self.read_only = read_only

    async def pull(self, cursor: str | None) -> Batch:
        start = int(cursor or 0)
        end = min(self.total, start + self.page)
        batch = Batch(cursor=str(end), more=end < self.total)
        seen = set()
        for n in range(start, end):
            t = n // 5
            who = Identity(Channel.EMAIL, f"customer{t}@example.com", f"Customer {t}")
            at = T0 + timedelta(minutes=n)
            if t not in seen:
                seen.add(t)
                batch.threads.append(Thread(f"t{t}", Channel.EMAIL, f"About my {WORDS[t % 10]} #{t}", who, at))
            batch.messages.append(Message(f"m{n}", f"t{t}", Direction.INBOUND, who, at,
                                          f"Hello, my {WORDS[n % 10]} problem is not solved, please help ({n})."))
        return batch

    async def push(self, action):  # pragma: no cover - a pull-only benchmark
        raise NotImplementedError


async def probe(stalls: list[float], stop: asyncio.Event, tick: float = 0.002) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(tick)
        stalls.append(time.perf_counter() - t - tick)


async def one_run(mode: str, messages: int, page: int) -> dict[str, float]:
    from widgets.app import SwitchboardApp

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cache.sqlite3"
        config = Config(agent_name="Sam Rivera", accounts=[AccountSettings("mail", "bench", {})])
        app = SwitchboardApp(db_path=path, config=config, start_engine=False)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause(0.3)  # first frame and the panes
            service = Service(config)
            adapter = FirstSync(AccountConfig("mail", "bench"), messages=messages, page=page)
            stalls: list[float] = []
            stop = asyncio.Event()
            task = asyncio.create_task(probe(stalls, stop))
            started = time.perf_counter()
            if mode == "engine":
                engine = Engine(app.db, config, service=service, providers={"mail": adapter}, on_change=app.changed)
                await engine.run_once()
                await engine.stop()
            else:  # the pages applied on the loop, ingest then triage (the engine before this change)
                service.start(app.db)
                account_id = ensure_account(app.db, "mail", "bench", "email")
                cursor = None
                while True:
                    batch = await adapter.pull(cursor)
                    result = apply_batch(app.db, account_id, batch)
                    service.process(app.db, result)
                    app.changed(set(result.touched_threads))
                    cursor = batch.cursor
                    if not batch.more:
                        break
                    await asyncio.sleep(0)
            elapsed = time.perf_counter() - started
            await pilot.pause(0.2)
            stop.set()
            await task
            stored = app.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    return {"elapsed": elapsed, "max": max(stalls), "p99": statistics.quantiles(stalls, n=100)[98],
            "stored": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=500, help="messages per pulled page")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"first sync of {args.messages:,} messages in pages of {args.page} (median of {args.runs} runs)")
    for mode, label in (("engine", "engine: ingest+triage in one transaction, worker thread"),
                        ("inline", "before: ingest then triage on the UI loop")):
        runs = [asyncio.run(one_run(mode, args.messages, args.page)) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"  {label}: longest UI-loop stall {med['max'] * 1000:.1f} ms (p99 {med['p99'] * 1000:.1f} ms), "
              f"sync {med['elapsed']:.2f} s, {int(med['stored']):,} messages stored")


if __name__ == "__main__":
    main()
