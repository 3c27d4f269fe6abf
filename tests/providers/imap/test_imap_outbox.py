"""The email adapter driven by the core, end to end on real servers: an agent's action
goes through ``perform`` and the outbox dispatcher to dovecot/SMTP, and the next pull
confirms it in the cache instead of duplicating it — also after a crash mid-send."""

from __future__ import annotations

import asyncio
import time

import pytest

from console.actions import perform
from console.actions.gate import Context
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import LEASE, Dispatcher
from providers.base import TransientError
from providers.imap import ImapProvider
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server  # noqa: F401

pytestmark = pytest.mark.server

ACCOUNT = "support-mail"


async def sync(db, p, cursor=None):
    account_id = ensure_account(db, ACCOUNT, "imap", "email")
    for _ in range(100):
        batch = await asyncio.wait_for(p.pull(cursor), timeout=60)
        apply_batch(db, account_id, batch)
        cursor = batch.cursor
        if not batch.more:
            return cursor
    raise AssertionError("pull never finished")


@pytest.fixture
def h(dovecot, smtp_server):  # noqa: F811
    return ImapHarness(dovecot, smtp_server)


async def test_reply_through_the_outbox_is_sent_once_and_confirmed_by_the_next_pull(h, db):
    await h.customer_writes("My order 31 never came")
    p = await h.make()
    await p.open(read_only=False)
    try:
        cursor = await sync(db, p)
        thread_id = db.execute("SELECT id FROM threads").fetchone()[0]
        ctx = Context(db=db, agent="jo")
        assert perform(ctx, "reply", thread_id, text="We are sending order 31 again (outbox-e2e)").ok
        assert perform(ctx, "close", thread_id).ok
        dispatcher = Dispatcher(db)
        await dispatcher.flush(ACCOUNT, p)
        states = [tuple(r) for r in db.execute("SELECT kind, state FROM outbox ORDER BY id")]
        assert states == [("reply", "sent"), ("close", "sent"), ("save_copy", "sent")]

        cursor = await sync(db, p, cursor)
        rows = db.execute("SELECT direction, state, remote_id FROM messages ORDER BY id").fetchall()
        assert [(r["direction"], r["state"]) for r in rows] == [("inbound", "received"), ("outbound", "sent")]
        assert rows[1]["remote_id"], "our reply got its Message-ID"
        assert db.execute("SELECT status FROM threads").fetchone()[0] == "closed"
        assert await h.delivered("outbox-e2e") == 1
    finally:
        await p.close()


async def test_a_crash_after_smtp_accepted_the_reply_saves_its_copy_once_and_never_sends_again(h, db, monkeypatch):
    await h.customer_writes("Invoice 12 is wrong")
    p = await h.make()
    await p.open(read_only=False)
    cursor = await sync(db, p)
    thread_id = db.execute("SELECT id FROM threads").fetchone()[0]
    assert perform(Context(db=db, agent="jo"), "reply", thread_id, text="Corrected invoice 12 (crash-e2e)").ok

    class Killed(BaseException):
        pass

    real_push = ImapProvider.push

    async def push(self, action):
        if action.kind == "save_copy":
            raise Killed()  # the process dies between DATA accepted and the copy in Sent
        return await real_push(self, action)

    monkeypatch.setattr(ImapProvider, "push", push)
    with pytest.raises(Killed):
        await Dispatcher(db).flush(ACCOUNT, p)
    monkeypatch.undo()
    assert [tuple(r) for r in db.execute("SELECT kind, state FROM outbox ORDER BY id")] == [
        ("reply", "sent"), ("save_copy", "sending")], "the reply counts as delivered the moment SMTP accepted it"
    await p.close()

    p2 = await h.make()  # the restarted console, once the dead owner's lease ran out
    await p2.open(read_only=False)
    try:
        await Dispatcher(db, clock=lambda: time.time() + LEASE + 1).flush(ACCOUNT, p2)
        assert [r[0] for r in db.execute("SELECT state FROM outbox ORDER BY id")] == ["sent", "sent"]
        assert await h.delivered("crash-e2e") == 1
        assert h.sent_copies("crash-e2e") == 1
        await sync(db, p2, cursor)
        assert db.execute("SELECT COUNT(*) FROM messages WHERE direction='outbound'").fetchone()[0] == 1
    finally:
        await p2.close()



async def test_a_sent_copy_that_could_not_be_saved_is_saved_later_and_the_reply_not_sent_again(h, db, monkeypatch):
    await h.customer_writes("Wrong size delivered")
    p = await h.make()
    await p.open(read_only=False)
    try:
        await sync(db, p)
        thread_id = db.execute("SELECT id FROM threads").fetchone()[0]
        assert perform(Context(db=db, agent="jo"), "reply", thread_id, text="Swapping it (copy-later).").ok
        real_save = ImapProvider._save_copy

        def refused_once(self, action):
            monkeypatch.setattr(ImapProvider, "_save_copy", real_save)
            raise TransientError("IMAP: Sent is over quota", fix="it will be retried")

        monkeypatch.setattr(ImapProvider, "_save_copy", refused_once)
        result = await Dispatcher(db).flush(ACCOUNT, p)
        assert [(x.kind, x.retrying) for x in result.problems] == [("save_copy", True)]
        assert [tuple(r) for r in db.execute("SELECT kind, state FROM outbox ORDER BY id")] == [
            ("reply", "sent"), ("save_copy", "queued")]
        assert h.sent_copies("copy-later") == 0
        await Dispatcher(db, clock=lambda: time.time() + 600).flush(ACCOUNT, p)  # the same process, later
        assert [r[0] for r in db.execute("SELECT state FROM outbox ORDER BY id")] == ["sent", "sent"]
        assert h.sent_copies("copy-later") == 1
        assert await h.delivered("copy-later") == 1
    finally:
        await p.close()
