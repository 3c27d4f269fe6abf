"""Status bar (account states, outbox, badges) and the app's interface for the panes and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from tests.ui.conftest import FIXED_NOW

SIZE = (160, 50)


@dataclass
class FakeState:
    name: str
    provider: str = "demo"
    channel: str = ""
    state: str = "online"
    detail: str = ""
    next_try_at: float | None = None
    last_sync_at: float | None = None


class FakeEngine:
    """What the app reads from the sync engine: per-account states and wake_outbox()."""

    def __init__(self, states):
        self.states = {s.name: s for s in states}
        self.woken = 0

    def wake_outbox(self, account=None):
        self.woken += 1

    async def stop(self):
        pass


async def test_status_bar_shows_each_account_state_and_retry_countdown(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        app.engine = FakeEngine([
            FakeState("support-mail", state="online"),
            FakeState("live-chat", state="syncing"),
            FakeState("social", state="offline", next_try_at=FIXED_NOW + 12),
            FakeState("bluesky", state="auth_failed"),
        ])
        app.main.update_status()
        text = app.main.statusbar.render().plain
        assert "support-mail online" in text
        assert "live-chat syncing" in text
        assert "social offline — next retry in 12 s" in text
        assert "bluesky auth failed" in text
        assert "outbox 0 queued" in text
        assert "All open 48" in text


async def test_outbox_count_follows_actions_and_wakes_the_dispatcher(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        engine = FakeEngine([FakeState("support-mail")])
        app.engine = engine
        tid = app.main.inbox.current_thread_id
        result = app.perform("reply", tid, text="Thanks, on it.")
        assert result.ok
        await pilot.pause(0.05)
        assert "outbox 1 queued" in app.main.statusbar.render().plain
        assert engine.woken == 1
        app.db.execute("UPDATE outbox SET state='failed', last_error='550 mailbox full'")
        app.main.update_status()
        assert "1 failed" in app.main.statusbar.render().plain


async def test_without_an_engine_the_bar_says_sync_is_off(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert "sync off" in app.main.statusbar.render().plain


async def test_show_threads_filters_the_inbox_and_pops_screens(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("question_mark")
        await pilot.pause(0.05)
        wanted = [thread_ids["t9"], thread_ids["t3"], thread_ids["t8"]]  # closed, open, snoozed
        app.show_threads(wanted, "Breached this week")
        await pilot.pause(0.1)
        assert len(app.screen_stack) == 1
        assert app.main.inbox.total == 3
        assert {app.main.inbox.row_at(i).id for i in range(3)} == set(wanted)
        assert "Breached this week 3" in app.main.statusbar.render().plain
        await pilot.press("escape")  # back from a drill-down goes to a normal view
        await pilot.pause(0.05)
        assert app.main.view.id == "all_open"


async def test_customer_pane_open_thread_opens_it(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        from widgets.customer import CustomerPane

        target = thread_ids["t4"]
        app.main.customer.post_message(CustomerPane.OpenThread(target))
        await pilot.pause(0.2)
        assert app.main.current == target
        assert app.main.inbox.current_thread_id == target
        assert app.main.conversation.thread_id == target


async def test_open_thread_outside_the_view_still_shows_it(make_app, thread_ids):
    """An explicit open wins over a cursor move that has not come to rest, and live updates keep it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        closed = thread_ids["t9"]  # closed: not in the "All open" view
        app.main.inbox.move_to(3)  # the cursor moves; the panes would follow once it rests
        app.open_thread(closed)  # ... but the agent opened another conversation first
        await pilot.pause(0.4)  # longer than the cursor's settle delay
        assert app.main.current == closed
        assert app.main.conversation.thread_id == closed
        app.changed(None)  # a sync lands: the inbox re-reads, the cursor stays where it was
        await pilot.pause(0.4)
        assert app.main.current == closed
        assert app.main.conversation.thread_id == closed


async def test_the_panes_show_the_current_conversation_as_soon_as_they_load(make_app):
    app = make_app()
    async with app.run_test(size=SIZE):
        assert app.main.current == app.main.inbox.current_thread_id is not None
        assert app.main.conversation.thread_id == app.main.current
        assert app.main.customer.thread_id == app.main.current


async def test_narrow_terminal_layout_and_resize(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert not app.main.customer_visible
        assert app.main.inbox.size.width >= 30
        await pilot.resize_terminal(160, 50)
        await pilot.pause(0.1)
        assert app.main.customer_visible
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.1)
        assert not app.main.customer_visible


async def test_dashboard_keeps_help_and_d_toggles_back(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        from widgets.screens.dashboard import DashboardScreen

        assert isinstance(app.screen, DashboardScreen)  # the supervisor's first screen
        cursor = app.main.inbox.cursor
        await pilot.press("j")  # inbox keys do nothing under the dashboard
        assert app.main.inbox.cursor == cursor
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause(0.05)
        await pilot.press("D")
        await pilot.pause(0.1)
        assert len(app.screen_stack) == 1
        await pilot.press("D")
        await pilot.pause(0.1)
        assert isinstance(app.screen, DashboardScreen)


async def test_notifications_never_interpret_markup(make_app):
    """Action messages can carry typed or provider text: they are shown literally."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        tid = app.main.inbox.current_thread_id
        result = app.perform("snooze", tid, until="[@click=app.quit]soon[/]")
        assert not result.ok
        await pilot.pause(0.1)
        shown = [n for n in app._notifications if "[@click=app.quit]" in n.message]
        assert shown and all(n.markup is False for n in shown)
        assert app.is_running


async def test_keys_typed_in_one_burst_act_on_the_cursor_row(make_app):
    """"j j r" arriving together: the reply opens on the row the cursor reached (the action
    settles the cursor first), and stays there when the cursor's rest timer would have fired."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        before = app.main.current
        app.main.inbox.move_to(2)  # j j: the cursor moved, the panes have not followed yet
        app.main.action_compose_reply()  # r, handled before the cursor rested
        target = app.main.inbox.current_thread_id
        assert target != before
        assert app.main.current == target
        await pilot.pause(0.5)
        assert app.main.conversation.composing
        assert app.main.conversation.thread_id == target


async def test_an_account_that_failed_says_why_and_the_fix_on_a_key(make_app):
    from console.engine import AccountState

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        broken = AccountState("support-mail", "imap", "email", state="auth_failed",
                              detail="IMAP login refused by mail.example.com — check the password: "
                                     "switchboard accounts add support-mail")
        broken.error = "IMAP login refused by mail.example.com"
        broken.fix = "check the password: switchboard accounts add support-mail"
        app.engine = FakeEngine([broken, AccountState("live-chat", "demo", "chat", state="online")])
        app.main.update_status()
        bar = app.main.statusbar.render().plain
        assert "support-mail auth failed (S why)" in bar and "live-chat online" in bar
        await pilot.press("S")
        await pilot.pause()
        shown = "\n".join(n.message for n in app._notifications)
        assert "support-mail: auth failed" in shown
        assert "IMAP login refused by mail.example.com" in shown
        assert "switchboard accounts add support-mail" in shown
        assert "live-chat: online" in shown
