"""The help screen (``?``): every key by context, generated from the registry and the keymap,
and the legend of the inbox's marks (read from the tables the rows are drawn with)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.actions import REGISTRY
from widgets.inbox_row import legend

CONTEXT_TITLES = {
    "global": "Everywhere", "inbox": "Inbox list", "thread": "Current conversation", "composer": "Composer",
    "customer": "Customer pane", "dashboard": "Dashboard",
}


def help_tables(keymap, views=()) -> list[Table]:
    """One table per context: keys, what they do, and the action id to use in [keymap]."""
    tables = []
    contexts = list(CONTEXT_TITLES) + sorted({a.context for a in REGISTRY.values()} - set(CONTEXT_TITLES))
    for ctx in contexts:
        actions = [a for a in REGISTRY.values() if a.context == ctx]
        if not actions:
            continue
        table = Table(title=Text(CONTEXT_TITLES.get(ctx, ctx.title()), style="bold"), title_justify="left",
                      show_header=False, box=None, padding=(0, 1), expand=True)
        table.add_column("keys", style="bold cyan", width=16, no_wrap=True)
        table.add_column("does", ratio=1)
        table.add_column("id", style="dim", no_wrap=True)
        for a in actions:
            keys = keymap.display(a.id) if keymap is not None else ", ".join(a.keys)
            table.add_row(Text(keys or "—"), Text(a.description), Text(a.id))
        tables.append(table)
    if views:
        table = Table(title=Text("Views (g + letter)", style="bold"), title_justify="left", show_header=False,
                      box=None, padding=(0, 1), expand=True)
        table.add_column("keys", style="bold cyan", width=16, no_wrap=True)
        table.add_column("view", ratio=1)
        for letter, view in views:
            table.add_row(Text(f"g {letter}"), Text(view))
        tables.append(table)
    return tables


def legend_table() -> Table:
    """What each mark in the inbox's columns means, column by column."""
    table = Table(title=Text("Inbox marks (the columns under the header row)", style="bold"), title_justify="left",
                  show_header=False, box=None, padding=(0, 1), expand=True)
    table.add_column("column", style="bold", width=16, no_wrap=True)
    table.add_column("marks", ratio=1)
    for column, marks in legend():
        line = Text()
        for n, (glyph, style, meaning) in enumerate(marks):
            if n:
                line.append("   ")
            line.append(glyph, style=style)
            line.append(f" {meaning}")
        table.add_row(Text(column), line)
    return table


class HelpScreen(ModalScreen):
    """Every key, by context. Esc, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen .help-title { text-style: bold; padding-bottom: 1; }
    HelpScreen .help-table { padding-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss_help", "Close", show=False),
        Binding("q", "dismiss_help", "Close", show=False),
        Binding("question_mark", "dismiss_help", "Close", show=False),
    ]

    def __init__(self, keymap, views=(), read_only: bool = False) -> None:
        super().__init__(id="help")
        self.keymap = keymap
        self.views = list(views)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            title = Text("Switchboard keys", style="bold")
            title.append("   Esc closes · remap any key in config.toml [keymap] by its id", style="dim")
            if self.read_only:
                title.append("\nREAD-ONLY: actions that change data are refused", style="bold red")
            yield Static(title, classes="help-title")
            yield Static(legend_table(), classes="help-table", id="help-legend")
            for table in help_tables(self.keymap, self.views):
                yield Static(table, classes="help-table")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
