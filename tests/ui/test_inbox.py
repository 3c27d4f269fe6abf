"""The Line-API inbox: windows of rows, the right row everywhere, live updates that keep the cursor, inert text."""

from __future__ import annotations

import time

from console.cache import connect
from console.cache.ingest import apply_batch
from providers.records import Batch, Channel, Direction, Identity, Message, Thread
from tests.ui.conftest import FIXED_NOW, at
from widgets.inbox import MAX_WINDOW, countdown

SIZE = (160, 50)


def big_cache(path, n=5000):
    """n open threads inserted with SQL (fast), one account, sort_due = position."""
    db = connect(path)
    acc = db.execute("INSERT INTO accounts(name, provider, channel) VALUES ('mail','demo','email')").lastrowid
    cust = db.execute("INSERT INTO customers(name, created_at) VALUES ('Big Customer', 0)").lastrowid
    ident = db.execute("INSERT INTO identities(channel, address, customer_id) VALUES ('email','big@x.example',?)",
                       (cust,)).lastrowid
    db.execute("BEGIN")
    db.executemany(
        """INSERT INTO threads(account_id, remote_id, channel, subject, status, last_message_at, unread, customer_id,
                               identity_id, created_at, sla_due_at, sort_due)
           VALUES (?, ?, 'email', ?, 'open', ?, 1, ?, ?, 0, ?, ?)""",
        [(acc, f"r{i}", f"S{i:05d}", FIXED_NOW - i, cust, ident, FIXED_NOW + 60 * i,
          FIXED_NOW + 60 * i) for i in range(n)])
    db.execute("COMMIT")
    db.close()


def row_text(inbox, index):
    """The text drawn for view row ``index`` (it must be on screen; the header is line 0)."""
    return "".join(seg.text for seg in inbox.render_line(inbox.line_of(index)))


