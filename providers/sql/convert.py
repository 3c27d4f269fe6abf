"""Rows of the named queries -> neutral records, by the documented column names.

customers: ``email``, ``phone``, ``name``, ``external_id``, ``tags`` (comma-separated),
``note``. orders: ``email`` or ``phone`` (who placed it), ``order_number``,
``placed_at``, ``total``, ``currency``, ``status``, ``tracking_url``, ``items``
(comma-separated). A row needs an email or a phone to link to anyone; rows with
neither are skipped and counted.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from providers.base import Channel, Customer, Identity, Order, ProviderError

CUSTOMER_COLUMNS = ("email", "phone", "name", "external_id", "tags", "note")
ORDER_COLUMNS = ("email", "phone", "order_number", "placed_at", "total", "currency", "status", "tracking_url", "items")


def require(columns: list[str], query: str, account: str) -> None:
    """The query's columns must let us link a row to a person (and name an order)."""
    have = set(columns)
    needed = [("email", "phone")] + ([("order_number",), ("placed_at",), ("total",)] if query == "orders" else [])
    for options in needed:
        if not have & set(options):
            raise ProviderError(
                f"account {account!r}: the {query} query returns no {' or '.join(options)} column",
                fix=f"select it, renamed if needed: … AS {options[0]} (documented columns: "
                    f"{', '.join(CUSTOMER_COLUMNS if query == 'customers' else ORDER_COLUMNS)})")


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value if _text(v)]
    text = _text(value)
    if text.startswith("["):
        try:
            return [_text(v) for v in json.loads(text) if _text(v)]
        except ValueError:
            pass
    return [p.strip() for p in text.split(",") if p.strip()]


def _person(row: dict) -> Identity | None:
    email, phone, name = _text(row.get("email")), _text(row.get("phone")), _text(row.get("name"))
    if email:
        return Identity(Channel.EMAIL, email, display_name=name, phone=phone)
    if phone:
        return Identity(Channel.COMMERCE, phone, display_name=name, phone=phone)
    return None


def _time(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    text = _text(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"placed_at {text!r} is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _money(value) -> float:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise ValueError(f"total {value!r} is not a number") from None


def customer(row: dict) -> Customer | None:
    who = _person(row)
    if who is None:
        return None
    remote = _text(row.get("external_id")) or who.address
    return Customer(remote_id=remote, name=_text(row.get("name")), identities=[who], tags=_list(row.get("tags")),
                    note=_text(row.get("note")))


def order(row: dict) -> Order | None:
    who = _person({**row, "name": ""})
    number = _text(row.get("order_number"))
    if who is None or not number:
        return None
    return Order(remote_id=number, number=number, customer=who, placed_at=_time(row.get("placed_at")),
                 total=_money(row.get("total")), currency=_text(row.get("currency")).upper() or "USD",
                 status=_text(row.get("status")), items=_list(row.get("items")),
                 tracking_url=_text(row.get("tracking_url")))
