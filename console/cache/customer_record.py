"""What the company's own systems know about one customer, read for the customer pane and export.

Orders come from a shop database (or the demo shop), payments, refunds, disputes and
subscriptions from a payments system. Every row says which account it came from, and
:attr:`CustomerRecord.synced` says how fresh each account's data is (the cache keeps
it readable offline). Payments and subscriptions are reached through the identity
they were made with, so they follow identity links.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

LAST_ORDERS = 5
LAST_PAYMENTS = 5

_PAYMENTS = """
    SELECT p.id, a.name AS source, p.remote_id, p.intent, p.amount, p.currency, p.status, p.description,
           p.order_number, p.created_at,
           MAX(p.refunded, COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.account_id = p.account_id
                AND r.payment_remote_id = p.remote_id AND r.status IN ('succeeded', 'pending')), 0)) AS refunded,
           (SELECT COUNT(*) FROM disputes d WHERE d.account_id = p.account_id
                AND d.payment_remote_id = p.remote_id) AS disputes
    FROM payments p JOIN identities i ON i.id = p.identity_id JOIN accounts a ON a.id = p.account_id
"""


@dataclass
class CustomerRecord:
    customer_id: int
    lifetime_value: dict[str, float] = field(default_factory=dict)  # currency -> amount
    lifetime_source: str = ""  # "orders" or "payments": what the value was summed from
    order_count: int = 0
    orders: list[dict] = field(default_factory=list)  # the last few, newest first
    payments: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    disputes: list[dict] = field(default_factory=list)
    subscriptions: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)  # {source, note} from the company's systems
    synced: dict[str, float | None] = field(default_factory=dict)  # account -> last successful sync

    @property
    def empty(self) -> bool:
        return not (self.order_count or self.payments or self.subscriptions or self.notes)


def customer_record(db: sqlite3.Connection, customer_id: int, *, orders: int = LAST_ORDERS,
                    payments: int = LAST_PAYMENTS) -> CustomerRecord:
    rec = CustomerRecord(customer_id)
    rec.order_count = db.execute("SELECT COUNT(*) FROM orders WHERE customer_id=?", (customer_id,)).fetchone()[0]
    rec.orders = orders_of(db, customer_id, orders)
    rec.payments = payments_of(db, customer_id, payments)
    rec.refunds = [dict(r) for r in db.execute(
        """SELECT r.id, a.name AS source, r.remote_id, r.payment_remote_id, r.amount, r.currency, r.status, r.reason,
                  r.created_at
           FROM refunds r JOIN payments p ON p.account_id = r.account_id AND p.remote_id = r.payment_remote_id
           JOIN identities i ON i.id = p.identity_id JOIN accounts a ON a.id = r.account_id
           WHERE i.customer_id=? ORDER BY r.created_at DESC, r.id DESC""", (customer_id,))]
    rec.disputes = [dict(r) for r in db.execute(
        """SELECT d.id, a.name AS source, d.remote_id, d.payment_remote_id, d.amount, d.currency, d.status, d.reason,
                  d.created_at
           FROM disputes d JOIN payments p ON p.account_id = d.account_id AND p.remote_id = d.payment_remote_id
           JOIN identities i ON i.id = p.identity_id JOIN accounts a ON a.id = d.account_id
           WHERE i.customer_id=? ORDER BY d.created_at DESC, d.id DESC""", (customer_id,))]
    rec.subscriptions = [dict(r) for r in db.execute(
        """SELECT s.id, a.name AS source, s.remote_id, s.plan, s.status, s.amount, s.currency, s.interval,
                  s.current_period_end, s.created_at
           FROM subscriptions s JOIN identities i ON i.id = s.identity_id JOIN accounts a ON a.id = s.account_id
           WHERE i.customer_id=? ORDER BY s.status != 'active', s.created_at DESC""", (customer_id,))]
    rec.notes = [dict(r) for r in db.execute(
        """SELECT a.name AS source, n.note FROM system_notes n JOIN identities i ON i.id = n.identity_id
           JOIN accounts a ON a.id = n.account_id WHERE i.customer_id=? ORDER BY a.name""", (customer_id,))]
    rec.lifetime_value, rec.lifetime_source = _lifetime_value(db, customer_id)
    sources = {r["source"] for r in (*rec.orders, *rec.payments, *rec.subscriptions, *rec.notes)}
    rec.synced = {name: at for name, at in db.execute(
        f"SELECT name, last_sync_at FROM accounts WHERE name IN ({','.join('?' * len(sources))}) ORDER BY name",
        sorted(sources))} if sources else {}
    return rec


def orders_of(db: sqlite3.Connection, customer_id: int, limit: int = -1) -> list[dict]:
    """The customer's orders, newest first (``limit`` -1: all of them)."""
    return [dict(r) for r in db.execute(
        """SELECT o.id, a.name AS source, o.number, o.placed_at, o.total, o.currency, o.status, o.tracking_url
           FROM orders o JOIN accounts a ON a.id = o.account_id
           WHERE o.customer_id=? ORDER BY o.placed_at DESC, o.id DESC LIMIT ?""", (customer_id, limit))]


