"""``refund``: give money back on one of the conversation's customer's payments.

Like a reply it goes through the outbox, to the payments account the charge came
from: the row's key is the payments system's idempotency key, and the adapter looks
the charge's refunds up before it makes one, so a crash mid-push never refunds twice.
The conversation gets an internal event ("Sam is refunding €12.50 on ch_…") that the
next pull turns into "Sam refunded €12.50 on ch_… (re_…)".
"""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation

from console.actions.domain import new_key
from console.actions.gate import Context, Result
from console.actions.registry import Action, register
from console.cache.customer_record import find_charge, payments_of, pending_refund
from console.commerce import ZERO_DECIMAL, money, refund_event
from providers.text import clean_line

MAX_REASON = 300


def _amount(value, remaining: float, currency: str) -> float:
    if value is None or value == "":
        return remaining
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"cannot read the amount {value!r} — write it like 12.50 (in {currency})") from None
    places = 0 if currency.upper() in ZERO_DECIMAL else 2
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"the amount must be more than 0 — e.g. --amount 12.50")
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{currency} amounts have {places} decimal places — e.g. --amount "
                         f"{'12' if places == 0 else '12.50'}")
    if float(amount) > remaining + 1e-9:
        raise ValueError(f"{money(float(amount), currency)} is more than the {money(remaining, currency)} "
                         "left to refund on this charge — refund less, or leave --amount out for all of it")
    return float(amount)


def _in_flight(ctx: Context, account_id: int, charge: str) -> float:
    """Refunds of this charge queued here but not yet confirmed by the payments system."""
    total = 0.0
    for (args,) in ctx.db.execute("SELECT args FROM outbox WHERE kind='refund' AND account_id=? "
                                  "AND state IN ('queued','sending','failed','held')", (account_id,)):
        a = json.loads(args or "{}")
        if a.get("charge") == charge:
            total += float(a.get("amount") or 0)
    return total


def _refund(ctx: Context, thread_id: int, charge: str | None = None, amount=None, reason: str = "") -> Result:
    if not charge or not str(charge).strip():
        raise ValueError("name the charge to refund — e.g. --charge ch_3Kx… (the customer pane lists them)")
    charge = str(charge).strip()
    customer_id = ctx.db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id,)).fetchone()[0]
    pay = find_charge(ctx.db, customer_id, charge) if customer_id is not None else None
    if pay is None:
        raise LookupError(f"{charge} is not a payment of this conversation's customer — "
                          "check the id in the customer pane (or sync the payments account)")
    if pay["status"] != "succeeded":
        raise ValueError(f"{pay['remote_id']} is {pay['status'] or 'not paid'}: only a succeeded payment can be refunded")
    account_id = ctx.db.execute("SELECT account_id FROM payments WHERE id=?", (pay["id"],)).fetchone()[0]
    remaining = round(pay["amount"] - pay["refunded"] - _in_flight(ctx, account_id, pay["remote_id"]), 2)
    if remaining <= 0:
        raise ValueError(f"{pay['remote_id']} is already refunded in full (or a refund of it is on its way)")
    value = _amount(amount, remaining, pay["currency"])
    why = clean_line(reason or "")[:MAX_REASON]
    args = {"charge": pay["remote_id"], "amount": value, "currency": pay["currency"], "reason": why}
    text = refund_event(ctx.agent, value, pay["currency"], pay["remote_id"], reason=why)
    now = time.time()
    outbox_id = ctx.db.execute(
        """INSERT INTO outbox(key, thread_id, account_id, kind, text, args, created_at, author)
           VALUES (?,?,?,?,?,?,?,?)""",
        (new_key(), thread_id, account_id, "refund", text, json.dumps(args), now, ctx.agent)).lastrowid
    ctx.db.execute(
        """INSERT INTO messages(thread_id, account_id, direction, author, sent_at, text, state, outbox_id, meta)
           SELECT id, account_id, 'note', ?, ?, ?, 'local', ?, ? FROM threads WHERE id=?""",
        (ctx.agent, now, text, outbox_id, json.dumps({"event": "refund", "charge": pay["remote_id"]}), thread_id))
    return Result(True, f"refund of {money(value, pay['currency'])} on {pay['remote_id']} queued",
                  {"outbox_id": outbox_id, "amount": value, "currency": pay["currency"]})


# --------------------------------------------------------------------------- offered by a macro, run on send


def offer(ctx: Context, thread_id: int, amount: str | float, reason: str) -> str:
    """A macro's refund: kept with the draft, carried out when the reply is sent. Returns what the
    agent is told (the payment and the amount), or raises ValueError when there is nothing to refund."""
    customer_id = ctx.db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id,)).fetchone()[0]
    payments = [p for p in payments_of(ctx.db, customer_id) if p["status"] == "succeeded"
                and p["amount"] - p["refunded"] > 0] if customer_id is not None else []
    if not payments:
        raise ValueError("this customer has no payment left to refund — the macro's refund was not offered")
    pay = payments[0]  # the latest
    remaining = round(pay["amount"] - pay["refunded"], 2)
    value = None if str(amount).lower() == "full" else _amount(amount, remaining, pay["currency"])
    ctx.db.execute("""INSERT INTO draft_refunds(thread_id, charge, amount, reason, created_at) VALUES (?,?,?,?,?)
                      ON CONFLICT(thread_id) DO UPDATE SET charge=excluded.charge, amount=excluded.amount,
                        reason=excluded.reason, created_at=excluded.created_at""",
                   (thread_id, pay["remote_id"], value, clean_line(reason)[:MAX_REASON], time.time()))
    return f"on send: refund {money(remaining if value is None else value, pay['currency'])} on {pay['remote_id']}"


def on_send(ctx: Context, thread_id: int) -> Result | None:
    """Called by the reply as it is queued: the draft's offered refund, through the same checks and audit."""
    offered = pending_refund(ctx.db, thread_id)
    ctx.db.execute("DELETE FROM draft_refunds WHERE thread_id=?", (thread_id,))
    if offered is None:
        return None
    args = {"charge": offered["charge"], "amount": None if offered["all"] else offered["amount"],
            "reason": offered["reason"]}
    result = _refund(ctx, thread_id, **args)
    from console.actions.gate import _audit

    _audit(ctx, "refund", thread_id, {**args, "via": "macro"}, "ok")
    return result


register(Action("refund", "Refund a payment of this customer (all of it, or --amount), with a reason",
                ("dollar_sign",), mutating=True, context="customer", needs_thread=True, handler=_refund))
