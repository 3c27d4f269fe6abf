"""The conversation pane as an agent sees it (hosted by the small PaneApp)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from textual.widgets import Static

from console import knowledge
from console.cache import connect
from console.cache.ingest import apply_batch
from providers.records import Batch, Direction, Message
from tests.support.pilot import notices, screen_text, type_text
from tests.ui.test_conversation_harness import (
    ALICE_MAIL,
    HOSTILE,
    PaneApp,
    ago,
    seed,
    static_text,
)
from widgets.conversation import PAGE, ConversationPane


@pytest.fixture
def cache(tmp_path):
    db = connect(tmp_path / "cache.sqlite3")
    ids = seed(db)
    yield db, ids
    db.close()


def body_text(app) -> str:
    return static_text(app.query_one("#conv-scroll"))


def header_text(app) -> str:
    return static_text(app.query_one("#conv-header", Static), width=200)


async def test_header_shows_who_what_state_and_why(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        head = header_text(app)
        assert "Refund for order 1002" in head
        assert "EMAIL" in head and "support-mail" in head
        assert "status: open" in head and "priority: high" in head and "queue: billing" in head
        assert "assignee: nobody" in head
        assert "Alice Moreau <alice@example.com>" in head
        assert "tags: refund" in head and "tone: negative" in head
        assert "set by rule: refund keywords → billing, high" in head
        app.open_thread(ids["chat"])
        await pilot.pause()
        head = header_text(app)
        assert "CHAT · WhatsApp" in head
        assert "end-to-end encrypted · no keys here" in head
        for verified, shown in ((True, "customer's devices verified"), (False, "devices NOT verified")):
            db.execute("UPDATE threads SET meta=? WHERE id=?",
                       (json.dumps({"encrypted": True, "devices_verified": verified}), ids["chat"]))
            app.query_one(ConversationPane).reload()
            await pilot.pause()
            assert shown in header_text(app)


async def test_sla_countdown_in_header(cache):
    db, ids = cache
    db.execute("UPDATE threads SET sla_due_at=? WHERE id=?", (time.time() - 3700, ids["refund"]))
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert "SLA BREACHED 1h01m ago" in header_text(app)
        db.execute("UPDATE threads SET sla_due_at=? WHERE id=?", (time.time() + 5 * 3600, ids["refund"]))
        app.query_one(ConversationPane).reload()
        await pilot.pause()
        head = header_text(app)
        assert "4h59m left" in head or "5h00m left" in head
        assert "BREACHED" not in head


async def test_messages_in_order_directions_apart_with_labels(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        text = body_text(app)
        first = text.index("I want a refund for my kettle.")
        reply = text.index("We are looking into it.")
        auto = text.index("I am away until Monday.")
        latest = text.index("Still no refund, see below.")
        assert first < reply < auto < latest
        assert text.count("◀ CUSTOMER") == 3 and text.count("AGENT ▶") == 1
        # Outbound is indented to the right of inbound: readable without colour.
        lines = text.splitlines()
        agent_line = next(l for l in lines if "AGENT ▶" in l)
        customer_line = next(l for l in lines if "◀ CUSTOMER" in l)
        indent = lambda l: len(l) - len(l.lstrip())  # noqa: E731
        assert indent(agent_line) > indent(customer_line)
        first_at = db.execute("SELECT MIN(sent_at) FROM messages WHERE thread_id=?", (ids["refund"],)).fetchone()[0]
        month = time.strftime("%b", time.localtime(first_at))  # the fixture's dates follow today's
        assert "Alice Moreau" in customer_line and month in customer_line
        assert "📎 receipt.pdf (229 KB)" in text
        assert "parse warning: charset guessed as latin-1" in text
        assert "auto-reply" in text


async def test_quoted_history_folds_and_z_expands(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert "… 5 quoted lines (z to show)" in body_text(app)
        assert "> Kind regards" not in body_text(app)
        app.query_one("#conv-scroll").focus()
        await pilot.press("z")
        assert "> Kind regards" in body_text(app)
        assert "quoted lines" not in body_text(app)
        await pilot.press("z")
        assert "… 5 quoted lines" in body_text(app)


async def test_social_marks_edited_and_visibility(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["social"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        text = body_text(app)
        assert "edited" in text and "visibility: public" in text
        assert "12k followers" in header_text(app)


async def test_removed_message_says_so(cache):
    db, ids = cache
    account = db.execute("SELECT id FROM accounts WHERE name='social'").fetchone()[0]
    apply_batch(db, account, Batch(cursor="x2", deleted_messages=["p1"]))
    app = PaneApp(db, thread_id=ids["social"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        text = body_text(app)
        assert "(removed by the sender)" in text
        assert "my kettle leaks" not in text


async def test_hostile_text_is_literal_and_clicking_it_does_nothing(cache):
    db, ids = cache
    # Also straight into the table, past the ingest cleaning: the UI itself must not interpret anything.
    account = db.execute("SELECT account_id FROM threads WHERE id=?", (ids["chat"],)).fetchone()[0]
    db.execute("""INSERT INTO messages(thread_id, account_id, remote_id, direction, author, sent_at, text, state)
                  VALUES (?, ?, 'raw1', 'inbound', ?, ?, ?, 'received')""",
               (ids["chat"], account, "[@click=app.quit]Bob[/]\x1b]0;evil\x07", time.time(), "RAW " + HOSTILE))
    db.execute("UPDATE threads SET subject=?, rule=?, tags=? WHERE id=?",
               ("[@click=app.quit]Subject[/] \x1b]0;t\x07", "[bold]rule", '["[red]tag"]', ids["chat"]))
    app = PaneApp(db, thread_id=ids["chat"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = screen_text(app)
        assert "[@click=app.quit]Subject[/]" in screen and "set by rule: [bold]rule" in screen
        assert "tags: [red]tag" in screen
        assert "Hi [@click=app.quit]click me[/] and [bold red]x and [link=https://evil.example]l[/link]" in screen
        assert "RAW Hi [@click=app.quit]click me[/]" in screen
        assert "[@click=app.quit]Bob[/]" in screen
        assert "\x1b" not in screen and "\x07" not in screen
        assert "52;c;" not in screen and "evil\x07" not in screen
        # No cell on screen carries a click action or a link from the data.
        for strip in app.screen._compositor.render_strips():
            for seg in strip:
                if seg.style is not None:
                    assert "@click" not in (seg.style.meta or {})
                    assert not seg.style.link
        # Click right on the would-be link text: the app keeps running.
        body = app.query_one("#conv-scroll")
        row = next(n for n, line in enumerate(screen.splitlines()) if "RAW Hi [@click" in line)
        col = screen.splitlines()[row].index("[@click")
        await pilot.click(offset=(col + 3, row))
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None
        assert body.is_mounted


async def test_long_conversation_draws_a_page_and_shows_earlier_on_demand(cache):
    db, ids = cache
    account = db.execute("SELECT account_id FROM threads WHERE id=?", (ids["refund"],)).fetchone()[0]
    apply_batch(db, account, Batch(cursor="m2", messages=[
        Message(f"bulk{n}", "t-refund", Direction.INBOUND, ALICE_MAIL, ago(minutes=3, seconds=-n / 10),
                f"bulk message number {n:03d}") for n in range(300)]))
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = body_text(app)
        assert "bulk message number 299" in text
        assert f"bulk message number {300 - PAGE:03d}" in text
        assert f"bulk message number {299 - PAGE:03d}" not in text
        assert f"{304 - PAGE} earlier messages" in text.splitlines()[0]
        # One view holds every drawn message: no widget per message.
        assert len(app.query_one(ConversationPane).query(Static)) < 12
        # The newest message is in view when a conversation opens.
        assert "bulk message number 299" in screen_text(app)
        app.query_one("#conv-scroll").focus()
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert f"bulk message number {299 - PAGE:03d}" in body_text(app)
        assert f"{304 - 2 * PAGE} earlier messages" in body_text(app).splitlines()[0]
        assert "bulk message number 299" not in screen_text(app)  # jumped up to the earlier ones


async def test_live_update_shows_new_messages(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["chat"])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        account = db.execute("SELECT account_id FROM threads WHERE id=?", (ids["chat"],)).fetchone()[0]
        from tests.ui.test_conversation_harness import BOB_CHAT

        apply_batch(db, account, Batch(cursor="c2", messages=[
            Message("e3", "!room:matrix.example", Direction.INBOUND, BOB_CHAT, ago(seconds=1), "hello again?")]))
        app.query_one(ConversationPane).reload()
        await pilot.pause()
        assert "hello again?" in screen_text(app)


async def test_outbox_states_queued_sent_failed_held_and_retry(cache):
    db, ids = cache
    tid = ids["refund"]
    app = PaneApp(db, thread_id=tid)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        pane = app.query_one(ConversationPane)
        assert pane.open_composer("reply")
        await type_text(pilot, "Refund approved")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not pane.composing
        text = body_text(app)
        assert "Refund approved" in text
        assert "⏳ queued for sending" in text
        outbox_id = db.execute("SELECT id FROM outbox WHERE thread_id=? AND kind='reply'", (tid,)).fetchone()[0]
        # A transient failure: still queued, with the reason and the next try.
        db.execute("UPDATE outbox SET last_error='connection refused', next_try_at=? WHERE id=?",
                   (time.time() + 125, outbox_id))
        pane.reload()
        assert "⏳ queued — last try failed: connection refused; next try in 2m" in body_text(app)
        # The dispatcher sends it.
        db.execute("UPDATE outbox SET state='sent' WHERE id=?", (outbox_id,))
        db.execute("UPDATE messages SET state='sent' WHERE outbox_id=?", (outbox_id,))
        pane.reload()
        assert "✓ sent" in body_text(app) and "queued — goes out" not in body_text(app)
        # Another one fails with a reason.
        db.execute("UPDATE outbox SET state='failed', last_error='SMTP 550 mailbox unavailable' WHERE id=?",
                   (outbox_id,))
        db.execute("UPDATE messages SET state='failed' WHERE outbox_id=?", (outbox_id,))
        pane.reload()
        await pilot.pause()
        text = body_text(app)
        assert "✗ failed: SMTP 550 mailbox unavailable — press R to retry" in text
        assert "SMTP 550 mailbox unavailable" in screen_text(app)
        app.query_one("#conv-scroll").focus()
        await pilot.press("R")
        await pilot.pause()
        assert db.execute("SELECT state FROM outbox WHERE id=?", (outbox_id,)).fetchone()[0] == "queued"
        assert ("retry_send", tid, {}) in app.performed
        assert "⏳ queued" in body_text(app)
        # Held: the customer wrote again before it went out.
        db.execute("UPDATE outbox SET state='held' WHERE id=?", (outbox_id,))
        db.execute("UPDATE messages SET state='held' WHERE outbox_id=?", (outbox_id,))
        pane.reload()
        assert "held: the customer wrote again — review and send again with R" in body_text(app)
        await pilot.press("R")
        await pilot.pause()
        row = db.execute("SELECT state, args FROM outbox WHERE id=?", (outbox_id,)).fetchone()
        assert row["state"] == "queued" and json.loads(row["args"]).get("force") is True


async def suggestions_listed(app, pilot) -> None:
    """The ranking is readied in a worker the first time; the list follows when it is done."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_suggestions_are_readied_off_the_screens_loop(cache, monkeypatch):
    db, ids = cache
    monkeypatch.setattr(knowledge, "_prepared", threading.Event())  # as in a new process
    ran_on = []
    real = knowledge.prepare
    monkeypatch.setattr(knowledge, "prepare", lambda path: (ran_on.append(threading.current_thread()), real(path)))
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(160, 50)) as pilot:
        await suggestions_listed(app, pilot)
        assert ran_on and threading.main_thread() not in ran_on
        assert "How refunds work" in screen_text(app)


