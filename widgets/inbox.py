"""The inbox: a Line-API list that renders only the visible rows.

It never holds the whole view. It keeps a *window* of rows read from SQLite by
keyset pages around the viewport (``queries.inbox_page``), jumps far with one
``queries.inbox_at`` (G, scrollbar drags), and knows the view's size from
``queries.inbox_count``. Refreshing keeps the cursor on the same conversation.

Provider text reaches the screen only as ``Segment`` text with control characters
removed, so markup such as ``[@click=app.quit]`` and escape sequences stay inert.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.cache import queries
from console.cache.queries import Filter, InboxRow

PAGE = 120  # rows per keyset page
MAX_WINDOW = 600  # rows kept around the viewport

# C0/C1 controls and DEL become nothing: a row is one line of plain characters.
_CONTROL = {c: None for c in (*range(0, 32), *range(127, 160))}
_CONTROL[9] = " "
_CONTROL[10] = " "

CHANNEL_LABEL = {"email": "mail", "chat": "chat", "social": "soc", "helpdesk": "desk"}
CHANNEL_STYLE = {"email": Style(color="cyan"), "chat": Style(color="green"), "social": Style(color="magenta"),
                 "helpdesk": Style(color="yellow")}
STATUS_LABEL = {"open": "open", "pending": "pend", "snoozed": "snz", "closed": "done"}
TONE_MARK = {"positive": "+", "negative": "-", "angry": "!", "neutral": "·"}
TONE_STYLE = {"positive": Style(color="green"), "negative": Style(color="red"), "angry": Style(color="red", bold=True)}
SLA_STYLE = {"warning": Style(color="yellow", bold=True), "breached": Style(color="red", bold=True),
             "ok": Style(dim=True), "none": Style(dim=True)}

DIM = Style(dim=True)
UNREAD = Style(bold=True)
CURSOR_FOCUSED = Style(bgcolor="#2f5f9f", color="white")
CURSOR_BLURRED = Style(bgcolor="#3a3a3a")
FAILED = Style(color="red", bold=True)


def clean(value: object) -> str:
    return ("" if value is None else str(value)).translate(_CONTROL)


def fit(text: str, width: int) -> str:
    """Crop or pad to exactly ``width`` cells, with an ellipsis when cropped."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def sla_state(row: InboxRow, now: float, settings=None) -> tuple[str, float]:
    """('ok'|'warning'|'breached'|'none', seconds left) for the countdown column (console.sla decides)."""
    from console import sla  # loaded with the first row drawn, not before the first frame

    if row.status not in ("open", "pending"):
        return "none", 0.0
    return sla.state(row, now, settings)


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


