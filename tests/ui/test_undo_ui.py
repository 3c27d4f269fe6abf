"""Undo in the console, at 160x45 and 80x24: the toast after close, snooze, tag, assign or merge
offers the undo key for the undo window; the key (ctrl+z, or what [keymap] says) takes the change
back; an email reply waits the account's undo_send seconds with a countdown in the status bar
that the same key cancels; a chat reply goes at once, with no countdown."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from console.actions.undo import UNDO_SECONDS
from console.config import parse as parse_config
from tests.ui.conftest import CONFIG_TOML
from tests.support.pilot import settle, type_text, wait_until

SIZES = [(160, 45), (80, 24)]
ACCOUNTS = """
[[accounts]]
name = "support-mail"
provider = "demo"
undo_send = 30

[[accounts]]
name = "live-chat"
provider = "demo"
undo_send = 30
"""


def toasts(app) -> list:
    return list(app._notifications)


def status_of(path, thread_id: int) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT status FROM threads WHERE id=?", (thread_id,)).fetchone()[0]
    finally:
        db.close()


async def open_remote(app, pilot, remote_id: str, thread_ids) -> int:
    tid = thread_ids[remote_id]
    app.main.open_thread(tid, focus=False)
    await settle(pilot)
    return tid


@pytest.mark.parametrize("size", SIZES)
async def test_close_says_how_to_undo_for_the_undo_window_and_ctrl_z_reopens(make_app, cache_path, thread_ids,
                                                                            size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        tid = await open_remote(app, pilot, "t0", thread_ids)
        await pilot.press("e")
        await settle(pilot)
        assert status_of(cache_path, tid) == "closed"
        toast = toasts(app)[-1]
        assert toast.message == "conversation closed — ctrl+z to undo"
        assert toast.timeout == UNDO_SECONDS  # offered exactly as long as it works; no countdown in it
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert status_of(cache_path, tid) == "open"
        assert toasts(app)[-1].message == "undone: the close"


@pytest.mark.parametrize("size", SIZES)
async def test_snooze_tag_and_assign_from_their_dialogs_offer_undo(make_app, cache_path, thread_ids, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        tid = await open_remote(app, pilot, "t1", thread_ids)
        app.main.host.perform("snooze", tid, until="tomorrow")  # what the snooze dialog calls on Enter
        app.main.host.perform("tag", tid, add=["probe"], remove=[])
        app.main.host.perform("assign", tid, to="Kim Lee")
        await settle(pilot)
        said = [t.message for t in toasts(app)]
        assert len(said) == 3 and all(m.endswith(" — ctrl+z to undo") for m in said), said
        await pilot.press("ctrl+z")  # the last change first: the assignment
        await settle(pilot)
        db = sqlite3.connect(cache_path)
        row = db.execute("SELECT assignee, tags, status FROM threads WHERE id=?", (tid,)).fetchone()
        db.close()
        assert row[0] is None and json.loads(row[1]) == ["probe"] and row[2] == "snoozed"


@pytest.mark.parametrize("size", SIZES)
async def test_the_undo_key_is_rebindable_and_the_toast_names_the_new_key(make_app, size):
    config = parse_config(CONFIG_TOML + '\n[keymap]\nundo = "ctrl+y"\n', "config.toml")
    app = make_app(config=config)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        tid = app.main.settle()
        await pilot.press("e")
        await settle(pilot)
        assert toasts(app)[-1].message == "conversation closed — ctrl+y to undo"
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert app.main.host.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "open"


@pytest.mark.parametrize("size", SIZES)
async def test_nothing_to_undo_says_so_in_words(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert "nothing to undo" in toasts(app)[-1].message


@pytest.mark.parametrize("size", SIZES)
async def test_undo_is_refused_in_read_only_mode(make_app, cache_path, size):
    app = make_app(read_only=True)
    before = sqlite3.connect(cache_path).execute("SELECT COUNT(*) FROM audit WHERE result='ok'").fetchone()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.pop_screen()  # the dashboard is the supervisor's first screen
        await settle(pilot)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert any("read-only" in t.message for t in toasts(app))
    after = sqlite3.connect(cache_path).execute("SELECT COUNT(*) FROM audit WHERE result='ok'").fetchone()
    assert before == after


async def send_reply(pilot, text: str = "We are on it"):
    await pilot.press("r")
    await settle(pilot)
    await type_text(pilot, text)
    await pilot.press("ctrl+s")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
async def test_an_email_reply_counts_down_its_undo_send_window_and_ctrl_z_cancels_it(make_app, cache_path,
                                                                                   thread_ids, size):
    config = parse_config(CONFIG_TOML + ACCOUNTS, "config.toml")
    app = make_app(config=config)
    async with app.run_test(size=size) as pilot:
        tid = await open_remote(app, pilot, "t0", thread_ids)  # an email conversation
        app.clock.at = time.time()
        await send_reply(pilot)
        bar = app.main.statusbar
        due = app.main.host.db.execute("SELECT next_try_at FROM outbox WHERE thread_id=? AND kind='reply'",
                                       (tid,)).fetchone()[0]
        app.clock.at = due - 30  # the moment it was queued
        await wait_until(pilot, lambda: "sending in 30 s" in bar.render().plain, what="the 30 s countdown")
        line = bar.render().plain
        assert "sending in 30 s — ctrl+z cancels" in line, line
        assert line.rstrip().endswith("? help")
        app.clock.at = due - 3  # the console's clock moves on: the countdown follows, second by second
        await wait_until(pilot, lambda: "sending in 3 s" in bar.render().plain, what="the countdown at 3 s")
        assert "sending in 3 s — ctrl+z cancels" in bar.render().plain
        app.clock.at = time.time()
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert "sending in" not in bar.render().plain
        db = app.main.host.db
        assert db.execute("SELECT state FROM outbox WHERE thread_id=? AND kind='reply'", (tid,)).fetchone()[0] \
            == "cancelled"
        assert db.execute("SELECT text FROM drafts WHERE thread_id=?", (tid,)).fetchone()[0].startswith("We are on it")
        assert "sending cancelled" in toasts(app)[-1].message


@pytest.mark.parametrize("size", SIZES)
async def test_the_countdown_disappears_when_the_window_ends(make_app, thread_ids, size):
    config = parse_config(CONFIG_TOML + ACCOUNTS, "config.toml")
    app = make_app(config=config)
    async with app.run_test(size=size) as pilot:
        tid = await open_remote(app, pilot, "t0", thread_ids)
        app.clock.at = time.time()
        await send_reply(pilot)
        assert "sending in" in app.main.statusbar.render().plain
        due = app.main.host.db.execute("SELECT next_try_at FROM outbox WHERE thread_id=?", (tid,)).fetchone()[0]
        app.clock.at = due + 0.1  # the window is over: the reply may go; nothing frozen at 0 stays
        await wait_until(pilot, lambda: "sending in" not in app.main.statusbar.render().plain,
                         what="the countdown to leave the status bar")


@pytest.mark.parametrize("size", SIZES)
async def test_a_chat_reply_has_no_undo_send_window(make_app, thread_ids, size):
    config = parse_config(CONFIG_TOML + ACCOUNTS, "config.toml")
    app = make_app(config=config)
    async with app.run_test(size=size) as pilot:
        tid = await open_remote(app, pilot, "t1", thread_ids)  # a chat conversation
        app.clock.at = time.time()
        await send_reply(pilot)
        assert "sending in" not in app.main.statusbar.render().plain
        row = app.main.host.db.execute("SELECT state, next_try_at FROM outbox WHERE thread_id=? AND kind='reply'",
                                       (tid,)).fetchone()
        assert tuple(row) == ("queued", 0)  # free to go at once
