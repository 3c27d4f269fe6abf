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


_SAFE_NAME = re.compile(r"[A-Za-z0-9_.@-]")
_ESCAPE = re.compile(r"(?:\+[0-9A-F]{2})+")
NAME_ROOM = 120  # characters an owner's name may take in its keyword, escaped


def owner_slug(agent: str) -> str:
    """``agent`` in IMAP atom characters, reversibly: every other character (spaces, ``+``,
    accents, quotes, brackets, control characters) as ``+HH`` per UTF-8 byte, so "Zoë" and
    "Zoé" stay two people. At most :data:`NAME_ROOM` characters (a longer name is cut)."""
    out, used = [], 0
    for ch in agent.strip():
        part = ch if _SAFE_NAME.fullmatch(ch) else "".join(f"+{b:02X}" for b in ch.encode("utf-8"))
        if used + len(part) > NAME_ROOM:
            break
        out.append(part)
        used += len(part)
    return "".join(out) or "_"


def owner_name(slug: str) -> str:
    """The name :func:`owner_slug` encoded (an older keyword, made with ``_``, reads as it is)."""
    def decode(m: re.Match) -> str:
        return bytes(int(m.group(0)[i + 1:i + 3], 16) for i in range(0, len(m.group(0)), 3)).decode("utf-8", "replace")
    return _ESCAPE.sub(decode, slug)


def assigned(agent: str) -> str:
    """The keyword naming ``agent`` the owner (claims and plain assignment write the same one)."""
    return ASSIGNED + owner_slug(agent)


def owners(flags) -> list[str]:
    """The owner keywords among ``flags`` (as the server spells them)."""
    return [f for f in normalise(flags) if f.lower().startswith(ASSIGNED.lower())]


def same_owner(keyword_a: str, keyword_b: str) -> bool:
    return keyword_a.lower() == keyword_b.lower()  # IMAP keywords are case-insensitive


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
            assignee = owner_name(sorted(names)[0])
            break
    tags = sorted({f[len(TAG):].lower() for m in ordered for f in m.flags if f.lower().startswith(TAG.lower())})
    unread = any(SEEN.lower() not in lower[i] for i in inbound)
    return TeamState(closed=closed, assignee=assignee, tags=tags, unread=unread)
