"""Pushing to a real RT 5: replies and notes land with the right type, owner and status
travel both ways, a change made against a ticket that moved is held, a crash between
push and confirmation sends once, and a read-only session writes nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import pytest

from console.actions import Context, perform
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from providers.base import Direction, PermanentError, PushAction, RemoteChanged, Status
from providers.rt.provider import RtProvider
from tests.providers.rt.conftest import rt_account
from tests.support.contract import messages_of, pull_all
from tests.support.servers.common import ROOT
from tests.support.servers.rt import AGENT

pytestmark = pytest.mark.server


def act(kind: str, ticket: int, text: str = "", key: str | None = None, **args) -> PushAction:
    return PushAction(key=key or uuid.uuid4().hex, kind=kind, thread_remote_id=str(ticket), text=text, args=args)


async def sync(db, p, cursor=None):
    account_id = ensure_account(db, "helpdesk", "rt", "helpdesk")
    batches, cursor = await pull_all(p, cursor)
    for batch in batches:
        apply_batch(db, account_id, batch)
    return cursor


@pytest.fixture
async def looked(rt, tmp_path):
    """A customer's new ticket and the agent's adapter, which has pulled it (the agent looked)."""
    customer = rt.customer("Cora Client")
    ticket = rt.open_ticket(customer, "Refund", "Please refund order 55")
    p = rt_account(rt, tmp_path / "state")
    await p.open(read_only=False)
    _, cursor = await pull_all(p, None)
    yield p, ticket, customer, cursor
    await p.close()


async def test_reply_and_note_land_in_rt_with_their_types_and_come_back_confirmed(rt, looked):
    p, ticket, _, cursor = looked
    reply, note = act("reply", ticket, "Refund sent <b>today</b>\nThanks!"), act("note", ticket, "Paid via bank")
    assert (await p.push(reply)).remote_id
    assert (await p.push(note)).remote_id
    history = rt.history(ticket)
    ours = [(t["type"], t["creator"]) for t in history if t["type"] in ("Correspond", "Comment") and t["creator"] == AGENT]
    assert ours == [("Correspond", AGENT), ("Comment", AGENT)]
    sent = next(t for t in history if t["type"] == "Correspond" and t["creator"] == AGENT)
    assert "Refund sent &lt;b&gt;today&lt;/b&gt;" in sent["text"], "the agent's text went out as markup"
    batches, _ = await pull_all(p, cursor)
    back = {m.action_key: m for m in messages_of(batches)}
    assert back[reply.key].direction == Direction.OUTBOUND
    assert back[reply.key].text == "Refund sent <b>today</b>\nThanks!"
    assert back[note.key].direction == Direction.NOTE and back[note.key].text == "Paid via bank"


async def test_owner_status_and_priority_go_to_rt_and_come_back_from_it(rt, looked):
    p, ticket, _, cursor = looked
    await p.push(act("assign", ticket, to=AGENT))
    await p.push(act("priority", ticket, level=2))
    await p.push(act("close", ticket))
    t = rt.ticket(ticket)
    assert (t["Owner"]["id"], t["Status"], int(t["Priority"])) == (AGENT, "resolved", 100)
    await p.push(act("reopen", ticket))
    assert rt.ticket(ticket)["Status"] == "open"

    rt.colleague_sets(ticket, Owner="root", Status="stalled")  # a colleague in RT's web UI
    batches, _ = await pull_all(p, cursor)
    seen = [t for b in batches for t in b.threads if t.remote_id == str(ticket)][-1]
    assert (seen.assignee, seen.status) == ("root", Status.PENDING)


async def test_assigning_to_someone_rt_does_not_know_fails_with_the_fix(rt, looked):
    p, ticket, _, _ = looked
    with pytest.raises(PermanentError) as err:
        await p.push(act("assign", ticket, to="no-such-agent"))
    assert "RT user name" in str(err.value)


@pytest.mark.parametrize("change", ["colleague replies", "customer writes", "colleague takes it"])
async def test_a_reply_to_a_ticket_that_moved_since_the_agent_looked_is_held_not_sent(rt, looked, change):
    p, ticket, customer, _ = looked
    if change == "colleague replies":
        rt.colleague_replies(ticket, "I already refunded it")
    elif change == "customer writes":
        rt.customer_writes(rt.customers[customer.email], ticket, "Never mind, it arrived")
    else:
        rt.colleague_sets(ticket, Owner="root")
    with pytest.raises(RemoteChanged) as err:
        await p.push(act("reply", ticket, "Refund is on its way (stale-reply)"))
    assert "changed in RT since you looked" in str(err.value) and "send again" in str(err.value)
    assert not [t for t in rt.history(ticket) if "stale-reply" in t["text"]], "a stale reply reached RT"


async def test_a_change_that_races_the_agents_look_is_refused_by_rt_itself(rt, looked):
    p, ticket, _, _ = looked

    class ColleagueSlipsIn(RtProvider):
        def _refuse_if_changed(self, ticket_id, news):
            super()._refuse_if_changed(ticket_id, news)
            rt.colleague_sets(ticket_id, Status="stalled")  # after our look, before our write

    racing = ColleagueSlipsIn(p.account)
    await racing.open(read_only=False)
    try:
        await pull_all(racing, None)
        with pytest.raises(RemoteChanged, match="changed in RT while the change was being sent"):
            await racing.push(act("close", ticket))
    finally:
        await racing.close()
    assert rt.ticket(ticket)["Status"] == "stalled", "the close went over the colleague's change"


async def test_through_the_outbox_a_stale_reply_keeps_its_text_with_the_reason_and_sends_after_a_look(rt, looked, db):
    p, ticket, _, _ = looked
    cursor = await sync(db, p)
    thread_id = db.execute("SELECT id FROM threads WHERE remote_id=?", (str(ticket),)).fetchone()[0]
    assert perform(Context(db=db, agent="Sam"), "reply", thread_id, text="Refund approved (outbox-stale)").ok
    rt.colleague_sets(ticket, Owner="root")
    await Dispatcher(db).flush("helpdesk", p)
    row = db.execute("SELECT state, last_error, text FROM outbox").fetchone()
    assert row["state"] != "sent" and "changed in RT since you looked" in row["last_error"]
    assert row["text"] == "Refund approved (outbox-stale)"
    assert not [t for t in rt.history(ticket) if "outbox-stale" in t["text"]]

    await sync(db, p, cursor)  # the agent reads the news, then sends again (R)
    assert perform(Context(db=db, agent="Sam"), "retry_send", thread_id).ok
    await Dispatcher(db).flush("helpdesk", p)
    assert db.execute("SELECT state FROM outbox").fetchone()[0] == "sent"
    assert len([t for t in rt.history(ticket) if "outbox-stale" in t["text"]]) == 1


async def test_kill_9_between_push_and_confirmation_sends_the_reply_once(rt, db, tmp_path):
    customer = rt.customer()
    ticket = rt.open_ticket(customer, "Broken lamp", "It flickers")
    cache, state = tmp_path / "cache.sqlite3", tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "tests.providers.rt.crash_worker", str(cache), str(state),
                               rt.url, str(ticket), "A new lamp ships today (crash-once)"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(worker.stdout.readline), timeout=120)
        assert line.startswith("pushed"), worker.stderr.read()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    from console.cache import connect

    db2 = connect(cache)
    assert db2.execute("SELECT state FROM outbox").fetchone()[0] == "sending", "the crash left the row unconfirmed"
    p = rt_account(rt, state)  # the restarted console pushes the outbox before it pulls
    await p.open(read_only=False)
    try:
        await Dispatcher(db2).flush("helpdesk", p)  # the dead worker's claim is taken over at once
        assert db2.execute("SELECT state FROM outbox").fetchone()[0] == "sent"
        await sync(db2, p, db2.execute("SELECT cursor FROM accounts WHERE name='helpdesk'").fetchone()[0])
    finally:
        await p.close()
    assert len([t for t in rt.history(ticket) if "crash-once" in t["text"]]) == 1
    assert db2.execute("SELECT COUNT(*) FROM messages WHERE text LIKE '%crash-once%'").fetchone()[0] == 1
    db2.close()


async def test_read_only_sends_only_gets_and_search_posts(rt, tmp_path):
    customer = rt.customer()
    ticket = rt.open_ticket(customer, "Supervisor view", "Just looking")
    before_log, before_txn = len(rt.access_log()), rt.last_transaction()
    p = rt_account(rt, tmp_path / "state")
    await p.open(read_only=True)
    try:
        batches, _ = await pull_all(p, None)
        assert str(ticket) in {t.remote_id for b in batches for t in b.threads}
        for action in (act("reply", ticket, "must not go out"), act("note", ticket, "nor this"),
                       act("close", ticket), act("assign", ticket, to=AGENT)):
            with pytest.raises(PermanentError, match="read-only"):
                await p.push(action)
    finally:
        await p.close()
    requests = rt.access_log()[before_log:]
    assert requests, "the access log saw nothing"
    for line in requests:
        method, path = line.split()[:2]
        searched = method == "POST" and path.split("?")[0] in ("/REST/2.0/transactions", "/REST/2.0/attachments",
                                                                 "/REST/2.0/tickets")
        assert method == "GET" or searched, f"a read-only session sent {line}"
    assert rt.last_transaction() == before_txn, "read-only use changed RT"
