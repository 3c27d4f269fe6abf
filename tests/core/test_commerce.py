"""The customer record from the company's systems in the core: ingest, links, search, export, refunds."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from console.actions import Context, perform
from console.cache.customer_record import customer_record
from console.commerce import money
from console.cache.ingest import apply_batch, ensure_account
from console.cache.queries import Filter, inbox_page, messages
from console.config import AccountSettings
from console.engine import build_provider
from console.export import conversations
from console.outbox import Dispatcher
from console.views import ViewQueryError, parse_query
from providers.records import Batch, Channel, Identity, Order, Payment, Refund
from tests.support.factories import T0, conversation, load, thread_id

ANN = Identity(Channel.EMAIL, "ann@example.com", display_name="Ann")
ANN_CHAT = Identity(Channel.CHAT, "@ann:chat.example", display_name="Ann")


def shop(db, *payments, refunds=(), orders=()):
    account_id = ensure_account(db, "payments", "stripe", "commerce")
    apply_batch(db, account_id, Batch(cursor="p", payments=list(payments), refunds=list(refunds),
                                      orders=list(orders)))
    return account_id


def customer_of(db, remote: str) -> int:
    return db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id(db, remote),)).fetchone()[0]


def test_pulling_the_same_payments_twice_changes_nothing_and_refunds_add_up(db):
    load(db, [conversation(1, who=ANN)])
    pay = Payment("ch_1", ANN, T0, 42.0, "eur", "succeeded")
    for _ in range(2):
        shop(db, pay, refunds=[Refund("re_1", "ch_1", T0, 10.0, "EUR", "succeeded"),
                               Refund("re_2", "ch_1", T0, 2.5, "EUR", "pending")])
    rec = customer_record(db, customer_of(db, "t1"))
    assert [(p["remote_id"], p["currency"], p["refunded"]) for p in rec.payments] == [("ch_1", "EUR", 12.5)]
    assert rec.lifetime_value == {"EUR": 29.5} and rec.lifetime_source == "payments"
    assert db.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 1


def test_payments_follow_their_identity_when_it_is_split_off_and_linked_back(db):
    load(db, [conversation(1, who=ANN), conversation(2, channel=Channel.CHAT, who=ANN_CHAT)])
    ann = customer_of(db, "t1")
    chat_ident = db.execute("SELECT id FROM identities WHERE address=?", (ANN_CHAT.address,)).fetchone()[0]
    assert perform(Context(db=db), "link_identity", None, identity_id=chat_ident, customer_id=ann).ok
    shop(db, Payment("ch_1", ANN, T0, 42.0, "EUR", "succeeded"))
    assert [p["remote_id"] for p in customer_record(db, customer_of(db, "t2")).payments] == ["ch_1"]
    assert perform(Context(db=db), "unlink_identity", None, identity_id=chat_ident).ok
    assert customer_record(db, customer_of(db, "t2")).payments == []
    assert [p["remote_id"] for p in customer_record(db, ann).payments] == ["ch_1"]


def test_order_and_charge_filters_find_the_customer_and_every_conversation_of_theirs(db):
    load(db, [conversation(1, who=ANN), conversation(2, who=ANN, subject="again"), conversation(3)])
    shop(db, Payment("ch_1", ANN, T0, 42.0, "EUR", "succeeded", intent="pi_1"),
         orders=[Order("o1", "NW-104801", ANN, T0, 42.0, "EUR", "shipped")])
    want = {thread_id(db, "t1"), thread_id(db, "t2")}
    for query in ("order:NW-104801", "order:nw-104801", "charge:ch_1", "charge:pi_1"):
        _, flt, _ = parse_query(query)
        assert {r.id for r in inbox_page(db, flt)} == want, query
    _, nobody, _ = parse_query("charge:ch_nope")
    assert inbox_page(db, nobody) == []
    _, flt, _ = parse_query("order:recent")
    assert flt.order == "recent" and flt.reference is None
    with pytest.raises(ViewQueryError) as err:
        parse_query("order:NW-1,NW-2")
    assert "takes one number" in str(err.value)


def test_export_gives_each_customer_their_orders_and_payments_with_the_source(db):
    load(db, [conversation(1, who=ANN)])
    shop(db, Payment("ch_1", ANN, T0, 42.0, "EUR", "succeeded"),
         refunds=[Refund("re_1", "ch_1", T0, 2.0, "EUR", "succeeded")],
         orders=[Order("o1", "NW-104801", ANN, T0, 42.0, "EUR", "shipped", tracking_url="https://t.example/1")])
    [conv] = list(conversations(db))
    assert conv["customer"]["orders"] == [{"number": "NW-104801", "date": "2026-11-02T09:00:00Z", "amount": 42.0,
                                           "currency": "EUR", "status": "shipped",
                                           "tracking_url": "https://t.example/1", "source": "payments"}]
    assert conv["customer"]["payments"] == [{"id": "ch_1", "date": "2026-11-02T09:00:00Z", "amount": 42.0,
                                             "currency": "EUR", "status": "succeeded", "refunded": 2.0,
                                             "disputed": False, "source": "payments"}]
    json.dumps(conv)


def test_refund_amounts_follow_the_currency_and_what_is_left(db):
    load(db, [conversation(1, who=ANN)])
    shop(db, Payment("ch_yen", ANN, T0, 4200, "JPY", "succeeded"), Payment("ch_fail", ANN, T0, 5, "EUR", "failed"))
    tid = thread_id(db, "t1")
    ctx = Context(db=db, agent="Sam")
    bad = perform(ctx, "refund", tid, charge="ch_yen", amount="12.5")
    assert not bad.ok and "JPY amounts have 0 decimal places" in bad.message
    failed = perform(ctx, "refund", tid, charge="ch_fail")
    assert not failed.ok and "only a succeeded payment can be refunded" in failed.message
    shop(db, Payment("ch_order", ANN, T0, 30, "EUR", "succeeded", order_number="NW-7"))
    by_order = perform(ctx, "refund", tid, charge="NW-7", amount="3")
    assert by_order.ok and "on ch_order" in by_order.message  # the order's payment
    assert perform(ctx, "refund", tid, charge="ch_yen", amount="4000").ok
    assert messages(db, tid)[-1]["text"] == "Sam is refunding ¥4,000 on ch_yen"
    again = perform(ctx, "refund", tid, charge="ch_yen", amount="300")
    assert not again.ok and "more than the ¥200 left" in again.message  # the queued one counts


def test_the_demo_shop_refunds_through_the_outbox_and_confirms_on_the_next_pull(db, tmp_path):
    acc = AccountSettings("shop", "demo", {"channel": "commerce", "customers": 30, "conversations": 20,
                                           "interval": 0.0, "state_dir": str(tmp_path / "demo")})

    async def run():
        p = build_provider(acc, None)
        await p.open(read_only=False)
        account_id = ensure_account(db, "shop", "demo", "commerce")
        cursor, more = None, True
        while more:
            batch = await p.pull(cursor)
            apply_batch(db, account_id, batch)
            cursor, more = batch.cursor, batch.more
        pay = db.execute("SELECT p.remote_id, p.amount, i.id AS ident, i.address FROM payments p "
                         "JOIN identities i ON i.id = p.identity_id ORDER BY p.id LIMIT 1").fetchone()
        load(db, [conversation(9, who=Identity(Channel.EMAIL, pay["address"]))])
        tid = thread_id(db, "t9")
        assert perform(Context(db=db, agent="Sam"), "refund", tid, charge=pay["remote_id"], amount="1",
                       reason="goodwill").ok
        assert (await Dispatcher(db).flush("shop", p)).finished == 1
        batch = await p.pull(cursor)
        apply_batch(db, account_id, batch)
        await p.close()
        return tid, pay["remote_id"]

    tid, charge = asyncio.run(run())
    row = db.execute("SELECT state, remote_id, args FROM outbox WHERE kind='refund'").fetchone()
    assert row["state"] == "sent" and row["remote_id"].startswith("re_demo_")
    currency = json.loads(row["args"])["currency"]
    assert messages(db, tid)[-1]["text"] == \
        f"Sam refunded {money(1.0, currency)} on {charge} ({row['remote_id']}) — reason: goodwill"
    rec = customer_record(db, db.execute("SELECT customer_id FROM threads WHERE id=?", (tid,)).fetchone()[0])
    assert any(r["payment_remote_id"] == charge and r["amount"] == 1.0 and r["reason"] == "goodwill"
               for r in rec.refunds)
    assert rec.order_count >= 1 and rec.payments


def _macro_config(refund):
    from console.config import parse

    return parse(f'''
[agent]
name = "Sam"
[[macros]]
name = "refund-approved"
text = "Hi, your refund is on its way."
refund = {refund}
''')


def test_a_macro_offers_a_refund_that_goes_out_only_when_the_reply_is_sent(db):
    load(db, [conversation(1, who=ANN)])
    shop(db, Payment("ch_old", ANN, T0, 10.0, "EUR", "succeeded"),
         Payment("ch_new", ANN, T0 + timedelta(days=1), 42.0, "EUR", "succeeded"))
    tid = thread_id(db, "t1")
    ctx = Context(db=db, agent="Sam", config=_macro_config('"full"'))
    applied = perform(ctx, "apply_macro", tid, name="refund-approved")
    assert applied.ok and "on send: refund €42.00 on ch_new" in applied.message
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind='refund'").fetchone()[0] == 0  # nothing yet
    from console.cache.customer_record import pending_refund

    assert pending_refund(db, tid)["amount"] == 42.0
    sent = perform(ctx, "reply", tid, text="Hi, your refund is on its way.")
    assert sent.ok and "refund of €42.00 on ch_new queued" in sent.message
    row = db.execute("SELECT account_id, args FROM outbox WHERE kind='refund'").fetchone()
    assert json.loads(row["args"])["reason"] == "macro refund-approved"
    assert pending_refund(db, tid) is None
    assert db.execute("SELECT COUNT(*) FROM audit WHERE action='refund'").fetchone()[0] == 1


def test_a_discarded_draft_takes_its_offered_refund_with_it(db):
    load(db, [conversation(1, who=ANN)])
    shop(db, Payment("ch_1", ANN, T0, 42.0, "EUR", "succeeded"))
    tid = thread_id(db, "t1")
    ctx = Context(db=db, agent="Sam", config=_macro_config(5))
    assert "on send: refund €5.00 on ch_1" in perform(ctx, "apply_macro", tid, name="refund-approved").message
    assert perform(ctx, "discard_draft", tid).ok
    assert perform(ctx, "reply", tid, text="Something else entirely").ok
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind='refund'").fetchone()[0] == 0


def test_a_macro_refund_setting_must_be_full_or_an_amount():
    from console import macros
    from console.errors import ConfigError

    for bad in ("lots", -3, True):
        with pytest.raises(ConfigError) as err:
            macros.parse({"macros": [{"name": "r", "text": "Hi", "refund": bad}]})
        assert f"refund = {bad!r}" in str(err.value) and 'refund = "full"' in str(err.value)
    assert macros.parse({"macros": [{"name": "r", "text": "Hi", "refund": 10}]})["r"].refund == "10"
