"""Undo send: an email reply waits the account's window before it may be claimed; cancelled
within it, it is never sent (its text, and a macro's effects, go back onto the draft)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from console import actions
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.config import parse as parse_config
from console.outbox import Dispatcher
from providers.base import AccountConfig
from tests.support.remote_double import RemoteDouble

CONFIG = '''
[[accounts]]
name = "mail"
provider = "double"
undo_send = 30

[[accounts]]
name = "chat"
provider = "double"
undo_send = 30

[[macros]]
name = "solved"
text = "Glad it works now."
tags = ["solved"]
close = true
'''


@pytest.fixture
def world(tmp_path):
    db = connect(tmp_path / "cache.sqlite3")
    remote = RemoteDouble(AccountConfig("mail", "double"))
    account_id = ensure_account(db, "mail", "double", "email")
    asyncio.run(remote.open(read_only=False))
    apply_batch(db, account_id, asyncio.run(remote.pull(None)))
    ctx = actions.Context(db=db, agent="Sam", config=parse_config(CONFIG))
    tid = db.execute("SELECT id FROM threads ORDER BY remote_id").fetchone()[0]
    return db, remote, ctx, tid


def later(seconds: float):
    return lambda: time.time() + seconds


async def test_an_email_reply_waits_out_the_window_then_goes(world):
    db, remote, ctx, tid = world
    result = actions.perform(ctx, "reply", tid, text="On its way.")
    assert result.ok and re.search(r"sends at \d\d:\d\d:\d\d unless cancelled", result.message)  # a clock time
    await Dispatcher(db).flush("mail", remote)
    assert remote.delivered == {}  # still inside the window
    await Dispatcher(db, clock=later(31)).flush("mail", remote)
    assert [a.text for a in remote.delivered.values()] == ["On its way."]


async def test_cancel_within_the_window_never_sends(world):
    db, remote, ctx, tid = world
    assert actions.perform(ctx, "reply", tid, text="Oops, wrong customer.").ok
    cancelled = actions.perform(ctx, "cancel_send", tid)  # no outbox id: the reply still in its window
    assert cancelled.ok, cancelled.message
    await Dispatcher(db, clock=later(3600)).flush("mail", remote)
    assert remote.delivered == {}
    assert db.execute("SELECT text FROM drafts WHERE thread_id=?", (tid,)).fetchone()[0].startswith("Oops")
    assert db.execute("SELECT COUNT(*) FROM messages WHERE direction='outbound'").fetchone()[0] == 0


async def test_cancelling_a_macro_reply_takes_its_effects_back(world):
    db, remote, ctx, tid = world
    assert actions.perform(ctx, "apply_macro", tid, name="solved").ok
    assert actions.perform(ctx, "reply", tid).ok
    assert db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "closed"
    await Dispatcher(db).flush("mail", remote)  # the close waits behind the reply
    assert remote.delivered == {}
    result = actions.perform(ctx, "cancel_send", tid)
    assert result.message == "sending cancelled; the text is back in the draft with its macro's effects"
    row = db.execute("SELECT status, tags FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["status"] == "open" and json.loads(row["tags"]) == []
    draft = db.execute("SELECT text, effects FROM drafts WHERE thread_id=?", (tid,)).fetchone()
    assert draft["text"].startswith("Glad it works now.")
    assert [s["say"] for s in json.loads(draft["effects"])] == ["tag solved", "close"]
    await Dispatcher(db, clock=later(3600)).flush("mail", remote)
    assert remote.delivered == {}
    assert {r[0] for r in db.execute("SELECT state FROM outbox")} == {"cancelled"}


async def test_after_the_window_it_is_too_late_to_cancel(world):
    db, remote, ctx, tid = world
    assert actions.perform(ctx, "reply", tid, text="Sent for real.").ok
    await Dispatcher(db, clock=later(31)).flush("mail", remote)
    result = actions.perform(ctx, "cancel_send", tid)
    assert not result.ok and "nothing failed or held" in result.message


def test_chat_replies_have_no_window(world):
    db, _, ctx, _ = world
    chat = ensure_account(db, "chat", "double", "chat")
    db.execute("""INSERT INTO threads(account_id, remote_id, channel, last_message_at, created_at)
                  VALUES (?, 'room', 'chat', 0, 0)""", (chat,))
    tid = db.execute("SELECT id FROM threads WHERE remote_id='room'").fetchone()[0]
    result = actions.perform(ctx, "reply", tid, text="Hi!")
    assert result.ok and result.data["delay"] == 0
    assert db.execute("SELECT next_try_at FROM outbox WHERE thread_id=?", (tid,)).fetchone()[0] == 0


def test_undo_send_must_be_a_number_of_seconds():
    from console.errors import ConfigError

    with pytest.raises(ConfigError, match="undo_send"):
        parse_config('[[accounts]]\nname = "mail"\nprovider = "imap"\nundo_send = "soon"\n')


def test_a_macro_refund_waits_in_the_window_and_cancelling_offers_it_again(db):
    from console.cache.customer_record import pending_refund
    from providers.records import Channel, Identity, Payment
    from tests.core.test_commerce import shop
    from tests.support.factories import T0, conversation, load, thread_id

    ann = Identity(Channel.EMAIL, "ann@example.com", display_name="Ann")
    load(db, [conversation(1, who=ann)])
    shop(db, Payment("ch_1", ann, T0, 42.0, "EUR", "succeeded"))
    tid = thread_id(db, "t1")
    ctx = actions.Context(db=db, agent="Sam", config=parse_config(
        '[[accounts]]\nname = "mail"\nprovider = "demo"\nundo_send = 30\n'
        '[[macros]]\nname = "r"\ntext = "Refunded."\nrefund = "full"\n'))
    assert actions.perform(ctx, "apply_macro", tid, name="r").ok
    assert actions.perform(ctx, "reply", tid).ok
    refund = db.execute("SELECT state, next_try_at FROM outbox WHERE kind='refund'").fetchone()
    assert refund["state"] == "queued" and refund["next_try_at"] > time.time() + 20  # not before the reply may go
    assert actions.perform(ctx, "cancel_send", tid).ok
    assert db.execute("SELECT state FROM outbox WHERE kind='refund'").fetchone()[0] == "cancelled"
    assert pending_refund(db, tid)["charge"] == "ch_1"  # offered again with the draft
    assert not any("refunding" in r[0] for r in db.execute("SELECT text FROM messages"))
