"""Team presence on screen: what this console tells the team, and how the others are shown.

- :func:`announce` — after each status tick, tells the host which conversation is on
  screen and whether the agent is replying (the composer open on a reply with text);
  the host hands it to the presence client, which rate-limits the writes.
- :func:`inbox_marks` — a short mark per conversation another agent is on: ``✎Priya``
  (replying) or ``◎Priya`` (viewing), ``+1`` when more are.
- :func:`presence_line` — the conversation pane's "Priya Natarajan is replying (since 14:02)".

Everything is read through :mod:`console.cache.team` (no SQL here); names came from
other consoles and are shown as inert text.
"""

from __future__ import annotations

import time

from rich.text import Text

from console.cache import team as team_cache
from widgets.render import safe_line

MARK = {"replying": "✎", "viewing": "◎"}
MARK_WIDTH = 9


def own_id(host) -> str:
    team = getattr(host.config, "team", None)
    return team.user_id if team is not None else ""


def announce(screen) -> None:
    """Tell the host what this agent shows now (a no-op without [team] or in read-only mode)."""
    host = screen.host
    if getattr(host.config, "team", None) is None or host.read_only:
        return
    pane = screen.conversation
    replying = bool(pane is not None and pane.composing and pane.composer.kind in ("reply", "private")
                    and pane.composer.text.strip())
    host.announce(screen.current, replying)


def inbox_marks(host) -> dict[int, str]:
    if getattr(host.config, "team", None) is None:
        return {}
    out = {}
    for thread_id, rows in team_cache.by_thread(host.db, host.now(), exclude=own_id(host)).items():
        first = rows[0]
        name = " ".join(str(first["name"]).split()[:1]) or "?"
        label = MARK.get(first["mode"], "◎") + name
        out[thread_id] = label + (f"+{len(rows) - 1}" if len(rows) > 1 else "")
    return out


def presence_line(host, thread_id: int) -> Text | None:
    if getattr(host.config, "team", None) is None:
        return None
    rows = team_cache.for_thread(host.db, thread_id, host.now(), exclude=own_id(host))
    if not rows:
        return None
    out = Text()
    for n, r in enumerate(rows):
        if n:
            out.append(" · ")
        replying = r["mode"] == "replying"
        out.append(MARK.get(r["mode"], "◎") + " ", style="bold magenta" if replying else "cyan")
        out.append_text(safe_line(r["name"], style="bold"))
        out.append(" is replying" if replying else " is viewing", style="bold magenta" if replying else "")
        if r["since"]:
            out.append(f" (since {time.strftime('%H:%M', time.localtime(r['since']))})", style="dim")
    return out
