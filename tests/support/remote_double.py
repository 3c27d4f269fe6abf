"""A small in-process remote for core unit tests of the engine and the outbox.

It behaves like a real server where the core depends on it: replies are
deduplicated by key (as Matrix txnId or Mastodon Idempotency-Key are), failures
can be scheduled, a pull can hang. Adapters themselves are tested against real
servers elsewhere; this double only lets the core's logic be tested in isolation.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from providers.base import (
    AuthError,
    Batch,
    Capability,
    Channel,
    Direction,
    Identity,
    Message,
    PermanentError,
    Provider,
    PushAction,
    Receipt,
    Thread,
    TransientError,
)


class RemoteDouble(Provider):
    kind = "double"
    channel = Channel.EMAIL
    capabilities = frozenset({Capability.REPLY, Capability.CLOSE, Capability.TAG})
    needs_secret = False

    def __init__(self, account, *, threads: int = 3, hang: bool = False) -> None:
        super().__init__(account)
        self.delivered: dict[str, PushAction] = {}  # key -> action, like a server's idempotency store
        self.attempts = 0
        self.lookups = 0  # find_delivery calls
        self.fail_next: list[Exception] = []
        self.hang = hang
        self.opened = 0
        self.customer = Identity(Channel.EMAIL, "kim@example.com", "Kim")
        self.pending: list[Message] = []
        self.initial = threads

    async def open(self, read_only: bool) -> None:
        self.opened += 1
        self.read_only = read_only
        if self.fail_next and isinstance(self.fail_next[0], AuthError):
            raise self.fail_next.pop(0)

    async def pull(self, cursor: str | None) -> Batch:
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail_next and isinstance(self.fail_next[0], TransientError):
            raise self.fail_next.pop(0)
        batch = Batch(cursor="live")
        if cursor is None:
            now = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
            for n in range(self.initial):
                batch.threads.append(Thread(f"t{n}", Channel.EMAIL, f"Order {n}", self.customer, now))
                batch.messages.append(Message(f"m{n}", f"t{n}", Direction.INBOUND, self.customer, now, f"Where is order {n}?"))
        batch.messages.extend(self.pending)
        self.pending = []
        return batch

    def customer_writes(self, thread: str, text: str) -> None:
        self.pending.append(Message(f"m{len(self.pending)}-{thread}-{text[:5]}", thread, Direction.INBOUND,
                                    self.customer, datetime.now(timezone.utc), text))

    async def push(self, action: PushAction) -> Receipt:
        self.attempts += 1
        if self.read_only:
            raise PermanentError("opened read-only")
        if self.fail_next:
            raise self.fail_next.pop(0)
        if action.key in self.delivered:
            return Receipt(remote_id=f"sent-{action.key}", duplicate=True)
        self.delivered[action.key] = action
        return Receipt(remote_id=f"sent-{action.key}", sent_at=datetime.now(timezone.utc))

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        self.lookups += 1
        if action.key in self.delivered:
            return Receipt(remote_id=f"sent-{action.key}", duplicate=True)
        return None
