"""The screen learns what changed through one coalescing message, and the sync never runs in its process.

A burst of changes is one re-read that carries every conversation named in it; a sync's
batches landing faster than the screen re-reads are gathered; the agent's own change
shows at once even while a gathered re-read waits. End to end, against a real dovecot:
the console starts the engine in a process of its own, gets one message per stored
batch, and the inbox fills while the sync runs.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import keyring
import pytest

from console.cache import queries
from console.cache.ingest import apply_batch
from console.config import AccountSettings, Config
from providers.base import Batch, Channel, Direction, Identity, Message, Thread
from tests.support.pilot import screen_text, wait_until
from tests.support.servers.mail import PASSWORD, dovecot  # noqa: F401
from tests.ui.conftest import at

SIZE = (160, 50)


def store_batch(app, tag: str, n: int) -> set[int]:
    """Store one sync batch of ``n`` new conversations, as the sync process does; the ids it touched."""
    acc = app.db.execute("SELECT id FROM accounts WHERE name='support-mail'").fetchone()[0]
    who = Identity(Channel.EMAIL, f"{tag}@example.com", display_name="Burst Person")
    batch = Batch(cursor=tag)
    for k in range(n):
        batch.threads.append(Thread(remote_id=f"{tag}-{k}", channel=Channel.EMAIL, subject=f"{tag} {k}",
                                    customer=who, last_message_at=at(-60 - k), unread=True))
        batch.messages.append(Message(remote_id=f"{tag}-m{k}", thread_remote_id=f"{tag}-{k}",
                                      direction=Direction.INBOUND, author=who, sent_at=at(-60 - k), text="hi"))
    return set(apply_batch(app.db, acc, batch).touched_threads)


def view_ids(app) -> list[int]:
    """The open view's conversations in the order the cache gives them."""
    inbox = app.main.inbox
    return [r.id for r in queries.inbox_at(app.db, inbox.filter, 0, limit=inbox.total + 1000)]


def record_refreshes(monkeypatch, keep) -> list:
    """Every ``Widget.refresh`` from now on: ``keep(widget, layout)`` says what to record (None: nothing)."""
    from textual.widget import Widget

    seen: list = []
    refresh = Widget.refresh

    def recording(self, *regions, layout=False, **kw):
        entry = keep(self, layout)
        if entry is not None:
            seen.append(entry)
        return refresh(self, *regions, layout=layout, **kw)

    monkeypatch.setattr(Widget, "refresh", recording)
    return seen


async def panes_at_rest(app, pilot):
    """The main screen, once its panes are mounted and have shown the first conversation."""
    await wait_until(pilot, lambda: app.main.panes_ready, what="the panes")
    await pilot.pause(0.3)
    return app.main


def conversation_text(app) -> str:
    from tests.ui.test_conversation_app import flat, static_text

    return flat(static_text(app.query_one("#conv-scroll")))


