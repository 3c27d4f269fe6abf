"""Every movement key, the mouse wheel and the scrollbar move the cursor; the cursor's row stays
on screen and the panes show the conversation under it (at 160x45 and 80x24)."""

from __future__ import annotations

import pytest
from textual import events
from textual.scrollbar import ScrollTo

from console.actions import REGISTRY
from tests.ui.test_inbox import big_cache
from tests.support.pilot import settle

SIZES = [(160, 45), (80, 24)]
ROWS = 300
MOVES = ("cursor_down", "cursor_up", "cursor_top", "cursor_bottom", "half_page_down", "half_page_up")
START = 150  # the cursor starts mid-list, the view scrolled to show it


def expected(action_id: str, start: int, half: int) -> int:
    return {"cursor_down": start + 1, "cursor_up": start - 1, "cursor_top": 0, "cursor_bottom": ROWS - 1,
            "half_page_down": start + half, "half_page_up": start - half}[action_id]


def keys_of(app, action_id):
    """Each key the keymap gives the action, as pilot key presses ("g,g" is two presses)."""
    return [spec.split(",") for spec in app.keymap.keys[action_id]]


def assert_cursor_in_sight_and_panes_follow(app):
    inbox = app.main.inbox
    rows_on_screen = inbox.scrollable_content_region.height - 1  # under the header row
    assert 1 <= inbox.line_of(inbox.cursor) <= rows_on_screen, "the row under the cursor is on screen"
    assert app.main.current == inbox.current_thread_id
    assert app.main.conversation.thread_id == inbox.current_thread_id


@pytest.fixture
def big_app(make_app, tmp_path):
    path = tmp_path / "moves.sqlite3"
    big_cache(path, ROWS)
    return make_app(path=path)


def test_every_movement_action_of_the_inbox_is_covered_here():
    movement = {a.id for a in REGISTRY.values() if a.context == "inbox" and a.id.startswith(("cursor_", "half_page_"))}
    assert movement == set(MOVES)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_movement_key_moves_the_cursor_not_only_the_view(big_app, size):
    app = big_app
    async with app.run_test(size=size) as pilot:
        inbox = app.main.inbox
        half = max(1, (inbox.scrollable_content_region.height - 1) // 2)
        for action_id in MOVES:
            for keys in keys_of(app, action_id):
                inbox.move_to(START)
                await settle(pilot)
                await pilot.press(*keys)
                await settle(pilot)
                assert inbox.cursor == expected(action_id, START, half), f"{'+'.join(keys)} ({action_id})"
                assert inbox.current_row.subject == f"S{inbox.cursor:05d}"
                assert_cursor_in_sight_and_panes_follow(app)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_mouse_wheel_moves_the_cursor_with_the_view(big_app, size):
    app = big_app
    async with app.run_test(size=size) as pilot:
        inbox = app.main.inbox
        await settle(pilot)
        for _ in range(10):
            await pilot._post_mouse_events([events.MouseScrollDown], "#inbox", offset=(5, 3))
        await settle(pilot)
        assert inbox.top > 0, "the view scrolled"
        assert inbox.cursor > 0, "and the cursor came with it"
        assert_cursor_in_sight_and_panes_follow(app)
        before = inbox.cursor
        await pilot._post_mouse_events([events.MouseScrollUp], "#inbox", offset=(5, 3))
        await settle(pilot)
        assert inbox.cursor < before
        assert_cursor_in_sight_and_panes_follow(app)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_dragging_the_scrollbar_brings_the_cursor_along(big_app, size):
    app = big_app
    async with app.run_test(size=size) as pilot:
        inbox = app.main.inbox
        await settle(pilot)
        inbox.post_message(ScrollTo(y=200, animate=False))  # what a scrollbar drag sends
        await settle(pilot)
        assert inbox.top == 200
        assert inbox.cursor == 200  # the nearest visible row
        assert_cursor_in_sight_and_panes_follow(app)
        inbox.post_message(ScrollTo(y=20, animate=False))
        await settle(pilot)
        assert inbox.cursor == 20 + inbox.scrollable_content_region.height - 2  # the last visible row
        assert_cursor_in_sight_and_panes_follow(app)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_close_after_page_down_acts_on_the_conversation_in_sight(big_app, size):
    app = big_app
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("pagedown", "pagedown", "end", "pageup")
        await settle(pilot)
        inbox = app.main.inbox
        seen = inbox.current_row.subject
        assert_cursor_in_sight_and_panes_follow(app)
        await pilot.press("e")
        await settle(pilot)
        closed = [r[0] for r in app.db.execute("SELECT subject FROM threads WHERE status='closed'")]
        assert closed == [seen]
