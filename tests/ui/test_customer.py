"""The customer pane: identities, orders, conversations (Enter opens), notes; L / U / N."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from console.cache import connect
from console.cache.ingest import apply_batch
from providers.records import Batch, Channel, Direction, Message, Thread
from tests.support.pilot import Typed, notices, press, screen_text
from tests.ui.test_conversation_harness import (
    ALICE_MAIL,
    PaneApp,
    ago,
    seed,
    static_text,
)
from widgets.screens.choosers import ConfirmScreen, LinkChooser, TextPrompt
from widgets.conversation import ConversationPane
from widgets.customer import CustomerPane


@pytest.fixture
def cache(tmp_path):
    db = connect(tmp_path / "cache.sqlite3")
    ids = seed(db)
    mail = db.execute("SELECT id FROM accounts WHERE name='support-mail'").fetchone()[0]
    apply_batch(db, mail, Batch(cursor="m9", threads=[
        Thread("t-old", Channel.EMAIL, "Where is my kettle?", ALICE_MAIL, ago(days=30))],
        messages=[Message("old1", "t-old", Direction.INBOUND, ALICE_MAIL, ago(days=30), "Not arrived yet")]))
    db.execute("UPDATE threads SET status='closed' WHERE remote_id='t-old'")
    ids["old"] = db.execute("SELECT id FROM threads WHERE remote_id='t-old'").fetchone()[0]
    yield db, ids
    db.close()


def pane_text(app) -> str:
    return screen_text(app)


async def test_shows_identities_orders_conversations_and_notes(cache):
    db, ids = cache
    db.execute("INSERT INTO customer_notes(customer_id, author, text, created_at) "
               "SELECT customer_id, 'Lee', 'Prefers email [bold]x', 0 FROM threads WHERE id=?", (ids["refund"],))
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        text = pane_text(app)
        assert "Alice Moreau" in text and "tags: vip" in text
        assert "alice@example.com" in text
        assert "#1002" in text and "€20.00 EUR" in text and "refund requested" in text
        assert "#1001" in text and "€129.50 EUR" in text and "delivered" in text
        assert "Refund for order 1002" in text and "(this one)" in text
        assert "Where is my kettle?" in text and "closed" in text
        assert "Lee: Prefers email [bold]x" in text
        threads = app.query_one("#cust-threads", OptionList)
        assert threads.option_count == 2


async def test_enter_on_a_conversation_opens_it(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        threads = app.query_one("#cust-threads", OptionList)
        threads.focus()
        await pilot.press("down" if threads.highlighted == 0 else "up")
        await pilot.press("enter")
        await pilot.pause()
        assert app.opened[-1] == ids["old"]
        assert app.query_one(ConversationPane).thread_id == ids["old"]
        assert "Not arrived yet" in screen_text(app)


async def test_link_an_identity_then_unlink_it_each_after_a_question(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        pane = app.query_one(CustomerPane)
        app.query_one("#cust-identities").focus()
        app.query_one(CustomerPane).link_identity()  # L (the main screen's key: test_customer_keys)
        await pilot.pause()
        assert isinstance(app.screen, LinkChooser)
        await press(pilot, Typed("mastodon"))
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1
        assert "@alice@mastodon.example" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)  # both customers, before anything moves
        question = screen_text(app)
        assert "Move social @alice@mastodon.example" in question
        assert "from: Alice M · 1 conversation · 1 identity" in question
        assert "to: Alice Moreau · 2 conversations · 1 identity" in question and "email alice@example.com" in question
        assert db.execute("SELECT customer_id FROM threads WHERE id=?", (ids["social"],)).fetchone()[0] \
            != pane.customer_id
        await pilot.press("y")
        await pilot.pause()
        social_customer = db.execute("SELECT customer_id FROM threads WHERE id=?", (ids["social"],)).fetchone()[0]
        assert social_customer == pane.customer_id
        text = screen_text(app)
        assert "@alice@mastodon.example" in text and "12k followers" in text and "✓ verified" in text
        assert "@shop my kettle leaks" in text  # her social conversation is listed now
        assert app.query_one("#cust-threads", OptionList).option_count == 3
        # Unlink: select the social identity and press U.
        idents = app.query_one("#cust-identities", OptionList)
        idents.focus()
        index = next(i for i in range(idents.option_count) if "mastodon" in str(idents.get_option_at_index(i).prompt))
        idents.highlighted = index
        app.query_one(CustomerPane).unlink_identity()  # U
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "It goes back to Alice M" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert db.execute("SELECT customer_id FROM threads WHERE id=?", (ids["social"],)).fetchone()[0] \
            != pane.customer_id
        assert idents.option_count == 1
        hows = [r[0] for r in db.execute("SELECT how FROM identity_links ORDER BY id")]
        assert hows[-2:] == ["manual", "unlink"]


async def test_unlink_the_only_identity_is_refused(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        app.query_one("#cust-identities").focus()
        app.query_one(CustomerPane).unlink_identity()  # U
        await pilot.pause()
        assert any("only one identity" in n for n in notices(app))
        assert db.execute("SELECT COUNT(*) FROM identity_links WHERE how='unlink'").fetchone()[0] == 0


async def test_add_a_customer_note(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        app.query_one("#cust-threads").focus()
        app.query_one(CustomerPane).customer_note()  # N
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("enter")  # empty: refused inside the prompt
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await press(pilot, Typed("Allergic to [@click=app.quit]links"))
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, TextPrompt)
        row = db.execute("SELECT author, text FROM customer_notes").fetchone()
        assert tuple(row) == ("Sam Rivera", "Allergic to [@click=app.quit]links")
        assert "Sam Rivera: Allergic to [@click=app.quit]links" in screen_text(app)


async def test_read_only_refuses_link_unlink_and_note(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"], read_only=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        app.query_one("#cust-identities").focus()
        pane = app.query_one(CustomerPane)
        for act in (pane.link_identity, pane.unlink_identity, pane.customer_note):  # L, U, N
            act()
            await pilot.pause()
            assert not isinstance(app.screen, (LinkChooser, TextPrompt))
        refusals = [n for n in notices(app) if "read-only" in n]
        assert len(refusals) == 3
        assert db.execute("SELECT COUNT(*) FROM identity_links WHERE how IN ('manual','unlink')").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM customer_notes").fetchone()[0] == 0


async def test_customer_pane_text_is_inert(cache):
    db, ids = cache
    db.execute("UPDATE customers SET name='[@click=app.quit]Evil\x1b]0;t\x07' WHERE id="
               "(SELECT customer_id FROM threads WHERE id=?)", (ids["chat"],))
    app = PaneApp(db, thread_id=ids["chat"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[@click=app.quit]Evil" in text and "\x1b" not in text
        header = static_text(app.query_one("#cust-header"))
        assert "[@click=app.quit]Evil" in header


async def test_many_conversations_are_capped_and_listed_in_the_inbox_on_demand(cache):
    from widgets.customer import MAX_THREADS

    db, ids = cache
    mail = db.execute("SELECT id FROM accounts WHERE name='support-mail'").fetchone()[0]
    apply_batch(db, mail, Batch(cursor="m10", threads=[
        Thread(f"bulk{n}", Channel.EMAIL, f"Bulk question {n}", ALICE_MAIL, ago(days=40 + n)) for n in range(40)]))
    total = db.execute("SELECT COUNT(*) FROM threads WHERE customer_id="
                       "(SELECT customer_id FROM threads WHERE id=?)", (ids["refund"],)).fetchone()[0]
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        threads = app.query_one("#cust-threads", OptionList)
        assert threads.option_count == MAX_THREADS + 1
        last = threads.get_option_at_index(threads.option_count - 1)
        assert f"all {total} conversations" in str(last.prompt)
        threads.focus()
        threads.highlighted = threads.option_count - 1
        await pilot.press("enter")
        await pilot.pause()
        listed, title = app.shown_threads[-1]
        assert len(listed) == total and ids["refund"] in listed
        assert title == "Alice Moreau: all conversations"


async def test_hidden_pane_catches_up_when_shown(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        pane = app.query_one(CustomerPane)
        pane.display = False
        app.open_thread(ids["chat"])
        await pilot.pause()
        assert pane.history["customer"]["name"] == "Alice Moreau"  # not re-read while hidden
        pane.display = True
        await pilot.pause()
        assert pane.history["customer"]["name"] == "Bob Okafor"
        assert "Bob Okafor" in screen_text(app)


async def test_actions_on_a_hidden_pane_use_the_open_conversations_customer(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        pane = app.query_one(CustomerPane)
        pane.display = False
        app.open_thread(ids["chat"])
        await pilot.pause()
        pane.customer_note()  # as N or the palette does while the pane is hidden
        await pilot.pause()
        await press(pilot, Typed("bob note"), "enter")
        await pilot.pause()
        bob = db.execute("SELECT customer_id FROM threads WHERE id=?", (ids["chat"],)).fetchone()[0]
        assert tuple(db.execute("SELECT customer_id, text FROM customer_notes").fetchone()) == (bob, "bob note")
