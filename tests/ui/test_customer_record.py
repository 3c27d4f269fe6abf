"""The customer pane's "Orders and payments" section and the refund chosen from it ($)."""

from __future__ import annotations

import pytest

from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from providers.records import Dispute, Payment, Refund, Subscription
from tests.ui.test_conversation_harness import ALICE_MAIL, PaneApp, ago, seed
from widgets.customer import CustomerPane
from widgets.screens.refund import RefundChooser
from tests.support.pilot import Typed, press, screen_text

HOSTILE = "\x1b]52;c;cGF3bmVk\x07[@click=app.quit]boom[/] \x1b[2J"


@pytest.fixture
def cache(tmp_path):
    db = connect(tmp_path / "cache.sqlite3")
    ids = seed(db)
    pay = ensure_account(db, "payments", "stripe", "commerce")
    from providers.records import Batch

    apply_batch(db, pay, Batch(
        cursor="p1",
        payments=[Payment("ch_paid1", ALICE_MAIL, ago(days=3), 20.0, "EUR", "succeeded", description=HOSTILE),
                  Payment("ch_old", ALICE_MAIL, ago(days=10), 129.5, "EUR", "succeeded")],
        refunds=[Refund("re_1", "ch_old", ago(days=8), 29.5, "EUR", "succeeded", reason=HOSTILE)],
        disputes=[Dispute("dp_1", "ch_old", ago(days=7), 129.5, "EUR", "needs_response", "fraudulent")],
        subscriptions=[Subscription("sub_1", ALICE_MAIL, ago(days=90), "active", "Plus monthly", 4.99, "EUR",
                                    "month", ago(days=-12))]))
    yield db, ids
    db.close()


async def test_the_section_shows_orders_payments_refunds_disputes_and_subscription_with_sources(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(220, 60)) as pilot:
        await pilot.pause()
        text = screen_text(app)
    assert "lifetime value €149.50 EUR (orders)" in text and "2 orders" in text
    assert "#1002" in text and "refund requested" in text and "· shop" in text
    assert "ch_paid1" in text and "ch_old" in text and "refunded €29.50 EUR" in text and "DISPUTED" in text
    assert "dispute €129.50 EUR on ch_old" in text and "needs_response" in text
    assert "Plus monthly" in text and "€4.99 EUR/month" in text and "active" in text
    assert "· payments" in text and "as of: payments" in text
    assert "[@click=app.quit]boom[/]" in text  # shown as text, never as markup
    assert "\x1b" not in text


async def test_dollar_picks_a_payment_shows_the_amount_then_refunds_through_the_gate(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(220, 60)) as pilot:
        await pilot.pause()
        app.query_one("#cust-threads").focus()
        app.query_one(CustomerPane).refund()  # $ (the main screen's key)
        await pilot.pause()
        assert isinstance(app.screen, RefundChooser)
        await press(pilot, "down", "tab", Typed("25"), "tab", Typed("damaged"), "enter")
        await pilot.pause()
        assert "Refund €25.00 EUR on ch_old — Enter again" in screen_text(app)
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind='refund'").fetchone()[0] == 0
        await pilot.press("enter")
        await pilot.pause()
    assert app.performed[-1] == ("refund", ids["refund"], {"charge": "ch_old", "amount": 25.0, "reason": "damaged"})
    row = db.execute("SELECT state, args FROM outbox WHERE kind='refund'").fetchone()
    assert row["state"] == "queued" and '"amount": 25.0' in row["args"]
    event = db.execute("SELECT text FROM messages WHERE thread_id=? ORDER BY id DESC LIMIT 1", (ids["refund"],))
    assert event.fetchone()[0] == "Sam Rivera is refunding €25.00 on ch_old — reason: damaged"


async def test_refund_is_refused_in_read_only_before_any_form_opens(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"], read_only=True)
    async with app.run_test(size=(220, 60)) as pilot:
        await pilot.pause()
        app.query_one("#cust-threads").focus()
        app.query_one(CustomerPane).refund()  # $ (the main screen's key)
        await pilot.pause()
        assert not isinstance(app.screen, RefundChooser)
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind='refund'").fetchone()[0] == 0


async def test_the_composer_shows_a_refund_a_macro_offered_before_it_is_sent(cache):
    from console.actions import Context
    from console.actions import refund

    db, ids = cache
    db.execute("INSERT INTO drafts(thread_id, kind, text, started_at, updated_at) VALUES (?, 'reply', 'Hi', 0, 0)",
               (ids["refund"],))
    refund.offer(Context(db=db, agent="Sam Rivera"), ids["refund"], "full", "macro refund-approved")
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(220, 60)) as pilot:
        await pilot.pause()
        app.query_one("ConversationPane").open_composer("reply")
        await pilot.pause()
        assert "on send: refund €20.00 EUR on ch_paid1" in screen_text(app)
