"""The shared provider contract suite.

Every adapter's test module subclasses :class:`ProviderContract` and supplies a
``harness`` fixture: an object that builds the adapter against its real (or, where
no server can run here, recorded) remote side and can play the customer there.

    class TestImapContract(ProviderContract):
        @pytest.fixture
        async def harness(self, dovecot, smtp):
            return ImapHarness(dovecot, smtp)

The harness protocol (all async):
- ``make(read_only: bool) -> Provider``: a new, unopened adapter on a fresh account;
- ``customer_writes(text: str) -> None``: a customer sends a new message containing
  ``text`` on the remote side (a mail, a chat message, a mention);
- ``delivered(text: str) -> int``: how many messages containing ``text`` the
  customer's side has received from us (0, 1, 2 …).
- optional ``remote_state() -> object``: a snapshot of remote state that read-only
  use must not change (flags, receipts); compared before and after;
- optional ``customer_writes_again(text: str) -> None``: the customer writes again in the
  conversation they last wrote in (where ``customer_writes`` would start a new one);
- optional ``on_the_wire(seconds)``: an in-process fake takes this long per request;
- optional ``forget_keys() -> None``: the remote forgets the idempotency keys it saw
  (Mastodon does after an hour), so only the outbox's own re-check stands between a
  dead process's delivery and a second one.

``make`` may be called several times in one test: the adapters it returns are the
same account (same name) as several processes on one data folder would open.

The exactly-once tests run the real outbox: a cache file, ``actions.perform`` to queue
replies, several :class:`Dispatcher` instances, each with its own SQLite connection
and its own adapter, racing on it; deliveries are counted at the customer's side.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone

import pytest

from console import actions
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import LEASE, Dispatcher
from providers.base import (
    Batch,
    Capability,
    Channel,
    Direction,
    Message,
    Option,
    PermanentError,
    Provider,
    PushAction,
    Receipt,
)

MAX_PAGES = 200


async def pull_all(p: Provider, cursor: str | None) -> tuple[list[Batch], str | None]:
    """Pull until the adapter says no more pages; return the batches and final cursor."""
    batches = []
    for _ in range(MAX_PAGES):
        batch = await asyncio.wait_for(p.pull(cursor), timeout=60)
        assert isinstance(batch, Batch), f"pull() returned {type(batch).__name__}, not Batch"
        batches.append(batch)
        cursor = batch.cursor
        if not batch.more:
            return batches, cursor
    raise AssertionError(f"pull() still said more=True after {MAX_PAGES} pages")


def messages_of(batches: list[Batch]) -> list[Message]:
    return [m for b in batches for m in b.messages]


async def replying(harness) -> Provider:
    """A new writable adapter (not opened yet); the test is skipped if it cannot reply."""
    p = await harness.make(read_only=False)
    if Capability.REPLY not in p.capabilities:
        pytest.skip(f"{p.kind} cannot reply")
    return p


async def new_customer_message(harness, p: Provider, words: str) -> tuple[Message, str]:
    """The customer writes ``words`` (with a fresh marker in its ``{}``); its message as pulled."""
    _, cursor = await pull_all(p, None)
    marker = f"contract-{uuid.uuid4().hex[:8]}"
    await harness.customer_writes(words.format(marker))
    msg, _, _ = await wait_for_message(p, cursor, marker)
    return msg, marker


class CacheWorld:
    """A cache file holding the customer's conversations, as the core would have pulled them."""

    def __init__(self, path, account: str) -> None:
        self.path, self.account = path, account
        self.db = connect(path)

    @classmethod
    async def with_conversations(cls, harness, path, count: int) -> tuple["CacheWorld", list[int]]:
        p = await harness.make(read_only=False)
        world = cls(path, p.name)
        account_id = ensure_account(world.db, p.name, p.kind, p.channel.value)
        await p.open(read_only=False)
        try:
            batches, cursor = await pull_all(p, None)
            markers = [f"world-{uuid.uuid4().hex[:8]}" for _ in range(count)]
            for marker in markers:
                await harness.customer_writes(f"Question {marker}: where is my order?")
            for _ in range(30):
                if all(any(m in msg.text for msg in messages_of(batches)) for m in markers):
                    break
                more, cursor = await pull_all(p, cursor)
                batches += more
                await asyncio.sleep(0.1)
            for batch in batches:
                apply_batch(world.db, account_id, batch)
        finally:
            await p.close()
        threads = []
        for marker in markers:
            (tid,) = world.db.execute("SELECT thread_id FROM messages WHERE text LIKE ?", (f"%{marker}%",)).fetchone()
            threads.append(tid)
        return world, threads

    def reply(self, thread_id: int, text: str) -> int:
        result = actions.perform(actions.Context(db=self.db, agent="Sam"), "reply", thread_id, text=text)
        assert result.ok, result.message
        return result.data["outbox_id"]

    def states(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.db.execute("SELECT kind, state FROM outbox ORDER BY id")]

    async def flush_until_done(self, harness, dispatcher: Dispatcher | None = None) -> None:
        """Push what is left (rows that waited behind a busy one) with one more process."""
        p = await harness.make(read_only=False)
        await p.open(read_only=False)
        try:
            for _ in range(5):
                if not self.db.execute("SELECT 1 FROM outbox WHERE state IN ('queued','sending')").fetchone():
                    return
                await (dispatcher or Dispatcher(self.db)).flush(self.account, p)
        finally:
            await p.close()


