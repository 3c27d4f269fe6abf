"""`switchboard export`: conversations as JSON Lines, one conversation per line.

The format is documented in the README ("Export format"); keep them in step.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone

from console.cache.customer_record import orders_of, payments_of
from providers.records import PRIORITIES



def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def conversations(db: sqlite3.Connection, *, since: float | None = None, channel: str | None = None) -> Iterator[dict]:
    """Yield one dict per conversation, oldest activity first, streaming (constant memory)."""
    where, params = ["1"], []
    if since is not None:
        where.append("t.last_message_at >= ?")
        params.append(since)
    if channel:
        where.append("t.channel = ?")
        params.append(channel)
    rows = db.execute(
        f"""SELECT t.*, a.name AS account FROM threads t JOIN accounts a ON a.id = t.account_id
            WHERE {' AND '.join(where)} ORDER BY t.last_message_at, t.id""", params)
    customers: dict[int, dict] = {}
    for t in rows:
        cid = t["customer_id"]
        if cid not in customers:
            customers[cid] = _customer(db, cid)
            if len(customers) > 5000:
                customers.clear()
                customers[cid] = _customer(db, cid)
        yield {
            "id": t["id"],
            "channel": t["channel"],
            "channel_detail": t["channel_detail"],
            "account": t["account"],
            "subject": t["subject"],
            "status": t["status"],
            "priority": PRIORITIES.get(t["priority"], str(t["priority"])),
            "queue": t["queue"] or None,
            "assignee": t["assignee"],
            "tags": json.loads(t["tags"] or "[]"),
            "tone": t["tone"] or None,
            "sla_due_at": iso(t["sla_due_at"]),
            "customer": customers[cid],
            "messages": [
                {"id": m["id"], "direction": m["direction"], "author": m["author"], "sent_at": iso(m["sent_at"]),
                 "text": m["text"]}
                for m in db.execute(
                    "SELECT id, direction, author, sent_at, text FROM messages WHERE thread_id=? ORDER BY sent_at, id",
                    (t["id"],))
            ],
        }


def _customer(db: sqlite3.Connection, customer_id: int | None) -> dict | None:
    if customer_id is None:
        return None
    c = db.execute("SELECT id, name FROM customers WHERE id=?", (customer_id,)).fetchone()
    if c is None:
        return None
    return {
        "id": c["id"],
        "name": c["name"],
        "identities": [
            {"channel": i["channel"], "address": i["address"], "followers": i["followers"]}
            for i in db.execute("SELECT channel, address, followers FROM identities WHERE customer_id=? ORDER BY id",
                                (customer_id,))
        ],
        "orders": [
            {"number": o["number"], "date": iso(o["placed_at"]), "amount": o["total"], "currency": o["currency"],
             "status": o["status"], "tracking_url": o["tracking_url"] or None, "source": o["source"]}
            for o in orders_of(db, customer_id)
        ],
        "payments": [
            {"id": p["remote_id"], "date": iso(p["created_at"]), "amount": p["amount"], "currency": p["currency"],
             "status": p["status"], "refunded": round(p["refunded"], 2), "disputed": bool(p["disputes"]),
             "source": p["source"]}
            for p in payments_of(db, customer_id)
        ],
    }


def write_jsonl(db: sqlite3.Connection, out, **filters) -> int:
    n = 0
    for conv in conversations(db, **filters):
        out.write(json.dumps(conv, ensure_ascii=False) + "\n")
        n += 1
    return n
