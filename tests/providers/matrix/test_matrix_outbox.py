"""A reply from the console to a Matrix customer, end to end through the real core:
actions.perform → outbox → Dispatcher → MatrixProvider → Synapse → /sync → cache.

The customer must get exactly one message and the console must show exactly one
sent reply, also when the console dies after the send but before confirming it.
"""

from __future__ import annotations

import pytest

from console.actions import Context, perform
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from providers.base import PushAction
from providers.matrix import MatrixProvider
from tests.support.contract import pull_all
from tests.support.servers.synapse import matrix_account, synapse  # noqa: F401

pytestmark = pytest.mark.server


async def sync_into(db, account_id: int, p: MatrixProvider, cursor):
    batches, cursor = await pull_all(p, cursor)
    for b in batches:
        apply_batch(db, account_id, b)
    return cursor


async def setup_conversation(synapse, db, tmp_path):  # noqa: F811
    agent, customer = await synapse.register(), await synapse.register()
    room = await customer.create_room(invite=[agent.user_id], name="Broken blender")
    await customer.send(room, "My blender broke after two days")
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    await p.open(read_only=False)
    account_id = ensure_account(db, "support", "matrix", "chat")
    cursor = await sync_into(db, account_id, p, None)
    thread_id = db.execute("SELECT id FROM threads WHERE remote_id=?", (room,)).fetchone()[0]
    return agent, customer, room, p, account_id, cursor, thread_id


def outbound_rows(db, thread_id: int) -> list:
    return db.execute("SELECT text, state, remote_id FROM messages WHERE thread_id=? AND direction='outbound'",
                      (thread_id,)).fetchall()


async def test_console_reply_is_sent_once_and_confirmed_by_sync(synapse, db, tmp_path):  # noqa: F811
    agent, customer, room, p, account_id, cursor, thread_id = await setup_conversation(synapse, db, tmp_path)
    try:
        result = perform(Context(db=db), "reply", thread_id, text="Sorry! A new one ships today (e2e-ok).")
        assert result.ok, result.message
        assert (await Dispatcher(db).flush("support", p)).finished == 1
        await sync_into(db, account_id, p, cursor)
    finally:
        await p.close()
    rows = outbound_rows(db, thread_id)
    assert len(rows) == 1 and rows[0]["state"] == "sent" and rows[0]["remote_id"]
    assert db.execute("SELECT state FROM outbox").fetchone()["state"] == "sent"
    assert len(await customer.messages_from(agent.user_id, "e2e-ok")) == 1


async def test_crash_after_send_before_confirm_still_one_message(synapse, db, tmp_path):  # noqa: F811
    agent, customer, room, p, account_id, cursor, thread_id = await setup_conversation(synapse, db, tmp_path)
    assert perform(Context(db=db), "reply", thread_id, text="Replacement on its way (e2e-crash).").ok
    # The dispatcher marks the row 'sending', the request reaches Synapse, then the process dies.
    row = db.execute("SELECT * FROM outbox").fetchone()
    db.execute("UPDATE outbox SET state='sending' WHERE id=?", (row["id"],))
    db.commit()
    await p.push(PushAction(key=row["key"], kind="reply", thread_remote_id=room, text=row["text"]))
    await p.close()

    restarted = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    await restarted.open(read_only=False)
    try:
        await Dispatcher(db).flush("support", restarted)
        await sync_into(db, account_id, restarted, cursor)
    finally:
        await restarted.close()
    assert len(await customer.messages_from(agent.user_id, "e2e-crash")) == 1
    rows = outbound_rows(db, thread_id)
    assert len(rows) == 1 and rows[0]["state"] == "sent", [dict(r) for r in rows]
