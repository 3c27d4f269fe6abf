"""The outbox: order per conversation, retries with backoff, permanent failures keep
the text, the stale-reply guard, and exactly once across a crash between push and confirm."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import pytest

from console import actions
from console.backoff import backoff_delay
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import LEASE, STALE_REASON, Dispatcher
from providers.base import AccountConfig, PermanentError, RemoteChanged, TransientError
from tests.support.remote_double import RemoteDouble


@pytest.fixture
def world(tmp_path):
    path = tmp_path / "cache.sqlite3"
    db = connect(path)
    remote = RemoteDouble(AccountConfig("mail", "double"))
    account_id = ensure_account(db, "mail", "double", "email")
    asyncio.run(remote.open(read_only=False))
    apply_batch(db, account_id, asyncio.run(remote.pull(None)))
    ctx = actions.Context(db=db, agent="Sam")
    ids = [r[0] for r in db.execute("SELECT id FROM threads ORDER BY remote_id")]
    return path, db, remote, ctx, ids


def outbox(db):
    return [tuple(r) for r in db.execute("SELECT kind, state, attempts, last_error FROM outbox ORDER BY id")]


async def test_replies_go_out_once_and_are_marked_sent(world):
    _, db, remote, ctx, ids = world
    r = actions.perform(ctx, "reply", ids[0], text="It ships today.")
    await Dispatcher(db).flush("mail", remote)
    assert [a.text for a in remote.delivered.values()] == ["It ships today."]
    assert outbox(db) == [("reply", "sent", 1, "")]
    assert db.execute("SELECT state, remote_id FROM messages WHERE id=?", (r.data["message_id"],)).fetchone()[:] == (
        "sent", f"sent-{remote.delivered and next(iter(remote.delivered))}")
    await Dispatcher(db).flush("mail", remote)
    assert remote.attempts == 1, "a sent row is never pushed again"


async def test_a_crash_between_push_and_confirm_is_rechecked_at_the_remote_not_sent_twice(world, monkeypatch):
    path, db, remote, ctx, ids = world
    actions.perform(ctx, "reply", ids[0], text="Refund issued.")

    class Crash(BaseException):
        pass

    def die(*a, **kw):
        raise Crash()

    monkeypatch.setattr(Dispatcher, "_sent", die)  # the process dies right after the provider accepted it
    with pytest.raises(Crash):
        await Dispatcher(db).flush("mail", remote)
    db.close()
    monkeypatch.undo()
    db2 = connect(path)  # restart: a new connection, the row is still 'sending' under the dead owner's lease
    assert outbox(db2)[0][:2] == ("reply", "sending")
    result = await Dispatcher(db2).flush("mail", remote)
    assert result.busy == 1 and remote.attempts == 1, "a live lease is respected"
    later = Dispatcher(db2, clock=lambda: time.time() + LEASE + 1)  # the owner never renewed it: it is dead
    await later.flush("mail", remote)
    assert remote.lookups == 1, "the remote is asked before any retry"
    assert remote.attempts == 1 and len(remote.delivered) == 1, "found at the remote, so not pushed again"
    assert outbox(db2)[0][:2] == ("reply", "sent")


async def test_a_row_whose_owner_died_on_this_machine_is_taken_over_without_waiting_for_its_lease(world):
    _, db, remote, ctx, ids = world
    actions.perform(ctx, "reply", ids[0], text="Your parcel is back in stock.")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}:feedbeef"
    db.execute("UPDATE outbox SET state='sending', attempts=1, claimed_by=?, lease_until=?", (owner, time.time() + 600))
    await Dispatcher(db).flush("mail", remote)
    assert remote.lookups == 1 and remote.attempts == 1, "nothing at the remote: checked, then pushed once"
    assert outbox(db)[0][:3] == ("reply", "sent", 2)


async def test_a_row_claimed_by_a_live_process_is_left_alone_and_its_conversation_waits(world):
    _, db, remote, ctx, ids = world
    actions.perform(ctx, "reply", ids[0], text="first")
    actions.perform(ctx, "reply", ids[0], text="second")
    release = asyncio.Event()
    slow_push = remote.push

    async def push(action):
        await release.wait()
        return await slow_push(action)

    remote.push = push
    owner = Dispatcher(db)
    first = asyncio.create_task(owner.flush("mail", remote))
    await asyncio.sleep(0.05)
    other = await Dispatcher(db).flush("mail", remote)  # another process on the same cache
    assert other.busy == 1 and other.finished == 0, "the claimed row is skipped and the second reply waits for it"
    assert Dispatcher(db).next_due("mail") > time.time(), "a held lease is not due work (no busy loop)"
    release.set()
    assert (await first).finished == 2
    assert [a.text for a in remote.delivered.values()] == ["first", "second"] and remote.attempts == 2


async def test_a_live_owner_renews_its_lease_so_a_slow_push_is_never_taken_over(world):
    _, db, remote, ctx, ids = world
    actions.perform(ctx, "reply", ids[0], text="This one takes a while.")
    slow_push = remote.push

    async def push(action):
        await asyncio.sleep(2.0)  # several leases long
        return await slow_push(action)

    remote.push = push
    owner = asyncio.create_task(Dispatcher(db, lease=0.3).flush("mail", remote))
    for _ in range(5):
        await asyncio.sleep(0.25)
        assert (await Dispatcher(db, lease=0.3).flush("mail", remote)).busy == 1, "renewed: still the owner's"
    assert (await owner).finished == 1
    assert remote.attempts == 1 and remote.lookups == 0


@pytest.mark.parametrize("racers", [2, 4])
async def test_dispatchers_racing_on_one_cache_push_every_row_once(tmp_path, racers):
    path = tmp_path / "cache.sqlite3"
    db = connect(path)
    remote = RemoteDouble(AccountConfig("mail", "double"), threads=6)
    await remote.open(read_only=False)
    apply_batch(db, ensure_account(db, "mail", "double", "email"), await remote.pull(None))
    ctx = actions.Context(db=db, agent="Sam")
    for tid, in db.execute("SELECT id FROM threads").fetchall():
        for n in range(3):
            actions.perform(ctx, "reply", tid, text=f"reply {n} to {tid}")
    pushed: list[str] = []
    real_push = remote.push

    async def push(action):
        pushed.append(action.key)
        await asyncio.sleep(0.01)  # on the wire: the others get their turn
        return await real_push(action)

    remote.push = push
    await asyncio.gather(*(Dispatcher(connect(path)).flush("mail", remote) for _ in range(racers)))
    await Dispatcher(db).flush("mail", remote)  # whatever waited behind a busy row
    assert len(pushed) == len(set(pushed)) == 18, "each row pushed exactly once"
    assert {r[1] for r in outbox(db)} == {"sent"}


async def test_flush_reports_the_rows_it_could_not_push(world):
    _, db, remote, ctx, ids = world
    actions.perform(ctx, "reply", ids[0], text="one")
    actions.perform(ctx, "reply", ids[1], text="two")
    remote.fail_next = [PermanentError("recipient unknown"), TransientError("SMTP server busy")]
    result = await Dispatcher(db).flush("mail", remote)
    assert [(p.thread_id, p.retrying) for p in result.problems] == [(ids[0], False), (ids[1], True)]
    assert "failed: recipient unknown" in result.problems[0].line()
    assert "will retry: SMTP server busy" in result.problems[1].line()


async def test_transient_failure_backs_off_and_keeps_later_replies_of_that_conversation_waiting(world):
    _, db, remote, ctx, ids = world
    actions.perform(ctx, "reply", ids[0], text="first")
    actions.perform(ctx, "reply", ids[0], text="second")
    actions.perform(ctx, "reply", ids[1], text="other conversation")
    remote.fail_next = [TransientError("connection reset", retry_after=30)]
    await Dispatcher(db).flush("mail", remote)
    rows = db.execute("SELECT text, state, next_try_at, last_error FROM outbox ORDER BY id").fetchall()
    assert rows[0]["state"] == "queued" and "connection reset" in rows[0]["last_error"] and rows[0]["next_try_at"] > 0
    assert rows[1]["state"] == "queued", "the second reply must not overtake the first"
    assert rows[2]["state"] == "sent", "another conversation is not held up"
    await Dispatcher(db, clock=lambda: rows[0]["next_try_at"] + 1).flush("mail", remote)
    assert [a.text for a in remote.delivered.values()] == ["other conversation", "first", "second"]


async def test_permanent_failure_keeps_the_text_and_the_reason_and_can_be_retried(world):
    _, db, remote, ctx, ids = world
    r = actions.perform(ctx, "reply", ids[0], text="Here is your invoice.")
    remote.fail_next = [PermanentError("mailbox full at recipient")]
    await Dispatcher(db).flush("mail", remote)
    row = db.execute("SELECT state, last_error, text FROM outbox").fetchone()
    assert tuple(row) == ("failed", "mailbox full at recipient", "Here is your invoice.")
    assert db.execute("SELECT state FROM messages WHERE id=?", (r.data["message_id"],)).fetchone()[0] == "failed"
    assert actions.perform(ctx, "retry_send", ids[0]).ok
    await Dispatcher(db).flush("mail", remote)
    assert outbox(db)[0][1] == "sent"


async def test_stale_reply_guard_holds_a_reply_when_the_customer_wrote_again(world):
    _, db, remote, ctx, ids = world
    actions.perform(ctx, "save_draft", ids[0], text="Let me check")
    # The customer writes again while the agent is typing.
    remote.customer_writes("t0", "Actually I found it, never mind")
    account_id = db.execute("SELECT id FROM accounts WHERE name='mail'").fetchone()[0]
    apply_batch(db, account_id, await remote.pull("live"))
    actions.perform(ctx, "reply", ids[0], text="Let me check, one moment")
    await Dispatcher(db).flush("mail", remote)
    assert remote.delivered == {}
    row = db.execute("SELECT state, last_error FROM outbox").fetchone()
    assert tuple(row) == ("held", STALE_REASON)
    assert actions.perform(ctx, "retry_send", ids[0]).ok  # the agent read it and sends anyway
    await Dispatcher(db).flush("mail", remote)
    assert len(remote.delivered) == 1


async def test_a_push_the_system_of_record_refuses_as_changed_is_held_for_the_agent_not_failed(world):
    _, db, remote, ctx, ids = world
    r = actions.perform(ctx, "reply", ids[0], text="Refund is on its way")
    actions.perform(ctx, "reply", ids[0], text="And a voucher for the trouble")
    remote.fail_next = [RemoteChanged("held — ticket 7 changed in RT since you looked (a colleague replied) — "
                                      "read it, then send again (R) or cancel")]
    await Dispatcher(db).flush("mail", remote)
    assert remote.delivered == {}, "the later reply went out over the conflict"
    assert [row[1] for row in outbox(db)] == ["held", "queued"]
    assert "changed in RT since you looked" in outbox(db)[0][3]
    assert db.execute("SELECT state FROM messages WHERE id=?", (r.data["message_id"],)).fetchone()[0] == "held"
    assert actions.perform(ctx, "retry_send", ids[0]).ok  # the agent read it and sends anyway
    await Dispatcher(db).flush("mail", remote)
    assert len(remote.delivered) == 2


async def test_actions_the_provider_cannot_do_stay_local(world):
    _, db, remote, ctx, ids = world
    actions.perform(ctx, "note", ids[0], text="customer is a reseller")
    actions.perform(ctx, "snooze", ids[1], until="2h")  # RemoteDouble has no SNOOZE
    actions.perform(ctx, "close", ids[2])  # it has CLOSE
    await Dispatcher(db).flush("mail", remote)
    assert [r[:2] for r in outbox(db)] == [("note", "local"), ("snooze", "local"), ("close", "sent")]
    assert [a.kind for a in remote.delivered.values()] == ["close"]
    assert db.execute("SELECT state FROM messages WHERE direction='note'").fetchone()[0] == "local"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    lows = [backoff_delay(n, rand=lambda: 0.0) for n in range(12)]
    highs = [backoff_delay(n, rand=lambda: 1.0) for n in range(12)]
    assert lows[:4] == [1.0, 2.0, 4.0, 8.0]
    assert highs[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(highs) == 300.0 and max(lows) == 150.0
    assert all(lo <= backoff_delay(n) <= hi for n, (lo, hi) in enumerate(zip(lows, highs)))
