"""The email adapter driven by the core, end to end on real servers: an agent's action
goes through ``perform`` and the outbox dispatcher to dovecot/SMTP, and the next pull
confirms it in the cache instead of duplicating it — also after a crash mid-send."""

from __future__ import annotations

import asyncio

import pytest

from console.actions import perform
from console.actions.gate import Context
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
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
        states = [r[0] for r in db.execute("SELECT state FROM outbox ORDER BY id")]
        assert states == ["sent", "sent"]

        cursor = await sync(db, p, cursor)
        rows = db.execute("SELECT direction, state, remote_id FROM messages ORDER BY id").fetchall()
        assert [(r["direction"], r["state"]) for r in rows] == [("inbound", "received"), ("outbound", "sent")]
        assert rows[1]["remote_id"], "our reply got its Message-ID"
        assert db.execute("SELECT status FROM threads").fetchone()[0] == "closed"
        assert await h.delivered("outbox-e2e") == 1
    finally:
        await p.close()


async def test_crash_while_sending_does_not_send_twice(h, db):
    await h.customer_writes("Invoice 12 is wrong")
    p = await h.make()
    await p.open(read_only=False)
    cursor = await sync(db, p)
    thread_id = db.execute("SELECT id FROM threads").fetchone()[0]
    assert perform(Context(db=db, agent="jo"), "reply", thread_id, text="Corrected invoice 12 (crash-e2e)").ok
    row = db.execute("SELECT * FROM outbox").fetchone()
    # The dispatcher marked the row 'sending' and pushed; the process died before the receipt was stored.
    db.execute("UPDATE outbox SET state='sending' WHERE id=?", (row["id"],))
    action = Dispatcher(db)._action(row, db.execute("SELECT * FROM threads").fetchone(), {})
    await p.push(action)
    await p.close()

    p2 = await h.make()  # the restarted console
    await p2.open(read_only=False)
    try:
        dispatcher = Dispatcher(db)
        assert dispatcher.recover() == 1
        await dispatcher.flush(ACCOUNT, p2)
        assert db.execute("SELECT state FROM outbox").fetchone()[0] == "sent"
        assert await h.delivered("crash-e2e") == 1
        await sync(db, p2, cursor)
        assert db.execute("SELECT COUNT(*) FROM messages WHERE direction='outbound'").fetchone()[0] == 1
    finally:
        await p2.close()
