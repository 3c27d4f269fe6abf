"""Keys work where the screen offers them: the customer pane's N, L, U and the suggestions'
numbers act from the main screen on the open conversation, and the focused pane shows."""

from __future__ import annotations

import pytest

from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from providers.records import Article, Batch
from tests.ui.test_conversation_harness import seed
from widgets.screens.choosers import ConfirmScreen, LinkChooser, TextPrompt
from tests.support.pilot import Typed, notices, press, screen_text

SIZES = [(160, 45), (80, 24)]


@pytest.fixture
def seeded(tmp_path):
    path = tmp_path / "keys.sqlite3"
    db = connect(path)
    ids = seed(db)
    kb = ensure_account(db, "help-centre", "demo", "knowledge")
    apply_batch(db, kb, Batch(cursor="k2", articles=[
        Article("k2", "Refund for an order", "Still no refund for your order? A refund for an order takes 5 days.",
                ["refund"]),
        Article("k3", "Kettle refund", "A kettle refund: we refund a kettle order once it is back. Still no refund?",
                ["refund"]),
        Article("k4", "Opening hours", "We are open on weekdays.", ["hours"]),
    ]))
    db.close()
    return path, ids


async def opened(app, pilot, tid):
    """The conversation open in the panes, the inbox keeping the keys (no Tab anywhere)."""
    await pilot.pause()
    app.open_thread(tid, focus=False)
    for _ in range(60):
        await pilot.pause(0.05)
        if app.main.panes_ready and app.main.conversation.thread_id == tid:
            break
    app.main.inbox.focus()
    await pilot.pause()
    assert app.main.focused is app.main.inbox


def customer_of(app, tid):
    return app.db.execute("SELECT customer_id FROM threads WHERE id=?", (tid,)).fetchone()[0]


def cell(app, x: int, y: int):
    """(character, style) drawn at column x, row y."""
    strip = app.screen._compositor.render_strips()[y]
    at = 0
    for segment in strip:
        if at + len(segment.text) > x:
            return segment.text[x - at], segment.style
        at += len(segment.text)
    return "", None


@pytest.mark.parametrize("size", SIZES)
async def test_N_from_the_inbox_adds_a_note_to_the_open_conversations_customer(make_app, seeded, size):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        await opened(app, pilot, ids["refund"])
        await pilot.press("N")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await press(pilot, Typed("prefers email"), "enter")
        await pilot.pause()
        note = app.db.execute("SELECT customer_id, text FROM customer_notes").fetchone()
        assert tuple(note) == (customer_of(app, ids["refund"]), "prefers email")


@pytest.mark.parametrize("size", SIZES)
async def test_L_then_U_from_the_inbox_link_and_put_the_identity_back(make_app, seeded, size):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        await opened(app, pilot, ids["refund"])
        alice, before = customer_of(app, ids["refund"]), customer_of(app, ids["social"])
        await pilot.press("L")
        await pilot.pause()
        assert isinstance(app.screen, LinkChooser)
        await press(pilot, Typed("mastodon"), "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "to: Alice Moreau" in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert customer_of(app, ids["social"]) == alice
        assert any(n == "@alice@mastodon.example linked to Alice Moreau" for n in notices(app))
        await pilot.press("U")  # the identity just linked is the one U takes
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "@alice@mastodon.example" in screen_text(app) and "It goes back to Alice M" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert customer_of(app, ids["social"]) == before  # back where it was, not a new customer
        assert customer_of(app, ids["refund"]) == alice


@pytest.mark.parametrize("size", SIZES)
async def test_the_customer_pane_shows_the_link_history(make_app, seeded, size):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        await opened(app, pilot, ids["refund"])
        if not app.main.customer_visible:
            await pilot.press("c")  # a narrow screen shows the pane on c
            await pilot.pause()
        await press(pilot, "L", Typed("mastodon"), "enter", "y")
        await pilot.pause()
        await pilot.press("U", "y")
        await pilot.pause()
        assert app.main.customer_visible
        links = app.query_one("#cust-links").content.plain.splitlines()
        assert "Sam Rivera unlinked social @alice@mastodon.example from Alice Moreau to Alice M" in links[0]
        assert links[1].endswith("Sam Rivera linked social @alice@mastodon.example from Alice M to Alice Moreau"
                                 " · undone")


@pytest.mark.parametrize("size", SIZES)
async def test_2_from_the_inbox_inserts_the_second_suggested_article(make_app, seeded, size):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        await opened(app, pilot, ids["refund"])
        await app.workers.wait_for_complete()  # the ranking is readied in a worker the first time
        await pilot.pause()
        pane = app.main.conversation
        titles = [title for _, title in pane._suggestions]
        assert len(titles) == 3
        assert "1/2/3 inserts one" in app.query_one("#conv-suggestions").border_title
        await pilot.press("2")
        await pilot.pause()
        assert pane.composing
        assert titles[1] in pane.composer.text and titles[0] not in pane.composer.text
        await pilot.press("escape", "escape")
        await pilot.pause()
        app.main.inbox.focus()
        await pilot.press("3")
        await pilot.pause()
        assert titles[2] in pane.composer.text


@pytest.mark.parametrize("size", SIZES)
async def test_the_focused_pane_shows_without_colour(make_app, seeded, size):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        await opened(app, pilot, ids["refund"])
        single = app.main.single  # under 100 columns one pane fills the screen: no edge to draw
        inbox = app.query_one("#inbox-column").region
        edge = inbox.right - 1, inbox.y + inbox.height // 2
        if not single:
            header = app.query_one("#conv-header").region
            assert cell(app, *edge)[0] == "┃"  # the inbox has the keys: a heavy rule
            assert not cell(app, header.x + 1, header.y)[1].reverse
        await pilot.press("enter")  # open: the conversation takes the keys
        await pilot.pause()
        header = app.query_one("#conv-header").region
        if not single:
            assert cell(app, *edge)[0] != "┃"
        assert cell(app, header.x + 1, header.y)[1].reverse
