"""Pilot tests: every default key of the main screen does what the help says."""

from __future__ import annotations

import json

from console.cache import queries
from tests.ui.conftest import AGENT
from tests.support.pilot import settle

SIZE = (160, 50)


def thread_row(app, tid):
    return app.db.execute("SELECT * FROM threads WHERE id=?", (tid,)).fetchone()


def outbox_kinds(app, tid):
    return [r[0] for r in app.db.execute("SELECT kind FROM outbox WHERE thread_id=? ORDER BY id", (tid,))]


async def test_j_k_arrows_move_and_panes_follow(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.main.inbox.current_thread_id
        await pilot.press("j", "j", "down")
        await settle(pilot)
        assert app.main.inbox.cursor == 3
        third = app.main.inbox.current_thread_id
        assert third != first
        assert app.main.conversation.thread_id == third  # the panes follow the resting cursor
        await pilot.press("k", "up")
        await settle(pilot)
        assert app.main.inbox.cursor == 1


async def test_g_g_top_G_bottom_and_half_pages(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        total = app.main.inbox.total
        await pilot.press("G")
        assert app.main.inbox.cursor == total - 1
        await pilot.press("g", "g")
        assert app.main.inbox.cursor == 0
        await pilot.press("ctrl+d")
        half = app.main.inbox.cursor
        assert half > 5  # half of a ~49-row viewport
        await pilot.press("ctrl+d")
        second = app.main.inbox.cursor
        assert second == min(total - 1, 2 * half)
        await pilot.press("ctrl+u")
        assert app.main.inbox.cursor == second - half
        await pilot.press("end")
        assert app.main.inbox.cursor == total - 1
        await pilot.press("home")
        assert app.main.inbox.cursor == 0


async def test_enter_opens_focuses_conversation_and_marks_read(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")  # t1 is unread
        await settle(pilot)
        tid = app.main.inbox.current_thread_id
        assert thread_row(app, tid)["unread"] == 1
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.conversation.thread_id == tid
        assert app.focused is not app.main.inbox and app.main.conversation in app.focused.ancestors_with_self
        assert thread_row(app, tid)["unread"] == 0
        assert outbox_kinds(app, tid) == ["mark_read"]
        await pilot.press("escape")  # back to the inbox
        assert app.focused is app.main.inbox


async def test_e_closes_and_o_reopens(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tid = app.main.inbox.current_thread_id
        await pilot.press("e")
        await settle(pilot)
        assert thread_row(app, tid)["status"] == "closed"
        assert "close" in outbox_kinds(app, tid)
        # It left the "All open" view; show it again and reopen.
        app.show_threads([tid], "one")
        await settle(pilot)
        assert app.main.inbox.current_thread_id == tid
        await pilot.press("o")
        await settle(pilot)
        assert thread_row(app, tid)["status"] == "open"


async def test_s_snoozes_through_the_chooser(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tid = app.main.inbox.current_thread_id
        await pilot.press("s")
        await settle(pilot)
        assert type(app.screen).__name__ == "SnoozeChooser"
        await pilot.press("enter")  # first preset: in 1 hour
        await settle(pilot)
        row = thread_row(app, tid)
        assert row["status"] == "snoozed" and row["snoozed_until"] is not None
        assert len(app.screen_stack) == 1


async def test_a_assigns_to_me(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")  # t1: unassigned
        await settle(pilot)
        tid = app.main.inbox.current_thread_id
        assert thread_row(app, tid)["assignee"] is None
        await pilot.press("a")
        await settle(pilot)
        assert type(app.screen).__name__ == "AssignChooser"
        await pilot.press("enter")
        await settle(pilot)
        assert thread_row(app, tid)["assignee"] == AGENT


async def test_t_tags_and_p_priority(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tid = app.main.inbox.current_thread_id
        await pilot.press("t")
        await settle(pilot)
        assert type(app.screen).__name__ == "TagChooser"
        app.screen.query_one("#tag-input").focus()
        for ch in "urgent":
            await pilot.press(ch)
        await pilot.press("enter")
        await settle(pilot)
        assert "urgent" in json.loads(thread_row(app, tid)["tags"])
        await pilot.press("p")
        await settle(pilot)
        assert type(app.screen).__name__ == "PriorityChooser"
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        assert thread_row(app, tid)["priority"] == 1  # Esc changed nothing


async def test_r_and_n_open_the_composer(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert app.main.conversation.composing
        assert app.main.conversation.composer.kind == "reply"
        await pilot.press("escape")  # the composer closes, the draft stays
        await settle(pilot)
        assert not app.main.conversation.composing
        await pilot.press("escape")
        await pilot.press("n")
        await settle(pilot)
        assert app.main.conversation.composing and app.main.conversation.composer.kind == "note"


async def test_m_inserts_a_macro_into_the_draft(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tid = app.main.inbox.current_thread_id
        await pilot.press("m")
        await settle(pilot)
        assert type(app.screen).__name__ == "MacroChooser"
        await pilot.press("enter")
        await settle(pilot)
        draft = queries.draft(app.db, tid)
        assert draft is not None and "we are on it" in draft["text"]


async def test_v_switches_view_and_g_letter_jumps(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.view.id == "all_open"
        await pilot.press("v")
        await settle(pilot)
        assert type(app.screen).__name__ == "ViewSwitcher"
        await pilot.press("s")  # the Snoozed view's letter
        await settle(pilot)
        assert app.main.view.id == "snoozed"
        assert app.main.inbox.total == 6
        await pilot.press("g", "c")
        assert app.main.view.id == "closed" and app.main.inbox.total == 6
        await pilot.press("g", "m")
        assert app.main.view.id == "my_open"
        mine = app.db.execute("SELECT COUNT(*) FROM threads WHERE assignee=? AND status IN ('open','pending')",
                              (AGENT,)).fetchone()[0]
        assert app.main.inbox.total == mine
        await pilot.press("g", "u")
        assert app.main.view.id == "unassigned"
        await pilot.press("g", "e")
        assert app.main.view.id == "channel:email"
        await pilot.press("g", "h")
        assert app.main.view.id == "channel:chat"
        await pilot.press("g", "o")
        assert app.main.view.id == "channel:social"
        await pilot.press("g", "r")  # the saved view's own key
        assert app.main.view.id == "saved:Refunds" and app.main.inbox.total == 6
        await pilot.press("g", "a")
        assert app.main.view.id == "all_open"


async def test_c_toggles_the_customer_pane_and_narrow_hides_it(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.main.customer_visible  # collapsed at 80 columns
        await pilot.press("c")
        assert app.main.customer_visible
        await pilot.press("c")
        assert not app.main.customer_visible
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.customer_visible
        await pilot.press("c")
        assert not app.main.customer_visible


async def test_question_mark_help_lists_every_key(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.pause(1.2)  # the status bar ticks underneath without trouble
        assert app.is_running
        from console.actions import REGISTRY
        from widgets.screens.help import help_tables

        ids = set()
        for table in help_tables(app.keymap):
            ids |= {str(c) for c in table.columns[2]._cells}
        assert ids == set(REGISTRY)
        await pilot.press("escape")
        assert len(app.screen_stack) == 1


async def test_colon_and_ctrl_p_open_the_palette_which_runs_actions(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        await settle(pilot)
        assert type(app.screen).__name__ == "CommandPalette"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert type(app.screen).__name__ == "CommandPalette"
        for ch in "Snoozed":
            await pilot.press(ch)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.view.id == "snoozed"


async def test_palette_lists_every_action_macro_and_view_with_keys(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        from console.actions import REGISTRY
        from widgets.commands import entries

        got = entries(app)
        by_ident = {(e.kind, e.ident): e for e in got}
        for a in REGISTRY.values():
            if a.show_in_palette and a.id != "palette":
                assert ("action", a.id) in by_ident
        assert by_ident[("action", "close")].key == "e"
        assert by_ident[("action", "cursor_top")].key == "g g, home"
        assert ("macro", "thanks") in by_ident
        assert by_ident[("view", "snoozed")].key == "g s"
        assert by_ident[("view", "saved:Refunds")].key == "g r"


async def test_tab_moves_focus_between_panes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.focused is app.main.inbox
        await pilot.press("tab")
        assert app.focused is not app.main.inbox
        await pilot.press("shift+tab")
        assert app.focused is app.main.inbox


async def test_q_quits_at_once_without_drafts(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
    assert app.return_code == 0


async def test_q_asks_first_when_drafts_are_unsent(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tid = app.main.inbox.current_thread_id
        app.perform("save_draft", tid, text="half a reply")
        await pilot.press("q")
        await settle(pilot)
        assert type(app.screen).__name__ == "QuitScreen"
        await pilot.press("n")
        await settle(pilot)
        assert len(app.screen_stack) == 1 and app.is_running
        await pilot.press("q")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert app.return_code == 0
    assert queries.draft(app.db, tid)["text"] == "half a reply"  # kept for next time


async def test_capital_d_opens_the_dashboard(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        assert type(app.screen).__name__ == "DashboardScreen"


async def test_u_marks_unread_and_capital_r_retries_a_failed_reply(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tid = app.main.inbox.current_thread_id  # t0 is read
        assert thread_row(app, tid)["unread"] == 0
        await pilot.press("u")
        await settle(pilot)
        assert thread_row(app, tid)["unread"] == 1
        result = app.perform("reply", tid, text="We are on it.")
        app.db.execute("UPDATE outbox SET state='failed', last_error='550 mailbox full' WHERE id=?",
                       (result.data["outbox_id"],))
        app.changed({tid})
        await settle(pilot)
        app.main.inbox.select_thread(tid)  # the reply opened the next conversation (send and next): back to it
        await pilot.press("R")
        await settle(pilot)
        state = app.db.execute("SELECT state FROM outbox WHERE id=?", (result.data["outbox_id"],)).fetchone()[0]
        assert state == "queued"


async def test_a_key_that_starts_no_sequence_acts_as_itself_and_escape_cancels(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g", "j")  # g j is no sequence: j still moves the cursor
        await pilot.pause(0.05)
        assert app.main.inbox.cursor == 1
        await pilot.press("g", "escape", "j")  # Escape drops the pending g; j moves again
        await pilot.pause(0.05)
        assert app.main.inbox.cursor == 2
        assert type(app.screen).__name__ == "MainScreen"
