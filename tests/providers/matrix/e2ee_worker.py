"""A console process for the kill -9 test: sends one encrypted reply, says "sent", then
waits to be killed before anything confirms the send (the outbox still says 'sending').

Usage: python -m tests.providers.matrix.e2ee_worker URL USER_ID PASSWORD STATE_DIR ROOM KEY TEXT
"""

from __future__ import annotations

import asyncio
import sys

from tests.support.servers.synapse import MatrixUser, matrix_account


async def main(url, user_id, password, state_dir, room, key, text) -> None:
    from providers.base import PushAction
    from providers.matrix import MatrixProvider

    class Server:  # matrix_account needs only the address
        pass

    server = Server()
    server.url = url
    p = MatrixProvider(matrix_account(server, MatrixUser(url, user_id, "", password), state_dir))
    await p.open(read_only=False)
    await p.push(PushAction(key=key, kind="reply", thread_remote_id=room, text=text))
    print("sent", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:8]))
