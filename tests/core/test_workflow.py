"""The agent's power tools through the one write gate: bulk actions, snooze until the
customer replies, undo of the last change, merge and split of conversations."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from console.actions import Context, perform
from console.cache import queries
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from providers.base import AccountConfig
from providers.records import Batch, Channel, Direction, Identity, Message
from tests.support.factories import T0, conversation, load, person, thread_id
from tests.support.remote_double import RemoteDouble


def status(db, tid):
    return db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0]


def audit(db, action):
    return [(r[0], r[1]) for r in db.execute("SELECT thread_id, result FROM audit WHERE action=? ORDER BY id", (action,))]


@pytest.fixture
def five(db):
    load(db, [conversation(n) for n in range(1, 6)])
    return db, [thread_id(db, f"t{n}") for n in range(1, 6)]


# --------------------------------------------------------------------------- bulk


def test_bulk_close_changes_every_marked_conversation_with_one_audit_row_each(five):
    db, ids = five
    result = perform(Context(db, agent="Sam"), "bulk", action="close", threads=ids[:3])
    assert result.ok and result.message == "3 of 3 conversations closed"
    assert [status(db, t) for t in ids] == ["closed", "closed", "closed", "open", "open"]
    assert audit(db, "close") == [(t, "ok") for t in ids[:3]]
    assert [r[0] for r in db.execute("SELECT kind FROM outbox ORDER BY id")] == ["close"] * 3


def test_bulk_is_all_or_nothing_per_conversation_and_names_the_failures(five):
    db, ids = five
    db.execute("UPDATE threads SET status='closed' WHERE id=?", (ids[1],))
    result = perform(Context(db, agent="Sam"), "bulk", action="snooze", threads=[ids[0], 999, ids[2]], until="3d")
    assert result.ok and result.message == "2 of 3 conversations snoozed; not changed: #999 (no conversation 999)"
    assert result.data["failed"] == {999: "no conversation 999"}
    assert status(db, ids[0]) == "snoozed" and status(db, ids[2]) == "snoozed"
    past = perform(Context(db, agent="Sam"), "bulk", action="snooze", threads=ids[3:], until="2020-01-01")
    assert not past.ok and "“Question 4” (snooze time is in the past" in past.message
    assert status(db, ids[3]) == "open" and db.execute(
        "SELECT COUNT(*) FROM outbox WHERE thread_id IN (?, ?)", (ids[3], ids[4])).fetchone()[0] == 0


def test_bulk_tag_assign_and_macro(five):
    db, ids = five
    from console.config import parse as parse_config

    ctx = Context(db, agent="Sam", config=parse_config('[[macros]]\nname = "thanks"\ntext = "Thanks!"\nclose = true\n'))
    assert perform(ctx, "bulk", action="tag", threads=ids, add=["spam"]).ok
    assert perform(ctx, "bulk", action="assign", threads="%d,%d" % (ids[0], ids[1]), to="Priya").ok
    assert perform(ctx, "bulk", action="apply_macro", threads=ids[2:4], name="thanks").ok
    assert all(json.loads(r[0]) == ["spam"] for r in db.execute("SELECT tags FROM threads"))
    assert [r[0] for r in db.execute("SELECT assignee FROM threads ORDER BY id")][:3] == ["Priya", "Priya", None]
    assert [r[0] for r in db.execute("SELECT thread_id FROM drafts ORDER BY thread_id")] == ids[2:4]


def test_bulk_refuses_in_read_only_and_unknown_actions(five):
    db, ids = five
    refused = perform(Context(db, agent="boss", role="supervisor"), "bulk", action="close", threads=ids)
    assert not refused.ok and "read-only" in refused.message
    assert {status(db, t) for t in ids} == {"open"}
    wrong = perform(Context(db, agent="Sam"), "bulk", action="reply", threads=ids, text="hi")
    assert not wrong.ok and "'reply' cannot be done in bulk" in wrong.message


# --------------------------------------------------------------------------- snooze until the customer replies


def test_snooze_until_the_customer_replies_wakes_on_their_message_only(db):
    who = person(1)
    account, _ = load(db, [conversation(1, who=who)])
    tid = thread_id(db, "t1")
    result = perform(Context(db, agent="Sam"), "snooze", tid, until="reply")
    assert result.ok and result.message == "snoozed until the customer replies"
    from console.service import Service
    from console.config import Config

    Service(Config()).tick(db, now=(T0 + timedelta(days=365)).timestamp())  # the timed wake-up leaves it alone
    assert status(db, tid) == "snoozed"
    apply_batch(db, account, Batch(cursor="c2", messages=[Message(
        "m1b", "t1", Direction.OUTBOUND, Identity(Channel.EMAIL, "support@shop.example", "Support"),
        T0 + timedelta(hours=1), "A colleague's reply")]))
    assert status(db, tid) == "snoozed"
    apply_batch(db, account, Batch(cursor="c3", messages=[Message(
        "m1c", "t1", Direction.INBOUND, who, T0 + timedelta(hours=2), "Any news?")]))
    assert status(db, tid) == "open"


# --------------------------------------------------------------------------- undo


def test_undo_puts_back_a_close_and_its_unsent_push_never_goes(five):
    db, ids = five
    ctx = Context(db, agent="Sam")
    perform(ctx, "tag", ids[0], add=["vip"])
    assert perform(ctx, "close", ids[0]).ok
    undone = perform(ctx, "undo")
    assert undone.ok and undone.message == "undone: the close"
    assert status(db, ids[0]) == "open"
    assert [tuple(r) for r in db.execute("SELECT kind, state FROM outbox ORDER BY id")] == [
        ("tag", "queued"), ("close", "cancelled")]
    assert perform(ctx, "undo").message == "undone: the tag change"  # one step further back
    assert json.loads(db.execute("SELECT tags FROM threads WHERE id=?", (ids[0],)).fetchone()[0]) == []
    nothing = perform(ctx, "undo")
    assert not nothing.ok and "nothing to undo" in nothing.message


def test_undo_of_a_change_already_pushed_queues_its_opposite(tmp_path):
    from console.cache import connect

    db = connect(tmp_path / "c.sqlite3")
    remote = RemoteDouble(AccountConfig("mail", "double"))
    asyncio.run(remote.open(read_only=False))
    apply_batch(db, ensure_account(db, "mail", "double", "email"), asyncio.run(remote.pull(None)))
    tid = db.execute("SELECT id FROM threads ORDER BY id").fetchone()[0]
    ctx = Context(db, agent="Sam")
    assert perform(ctx, "bulk", action="tag", threads=[tid], add=["vip"]).ok
    asyncio.run(Dispatcher(db).flush("mail", remote))
    assert [a.kind for a in remote.delivered.values()] == ["tag"]
    assert perform(ctx, "undo").ok
    assert db.execute("SELECT tags FROM threads WHERE id=?", (tid,)).fetchone()[0] == "[]"
    rows = [(r[0], json.loads(r[1])) for r in db.execute("SELECT kind, args FROM outbox WHERE state='queued'")]
    assert rows == [("tag", {"add": [], "remove": ["vip"]})]
    asyncio.run(Dispatcher(db).flush("mail", remote))
    assert [a.args["remove"] for a in remote.delivered.values()] == [[], ["vip"]]


def test_undo_of_a_bulk_action_takes_back_every_conversation(five):
    db, ids = five
    ctx = Context(db, agent="Sam")
    perform(ctx, "bulk", action="snooze", threads=ids, until="2d")
    assert perform(ctx, "undo").message == "undone: the change to 5 conversations"
    assert {status(db, t) for t in ids} == {"open"}


def test_undo_is_per_agent_and_only_for_a_few_seconds(five):
    db, ids = five
    perform(Context(db, agent="Sam"), "close", ids[0])
    assert not perform(Context(db, agent="Priya"), "undo").ok  # not Priya's change
    db.execute("UPDATE undo_log SET at = at - 60")
    late = perform(Context(db, agent="Sam"), "undo")
    assert not late.ok and "can be undone for 10 seconds" in late.message
    assert status(db, ids[0]) == "closed"


# --------------------------------------------------------------------------- merge and split


@pytest.fixture
def two_channels(db):
    """One customer: an email about order #1042 and a chat about the same order."""
    mail = Identity(Channel.EMAIL, "kim@example.com", "Kim", phone="+4917011111111")
    chat = Identity(Channel.CHAT, "@kim:chat.example", "Kim", phone="+4917011111111")
    load(db, [conversation(1, who=mail, text="Order #1042 arrived broken", subject="Broken parcel")])
    load(db, [conversation(2, who=chat, channel=Channel.CHAT, text="hi, about #1042 again",
                           at=T0 + timedelta(hours=1))], account="chat", channel="chat")
    load(db, [conversation(3, text="someone else")])
    return db, thread_id(db, "t1"), thread_id(db, "t2"), thread_id(db, "t3")