class InboxList(ScrollView, can_focus=True):
    """The conversation list of the current view."""

    DEFAULT_CSS = """
    InboxList { overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; }
    """

    highlighted: var[int | None] = var(None, init=False)
    """The conversation under the cursor (None in an empty view); watch it to follow the cursor."""

    class Opened(Message):
        """Enter on a conversation."""

        def __init__(self, thread_id: int) -> None:
            super().__init__()
            self.thread_id = thread_id

    def __init__(self, db, *, clock: Callable[[], float] = time.time, name: str | None = None,
                 id: str | None = "inbox", classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.db = db
        self.clock = clock
        self.filter: Filter = Filter()
        self.total = 0
        self.cursor = 0
        self._rows: list[InboxRow] = []
        self._start = 0  # view index of self._rows[0]
        self._all: list[InboxRow] | None = None  # list mode: a view given by thread ids, read whole
        self._strip_cache: dict[tuple, Strip] = {}
        self.sla_settings = None  # console.sla's defaults until the screen hands over the configured ones
        self.fetches = 0  # queries run (for tests and the bench)

    # ------------------------------------------------------------------ data window

    def set_filter(self, flt: Filter, *, keep_thread: int | None = None) -> None:
        """Show another view; the cursor goes to ``keep_thread`` if it is in it, else to the top."""
        self.filter = flt
        self._reset_window()
        self.total = self._count()
        pos = self._index_of(keep_thread) if keep_thread is not None else None
        self.cursor = pos if pos is not None else 0
        self._apply_size()
        self._set_top(max(0, self.cursor - self._viewport_height() // 2) if pos else 0)
        self.refresh()
        self._highlight()

    def reload(self) -> None:
        """Re-read the view after a change; the cursor stays on the same conversation where it can."""
        tid = self.current_thread_id
        screen_row = self.cursor - int(self.scroll_offset.y)
        self._reset_window()
        self.total = self._count()
        pos = self._index_of(tid) if tid is not None else None
        if pos is None:
            pos = min(self.cursor, max(0, self.total - 1))
        self.cursor = pos
        self._apply_size()
        height = self._viewport_height()
        screen_row = min(max(0, screen_row), max(0, height - 1))
        self._set_top(max(0, min(self.cursor - screen_row, self.total - height)))
        self.refresh()
        self._highlight()

    def _count(self) -> int:
        """The view's size; a view given by ids (search results, drill-downs) is read whole, by id."""
        if self.filter.thread_ids is not None:
            self._all = queries.inbox_by_ids(self.db, self.filter)
            return len(self._all)
        self._all = None
        return queries.inbox_count(self.db, self.filter)

    def _index_of(self, thread_id: int) -> int | None:
        """Position of a thread in this view, or None when it is not in the view."""
        if thread_id is None:
            return None
        if self._all is not None:
            return next((n for n, r in enumerate(self._all) if r.id == thread_id), None)
        if self.filter.thread_ids is not None and thread_id not in self.filter.thread_ids:
            return None
        if not queries.in_view(self.db, self.filter, thread_id):  # by id: a re-read during a sync stays cheap
            return None
        return queries.position_of(self.db, self.filter, thread_id)

    def _reset_window(self) -> None:
        self._rows = []
        self._start = 0
        self._strip_cache.clear()

    def _apply_size(self) -> None:
        self.virtual_size = Size(0, self.total)

    def _set_top(self, y: int) -> None:
        """Scroll so view row ``y`` is the first visible one, and repaint (set_scroll alone repaints nothing)."""
        y = max(0, int(y))
        if y == int(self.scroll_offset.y):
            return
        self.set_scroll(None, y)
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = y
        self.refresh()

    def _viewport_height(self) -> int:
        return max(1, self.scrollable_content_region.height or self.size.height or 1)

    def row_at(self, index: int) -> InboxRow | None:
        """The row at a view position, reading a page from SQLite if it is outside the window."""
        if index < 0 or index >= self.total:
            return None
        if self._all is not None:
            return self._all[index]
        rel = index - self._start
        if 0 <= rel < len(self._rows):
            return self._rows[rel]
        self._fetch_around(index)
        rel = index - self._start
        return self._rows[rel] if 0 <= rel < len(self._rows) else None

    def _fetch_around(self, index: int) -> None:
        """Make the window cover ``index``: extend it by a keyset page, or jump to a new window.

        Page sizes never exceed the rows left in that direction, so a page near either
        end of the view stops as soon as it has them (no scan past the last row).
        """
        rows, start = self._rows, self._start
        end = start + len(rows)
        page = max(PAGE, 2 * self._viewport_height())
        self.fetches += 1
        if rows and end <= index < end + page:
            more = queries.inbox_page(self.db, self.filter, after=rows[-1].key, limit=max(1, min(page, self.total - end)))
            rows = rows + more
            if len(rows) > MAX_WINDOW:
                cut = len(rows) - MAX_WINDOW
                rows, start = rows[cut:], start + cut
        elif rows and start - page <= index < start:
            more = queries.inbox_page(self.db, self.filter, before=rows[0].key, limit=max(1, min(page, start)))
            rows, start = more + rows, start - len(more)
            if len(rows) > MAX_WINDOW:
                rows = rows[:MAX_WINDOW]
        else:
            rows, start = self._jump(index, page)
        self._rows, self._start = rows, start
        if not (start <= index < start + len(rows)) and rows:
            # The view changed under us (rows removed): fall back to one positional read.
            start = max(0, index - page // 2)
            self._rows, self._start = queries.inbox_at(self.db, self.filter, start, limit=page), start

    def _jump(self, index: int, page: int) -> tuple[list[InboxRow], int]:
        """A new window around ``index``: the key before it from the index alone, then one keyset page."""
        start = max(0, min(index - page // 2, self.total - page))
        if start == 0:
            return queries.inbox_page(self.db, self.filter, limit=max(1, min(page, self.total))), 0
        anchor = queries.inbox_key_at(self.db, self.filter, start - 1)
        if anchor is None:
            return queries.inbox_at(self.db, self.filter, start, limit=page), start
        return queries.inbox_page(self.db, self.filter, after=anchor, limit=max(1, min(page, self.total - start))), start

    @property
    def current_row(self) -> InboxRow | None:
        return self.row_at(self.cursor) if self.total else None

    @property
    def current_thread_id(self) -> int | None:
        row = self.current_row
        return row.id if row else None

    # ------------------------------------------------------------------ cursor

    def move_to(self, index: int) -> None:
        if self.total == 0:
            return
        index = max(0, min(self.total - 1, index))
        old = self.cursor
        if index == old:
            return
        self.cursor = index
        top = int(self.scroll_offset.y)
        height = self._viewport_height()
        if index < top:
            self._set_top(index)
        elif index >= top + height:
            self._set_top(index - height + 1)
        else:
            self.refresh_line(old)
            self.refresh_line(index)
        self._highlight()

    def move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def half_page(self, direction: int) -> None:
        """Move the cursor and the view by half a page (ctrl+d / ctrl+u)."""
        if self.total == 0:
            return
        step = max(1, self._viewport_height() // 2)
        new = max(0, min(self.total - 1, self.cursor + direction * step))
        top = max(0, min(int(self.scroll_offset.y) + direction * step, self.total - self._viewport_height()))
        self.cursor = new
        self._set_top(top)
        if not (top <= new < top + self._viewport_height()):
            self._set_top(max(0, new - self._viewport_height() // 2))
        self.refresh()
        self._highlight()

    def go_top(self) -> None:
        self.move_to(0)

    def go_bottom(self) -> None:
        self.move_to(self.total - 1)

    def open_current(self) -> None:
        tid = self.current_thread_id
        if tid is not None:
            self.post_message(self.Opened(tid))

    def select_thread(self, thread_id: int) -> bool:
        """Put the cursor on a thread if it is in this view."""
        pos = self._index_of(thread_id)
        if pos is None:
            return False
        self.move_to(pos)
        return True

    def _highlight(self) -> None:
        self.highlighted = self.current_thread_id

    # ------------------------------------------------------------------ mouse

    def on_click(self, event) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < self.total:
            self.move_to(index)
            if event.chain >= 2:
                self.open_current()

    def watch_has_focus(self, _value: bool) -> None:
        self._strip_cache.clear()
        self.refresh()

    # ------------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        index = int(self.scroll_offset.y) + y
        if self.total == 0:
            if y == 0:
                return Strip([Segment(fit("  Nothing here. Press v for another view, / to search.", width), DIM)])
            return Strip.blank(width)
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width)
        now = self.clock()
        selected = index == self.cursor
        sla, left = sla_state(row, now, self.sla_settings)
        minute = int(left // 60) if sla != "none" else 0
        key = (row.id, row.key, row.unread, row.status, row.assignee, row.tone, row.outbox_state, row.customer,
               row.subject, width, selected, self.has_focus, sla, minute)
        strip = self._strip_cache.get(key)
        if strip is None:
            segments = self._segments(row, width, sla, left)
            if selected:
                cursor_style = CURSOR_FOCUSED if self.has_focus else CURSOR_BLURRED
                segments = [Segment(s.text, (s.style or Style()) + cursor_style) for s in segments]
            strip = Strip(segments, width)
            if len(self._strip_cache) > 400:
                self._strip_cache.clear()
            self._strip_cache[key] = strip
        return strip

    def _segments(self, row: InboxRow, width: int, sla: str, left: float) -> list[Segment]:
        show_status = width >= 50
        show_assignee = width >= 62
        name_w = 13 if width >= 62 else 12 if width >= 50 else 10
        base = UNREAD if row.unread else Style()
        segs: list[Segment] = []
        add = segs.append
        add(Segment("●" if row.unread else " ", Style(color="cyan", bold=True)))
        add(Segment(fit(CHANNEL_LABEL.get(row.channel, row.channel[:4]), 4), CHANNEL_STYLE.get(row.channel, DIM)))
        add(Segment(" "))
        add(Segment(fit(clean(row.customer) or "(unknown)", name_w), base))
        add(Segment(" "))
        used = 1 + 4 + 1 + name_w + 1
        tail_w = 3 + 6 + (6 if show_status else 0) + (9 if show_assignee else 0)
        subject = clean(row.subject) or clean(row.preview)
        subject_w = max(4, width - used - tail_w)
        add(Segment(fit(" ".join(subject.split()), subject_w), base))
        add(Segment(" "))
        add(Segment(TONE_MARK.get(row.tone, " ") + " ", TONE_STYLE.get(row.tone, DIM)))
        if sla == "none":
            add(Segment(" " * 6))
        else:
            mark = {"warning": "!", "breached": "✗"}.get(sla, " ")
            add(Segment(fit(f"{mark}{countdown(left):>5}", 6), SLA_STYLE[sla]))
        if show_status:
            label = STATUS_LABEL.get(row.status, row.status[:4])
            style = DIM
            if row.outbox_state in ("failed", "held"):
                label, style = row.outbox_state[:4], FAILED
            add(Segment(" " + fit(label, 5), style))
        if show_assignee:
            add(Segment(" " + fit(clean(row.assignee) if row.assignee else "—", 8), DIM if not row.assignee else Style()))
        return segs
