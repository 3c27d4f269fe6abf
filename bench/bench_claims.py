"""Benchmark: what a claim and the send-time "anything newer?" check cost on a real mailbox.

    .venv/bin/python bench/bench_claims.py [--messages 5000] [--samples 50]

Starts a private dovecot on 127.0.0.1 (like the test fixture), writes the same realistic
support mail as bench_imap.py into its Maildir with each message's arrival time (60 days
of mail), syncs it once with the imap adapter (state in memory), then
for ``--samples`` conversations picked at random times: one claim (``push`` of a
``claim`` action: FETCH, conditional STORE, keyword on the other messages, read back) and
one ``newer_activity`` for a draft begun 10 minutes ago, and one for a draft begun a day
ago (a SEARCH, and the headers of what arrived since, per folder read). Prints the median
and p95 of each, and what one round trip to that dovecot costs (NOOP) to compare.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_imap import make_mailbox  # noqa: E402
from providers.base import AccountConfig, PushAction  # noqa: E402
from providers.imap import ImapProvider  # noqa: E402
from tests.support.servers.mail import PASSWORD, start_dovecot  # noqa: E402


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


async def measure(dv, agent: str, samples: int, arrived_last_day: int) -> None:
    p = ImapProvider(AccountConfig(name="bench", provider="imap", secret=lambda: PASSWORD, window_days=90, options={
        "host": "127.0.0.1", "port": dv.imap_port, "security": "none", "username": agent,
        "from": f"Support <{agent}>"}))
    await p.open(read_only=False)
    try:
        cursor, threads = None, set()
        while True:
            batch = await p.pull(cursor)
            threads |= {m.thread_remote_id for m in batch.messages}
            cursor = batch.cursor
            if not batch.more:
                break
        picked = random.Random(3).sample(sorted(threads), min(samples, len(threads)))
        claim_s, newer_s, day_s, noop_s = [], [], [], []
        now = datetime.now(timezone.utc)
        for n, thread in enumerate(picked):
            action = PushAction(key=uuid.uuid4().hex, kind="claim", thread_remote_id=thread,
                                args={"agent": f"Agent {n % 7}", "expect": None})
            t = time.perf_counter()
            await p.push(action)
            claim_s.append(time.perf_counter() - t)
            reply = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=thread, text="x")
            for since, into in ((now - timedelta(minutes=10), newer_s), (now - timedelta(days=1), day_s)):
                t = time.perf_counter()
                await p.newer_activity(reply, since, frozenset({reply.key}))
                into.append(time.perf_counter() - t)
            t = time.perf_counter()
            await p._call(lambda: p._client.noop())
            noop_s.append(time.perf_counter() - t)
        print(f"{len(picked)} conversations of {len(threads)}:")
        print(f"  claim (FETCH, conditional STORE, spread, read back): {ms(claim_s)}")
        print(f"  anything newer? draft begun 10 min ago (inbox + Sent): {ms(newer_s)}")
        print(f"  anything newer? draft begun a day ago ({arrived_last_day} messages arrived since): {ms(day_s)}")
        print(f"  one IMAP round trip (NOOP) for scale: {ms(noop_s)}")
    finally:
        await p.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=5_000)
    ap.add_argument("--samples", type=int, default=50)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sb-bench-claims-"))
    dv = start_dovecot(work / "dovecot")
    try:
        agent = dv.add_user("bench")
        mailbox = make_mailbox(args.messages, agent)
        dv.write_maildir(agent, ((("Sent" if b"From: Support" in raw[:300] else "INBOX"), raw, when,
                                  b"From: Support" in raw[:300]) for raw, when in mailbox))
        day = datetime.now(timezone.utc) - timedelta(days=1)
        last_day = sum(1 for _, when in mailbox if when >= day)
        print(f"mailbox: {len(mailbox)} messages over 60 days, {last_day} in the last day")
        asyncio.run(measure(dv, agent, args.samples, last_day))
    finally:
        dv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
