"""Pure helpers for the panes: sizes, times, quote folding, safe text.

Nothing here touches the screen or the database. Every string that came from a
provider goes through :func:`safe` before it is shown: escape sequences and
control characters are stripped again (the cache already did it on ingest, but a
row written by anything else must not be trusted either) and the result is a
``rich.text.Text`` — never a markup string — so ``[@click=app.quit]`` or
``[bold]`` stay literal characters.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from rich.text import Text

from console.quotes import fold_quotes
from console.sla import short_duration
from providers.text import clean_text

CHANNEL_MARKS = {"email": "✉", "chat": "💬", "social": "@", "helpdesk": "☎", "commerce": "$", "knowledge": "?"}
CHANNEL_LABELS = {"email": "EMAIL", "chat": "CHAT", "social": "SOCIAL", "helpdesk": "DESK"}


def safe(value: object, style: str = "") -> Text:
    """Provider text as an inert ``Text``: no markup, no escapes, no control characters."""
    return Text(clean_text("" if value is None else str(value)), style=style, no_wrap=False)


def safe_line(value: object, style: str = "") -> Text:
    """Like :func:`safe` but folded onto one line (names, subjects, addresses)."""
    return Text(" ".join(clean_text("" if value is None else str(value)).split()), style=style)


def human_size(size: int | float | None) -> str:
    """1234 -> '1.2 KB'; bytes below 1 KB are exact."""
    if size is None or size < 0:
        return "? B"
    size = float(size)
    if size < 1024:
        return f"{int(size)} B"
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1024
        if size < 1024 or unit == "TB":
            return f"{size:.1f} {unit}" if size < 100 else f"{size:.0f} {unit}"
    return f"{size:.0f} TB"  # pragma: no cover


def relative_time(when: float | None, now: float | None = None) -> str:
    """'just now', '5m ago', '3h ago', 'yesterday', '4d ago', else the date; future times 'in 5m'."""
    if when is None:
        return ""
    now = time.time() if now is None else now
    delta = now - when
    if delta < 0:
        return "in " + short_duration(-delta)
    if delta < 45:
        return "just now"
    if delta < 3600:
        return f"{int(delta // 60) or 1}m ago"
    if delta < 86400:
        return f"{int(delta // 3600)}h ago"
    if delta < 2 * 86400:
        return "yesterday"
    if delta < 7 * 86400:
        return f"{int(delta // 86400)}d ago"
    return datetime.fromtimestamp(when).strftime("%d %b %Y")


def clock(when: float | None) -> str:
    """Local date and time of a message, short."""
    if when is None:
        return ""
    stamp = datetime.fromtimestamp(when)
    if abs(time.time() - when) > 180 * 86400:
        return stamp.strftime("%d %b %Y %H:%M")
    return stamp.strftime("%a %d %b %H:%M")


# --------------------------------------------------------------------------- messages

def message_body(text: str, *, expanded: bool = False, fold_hint: str = "z to show") -> Text:
    """A message's text as an inert ``Text`` with quoted history folded to one line (or shown dimmed)."""
    body = Text()
    segments = fold_quotes(clean_text(text or ""))
    for n, seg in enumerate(segments):
        if n:
            body.append("\n")
        if not seg.quoted:
            body.append("\n".join(seg.lines).strip("\n"))
        elif expanded:
            body.append("\n".join(seg.lines), style="dim italic")
        else:
            count = len(seg.lines)
            body.append(f"… {count} quoted line{'s' if count != 1 else ''} ({fold_hint})", style="dim italic")
    return body


# --------------------------------------------------------------------------- message facts


def json_field(value: str | None, default):
    try:
        out = json.loads(value) if value else default
    except (TypeError, ValueError):
        return default
    return out if isinstance(out, type(default)) else default


def meta_marks(meta: dict, kind: str = "") -> list[str]:
    """Short labels for the facts a provider reported about a message."""
    marks: list[str] = []
    if meta.get("removed"):
        marks.append("removed by the sender")
    if meta.get("edited"):
        marks.append("edited")
    if meta.get("auto_reply") or kind == "auto_reply":
        marks.append("auto-reply")
    if meta.get("bounce") or kind == "bounce":
        marks.append("bounce: not delivered")
    if meta.get("encrypted"):
        marks.append("encrypted")
    if meta.get("undecryptable"):
        marks.append("could not be decrypted")
    visibility = meta.get("visibility")
    if visibility:
        marks.append(f"visibility: {' '.join(clean_text(str(visibility)).split())}")
    if meta.get("via") == "move_private":
        marks.append("sent privately")
    warning = meta.get("parse_warning")
    if warning:
        marks.append(f"parse warning: {' '.join(clean_text(str(warning)).split())}")
    return marks


def attachment_lines(attachments: list) -> list[str]:
    out = []
    for a in attachments:
        if not isinstance(a, dict):
            continue
        name = " ".join(clean_text(str(a.get("name") or "unnamed")).split())
        out.append(f"{name} ({human_size(a.get('size'))})")
    return out


def money(total: float | None, currency: str = "") -> str:
    if total is None:
        return ""
    cur = " ".join(clean_text(currency or "").split())
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(cur.upper())
    if symbol:
        return f"{symbol}{total:,.2f} {cur.upper()}"
    return f"{total:,.2f} {cur}".strip()


def followers(count: int | None) -> str:
    if count is None:
        return ""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M followers"
    if count >= 10_000:
        return f"{count / 1000:.0f}k followers"
    if count >= 1000:
        return f"{count / 1000:.1f}k followers"
    return f"{count} follower{'s' if count != 1 else ''}"


def identity_label(row, *, pad: int = 7, bold_followers: bool = False) -> Text:
    """One identity on one line: channel mark, address, display name, verified, network, followers (inert)."""
    label = Text()
    label.append(f"{CHANNEL_MARKS.get(row['channel'], '·')} {row['channel']:<{pad}} ")
    label.append_text(safe_line(row["address"]))
    if row["display_name"] and row["display_name"] != row["address"]:
        label.append(" (")
        label.append_text(safe_line(row["display_name"]))
        label.append(")")
    if "verified" in row.keys() and row["verified"]:
        label.append(" ✓ verified", style="green")
    if row["network"]:
        label.append(" · ")
        label.append_text(safe_line(row["network"]))
    if row["followers"] is not None:
        label.append(f" · {followers(row['followers'])}", style="bold" if bold_followers else "")
    return label