def payments_of(db: sqlite3.Connection, customer_id: int, limit: int = -1) -> list[dict]:
    """The customer's payments with what was refunded and how many disputes each has, newest first."""
    return [dict(r) for r in db.execute(
        _PAYMENTS + " WHERE i.customer_id=? ORDER BY p.created_at DESC, p.id DESC LIMIT ?", (customer_id, limit))]


def _lifetime_value(db: sqlite3.Connection, customer_id: int) -> tuple[dict[str, float], str]:
    """Spend per currency: the shop's orders when there are any (cancelled ones left out),
    else what the payments system took, net of refunds. Never both, which would count twice."""
    rows = db.execute(
        """SELECT currency, SUM(total) FROM orders WHERE customer_id=?
           AND lower(status) NOT IN ('cancelled', 'canceled', 'refunded', 'failed') GROUP BY currency""",
        (customer_id,)).fetchall()
    if rows:
        return {c: round(v, 2) for c, v in rows}, "orders"
    rows = db.execute(
        f"SELECT currency, SUM(amount - refunded) FROM ({_PAYMENTS} WHERE i.customer_id=? AND p.status='succeeded') "
        "GROUP BY currency", (customer_id,)).fetchall()
    if rows:
        return {c: round(v, 2) for c, v in rows}, "payments"
    return {}, ""


def find_charge(db: sqlite3.Connection, customer_id: int, charge: str) -> sqlite3.Row | None:
    """One of this customer's payments by its id (ch_…), its payment intent (pi_…) or the
    shop order it paid for (NW-104801, when the payment names it)."""
    return db.execute(_PAYMENTS + " WHERE i.customer_id=? AND ? IN (p.remote_id, p.intent, p.order_number) "
                      "ORDER BY p.remote_id != ?, p.id LIMIT 1", (customer_id, charge, charge)).fetchone()


# SQL for the search filters ``order:NUMBER`` and ``charge:ID``: the customers they name.
REFERENCE_CUSTOMERS = {
    "order": "SELECT customer_id FROM orders WHERE number = ? COLLATE NOCASE",
    "charge": """SELECT i.customer_id FROM (SELECT ? AS ref) r
                 JOIN payments p ON p.remote_id = r.ref OR p.intent = r.ref
                 JOIN identities i ON i.id = p.identity_id""",
}


def pending_refund(db: sqlite3.Connection, thread_id: int) -> dict | None:
    """The refund a macro offered for this conversation's current draft: charge, amount, currency, reason.

    It belongs to the draft it was offered in: once that draft is sent or thrown away
    (a newer draft started after it), it is no longer pending."""
    row = db.execute(
        """SELECT r.charge, r.amount, r.reason, t.customer_id FROM draft_refunds r
           JOIN drafts d ON d.thread_id = r.thread_id AND d.started_at <= r.created_at
           JOIN threads t ON t.id = r.thread_id WHERE r.thread_id = ?""", (thread_id,)).fetchone()
    pay = find_charge(db, row["customer_id"], row["charge"]) if row is not None else None
    if pay is None:
        return None
    left = round(pay["amount"] - pay["refunded"], 2)
    return {"charge": pay["remote_id"], "amount": left if row["amount"] is None else row["amount"],
            "currency": pay["currency"], "reason": row["reason"], "all": row["amount"] is None}
