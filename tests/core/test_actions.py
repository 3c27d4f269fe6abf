"""The one write gate: read-only refusal of every mutating action, outbox rows, audit."""

from __future__ import annotations

import json
import time

import pytest

from console import actions
from console.actions.domain import parse_when
from tests.support.factories import conversation, load, thread_id

# Arguments that make each data action valid, so a refusal is the gate's doing, not a bad call.
VALID_ARGS = {
    "reply": {"text": "Thanks, sent!"}, "move_private": {"text": "Let's continue in private"},
    "note": {"text": "internal"}, "save_draft": {"text": "draft"}, "snooze": {"until": "2h"},
    "assign": {"to": "me"}, "tag": {"add": ["refund"]}, "priority": {"level": "high"},
    "customer_note": {"text": "prefers chat"}, "apply_macro": {"name": "thanks"},
}


def snapshot(db) -> dict:
    tables = ["threads", "messages", "outbox", "drafts", "customer_notes", "identities", "identity_links"]
    return {t: [tuple(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY 1")] for t in tables}


@pytest.fixture
def one(db):
    load(db, [conversation(1), conversation(2)])
    return thread_id(db, "t1")


def test_read_only_refuses_every_mutating_action_and_changes_nothing(db, one):
    ctx = actions.Context(db=db, agent="boss", role="supervisor")
    ident = db.execute("SELECT id, customer_id FROM identities LIMIT 1").fetchone()
    before = snapshot(db)
    mutating = actions.mutating_ids()
    assert {"reply", "note", "close", "reopen", "snooze", "assign", "tag", "priority", "mark_read",
            "link_identity", "unlink_identity", "compose_reply", "send"} <= set(mutating)
    for action_id in mutating:
        args = dict(VALID_ARGS.get(action_id, {}))
        if action_id in ("link_identity", "unlink_identity"):
            args = {"identity_id": ident[0], "customer_id": ident[1]} if action_id == "link_identity" else {
                "identity_id": ident[0]}
        result = actions.perform(ctx, action_id, one, **args)
        assert not result.ok, f"{action_id} was allowed in read-only mode"
        assert "read-only" in result.message
        with pytest.raises(actions.gate.ReadOnlyError):
            actions.check(ctx, action_id)
    assert snapshot(db) == before, "a refused action changed data"
    refused = db.execute("SELECT COUNT(*) FROM audit WHERE result LIKE 'refused:%'").fetchone()[0]
    assert refused == len(mutating)


def test_the_read_only_flag_refuses_even_for_an_agent_role(db, one):
    ctx = actions.Context(db=db, agent="sam", read_only=True)
    assert not actions.perform(ctx, "mark_read", one).ok
    assert db.execute("SELECT unread FROM threads WHERE id=?", (one,)).fetchone()[0] == 1


def test_reply_writes_the_message_and_its_outbox_row_together(db, one):
    ctx = actions.Context(db=db, agent="Sam")
    result = actions.perform(ctx, "reply", one, text="Your refund is on its way.")
    assert result.ok
    msg = db.execute("SELECT * FROM messages WHERE id=?", (result.data["message_id"],)).fetchone()
    box = db.execute("SELECT * FROM outbox WHERE id=?", (result.data["outbox_id"],)).fetchone()
    assert (msg["direction"], msg["state"], msg["outbox_id"]) == ("outbound", "queued", box["id"])
    assert (box["kind"], box["state"], box["text"]) == ("reply", "queued", "Your refund is on its way.")
    assert db.execute("SELECT status FROM threads WHERE id=?", (one,)).fetchone()[0] == "pending"
    audit = db.execute("SELECT who, action, thread_id, result FROM audit").fetchone()
    assert tuple(audit) == ("Sam", "reply", one, "ok")


def test_a_failing_action_leaves_no_half_written_state(db, one, monkeypatch):
    ctx = actions.Context(db=db, agent="sam")
    from console.actions import domain

    def broken_push(*a, **kw):
        raise ValueError("disk said no")

    monkeypatch.setattr(domain, "queue_push", broken_push)
    result = actions.perform(ctx, "close", one)
    assert not result.ok and "disk said no" in result.message
    assert db.execute("SELECT status FROM threads WHERE id=?", (one,)).fetchone()[0] == "open"


def test_bad_arguments_get_one_clear_line(db, one):
    ctx = actions.Context(db=db, agent="sam")
    cases = {
        ("reply", ()): "empty",
        ("priority", (("level", "asap"),)): "unknown priority",
        ("snooze", (("until", "someday"),)): "cannot read the time",
        ("tag", ()): "no tags given",
    }
    for (action_id, args), expected in cases.items():
        result = actions.perform(ctx, action_id, one, **dict(args))
        assert not result.ok and expected in result.message and "\n" not in result.message
    assert not actions.perform(ctx, "close", 99999).ok
    assert "unknown action" in actions.perform(ctx, "explode", one).message


def test_snooze_assign_tag_priority_change_the_conversation(db, one):
    ctx = actions.Context(db=db, agent="Sam")
    assert actions.perform(ctx, "snooze", one, until="3h").ok
    row = db.execute("SELECT status, snoozed_until FROM threads WHERE id=?", (one,)).fetchone()
    assert row["status"] == "snoozed" and row["snoozed_until"] > time.time() + 3 * 3600 - 60
    assert actions.perform(ctx, "assign", one, to="me").ok
    assert actions.perform(ctx, "tag", one, add=["Refund", "vip"]).ok
    assert actions.perform(ctx, "tag", one, remove="vip").ok
    assert actions.perform(ctx, "priority", one, level="urgent").ok
    row = db.execute("SELECT assignee, tags, priority FROM threads WHERE id=?", (one,)).fetchone()
    assert (row["assignee"], json.loads(row["tags"]), row["priority"]) == ("Sam", ["refund"], 3)
    kinds = [r[0] for r in db.execute("SELECT kind FROM outbox ORDER BY id")]
    assert kinds == ["snooze", "assign", "tag", "tag", "priority"]


def test_drafts_are_kept_and_a_reply_consumes_its_draft(db, one):
    ctx = actions.Context(db=db, agent="sam")
    assert actions.perform(ctx, "save_draft", one, text="Dear customer,").ok
    started = db.execute("SELECT started_at FROM drafts WHERE thread_id=?", (one,)).fetchone()[0]
    assert actions.perform(ctx, "save_draft", one, text="Dear customer, thanks").ok
    assert db.execute("SELECT started_at FROM drafts").fetchone()[0] == started, "edits keep the start time"
    result = actions.perform(ctx, "reply", one, text="Dear customer, thanks")
    assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0
    assert db.execute("SELECT draft_started_at FROM outbox WHERE id=?", (result.data["outbox_id"],)).fetchone()[0] == started


def test_parse_when_understands_people():
    now = 1_800_000_000.0
    assert parse_when("2h", now) == now + 7200
    assert parse_when("30m", now) == now + 1800
    assert parse_when("1w", now) == now + 604800
    assert parse_when("tomorrow", now) > now
    assert parse_when("2027-01-01T09:00+00:00", now) == 1798794000.0
    with pytest.raises(ValueError):
        parse_when("whenever", now)


def test_the_gate_refuses_a_reply_over_the_adapters_limit_before_it_is_queued(db):
    """What `switchboard do reply` and the composer both go through: Bluesky allows 1,000 in a
    direct message and 300 in a post; the count and the cut are named, nothing is queued."""
    from providers.records import Channel

    load(db, [conversation(1, channel=Channel.SOCIAL, channel_detail="direct"),
              conversation(2, channel=Channel.SOCIAL)], account="bsky", provider="bluesky", channel="social")
    ctx = actions.Context(db=db, agent="Sam")
    dm, post = thread_id(db, "t1"), thread_id(db, "t2")
    before = snapshot(db)
    refused = actions.perform(ctx, "reply", dm, text="x" * 1001)
    assert not refused.ok and "1001/1000" in refused.message and "shorten it by 1" in refused.message
    refused = actions.perform(ctx, "reply", post, text="x" * 301)
    assert not refused.ok and "301/300" in refused.message
    assert snapshot(db) == before
    assert actions.perform(ctx, "reply", dm, text="x" * 1000).ok