async def wait_for_message(p: Provider, cursor: str | None, text: str, tries: int = 30):
    """Pull until a message containing ``text`` arrives; return (message, batches, cursor)."""
    seen: list[Batch] = []
    for _ in range(tries):
        batches, cursor = await pull_all(p, cursor)
        seen.extend(batches)
        for m in messages_of(batches):
            if text in m.text:
                return m, seen, cursor
        await asyncio.sleep(0.2)
    raise AssertionError(f"no message containing {text!r} arrived after {tries} pulls")


class ProviderContract:
    """Behaviour every adapter owes the core. Subclass and provide ``harness``."""

    @pytest.fixture
    async def harness(self):  # pragma: no cover - subclasses override
        raise NotImplementedError

    async def test_declares_itself(self, harness):
        p = await harness.make(read_only=True)
        assert isinstance(p, Provider)
        assert p.kind and isinstance(p.kind, str)
        assert isinstance(p.channel, Channel)
        assert all(isinstance(c, Capability) for c in p.capabilities)
        assert all(isinstance(o, Option) for o in p.options)

    async def test_new_customer_message_arrives_with_its_thread(self, harness):
        p = await harness.make(read_only=False)
        await p.open(read_only=False)
        try:
            _, cursor = await pull_all(p, None)
            marker = f"contract-{uuid.uuid4().hex[:8]}"
            await harness.customer_writes(f"Hello, my order {marker} has not arrived")
            msg, batches, cursor = await wait_for_message(p, cursor, marker)
            assert msg.direction == Direction.INBOUND
            assert isinstance(msg.sent_at, datetime) and msg.sent_at.tzinfo is not None, "sent_at must be tz-aware"
            assert msg.author.address, "the author identity needs an address"
            threads = {t.remote_id for b in batches for t in b.threads}
            assert msg.thread_remote_id in threads, "the thread must come with its first message"
            # Incremental: the same message is not delivered again from the newer cursor.
            again, _ = await pull_all(p, cursor)
            assert msg.remote_id not in {m.remote_id for m in messages_of(again)}
        finally:
            await p.close()

    async def test_reply_is_delivered_exactly_once_per_key(self, harness):
        p = await replying(harness)
        await p.open(read_only=False)
        try:
            msg, marker = await new_customer_message(harness, p, "Where is parcel {}?")
            answer = f"answer-{marker}"
            action = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=msg.thread_remote_id,
                                text=f"Your parcel is on its way ({answer}).", subject="Re: parcel",
                                reply_to_remote_id=msg.remote_id, customer=msg.author)
            first = await asyncio.wait_for(p.push(action), timeout=60)
            assert isinstance(first, Receipt)
            second = await asyncio.wait_for(p.push(action), timeout=60)  # a retry after a lost confirmation
            assert isinstance(second, Receipt)
            assert await harness.delivered(answer) == 1, "a retried push with the same key sent a second reply"
        finally:
            await p.close()

    async def test_read_only_changes_nothing_remote(self, harness):
        p = await harness.make(read_only=True)
        await p.open(read_only=True)
        try:
            marker = f"contract-{uuid.uuid4().hex[:8]}"
            await harness.customer_writes(f"Read-only check {marker}")
            before = await harness.remote_state() if hasattr(harness, "remote_state") else None
            msg, _, _ = await wait_for_message(p, None, marker)
            action = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=msg.thread_remote_id,
                                text=f"must not go out {marker}-ro", reply_to_remote_id=msg.remote_id,
                                customer=msg.author)
            with pytest.raises(PermanentError):
                await p.push(action)
            assert await harness.delivered(f"{marker}-ro") == 0
            if before is not None:
                assert await harness.remote_state() == before, "read-only use changed remote state"
        finally:
            await p.close()

    async def test_find_delivery_answers_from_the_remote_even_for_a_restarted_adapter(self, harness):
        p = await replying(harness)
        await p.open(read_only=False)
        try:
            msg, marker = await new_customer_message(harness, p, "Did my refund {} go through?")
            action = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=msg.thread_remote_id,
                                text=f"Yes, refunded ({marker}-fd).", reply_to_remote_id=msg.remote_id,
                                customer=msg.author, created_at=datetime.now(timezone.utc))
            assert await p.find_delivery(action) is None, "nothing was sent yet"
            receipt = await p.push(action)
            if receipt.follow_up is not None:
                await p.push(receipt.follow_up)
        finally:
            await p.close()
        restarted = await harness.make(read_only=False)  # another process: nothing in memory
        await restarted.open(read_only=False)
        try:
            found = await restarted.find_delivery(action)
            assert isinstance(found, Receipt) and found.duplicate, "the remote's own record of the delivery"
        finally:
            await restarted.close()

    @pytest.mark.parametrize("racers", [2, 4])
    async def test_dispatchers_racing_on_one_cache_deliver_every_reply_exactly_once(self, harness, tmp_path, racers):
        await replying(harness)
        world, threads = await CacheWorld.with_conversations(harness, tmp_path / "cache.sqlite3", 2)
        texts = []
        for n, tid in enumerate([*threads, *threads]):  # two replies in each conversation
            texts.append(f"race-{uuid.uuid4().hex[:8]}")
            world.reply(tid, f"Answer {n} ({texts[-1]})")
        if hasattr(harness, "forget_keys"):
            await harness.forget_keys()  # only the outbox's claim keeps the racers apart
        if hasattr(harness, "on_the_wire"):
            harness.on_the_wire(0.005)  # an in-process fake answers at once: let the racers interleave
        adapters = [await harness.make(read_only=False) for _ in range(racers)]
        for p in adapters:
            await p.open(read_only=False)
        try:
            await asyncio.wait_for(asyncio.gather(
                *(Dispatcher(connect(world.path)).flush(world.account, p) for p in adapters)), timeout=120)
        finally:
            for p in adapters:
                await p.close()
        await world.flush_until_done(harness)
        assert all(state == "sent" for _, state in world.states()), world.states()
        assert [await harness.delivered(t) for t in texts] == [1] * len(texts), "counted at the customer's side"

    async def test_a_reply_whose_process_died_after_delivering_is_not_sent_again(self, harness, tmp_path):
        await replying(harness)
        world, (tid,) = await CacheWorld.with_conversations(harness, tmp_path / "cache.sqlite3", 1)
        marker = f"died-{uuid.uuid4().hex[:8]}"
        outbox_id = world.reply(tid, f"Your replacement ships today ({marker}).")
        # The dead process: it claimed the row, its push reached the remote, it died before recording.
        dead = Dispatcher(world.db)
        row = world.db.execute("SELECT * FROM outbox WHERE id=?", (outbox_id,)).fetchone()
        claimed = dead._claim(row)
        action = dead._action(claimed, world.db.execute("SELECT * FROM threads WHERE id=?", (tid,)).fetchone(), {})
        p = await harness.make(read_only=False)
        await p.open(read_only=False)
        try:
            receipt = await p.push(action)
            if receipt.follow_up is not None:
                await p.push(receipt.follow_up)
        finally:
            await p.close()
        if hasattr(harness, "forget_keys"):
            await harness.forget_keys()
        assert world.states()[0] == ("reply", "sending")
        restarted = Dispatcher(world.db, clock=lambda: time.time() + LEASE + 1)  # its lease ran out
        await world.flush_until_done(harness, restarted)
        assert world.states()[0] == ("reply", "sent")
        assert await harness.delivered(marker) == 1, "re-checked at the remote, not sent a second time"

    async def test_newer_activity_reports_the_customer_writing_again_after_the_draft_began(self, harness):
        p = await replying(harness)
        if type(p).newer_activity is Provider.newer_activity:
            pytest.skip(f"{p.kind} cannot tell what happened since a draft began (the cache's guard applies)")
        await p.open(read_only=False)
        try:
            msg, marker = await new_customer_message(harness, p, "Is my order {} shipped?")
            action = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=msg.thread_remote_id,
                                text="It is.", reply_to_remote_id=msg.remote_id, customer=msg.author)
            began = datetime.now(timezone.utc)
            assert await p.newer_activity(action, began, frozenset({action.key})) is None, \
                "nothing happened since the draft began"
            again = getattr(harness, "customer_writes_again", harness.customer_writes)
            await again(f"Also, can I change the address? {marker}-again")
            news = None
            for _ in range(30):  # the remote takes the message in (a mail delivery, an RT transaction)
                news = await p.newer_activity(action, began, frozenset({action.key}))
                if news is not None:
                    break
                await asyncio.sleep(0.2)
            assert news is not None and news.kind == "customer", news
            assert news.at is not None and news.at.tzinfo is not None
        finally:
            await p.close()

    async def test_newer_activity_counts_another_agents_reply_but_never_our_own(self, harness):
        p = await replying(harness)
        if type(p).newer_activity is Provider.newer_activity:
            pytest.skip(f"{p.kind} cannot tell what happened since a draft began (the cache's guard applies)")
        await p.open(read_only=False)
        try:
            msg, marker = await new_customer_message(harness, p, "Refund for {} please")
            began = datetime.now(timezone.utc)
            first = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=msg.thread_remote_id,
                               text=f"Refunded ({marker}-1).", subject="Re: refund", reply_to_remote_id=msg.remote_id,
                               customer=msg.author)
            receipt = await p.push(first)
            if receipt.follow_up is not None:
                await p.push(receipt.follow_up)
            second = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=msg.thread_remote_id,
                                text="And a coupon.", reply_to_remote_id=msg.remote_id, customer=msg.author)
            assert await p.newer_activity(second, began, frozenset({first.key, second.key})) is None, \
                "our own reply is no news to our next one"
            news = await p.newer_activity(second, began, frozenset({second.key}))  # as another console sees it
            assert news is not None and news.kind == "agent", news
        finally:
            await p.close()

    async def test_close_is_idempotent(self, harness):
        p = await harness.make(read_only=True)
        await p.open(read_only=True)
        await p.close()
        await p.close()


class RecordedRemoteHarness:
    """The harness for adapters tested against an in-test fake of their API (recorded
    HTTP): the fake plays the customer (``customer_writes``), counts what it received
    (``delivered``) and reports its state (``remote_state``)."""

    def __init__(self, fake, make_provider) -> None:
        self.fake = fake
        self._make = make_provider

    async def make(self, read_only: bool) -> Provider:
        return self._make()

    async def customer_writes(self, text: str) -> None:
        self.fake.customer_writes(text)

    async def customer_writes_again(self, text: str) -> None:
        getattr(self.fake, "customer_writes_again", self.fake.customer_writes)(text)

    async def delivered(self, text: str) -> int:
        return self.fake.delivered(text)

    async def remote_state(self):
        return self.fake.remote_state()

    def on_the_wire(self, seconds: float) -> None:
        self.fake.latency = seconds

    async def forget_keys(self) -> None:
        forget = getattr(self.fake, "forget_idempotency_keys", None)
        if forget is not None:
            forget()