def test_merge_shows_both_channels_in_one_conversation_and_hides_the_other(two_channels):
    db, email, chat, _ = two_channels
    result = perform(Context(db, agent="Sam"), "merge_conversations", email, other=chat)
    assert result.ok and result.message == "“Question 2” (chat) merged into this conversation"
    assert [m["text"] for m in queries.messages(db, email)] == ["Order #1042 arrived broken", "hi, about #1042 again"]
    rows, total = queries.messages_tail(db, email, 10)
    assert total == 2 and len(rows) == 2
    visible = {r.id for r in queries.inbox_page(db, queries.Filter(statuses=queries.ALL_STATES))}
    assert chat not in visible and email in visible
    assert audit(db, "merge_conversations") == [(email, "ok")]


def test_a_reply_goes_out_on_the_channel_of_the_message_it_answers(two_channels):
    db, email, chat, _ = two_channels
    ctx = Context(db, agent="Sam")
    perform(ctx, "merge_conversations", email, other=chat)
    perform(ctx, "reply", email, text="Sorry! A new one is on its way.")  # the newest message is the chat
    first = db.execute("SELECT o.thread_id, a.name FROM outbox o JOIN accounts a ON a.id=o.account_id").fetchone()
    assert tuple(first) == (chat, "chat")
    mail_msg = db.execute("SELECT id FROM messages WHERE thread_id=? AND direction='inbound'", (email,)).fetchone()[0]
    perform(ctx, "reply", email, text="(and by mail)", answering=mail_msg)
    second = db.execute("SELECT o.thread_id, a.name FROM outbox o JOIN accounts a ON a.id=o.account_id "
                        "ORDER BY o.id DESC").fetchone()
    assert tuple(second) == (email, "mail")
    assert [m["text"] for m in queries.messages(db, email)][-2:] == ["Sorry! A new one is on its way.", "(and by mail)"]


