"""The search bar (``/``): results as you type, off the UI loop, cancellable.

Typing restarts a short debounce timer; when it fires, the query is parsed
(``console.views.parse_query``: free words plus ``from:`` ``channel:`` ``status:``
``tag:`` ``queue:`` ``assignee:`` ``tone:``) and the full-text search runs in a
thread worker with ``exclusive=True`` on its own read-only SQLite connection. A
newer keystroke cancels the older worker and interrupts its SQL statement, so a
slow query never delays the next one. Results go to the inbox as a view.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import get_current_worker

from console.cache import queries
from console.views import ViewQueryError, parse_query

DEBOUNCE = 0.12  # seconds of quiet typing before a search starts
RESULT_LIMIT = 200  # newest matching conversations shown at once (the hint says "200+")


class SearchHint(Widget):
    """One line under the search box. Updating it repaints one line, never the screen's layout."""

    DEFAULT_CSS = "SearchHint { height: 1; }"

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()

    def update(self, text: Text) -> None:
        self.text = text
        self.refresh()

    def render(self) -> Text:
        return self.text


class SearchInput(Input):
    BINDINGS = [Binding("escape", "cancel_search", "Close search", show=False)]

    def action_cancel_search(self) -> None:
        self.parent.post_message(SearchBar.Cancelled())


class SearchBar(Widget):
    """An input above the inbox plus a one-line hint (match count, time, or what is wrong)."""

    DEFAULT_CSS = """
    SearchBar { height: auto; display: none; }
    SearchBar.-open { display: block; }
    SearchBar Input { border: tall $accent; height: 3; }
    SearchBar #search-hint { height: 1; color: $text-muted; padding: 0 1; }
    SearchBar #search-hint.-error { color: $error; }
    """

    class Results(Message):
        """New results: a filter for the inbox (thread_ids set when words were searched)."""

        def __init__(self, query: str, filter: queries.Filter, count: int | None, seconds: float) -> None:
            super().__init__()
            self.query = query
            self.filter = filter
            self.count = count
            self.seconds = seconds

    class Submitted(Message):
        """Enter: go to the results."""

    class Cancelled(Message):
        """Esc: close the search and go back to the view."""

    def __init__(self, db: sqlite3.Connection, *, db_path: Path | None = None, agent: str = "agent",
                 id: str | None = "search") -> None:
        super().__init__(id=id)
        self.db = db
        self.db_path = db_path
        self.agent = agent
        self._timer = None
        self._reader: sqlite3.Connection | None = None
        self.searches = 0  # searches started (tests, bench)
        self.last_query = ""

    def compose(self) -> ComposeResult:
        yield SearchInput(placeholder="search: words  from:  channel:  status:  tag:  queue:  assignee:  tone:",
                          id="search-input")
        yield SearchHint(id="search-hint")

    @property
    def input(self) -> SearchInput:
        return self.query_one(SearchInput)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, text: str | None = None) -> None:
        self.add_class("-open")
        if text is not None:
            self.input.value = text
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-open")
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._interrupt()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, lambda: self.start_search(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:  # Enter before the debounce fired: search now
            self._timer.stop()
            self._timer = None
            self.start_search(event.value)
        self.post_message(self.Submitted())

    def hint(self, text: str, error: bool = False) -> None:
        hint = self.query_one("#search-hint", SearchHint)
        hint.update(Text(text))
        hint.set_class(error, "-error")

    # ------------------------------------------------------------------ running a search

    def start_search(self, text: str) -> None:
        self._timer = None
        self.last_query = text
        try:
            words, flt, author = parse_query(text, agent=self.agent)
        except ViewQueryError as exc:
            self.hint(str(exc), error=True)
            return
        self._interrupt()
        self.searches += 1
        if not words.strip() and not author:
            # Filters only: the inbox reads the view directly, no full-text work.
            self.hint("filters only · Enter to go to the list · Esc to close")
            self.post_message(self.Results(text, flt, None, 0.0))
            return
        self.hint("searching…")
        self._search(text, words, author, flt)

    def _interrupt(self) -> None:
        if self._reader is not None:
            try:
                self._reader.interrupt()
            except sqlite3.ProgrammingError:
                pass

    def _connection(self) -> sqlite3.Connection:
        if self._reader is None:
            if self.db_path is not None and str(self.db_path) != ":memory:":
                self._reader = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False,
                                               timeout=5.0)
            else:
                self._reader = self.db
        return self._reader

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, text: str, words: str, author: str, flt: queries.Filter) -> None:
        worker = get_current_worker()
        started = time.perf_counter()
        try:
            ids = queries.search_threads(self._connection(), words, author=author, limit=RESULT_LIMIT)
        except sqlite3.OperationalError as exc:
            if worker.is_cancelled or "interrupted" in str(exc):
                return
            self.app.call_from_thread(self.hint, f"search failed: {exc} — try simpler words", True)
            return
        if worker.is_cancelled:
            return
        seconds = time.perf_counter() - started
        self.post_message(self.Results(text, flt.with_(thread_ids=tuple(ids)), len(ids), seconds))

    def on_search_bar_results(self, event: Results) -> None:
        # Let the app see it too; just show the figures here.
        if event.count is not None:
            more = "+" if event.count >= RESULT_LIMIT else ""
            self.hint(f"{event.count}{more} conversations · newest first · {event.seconds * 1000:.0f} ms · "
                      "Enter to go to the list · Esc to close")

    def on_unmount(self) -> None:
        if self._reader is not None and self._reader is not self.db:
            self._interrupt()
            try:
                self._reader.close()
            except sqlite3.ProgrammingError:
                pass
