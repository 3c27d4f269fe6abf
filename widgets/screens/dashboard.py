"""The supervisor dashboard: queue depth, SLA risk, waiting times, load, tags, words.

It reads the host's cache and config through :mod:`console.dashboard`, refreshes
every few seconds, and never acts: no mutating action is bound here. Enter on a
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
from widgets.host import Host
from widgets.render import safe_line

REFRESH_SECONDS = 5.0


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
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Supervisor dashboard · read-only"), id="dash-title")
            table = DataTable(id="dash-table", cursor_type="row", zebra_stripes=False)
            table.add_columns("Figure", "Value", "Detail")
            yield table
            yield Static(Text("Enter: show the conversations behind a figure · Esc: back · F5: refresh"),
                         id="dash-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(self.refresh_seconds, self.refresh_in_background)
        self.query_one(DataTable).focus()

    def on_unmount(self) -> None:
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def reload(self) -> None:
        """Read the figures now (UI thread) and redraw."""
        self.show(figures(self.host.db, self.host.config, self.host.now(), self.since))

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
            except sqlite3.Error:
                return  # busy or gone: the next refresh tries again
        self.app.call_from_thread(self.show, figs)

    def show(self, figs: Figures) -> None:
        """Redraw from ``figs``, keeping the cursor on the same row."""
        if not self.is_attached:
            return
        self.figures = figs
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self.rows = []
        for title, items in figs.sections():
            table.add_row(Text(title, style="bold"), Text(""), Text(""))
            self.rows.append((title, [i for item in items for i in item.thread_ids]))
            if not items:
                table.add_row(Text("  (none)", style="dim"), Text(""), Text(""))
                self.rows.append((title, []))
            for item in items:
                label = Text("  ") + safe_line(item.label)
                table.add_row(label, Text(item.display, justify="right"), safe_line(item.detail))
                self.rows.append((f"{title}: {' '.join(item.label.split())}", list(item.thread_ids)))
        stamp = time.strftime("%H:%M:%S", time.localtime(figs.now))
        self.query_one("#dash-title", Static).update(
            Text(f"Supervisor dashboard · read-only · updated {stamp}"))
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
