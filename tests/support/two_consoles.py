"""Several consoles on one system of record, as several agents run them: each has its own
data folder (cache file, adapter state), its own adapter instance and its own event loop in
its own thread, so two of them really act at the same moment (a ``threading.Barrier``
lines them up just before they press the key).

    a, b = Console(make_a, tmp / "a", "Ana"), Console(make_b, tmp / "b", "Priya")
    a.call(a.sync()); b.call(b.sync())
    outcomes = at_once([a, b], lambda c: c.claim(remote_id))

What a console does goes through the product's own paths: ``actions.perform`` (the write
gate) queues, the outbox :class:`Dispatcher` pushes through the adapter, pulls are stored
with ``apply_batch``, and the adapter's capabilities are recorded as the engine records them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from console import actions
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from providers.base import Provider
from tests.support.contract import pull_all


class Console:
    def __init__(self, make: Callable[[Path], Awaitable[Provider]], folder: Path, agent: str, *,
                 read_only: bool = False) -> None:
        self.folder, self.agent, self.read_only = Path(folder), agent, read_only
        self.folder.mkdir(parents=True, exist_ok=True)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"console-{agent}", daemon=True)
        self.thread.start()
        self.call(self._open(make))

    def call(self, coro: Awaitable, timeout: float = 120):
        """Run ``coro`` on this console's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self, make) -> None:
        self.db = connect(self.folder / "cache.sqlite3")
        self.provider = await make(self.folder / "state")
        await self.provider.open(read_only=self.read_only)
        self.account = self.provider.name
        self.account_id = ensure_account(self.db, self.account, self.provider.kind, self.provider.channel.value)
        caps = sorted(c.value for c in self.provider.capabilities)
        self.db.execute("UPDATE accounts SET capabilities=? WHERE id=?", (json.dumps(caps), self.account_id))
        self.db.commit()
        self.dispatcher = Dispatcher(self.db)

    async def sync(self) -> None:
        cursor = self.db.execute("SELECT cursor FROM accounts WHERE id=?", (self.account_id,)).fetchone()[0]
        batches, _ = await pull_all(self.provider, cursor)
        for batch in batches:
            apply_batch(self.db, self.account_id, batch)

    def thread_id(self, remote_id: str) -> int:
        row = self.db.execute("SELECT id FROM threads WHERE account_id=? AND remote_id=?",
                              (self.account_id, remote_id)).fetchone()
        assert row is not None, f"{self.agent}'s console has no conversation {remote_id}"
        return row[0]

    def perform(self, action: str, remote_id: str, **args) -> actions.Result:
        ctx = actions.Context(db=self.db, agent=self.agent, read_only=self.read_only)
        return actions.perform(ctx, action, self.thread_id(remote_id), **args)

    async def flush(self):
        if self.read_only:
            return None  # the engine never pushes a read-only console's outbox
        return await self.dispatcher.flush(self.account, self.provider)

    async def press(self, action: str, remote_id: str, barrier: threading.Barrier | None = None, **args):
        """Wait for the others (if any), perform ``action``, push the outbox at once."""
        if barrier is not None:
            barrier.wait(timeout=60)
        result = self.perform(action, remote_id, **args)
        await self.flush()
        return result

    def rows(self, remote_id: str, kind: str | None = None) -> list[dict]:
        sql = "SELECT * FROM outbox WHERE thread_id=?" + (" AND kind=?" if kind else "") + " ORDER BY id"
        params = (self.thread_id(remote_id), kind) if kind else (self.thread_id(remote_id),)
        return [dict(r) for r in self.db.execute(sql, params)]

    def assignee(self, remote_id: str) -> str | None:
        return self.db.execute("SELECT assignee FROM threads WHERE id=?", (self.thread_id(remote_id),)).fetchone()[0]

    def close(self) -> None:
        try:
            self.call(self.provider.close(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.db.close()


def at_once(consoles: list[Console], step: Callable[[Console, threading.Barrier], Awaitable]) -> list:
    """Run ``step`` on every console at the same moment (they meet at a barrier); the results in order."""
    barrier = threading.Barrier(len(consoles))
    futures = [asyncio.run_coroutine_threadsafe(step(c, barrier), c.loop) for c in consoles]
    return [f.result(180) for f in futures]
