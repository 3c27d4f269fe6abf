"""The team as a supervisor sees it: every agent, online or not, what each is on, their claims.

Read from the cache (``team_presence`` as the presence client keeps it, and the
conversations assigned to each agent), for the dashboard's Team section and for
``switchboard team [--json]``. The roster is ``[[agents]]`` plus anyone announcing
themselves or holding an open conversation; an agent is *online* while their console
has a live entry in a team room.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from console.cache import team as store
from console.errors import UserError

RANK = {"replying": 0, "viewing": 1, "online": 2}


@dataclass
class Member:
    name: str
    user_id: str = ""
    online: bool = False
    mode: str = "offline"  # offline | online | viewing | replying
    thread_id: int | None = None  # this console's id of the conversation they are on
    subject: str = ""
    elsewhere: bool = False  # on a conversation this cache does not hold
    since: float | None = None
    claims: list[int] = field(default_factory=list)  # open or pending conversations assigned to them

    def doing(self) -> str:
        """'replying to #12 "Charged twice" (since 14:02)' — one line of plain text."""
        if self.mode in ("offline", "online"):
            return self.mode
        verb = "replying to" if self.mode == "replying" else "viewing"
        what = (f'#{self.thread_id} "{" ".join(self.subject.split()) or "(no subject)"}"' if self.thread_id is not None
                else "a conversation not in this cache")
        since = f" (since {time.strftime('%H:%M', time.localtime(self.since))})" if self.since else ""
        return f"{verb} {what}{since}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["doing"] = self.doing()
        return out


def members(db: sqlite3.Connection, config, now: float) -> list[Member]:
    """Everyone on the team, online first, then by name."""
    roster: dict[str, Member] = {}
    try:
        for agent in config.triage.agents:
            roster.setdefault(agent.name, Member(agent.name))
    except UserError:
        pass  # a broken [triage]/[[agents]] is reported by doctor and the dashboard; the team shows anyway
    for r in store.entries(db, now):
        m = roster.setdefault(r["name"], Member(r["name"]))
        if m.online and RANK[r["mode"]] >= RANK.get(m.mode, 3):
            continue  # the same agent in two rooms: the busier entry wins
        m.user_id, m.online, m.mode, m.since = r["agent"], True, r["mode"], r["since"]
        m.thread_id = r["thread_id"] if r["mode"] != "online" else None
        m.subject = r["subject"] or ""
        m.elsewhere = r["mode"] != "online" and r["thread_id"] is None
    for r in db.execute("SELECT id, assignee FROM threads WHERE status IN ('open','pending') AND assignee IS NOT NULL "
                        "AND assignee != '' ORDER BY sort_due, id"):
        roster.setdefault(r["assignee"], Member(r["assignee"])).claims.append(r["id"])
    return sorted(roster.values(), key=lambda m: (not m.online, m.name.lower()))


def render_text(found: list[Member]) -> str:
    if not found:
        return "nobody yet: no [[agents]] in config.toml and no one announced in the team room"
    width = max(len(m.name) for m in found)
    lines = []
    for m in found:
        claims = f"{len(m.claims)} open claim{'s' if len(m.claims) != 1 else ''}"
        lines.append(f"{m.name:<{width}}  {'online ' if m.online else 'offline'}  {m.doing() if m.online else '':<60}"
                     f"  {claims}".rstrip())
    return "\n".join(lines)


def dashboard_figures(found: list[Member]) -> list:
    """The dashboard's Team section: one row per agent, drilling down to what they are on and hold."""
    from console.dashboard import Figure

    out = []
    for m in found:
        ids = ([m.thread_id] if m.thread_id is not None else []) + [i for i in m.claims if i != m.thread_id]
        claims = f"{len(m.claims)} claim{'s' if len(m.claims) != 1 else ''}"
        out.append(Figure(label=f"{'●' if m.online else '○'} {m.name}", value=len(m.claims), thread_ids=ids,
                          display=claims, detail=m.doing()))
    return out
