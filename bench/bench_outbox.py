"""Benchmark: what the outbox's claims cost, and how small the SMTP window became.

    .venv/bin/python -m bench.bench_outbox [--replies 2000] [--mail 40]

1. Claims, no network: ``--replies`` queued replies in 200 conversations of a fresh
   cache file, pushed to an in-process remote that answers at once — by one dispatcher,
   then by four racing on the same file (each its own connection). Prints rows/s, the
   dispatcher's own time per row, and how many rows were pushed more than once.
2. The SMTP window, against a private dovecot + SMTP server on 127.0.0.1 (needs
   tests/support/servers/install_mail.sh): ``--mail`` replies through the email adapter.
   Prints, per reply, the time from SMTP accepting the DATA to the delivery being
   committed in the cache (the window a crash could still double a reply in, besides
   the server's own 250 in flight), and the time the follow-up step (QUIT + the copy in
   Sent) takes — which used to lie inside that window.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console import actions  # noqa: E402
from console.cache import connect  # noqa: E402
from console.cache.ingest import apply_batch, ensure_account  # noqa: E402
from console.outbox import Dispatcher  # noqa: E402
from providers.base import (  # noqa: E402
    Batch,
    Capability,
    Channel,
    Direction,
    Identity,
    Message,
    Provider,
    PushAction,
    Receipt,
    Thread,
)


class InstantRemote(Provider):
    kind = "bench"
    channel = Channel.EMAIL
    capabilities = frozenset({Capability.REPLY})
    needs_secret = False

    def __init__(self, account, conversations: int) -> None:
        super().__init__(account)
        self.conversations = conversations
        self.pushes: list[str] = []

    async def open(self, read_only: bool) -> None:
        self.read_only = read_only

    async def pull(self, cursor: str | None) -> Batch:
        who = Identity(Channel.EMAIL, "kim@example.com", "Kim")
        now = datetime.now(timezone.utc)
        batch = Batch(cursor="done")
        for n in range(self.conversations):
            batch.threads.append(Thread(f"t{n}", Channel.EMAIL, f"Order {n}", who, now))
            batch.messages.append(Message(f"m{n}", f"t{n}", Direction.INBOUND, who, now, f"Where is order {n}?"))
        return batch

    async def push(self, action: PushAction) -> Receipt:
        self.pushes.append(action.key)
        await asyncio.sleep(0)  # a network call yields to the loop: racers interleave
        return Receipt(remote_id=f"sent-{action.key}", sent_at=datetime.now(timezone.utc))


def queue_replies(path: Path, replies: int, conversations: int) -> InstantRemote:
    from providers.base import AccountConfig

    db = connect(path)
    remote = InstantRemote(AccountConfig("bench-mail", "bench"), conversations)
    apply_batch(db, ensure_account(db, "bench-mail", "bench", "email"), asyncio.run(remote.pull(None)))
    ctx = actions.Context(db=db, agent="bench")
    tids = [r[0] for r in db.execute("SELECT id FROM threads ORDER BY id")]
    for n in range(replies):
        actions.perform(ctx, "reply", tids[n % len(tids)], text=f"Reply {n}")
    db.close()
    return remote


def bench_claims(replies: int) -> None:
    for racers in (1, 4):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "cache.sqlite3"
            remote = queue_replies(path, replies, 200)

            async def race() -> None:
                await asyncio.gather(*(Dispatcher(connect(path)).flush("bench-mail", remote) for _ in range(racers)))
                while connect(path).execute("SELECT 1 FROM outbox WHERE state != 'sent'").fetchone():
                    await Dispatcher(connect(path)).flush("bench-mail", remote)

            start = time.perf_counter()
            asyncio.run(race())
            took = time.perf_counter() - start
            twice = len(remote.pushes) - len(set(remote.pushes))
            print(f"claims: {replies} replies, {racers} dispatcher(s): {replies / took:,.0f} rows/s, "
                  f"{took / replies * 1000:.2f} ms per row, pushed more than once: {twice}")


def bench_smtp_window(count: int) -> None:
    import shutil

    from providers.imap import send
    from tests.support.servers.mail import ImapHarness, start_dovecot, start_smtp, stop_smtp

    if not shutil.which("dovecot") and not Path("/usr/sbin/dovecot").exists():
        print("smtp window: skipped (dovecot is not installed: run tests/support/servers/install_mail.sh)")
        return
    dv = start_dovecot()
    smtp = start_smtp(dv)
    accepted_at: dict[str, float] = {}
    windows: list[float] = []
    follow_ups: list[float] = []
    real_deliver, real_sent = send.smtp_deliver, Dispatcher._sent

    def deliver(msg, **kw):
        session = real_deliver(msg, **kw)
        accepted_at[msg["Message-ID"].strip("<>")] = time.perf_counter()
        return session

    def sent(self, row, receipt):
        out = real_sent(self, row, receipt)
        if row["kind"] == "reply":
            windows.append(time.perf_counter() - accepted_at[receipt.remote_id])
        return out

    send.smtp_deliver, Dispatcher._sent = deliver, sent
    try:
        h = ImapHarness(dv, smtp)
        for n in range(count):
            mail = h.customer_mail(f"Question {n}", subject=f"Order {n}")
            dv.deliver(h.customer, [h.agent], mail.as_bytes())

        async def run() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                db = connect(Path(tmp) / "cache.sqlite3")
                p = await h.make()
                await p.open(read_only=False)
                account_id = ensure_account(db, h.name, "imap", "email")
                cursor = None
                while True:
                    batch = await p.pull(cursor)
                    apply_batch(db, account_id, batch)
                    cursor = batch.cursor
                    if not batch.more:
                        break
                ctx = actions.Context(db=db, agent="bench")
                for (tid,) in db.execute("SELECT id FROM threads").fetchall():
                    actions.perform(ctx, "reply", tid, text="Thanks, sorted.")
                real_push = p.push

                async def timed_push(action):
                    start = time.perf_counter()
                    receipt = await real_push(action)
                    if action.kind == "save_copy":
                        follow_ups.append(time.perf_counter() - start)
                    return receipt

                p.push = timed_push
                await Dispatcher(db).flush(h.name, p)
                await p.close()

        asyncio.run(run())
    finally:
        send.smtp_deliver, Dispatcher._sent = real_deliver, real_sent
        stop_smtp(smtp)
        dv.stop()
        shutil.rmtree(dv.dir, ignore_errors=True)
    ms = sorted(w * 1000 for w in windows)
    fu = sorted(f * 1000 for f in follow_ups)
    print(f"smtp window: {len(ms)} replies; DATA accepted -> delivery committed: median {statistics.median(ms):.2f} ms, "
          f"p95 {ms[int(len(ms) * 0.95) - 1]:.2f} ms, max {ms[-1]:.2f} ms")
    print(f"smtp follow-up (QUIT + copy in Sent), now outside the window: median {statistics.median(fu):.2f} ms, "
          f"p95 {fu[int(len(fu) * 0.95) - 1]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=2000)
    parser.add_argument("--mail", type=int, default=40)
    args = parser.parse_args()
    bench_claims(args.replies)
    bench_smtp_window(args.mail)


if __name__ == "__main__":
    main()
