"""The composer: reply vs note, drafts that survive a restart, Esc keeps, read-only refuses."""

from __future__ import annotations

import pytest

from console.cache import connect, queries
from console.cache.ingest import apply_batch, ensure_account
from providers.records import Batch, Channel, Identity, Thread
from tests.ui.test_conversation_harness import PaneApp, ago, seed, static_text
from widgets.composer import DRAFT_SAVE_DELAY, Composer
from widgets.conversation import ConversationPane
from tests.support.pilot import notices, screen_text, type_text, wait_until


@pytest.fixture
def cache_path(tmp_path):
    path = tmp_path / "cache.sqlite3"
    db = connect(path)
    ids = seed(db)
    db.close()
    return path, ids


def mode_line(app) -> str:
    return static_text(app.query_one("#composer-mode"), width=200)


async def wait_past_draft_save(pilot) -> None:
    """Long enough for a pending draft save to have happened (to show that none did)."""
    await pilot.pause(DRAFT_SAVE_DELAY + 0.3)


async def test_reply_shows_channel_and_queues_through_the_outbox(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        assert pane.open_composer("reply")
        await pilot.pause()
        assert pane.composing
        assert "REPLY → email via support-mail to alice@example.com" in mode_line(app)
        await type_text(pilot, "Your refund is on its way")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not pane.composing
        row = db.execute("SELECT kind, text, state FROM outbox WHERE thread_id=? AND kind='reply'",
                         (ids["refund"],)).fetchone()
        assert tuple(row) == ("reply", "Your refund is on its way", "queued")
        assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0
        assert "Your refund is on its way" in screen_text(app)
        # A pending debounce must not bring the sent text back as a draft.
        await wait_past_draft_save(pilot)
        assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0


async def test_note_is_internal_and_labelled(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        pane.open_composer("note")
        await pilot.pause()
        assert "NOTE (internal) — only agents see this; it is never sent to the customer" in mode_line(app)
        assert pane.composer.has_class("-note")
        await type_text(pilot, "Customer is VIP, refund ok")
        await pilot.press("ctrl+s")
        await pilot.pause()
        msg = db.execute("SELECT direction, text FROM messages WHERE thread_id=? ORDER BY id DESC LIMIT 1",
                         (ids["refund"],)).fetchone()
        assert tuple(msg) == ("note", "Customer is VIP, refund ok")
        text = static_text(app.query_one("#conv-scroll"))
        assert "✎ INTERNAL NOTE" in text and "internal — never sent to the customer" in text


async def test_escape_keeps_the_draft_and_it_survives_a_restart(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.pause()
        await type_text(pilot, "Half written")
        await wait_until(pilot, lambda: db.execute("SELECT 1 FROM drafts").fetchone(), what="the draft to be saved")
        row = db.execute("SELECT kind, text FROM drafts WHERE thread_id=?", (ids["refund"],)).fetchone()
        assert tuple(row) == ("reply", "Half written")
        await type_text(pilot, " answer")
        await pilot.press("escape")  # saves at once, no wait
        await pilot.pause()
        assert not pane.composing
        assert db.execute("SELECT text FROM drafts WHERE thread_id=?", (ids["refund"],)).fetchone()[0] \
            == "Half written answer"
        assert "unsent reply draft — press r to continue it" in static_text(app.query_one("#conv-header"), 200)
        # Opening it again in the same session restores the text.
        pane.open_composer("reply")
        await pilot.pause()
        assert pane.composer.text == "Half written answer"
    db.close()

    # A new process on the same cache: the draft is still there.
    db2 = connect(path)
    app2 = PaneApp(db2, thread_id=ids["refund"])
    async with app2.run_test(size=(140, 45)) as pilot:
        pane = app2.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.pause()
        assert pane.composer.text == "Half written answer"
        await type_text(pilot, " - done")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert db2.execute("SELECT text FROM outbox WHERE kind='reply'").fetchone()[0] == "Half written answer - done"
    db2.close()


async def test_leaving_the_box_saves_the_draft_at_once(cache_path):
    from widgets.screens.choosers import TextPrompt

    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.pause()
        await type_text(pilot, "typed just now")
        app.push_screen(TextPrompt("anything modal, e.g. the palette"))
        await pilot.pause()
        assert db.execute("SELECT text FROM drafts WHERE thread_id=?", (ids["refund"],)).fetchone()[0] \
            == "typed just now"


async def test_switching_threads_keeps_each_draft(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.pause()
        await type_text(pilot, "for alice")
        app.open_thread(ids["chat"])  # before the debounce fires
        await pilot.pause()
        assert not pane.composing
        assert db.execute("SELECT text FROM drafts WHERE thread_id=?", (ids["refund"],)).fetchone()[0] == "for alice"
        pane.open_composer("reply")
        await pilot.pause()
        assert pane.composer.text == ""
        assert "REPLY → chat (WhatsApp) via live-chat to @bob:matrix.example" in mode_line(app)


async def test_empty_send_is_refused_with_a_notice(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert pane.composing
        assert any("empty" in n for n in notices(app))
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind='reply'").fetchone()[0] == 0


async def test_read_only_cannot_compose(cache_path):
    path, ids = cache_path
    db = connect(path)
    db.execute("INSERT INTO drafts(thread_id, kind, text, started_at, updated_at) VALUES (?, 'reply', 'x', 0, 0)",
               (ids["refund"],))
    app = PaneApp(db, thread_id=ids["refund"], read_only=True)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        assert not pane.open_composer("reply")
        assert not pane.open_composer("note")
        assert not pane.insert_text("macro text")
        await pilot.pause()
        assert not pane.composing
        assert not pane.composer.display or not pane.composer.region.height
        assert any("read-only" in n for n in notices(app))
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
        assert db.execute("SELECT text FROM drafts").fetchone()[0] == "x"


async def test_insert_text_opens_a_reply(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        assert pane.insert_text("Hello Alice,\n")
        await pilot.pause()
        assert pane.composing and pane.composer.kind == "reply"
        assert pane.composer.text == "Hello Alice,\n"
        await wait_until(pilot, lambda: db.execute("SELECT 1 FROM drafts").fetchone(), what="the draft to be saved")
        assert db.execute("SELECT text FROM drafts").fetchone()[0] == "Hello Alice,\n"


async def composer_status(app, pilot, thread_id: int, text: str) -> str:
    pane = app.query_one(ConversationPane)
    pane.show(thread_id)
    assert pane.open_composer("reply")
    pane.composer.insert_text(text)
    await pilot.pause()
    return static_text(app.query_one("#composer-status"), 200)


async def test_channel_limit_counter_and_refusal(cache_path):
    """A Mastodon account never opened: the adapter's default (500); the gate refuses a longer reply."""
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["social"])
    async with app.run_test(size=(140, 45)) as pilot:
        status = await composer_status(app, pilot, ids["social"], text="x" * 505)
        assert "505/500" in status and "5 over" in status
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.query_one(ConversationPane).composing  # the text stays
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE kind='reply'").fetchone()[0] == 0
        assert any("505/500" in n and "shorten it by 5" in n for n in notices(app))


async def test_a_mastodon_instance_with_a_5000_limit_shows_5000(cache_path):
    """The adapter learns the instance's limit on open (recorded HTTP: no Mastodon server runs here);
    the engine keeps what the adapter says and the composer shows it."""
    from providers.base import AccountConfig
    from providers.mastodon import MastodonProvider
    from tests.support.recorded.mastodon_fake import BASE, TOKEN, FakeMastodon

    fake = FakeMastodon()
    fake.instance["configuration"]["statuses"]["max_characters"] = 5000
    with fake.router:
        adapter = MastodonProvider(AccountConfig(name="social", provider="mastodon", options={"instance": BASE},
                                                 secret=lambda: TOKEN))
        await adapter.open(read_only=True)
        stated = adapter.reply_limits()
        await adapter.close()
    path, ids = cache_path
    db = connect(path)
    account_id = db.execute("SELECT id FROM accounts WHERE name='social'").fetchone()[0]
    queries.store_reply_limits(db, account_id, stated)  # what the engine does when it opens an account
    app = PaneApp(db, thread_id=ids["social"])
    async with app.run_test(size=(140, 45)) as pilot:
        status = await composer_status(app, pilot, ids["social"], text="x" * 600)
        assert "600/5000" in status and "over" not in status


async def test_bluesky_counts_300_for_a_post_and_1000_for_a_direct_message(cache_path):
    path, ids = cache_path
    db = connect(path)
    bsky = ensure_account(db, "bsky", "bluesky", "social")
    who = Identity(Channel.SOCIAL, "did:plc:alice", display_name="Alice")
    apply_batch(db, bsky, Batch(cursor="1", threads=[
        Thread("at://did:plc:alice/app.bsky.feed.post/1", Channel.SOCIAL, "a post", who, ago(hours=1)),
        Thread("chat:c1", Channel.SOCIAL, "a dm", who, ago(hours=1), channel_detail="direct"),
    ]))
    post, dm = (db.execute("SELECT id FROM threads WHERE remote_id=?", (r,)).fetchone()[0]
                for r in ("at://did:plc:alice/app.bsky.feed.post/1", "chat:c1"))
    app = PaneApp(db, thread_id=post)
    async with app.run_test(size=(140, 45)) as pilot:
        assert "400/300" in await composer_status(app, pilot, post, text="é" * 400)
        app.query_one(ConversationPane).close_composer()
        status = await composer_status(app, pilot, dm, text="é" * 400)
        assert "400/1000" in status and "over" not in status


async def test_composer_binds_send_from_the_registry():
    from console.actions import REGISTRY

    keys = {b.key for b in Composer.BINDINGS if b.action == "send"}
    assert keys == {k for k in REGISTRY["send"].keys}


async def test_ctrl_t_switches_reply_private_note_where_the_channel_can(cache_path):
    path, ids = cache_path
    db = connect(path)
    db.execute("UPDATE accounts SET capabilities='[\"reply\",\"move_private\"]' WHERE name='social'")
    app = PaneApp(db, thread_id=ids["social"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.pause()
        assert "reply/private/note" in static_text(app.query_one("#composer-status"), 200)
        await type_text(pilot, "Sent you a DM")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert pane.composer.kind == "private"
        assert "PRIVATE REPLY → a direct message, not a public answer" in mode_line(app)
        await wait_until(pilot, lambda: tuple(db.execute("SELECT kind, text FROM drafts").fetchone() or ()) ==
                         ("private", "Sent you a DM"), what="the private draft to be saved")
        await pilot.press("escape")
        pane.open_composer("reply")  # r again: the private draft stays private
        await pilot.pause()
        assert pane.composer.kind == "private" and pane.composer.text == "Sent you a DM"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert db.execute("SELECT kind FROM outbox WHERE thread_id=? ORDER BY id DESC", (ids["social"],)).fetchone()[0] \
            == "move_private"
        assert "sent privately" in static_text(app.query_one("#conv-scroll"))


async def test_ctrl_t_on_email_is_reply_and_note_only(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(ConversationPane)
        pane.open_composer("reply")
        await pilot.pause()
        await type_text(pilot, "internal after all")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert pane.composer.kind == "note" and "NOTE (internal)" in mode_line(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        row = db.execute("SELECT direction, text FROM messages ORDER BY id DESC LIMIT 1").fetchone()
        assert tuple(row) == ("note", "internal after all")
        pane.open_composer("note")
        await pilot.pause()
        await pilot.press("ctrl+t")
        assert pane.composer.kind == "reply"


async def test_quitting_with_the_composer_open_keeps_the_text(cache_path):
    path, ids = cache_path
    db = connect(path)
    app = PaneApp(db, thread_id=ids["refund"])
    async with app.run_test(size=(140, 45)) as pilot:
        app.query_one(ConversationPane).open_composer("reply")
        await pilot.pause()
        await type_text(pilot, "last words")
        app.exit()  # before the debounce fires
    assert db.execute("SELECT text FROM drafts WHERE thread_id=?", (ids["refund"],)).fetchone()[0] == "last words"


# --------------------------------------------------------------------------- drafts are never lost silently

SIZES = [(160, 45), (80, 24)]


@pytest.mark.parametrize("size", SIZES)
async def test_e_on_a_conversation_with_a_draft_asks_and_closes_only_on_yes(make_app, cache_path, size):
    from widgets.screens.choosers import ConfirmScreen

    path, ids = cache_path
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        tid = ids["refund"]
        app.open_thread(tid, focus=False)
        app.main.inbox.focus()
        await pilot.pause()
        app.perform("save_draft", tid, text="half a reply")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "“Refund for order 1002” has an unsent draft" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "open"
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "closed"
        assert queries.draft(app.db, tid)["text"] == "half a reply"  # kept


@pytest.mark.parametrize("size", SIZES)
async def test_the_quit_question_names_the_conversations_holding_drafts(make_app, cache_path, size):
    path, ids = cache_path
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.perform("save_draft", ids["refund"], text="half a reply")
        app.perform("save_draft", ids["chat"], text="Bob, your parcel")
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ == "QuitScreen"
        question = app.screen.query_one("#quit-question").content.plain
        assert question.startswith("2 unsent drafts")
        assert "• Refund for order 1002 — Alice Moreau" in question
        assert "• Bob Okafor — Bob Okafor" in question
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running


async def test_the_quit_question_shows_provider_text_as_text(make_app, cache_path):
    path, ids = cache_path
    app = make_app(path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.db.execute("UPDATE threads SET subject=? WHERE id=?",
                       ("[@click=app.quit]Win[/] \x1b]52;c;ZXZpbA==\x07[bold]big[/bold]", ids["chat"]))
        app.perform("save_draft", ids["chat"], text="Bob, your parcel")
        await pilot.press("q")
        await pilot.pause()
        question = app.screen.query_one("#quit-question").content.plain
        assert "• [@click=app.quit]Win[/] [bold]big[/bold] — Bob Okafor" in question  # inert, one line
        assert "\x1b" not in question and "\x07" not in question
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
