"""Benchmark: what end-to-end encryption costs the Matrix adapter, on a real Synapse.

    .venv/bin/python -m bench.bench_matrix_e2ee [--messages 300]

Starts a private Synapse on 127.0.0.1 (needs tests/support/servers/install_synapse.sh).
A customer writes ``--messages`` messages in a plain room and as many in an encrypted
direct chat (a matrix-nio client with its own device); the support account's adapter
then pulls each room into a fresh cache. Prints messages/second for the plain and the
encrypted first sync, and the time of a reply in each room: the first (in the encrypted
room it shares the room key with the customer's devices) and the median of the next
ten. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.cache import connect  # noqa: E402
from console.cache.ingest import apply_batch, ensure_account  # noqa: E402
from providers.base import PushAction  # noqa: E402
from providers.matrix import MatrixProvider  # noqa: E402
from tests.support.servers.synapse import EncryptedCustomer, Folders, _Running, matrix_account  # noqa: E402


async def timed_pull(p: MatrixProvider, db, account_id: int) -> float:
    start = time.perf_counter()
    cursor, more = None, True
    while more:
        batch = await p.pull(cursor)
        apply_batch(db, account_id, batch)
        cursor, more = batch.cursor, batch.more
    return time.perf_counter() - start


async def run(n: int, root: Path) -> None:
    server = _Running.start(Folders(root))
    try:
        agent = await server.register()
        customer = await EncryptedCustomer.start(server, root / "customer")
        setup = MatrixProvider(matrix_account(server, agent, root / "state"))
        await setup.open(read_only=False)  # our device and its keys exist before the customer writes
        await setup.close()
        plain = await customer.user.create_room(invite=[agent.user_id], name="plain")
        secret = await customer.open_dm(agent.user_id)
        for room in (plain, secret):
            await agent.join(room)  # from another client: each measured pull below is its device's first sync
        await customer.wait_joined(secret, agent.user_id)
        for i in range(n):
            await customer.user.send(plain, f"plain message {i} about order {1000 + i}")
            await customer.send(secret, f"encrypted message {i} about order {1000 + i}")

        for label, encryption in (("plain", False), ("encrypted", True)):
            db = connect(root / f"{label}.sqlite3")
            account_id = ensure_account(db, "support", "matrix", "chat")
            # Synapse answers a repeated first /sync of one device from a cache: each run its own device.
            name = "support" if encryption else "plain-bench"
            p = MatrixProvider(matrix_account(server, agent, root / "state" if encryption else root / "plain",
                                              name=name, encryption=encryption))
            await p.open(read_only=False)
            try:
                seconds = await timed_pull(p, db, account_id)
                room = secret if encryption else plain
                count = db.execute("SELECT COUNT(*) FROM messages m JOIN threads t ON t.id = m.thread_id "
                                   "WHERE t.remote_id = ? AND m.text LIKE '%about order%'", (room,)).fetchone()[0]
                print(f"first sync, {label:9} room: {count} messages in {seconds:.2f} s = "
                      f"{count / seconds:.0f} msg/s")
                times = []
                for i in range(11):
                    start = time.perf_counter()
                    await p.push(PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=room,
                                            text=f"reply {i}"))
                    times.append(time.perf_counter() - start)
                print(f"{label} reply: first {times[0] * 1000:.0f} ms"
                      f"{' (shares the room key)' if encryption else ''}, "
                      f"next ten median {statistics.median(times[1:]) * 1000:.0f} ms")
            finally:
                await p.close()
        await customer.close()
    finally:
        _Running.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "tests.support.keyring_backend.FileKeyring")
    with tempfile.TemporaryDirectory(prefix="bench-e2ee-") as tmp:
        os.environ.setdefault("SWITCHBOARD_TEST_KEYRING", str(Path(tmp) / "keyring.json"))
        asyncio.run(run(args.messages, Path(tmp)))


if __name__ == "__main__":
    main()
