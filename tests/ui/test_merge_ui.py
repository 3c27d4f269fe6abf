"""Merge, split and unmerge from the main screen, at 160x45 and 80x24: M lists the customer's
other conversations across channels, B the conversation's messages, O what is merged in; each
asks before it moves anything, the toast says what happened in words, read-only refuses."""

from __future__ import annotations

import sqlite3

import pytest

from console.cache import connect
from widgets.screens.merge import ConfirmScreen, ConversationChooser, MessageChooser
from tests.support.pilot import settle

SIZES = [(160, 45), (80, 24)]


@pytest.fixture
def one_customer(cache_path, thread_ids):
    """t0 (email) and t1 (chat) belong to one customer, as after linking their identities."""
    db = connect(cache_path)
    db.execute("UPDATE threads SET customer_id=(SELECT customer_id FROM threads WHERE id=?) WHERE id=?",
               (thread_ids["t0"], thread_ids["t1"]))
    db.close()
    return thread_ids["t0"], thread_ids["t1"]


def row(path, thread_id: int) -> sqlite3.Row:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM threads WHERE id=?", (thread_id,)).fetchone()
    finally:
        db.close()


def options(screen) -> list[str]:
    lst = screen.query_one("OptionList")
    return [str(lst.get_option_at_index(i).prompt) for i in range(lst.option_count)]


async def start(app, pilot, thread_id: int) -> None:
    await settle(pilot)
    app.main.open_thread(thread_id, focus=False)
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
async def test_m_merges_the_customers_chat_into_the_email_after_asking(make_app, cache_path, one_customer, size):
    email, chat = one_customer
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await start(app, pilot, email)
        before = app.main.inbox.total
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, ConversationChooser)
        listed = options(app.screen)
        assert len(listed) == 1 and "chat" in listed[0] and "Where is my parcel #1001" in listed[0]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.query_one("#confirm-question").render().plain
        assert "“Where is my parcel #1001” (chat) into “Refund for order #1000” (email)" in question
        assert row(cache_path, chat)["merged_into"] is None  # nothing moved before the answer
        await pilot.press("y")
        await settle(pilot)
        assert row(cache_path, chat)["merged_into"] == email
        assert list(app._notifications)[-1].message == \
            "“Where is my parcel #1001” (chat) merged into this conversation — ctrl+z to undo"
        shown = app.main.conversation.query_one("#conv-scroll").content.plain
        assert "parcel tracking says lost" in shown  # the chat's messages are in the conversation now
        assert app.main.inbox.total == before - 1  # and the chat is no longer a row of its own


@pytest.mark.parametrize("size", SIZES)
async def test_n_at_the_question_moves_nothing(make_app, cache_path, one_customer, size):
    email, chat = one_customer
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await start(app, pilot, email)
        await pilot.press("M", "enter")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        assert row(cache_path, chat)["merged_into"] is None and row(cache_path, chat)["status"] == "open"


@pytest.mark.parametrize("size", SIZES)
async def test_m_with_no_other_conversation_says_so(make_app, thread_ids, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await start(app, pilot, thread_ids["t2"])
        await pilot.press("M")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        assert "has no other conversation to merge into this one" in list(app._notifications)[-1].message


@pytest.mark.parametrize("size", SIZES)
async def test_o_takes_the_merged_conversation_out_again(make_app, cache_path, one_customer, size):
    email, chat = one_customer
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await start(app, pilot, email)
        assert app.perform("merge_conversations", email, other=chat).ok
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Take “Where is my parcel #1001” (chat) out of" in app.screen.query_one("#confirm-question").render().plain
        await pilot.press("y")
        await settle(pilot)
        after = row(cache_path, chat)
        assert after["merged_into"] is None and after["status"] != "merged"
        assert list(app._notifications)[-1].message == "“Where is my parcel #1001” (chat) is its own conversation again"


@pytest.mark.parametrize("size", SIZES)
async def test_b_splits_the_chosen_message_into_a_new_conversation(make_app, cache_path, thread_ids, size):
    email = thread_ids["t0"]
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await start(app, pilot, email)
        await pilot.press("B")
        await settle(pilot)
        assert isinstance(app.screen, MessageChooser)
        listed = options(app.screen)
        assert len(listed) == 2 and "Still waiting" in listed[0]  # newest first
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Still waiting. please answer soon" in app.screen.query_one("#confirm-question").render().plain
        await pilot.press("y")
        await settle(pilot)
        db = sqlite3.connect(cache_path)
        homes = dict(db.execute("SELECT remote_id, thread_id FROM messages WHERE remote_id IN ('m0a', 'm0b')"))
        db.close()
        assert homes["m0a"] == email and homes["m0b"] != email
        assert row(cache_path, homes["m0b"])["customer_id"] == row(cache_path, email)["customer_id"]
        assert list(app._notifications)[-1].message == "message split into a new conversation — ctrl+z to undo"


@pytest.mark.parametrize("size", SIZES)
async def test_merge_split_and_unmerge_are_in_the_palette_with_their_keys(make_app, size):
    from widgets.commands import entries

    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        found = {e.ident: e for e in entries(app)}
        assert found["merge_conversations"].key == "M" and found["split_message"].key == "B"
        assert found["unmerge_conversation"].key == "O"
        await app.run_palette_entry("action", "split_message")
        await settle(pilot)
        assert isinstance(app.screen, MessageChooser)  # the palette runs the same flow as the key


@pytest.mark.parametrize("size", SIZES)
async def test_read_only_refuses_merge_split_and_unmerge_before_any_chooser(make_app, cache_path, one_customer, size):
    email, chat = one_customer
    app = make_app(read_only=True)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        while len(app.screen_stack) > 1:  # the dashboard is the supervisor's first screen
            app.pop_screen()
        await start(app, pilot, email)
        for key in ("M", "B", "O"):
            await pilot.press(key)
            await settle(pilot)
            assert len(app.screen_stack) == 1, f"{key} opened a chooser in read-only mode"
        assert sum("read-only" in n.message for n in app._notifications) >= 3
    assert row(cache_path, chat)["merged_into"] is None
    db = sqlite3.connect(cache_path)
    assert db.execute("SELECT COUNT(*) FROM messages WHERE thread_id=?", (email,)).fetchone()[0] == 2
    db.close()


@pytest.mark.parametrize("size", SIZES)
async def test_a_hostile_subject_is_shown_literally_in_the_chooser_and_the_question(make_app, cache_path, thread_ids, size):
    db = connect(cache_path)
    db.execute("UPDATE threads SET customer_id=(SELECT customer_id FROM threads WHERE id=?) WHERE id=?",
               (thread_ids["t0"], thread_ids["t7"]))
    stored = db.execute("SELECT subject FROM threads WHERE id=?", (thread_ids["t7"],)).fetchone()[0]
    db.close()
    assert "[@click=app.quit]Win[/]" in stored and "\x1b" not in stored  # cleaned on ingest, markup kept as text
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await start(app, pilot, thread_ids["t0"])
        await pilot.press("M")
        await settle(pilot)
        assert "[@click=app.quit]Win[/]" in options(app.screen)[0]
        await pilot.press("enter")
        await settle(pilot)
        assert "[@click=app.quit]Win[/]" in app.screen.query_one("#confirm-question").render().plain
        await pilot.press("n")
        await settle(pilot)
        assert app.is_running
