"""The demo shop's payments side: a card payment per order, refunds, a few disputes, a membership.

Derived from the world's orders (same seed, same payments), pulled by the demo
``commerce`` account beside its customers and orders, and refunded through the
same action, outbox and push as a real payments account: a refund push is
recorded once per key in the demo's journal and comes back on the next pull as a
refund carrying that key, which confirms it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from providers.base import Batch, Dispute, Payment, PermanentError, PushAction, Receipt, Refund, Subscription

MEMBERSHIP = ("Northwind Plus", 4.99)


def charge_id(order_number: str) -> str:
    return f"ch_demo_{order_number.replace('NW-', '')}"


def add_payments(batch: Batch, world, addresses: set[str]) -> None:
    """Payments, refunds, disputes and memberships of the customers in ``addresses``."""
    for n, order in enumerate(world.orders):
        if order.customer.address not in addresses or order.status == "cancelled":
            continue
        ch = charge_id(order.number)
        paid_at = order.placed_at + timedelta(minutes=1)
        batch.payments.append(Payment(remote_id=ch, customer=order.customer, created_at=paid_at, amount=order.total,
                                      currency=order.currency, status="succeeded", order_number=order.number,
                                      description=f"Order {order.number}"))
        back = order.total if order.status == "refunded" else \
            round(order.total * 0.2, 2) if order.status == "partially refunded" else 0.0
        if back:
            batch.refunds.append(Refund(remote_id=f"re_demo_{order.number[3:]}", payment_remote_id=ch,
                                        created_at=paid_at + timedelta(days=3), amount=back,
                                        currency=order.currency, status="succeeded", reason="requested_by_customer"))
        if n % 97 == 13:
            batch.disputes.append(Dispute(remote_id=f"dp_demo_{order.number[3:]}", payment_remote_id=ch,
                                          created_at=paid_at + timedelta(days=9), amount=order.total,
                                          currency=order.currency, status="needs_response", reason="fraudulent"))
    for c in world.customers:
        email = c.identities[0]
        if "plus-member" in c.tags and email.address in addresses:
            first = min((o.placed_at for o in world.orders if o.customer.address == email.address),
                        default=world.now - timedelta(days=60))
            batch.subscriptions.append(Subscription(
                remote_id=f"sub_demo_{c.remote_id[4:]}", customer=email, created_at=first, status="active",
                plan=MEMBERSHIP[0], amount=MEMBERSHIP[1], currency="USD", interval="month",
                current_period_end=world.now + timedelta(days=12)))


def refund_event(action: PushAction, now: datetime) -> dict:
    """The journal record of a refund push (the journal keeps one per key)."""
    charge = str(action.args.get("charge") or "")
    if not charge.startswith("ch_demo_"):
        raise PermanentError(f"the demo shop has no payment {charge!r}", fix="pick one from the customer pane")
    return {"e": "push", "key": action.key, "kind": "refund", "thread": action.thread_remote_id, "text": "",
            "args": {k: action.args.get(k) for k in ("charge", "amount", "currency", "reason")},
            "at": now.isoformat(), "msg_id": f"re_demo_{action.key[:12]}"}


def receipt(recorded: dict, fresh: bool) -> Receipt:
    return Receipt(remote_id=recorded["msg_id"], sent_at=datetime.fromisoformat(recorded["at"]),
                   detail=f"refund {recorded['msg_id']}" if fresh else "already refunded with this key",
                   duplicate=not fresh)


def refund_record(ev: dict) -> Refund:
    args = ev.get("args") or {}
    return Refund(remote_id=ev["msg_id"], payment_remote_id=args.get("charge", ""),
                  created_at=datetime.fromisoformat(ev["at"]), amount=float(args.get("amount") or 0),
                  currency=str(args.get("currency") or ""), status="succeeded", reason=str(args.get("reason") or ""),
                  action_key=ev["key"])