async def test_a_burst_of_changes_is_one_re_read_that_names_every_conversation_in_it(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        current = main.settle()
        others = [r[0] for r in app.db.execute("SELECT id FROM threads WHERE id != ? LIMIT 5", (current,))]
        app.db.execute("UPDATE messages SET text='Parcel found at the depot, sorry!' WHERE id = "
                       "(SELECT MAX(id) FROM messages WHERE thread_id=?)", (current,))
        before = main.rereads
        app.changed({others[0]})
        app.changed({others[1], current})  # the open conversation, in the middle of the burst
        app.changed({others[2]})
        await pilot.pause(0.1)
        assert main.rereads == before + 1
        assert "Parcel found at the depot" in conversation_text(app)


async def test_batches_landing_faster_than_the_screen_re_reads_are_gathered(make_app, monkeypatch):
    # A wide gathering window, so a loaded machine's slow pauses still land inside it.
    monkeypatch.setattr("widgets.screens.main.SYNC_REREAD", 2.0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        inbox = main.inbox
        total = inbox.total
        await pilot.pause(0.3)
        before = main.rereads
        for page in range(5):  # five stored batches, told one by one as the sync process tells them
            main.changed(store_batch(app, f"burst{page}", 1), synced=True)
            await pilot.pause()
        assert main.rereads - before < 5  # gathered, not one re-read per batch
        await wait_until(pilot, lambda: inbox.total == total + 5, timeout=10)  # nothing a batch brought is left out


async def test_the_agents_own_change_shows_at_once_while_a_sync_re_read_waits(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        main.changed(set(), synced=True)
        await pilot.pause()
        main.changed(set(), synced=True)  # right after: gathered, waiting for its turn
        await pilot.pause()
        waiting = main.rereads
        tid = main.settle()
        assert app.perform("close", tid).ok
        await pilot.pause()
        assert main.rereads == waiting + 1
        assert main.inbox.current_thread_id != tid  # closed: it left the open view at once


async def test_a_sync_batch_landing_while_the_cursor_rests_keeps_the_selection_and_the_count(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main, inbox = app.main, app.main.inbox
        inbox.move(3)
        await pilot.pause()
        rested = main.settle()
        screen_line = inbox.line_of(inbox.cursor)
        for page in range(3):  # batches of new mail, some of it above the cursor
            main.changed(store_batch(app, f"rest{page}", 40), synced=True)
            await pilot.pause()
        expected = len(view_ids(app))
        await wait_until(pilot, lambda: inbox.total == expected and main.statusbar.view_count == expected,
                         what="the background count in the inbox and the status bar")
        assert inbox.total == expected == queries.inbox_count(app.db, inbox.filter)
        assert main.statusbar.view_count == expected  # the status bar says the same
        assert inbox.current_thread_id == rested and main.settle() == rested  # the selection did not jump
        assert inbox.line_of(inbox.cursor) == screen_line  # nor did its row on the screen
        assert inbox.cursor == view_ids(app).index(rested)


async def test_a_re_read_that_finds_the_open_conversation_unchanged_lays_out_nothing(make_app, monkeypatch):
    """A layout is a full repaint (50–130 ms mid-sync); the panes redraw only what changed, and a new
    message in the open conversation is drawn without one."""

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        current = main.settle()
        await wait_until(pilot, lambda: main.conversation.thread_id == current, what="the open conversation")
        await pilot.pause(0.2)
        panes = (main.conversation, main.customer)
        layouts = record_refreshes(monkeypatch, lambda w, layout: f"{type(w).__name__}#{w.id}" if layout and any(
            p in panes for p in w.ancestors_with_self) else None)
        before = main.rereads
        main.changed({current}, synced=True)
        await wait_until(pilot, lambda: main.rereads > before, what="the re-read")
        await pilot.pause(0.1)
        assert layouts == [], f"an unchanged pane laid the screen out: {layouts}"

        row = app.db.execute("SELECT t.remote_id, t.account_id, t.identity_id FROM threads t WHERE t.id=?",
                             (current,)).fetchone()
        who = Identity(Channel.EMAIL, "steady@example.com", display_name="Steady Person")
        batch = Batch(cursor="steady", messages=[Message(
            remote_id="steady-1", thread_remote_id=row["remote_id"], direction=Direction.INBOUND, author=who,
            sent_at=at(5), text="One more thing: the parcel came open")])
        apply_batch(app.db, row["account_id"], batch)
        main.changed({current}, synced=True)
        await wait_until(pilot, lambda: "the parcel came open" in screen_text(app),
                         what="the new message on screen")
        assert not [w for w in layouts if w.startswith("TextView")], f"a new message laid the screen out: {layouts}"


async def test_rows_outside_the_window_show_in_cache_order_after_a_sync_batch(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main, inbox = app.main, app.main.inbox
        main.changed(store_batch(app, "far", 700), synced=True)  # more than the window holds
        expected = view_ids(app)
        await wait_until(pilot, lambda: inbox.total == len(expected), what="the background count")
        assert inbox.total == len(expected)
        inbox.go_bottom()
        await pilot.pause()
        assert inbox.current_thread_id == expected[-1]
        shown = [inbox.row_at(i).id for i in range(inbox.top, inbox.total)]
        assert shown == expected[inbox.top:]
        inbox.go_top()
        await pilot.pause()
        assert [inbox.row_at(i).id for i in range(0, 40)] == expected[:40]


# --------------------------------------------------------------------------- end to end, real dovecot


def mailbox(n: int, agent: str):
    now = datetime.now(timezone.utc)
    for i in range(n):
        when = now - timedelta(minutes=7 * (n - i))
        raw = (f"From: Customer {i} <c{i}@example.org>\r\nTo: {agent}\r\nSubject: Where is order {20000 + i}?\r\n"
               f"Message-ID: <e2e-{i}@example.org>\r\nDate: {format_datetime(when)}\r\n"
               f"Content-Type: text/plain; charset=utf-8\r\n\r\nMy parcel {20000 + i} has not arrived.\r\n").encode()
        yield "INBOX", raw, when, False


@pytest.mark.server
async def test_the_console_syncs_in_its_own_process_and_is_told_once_per_batch(dovecot, tmp_path):  # noqa: F811
    from tests.ui.conftest import PanesReadyApp

    agent = dovecot.add_user("agent")
    dovecot.write_maildir(agent, mailbox(1500, agent))
    keyring.set_password("switchboard", "support-mail", PASSWORD)
    options = {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "none", "username": agent,
               "from": f"Support <{agent}>", "timeout": 10.0}
    config = Config(agent_name="Sam Rivera", accounts=[AccountSettings("support-mail", "imap", options)])
    app = PanesReadyApp(db_path=tmp_path / "cache.sqlite3", config=config, data_dir=tmp_path / "data")
    told: list[set[int] | None] = []
    original = app._synced

    def synced(ids):
        told.append(ids)
        original(ids)

    app._synced = synced
    async with app.run_test(size=SIZE) as pilot:
        first_shown = 0  # conversations on screen the first time there were any
        for _ in range(1200):
            await pilot.pause(0.05)
            engine = app.engine
            state = engine.states["support-mail"].state if engine is not None else "starting"
            if not first_shown:
                first_shown = app.main.inbox.total
            if state == "online" and app.main.inbox.total == 1500:
                break
        engine = app.engine
        assert engine is not None and engine.pid not in (None, os.getpid())  # the sync ran elsewhere
        assert engine.states["support-mail"].state == "online"
        assert app.main.inbox.total == 1500
        assert 0 < first_shown < 1500  # the inbox filled while the sync ran, page by page
        batches = [ids for ids in told if ids]
        assert len(batches) >= 2  # a first sync in several pages, one message each
        every = {r[0] for r in app.db.execute("SELECT id FROM threads")}
        assert set().union(*batches) == every
        assert app.main.rereads <= len(told)
        await app._stop_engine()


async def test_the_start_up_heap_is_out_of_the_collectors_sight_while_the_screen_lives(make_app):
    """A full collection over the whole heap stalled a frame 100–140 ms during a sync."""
    import gc

    gc.unfreeze()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.main.panes_ready, what="the panes")
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0, "the screen's objects stay frozen after it closed"


async def test_a_step_asks_each_widget_for_the_two_lines_it_changed_only(make_app, monkeypatch):
    """Textual draws every widget under an update over its whole height; a step redraws two lines."""
    from textual.widget import Widget

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = await panes_at_rest(app, pilot)
        asked: list[tuple[str, int]] = []
        render_lines = Widget.render_lines

        def recording(self, crop):
            asked.append((type(self).__name__, crop.height))
            return render_lines(self, crop)

        monkeypatch.setattr(Widget, "render_lines", recording)
        monkeypatch.setattr("widgets.screens.main.PANE_DELAY", 30.0)  # the panes stay where they are
        before = main.inbox.cursor
        await pilot.press("j")
        await pilot.pause(0.05)
        assert main.inbox.cursor == before + 1
        assert ("InboxList", 2) in asked, asked
        assert all(height <= 2 for _, height in asked), f"a step drew more than its two lines: {asked}"


async def test_the_selection_changing_repaints_the_panes_not_the_whole_screen(make_app):
    """The current conversation is a var: the panes draw what they change; the inbox and the bar stay."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = await panes_at_rest(app, pilot)
        other = app.db.execute("SELECT id FROM threads WHERE id != ? LIMIT 1", (main.current,)).fetchone()[0]
        main.current = other
        assert main.conversation.thread_id == other
        assert not main._repaint_required, "choosing a conversation marked the whole screen for a repaint"


async def test_another_conversation_is_drawn_at_its_newest_message_without_a_layout_of_its_own(make_app, monkeypatch):
    """The messages are a line-by-line view: a new conversation sets its height and scrolls to the end at once."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = await panes_at_rest(app, pilot)
        layouts = record_refreshes(monkeypatch, lambda w, layout: f"{type(w).__name__}#{w.id}" if layout else None)
        body = main.conversation.query_one("#conv-scroll")
        for other, in app.db.execute("SELECT id FROM threads WHERE id != ? ORDER BY id", (main.current,)).fetchall():
            layouts.clear()
            main.current = other
            assert not [w for w in layouts if w.endswith(("#conv-scroll", "#conv-body"))], layouts
            await pilot.pause(0.05)
            newest = app.db.execute("SELECT text FROM messages WHERE thread_id=? ORDER BY sent_at DESC, id DESC",
                                    (other,)).fetchone()[0]
            assert body.scroll_y == body.max_scroll_y
            assert newest.split()[-1] in screen_text(app), f"the newest message of {other} is not in view"


async def test_new_text_of_the_same_height_repaints_a_pane_part_in_place(monkeypatch):
    from rich.text import Text
    from textual.app import App

    from widgets.steady import SteadyStatic

    class One(App):
        def compose(self):
            yield SteadyStatic(Text("subject\nchannel line"), id="part")

    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        part = app.query_one("#part", SteadyStatic)
        layouts = record_refreshes(monkeypatch, lambda w, layout: layout if w is part else None)
        part.update(Text("another subject\nanother channel line"))
        assert layouts == [False]
        part.update(Text("a subject\nchannel\nand a third line"))
        assert layouts == [False, True]
        await pilot.pause()
        assert part.size.height == 3
