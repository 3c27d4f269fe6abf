"""A separate process for the kill -9 test: queue a reply, or push the outbox.

    python -m tests.support.crash.worker queue CACHE STATE_DIR MARKER
    python -m tests.support.crash.worker send CACHE STATE_DIR LATENCY
"""

from __future__ import annotations

import asyncio
import sys

from console import actions
from console.cache import connect
from console.config import AccountSettings
from console.engine import build_provider
from console.outbox import Dispatcher


def provider(state_dir: str, latency: float):
    acc = AccountSettings("support-mail", "demo", {"channel": "email", "interval": 0.0, "latency": latency,
                                                   "state_dir": state_dir})
    return build_provider(acc, None)


async def queue(cache: str, state_dir: str, marker: str) -> None:
    from console.cache.ingest import apply_batch, ensure_account

    db = connect(cache)
    account_id = ensure_account(db, "support-mail", "demo", "email")
    if not db.execute("SELECT 1 FROM threads LIMIT 1").fetchone():
        p = provider(state_dir, 0.0)
        await p.open(read_only=False)
        cursor = None
        while True:
            batch = await p.pull(cursor)
            apply_batch(db, account_id, batch)
            cursor = batch.cursor
            if not batch.more:
                break
        await p.close()
    tid = db.execute("SELECT id FROM threads WHERE status='open' ORDER BY id LIMIT 1").fetchone()[0]
    result = actions.perform(actions.Context(db=db, agent="Sam"), "reply", tid, text=f"Refund sent ({marker}).")
    assert result.ok, result.message
    print(result.data["outbox_id"], flush=True)


async def send(cache: str, state_dir: str, latency: float) -> None:
    db = connect(cache)
    p = provider(state_dir, latency)
    await p.open(read_only=False)
    print("pushing", flush=True)
    await Dispatcher(db).flush("support-mail", p)
    await p.close()
    print("done", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "queue":
        asyncio.run(queue(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        asyncio.run(send(sys.argv[2], sys.argv[3], float(sys.argv[4])))
