"""What one console writes as its presence entry, and how every console reads one back.

The entry is Matrix room state of type ``com.switchboard.presence`` whose state key is
the agent's own user id (an entry whose sender is not its state key is ignored)::

    {"v": 1, "name": "Priya Natarajan", "mode": "replying", "conversation": "<32 hex digits>",
     "since": 1764597720000, "heartbeat": 1764597780000, "expires_at": 1764597960000}

``mode`` is ``online`` (the console runs, nothing open), ``viewing`` or ``replying`` (the
composer is open with text); times are milliseconds since the epoch, like Matrix's own.
An empty content clears the entry (the console left). A reader keeps an entry until
``min(server time of the write + its own ttl, expires_at)``: a console killed with -9
stops writing and its entry goes after the TTL. Everything read is hostile: names are
cleaned to one short line, anything malformed is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from console.team.keys import is_key
from providers.text import clean_line

EVENT_TYPE = "com.switchboard.presence"
MODES = ("online", "viewing", "replying")
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class Entry:
    room: str
    agent: str  # the Matrix user id
    name: str
    mode: str
    key: str  # "" while online with nothing open
    since: float | None
    seen_at: float  # server time of the write
    expires_at: float


def encode(*, name: str, mode: str, key: str, since: float, now: float, ttl: float) -> dict[str, Any]:
    return {"v": 1, "name": name[:MAX_NAME], "mode": mode, "conversation": key if mode != "online" else "",
            "since": int(since * 1000), "heartbeat": int(now * 1000), "expires_at": int((now + ttl) * 1000)}


def decode(room: str, agent: str, content: Mapping[str, Any], at: float, ttl: float) -> Entry | None:
    """The entry as this console keeps it, or None when it is cleared or unreadable."""
    if not isinstance(content, Mapping) or not content:
        return None
    mode = content.get("mode")
    key = content.get("conversation") or ""
    if mode not in MODES or (mode != "online" and not is_key(key)) or (mode == "online" and key):
        return None
    name = clean_line(str(content.get("name") or ""))[:MAX_NAME] or clean_line(agent)[:MAX_NAME]
    expires = at + ttl
    claimed = _seconds(content.get("expires_at"))
    if claimed is not None and claimed > at:
        expires = min(expires, claimed)
    since = _seconds(content.get("since"))
    if since is not None and since > at + 60:
        since = None  # a clock far ahead says nothing true
    return Entry(room=room, agent=clean_line(agent)[:255], name=name, mode=mode, key=key, since=since,
                 seen_at=at, expires_at=expires)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value) / 1000.0
