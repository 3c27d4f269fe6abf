"""Build a big, realistic cache fast, for benchmarks (first paint, scrolling, search).

    from bench.bigcache import build
    build(tmp / "big.sqlite3", conversations=100_000, messages=1_000_000, seed=1)

    python -m bench.bigcache PATH [--conversations N] [--messages M] [--seed S] [--force]

It goes through the real schema (``console.cache.connect``) and loads with raw
``executemany`` in one transaction. The FTS insert trigger is dropped during the load
and recreated afterwards, and the index is built once with FTS5's ``rebuild`` — the
result is the same as if every row had passed through the trigger, several times
faster. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from itertools import islice
from pathlib import Path

from console.cache import connect
from console.cache.schema import _V1

CHANNELS = (("email", "bench-mail", ""), ("chat", "bench-chat", "WhatsApp"), ("social", "bench-social", "mention"))
CHANNEL_WEIGHTS = (0.5, 0.3, 0.2)
STATUSES = (("open", 0.25), ("pending", 0.15), ("snoozed", 0.05), ("closed", 0.55))
QUEUES = ("", "billing", "shipping", "returns", "vip", "complaints")
AGENTS = (None, None, None, "Sam Rivera", "Priya Natarajan", "Tom Becker")
TAGS = ("[]", "[]", "[]", '["refund"]', '["shipping"]', '["vip"]', '["complaint","refund"]', '["damaged"]')
TONES = ("", "", "neutral", "negative", "positive", "angry")
SLA_HOURS = {"email": 24.0, "chat": 1.0, "social": 4.0}
FIRST = ("Emma", "Liam", "Olivia", "Noah", "Ava", "Lukas", "Léa", "Sofía", "Aarav", "Yuki", "Wei", "Omar", "Kwame",
         "Amelia", "Jonas", "Chloé", "Mateo", "Priya", "Haruto", "Layla", "Ngozi", "Felix", "Inès", "Diego")
LAST = ("Johnson", "Müller", "Dubois", "González", "Sharma", "Tanaka", "Chen", "Haddad", "Mensah", "Taylor",
        "Schmidt", "Lefèvre", "Pérez", "Iyer", "Suzuki", "Wang", "Mansour", "Okafor", "Evans", "Becker")
PRODUCTS = ("wool socks", "running shoes", "shell jacket", "water bottle", "sleeping bag", "tent", "headlamp",
            "backpack", "fleece", "rain trousers", "camping stove", "titanium mug", "trekking poles", "beanie")
SUBJECTS = ("Where is my order {o}?", "Refund for {o}", "Damaged {p}", "Cancel order {o}", "Return the {p}",
            "Charged twice for {o}", "Question about the {p}", "Invoice for {o}", "Can't log in", "Thank you!",
            "Wrong size {p}", "Gift card not working", "Change address for {o}", "THIRD time asking about {o}")
SENTENCES = (
    "Hi, I ordered the {p} on order {o} and it still hasn't arrived.",
    "The tracking page hasn't updated since Tuesday, can you check with the carrier?",
    "Thanks for your patience, your parcel for order {o} is at the regional depot.",
    "I returned the {p} two weeks ago but I still haven't received my refund.",
    "The refund for order {o} was issued today and should show within 5 to 10 days.",
    "This is the third time I'm writing about this, nobody answers.",
    "I'm so sorry the {p} arrived damaged, a replacement ships today at no cost.",
    "Could you send me an invoice with my company name for order {o}?",
    "Please cancel my order {o}, I ordered the wrong size of the {p}.",
    "My bank statement shows two payments for one order.",
    "The password reset email never arrives, I checked the spam folder too.",
    "Just wanted to say thank you, the {p} is perfect.",
    "Is the {p} waterproof and do you ship to Norway?",
    "I've updated the delivery address on order {o}.",
    "Any update on this? Still waiting.",
    "Let me check that for you, one moment please.",
    "Exchanges are free, I've emailed you a prepaid return label.",
    "The {p} stopped working after six months, is it covered by the warranty?",
)
DAY = 86_400.0


def build(path, conversations: int = 100_000, messages: int = 1_000_000, seed: int = 1, *,
          overwrite: bool = False) -> dict:
    """Write a cache of ``conversations`` threads and ``messages`` messages at ``path``.

    Returns figures: rows written and seconds spent loading rows and building FTS.
    Refuses to touch an existing cache unless ``overwrite`` (then the file is replaced).
    """
    path = Path(path)
    if messages < conversations:
        raise ValueError(f"messages ({messages}) must be at least conversations ({conversations})")
    _prepare(path, overwrite)
    rng = random.Random(seed)
    now = time.time()
    t0 = time.perf_counter()
    db = connect(path)
    try:
        db.execute("PRAGMA journal_mode=DELETE")  # a bulk load needs no WAL; WAL again at the end
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-200000")
        db.execute("PRAGMA foreign_keys=OFF")  # consistent by construction; checks only slow the load
        db.execute("BEGIN IMMEDIATE")
        db.execute("DROP TRIGGER messages_ai")
        account_ids = _accounts(db)
        n_customers = max(1, conversations // 4)
        _customers(db, rng, n_customers, now)
        threads = _threads(db, rng, conversations, messages, n_customers, account_ids, now)
        _messages(db, rng, threads, now)
        _orders(db, rng, n_customers, now)
        db.execute(_trigger_sql())
        db.execute("COMMIT")
        t_rows = time.perf_counter() - t0
        t1 = time.perf_counter()
        db.execute("INSERT INTO messages_fts(messages_fts) VALUES('rebuild')")
        t_fts = time.perf_counter() - t1
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()
    return {"conversations": conversations, "messages": messages, "customers": n_customers,
            "load_seconds": t_rows, "fts_seconds": t_fts, "path": str(path)}


def _prepare(path: Path, overwrite: bool) -> None:
    companions = [Path(f"{path}{s}") for s in ("", "-wal", "-shm", "-journal")]
    if path.exists() and path.stat().st_size > 0:
        if not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --force) to replace it")
        for p in companions:
            p.unlink(missing_ok=True)


def _trigger_sql() -> str:
    """The schema's own FTS insert trigger, taken from the migration so the two never drift."""
    start = _V1.index("CREATE TRIGGER messages_ai")
    return _V1[start:_V1.index("END;", start) + len("END;")]


