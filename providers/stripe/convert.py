"""Stripe objects (JSON) -> neutral records. Amounts come in the currency's minor unit."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from providers.base import Channel, Customer, Dispute, Identity, Payment, Refund, Subscription

# Currencies Stripe counts in whole units (no cents).
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
                          "xaf", "xof", "xpf"})
KEY_FIELD = "switchboard_key"  # refund metadata: the outbox key of a refund made from the console
REASON_FIELD = "switchboard_reason"


def major(amount: int | None, currency: str) -> float:
    if amount is None:
        return 0.0
    return float(amount) if currency.lower() in ZERO_DECIMAL else float(Decimal(int(amount)) / 100)


def minor(amount: float, currency: str) -> int:
    value = Decimal(str(amount))
    return int(value if currency.lower() in ZERO_DECIMAL else (value * 100).quantize(Decimal(1)))


def when(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else None


def _id(value) -> str:
    """A field that is an id, or an expanded object with one."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def identity_of(cus: dict) -> Identity:
    """The person behind a Stripe customer: their email address when there is one (that is what
    links them to conversations), else the customer id on the commerce channel."""
    email = (cus.get("email") or "").strip()
    name = cus.get("name") or cus.get("description") or ""
    phone = cus.get("phone") or ""
    if email:
        return Identity(Channel.EMAIL, email, display_name=name, phone=phone)
    return Identity(Channel.COMMERCE, cus["id"], display_name=name, phone=phone, network="Stripe")


def customer(cus: dict) -> Customer:
    ident = identity_of(cus)
    return Customer(remote_id=cus["id"], name=cus.get("name") or "", identities=[ident],
                    note=(cus.get("metadata") or {}).get("note", ""))


def payment(ch: dict, who: Identity) -> Payment:
    cur = ch.get("currency") or ""
    meta = ch.get("metadata") or {}
    status = ch.get("status") or ""
    if status == "paid":  # very old API versions
        status = "succeeded"
    return Payment(remote_id=ch["id"], customer=who, created_at=when(ch.get("created")),
                   amount=major(ch.get("amount"), cur), currency=cur.upper(), status=status,
                   refunded=major(ch.get("amount_refunded"), cur), description=ch.get("description") or "",
                   order_number=str(meta.get("order_number") or meta.get("order_id") or ""),
                   intent=_id(ch.get("payment_intent")))


def refund(re: dict) -> Refund:
    cur = re.get("currency") or ""
    meta = re.get("metadata") or {}
    return Refund(remote_id=re["id"], payment_remote_id=_id(re.get("charge")), created_at=when(re.get("created")),
                  amount=major(re.get("amount"), cur), currency=cur.upper(), status=re.get("status") or "",
                  reason=str(meta.get(REASON_FIELD) or re.get("reason") or ""),
                  action_key=meta.get(KEY_FIELD) or None)


def dispute(dp: dict) -> Dispute:
    cur = dp.get("currency") or ""
    return Dispute(remote_id=dp["id"], payment_remote_id=_id(dp.get("charge")), created_at=when(dp.get("created")),
                   amount=major(dp.get("amount"), cur), currency=cur.upper(), status=dp.get("status") or "",
                   reason=dp.get("reason") or "")


def subscription(sub: dict, who: Identity) -> Subscription:
    items = ((sub.get("items") or {}).get("data") or [{}])
    price = items[0].get("price") or items[0].get("plan") or sub.get("plan") or {}
    cur = price.get("currency") or ""
    recurring = price.get("recurring") or {}
    plan = price.get("nickname") or _id(price.get("product")) or price.get("id") or ""
    return Subscription(remote_id=sub["id"], customer=who, created_at=when(sub.get("created")),
                        status=sub.get("status") or "", plan=plan,
                        amount=major(price.get("unit_amount", price.get("amount")), cur), currency=cur.upper(),
                        interval=recurring.get("interval") or price.get("interval") or "",
                        current_period_end=when(sub.get("current_period_end")))
