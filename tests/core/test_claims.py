"""Claims in the core: "assign to me" asks the system of record when the account can claim
(and is not ours until it answers), a reply on an unassigned conversation claims first,
an account that cannot claim keeps today's assignment, and read-only claims nothing.
(The races themselves run against real servers: tests/providers/imap|rt/test_claims.py.)"""

from __future__ import annotations

import asyncio
import json

import pytest

from console import actions, claims
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from providers.base import AccountConfig
from tests.support.remote_double import RemoteDouble


@pytest.fixture
def world(tmp_path):
    db = connect(tmp_path / "cache.sqlite3")
    remote = RemoteDouble(AccountConfig("mail", "double"))
    account_id = ensure_account(db, "mail", "double", "email")
    asyncio.run(remote.open(read_only=False))
    apply_batch(db, account_id, asyncio.run(remote.pull(None)))
    ids = [r[0] for r in db.execute("SELECT id FROM threads ORDER BY remote_id")]
    return db, remote, account_id, ids


def can_claim(db, account_id: int) -> None:
    """What the engine records when it opens an adapter that claims (IMAP with CONDSTORE, RT)."""
    db.execute("UPDATE accounts SET capabilities=? WHERE id=?", (json.dumps(["assign", "claim", "reply"]), account_id))


def rows(db):
    return [(r["kind"], r["state"]) for r in db.execute("SELECT kind, state FROM outbox ORDER BY id")]


def assignee(db, tid):
    return db.execute("SELECT assignee FROM threads WHERE id=?", (tid,)).fetchone()[0]


def test_assign_to_me_on_an_account_that_claims_waits_for_the_system_of_record(world):
    db, _, account_id, ids = world
    can_claim(db, account_id)
    result = actions.perform(actions.Context(db=db, agent="Ana"), "assign", ids[0], to="me")
    assert result.ok and "claiming" in result.message
    assert rows(db) == [("claim", "queued")]
    assert json.loads(db.execute("SELECT args FROM outbox").fetchone()[0]) == {"agent": "Ana", "expect": None}
    assert assignee(db, ids[0]) is None, "not shown as ours before the server says so"
    assert claims.line(db, ids[0]).startswith("claiming")
    again = actions.perform(actions.Context(db=db, agent="Ana"), "assign", ids[0], to="me")
    assert again.ok and rows(db) == [("claim", "queued")], "one pending claim is enough"


def test_a_reply_on_an_unassigned_conversation_claims_it_first(world):
    db, _, account_id, ids = world
    can_claim(db, account_id)
    actions.perform(actions.Context(db=db, agent="Ana"), "reply", ids[0], text="On it.")
    assert rows(db) == [("claim", "queued"), ("reply", "queued")]
    db.execute("UPDATE threads SET assignee='Priya' WHERE id=?", (ids[1],))
    actions.perform(actions.Context(db=db, agent="Ana"), "reply", ids[1], text="Helping out.")
    assert rows(db)[-1] == ("reply", "queued") and len(rows(db)) == 3, "an assigned conversation is not claimed"


async def test_a_claim_the_adapter_cannot_make_remotely_is_todays_local_assignment(world):
    db, remote, account_id, ids = world
    can_claim(db, account_id)  # recorded earlier; this adapter (like chat) has no CLAIM
    actions.perform(actions.Context(db=db, agent="Ana"), "assign", ids[0], to="me")
    await Dispatcher(db).flush("mail", remote)
    assert rows(db) == [("claim", "local")]
    assert assignee(db, ids[0]) == "Ana"
    assert remote.attempts == 0


def test_an_account_that_cannot_claim_assigns_as_before(world):
    db, _, _, ids = world
    result = actions.perform(actions.Context(db=db, agent="Ana"), "assign", ids[0], to="me")
    assert result.ok and assignee(db, ids[0]) == "Ana"
    assert rows(db) == [("assign", "queued")]


def test_a_read_only_console_queues_no_claim(world):
    db, _, account_id, ids = world
    can_claim(db, account_id)
    ctx = actions.Context(db=db, agent="Sue", read_only=True)
    assert not actions.perform(ctx, "assign", ids[0], to="me").ok
    assert not actions.perform(ctx, "reply", ids[0], text="no").ok
    assert rows(db) == []


def test_a_lost_claim_names_the_winner_and_holds_the_replies_waiting_behind_it(world):
    db, _, account_id, ids = world
    can_claim(db, account_id)
    actions.perform(actions.Context(db=db, agent="Ana"), "reply", ids[0], text="Mine!")
    claim = db.execute("SELECT * FROM outbox WHERE kind='claim'").fetchone()
    reason = claims.record_lost(db, claim, "Pri\x1b]52;c;eA==\x07ya", None)
    assert reason.startswith("Priya took this at "), reason  # the OSC 52 clipboard write is gone
    assert rows(db) == [("claim", "lost"), ("reply", "held")]
    assert db.execute("SELECT text FROM outbox WHERE kind='reply'").fetchone()[0] == "Mine!"
    assert "\x1b" not in assignee(db, ids[0])