def _accounts(db: sqlite3.Connection) -> dict[str, int]:
    ids = {}
    for channel, name, _ in CHANNELS:
        ids[channel] = db.execute("INSERT INTO accounts(name, provider, channel, cursor) VALUES (?, 'demo', ?, '')",
                                  (name, channel)).lastrowid
    db.execute("INSERT INTO accounts(name, provider, channel) VALUES ('bench-shop', 'demo', 'commerce')")
    return ids


def _name(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"


def _customers(db: sqlite3.Connection, rng: random.Random, n: int, now: float) -> None:
    """Customer ``c`` (1-based) owns identities 3c-2 (email), 3c-1 (chat), 3c (social)."""
    db.executemany("INSERT INTO customers(id, name, created_at) VALUES (?,?,?)",
                   ((c, _name(c), now - 400 * DAY) for c in range(1, n + 1)))

    def identities():
        for c in range(1, n + 1):
            name = _name(c)
            slug = f"{name.split()[0].lower()}.{c}"
            yield (3 * c - 2, "email", f"{slug}@example.com", name, None, 0, "", "", f"{slug}@example.com", None, c)
            yield (3 * c - 1, "chat", f"@whatsapp_1555{c:07d}:example.org", name, None, 0, "", "WhatsApp", None,
                   f"+1555{c:07d}", c)
            followers = int(10 ** rng.uniform(0.5, 5.5))
            yield (3 * c, "social", f"@{slug}@social.example", name, followers, int(followers > 100_000),
                   f"https://social.example/@{slug}", "social.example", None, None, c)

    db.executemany(
        """INSERT INTO identities(id, channel, address, display_name, followers, verified, url, network, email_key,
                                  phone_key, customer_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)""", identities())


def _threads(db, rng, n, total_messages, n_customers, account_ids, now) -> list[tuple]:
    """Insert the threads; return (id, account_id, channel, customer, first_at, last_at, count, order_no) each."""
    counts = _split(rng, total_messages, n)
    out: list[tuple] = []
    status_names = [s for s, _ in STATUSES]
    status_weights = [w for _, w in STATUSES]

    def rows():
        for i in range(1, n + 1):
            channel, _, detail = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            customer = rng.randint(1, n_customers)
            identity = 3 * customer - {"email": 2, "chat": 1, "social": 0}[channel]
            # Threads spread over a year, newer ids newer (as a sync would write them).
            last = now - 365 * DAY * (1 - i / n) - rng.uniform(0, DAY)
            count = counts[i - 1]
            span = min(last - (now - 400 * DAY), count * rng.uniform(300, 20_000))
            first = last - span
            status = rng.choices(status_names, status_weights)[0] if last > now - 60 * DAY else (
                "closed" if rng.random() < 0.95 else "pending")
            order_no = f"NW-{200000 + i}"
            subject = rng.choice(SUBJECTS).format(o=order_no, p=rng.choice(PRODUCTS))
            due = last + SLA_HOURS[channel] * 3600 if status in ("open", "pending") else None
            unread = int(status == "open" and rng.random() < 0.6)
            snooze = now + rng.uniform(3600, 4 * DAY) if status == "snoozed" else None
            out.append((i, account_ids[channel], channel, customer, first, last, count, order_no))
            yield (i, account_ids[channel], f"bench-{i}", channel, detail, subject,
                   f"{subject} — {rng.choice(SENTENCES).format(o=order_no, p=rng.choice(PRODUCTS))}"[:160],
                   status, rng.choice((0, 1, 1, 1, 2, 3)), rng.choice(QUEUES), rng.choice(AGENTS), rng.choice(TAGS),
                   rng.choice(TONES), due, due if due is not None else 9e15, first + 600 if status != "open" else None,
                   snooze, last, last, unread, customer, identity, first)

    db.executemany(
        """INSERT INTO threads(id, account_id, remote_id, channel, channel_detail, subject, preview, status, priority,
                               queue, assignee, tags, tone, sla_due_at, sort_due, first_response_at, snoozed_until,
                               last_message_at, last_inbound_at, unread, customer_id, identity_id, created_at)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows())
    return out


def _split(rng: random.Random, total: int, n: int) -> list[int]:
    """``total`` messages over ``n`` threads, at least one each, a long tail of big threads."""
    counts = [1] * n
    extra = total - n
    weights = [min(rng.paretovariate(1.6), 40.0) for _ in range(n)]  # long tail, capped (~150 max)
    scale = extra / sum(weights)
    given = 0
    for i, w in enumerate(weights):
        k = int(w * scale)
        counts[i] += k
        given += k
    for i in rng.sample(range(n), min(n, extra - given)) if extra - given > 0 else ():
        counts[i] += 1
    return counts


def _messages(db, rng: random.Random, threads: list[tuple], now: float) -> None:
    # A pool of varied texts, then each message picks one and names its thread's order.
    pool = [" ".join(rng.choice(SENTENCES).format(o="{o}", p=rng.choice(PRODUCTS))
                     for _ in range(rng.randint(1, 4))) for _ in range(4000)]

    def rows():
        mid = 0
        pick = rng.randrange
        for tid, account_id, channel, customer, first, last, count, order_no in threads:
            step = (last - first) / count if count > 1 else 0
            cust_name = _name(customer)
            identity = 3 * customer - {"email": 2, "chat": 1, "social": 0}[channel]
            for k in range(count):
                mid += 1
                inbound = k % 2 == 0 or k == count - 1
                text = pool[pick(4000)].replace("{o}", order_no)
                yield (mid, tid, account_id, f"m{mid}", "inbound" if inbound else "outbound",
                       identity if inbound else None, cust_name if inbound else AGENTS[3 + k % 3],
                       first + k * step, text)

    for chunk in _chunks(rows(), 200_000):
        db.executemany(
            """INSERT INTO messages(id, thread_id, account_id, remote_id, direction, author_identity_id, author,
                                    sent_at, text) VALUES (?,?,?,?,?,?,?,?,?)""", chunk)


def _orders(db, rng: random.Random, n_customers: int, now: float) -> None:
    shop = db.execute("SELECT id FROM accounts WHERE name='bench-shop'").fetchone()[0]
    db.executemany(
        """INSERT INTO orders(account_id, remote_id, customer_id, identity_id, number, placed_at, total, currency,
                              status, items) VALUES (?,?,?,?,?,?,?,?,?,?)""",
        ((shop, f"o{c}-{k}", c, 3 * c - 2, f"NW-{c}{k:02d}", now - rng.uniform(0, 365) * DAY,
          round(rng.uniform(15, 600), 2), "USD", rng.choice(("delivered", "shipped", "refunded", "processing")),
          json.dumps([f"1 × {rng.choice(PRODUCTS)}"]))
         for c in range(1, n_customers + 1) for k in range(rng.randint(1, 3))))


def _chunks(iterable, size: int):
    it = iter(iterable)
    while chunk := list(islice(it, size)):
        yield chunk


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bigcache", description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="cache file to write")
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="replace an existing file")
    a = ap.parse_args(argv)
    try:
        stats = build(a.path, a.conversations, a.messages, a.seed, overwrite=a.force)
    except (FileExistsError, ValueError) as exc:
        print(f"bigcache: {exc}", file=sys.stderr)
        return 2
    size = sum(Path(f"{a.path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{a.path}{s}").exists())
    print(f"wrote {stats['conversations']:,} conversations, {stats['messages']:,} messages to {a.path} "
          f"({size / 1e6:,.0f} MB): rows {stats['load_seconds']:.1f} s, FTS {stats['fts_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
