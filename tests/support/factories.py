"""Small builders for core tests: threads and messages through the real ingest path."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from console.cache.ingest import apply_batch, ensure_account
from providers.records import Batch, Channel, Direction, Identity, Message, Thread

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def person(n: int, channel: Channel = Channel.EMAIL, **kw) -> Identity:
    if channel == Channel.EMAIL:
        return Identity(channel, f"customer{n}@example.com", display_name=f"Customer {n}", **kw)
    if channel == Channel.CHAT:
        return Identity(channel, f"@customer{n}:chat.example", display_name=f"Customer {n}", **kw)
    return Identity(channel, f"customer{n}@social.example", display_name=f"Customer {n}", **kw)


def conversation(n: int, *, channel: Channel = Channel.EMAIL, who: Identity | None = None, text: str | None = None,
                 at: datetime | None = None, subject: str | None = None, **thread_kw) -> tuple[Thread, Message]:
    who = who or person(n, channel)
    at = at or (T0 + timedelta(minutes=n))
    t = Thread(remote_id=f"t{n}", channel=channel, subject=subject or f"Question {n}", customer=who,
               last_message_at=at, **thread_kw)
    m = Message(remote_id=f"m{n}", thread_remote_id=f"t{n}", direction=Direction.INBOUND, author=who, sent_at=at,
                text=text or f"Hello, this is message {n}")
    return t, m


def load(db, pairs, account: str = "mail", provider: str = "demo", channel: str = "email", cursor: str = "c1"):
    account_id = ensure_account(db, account, provider, channel)
    batch = Batch(cursor=cursor, threads=[t for t, _ in pairs], messages=[m for _, m in pairs])
    return account_id, apply_batch(db, account_id, batch)


def thread_id(db, remote_id: str) -> int:
    return db.execute("SELECT id FROM threads WHERE remote_id=?", (remote_id,)).fetchone()[0]
