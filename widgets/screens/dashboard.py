"""The supervisor dashboard: queue depth, SLA risk, waiting times, load, tags, words.

It reads the host's cache and config through :mod:`console.dashboard`, refreshes
every few seconds, and never acts: no mutating action is bound here, and its title
says so in every mode ("a read-only view"), not only in supervisor mode. A detail
that does not fit beside its figure wraps under itself (80 columns), never cut. Enter on a
figure asks the host to show the conversations behind it (``host.show_threads``);
Escape or ``q`` goes back.

The first paint and F5 read on the UI thread; the periodic refresh reads in a
worker thread through its own read-only SQLite connection (WAL lets it read while
the sync engine writes), so a large cache never stalls the keys.
"""

from __future__ import annotations

import sqlite3
import threading
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.dashboard import Figures, figures
from console.team import view as team_view
from widgets.host import Host
from widgets.render import safe_line

REFRESH_SECONDS = 5.0
READ_ONLY_WORDS = "read-only view, changes nothing"


class DashboardScreen(Screen):
    """Read-only figures with drill-down."""

    DEFAULT_CSS = """
    DashboardScreen { layout: vertical; }
    DashboardScreen #dash-title { height: 1; padding: 0 1; background: $primary-background; }
    DashboardScreen DataTable { height: 1fr; }
    DashboardScreen #dash-hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("q", "back_or_quit", "Back", show=False),
        Binding("f5", "refresh_now", "Refresh"),
    ]

    def __init__(self, host: Host, *, since: float | None = None, refresh_seconds: float = REFRESH_SECONDS) -> None:
        super().__init__()
        self.host = host
        self.since = since
        self.refresh_seconds = refresh_seconds
        self.rows: list[tuple[str, list[int]]] = []  # per table row: drill-down title and thread ids
        self.figures: Figures | None = None
        self.team: list | None = None  # the Team section ([team] only)
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Supervisor dashboard · {READ_ONLY_WORDS}"), id="dash-title")
            yield DataTable(id="dash-table", cursor_type="row", zebra_stripes=False)
            yield Static(Text("Enter: show the conversations behind a figure · Esc: back · F5: refresh"),
                         id="dash-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(self.refresh_seconds, self.refresh_in_background)
        self.query_one(DataTable).focus()

    def on_resize(self, _event) -> None:
        if self.figures is not None:
            self.show(self.figures, self.team)  # the details wrap to the new width

    def on_unmount(self) -> None:
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def reload(self) -> None:
        """Read the figures now (UI thread) and redraw."""
        self.show(figures(self.host.db, self.host.config, self.host.now(), self.since), self._team(self.host.db))

    def _team(self, db: sqlite3.Connection) -> list | None:
        """The Team section ([team] only): who is online, what each is on, their open claims."""
        if getattr(self.host.config, "team", None) is None:
            return None
        return team_view.dashboard_figures(team_view.members(db, self.host.config, self.host.now()))

    def refresh_in_background(self) -> None:
        if self._open_reader() is None:
            self.reload()  # an in-memory cache has no second door
        else:
            self._read_in_thread()

    def _open_reader(self) -> sqlite3.Connection | None:
        with self._reader_lock:
            if self._reader is None:
                path = self.host.db_path
                if path is None:
                    return None
                try:
                    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0, check_same_thread=False)
                except sqlite3.Error:
                    return None
                conn.row_factory = sqlite3.Row
                self._reader = conn
            return self._reader

    @work(thread=True, exclusive=True, group="dashboard-refresh")
    def _read_in_thread(self) -> None:
        with self._reader_lock:
            if self._reader is None:
                return
            try:
                figs = figures(self._reader, self.host.config, self.host.now(), self.since)
                team = self._team(self._reader)
            except sqlite3.Error:
                return  # busy or gone: the next refresh tries again
        self.app.call_from_thread(self.show, figs, team)

    def show(self, figs: Figures, team: list | None = None) -> None:
        """Redraw from ``figs`` (and the Team section), keeping the cursor on the same row."""
        if not self.is_attached:
            return
        self.figures, self.team = figs, team
        table = self.query_one(DataTable)
        row = table.cursor_row
        sections = figs.sections() + ([("Team (online · on · claims)", team)] if team is not None else [])
        labels = [Text(title) for title, _ in sections] + [Text("  ") + safe_line(item.label)
                                                          for _, items in sections for item in items]
        values = [Text(item.display) for _, items in sections for item in items]
        label_w = max((t.cell_len for t in labels), default=6)
        value_w = max([t.cell_len for t in values] + [5])
        # What is left beside the figure and its value (each column has one cell of padding a side).
        detail_w = max(16, (self.size.width or 80) - (label_w + 2) - (value_w + 2) - 2 - 3)  # padding, scrollbar
        table.clear(columns=True)
        table.add_column("Figure", width=label_w)
        table.add_column("Value", width=value_w)
        table.add_column("Detail", width=detail_w)
        self.rows = []
        for title, items in sections:
            table.add_row(Text(title, style="bold"), Text(""), Text(""))
            self.rows.append((title, [i for item in items for i in item.thread_ids]))
            if not items:
                table.add_row(Text("  (none)", style="dim"), Text(""), Text(""))
                self.rows.append((title, []))
            for item in items:
                label = Text("  ") + safe_line(item.label)
                value = Text(item.display, justify="right", style="bold red" if item.alert else "")
                detail = safe_line(item.detail, style="bold red" if item.alert else "")
                table.add_row(label, value, detail, height=max(1, -(-detail.cell_len // detail_w)))
                self.rows.append((f"{title}: {' '.join(item.label.split())}", list(item.thread_ids)))
        stamp = time.strftime("%H:%M:%S", time.localtime(figs.now))
        self.query_one("#dash-title", Static).update(
            Text(f"Supervisor dashboard · {READ_ONLY_WORDS} · updated {stamp}"))
        if self.rows:
            table.move_cursor(row=min(max(row, 0), len(self.rows) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.drill(event.cursor_row)

    def drill(self, index: int) -> None:
        if not 0 <= index < len(self.rows):
            return
        title, ids = self.rows[index]
        if not ids:
            self.notify("No conversations behind this figure.", timeout=3)
            return
        # Keep the order, drop repeats (a section row gathers its figures' ids).
        unique = list(dict.fromkeys(ids))
        self.host.show_threads(unique, title)

    def action_refresh_now(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.host.back()

    async def action_back_or_quit(self) -> None:
        """Back to the inbox; as the only screen (read-only mode), the app's own quit."""
        if not self.host.back():
            await self.host.leave()
