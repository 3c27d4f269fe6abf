"""Storing what a shop database or a payments system said: payments, refunds, disputes, subscriptions.

Called by :func:`console.cache.ingest.apply_batch` inside its transaction. Payments
and subscriptions hang on the identity they were made with (found or created by the
identity rules), so linking identities moves them with it. A refund that carries an
outbox key is the confirmation of a refund made from the console: the outbox row is
marked sent and the conversation's event says it is done.
"""

from __future__ import annotations

import json
import sqlite3

from console import identity
from console.commerce import refund_event
from providers.records import Batch
from providers.text import clean_line, clean_text


def _ts(value) -> float | None:
    return None if value is None else value.timestamp()


def apply_commerce(db: sqlite3.Connection, account_id: int, batch: Batch) -> set[int]:
    """Store the batch's payment records; return the conversations whose refund events changed."""
    touched: set[int] = set()
    for c in batch.customers:
        if c.identities:
            channel = c.identities[0].channel
            row = db.execute("SELECT id FROM identities WHERE channel=? AND address=?",
                             (getattr(channel, "value", channel), clean_line(c.identities[0].address).strip())).fetchone()
            if row is not None:
                _system_note(db, row[0], account_id, c.note)
    for p in batch.payments:
        ident_id = identity.upsert_identity(db, p.customer)
        db.execute(
            """INSERT INTO payments(account_id, remote_id, identity_id, intent, amount, currency, status, refunded,
                                    description, order_number, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(account_id, remote_id) DO UPDATE SET identity_id=excluded.identity_id,
                 status=excluded.status, refunded=excluded.refunded, amount=excluded.amount,
                 description=excluded.description, order_number=excluded.order_number""",
            (account_id, clean_line(p.remote_id), ident_id, clean_line(p.intent), float(p.amount),
             clean_line(p.currency).upper(), clean_line(p.status), float(p.refunded), clean_line(p.description),
             clean_line(p.order_number), _ts(p.created_at)))
    for r in batch.refunds:
        db.execute(
            """INSERT INTO refunds(account_id, remote_id, payment_remote_id, amount, currency, status, reason,
                                   action_key, created_at)
               VALUES (?,?,?,?,?,?,?,?,?)
               ON CONFLICT(account_id, remote_id) DO UPDATE SET status=excluded.status, amount=excluded.amount,
                 reason=excluded.reason, action_key=COALESCE(excluded.action_key, refunds.action_key)""",
            (account_id, clean_line(r.remote_id), clean_line(r.payment_remote_id), float(r.amount),
             clean_line(r.currency).upper(), clean_line(r.status), clean_line(r.reason), r.action_key,
             _ts(r.created_at)))
        if r.action_key:
            touched |= _confirm_refund(db, r.action_key, clean_line(r.remote_id))
    for d in batch.disputes:
        db.execute(
            """INSERT INTO disputes(account_id, remote_id, payment_remote_id, amount, currency, status, reason,
                                    created_at)
               VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT(account_id, remote_id) DO UPDATE SET status=excluded.status, amount=excluded.amount,
                 reason=excluded.reason""",
            (account_id, clean_line(d.remote_id), clean_line(d.payment_remote_id), float(d.amount),
             clean_line(d.currency).upper(), clean_line(d.status), clean_line(d.reason), _ts(d.created_at)))
    for s in batch.subscriptions:
        ident_id = identity.upsert_identity(db, s.customer)
        db.execute(
            """INSERT INTO subscriptions(account_id, remote_id, identity_id, plan, status, amount, currency, interval,
                                         current_period_end, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(account_id, remote_id) DO UPDATE SET identity_id=excluded.identity_id,
                 plan=excluded.plan, status=excluded.status, amount=excluded.amount, currency=excluded.currency,
                 interval=excluded.interval, current_period_end=excluded.current_period_end""",
            (account_id, clean_line(s.remote_id), ident_id, clean_line(s.plan), clean_line(s.status),
             float(s.amount), clean_line(s.currency).upper(), clean_line(s.interval), _ts(s.current_period_end),
             _ts(s.created_at)))
    return touched


def _system_note(db: sqlite3.Connection, identity_id: int, account_id: int, note: str) -> None:
    note = clean_text(note or "").strip()
    if note:
        db.execute("""INSERT INTO system_notes(identity_id, account_id, note) VALUES (?,?,?)
                      ON CONFLICT(identity_id, account_id) DO UPDATE SET note=excluded.note""",
                   (identity_id, account_id, note))
    else:
        db.execute("DELETE FROM system_notes WHERE identity_id=? AND account_id=?", (identity_id, account_id))


def _confirm_refund(db: sqlite3.Connection, key: str, refund_id: str) -> set[int]:
    """Our refund came back from the payments system: the outbox row is done, the event says so."""
    row = db.execute("SELECT id, thread_id, args, author FROM outbox WHERE key=?", (key,)).fetchone()
    if row is None:
        return set()
    db.execute("UPDATE outbox SET state='sent', remote_id=COALESCE(remote_id, ?), last_error='', "
               "sent_at=COALESCE(sent_at, strftime('%s','now')) WHERE id=? AND state IN ('queued','sending','sent')",
               (refund_id, row["id"]))
    args = json.loads(row["args"] or "{}")
    text = refund_event(row["author"] or "agent", float(args.get("amount", 0)), args.get("currency", ""),
                        args.get("charge", ""), reason=args.get("reason", ""), refund_id=refund_id)
    meta = json.dumps({"event": "refund", "refund": refund_id, "charge": args.get("charge", "")})
    db.execute("UPDATE messages SET text=?, meta=? WHERE outbox_id=?", (text, meta, row["id"]))
    return {row["thread_id"]}
