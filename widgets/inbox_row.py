"""The inbox's columns: a conversation's row, the header row above the rows, the legend of the marks.

Rows and the header are laid out by the same :func:`layout`, so the header stays
aligned with its columns at every width. Each mark is distinct without colour
(colour only repeats what the glyph says): angry tone and the SLA warning do not
share a glyph, the negative tone is not a dash beside the countdown's minus, and
priority has its own column. The help screen's legend is built from the tables
here, so it cannot disagree with the rows.

Adding a column is one :class:`Column` in :data:`COLUMNS` (with its cell function).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from console.cache.queries import InboxRow

# C0/C1 controls and DEL become nothing: a row is one line of plain characters.
_CONTROL = {c: None for c in (*range(0, 32), *range(127, 160))}
_CONTROL[9] = " "
_CONTROL[10] = " "

DIM = Style(dim=True)
UNREAD = Style(bold=True)
FAILED = Style(color="red", bold=True)
PRESENCE_REPLYING = Style(color="magenta", bold=True)
PRESENCE_VIEWING = Style(color="cyan")
PRESENCE_WIDTH = 9  # cells at most for the mark and the agent's first name
HEADER = Style(bold=True, underline=True)

# Each table: value -> (glyph, style, what it means); the legend in `?` reads them.
MARKED = ("✓", Style(color="magenta", bold=True), "marked for a bulk action")
UNREAD_MARK = ("●", Style(color="cyan", bold=True), "unread")
PRIORITY_MARK = {
    3: ("▲", Style(color="red", bold=True), "urgent"),
    2: ("△", Style(color="yellow"), "high"),
    1: (" ", Style(), "normal (no mark)"),
    0: ("▽", DIM, "low"),
}
TONE_MARK = {
    "angry": ("✹", Style(color="red", bold=True), "angry"),
    "negative": ("☹", Style(color="red"), "negative"),
    "positive": ("☺", Style(color="green"), "positive"),
    "neutral": ("·", DIM, "neutral"),
}
SLA_MARK = {
    "breached": ("✗", Style(color="red", bold=True), "reply overdue, by the time shown (-2h30)"),
    "warning": ("!", Style(color="yellow", bold=True), "reply due soon (the time left)"),
    "ok": (" ", DIM, "time left to reply"),
}
CHANNEL_LABEL = {"email": "mail", "chat": "chat", "social": "soc", "helpdesk": "desk"}
CHANNEL_STYLE = {"email": Style(color="cyan"), "chat": Style(color="green"), "social": Style(color="magenta"),
                 "helpdesk": Style(color="yellow")}
STATUS_LABEL = {"open": "open", "pending": "pend", "snoozed": "snz", "closed": "done"}
STATUS_MEANING = {"open": "waiting for us", "pend": "pending: we answered, waiting for the customer",
                  "snz": "snoozed", "done": "closed", "fail": "a reply failed to send", "held": "a reply is held"}


def clean(value: object) -> str:
    return ("" if value is None else str(value)).translate(_CONTROL)


def fit(text: str, width: int, align: str = "left") -> str:
    """Crop or pad to exactly ``width`` cells, with an ellipsis when cropped."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    if align == "right":
        return " " * (width - cell_len(text)) + text
    return set_cell_size(text, width)


def countdown(seconds: float) -> str:
    """3h05, 12m, 14h, 2d (at most 4 cells); negative (overdue) values keep their minus sign."""
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    if s >= 2 * 86400:
        body = f"{s // 86400}d"
    elif s >= 10 * 3600:
        body = f"{s // 3600}h"
    elif s >= 3600:
        body = f"{s // 3600}h{(s % 3600) // 60:02d}"
    else:
        body = f"{max(1, s // 60) if s else 0}m"
    return sign + body


@dataclass(frozen=True)
class Facts:
    """What a row shows beyond its record: its SLA state now, and whether it is marked."""

    sla: str = "none"  # ok | warning | breached | none
    left: float = 0.0  # seconds to the SLA due time (negative: overdue)
    marked: bool = False
    presence: str = ""  # other agents on it, e.g. "✎Priya" (team presence), shown before the subject


Cell = Callable[[InboxRow, Facts], tuple[str, Style | None]]


def _mark(row: InboxRow, facts: Facts):
    return (MARKED[0], MARKED[1]) if facts.marked else (" ", None)


def _unread(row: InboxRow, facts: Facts):
    return (UNREAD_MARK[0], UNREAD_MARK[1]) if row.unread else (" ", None)


def _priority(row: InboxRow, facts: Facts):
    glyph, style, _ = PRIORITY_MARK.get(row.priority if row.priority in PRIORITY_MARK else 1)
    return glyph, style


def _channel(row: InboxRow, facts: Facts):
    return CHANNEL_LABEL.get(row.channel, row.channel[:4]), CHANNEL_STYLE.get(row.channel, DIM)


def _customer(row: InboxRow, facts: Facts):
    return clean(row.customer) or "(unknown)", UNREAD if row.unread else None


def _subject(row: InboxRow, facts: Facts):
    return " ".join((clean(row.subject) or clean(row.preview)).split()), UNREAD if row.unread else None


