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
  use must not change (flags, receipts); compared before and after.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest

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
        p = await harness.make(read_only=False)
        if Capability.REPLY not in p.capabilities:
            pytest.skip(f"{p.kind} cannot reply")
        await p.open(read_only=False)
        try:
            _, cursor = await pull_all(p, None)
            marker = f"contract-{uuid.uuid4().hex[:8]}"
            await harness.customer_writes(f"Where is parcel {marker}?")
            msg, _, cursor = await wait_for_message(p, cursor, marker)
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

    async def delivered(self, text: str) -> int:
        return self.fake.delivered(text)

    async def remote_state(self):
        return self.fake.remote_state()
