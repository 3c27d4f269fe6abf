"""Bulk marking in the inbox: space / x mark the row under the cursor, * marks the whole view,
Esc clears; with marks, close / tag / assign / snooze / a macro go to every marked
conversation through the bulk action (one audit row each); read-only refuses in one line."""

from __future__ import annotations

import json

import pytest

from console.cache import queries
from console.config import parse as parse_config
from tests.ui.conftest import AGENT, CONFIG_TOML
from widgets.commands import entries
from widgets.inbox_row import MARKED
from tests.support.pilot import Typed, press, screen_text, settle

SIZES = [(160, 45), (80, 24)]
ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


def line(inbox, index):
    return "".join(seg.text for seg in inbox.render_line(inbox.line_of(index)))


def header(inbox):
    return "".join(seg.text for seg in inbox.render_line(0))


def status(app, tid):
    return app.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0]


def bulk_audit(app, action):
    return sorted(r[0] for r in app.db.execute(
        "SELECT thread_id FROM audit WHERE action=? AND json_extract(args, '$.bulk') AND result='ok'", (action,)))


async def mark_first_three(pilot, app):
    """space, x, space: the cursor's row and the two below it are marked; returns their ids."""
    inbox = app.main.inbox
    marked = [inbox.row_at(inbox.cursor + i).id for i in range(3)]
    await pilot.press("space", "x", "space")
    await settle(pilot)
    return marked