async def test_only_a_window_of_rows_is_held_and_every_depth_shows_the_right_row(make_app, tmp_path):
    path = tmp_path / "big.sqlite3"
    big_cache(path)
    app = make_app(path=path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        inbox = app.main.inbox
        assert inbox.total == 5000
        assert len(inbox._rows) <= MAX_WINDOW
        assert "S00000" in row_text(inbox, 0)
        await pilot.press("G")
        await pilot.pause(0.05)
        assert inbox.cursor == 4999
        assert inbox.current_row.subject == "S04999"
        assert "S04999" in row_text(inbox, inbox.cursor)
        # Walk up from the bottom across a page boundary: keyset pages, same rows as SQL says.
        for _ in range(130):
            inbox.move(-1)
        assert inbox.current_row.subject == "S04869"
        assert len(inbox._rows) <= MAX_WINDOW
        # Page down through the middle.
        await pilot.press("g", "g")
        for _ in range(10):
            await pilot.press("ctrl+d")
        assert inbox.current_row.subject == f"S{inbox.cursor:05d}"


async def test_row_shows_channel_name_subject_tone_sla_status_assignee_unread(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        inbox = app.main.inbox
        lines = [row_text(inbox, y) for y in range(inbox.total)]
        first = lines[0]  # t0: email, Alice Moreau, SLA breached 2h30 ago, assigned to the agent, read
        assert first.startswith("    mail Alice Moreau")
        assert "Refund for order #1000" in first
        assert "✗-2h30" in first
        assert "open" in first and "Sam Riv" in first
        second = lines[1]  # t1: chat, unread, unassigned
        assert second.startswith(" ●  chat Bob Okafor")
        assert "—" in second
        warning = [ln for ln in lines if "!" in ln.split("#")[-1]]
        assert warning, "some countdowns are in the warning band"
        assert any(" soc " in ln for ln in lines)


def test_countdown_format():
    assert countdown(3 * 3600 + 5 * 60) == "3h05"
    assert countdown(12 * 60 + 3) == "12m"
    assert countdown(-25 * 60) == "-25m"
    assert countdown(3 * 86400) == "3d"
    assert countdown(-47 * 3600 - 600) == "-47h"


async def test_hostile_subject_renders_inert(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        inbox = app.main.inbox
        assert inbox.select_thread(thread_ids["t7"])
        await pilot.pause(0.1)
        text = row_text(inbox, inbox.cursor)
        assert "[@click=app.quit]" in text  # literal characters, not a link
        assert "\x1b" not in text and "\x07" not in text
        for seg in inbox.render_line(inbox.line_of(inbox.cursor)):
            assert seg.style is None or seg.style.link is None and not seg.style.meta
        # Clicking the row selects it and nothing quits.
        await pilot.click("#inbox", offset=(20, inbox.line_of(inbox.cursor)))
        await pilot.pause(0.1)
        assert app.is_running


async def test_live_update_keeps_the_cursor_on_the_same_conversation(make_app, cache_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("j", "j", "j", "j", "j")
        await pilot.pause(0.1)
        inbox = app.main.inbox
        tid = inbox.current_thread_id
        total = inbox.total
        # Sync brings three new conversations that sort above the cursor (earlier SLA due time).
        acc = app.db.execute("SELECT id FROM accounts WHERE name='support-mail'").fetchone()[0]
        who = Identity(Channel.EMAIL, "new@example.com", display_name="New Person")
        batch = Batch(cursor="2")
        for i in range(3):
            batch.threads.append(Thread(remote_id=f"new{i}", channel=Channel.EMAIL, subject=f"Fresh {i}",
                                        customer=who, last_message_at=at(-60), unread=True))
            batch.messages.append(Message(remote_id=f"newm{i}", thread_remote_id=f"new{i}",
                                          direction=Direction.INBOUND, author=who, sent_at=at(-60), text="hi"))
        result = apply_batch(app.db, acc, batch)
        app.db.execute("UPDATE threads SET sla_due_at=?, sort_due=? WHERE remote_id LIKE 'new%'",
                       (FIXED_NOW - 99999, FIXED_NOW - 99999))
        app.changed(set(result.touched_threads))
        await pilot.pause(0.2)
        assert inbox.total == total + 3
        assert inbox.current_thread_id == tid  # same conversation under the cursor
        assert inbox.cursor == 8
        assert 1 <= inbox.line_of(inbox.cursor) < 49  # still on screen, under the header
        assert inbox.row_at(0).subject.startswith("Fresh")
        assert app.main.statusbar.view_count == total + 3


async def test_cursor_thread_leaving_the_view_keeps_the_position(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("j", "j")
        inbox = app.main.inbox
        tid = inbox.current_thread_id
        other = app.db.execute("SELECT id FROM threads WHERE id != ? LIMIT 1", (tid,)).fetchone()[0]
        app.db.execute("UPDATE threads SET status='closed' WHERE id=?", (tid,))
        app.changed({tid, other})
        for _ in range(50):  # the refresh lands within a few frames; a loaded CI machine may need more
            await pilot.pause(0.05)
            if inbox.current_thread_id != tid:
                break
        assert inbox.cursor == 2 and inbox.current_thread_id != tid


async def test_empty_view_says_what_to_do(make_app, tmp_path):
    from console.config import parse as parse_config
    from tests.ui.conftest import CONFIG_TOML

    path = tmp_path / "empty.sqlite3"
    connect(path).close()
    # With an account (no first run: that has its own guidance, tests/ui/test_first_run.py).
    app = make_app(path=path, config=parse_config(CONFIG_TOML + '[[accounts]]\nname = "m"\nprovider = "demo"\n'))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert app.main.inbox.total == 0
        assert "Nothing here" in row_text(app.main.inbox, 0)
        await pilot.press("j", "G", "enter", "e")  # nothing to act on: no crash, a notice
        await pilot.pause(0.1)
        assert app.is_running


async def test_countdowns_follow_the_clock(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        inbox = app.main.inbox
        before = row_text(inbox, 10)
        app.clock.at = FIXED_NOW + 3600
        inbox.refresh()
        await pilot.pause(0.05)
        after = row_text(inbox, 10)
        assert before != after
        assert time.time()  # the real clock is untouched


async def test_moving_past_the_last_visible_row_scrolls_and_repaints(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        inbox = app.main.inbox
        height = inbox.scrollable_content_region.height - 1  # rows under the header
        inbox.move_to(height - 1)
        await pilot.pause(0.05)
        inbox._dirty_regions.clear()
        inbox.move(1)  # one row past the bottom: the view scrolls by one
        assert int(inbox.scroll_offset.y) == 1
        assert inbox._dirty_regions, "the scrolled rows must be repainted in the next frame"
        assert inbox.vertical_scrollbar.position == 1
        await pilot.pause(0.05)
        bottom = "".join(seg.text for seg in inbox.render_line(height))
        assert inbox.current_row.customer.split()[0] in bottom
