"""How long a reply may be, and how it is counted: asked of the adapter through the contract.

An adapter states its limits per kind of reply ("public", "direct") when it opens
(the engine keeps them in the cache: a Mastodon instance's own limit, Bluesky's 300
for posts and 1,000 for direct messages) and counts characters its network's way
(:meth:`providers.base.Provider.count_reply`). The composer shows the count; the
write gate refuses a longer reply before it is queued.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from console.cache import queries
from console.errors import UserError
from providers.base import ProviderError, load


@dataclass(frozen=True)
class ReplyLimit:
    characters: int
    count: Callable[[str], int]

    def over(self, text: str) -> int:
        """Characters to cut (0: it fits)."""
        return max(0, self.count(text) - self.characters)


def reply_limit(db: sqlite3.Connection, thread_row: sqlite3.Row, kind: str) -> ReplyLimit | None:
    """The limit for a ``kind`` ("reply", "private", "note") of answer in this conversation; None: no limit."""
    if kind == "note":
        return None
    try:
        adapter = load(thread_row["provider"])
    except ProviderError:
        return None  # an adapter no longer installed: it cannot send either
    limits = queries.reply_limits(db, thread_row["account"])
    if limits is None:
        limits = dict(adapter.default_reply_limits)
    direct = kind == "private" or thread_row["channel_detail"] == "direct"
    characters = limits.get("direct" if direct else "public")
    return ReplyLimit(int(characters), adapter.count_reply) if characters else None


def refuse_over_limit(db: sqlite3.Connection, thread_row: sqlite3.Row, kind: str, text: str) -> None:
    """Raise a one-line UserError naming the count and the cut when ``text`` is too long to send."""
    limit = reply_limit(db, thread_row, kind)
    if limit is not None and (over := limit.over(text)):
        raise UserError(f"too long for {thread_row['account']}: {limit.count(text)}/{limit.characters} characters",
                        fix=f"shorten it by {over}")