def test_a_new_message_on_a_merged_thread_wakes_the_conversation(two_channels):
    db, email, chat, _ = two_channels
    ctx = Context(db, agent="Sam")
    perform(ctx, "merge_conversations", email, other=chat)
    perform(ctx, "close", email)
    chat_account = db.execute("SELECT account_id FROM threads WHERE id=?", (chat,)).fetchone()[0]
    apply_batch(db, chat_account, Batch(cursor="c9", messages=[Message(
        "m2b", "t2", Direction.INBOUND, Identity(Channel.CHAT, "@kim:chat.example", "Kim"),
        T0 + timedelta(hours=3), "still broken")]))
    assert status(db, email) == "open" and status(db, chat) == "merged"


def test_merge_is_refused_across_customers_and_reversible(two_channels):
    db, email, chat, stranger = two_channels
    ctx = Context(db, agent="Sam")
    refused = perform(ctx, "merge_conversations", email, other=stranger)
    assert not refused.ok and "different customers" in refused.message
    perform(ctx, "merge_conversations", email, other=chat)
    back = perform(ctx, "unmerge_conversation", email)
    assert back.ok and status(db, chat) == "open"
    assert [m["text"] for m in queries.messages(db, email)] == ["Order #1042 arrived broken"]
    perform(ctx, "merge_conversations", email, other=chat)
    assert perform(ctx, "undo").message == "undone: the merge"
    assert status(db, chat) == "open" and queries.messages_tail(db, email, 10)[1] == 1


def two_messages(db, first: str, second: str) -> tuple[int, int]:
    """A conversation of two customer messages: (its id, the second message's id)."""
    who = person(1)
    account, _ = load(db, [conversation(1, who=who, text=first)])
    apply_batch(db, account, Batch(cursor="c2", messages=[Message(
        "m1b", "t1", Direction.INBOUND, who, T0 + timedelta(hours=1), second)]))
    return thread_id(db, "t1"), db.execute("SELECT id FROM messages WHERE remote_id='m1b'").fetchone()[0]


def test_split_moves_a_message_out_and_replies_there_go_on_its_thread(db):
    tid, second = two_messages(db, "Where is my parcel?", "Also: change my address please")
    ctx = Context(db, agent="Sam")
    result = perform(ctx, "split_message", tid, message_id=second)
    assert result.ok
    new = result.data["thread_id"]
    assert [m["text"] for m in queries.messages(db, tid)] == ["Where is my parcel?"]
    assert [m["text"] for m in queries.messages(db, new)] == ["Also: change my address please"]
    assert db.execute("SELECT subject, status FROM threads WHERE id=?", (new,)).fetchone()[:] == (
        "Also: change my address please", "open")
    perform(ctx, "reply", new, text="Address changed.")
    assert db.execute("SELECT thread_id FROM outbox").fetchone()[0] == tid  # the real thread on the mail server
    assert [m["text"] for m in queries.messages(db, new)][-1] == "Address changed."
    only = perform(ctx, "split_message", tid, message_id=db.execute(
        "SELECT id FROM messages WHERE remote_id='m1'").fetchone()[0])
    assert not only.ok and "only message" in only.message


def test_undo_of_a_split_folds_the_message_back(db):
    tid, second = two_messages(db, "one", "two")
    ctx = Context(db, agent="Sam")
    new = perform(ctx, "split_message", tid, message_id=second).data["thread_id"]
    assert perform(ctx, "undo").message == "undone: the split"
    assert [m["text"] for m in queries.messages(db, tid)] == ["one", "two"]
    assert status(db, new) == "merged"
