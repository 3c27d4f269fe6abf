"""``switchboard report``: the dashboard's figures as a plain-text table or JSON."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from typing import Any

from console.dashboard import Figures, figures

IDS_SHOWN = 8


def render(db: sqlite3.Connection, config: Any, since: float | None, as_json: bool, now: float | None = None) -> str:
    """The figures since ``since`` (epoch seconds; None: today / the last 7 days) as text or JSON."""
    figs = figures(db, config, time.time() if now is None else now, since)
    if as_json:
        return json.dumps(_json(figs), indent=2, ensure_ascii=False)
    return _text(figs, since)


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _json(figs: Figures) -> dict[str, Any]:
    data = figs.to_dict()
    data["generated_at"] = _stamp(figs.now)
    data["period"] = {"first_response_since": _stamp(figs.today_start), "week_figures_since": _stamp(figs.week_start)}
    return data


def _text(figs: Figures, since: float | None) -> str:
    lines = [f"Switchboard report — {_stamp(figs.now)}"]
    if since is not None:
        lines.append(f"Period: since {_stamp(since)}")
    else:
        lines.append(f"Period: first response since {_stamp(figs.today_start)}; tags, words, CSAT since "
                     f"{_stamp(figs.week_start)}")
    for title, items in figs.sections():
        lines += ["", title, "-" * len(title)]
        if not items:
            lines.append("  (none)")
            continue
        width = max(len(_clean(i.label)) for i in items)
        for item in items:
            ids = ", ".join(str(x) for x in item.thread_ids[:IDS_SHOWN])
            if len(item.thread_ids) > IDS_SHOWN:
                ids += f", … (+{len(item.thread_ids) - IDS_SHOWN})"
            row = f"  {_clean(item.label):<{width}}  {item.display:>14}"
            if item.detail:
                row += f"  {item.detail}"
            if ids:
                row += f"  [conversations {ids}]"
            lines.append(row.rstrip())
    return "\n".join(lines) + "\n"


def _clean(text: str) -> str:
    """Labels may be tags or words from customers: keep them on one printable line."""
    return "".join(ch for ch in " ".join(str(text).split()) if ch.isprintable())[:40]
