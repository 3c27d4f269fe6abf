"""Commerce benchmark: ingest of shop and payment records, the customer pane's record, order:/charge: search.

    python -m bench.bench_commerce               # 20,000 customers: 100k orders, 60k payments, 20k refunds
    python -m bench.bench_commerce --customers 2000   # a quick run

Everything goes through the real path: ``apply_batch`` (identity rules included),
``customer_record``, ``inbox_page`` with a reference filter, the export's customer.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.bench_cache import measure
from console.cache import connect
from console.cache.customer_record import customer_record
from console.cache.ingest import apply_batch, ensure_account
from console.cache.queries import ALL_STATES, Filter, inbox_page
from console.export import _customer
from providers.records import Batch, Channel, Direction, Identity, Message, Order, Payment, Refund, Thread

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)


def records(n_customers: int, seed: int = 1):
    rng = random.Random(seed)
    mail, shop, pay = Batch(cursor="m"), Batch(cursor="s"), Batch(cursor="p")
    for c in range(n_customers):
        who = Identity(Channel.EMAIL, f"customer{c}@example.com", display_name=f"Customer {c}")
        at = T0 + timedelta(minutes=c)
        mail.threads.append(Thread(f"t{c}", Channel.EMAIL, f"Order question {c}", who, at))
        mail.messages.append(Message(f"m{c}", f"t{c}", Direction.INBOUND, who, at, "Where is my order?"))
        for k in range(5):
            shop.orders.append(Order(f"o{c}-{k}", f"NW-{c * 5 + k}", who, at - timedelta(days=k * 20),
                                     round(rng.uniform(5, 300), 2), "EUR", rng.choice(("paid", "shipped", "delivered"))))
        for k in range(3):
            ch = f"ch_{c}_{k}"
            pay.payments.append(Payment(ch, who, at - timedelta(days=k * 20), round(rng.uniform(5, 300), 2), "EUR",
                                        "succeeded"))
            if k == 0:
                pay.refunds.append(Refund(f"re_{c}", ch, at, 5.0, "EUR", "succeeded"))
    return mail, shop, pay


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "commerce.sqlite3")
        mail, shop, pay = records(args.customers)
        apply_batch(db, ensure_account(db, "mail", "imap", "email"), mail)
        for name, batch in (("shop-db", shop), ("payments", pay)):
            account_id = ensure_account(db, name, "sql" if name == "shop-db" else "stripe", "commerce")
            t = time.perf_counter()
            apply_batch(db, account_id, batch)
            s = time.perf_counter() - t
            print(f"ingest {name}: {len(batch):,} records in {s:.2f} s ({len(batch) / s:,.0f} records/s)")
        rng = random.Random(2)
        cids = [r[0] for r in db.execute("SELECT id FROM customers")]
        print(f"cache: {len(cids):,} customers, "
              f"{db.execute('SELECT COUNT(*) FROM orders').fetchone()[0]:,} orders, "
              f"{db.execute('SELECT COUNT(*) FROM payments').fetchone()[0]:,} payments, "
              f"{db.execute('SELECT COUNT(*) FROM refunds').fetchone()[0]:,} refunds")
        n = args.customers
        cases = {
            "customer_record (pane)": lambda: customer_record(db, rng.choice(cids)),
            "export customer": lambda: _customer(db, rng.choice(cids)),
            "search order:NW-…": lambda: inbox_page(db, Filter(statuses=ALL_STATES, order="recent", reference=(
                "order", f"NW-{rng.randrange(n * 5)}")), limit=50),
            "search charge:ch_…": lambda: inbox_page(db, Filter(statuses=ALL_STATES, order="recent", reference=(
                "charge", f"ch_{rng.randrange(n)}_1")), limit=50),
        }
        for label, fn in cases.items():
            first, p50, p95 = measure(fn, args.repeats)
            print(f"{label:24} first {first:7.2f} ms   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
        db.close()


if __name__ == "__main__":
    main()
