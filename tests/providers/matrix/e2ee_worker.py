"""A console process for the kill -9 test: its dispatcher pushes the queued encrypted reply,
says "sent" once the homeserver has it, and hangs there until it is killed, before the
outbox can record the send (the row stays 'sending', claimed by this dead process).

Usage: python -m tests.providers.matrix.e2ee_worker URL USER_ID PASSWORD STATE_DIR CACHE
"""

from __future__ import annotations

import asyncio
import sys


async def main(url: str, user_id: str, password: str, state_dir: str, cache: str) -> None:
    from console.cache import connect
    from console.outbox import Dispatcher
    from providers.matrix import MatrixProvider
    from tests.support.servers.synapse import MatrixUser, SynapseServer, matrix_account

    server = SynapseServer(url=url, folder=None, shared_secret="", pid=0)  # only its address is used
    p = MatrixProvider(matrix_account(server, MatrixUser(url, user_id, "", password), state_dir))
    await p.open(read_only=False)
    push = p.push

    async def push_then_hang(action):
        await push(action)
        print("sent", flush=True)
        await asyncio.sleep(3600)

    p.push = push_then_hang
    await Dispatcher(connect(cache)).flush("support", p)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
