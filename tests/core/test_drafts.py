"""Drafts are never lost silently: the Drafts view, the conversations holding drafts (for
the quit question), and the confirmation `close` asks for on a conversation with a draft."""

from __future__ import annotations

from console.actions import Context, perform
from console.cache import queries
from console.views import builtin_views, jump_letters
from tests.support.factories import conversation, load, thread_id


def test_drafts_view_lists_conversations_with_unsent_drafts_on_g_d(db):
    load(db, [conversation(n) for n in range(1, 5)])
    ctx = Context(db, agent="Sam")
    one, three = thread_id(db, "t1"), thread_id(db, "t3")
    perform(ctx, "save_draft", one, text="Half a reply")
    perform(ctx, "save_draft", three, text="Another")
    perform(ctx, "close", three, confirmed=True)  # a closed conversation's draft still shows
    view = jump_letters(builtin_views("Sam"))["d"]
    assert view.name == "Drafts"
    assert {r.id for r in queries.inbox_page(db, view.filter)} == {one, three}
    assert queries.inbox_count(db, view.filter) == 2
    perform(ctx, "discard_draft", one)
    assert [r.id for r in queries.inbox_page(db, view.filter)] == [three]


def test_the_quit_question_can_name_every_conversation_with_a_draft(db):
    from console.config import parse as parse_config

    load(db, [conversation(1, subject="Broken kettle"), conversation(2, subject="Refund?")])
    ctx = Context(db, agent="Sam", config=parse_config('[[macros]]\nname = "m"\ntext = "Sorted."\nclose = true\n'))
    perform(ctx, "save_draft", thread_id(db, "t1"), text="Sorry about")
    perform(ctx, "apply_macro", thread_id(db, "t2"), name="m")
    held = queries.conversations_with_drafts(db)
    assert [(h.subject, h.customer, h.effects) for h in held] == [
        ("Refund?", "Customer 2", ("close",)), ("Broken kettle", "Customer 1", ())]
    assert [h.subject for h in queries.conversations_with_drafts(db, (thread_id(db, "t1"),))] == ["Broken kettle"]


def test_close_on_a_conversation_with_a_draft_needs_confirmation(db):
    load(db, [conversation(1, subject="Broken kettle")])
    tid = thread_id(db, "t1")
    ctx = Context(db, agent="Sam")
    perform(ctx, "save_draft", tid, text="Let me check with the warehouse")
    asked = perform(ctx, "close", tid)
    assert not asked.ok and asked.data == {"needs_confirmation": True}
    assert asked.message == "“Broken kettle” has an unsent draft — send or discard it, or close anyway (the draft is kept)"
    assert db.execute("SELECT status FROM threads").fetchone()[0] == "open"
    assert perform(ctx, "close", tid, confirmed=True).ok
    assert db.execute("SELECT status FROM threads").fetchone()[0] == "closed"
    assert db.execute("SELECT text FROM drafts").fetchone()[0] == "Let me check with the warehouse"
