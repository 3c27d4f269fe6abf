"""The demo provider against the shared contract, and what the demo promises beyond it.

The demo's "server" is its own simulated remote side (a journal in a tmp state_dir),
so no network is involved at all.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from console.actions.gate import Context, perform
from console.cache.ingest import apply_batch, ensure_account
from console.identity import customer_history
from providers.base import (
    AccountConfig,
    Channel,
    Direction,
    OptionError,
    PermanentError,
    PushAction,
    TransientError,
    Unsupported,
    load,
)
from providers.demo import DemoProvider, DemoRemote, build_world
from providers.demo.world import Status
from tests.support.contract import ProviderContract, messages_of, pull_all, wait_for_message

ACCOUNTS = {"email": "support-mail", "chat": "live-chat", "social": "social", "commerce": "shop",
            "knowledge": "help-center"}


def make_provider(channel: str, state_dir: Path | None = None, **options) -> DemoProvider:
    opts = {"channel": channel, "interval": 0, **options}
    if state_dir is not None:
        opts["state_dir"] = str(state_dir)
    return DemoProvider(AccountConfig(name=ACCOUNTS[channel], provider="demo", options=opts))


class DemoHarness:
    def __init__(self, state_dir: Path, channel: str) -> None:
        self.state_dir, self.channel = state_dir, channel
        self.remote = DemoRemote(state_dir, ACCOUNTS[channel], channel)

    async def make(self, read_only: bool) -> DemoProvider:
        return make_provider(self.channel, self.state_dir)

    async def customer_writes(self, text: str) -> None:
        self.remote.customer_writes(text)

    async def delivered(self, text: str) -> int:
        return self.remote.delivered(text)

    async def remote_state(self) -> dict:
        return self.remote.snapshot()


class TestDemoContract(ProviderContract):
    @pytest.fixture(params=["email", "chat"])
    async def harness(self, request, tmp_path):
        return DemoHarness(tmp_path / "remote", request.param)


# --------------------------------------------------------------------------- helpers


def reply_to(thread_remote_id: str, text: str, key: str | None = None, **kw) -> PushAction:
    return PushAction(key=key or uuid.uuid4().hex, kind="reply", thread_remote_id=thread_remote_id, text=text, **kw)


async def opened(channel: str, state_dir: Path | None = None, read_only: bool = False, **options) -> DemoProvider:
    p = make_provider(channel, state_dir, **options)
    await p.open(read_only=read_only)
    return p


def open_thread_of(p: DemoProvider):
    return next(t for t in p.world.threads[p.channel] if t.status == Status.OPEN)


async def ingest_all(db, p: DemoProvider, cursor: str | None = None) -> str | None:
    account_id = ensure_account(db, p.name, "demo", p.channel.value)
    batches, cursor = await pull_all(p, cursor)
    for b in batches:
        apply_batch(db, account_id, b)
    return cursor


# --------------------------------------------------------------------------- exactly once


async def test_retried_push_after_a_crash_is_recognised_by_a_new_instance(tmp_path):
    state = tmp_path / "remote"
    first = await opened("email", state)
    thread = open_thread_of(first)
    action = reply_to(thread.remote_id, "Your replacement ships today (crash-test).")
    receipt = await first.push(action)
    assert not receipt.duplicate and receipt.remote_id
    # The console dies here, before the cache learned the push went out. No close().
    second = await opened("email", state)
    again = await second.push(action)
    assert again.duplicate, "the same key after a restart must not send again"
    assert again.remote_id == receipt.remote_id
    assert DemoRemote(state, "support-mail").delivered("crash-test") == 1
    # The reply comes back once, tagged with the key, so the core can confirm it.
    _, cursor = await pull_all(second, None)
    batches, _ = await pull_all(second, None)
    echoed = [m for m in messages_of(batches) if m.action_key == action.key]
    assert len(echoed) == 1 and echoed[0].direction == Direction.OUTBOUND
    assert echoed[0].remote_id == receipt.remote_id


async def test_push_without_state_dir_is_still_exactly_once_within_a_run():
    p = await opened("chat")
    action = reply_to(open_thread_of(p).remote_id, "in-memory once")
    assert not (await p.push(action)).duplicate
    assert (await p.push(action)).duplicate
    assert p.remote.delivered("in-memory once") == 1


async def test_failures_raise_transient_errors_and_record_nothing(tmp_path):
    state = tmp_path / "remote"
    flaky = await opened("email", state, failure_rate=1.0)
    with pytest.raises(TransientError):
        await flaky.pull(None)
    thread = open_thread_of(flaky)
    action = reply_to(thread.remote_id, "flaky-network reply")
    for _ in range(3):
        with pytest.raises(TransientError):
            await flaky.push(action)
    remote = DemoRemote(state, "support-mail")
    assert remote.delivered("flaky-network reply") == 0
    assert remote.snapshot()["pushed"] == []
    # Because nothing was recorded, the retry on a good link is sent (once), not a "duplicate".
    healthy = await opened("email", state)
    assert not (await healthy.push(action)).duplicate
    assert remote.delivered("flaky-network reply") == 1


async def test_latency_is_added_to_pulls():
    p = await opened("knowledge", latency=0.5)
    with pytest.raises(asyncio.TimeoutError):  # a pull cannot finish before its simulated latency
        await asyncio.wait_for(p.pull(None), timeout=0.05)
    assert len(await asyncio.wait_for(p.pull(None), timeout=30)) > 0


# --------------------------------------------------------------------------- refusals


async def test_reply_into_an_unknown_thread_is_a_permanent_error_naming_it(tmp_path):
    p = await opened("email", tmp_path)
    with pytest.raises(PermanentError, match="no-such-thread"):
        await p.push(reply_to("no-such-thread", "hello"))
    assert p.remote.delivered("hello") == 0


async def test_read_only_refuses_every_push(tmp_path):
    p = await opened("social", tmp_path, read_only=True)
    thread = p.world.threads[Channel.SOCIAL][0]
    for kind in ("reply", "close", "mark_read", "tag"):
        with pytest.raises(PermanentError, match="read-only"):
            await p.push(PushAction(key=uuid.uuid4().hex, kind=kind, thread_remote_id=thread.remote_id, text="x",
                                    args={"add": ["x"]}))
    assert p.remote.snapshot()["pushed"] == []


async def test_shop_and_help_centre_accept_no_pushes(tmp_path):
    for channel in ("commerce", "knowledge"):
        p = await opened(channel, tmp_path)
        with pytest.raises(Unsupported):
            await p.push(reply_to("anything", "hi"))


async def test_only_social_can_move_a_conversation_private(tmp_path):
    chat = await opened("chat", tmp_path)
    with pytest.raises(Unsupported):
        await chat.push(PushAction(key="k1", kind="move_private", thread_remote_id=open_thread_of(chat).remote_id,
                                   text="let's talk in private"))
    social = await opened("social", tmp_path)
    receipt = await social.push(PushAction(key="k2", kind="move_private",
                                           thread_remote_id=open_thread_of(social).remote_id, text="sent you a DM"))
    assert receipt.remote_id and not receipt.duplicate


@pytest.mark.parametrize("options, words", [
    ({}, "'channel' is required"),
    ({"channel": "fax"}, "one of: email, chat, social"),
    ({"channel": "email", "failure_rate": 2.0}, "failure_rate"),
    ({"channel": "email", "seed": "seven"}, "must be int"),
    ({"channel": "email", "colour": "red"}, "unknown option 'colour'"),
])
def test_bad_options_are_one_line_errors(options, words):
    with pytest.raises(OptionError) as err:
        DemoProvider(AccountConfig(name="demo-x", provider="demo", options=options))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_found_through_its_entry_point():
    assert load("demo") is DemoProvider
    assert DemoProvider.needs_secret is False


# --------------------------------------------------------------------------- live stream


async def test_live_stream_delivers_new_messages_after_the_interval(tmp_path):
    p = await opened("chat", tmp_path, interval=0.05)
    _, cursor = await pull_all(p, None)
    assert await asyncio.wait_for(p.watch(timeout=5), timeout=10), "watch() must wake when a message is due"
    batch = await p.pull(cursor)
    inbound = [m for m in batch.messages if m.direction == Direction.INBOUND]
    assert inbound, "a live customer message was due but none came"
    assert {m.thread_remote_id for m in inbound} <= {t.remote_id for t in batch.threads}
    again = await p.pull(batch.cursor)
    assert not {m.remote_id for m in inbound} & {m.remote_id for m in again.messages}


async def test_no_live_messages_when_interval_is_zero(tmp_path):
    p = await opened("email", tmp_path, interval=0)
    _, cursor = await pull_all(p, None)
    assert await p.watch(timeout=0.2) is False
    assert len(await p.pull(cursor)) == 0


async def test_live_stream_position_survives_a_restart(tmp_path):
    state = tmp_path / "remote"
    p = await opened("social", state, interval=0.02)
    _, cursor = await pull_all(p, None)
    await asyncio.sleep(0.15)
    batch = await p.pull(cursor)
    first, cursor = [m.remote_id for m in batch.messages], batch.cursor
    assert first
    p2 = await opened("social", state, interval=0.02)
    await asyncio.sleep(0.1)
    batches, _ = await pull_all(p2, cursor)
    later = [m.remote_id for m in messages_of(batches)]
    assert later and not set(later) & set(first), "a restarted stream repeated live messages"


async def test_customer_can_write_into_an_existing_conversation(tmp_path):
    p = await opened("email", tmp_path)
    _, cursor = await pull_all(p, None)
    thread = open_thread_of(p)
    DemoRemote(tmp_path, "support-mail").customer_writes("Any news? marker-7731", thread=thread.remote_id)
    msg, _, _ = await wait_for_message(p, cursor, "marker-7731")
    assert msg.thread_remote_id == thread.remote_id
    assert msg.author.address == thread.customer.address


# --------------------------------------------------------------------------- into the cache


async def test_world_lands_in_the_cache_with_statuses_and_one_customer_per_person(db, tmp_path):
    providers = [await opened(ch, tmp_path) for ch in ("email", "chat", "social", "commerce", "knowledge")]
    for p in providers:
        await ingest_all(db, p)
    world = providers[0].world
    # Remote statuses survive the first sync (closed conversations are not reopened by their history).
    expected = {s.value: 0 for s in Status}
    for ch in (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL):
        for t in world.threads[ch]:
            expected[t.status.value] += 1
    got = dict(db.execute("SELECT status, COUNT(*) FROM threads GROUP BY status").fetchall())
    assert got == {k: v for k, v in expected.items() if v}
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == len(world.articles)
    # A person who wrote by email, chat and social is ONE customer with their orders.
    person = next(p for p in world.people if p.shop_customer and p.chat and p.social and p.orders
                  and all(any(t.customer == p.on(ch) for t in world.threads[ch])
                          for ch in (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL)))
    customer_id = db.execute("SELECT customer_id FROM identities WHERE channel='email' AND address=?",
                             (person.email.address,)).fetchone()[0]
    history = customer_history(db, customer_id)
    assert {t["channel"] for t in history["threads"]} == {"email", "chat", "social"}
    assert {o["number"] for o in history["orders"]} == {o.number for o in person.orders}
    assert person.chat.address in {i["address"] for i in history["identities"]}


async def test_hostile_text_comes_out_of_the_cache_inert(db, tmp_path):
    for ch in ("email", "chat", "social", "commerce"):
        await ingest_all(db, await opened(ch, tmp_path))
    texts = [r[0] for r in db.execute("SELECT text FROM messages")]
    names = [r[0] for r in db.execute(
        "SELECT name FROM customers UNION ALL SELECT display_name FROM identities UNION ALL SELECT author FROM messages"
        " UNION ALL SELECT subject FROM threads UNION ALL SELECT preview FROM threads")]
    carriers = [m for m in build_world().all_messages() if "\x1b" in m.text]
    assert carriers, "the demo world should carry escape-sequence payloads"
    for m in carriers:
        (stored,) = db.execute("SELECT text FROM messages WHERE remote_id=?", (m.remote_id,)).fetchone()
        assert stored and "\x1b" not in stored and "pwned" not in stored and "ZXZpbA==" not in stored
    assert any("[@click=app.quit]" in t for t in texts + names), "the markup payload is data, kept as text"
    for value in texts + names:
        assert "\x1b" not in value and "\x07" not in value and "\x9b" not in value, repr(value)


async def test_html_mail_reaches_the_cache_as_text(db, tmp_path):
    await ingest_all(db, await opened("email", tmp_path))
    rows = db.execute("SELECT text FROM messages WHERE json_extract(meta, '$.html')").fetchall()
    assert rows
    for (text,) in rows:
        assert "<" not in text.replace("<support@", "") and "document.location" not in text
        assert "view order" in text


async def test_a_reply_sent_through_the_outbox_is_confirmed_once(db, tmp_path):
    p = await opened("email", tmp_path)
    cursor = await ingest_all(db, p)
    thread_id = db.execute("SELECT id FROM threads WHERE status='open' ORDER BY id LIMIT 1").fetchone()[0]
    ctx = Context(db=db, agent="Sam Rivera")
    assert perform(ctx, "reply", thread_id, text="We've refunded you (outbox-e2e).").ok
    row = db.execute("SELECT o.key, o.kind, o.text, t.remote_id FROM outbox o JOIN threads t ON t.id=o.thread_id "
                     "WHERE o.thread_id=?", (thread_id,)).fetchone()
    action = PushAction(key=row["key"], kind=row["kind"], thread_remote_id=row["remote_id"], text=row["text"],
                        args={"author": "Sam Rivera"})
    await p.push(action)
    await p.push(action)  # a retry after a lost confirmation
    await ingest_all(db, p, cursor)
    sent = db.execute("SELECT state, author FROM messages WHERE thread_id=? AND text LIKE '%outbox-e2e%'",
                      (thread_id,)).fetchall()
    assert [tuple(r) for r in sent] == [("sent", "Sam Rivera")]
    assert db.execute("SELECT state FROM outbox WHERE key=?", (row["key"],)).fetchone()[0] == "sent"


async def test_state_changes_pushed_come_back_on_the_next_pull(db, tmp_path):
    p = await opened("chat", tmp_path)
    cursor = await ingest_all(db, p)
    thread = open_thread_of(p)
    await p.push(PushAction(key="close-1", kind="close", thread_remote_id=thread.remote_id))
    await p.push(PushAction(key="tag-1", kind="tag", thread_remote_id=thread.remote_id,
                            args={"add": ["refund", "vip"], "remove": []}))
    await p.push(PushAction(key="assign-1", kind="assign", thread_remote_id=thread.remote_id,
                            args={"to": "Priya Natarajan"}))
    await ingest_all(db, p, cursor)
    row = db.execute("SELECT status, tags, assignee FROM threads WHERE remote_id=?", (thread.remote_id,)).fetchone()
    assert row["status"] == "closed"
    assert json.loads(row["tags"]) == ["refund", "vip"]
    assert row["assignee"] == "Priya Natarajan"


async def test_in_memory_demo_restarted_keeps_streaming_new_messages():
    """`switchboard --demo` keeps its cache but not the in-memory remote: the old cursor must still work."""
    p = await opened("email", interval=0.02)
    _, cursor = await pull_all(p, None)
    await asyncio.sleep(0.1)
    batch = await p.pull(cursor)
    before = {m.remote_id for m in batch.messages}
    assert before
    restarted = await opened("email", interval=0.02)
    await asyncio.sleep(0.1)
    after = await restarted.pull(batch.cursor)
    ids = {m.remote_id for m in after.messages}
    assert ids, "the restarted demo delivered nothing from the old cursor"
    assert not ids & before, "live messages of two runs must not share remote ids"


async def test_a_restart_hours_later_shows_the_same_world(tmp_path, monkeypatch):
    """The world is anchored in the state folder: replies to yesterday's conversations still work."""
    from datetime import timedelta

    from console.config import AccountSettings
    from console.engine import build_provider
    from providers.demo import world as world_mod

    def provider():
        return build_provider(AccountSettings("support-mail", "demo", {"channel": "email", "interval": 0.0}), tmp_path)

    first = provider()
    assert first.opts["state_dir"].endswith("state/demo"), "demo accounts share one state folder"
    await first.open(read_only=False)
    before = {t.remote_id: t.last_message_at for t in first.world.threads[first.channel]}
    await first.close()
    later = world_mod.default_now() + timedelta(hours=5)
    monkeypatch.setattr(world_mod, "default_now", lambda: later)
    second = provider()
    await second.open(read_only=False)
    after = {t.remote_id: t.last_message_at for t in second.world.threads[second.channel]}
    assert after == before
