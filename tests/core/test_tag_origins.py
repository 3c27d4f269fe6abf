"""Triage tags, agent tags and provider tags live side by side: nobody's tag is lost,
a removal is a removal, and an edited message is read again (issue #12 item 3, #14 item 7)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from console import actions
from console.cache import tags as tag_origins
from console.cache.ingest import apply_batch
from console.config import parse as parse_config
from console.service import Service
from providers.records import Batch, Message, Thread
from tests.support.factories import T0, conversation, load, person, thread_id

CONFIG = """
[[triage.rules]]
name = "refunds"
when = { words = ["refund"] }
then = { tags = ["refund"] }

[[triage.rules]]
name = "vip"
when = { words = ["order"] }
then = { tags = ["vip"] }

[[triage.rules]]
name = "angry"
when = { tone = "angry" }
then = { priority = "urgent", tags = ["angry"] }
"""


@pytest.fixture
def triaged(db):
    """A conversation tagged refund and vip by triage; the provider reported no tags."""
    service = Service(parse_config(CONFIG))
    acc, result = load(db, [conversation(1, text="I'd like a refund for my order, please.")])
    service.process(db, result)
    return db, acc, thread_id(db, "t1"), service


def tags(db, tid):
    row = db.execute("SELECT tags, tag_origins FROM threads WHERE id=?", (tid,)).fetchone()
    return json.loads(row["tags"]), tag_origins.provenance(row["tags"], row["tag_origins"])


def agent_tags(db, tid, add=(), remove=()):
    result = actions.perform(actions.Context(db=db, agent="Sam"), "tag", tid, add=list(add), remove=list(remove))
    assert result.ok, result.message


def provider_reports(db, acc, reported, cursor):
    t = Thread(remote_id="t1", channel=person(1).channel, subject="Question 1", customer=person(1),
               last_message_at=T0 + timedelta(minutes=1), tags=list(reported))
    apply_batch(db, acc, Batch(cursor=cursor, threads=[t]))


def test_an_agent_tag_survives_the_providers_next_pull_beside_the_triage_tags(triaged):
    db, acc, tid, _ = triaged
    assert tags(db, tid) == (["refund", "vip"], {"refund": "triage", "vip": "triage"})
    agent_tags(db, tid, add=["probe"])
    provider_reports(db, acc, ["probe"], "c2")  # the remote side now holds the agent's tag, and only that
    assert tags(db, tid) == (["probe", "refund", "vip"], {"probe": "provider", "refund": "triage", "vip": "triage"})


def test_a_pull_from_before_the_push_landed_loses_nothing(triaged):
    db, acc, tid, _ = triaged
    agent_tags(db, tid, add=["probe"])
    provider_reports(db, acc, [], "c2")  # the push has not reached the provider yet
    assert tags(db, tid)[0] == ["probe", "refund", "vip"]


def test_removals_by_the_agent_and_by_the_provider_are_removals(triaged):
    db, acc, tid, _ = triaged
    provider_reports(db, acc, ["billing", "probe"], "c2")
    agent_tags(db, tid, remove=["refund", "billing"])
    provider_reports(db, acc, ["billing", "probe"], "c3")  # the removal is still on its way
    assert tags(db, tid)[0] == ["probe", "vip"]
    provider_reports(db, acc, ["probe"], "c4")  # it arrived
    assert tags(db, tid)[0] == ["probe", "vip"]
    provider_reports(db, acc, [], "c5")  # someone removed probe on the remote side
    assert tags(db, tid) == (["vip"], {"vip": "triage"})
    provider_reports(db, acc, ["billing"], "c6")  # and someone added billing there again
    assert tags(db, tid)[0] == ["billing", "vip"]


def test_an_edited_message_is_read_again_for_tone_and_triage(triaged):
    db, acc, tid, service = triaged
    assert db.execute("SELECT tone FROM messages WHERE remote_id='m1'").fetchone()[0] != "angry"
    edited = Message(remote_id="m1", thread_remote_id="t1", direction=conversation(1)[1].direction, author=person(1),
                     sent_at=T0 + timedelta(minutes=1), text="Third email about this refund. Answer me NOW!!")
    result = apply_batch(db, acc, Batch(cursor="c2", messages=[edited]))
    service.process(db, result)
    msg = db.execute("SELECT tone, kind FROM messages WHERE remote_id='m1'").fetchone()
    row = db.execute("SELECT tone, priority FROM threads WHERE id=?", (tid,)).fetchone()
    assert (msg["tone"], msg["kind"], row["tone"], row["priority"]) == ("angry", "refund", "angry", 3)
    assert tags(db, tid)[0] == ["angry", "refund", "vip"]
    assert db.execute("SELECT COUNT(*) FROM messages WHERE thread_id=?", (tid,)).fetchone()[0] == 1


def test_customer_since_is_the_first_thing_known_about_them(db):
    from console.cache.ingest import ensure_account
    from providers.records import Order

    alice = person(1)
    shop = ensure_account(db, "shop", "demo", "commerce")
    apply_batch(db, shop, Batch(cursor="o", orders=[Order("o1", "#1", alice, T0 - timedelta(days=400), 20.0)]))
    load(db, [conversation(1, who=alice, at=T0 - timedelta(days=30))])
    bob = person(2)
    load(db, [conversation(2, who=bob, at=T0 - timedelta(days=9))], cursor="c2")
    since = {r[0]: r[1] for r in db.execute(
        "SELECT i.address, c.created_at FROM customers c JOIN identities i ON i.customer_id = c.id")}
    assert since[alice.address] == pytest.approx((T0 - timedelta(days=400)).timestamp())
    assert since[bob.address] == pytest.approx((T0 - timedelta(days=9)).timestamp())
