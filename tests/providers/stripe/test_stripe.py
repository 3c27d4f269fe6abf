"""The stripe adapter against localstripe on 127.0.0.1: pull, link, refund exactly once, read-only.

localstripe ignores Idempotency-Key (the same key made two refunds when measured), so
the exactly-once of a refund is proven here on our side: the adapter looks the
charge's refunds up for the outbox key before it makes one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.actions import Context, perform
from console.cache.customer_record import customer_record
from console.cache.ingest import apply_batch, ensure_account
from console.cache.queries import ALL_STATES, Filter, inbox_page, messages
from console.outbox import Dispatcher
from providers.base import AccountConfig, AuthError, Channel, Identity, PermanentError, PushAction
from providers.stripe import StripeProvider
from tests.support.contract import pull_all
from tests.support.factories import conversation, load, thread_id
from tests.support.servers.stripe_server import localstripe  # noqa: F401

pytestmark = pytest.mark.server

KEY = "sk_test_switchboard"
ROOT = Path(__file__).resolve().parents[3]


def adapter(shop, key: str = KEY) -> StripeProvider:
    return StripeProvider(AccountConfig("payments", "stripe", {"api_base": shop.url}, secret=lambda: key))


async def sync(db, p: StripeProvider, cursor: str | None = None) -> str | None:
    account_id = ensure_account(db, "payments", "stripe", "commerce")
    batches, cursor = await pull_all(p, cursor)
    for b in batches:
        apply_batch(db, account_id, b)
    db.execute("UPDATE accounts SET cursor=? WHERE id=?", (cursor, account_id))
    return cursor


async def sync_once(db, shop) -> str | None:
    """Open read-only, pull everything into the cache, close."""
    p = adapter(shop)
    await p.open(read_only=True)
    try:
        return await sync(db, p)
    finally:
        await p.close()


@pytest.fixture
def ann(localstripe, db):  # noqa: F811
    """A customer who wrote to support by email and paid €42.00 and €18.50 by card."""
    email = localstripe.unique_email("ann")
    load(db, [conversation(1, who=Identity(Channel.EMAIL, email.upper(), display_name="Ann"))])
    cus = localstripe.customer(email, "Ann Lee", phone="+49 30 1234567")
    charges = [localstripe.pay(cus, 4200), localstripe.pay(cus, 1850)]
    return {"email": email, "customer": cus, "charges": charges, "thread": thread_id(db, "t1")}


async def test_payments_and_refunds_appear_on_the_customer_who_wrote_in(localstripe, db, ann):  # noqa: F811
    localstripe.refund(ann["charges"][0], 1000)
    await sync_once(db, localstripe)
    customer = db.execute("SELECT customer_id FROM threads WHERE id=?", (ann["thread"],)).fetchone()[0]
    rec = customer_record(db, customer)
    by_id = {x["remote_id"]: x for x in rec.payments}
    assert set(by_id) >= set(ann["charges"])
    assert by_id[ann["charges"][0]]["amount"] == 42.0 and by_id[ann["charges"][0]]["currency"] == "EUR"
    assert by_id[ann["charges"][0]]["refunded"] == 10.0 and by_id[ann["charges"][1]]["refunded"] == 0
    assert [r["amount"] for r in rec.refunds if r["payment_remote_id"] == ann["charges"][0]] == [10.0]
    assert rec.lifetime_source == "payments" and rec.lifetime_value["EUR"] == pytest.approx(42 + 18.5 - 10)
    assert all(x["source"] == "payments" for x in rec.payments) and rec.synced["payments"] is not None
    # The Stripe customer joined the person who wrote in: one customer, not one per source.
    assert db.execute("SELECT COUNT(DISTINCT customer_id) FROM identities WHERE email_key=?",
                      (ann["email"],)).fetchone()[0] == 1
    found = inbox_page(db, Filter(statuses=ALL_STATES, reference=("charge", ann["charges"][1])))
    assert [r.id for r in found] == [ann["thread"]]


async def test_an_incremental_pull_sees_a_new_charge_and_a_new_refund_of_an_old_one(localstripe, db, ann):  # noqa: F811
    p = adapter(localstripe)
    await p.open(read_only=True)
    try:
        cursor = await sync(db, p)
        newer = localstripe.pay(ann["customer"], 999)
        localstripe.refund(ann["charges"][1], 850)
        batches, _ = await pull_all(p, cursor)
    finally:
        await p.close()
    assert newer in {x.remote_id for b in batches for x in b.payments}
    ours = [(r.payment_remote_id, r.amount) for b in batches for r in b.refunds if r.payment_remote_id in ann["charges"]]
    assert ours == [(ann["charges"][1], 8.5)]  # (refunds of the second before the cursor are read again: harmless)


async def test_a_subscription_and_its_cancellation_reach_the_customer_record(localstripe, db, ann):  # noqa: F811
    sub = localstripe.subscribe(ann["customer"], 499, "Plus monthly")
    p = adapter(localstripe)
    await p.open(read_only=True)
    try:
        cursor = await sync(db, p)
        customer = db.execute("SELECT customer_id FROM threads WHERE id=?", (ann["thread"],)).fetchone()[0]
        [first] = customer_record(db, customer).subscriptions
        assert (first["remote_id"], first["status"], first["plan"], first["amount"], first["currency"],
                first["interval"]) == (sub, "active", "Plus monthly", 4.99, "EUR", "month")
        localstripe.call("DELETE", f"/v1/subscriptions/{sub}")
        await sync(db, p, cursor)  # the cancellation comes through the events list
    finally:
        await p.close()
    assert [s["status"] for s in customer_record(db, customer).subscriptions] == ["canceled"]


async def test_a_refund_from_the_console_goes_out_once_and_shows_in_the_conversation(localstripe, db, ann):  # noqa: F811
    p = adapter(localstripe)
    await p.open(read_only=False)
    try:
        await sync(db, p)
        charge = ann["charges"][0]
        result = perform(Context(db=db, agent="Sam"), "refund", ann["thread"], charge=charge, amount="12.50",
                         reason="parcel arrived damaged")
        assert result.ok, result.message
        event = messages(db, ann["thread"])[-1]
        assert event["text"] == f"Sam is refunding €12.50 on {charge} — reason: parcel arrived damaged"
        assert (await Dispatcher(db).flush("payments", p)).finished == 1
        await Dispatcher(db).flush("payments", p)  # nothing left to push
        refunds = localstripe.refunds_of(charge)
        assert [(r["amount"], r["metadata"]["switchboard_reason"]) for r in refunds] == [(1250, "parcel arrived damaged")]
        await sync(db, p, db.execute("SELECT cursor FROM accounts WHERE name='payments'").fetchone()[0])
    finally:
        await p.close()
    event = messages(db, ann["thread"])[-1]
    assert event["text"] == f"Sam refunded €12.50 on {charge} ({refunds[0]['id']}) — reason: parcel arrived damaged"
    assert event["direction"] == "note" and event["outbox_state"] == "sent"
    audit = db.execute("SELECT who, result FROM audit WHERE action='refund'").fetchall()
    assert [tuple(a) for a in audit] == [("Sam", "ok")]
    # What is left on the charge is what the next refund may take.
    too_much = perform(Context(db=db, agent="Sam"), "refund", ann["thread"], charge=charge, amount="30")
    assert not too_much.ok and "more than the €29.50 left" in too_much.message and "\n" not in too_much.message


async def test_kill_9_between_push_and_confirm_still_makes_exactly_one_refund(localstripe, db, ann, tmp_path):  # noqa: F811
    await sync_once(db, localstripe)
    charge = ann["charges"][1]
    assert perform(Context(db=db, agent="Sam"), "refund", ann["thread"], charge=charge, reason="late").ok
    cache = db.execute("PRAGMA database_list").fetchone()["file"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "tests.support.crash.stripe_worker", cache, localstripe.url, KEY]
    localstripe.slow_refunds(30)  # the refund is made at once; its answer waits: the window before the confirm
    try:
        worker = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not localstripe.refunds_of(charge) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert localstripe.refunds_of(charge), "the refund never reached the server"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        localstripe.slow_refunds(0)
    assert db.execute("SELECT state FROM outbox WHERE kind='refund'").fetchone()[0] == "sending"
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    refunds = localstripe.refunds_of(charge)
    assert len(refunds) == 1 and refunds[0]["amount"] == 1850
    row = db.execute("SELECT state, remote_id FROM outbox WHERE kind='refund'").fetchone()
    assert (row["state"], row["remote_id"]) == ("sent", refunds[0]["id"])


async def test_read_only_sends_no_post_to_the_payments_server(localstripe, db, ann):  # noqa: F811
    p = adapter(localstripe)
    await p.open(read_only=True)
    seen = len(localstripe.requests())
    try:
        await sync(db, p)
        assert perform(Context(db=db, agent="Sam"), "refund", ann["thread"], charge=ann["charges"][0]).ok
        with pytest.raises(PermanentError) as err:
            await p.push(PushAction(key="k-read-only", kind="refund", thread_remote_id="t1",
                                    args={"charge": ann["charges"][0], "amount": 1.0, "currency": "EUR"}))
        assert "read-only" in str(err.value)
        await Dispatcher(db).flush("payments", p)  # the row fails here; nothing reaches the server
    finally:
        await p.close()
    assert not [r for r in localstripe.requests()[seen:] if r.startswith("POST")]
    assert localstripe.refunds_of(ann["charges"][0]) == []
    refused = perform(Context(db=db, agent="Sam", read_only=True), "refund", ann["thread"], charge=ann["charges"][0])
    assert not refused.ok and "read-only" in refused.message
    assert db.execute("SELECT result FROM audit WHERE action='refund' ORDER BY id DESC").fetchone()[0].startswith(
        "refused")


async def test_a_refund_is_refused_for_a_charge_of_someone_else_and_for_bad_amounts(localstripe, db, ann):  # noqa: F811
    stranger = localstripe.customer(localstripe.unique_email("bo"), "Bo")
    other = localstripe.pay(stranger, 500)
    await sync_once(db, localstripe)
    ctx = Context(db=db, agent="Sam")
    cases = [({"charge": other}, "is not a payment of this conversation's customer"),
             ({}, "name the charge"),
             ({"charge": ann["charges"][0], "amount": "twelve"}, "cannot read the amount"),
             ({"charge": ann["charges"][0], "amount": "-3"}, "more than 0"),
             ({"charge": ann["charges"][0], "amount": "1.005"}, "2 decimal places")]
    for args, fragment in cases:
        result = perform(ctx, "refund", ann["thread"], **args)
        assert not result.ok and fragment in result.message and "\n" not in result.message, result.message
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0



def test_options_refuse_plain_http_to_another_machine_and_a_bad_page_size():
    from providers.base import OptionError

    for options, fragment in (({"api_base": "http://api.stripe.com"}, "not an https URL"),
                              ({"page_size": 500}, "page_size is 500")):
        with pytest.raises(OptionError) as err:
            StripeProvider(AccountConfig("payments", "stripe", options, secret=lambda: KEY))
        assert fragment in str(err.value) and "\n" not in str(err.value)


async def test_no_key_in_the_keyring_is_an_auth_error_naming_the_command(localstripe):  # noqa: F811
    p = StripeProvider(AccountConfig("payments", "stripe", {"api_base": localstripe.url}))
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    assert "switchboard accounts add payments" in str(err.value)
