"""A console process for the kill -9 test: sync a ticket, queue a reply, push it, and hang
right after RT accepted it — before the outbox could record the receipt.

    python -m tests.providers.rt.crash_worker CACHE STATE_DIR RT_URL TICKET TEXT
"""

from __future__ import annotations

import asyncio
import sys

from console import actions
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from providers.base import AccountConfig
from providers.rt import RtProvider
from tests.support.servers.rt import AGENT, AGENT_PASSWORD


class HangsAfterPush(RtProvider):
    async def push(self, action):
        receipt = await super().push(action)
        print("pushed", receipt.remote_id, flush=True)
        await asyncio.sleep(3600)  # killed here: the receipt never reaches the outbox
        return receipt


async def main(cache: str, state_dir: str, url: str, ticket: str, text: str) -> None:
    db = connect(cache)
    account_id = ensure_account(db, "helpdesk", "rt", "helpdesk")
    p = HangsAfterPush(AccountConfig("helpdesk", "rt", {"url": url, "username": AGENT, "state_dir": state_dir},
                                     secret=lambda: AGENT_PASSWORD))
    await p.open(read_only=False)
    cursor = None
    while True:
        batch = await p.pull(cursor)
        apply_batch(db, account_id, batch)
        cursor = batch.cursor
        if not batch.more:
            break
    thread_id = db.execute("SELECT id FROM threads WHERE remote_id=?", (ticket,)).fetchone()[0]
    result = actions.perform(actions.Context(db=db, agent="Sam"), "reply", thread_id, text=text)
    assert result.ok, result.message
    await Dispatcher(db).flush("helpdesk", p)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
