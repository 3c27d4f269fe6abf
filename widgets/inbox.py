"""The inbox: a Line-API list that renders only the visible rows.

It never holds the whole view. It keeps a *window* of rows read from SQLite by
keyset pages around the viewport (``queries.inbox_page``), jumps far with one
``queries.inbox_at`` (G, scrollbar drags), and knows the view's size from
``queries.inbox_count``. Refreshing keeps the cursor on the same conversation. A sync's
re-read (``reload(recount=False)``) re-reads the window only; the view's size is counted
in a thread worker through the cache's read-only connection and applied when it lands,
so a large view's COUNT never runs on the event loop while mail arrives.

The first line is the header row (column names, from :mod:`widgets.inbox_row`, so it
is aligned with the rows at every width); view row ``i`` is drawn on line
``i - top + 1``. Every way of moving — keys, the mouse wheel, the scrollbar — moves
the cursor, and the row under the cursor is always on screen: the list binds no keys
of its own (the screen's registry bindings move the cursor), the wheel moves the
cursor with the view, and a scrollbar drag brings the cursor along.

Marks (for bulk actions) are a set of conversation ids held here, drawn in the mark
column and counted in the header; they belong to the view shown and are cleared when
it changes.

Provider text reaches the screen only as ``Segment`` text with control characters
removed, so markup such as ``[@click=app.quit]`` and escape sequences stay inert.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.message import Message
from textual.reactive import var
from textual.cache import LRUCache
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.cache import queries
from console.cache.db import open_existing
from console.cache.queries import Filter, InboxRow
from widgets.compositor import KeptLines
from widgets.inbox_row import Facts, countdown, fit, header_segments, row_segments
from widgets.steady import set_virtual_height

__all__ = ["InboxList", "countdown", "sla_state"]

PAGE = 120  # rows per keyset page
MAX_WINDOW = 600  # rows kept around the viewport
WHEEL_ROWS = 3  # rows one notch of the mouse wheel moves (the cursor and the view together)
HEADER_ROWS = 1  # the column names above the rows
STRIPS_KEPT = 600  # drawn rows kept (a few pages: the view, the rows drawn ahead, the way back)
WARM_DELAY = 0.03  # seconds the view rests before the rows a half page away are drawn ahead

DIM = Style(dim=True)
CURSOR_FOCUSED = Style(bgcolor="#2f5f9f", color="white")
CURSOR_BLURRED = Style(bgcolor="#3a3a3a")


def sla_state(row: InboxRow, now: float, settings=None) -> tuple[str, float]:
    """('ok'|'warning'|'breached'|'none', seconds left) for the countdown column (console.sla decides)."""
    from console import sla  # loaded with the first row drawn, not before the first frame

    if row.status not in ("open", "pending"):
        return "none", 0.0
    return sla.state(row, now, settings)


class InboxList(KeptLines, ScrollView, can_focus=True, inherit_bindings=False):
    """The conversation list of the current view (no key bindings of its own: see the module docstring)."""

    DEFAULT_CSS = """
    InboxList { overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; }
    """

    highlighted: var[int | None] = var(None, init=False)
    """The conversation under the cursor (None in an empty view); watch it to follow the cursor."""

    class Counted(Message):
        """The view's size changed when a background count landed."""

        def __init__(self, total: int) -> None:
            super().__init__()
            self.total = total

    class Opened(Message):
        """Enter on a conversation."""

        def __init__(self, thread_id: int) -> None:
            super().__init__()
            self.thread_id = thread_id

    def __init__(self, db, *, clock: Callable[[], float] = time.time, db_path=None, name: str | None = None,
                 id: str | None = "inbox", classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.db = db
        self.db_path = db_path  # the cache file, for counting off the loop (None: count on it)
        self._count_generation = 0  # bumped by every count, so a late background count is dropped
        self.clock = clock
        self.filter: Filter = Filter()
        self.total = 0
        self.cursor = 0
        self.marked: set[int] = set()
        self._rows: list[InboxRow] = []
        self._start = 0  # view index of self._rows[0]
        self._all: list[InboxRow] | None = None  # list mode: a view given by thread ids, read whole
        self._strip_cache: LRUCache[tuple, Strip] = LRUCache(STRIPS_KEPT)
        self._warm_timer = None
        self._frame_width: int | None = None  # the rows' width while a frame is drawn
        self.sla_settings = None  # console.sla's defaults until the screen hands over the configured ones
        self.presence: dict[int, str] = {}  # thread id -> other agents on it, e.g. "✎Priya" (widgets.presence)
        self.fetches = 0  # queries run (for tests and the bench)
        self._moving = False  # the cursor is moving the view (no scroll-follow)

    # ------------------------------------------------------------------ data window

    def set_filter(self, flt: Filter, *, keep_thread: int | None = None) -> None:
        """Show another view; the cursor goes to ``keep_thread`` if it is in it, else to the top. Marks are cleared."""
        self.filter = flt
        self._reset_window()
        self.total = self._count()
        pos = self._index_of(keep_thread) if keep_thread is not None else None
        self.cursor = pos if pos is not None else 0
        self._apply_size()
        self._set_top(max(0, self.cursor - self._viewport_height() // 2) if pos else 0)
        self.clear_marks()
        self.refresh()
        self._highlight()

    def reload(self, *, recount: bool = True) -> None:
        """Re-read the view after a change; the cursor stays on the same conversation where it can.

        ``recount=False`` (a sync's batches): the size is counted in a worker and applied when it lands."""
        tid = self.current_thread_id
        screen_row = self.cursor - int(self.scroll_offset.y)
        self._reset_window()
        if recount or self.db_path is None or self.filter.thread_ids is not None:
            self.total = self._count()
        else:
            self._count_in_background(self.filter, self._next_count())
        pos = self._index_of(tid) if tid is not None else None
        if pos is not None and pos >= self.total:
            self.total = pos + 1  # rows arrived above it; the background count brings the rest
        if pos is None:
            pos = min(self.cursor, max(0, self.total - 1))
        self.cursor = pos
        self._apply_size()
        height = self._viewport_height()
        screen_row = min(max(0, screen_row), max(0, height - 1))
        self._set_top(max(0, min(self.cursor - screen_row, self.total - height)))
        self._prune_marks()
        self.refresh()
        self._highlight()

    def _next_count(self) -> int:
        self._count_generation += 1
        return self._count_generation

    @work(thread=True, group="inbox-count")
    def _count_in_background(self, flt: Filter, generation: int) -> None:
        reader = open_existing(self.db_path)
        if reader is None:
            return
        try:
            total = queries.inbox_count(reader, flt)
        except Exception:  # busy or gone: the next re-read counts again
            return
        finally:
            reader.close()
        self.app.call_from_thread(self._apply_count, flt, generation, total)

    def _apply_count(self, flt: Filter, generation: int, total: int) -> None:
        """A background count landed: take it unless the view or a newer count has moved on."""
        if generation != self._count_generation or flt != self.filter or total == self.total:
            return
        self.total = total
        self.cursor = min(self.cursor, max(0, total - 1))
        self._apply_size()
        self.refresh()
        self._highlight()
        self.post_message(self.Counted(total))

    def _count(self) -> int:
        """The view's size; a view given by ids (search results, drill-downs) is read whole, by id."""
        self._next_count()
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

    def contains(self, thread_id: int | None) -> bool:
        return self._index_of(thread_id) is not None

    def _reset_window(self) -> None:
        self._rows = []
        self._start = 0

    def _apply_size(self) -> None:
        """A new row count moves only the scrollbar (no layout: widgets.steady.set_virtual_height)."""
        set_virtual_height(self, self.total + HEADER_ROWS)

    def _set_top(self, y: int) -> None:
        """Scroll so view row ``y`` is the first visible one, and repaint (set_scroll alone repaints nothing)."""
        y = max(0, int(y))
        if y == int(self.scroll_offset.y):
            return
        self._moving = True
        try:
            self.set_scroll(None, y)
        finally:
            self._moving = False
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = y
        self.refresh()
        self._warm_later()

    def _viewport_height(self) -> int:
        """Rows visible under the header."""
        return max(1, (self.scrollable_content_region.height or self.size.height or 1) - HEADER_ROWS)

    @property
    def top(self) -> int:
        """The view index of the first visible row."""
        return int(self.scroll_offset.y)

    def line_of(self, index: int) -> int:
        """The widget line a view row is drawn on (the header is line 0)."""
        return index - self.top + HEADER_ROWS

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
        """Put the cursor on a view row; the view scrolls just enough to show it."""
        if self.total == 0:
            return
        index = max(0, min(self.total - 1, index))
        old = self.cursor
        if index == old:
            return
        self.cursor = index
        top = self.top
        height = self._viewport_height()
        if index < top:
            self._set_top(index)
        elif index >= top + height:
            self._set_top(index - height + 1)
        else:
            self._refresh_row(old)
            self._refresh_row(index)
        self._highlight()

    def move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def _move_with_view(self, cursor: int, top: int) -> None:
        """Move the cursor and the view together (half pages, the wheel); the cursor stays on screen."""
        height = self._viewport_height()
        top = max(0, min(top, self.total - height))
        cursor = max(0, min(self.total - 1, cursor))
        if not (top <= cursor < top + height):
            top = max(0, min(cursor - height // 2, self.total - height))
        self.cursor = cursor
        self._set_top(top)
        self.refresh()
        self._highlight()

    def half_page(self, direction: int) -> None:
        """Move the cursor and the view by half a page (ctrl+d / ctrl+u, PgDn / PgUp)."""
        if self.total == 0:
            return
        step = max(1, self._viewport_height() // 2)
        self._move_with_view(self.cursor + direction * step, self.top + direction * step)

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

    def _refresh_row(self, index: int) -> None:
        self.refresh_line(index + HEADER_ROWS)

    def _keep_cursor_visible(self) -> None:
        """After a resize: scroll so the cursor's row is on screen again."""
        if not self.total:
            return
        top, height = self.top, self._viewport_height()
        if self.cursor < top:
            self._set_top(self.cursor)
        elif self.cursor >= top + height:
            self._set_top(self.cursor - height + 1)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """The view moved by other means than the cursor (a scrollbar drag or click): the cursor
        comes along to the nearest visible row, and the panes follow it."""
        super().watch_scroll_y(old_value, new_value)
        if self._moving or not self.total or not self.scrollable_content_region.height:
            return
        top, height = int(new_value), self._viewport_height()
        cursor = min(max(self.cursor, top), min(self.total - 1, top + height - 1))
        if cursor != self.cursor:
            self.cursor = cursor
            self.refresh()
            self._highlight()

    def on_resize(self, _event: events.Resize) -> None:
        self._strip_cache.clear()
        self.call_after_refresh(self._keep_cursor_visible)

    # ------------------------------------------------------------------ marks (bulk actions)

    def toggle_mark(self) -> bool | None:
        """Mark or unmark the conversation under the cursor; True if it is marked now (None: nothing there)."""
        tid = self.current_thread_id
        if tid is None:
            return None
        if tid in self.marked:
            self.marked.discard(tid)
        else:
            self.marked.add(tid)
        self._marks_changed()
        return tid in self.marked

    def mark_all(self) -> int:
        """Mark every conversation in this view; returns how many are marked."""
        ids = [r.id for r in self._all] if self._all is not None else queries.view_ids(self.db, self.filter)
        self.marked = set(ids)
        self._marks_changed()
        return len(self.marked)

    def clear_marks(self) -> int:
        """Unmark everything; returns how many were marked."""
        count = len(self.marked)
        if count:
            self.marked = set()
            self._marks_changed()
        return count

    def unmark(self, thread_ids) -> None:
        before = len(self.marked)
        self.marked.difference_update(thread_ids)
        if len(self.marked) != before:
            self._marks_changed()

    @property
    def marked_in_order(self) -> list[int]:
        """The marked conversations that are in the view, in view order."""
        if not self.marked:
            return []
        if self._all is not None:
            return [r.id for r in self._all if r.id in self.marked]
        return queries.view_ids(self.db, self.filter, among=self.marked)

    def _prune_marks(self) -> None:
        """A marked conversation that left the view (sync, another agent) is no longer marked:
        a bulk action never reaches a conversation the agent cannot see."""
        if self.marked:
            present = set(self.marked_in_order)
            if present != self.marked:
                self.marked = present
                self._marks_changed()

    def _marks_changed(self) -> None:
        self._strip_cache.clear()
        self.refresh()

    # ------------------------------------------------------------------ mouse

    def on_click(self, event) -> None:
        if event.y < HEADER_ROWS:
            return
        index = self.top + event.y - HEADER_ROWS
        if 0 <= index < self.total:
            self.move_to(index)
            if event.chain >= 2:
                self.open_current()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, WHEEL_ROWS)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, -WHEEL_ROWS)

    def _wheel(self, event, delta: int) -> None:
        """The wheel moves the cursor with the view, so the row acted on is the one in sight."""
        event.stop()
        event.prevent_default()
        if self.total:
            self._move_with_view(self.cursor + delta, self.top + delta)

    def watch_has_focus(self, _value: bool) -> None:
        self._strip_cache.clear()
        self.refresh()

    # ------------------------------------------------------------------ rendering

    def render_lines(self, crop):
        self._frame_width = self._line_width()  # once a frame, not once a line
        try:
            return super().render_lines(crop)
        finally:
            self._frame_width = None

    def _line_width(self) -> int:
        return self.scrollable_content_region.width or self.size.width

    def render_line(self, y: int) -> Strip:
        width = self._frame_width or self._line_width()
        if y < HEADER_ROWS:
            key = ("header", width, len(self.marked))
            strip = self._strip_cache.get(key)
            if strip is None:
                strip = Strip(header_segments(width, len(self.marked)), width)
                self._strip_cache.set(key, strip)
            return strip
        index = self.top + y - HEADER_ROWS
        if self.total == 0:
            if y == HEADER_ROWS:
                return Strip([Segment(fit("  Nothing here. Press v for another view, / to search.", width), DIM)])
            return Strip.blank(width)
        return self._row_strip(index, width) or Strip.blank(width)

    def _row_strip(self, index: int, width: int) -> Strip | None:
        """The strip of view row ``index`` (the same object while nothing it draws changes)."""
        row = self.row_at(index)
        if row is None:
            return None
        now = self.clock()
        selected = index == self.cursor
        marked = row.id in self.marked
        sla, left = sla_state(row, now, self.sla_settings)
        minute = int(left // 60) if sla != "none" else 0
        # The row itself is in the key (every field it draws from), so a re-read keeps the strips
        # of the rows it finds unchanged: after a sync batch only new or changed rows are drawn.
        key = (row, width, selected, marked, self.has_focus, sla, minute, self.presence.get(row.id))
        strip = self._strip_cache.get(key)
        if strip is None:
            segments = row_segments(row, width, Facts(sla, left, marked, self.presence.get(row.id, "")))
            if selected:
                cursor_style = CURSOR_FOCUSED if self.has_focus else CURSOR_BLURRED
                segments = [Segment(s.text, (s.style or Style()) + cursor_style) for s in segments]
            strip = Strip(segments, width)
            self._strip_cache.set(key, strip)
        return strip

    def _warm_later(self) -> None:
        """After the view moved and once it rests: draw the rows half a page beyond each edge ahead."""
        if self._warm_timer is not None:
            self._warm_timer.stop()
        self._warm_timer = self.set_timer(WARM_DELAY, self._warm_ahead)

    def _warm_ahead(self) -> None:
        self._warm_timer = None
        width = self._line_width()
        if not self.total or not width:
            return
        height = self._viewport_height()
        reach = height // 2 + 1
        bottom = self.top + height
        indexes = [*range(bottom, min(self.total, bottom + reach)), *range(max(0, self.top - reach), self.top)]
        strips = [strip for i in indexes if (strip := self._row_strip(i, width)) is not None]
        self._styles_cache.warm(self, strips)