def _tone(row: InboxRow, facts: Facts):
    glyph, style, _ = TONE_MARK.get(row.tone, (" ", DIM, ""))
    return glyph, style


def _sla(row: InboxRow, facts: Facts):
    if facts.sla not in SLA_MARK:
        return "", None
    glyph, style, _ = SLA_MARK[facts.sla]
    return f"{glyph}{countdown(facts.left):>5}", style


def _status(row: InboxRow, facts: Facts):
    if row.outbox_state in ("failed", "held"):
        return row.outbox_state[:4], FAILED
    return STATUS_LABEL.get(row.status, row.status[:4]), DIM


def _assignee(row: InboxRow, facts: Facts):
    return (clean(row.assignee), None) if row.assignee else ("—", DIM)


@dataclass(frozen=True)
class Column:
    id: str
    header: str
    width: Callable[[int], int]  # cells at a list width; the flexible column's is its minimum
    cell: Cell
    gap: int = 1  # blank cells before the column
    shown_from: int = 0  # the list width from which the column shows
    flexible: bool = False  # takes the cells the others leave
    align: str = "left"


def _fixed(n: int) -> Callable[[int], int]:
    return lambda _width: n


COLUMNS: tuple[Column, ...] = (
    Column("mark", "", _fixed(1), _mark, gap=0),
    Column("unread", "", _fixed(1), _unread, gap=0),
    Column("priority", "P", _fixed(1), _priority, gap=0),
    Column("channel", "Chan", _fixed(4), _channel),
    Column("customer", "Customer", lambda w: 13 if w >= 62 else 12 if w >= 50 else 10, _customer),
    Column("subject", "Subject", _fixed(4), _subject, flexible=True),
    Column("tone", "T", _fixed(1), _tone),
    Column("sla", "SLA", _fixed(6), _sla, align="right"),
    Column("status", "State", _fixed(5), _status, shown_from=50),
    Column("assignee", "Assignee", _fixed(8), _assignee, shown_from=62),
)


@lru_cache(maxsize=32)
def layout(width: int, columns: tuple[Column, ...] = COLUMNS) -> tuple[tuple[Column, int], ...]:
    """The columns shown at a list width, each with its width in cells (computed once per width)."""
    shown = [c for c in columns if width >= c.shown_from]
    fixed = sum(c.gap + c.width(width) for c in shown if not c.flexible)
    out = []
    for c in shown:
        w = c.width(width)
        if c.flexible:
            w = max(w, width - fixed - c.gap)
        out.append((c, w))
    return tuple(out)


def row_segments(row: InboxRow, width: int, facts: Facts) -> list[Segment]:
    """One conversation as segments of plain text (provider text never becomes markup)."""
    segs: list[Segment] = []
    for column, w in layout(width):
        if column.gap:
            segs.append(Segment(" " * column.gap))
        if column.id == "subject" and facts.presence and w >= 12:
            mark = fit(clean(facts.presence), min(PRESENCE_WIDTH, w - 4)) + " "
            segs.append(Segment(mark, PRESENCE_REPLYING if facts.presence.startswith("✎") else PRESENCE_VIEWING))
            w -= cell_len(mark)
        text, style = column.cell(row, facts)
        segs.append(Segment(fit(text, w, column.align), style))
    return segs


def header_segments(width: int, marked: int = 0) -> list[Segment]:
    """The column names over the same layout; with marks, the subject's header counts them."""
    segs: list[Segment] = []
    for column, w in layout(width):
        if column.gap:
            segs.append(Segment(" " * column.gap, HEADER))
        title = column.header
        if column.id == "mark" and marked:
            segs.append(Segment(fit(MARKED[0], w), MARKED[1] + HEADER))
            continue
        if column.flexible and marked:
            counted = f"{marked:,} marked"
            choices = (f"{title} · {counted} (Esc clears)", f"{counted} (Esc clears)", counted, f"{marked:,}")
            title = next((c for c in choices if cell_len(c) <= w), choices[-1])
            segs.append(Segment(fit(title, w, column.align), MARKED[1] + HEADER))
            continue
        segs.append(Segment(fit(title, w, column.align), HEADER))
    return segs


def legend() -> list[tuple[str, list[tuple[str, Style, str]]]]:
    """(column, [(glyph, style, meaning)]) for the help screen, from the tables the rows use."""
    return [
        ("Marks", [MARKED, UNREAD_MARK]),
        ("P: priority", [PRIORITY_MARK[3], PRIORITY_MARK[2], PRIORITY_MARK[0]]),
        ("T: tone", [TONE_MARK["angry"], TONE_MARK["negative"], TONE_MARK["positive"],
                                TONE_MARK["neutral"]]),
        ("SLA: reply due", [SLA_MARK["breached"], SLA_MARK["warning"]]),
        ("Team (before the subject)", [("✎", PRESENCE_REPLYING, "another agent is replying (their name follows)"),
                                       ("◎", PRESENCE_VIEWING, "another agent has it open")]),
        ("State", [(label, DIM, meaning) for label, meaning in STATUS_MEANING.items()]),
        ("Chan: channel", [(label, CHANNEL_STYLE[ch], ch) for ch, label in CHANNEL_LABEL.items()]),
    ]
