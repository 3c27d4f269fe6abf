"""Team state stored as IMAP keywords on the shared mailbox (see README.md).

``$Switchboard-Closed``, ``$Assigned-<agent>`` and ``$Tag-<tag>`` on every message
of a conversation; ``\\Seen`` for read state. Names are squeezed into IMAP atom
characters, so what comes back is the sanitised form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLOSED = "$Switchboard-Closed"
ASSIGNED = "$Assigned-"
TAG = "$Tag-"
SEEN = "\\Seen"
_NOT_ATOM = re.compile(r"[^A-Za-z0-9_.@+-]+")  # conservative subset of RFC 3501 ATOM-CHAR


def atom(value: str) -> str:
    """``value`` with every run of non-atom characters turned into ``_`` (ASCII only)."""
    return _NOT_ATOM.sub("_", value.strip())[:60].strip("_") or "_"


def assigned(agent: str) -> str:
    return ASSIGNED + atom(agent)


def tag(name: str) -> str:
    return TAG + atom(name.lower())


def _text(flag) -> str:
    return flag.decode("utf-8", "replace") if isinstance(flag, bytes) else str(flag)


@dataclass(slots=True)
class MessageFlags:
    when: float
    inbound: bool
    flags: tuple[str, ...]


@dataclass(slots=True)
class TeamState:
    closed: bool
    assignee: str  # "" when nobody
    tags: list[str]
    unread: bool


def normalise(flags) -> tuple[str, ...]:
    return tuple(_text(f) for f in flags)


def team_state(messages: list[MessageFlags]) -> TeamState:
    """The conversation's state from its messages' flags (oldest first or any order)."""
    ordered = sorted(messages, key=lambda m: m.when)
    lower = [{f.lower() for f in m.flags} for m in ordered]
    inbound = [i for i, m in enumerate(ordered) if m.inbound]
    deciding = inbound[-1] if inbound else (len(ordered) - 1)
    closed = bool(ordered) and CLOSED.lower() in lower[deciding]
    assignee = ""
    for m in reversed(ordered):
        names = [f[len(ASSIGNED):] for f in m.flags if f.lower().startswith(ASSIGNED.lower())]
        if names:
            assignee = sorted(names)[0]
            break
    tags = sorted({f[len(TAG):].lower() for m in ordered for f in m.flags if f.lower().startswith(TAG.lower())})
    unread = any(SEEN.lower() not in lower[i] for i in inbound)
    return TeamState(closed=closed, assignee=assignee, tags=tags, unread=unread)
