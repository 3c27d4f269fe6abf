"""Pulling from a real RT 5: first sync of a queue, incremental pulls by transaction id,
the fields a ticket maps to, and the customer seen across channels."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from console.cache.ingest import apply_batch, ensure_account
from console.identity import customer_history
from providers.base import Batch, Channel, Direction, Identity, Message, Status, Thread
from tests.providers.rt.conftest import rt_account
from tests.support.contract import messages_of, pull_all
from tests.support.servers.rt import AGENT, CF_NAME

pytestmark = pytest.mark.server


async def first_pull(rt, cursor=None, **options):
    """What a console opened read-only on the account pulls from ``cursor`` (None: the first time)."""
    p = rt_account(rt, **options)
    await p.open(read_only=True)
    try:
        batches, _ = await pull_all(p, cursor)
    finally:
        await p.close()
    return batches


def threads_of(batches) -> dict[str, Thread]:
    out = {}
    for b in batches:
        for t in b.threads:
            out[t.remote_id] = t  # the newest view of a ticket wins, as in the cache
    return out


async def test_first_sync_of_a_queue_brings_its_tickets_with_their_messages(rt):
    ann, ben = rt.customer("Ann Archer"), rt.customer("Ben Brook")
    marker = uuid.uuid4().hex[:8]
    first = rt.open_ticket(ann, f"Refund {marker}", f"Please refund order {marker}", queue="Billing")
    second = rt.open_ticket(ben, f"Invoice {marker}", f"My invoice {marker} is wrong", queue="Billing")
    elsewhere = rt.open_ticket(ann, f"Parcel {marker}", "Where is my parcel?", queue="General")
    rt.colleague_replies(first, f"We are on it ({marker})")
    rt.colleague_comments(first, f"Check the payment provider ({marker})")

    p = rt_account(rt, queues=["Billing"])
    await p.open(read_only=True)
    try:
        batches, cursor = await pull_all(p, None)
    finally:
        await p.close()
    threads = threads_of(batches)
    assert {str(first), str(second)} <= set(threads)
    assert str(elsewhere) not in threads, "a ticket outside the followed queues came in"
    t = threads[str(first)]
    assert t.channel == Channel.HELPDESK and t.channel_detail == "Billing" and t.queue == "Billing"
    assert t.subject == f"Refund {marker}"
    assert t.customer == Identity(Channel.EMAIL, ann.email, display_name="Ann Archer")
    mine = [m for m in messages_of(batches) if m.thread_remote_id == str(first)]
    assert [(m.direction, m.text) for m in mine] == [
        (Direction.INBOUND, f"Please refund order {marker}"),
        (Direction.OUTBOUND, f"We are on it ({marker})"),
        (Direction.NOTE, f"Check the payment provider ({marker})"),
    ]
    assert all(m.sent_at.tzinfo is not None for m in mine)
    assert json.loads(cursor)["txn"] == rt.last_transaction()


async def test_incremental_pull_brings_only_the_new_transactions_in_one_query(rt):
    ann = rt.customer()
    ticket = rt.open_ticket(ann, "Broken kettle", "It leaks")
    p = rt_account(rt)
    await p.open(read_only=True)
    try:
        _, cursor = await pull_all(p, None)
        before = len(rt.access_log())
        rt.customer_writes(ann, ticket, "And now it sparks")
        rt.colleague_replies(ticket, "Please unplug it")
        batches, cursor2 = await pull_all(p, cursor)
        requests = rt.access_log()[before:]
        again, _ = await pull_all(p, cursor2)
    finally:
        await p.close()
    assert [m.text for m in messages_of(batches)] == ["And now it sparks", "Please unplug it"]
    assert json.loads(cursor2)["txn"] > json.loads(cursor)["txn"]
    searches = [r for r in requests if r.startswith("POST /REST/2.0/transactions")]
    assert len(searches) == 1, f"an incremental pull re-scanned: {requests}"
    assert "id" in json.dumps(searches) and not messages_of(again)


async def test_owner_status_priority_queue_and_custom_fields_come_from_the_ticket(rt):
    ann = rt.customer()
    ticket = rt.open_ticket(ann, "Wrong size", "I need a bigger one")
    rt.colleague_sets(ticket, Owner=AGENT, Status="stalled", Priority=100, CustomFields={CF_NAME: "A-1042"})
    p = rt_account(rt)
    await p.open(read_only=True)
    try:
        batches, cursor = await pull_all(p, None)
        t = threads_of(batches)[str(ticket)]
        assert (t.assignee, t.status, t.priority, t.queue) == (AGENT, Status.PENDING, 2, "General")
        assert t.meta["custom_fields"] == {CF_NAME: "A-1042"}
        rt.colleague_sets(ticket, Status="resolved", Owner="Nobody", Priority=0)
        batches, _ = await pull_all(p, cursor)
        t = threads_of(batches)[str(ticket)]
        assert (t.assignee, t.status, t.priority) == (None, Status.CLOSED, 0)
    finally:
        await p.close()


async def test_a_foreign_cursor_starts_over_within_the_window(rt):
    ann = rt.customer()
    ticket = rt.open_ticket(ann, "Hello", "First words")
    batches = await first_pull(rt, cursor="not json at all")
    assert str(ticket) in threads_of(batches)


async def test_token_login_reads_the_same_tickets(rt):
    ann = rt.customer()
    ticket = rt.open_ticket(ann, "Token check", "Via token")
    batches = await first_pull(rt, username=None, secret=rt.token_for(AGENT))
    assert str(ticket) in threads_of(batches)


async def test_helpdesk_tickets_join_the_customers_email_history_without_merging_conversations(rt, db):
    ann = rt.customer("Ann Archer")
    ticket = rt.open_ticket(ann, "Refund please", "Order 77 arrived broken")
    batches = await first_pull(rt)
    helpdesk = ensure_account(db, "helpdesk", "rt", "helpdesk")
    mail = ensure_account(db, "support-mail", "imap", "email")
    for batch in batches:
        apply_batch(db, helpdesk, batch)
    when = datetime.now(timezone.utc)
    her_mail = Identity(Channel.EMAIL, ann.email.upper(), display_name="Ann")
    apply_batch(db, mail, Batch(cursor="m1", threads=[Thread("mail-1", Channel.EMAIL, "Refund please", her_mail, when)],
                                messages=[Message("<m1@x>", "mail-1", Direction.INBOUND, her_mail, when,
                                                  "Order 77 arrived broken, see photo")]))
    rows = db.execute("SELECT t.id, t.channel, t.customer_id, a.name FROM threads t JOIN accounts a ON a.id=t.account_id "
                      "WHERE t.remote_id IN (?, 'mail-1')", (str(ticket),)).fetchall()
    assert sorted((r["channel"], r["name"]) for r in rows) == [("email", "support-mail"), ("helpdesk", "helpdesk")]
    assert len({r["customer_id"] for r in rows}) == 1, "the same email address did not make one customer"
    history = customer_history(db, rows[0]["customer_id"])
    assert {t["channel"] for t in history["threads"]} >= {"helpdesk", "email"}
    assert len({r["id"] for r in rows}) == 2, "the ticket and the raw mail were merged into one conversation"
