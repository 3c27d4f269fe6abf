"""Read-only (supervisor) mode: every mutating key is refused by the gate, nothing is marked read, badge always on."""

from __future__ import annotations

from console.actions import REGISTRY
from console.config import parse as parse_config
from tests.ui.conftest import CONFIG_TOML

SIZE = (160, 50)


def snapshot_of_data(db):
    threads = db.execute("SELECT id, status, unread, assignee, tags, priority, snoozed_until FROM threads "
                         "ORDER BY id").fetchall()
    return [tuple(r) for r in threads], db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0], \
        db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0]


async def close_dashboard(app, pilot):
    # The dashboard is the default screen in read-only mode when it is installed.
    while len(app.screen_stack) > 1:
        app.pop_screen()
        await pilot.pause(0.05)


async def test_every_mutating_key_is_refused_and_nothing_changes(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await close_dashboard(app, pilot)
        before = snapshot_of_data(app.db)
        keys = sorted({app.keymap.keys[a.id][0] for a in REGISTRY.values()
                       if a.mutating and a.context in ("thread", "global") and app.keymap.keys.get(a.id)})
        assert {"r", "n", "e", "o", "s", "a", "t", "p", "m"} <= set(keys)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.05)
            assert len(app.screen_stack) == 1, f"{key} opened a chooser in read-only mode"
        await pilot.pause(0.1)
        assert not app.main.conversation.composing
        assert snapshot_of_data(app.db) == before
        refused = app.db.execute("SELECT action FROM audit WHERE result LIKE 'refused%'").fetchall()
        assert {"compose_reply", "close", "choose_snooze", "choose_assignee"} <= {r[0] for r in refused}
        assert any("read-only" in n.message for n in app._notifications)


async def test_perform_refuses_even_without_keys(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        tid = app.main.inbox.current_thread_id
        result = app.perform("close", tid)
        assert not result.ok and "read-only" in result.message
        assert app.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "open"


async def test_opening_never_marks_read_locally_or_remotely(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await close_dashboard(app, pilot)
        app.main.inbox.focus()
        await pilot.press("j")  # t1 is unread
        await pilot.pause(0.1)
        tid = app.main.inbox.current_thread_id
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.main.conversation.thread_id == tid
        assert app.db.execute("SELECT unread FROM threads WHERE id=?", (tid,)).fetchone()[0] == 1
        assert app.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


async def test_read_only_badge_always_on_and_role_supervisor_counts(make_app):
    cfg = parse_config('role = "supervisor"\n' + CONFIG_TOML, "config.toml")
    app = make_app(read_only=False, config=cfg)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert app.read_only
        assert "READ-ONLY" in app.main.statusbar.render().plain
        await close_dashboard(app, pilot)
        await pilot.press("v")
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert "READ-ONLY" in app.main.statusbar.render().plain


async def test_palette_marks_changing_actions_as_refused(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        from widgets.commands import entries

        close = next(e for e in entries(app) if e.ident == "close")
        assert "refused in read-only mode" in close.help