async def test_suggested_articles_listed_and_ctrl_k_inserts(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(160, 50)) as pilot:
        await suggestions_listed(app, pilot)
        suggestions = app.query_one("#conv-suggestions")
        assert suggestions.display and suggestions.option_count >= 1
        assert "How refunds work" in screen_text(app)
        pane = app.query_one(ConversationPane)
        assert pane.open_composer("reply")
        await pilot.press("ctrl+k")
        await pilot.pause()
        text = pane.composer.text
        assert "How refunds work" in text and "original card" in text
        assert "https://help.example/refunds" in text
        # Counted for the leaders' "articles inserted", against this conversation.
        uses = db.execute("SELECT a.title, u.thread_id FROM article_uses u JOIN articles a ON a.id = u.article_id")
        assert [tuple(r) for r in uses] == [("How refunds work", ids["refund"])]


async def test_no_suggestions_no_list(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["chat"])
    async with app.run_test(size=(160, 50)) as pilot:
        await suggestions_listed(app, pilot)
        assert not app.query_one("#conv-suggestions").display
        pane = app.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert any("No suggested article" in n for n in notices(app))


async def test_empty_pane_says_what_to_do(cache):
    db, _ = cache
    app = PaneApp(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "No conversation open" in screen_text(app)
        assert not app.query_one(ConversationPane).open_composer("reply")
        await pilot.pause()
        assert any("Open a conversation first" in n for n in notices(app))


async def test_header_is_terse_in_a_narrow_pane(cache):
    db, ids = cache
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(90, 30)) as pilot:  # the pane gets about 60 columns
        await pilot.pause()
        head = header_text(app)
        assert "open · high · billing · unassigned" in head
        assert "support-mail" not in head and "<alice@example.com>" not in head
        assert "set by rule: refund keywords → billing, high" in head
