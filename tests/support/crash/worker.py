"""A separate process for the kill -9 tests: queue a reply, or push the outbox.

    python -m tests.support.crash.worker queue CACHE STATE_DIR MARKER
    python -m tests.support.crash.worker send CACHE STATE_DIR LATENCY
    python -m tests.support.crash.worker send-mail CACHE ACCOUNT_JSON

``send`` pushes through the demo provider (its journal is the remote side);
``send-mail`` through the email adapter, with ACCOUNT_JSON naming the account, its
options and the test password (a test mailbox's, never a real one).
"""

from __future__ import annotations

import asyncio
import json
import sys

from console import actions
from console.cache import connect
from console.config import AccountSettings
from console.engine import build_provider
from console.outbox import Dispatcher
from providers.base import AccountConfig, Provider


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


async def send(cache: str, p: Provider) -> None:
    db = connect(cache)
    await p.open(read_only=False)
    print("pushing", flush=True)
    result = await Dispatcher(db).flush(p.name, p)
    await p.close()
    for problem in result.problems:
        print(problem.line(), flush=True)
    print("done", flush=True)


def mail_provider(account_json: str) -> Provider:
    from providers.imap import ImapProvider

    spec = json.loads(account_json)
    return ImapProvider(AccountConfig(name=spec["name"], provider="imap", options=spec["options"],
                                      secret=lambda: spec["password"]))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "queue":
        asyncio.run(queue(sys.argv[2], sys.argv[3], sys.argv[4]))
    elif mode == "send-mail":
        asyncio.run(send(sys.argv[2], mail_provider(sys.argv[3])))
    else:
        asyncio.run(send(sys.argv[2], provider(sys.argv[3], float(sys.argv[4]))))
