"""The panes inside the real SwitchboardApp: keys from the registry, the app's perform, refreshes."""

from __future__ import annotations

import pytest

from console.cache import connect
from tests.ui.test_conversation_harness import flat, seed, static_text
from tests.support.pilot import Typed, notices, press, screen_text, type_text

SIZE = (180, 50)


@pytest.fixture
def seeded(tmp_path):
    path = tmp_path / "panes.sqlite3"
    db = connect(path)
    ids = seed(db)
    db.close()
    return path, ids


async def open_in(app, pilot, tid):
    await pilot.pause()
    app.open_thread(tid)
    for _ in range(60):  # the panes load after the first frame; on a loaded machine that takes a while
        await pilot.pause(0.05)
        pane = app.main.conversation if app.main.panes_ready else None
        if pane is not None and pane.thread_id == tid:
            break
    assert app.main.conversation.thread_id == tid


async def test_r_composes_ctrl_s_queues_failed_shows_reason_R_retries(make_app, seeded):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=SIZE) as pilot:
        tid = ids["refund"]
        await open_in(app, pilot, tid)
        await pilot.press("r")
        await pilot.pause()
        assert app.main.conversation.composing
        # Letters that are keys elsewhere (r, n, j, k, q, e, s) go into the text, not to the app.
        await type_text(pilot, "Thanks, your refund is queued and sent soon. jk")
        await pilot.pause()
        assert app.main.conversation.composer.text == "Thanks, your refund is queued and sent soon. jk"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not app.main.conversation.composing
        row = app.db.execute("SELECT id, state FROM outbox WHERE thread_id=? AND kind='reply'", (tid,)).fetchone()
        assert row["state"] == "queued"
        await open_in(app, pilot, tid)  # sending opened the next conversation (send and next): back to this one
        assert "⏳ queued" in screen_text(app)
        app.db.execute("UPDATE outbox SET state='failed', last_error='550 mailbox unavailable' WHERE id=?",
                       (row["id"],))
        app.db.execute("UPDATE messages SET state='failed' WHERE outbox_id=?", (row["id"],))
        app.changed({tid})
        await pilot.pause()
        assert "✗ failed: 550 mailbox unavailable" in screen_text(app)
        assert "✗ failed: 550 mailbox unavailable — press R to retry" in flat(static_text(app.query_one("#conv-scroll")))
        await pilot.press("R")
        await pilot.pause()
        assert app.db.execute("SELECT state FROM outbox WHERE id=?", (row["id"],)).fetchone()[0] == "queued"
        assert "⏳ queued" in screen_text(app)


async def test_n_note_and_escape_keeps_the_draft(make_app, seeded):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=SIZE) as pilot:
        tid = ids["chat"]
        await open_in(app, pilot, tid)
        await pilot.press("n")
        await pilot.pause()
        assert app.main.conversation.composing and app.main.conversation.composer.kind == "note"
        assert "NOTE (internal)" in screen_text(app)
        await type_text(pilot, "check the parcel")
        await pilot.press("escape")
        await pilot.pause()
        assert not app.main.conversation.composing
        draft = app.db.execute("SELECT kind, text FROM drafts WHERE thread_id=?", (tid,)).fetchone()
        assert tuple(draft) == ("note", "check the parcel")
        assert "unsent note draft" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.main.conversation.composer.text == "check the parcel"


async def test_read_only_refuses_composing_and_customer_changes(make_app, seeded):
    path, ids = seeded
    app = make_app(path=path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(6):  # the dashboard opens first in read-only mode (after the first frame)
            await pilot.pause(0.05)
            while len(app.screen_stack) > 1:
                app.pop_screen()
        await open_in(app, pilot, ids["refund"])
        await pilot.press("r")
        await pilot.pause()
        assert not app.main.conversation.composing
        assert app.main.conversation.open_composer("note") is False
        app.query_one("#cust-identities").focus()
        await pilot.press("L")
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert any("read-only" in n for n in notices(app))
        assert app.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


async def test_customer_pane_enter_opens_the_conversation_in_the_app(make_app, seeded):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=SIZE) as pilot:
        await open_in(app, pilot, ids["refund"])
        # Link Alice's social identity by hand, then open her social post from the pane.
        app.query_one("#cust-identities").focus()
        await pilot.press("L")
        await pilot.pause()
        await press(pilot, Typed("mastodon"), "enter", "y")  # y: the link, once both customers were shown
        await pilot.pause()
        threads = app.query_one("#cust-threads")
        threads.focus()
        index = next(i for i in range(threads.option_count)
                     if threads.get_option_at_index(i).id == f"t{ids['social']}")
        threads.highlighted = index
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.main.conversation.thread_id == ids["social"]
        assert "@shop my kettle leaks" in static_text(app.query_one("#conv-scroll"))


async def test_z_folds_quotes_when_the_pane_has_focus(make_app, seeded):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=SIZE) as pilot:
        await open_in(app, pilot, ids["refund"])
        app.query_one("#conv-scroll").focus()
        assert "quoted lines (z to show)" in static_text(app.query_one("#conv-scroll"))
        await pilot.press("z")
        await pilot.pause()
        assert "> Kind regards" in static_text(app.query_one("#conv-scroll"))


async def test_pane_keys_follow_the_keymap(make_app, seeded):
    from console.config import parse as parse_config

    path, ids = seeded
    config = parse_config('[agent]\nname = "Sam Rivera"\n[keymap]\ntoggle_quotes = "Q"\nsend = "ctrl+g"\n',
                          "config.toml")
    app = make_app(path=path, config=config)
    async with app.run_test(size=SIZE) as pilot:
        assert not app.startup_problems
        await open_in(app, pilot, ids["refund"])
        app.query_one("#conv-scroll").focus()
        assert "quoted lines (Q to show)" in static_text(app.query_one("#conv-scroll"))
        await pilot.press("z")
        await pilot.pause()
        assert "> Kind regards" not in static_text(app.query_one("#conv-scroll"))
        await pilot.press("Q")
        await pilot.pause()
        assert "> Kind regards" in static_text(app.query_one("#conv-scroll"))
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "via remapped send")
        assert "ctrl+g send" in static_text(app.query_one("#composer-status"), 200)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.db.execute("SELECT text FROM outbox WHERE kind='reply'").fetchone()[0] == "via remapped send"


async def test_macro_while_composing_keeps_what_was_typed(make_app, seeded):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=SIZE) as pilot:
        await open_in(app, pilot, ids["refund"])
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "Hi Alice")
        await app.run_registry_action("choose_macro")  # what the palette does while the composer has focus
        await pilot.pause()
        assert type(app.screen).__name__ == "MacroChooser"
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.main.conversation.composing
        text = app.main.conversation.composer.text
        assert text.startswith("Hi Alice") and "we are on it" in text
