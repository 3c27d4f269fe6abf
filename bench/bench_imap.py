"""Benchmark: first full sync of a 10,000-message mailbox from a real dovecot into a real cache.

    .venv/bin/python bench/bench_imap.py [--messages 10000] [--page 250]

Starts a private dovecot on 127.0.0.1 (like the test fixture; needs
tests/support/servers/install_mail.sh), APPENDs realistic support mail (conversations of
1-6 messages, customer replies with threading headers, some HTML, some
attachments, a few charsets), then syncs it with the imap adapter into a fresh
cache (``console.cache.connect`` + ``apply_batch``, FTS triggers on) and prints:
messages/second for the whole first sync, and the time until the first 50
conversations are in the cache. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.cache import connect  # noqa: E402
from console.cache.ingest import apply_batch, ensure_account  # noqa: E402
from providers.base import AccountConfig  # noqa: E402
from providers.imap import ImapProvider  # noqa: E402
from tests.support.servers.mail import PASSWORD, start_dovecot  # noqa: E402

WORDS = ("order parcel refund delivery invoice broken lamp colour size exchange account password login "
         "charge card address tracking late damaged missing thanks please help urgent week today store "
         "warranty return label box courier shipping discount code subscription cancel renew").split()
FIRST = "Anna Ben Carla Deniz Emil Fatima Georg Hana Ivan Julia Kofi Lena Mateo Nora Omar Pia".split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_mailbox(n: int, agent: str, seed: int = 7) -> list[tuple[bytes, datetime]]:
    """``n`` messages in conversations, oldest first, with their arrival times."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    out: list[tuple[bytes, datetime]] = []
    conv = 0
    while len(out) < n:
        conv += 1
        who = f"{rng.choice(FIRST)} {rng.choice(FIRST)}son"
        addr = f"customer{conv % 2500}@example.org"
        subject = f"{rng.choice(['Question about', 'Problem with', 'Where is my', 'Refund for'])} order {10000 + conv}"
        start = now - timedelta(days=rng.uniform(0, 60))
        ids: list[str] = []
        for i in range(rng.choice([1, 1, 2, 2, 3, 4, 6])):
            if len(out) >= n:
                break
            when = start + timedelta(hours=i * rng.uniform(1, 20))
            if when > now:
                when = now - timedelta(minutes=rng.uniform(1, 600))
            mid = f"bench-{conv}-{i}@example.org"
            inbound = i % 2 == 0
            sender = f"{who} <{addr}>" if inbound else f"Support <{agent}>"
            to = agent if inbound else f"{who} <{addr}>"
            head = [f"From: {sender}", f"To: {to}", f"Subject: {'Re: ' if i else ''}{subject}",
                    f"Message-ID: <{mid}>", f"Date: {format_datetime(when)}", "MIME-Version: 1.0"]
            if ids:
                head += [f"In-Reply-To: <{ids[-1]}>", "References: " + " ".join(f"<{x}>" for x in ids)]
            body = "\n\n".join(sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(2, 8)))
            kind = rng.random()
            if kind < 0.25:
                html = "<html><body>" + "".join(f"<p>{p}</p>" for p in body.split("\n\n")) + "</body></html>"
                head.append('Content-Type: multipart/alternative; boundary="b1"')
                text = (f"--b1\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
                        f"--b1\nContent-Type: text/html; charset=utf-8\n\n{html}\n--b1--\n")
            elif kind < 0.32:
                blob = base64.encodebytes(rng.randbytes(rng.randint(2000, 30000))).decode()
                head.append('Content-Type: multipart/mixed; boundary="m1"')
                text = (f"--m1\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
                        f"--m1\nContent-Type: image/jpeg\nContent-Disposition: attachment; filename=\"photo.jpg\"\n"
                        f"Content-Transfer-Encoding: base64\n\n{blob}--m1--\n")
            else:
                head.append("Content-Type: text/plain; charset=utf-8")
                text = body + "\n"
            raw = ("\r\n".join(head) + "\r\n\r\n" + text.replace("\n", "\r\n")).encode()
            out.append((raw, when))
            ids.append(mid)
    out.sort(key=lambda x: x[1])
    return out


def fill(dv, agent: str, mailbox: list[tuple[bytes, datetime]]) -> None:
    client = dv.imap(agent)
    try:
        for i in range(0, len(mailbox), 500):
            chunk = mailbox[i:i + 500]
            inbox = [{"msg": raw, "flags": ()} for raw, when in chunk if b"From: Support" not in raw[:300]]
            sent = [{"msg": raw, "flags": (b"\\Seen",)} for raw, when in chunk if b"From: Support" in raw[:300]]
            if inbox:
                client.multiappend("INBOX", inbox)
            if sent:
                client.multiappend("Sent", sent)
    finally:
        client.logout()


async def first_sync(dv, agent: str, cache: Path, page: int) -> dict:
    db = connect(cache)
    account_id = ensure_account(db, "bench", "imap", "email")
    p = ImapProvider(AccountConfig(name="bench", provider="imap", secret=lambda: PASSWORD, window_days=90, options={
        "host": "127.0.0.1", "port": dv.imap_port, "security": "none", "username": agent,
        "from": f"Support <{agent}>"}))
    p.page_size = page
    figures: dict = {"pages": 0, "pull_s": 0.0, "ingest_s": 0.0, "first50_s": None, "max_cursor_kb": 0}
    start = time.perf_counter()
    await p.open(read_only=True)
    cursor = None
    messages = 0
    while True:
        t0 = time.perf_counter()
        batch = await p.pull(cursor)
        t1 = time.perf_counter()
        apply_batch(db, account_id, batch)
        t2 = time.perf_counter()
        figures["pull_s"] += t1 - t0
        figures["ingest_s"] += t2 - t1
        figures["pages"] += 1
        figures["max_cursor_kb"] = max(figures["max_cursor_kb"], len(batch.cursor or "") // 1024)
        messages += len(batch.messages)
        if figures["first50_s"] is None and db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] >= 50:
            figures["first50_s"] = time.perf_counter() - start
        cursor = batch.cursor
        if not batch.more:
            break
    figures["total_s"] = time.perf_counter() - start
    figures["messages"] = messages
    figures["threads"] = db.execute("SELECT COUNT(*) FROM threads").fetchone()[0]
    figures["cached_messages"] = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    await p.close()
    db.close()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--page", type=int, default=ImapProvider.page_size, help="first page; later ones are bigger")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sb-bench-imap-"))
    dv = start_dovecot(work / "dovecot")
    try:
        agent = dv.add_user("bench")
        t = time.perf_counter()
        mailbox = make_mailbox(args.messages, agent)
        fill(dv, agent, mailbox)
        print(f"mailbox: {len(mailbox)} messages appended in {time.perf_counter() - t:.1f} s "
              f"({sum(len(r) for r, _ in mailbox) / 1e6:.1f} MB)")
        f = asyncio.run(first_sync(dv, agent, work / "cache.sqlite3", args.page))
        rate = f["messages"] / f["total_s"]
        print(f"first full sync: {f['messages']} messages, {f['threads']} conversations, {f['pages']} pages "
              f"(first {args.page}, then growing) in {f['total_s']:.2f} s = {rate:,.0f} messages/s into the cache (FTS included)")
        print(f"  of which IMAP fetch+parse {f['pull_s']:.2f} s, cache ingest {f['ingest_s']:.2f} s; "
              f"largest cursor {f['max_cursor_kb']} KB")
        print(f"first 50 conversations in the cache after {f['first50_s']:.3f} s (from open)")
    finally:
        dv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