@ids
async def test_space_and_x_mark_the_row_under_the_cursor_and_the_header_counts_them(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        first = inbox.current_thread_id
        await pilot.press("space")
        await settle(pilot)
        assert inbox.marked == {first}
        assert inbox.cursor == 1, "marking steps down, so space space … marks a run"
        assert line(inbox, 0).startswith(MARKED[0])
        assert not line(inbox, 1).startswith(MARKED[0])
        assert "1 marked" in header(inbox)
        await pilot.press("x")
        await settle(pilot)
        assert len(inbox.marked) == 2 and "2 marked" in header(inbox)
        await pilot.press("k", "x")  # x again on a marked row unmarks it
        await settle(pilot)
        assert inbox.marked == {first}
        await pilot.press("escape")
        await settle(pilot)
        assert inbox.marked == set() and "marked" not in header(inbox)


@ids
async def test_star_marks_every_conversation_in_the_view_and_again_clears(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        await pilot.press("asterisk")
        await settle(pilot)
        assert len(inbox.marked) == inbox.total == 48
        assert f"{inbox.total} marked" in header(inbox)
        await pilot.press("asterisk")
        await settle(pilot)
        assert inbox.marked == set()


@ids
async def test_close_with_marks_closes_every_marked_conversation_through_the_bulk_gate(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        marked = await mark_first_three(pilot, app)
        untouched = inbox.current_thread_id  # the cursor is on the fourth row
        await pilot.press("e")
        await settle(pilot)
        assert [status(app, t) for t in marked] == ["closed"] * 3
        assert status(app, untouched) == "open"
        assert bulk_audit(app, "close") == sorted(marked), "one audit row per conversation"
        assert inbox.marked == set() and "marked" not in header(inbox)
        assert any("3 of 3" in n.message for n in app._notifications)


@ids
async def test_snooze_assign_tag_and_macro_go_to_every_marked_conversation(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox

        marked = await mark_first_three(pilot, app)
        await pilot.press("t")
        await settle(pilot)
        await press(pilot, Typed("probe"), "enter")
        await settle(pilot)
        for tid in marked:
            assert "probe" in json.loads(queries.thread(app.db, tid)["tags"])
        assert bulk_audit(app, "tag") == sorted(marked)

        marked = await mark_first_three(pilot, app)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("enter")  # the configured macro "thanks"
        await settle(pilot)
        for tid in marked:
            assert "we are on it" in queries.draft(app.db, tid)["text"]
        assert bulk_audit(app, "apply_macro") == sorted(marked)

        inbox.move_to(0)
        marked = await mark_first_three(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")  # the first choice: me
        await settle(pilot)
        assert [queries.thread(app.db, t)["assignee"] for t in marked] == [AGENT] * 3
        assert bulk_audit(app, "assign") == sorted(marked)

        inbox.move_to(0)
        marked = await mark_first_three(pilot, app)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("enter")  # the first choice: in an hour
        await settle(pilot)
        assert [status(app, t) for t in marked] == ["snoozed"] * 3
        assert bulk_audit(app, "snooze") == sorted(marked)
        assert inbox.marked == set()


@ids
async def test_a_marked_conversation_that_cannot_change_stays_marked(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        marked = await mark_first_three(pilot, app)
        app.perform("save_draft", marked[1], text="half a reply")  # closing it would lose sight of this
        await pilot.press("e")
        await settle(pilot)
        assert [status(app, t) for t in marked] == ["closed", "open", "closed"]
        assert inbox.marked == {marked[1]}
        assert "1 marked" in header(inbox)


@ids
async def test_read_only_marks_but_refuses_the_bulk_action_in_one_line(make_app, size):
    app = make_app(read_only=True)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        while len(app.screen_stack) > 1:  # read-only opens on the dashboard
            app.pop_screen()
            await settle(pilot)
        marked = await mark_first_three(pilot, app)
        before = app.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        await pilot.press("e")
        await settle(pilot)
        assert [status(app, t) for t in marked] == ["open"] * 3
        assert app.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == before
        refusals = [n.message for n in app._notifications if "read-only" in n.message]
        assert len(refusals) == 1 and "\n" not in refusals[0] and "Traceback" not in refusals[0]


@ids
async def test_marking_keys_come_from_the_keymap_and_help_lists_them(make_app, size):
    cfg = parse_config(CONFIG_TOML + '\n[keymap]\ntoggle_mark = "w"\nmark_all = "ctrl+a"\n', "config.toml")
    app = make_app(config=cfg)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        inbox = app.main.inbox
        await pilot.press("space")
        await settle(pilot)
        assert inbox.marked == set(), "space was rebound away"
        await pilot.press("w")
        await settle(pilot)
        assert len(inbox.marked) == 1
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert len(inbox.marked) == inbox.total
        listed = {e.ident: e.key for e in entries(app) if e.kind == "action"}
        assert listed["toggle_mark"] == "w" and listed["mark_all"] == "ctrl+a" and "clear_marks" in listed
        await pilot.press("question_mark")
        await settle(pilot)
        text = "\n".join(plain(t.content) for t in app.screen.query(".help-table"))
        assert "w" in text.split("toggle_mark")[0].splitlines()[-1], "help shows the rebound key"
        assert "ctrl+a" in text.split("mark_all")[0].splitlines()[-1]


@ids
async def test_marking_keys_mark_nothing_while_the_conversation_pane_has_the_focus(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # reading the conversation
        await settle(pilot)
        reading = app.main.conversation.thread_id
        await pilot.press("space", "x", "asterisk")
        await settle(pilot)
        assert app.main.inbox.marked == set()
        assert app.main.conversation.thread_id == reading


def plain(renderable) -> str:
    from rich.console import Console

    console = Console(width=300, record=True, color_system=None, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


@ids
async def test_switching_view_clears_the_marks(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await mark_first_three(pilot, app)
        app.main.switch_view("my_open")
        await settle(pilot)
        assert app.main.inbox.marked == set()
        assert app.main.view.filter.assignee == AGENT


@ids
@pytest.mark.parametrize("key, title, typed, done", [
    ("t", "Tags of 3 conversations", "probe", "3 of 3 conversations tagged"),
    ("m", "Insert a macro into 3 conversations", "", "3 of 3 conversations given the macro"),
    ("a", "Assign 3 conversations to…", "", "3 of 3 conversations assigned"),
    ("s", "Snooze 3 conversations until…", "", "3 of 3 conversations snoozed"),
], ids=["tag", "macro", "assign", "snooze"])
async def test_a_chooser_opened_with_marks_says_how_many_it_will_change_and_the_toast_how_many_did(
        make_app, size, key, title, typed, done):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press(key)  # no marks: the plain title
        await settle(pilot)
        assert "conversations" not in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await mark_first_three(pilot, app)
        await pilot.press(key)
        await settle(pilot)
        assert title in screen_text(app)
        await pilot.press(*typed, "enter")
        await settle(pilot)
        assert any(done in n.message for n in app._notifications)
