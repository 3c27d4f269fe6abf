"""The queue flows ("send and next"): after a reply, a close or a snooze the cursor keeps its
place and the next conversation opens; the last one gone, the previous one opens; the
agent's place in the overdue queue survives the finished conversation moving down;
``[ui] auto_advance = false`` turns it off."""

from __future__ import annotations

import pytest

from console.config import ConfigError
from console.config import parse as parse_config
from tests.ui.conftest import CONFIG_TOML
from tests.support.pilot import settle

SIZES = [(160, 45), (80, 24)]
ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
FAR = 9e15


def shown(app):
    """The conversation the panes show."""
    return app.main.conversation.thread_id


async def reply_from_the_pane(pilot, text="We are on it."):
    await pilot.press("enter")  # open it: the agent reads it in the conversation pane
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    await pilot.press(*text, "ctrl+s")
    await settle(pilot)


@ids
async def test_send_opens_the_next_conversation_and_the_place_in_the_overdue_queue_is_kept(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        await pilot.press("j", "j")  # the third most overdue conversation
        await settle(pilot)
        replied, after = inbox.current_thread_id, inbox.row_at(3).id
        await reply_from_the_pane(pilot)
        assert app.db.execute("SELECT COUNT(*) FROM outbox WHERE thread_id=? AND kind='reply'",
                              (replied,)).fetchone()[0] == 1
        assert inbox.current_thread_id == after and shown(app) == after, "the next conversation opened"
        assert app.main.conversation.has_focus_within, "ready to read it"
        # The engine then finds nothing due on the answered one: it drops to the end of the queue.
        app.db.execute("UPDATE threads SET sla_due_at=NULL, sort_due=? WHERE id=?", (FAR, replied))
        app.changed({replied})
        await settle(pilot)
        assert inbox.row_at(inbox.total - 1).id == replied
        assert inbox.current_thread_id == after and inbox.cursor == 2, "same place in the queue, next one there"
        assert shown(app) == after


@ids
async def test_close_and_snooze_open_the_next_even_where_the_row_stays_in_the_view(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("g", "r")  # the saved view "Refunds" (status:all): a closed one stays in it
        await settle(pilot)
        inbox = app.main.inbox
        assert app.main.view.name == "Refunds" and inbox.total >= 4
        first, second, third = (inbox.row_at(i).id for i in range(3))
        await pilot.press("e")
        await settle(pilot)
        assert inbox.contains(first), "still in this view"
        assert inbox.current_thread_id == second and shown(app) == second
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.db.execute("SELECT status FROM threads WHERE id=?", (second,)).fetchone()[0] == "snoozed"
        assert inbox.current_thread_id == third and shown(app) == third


@ids
async def test_closing_the_last_row_opens_the_previous_one(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        await pilot.press("G")
        await settle(pilot)
        last, previous = inbox.current_thread_id, inbox.row_at(inbox.cursor - 1).id
        await pilot.press("e")
        await settle(pilot)
        assert not inbox.contains(last)
        assert inbox.current_thread_id == previous and shown(app) == previous


@ids
async def test_assigning_away_opens_the_next_only_when_the_row_leaves_the_view(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        stays = inbox.current_thread_id
        await pilot.press("a", "down", "enter")  # to Kim Lee, in "All open": it stays in the view
        await settle(pilot)
        assert app.db.execute("SELECT assignee FROM threads WHERE id=?", (stays,)).fetchone()[0] == "Kim Lee"
        assert inbox.current_thread_id == stays
        await pilot.press("g", "m")  # "My open"
        await settle(pilot)
        mine, after = inbox.current_thread_id, inbox.row_at(1).id
        await pilot.press("a", "down", "enter")
        await settle(pilot)
        assert not inbox.contains(mine)
        assert inbox.current_thread_id == after and shown(app) == after


@ids
async def test_auto_advance_off_keeps_the_cursor_on_the_answered_conversation(make_app, size):
    cfg = parse_config(CONFIG_TOML + "\n[ui]\nauto_advance = false\n", "config.toml")
    assert cfg.auto_advance is False
    app = make_app(config=cfg)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        replied = inbox.current_thread_id
        await reply_from_the_pane(pilot)
        assert inbox.current_thread_id == replied and shown(app) == replied


@ids
async def test_read_only_refuses_and_the_cursor_stays(make_app, size):
    app = make_app(read_only=True)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        while len(app.screen_stack) > 1:  # read-only opens on the dashboard
            app.pop_screen()
            await settle(pilot)
        await pilot.press("g", "r")
        await settle(pilot)
        inbox = app.main.inbox
        here = inbox.current_thread_id
        await pilot.press("e")
        await settle(pilot)
        assert inbox.current_thread_id == here and app.db.execute(
            "SELECT status FROM threads WHERE id=?", (here,)).fetchone()[0] != "closed"


def test_auto_advance_must_be_true_or_false_in_one_line():
    with pytest.raises(ConfigError) as err:
        parse_config(CONFIG_TOML + '\n[ui]\nauto_advance = "yes"\n', "config.toml")
    assert "ui.auto_advance must be true or false" in str(err.value)
    assert "\n" not in str(err.value)
    assert parse_config(CONFIG_TOML, "config.toml").auto_advance is True
