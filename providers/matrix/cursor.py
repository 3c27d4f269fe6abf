"""The adapter's cursor: the sync token, plus back-fill still owed.

A long absence can leave gaps too big for one bounded pull. The unfinished
back-fill jobs ride along in the cursor (opaque to the core, stored with each
batch), so they continue on the next pull, even after a restart, and no history
is skipped. With nothing owed the cursor is the plain sync token.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

PREFIX = "mx1:"


@dataclass(slots=True)
class Job:
    """Back-fill one room from ``start`` (dir=b) down to ``stop`` or ``window_start``."""

    room_id: str
    start: str
    stop: str | None = None
    window_start: int | None = None  # ms since the epoch, on a first pull


@dataclass(slots=True)
class Cursor:
    since: str | None
    jobs: list[Job] = field(default_factory=list)


def parse(cursor: str | None) -> Cursor:
    if not cursor or not cursor.startswith(PREFIX):
        return Cursor(cursor or None)
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor[len(PREFIX):].encode()))
        jobs = [Job(str(j[0]), str(j[1]), j[2] if isinstance(j[2], str) else None,
                    j[3] if isinstance(j[3], int) else None) for j in data.get("b", [])]
        since = data.get("s")
        return Cursor(since if isinstance(since, str) and since else None, jobs)
    except (ValueError, TypeError, IndexError, AttributeError):
        return Cursor(None)  # unreadable: start over like a first pull (the cache de-duplicates)


def dump(cursor: Cursor) -> str | None:
    if not cursor.jobs:
        return cursor.since
    data = {"s": cursor.since, "b": [[j.room_id, j.start, j.stop, j.window_start] for j in cursor.jobs]}
    return PREFIX + base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
