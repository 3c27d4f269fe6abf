"""The status bar: view, account states, outbox, READ-ONLY badge.

One line at the bottom of the main screen. Account names and details come from the
config and the engine; they are still shown as plain ``Text`` (never markup).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.text import Text
from textual.widget import Widget

STATE_STYLE = {
    "online": "green", "syncing": "cyan", "starting": "cyan", "offline": "yellow", "auth_failed": "bold red",
    "error": "bold red", "disabled": "dim",
}
STATE_WORD = {"online": "online", "syncing": "syncing", "starting": "starting", "offline": "offline",
              "auth_failed": "auth failed", "error": "error", "disabled": "off"}


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { height: 1; dock: bottom; background: $panel; color: $text; }
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, why_key: str = "S",
                 id: str | None = "statusbar") -> None:
        super().__init__(id=id)
        self.clock = clock
        self.why_key = why_key  # the key that shows an account's last error and its fix
        self.read_only = False
        self.demo = False
        self.view_title = ""
        self.view_count = 0
        self.accounts: list = []  # AccountState-like objects (name, state, detail, next_try_at)
        self.engine_note = ""  # e.g. "sync off" when no engine runs
        self.outbox: dict[str, int] = {}
        self.undo_key = "ctrl+z"
        self.help_key = "?"
        self.sending: list[tuple[str, float]] = []  # replies in their undo-send window: (subject, seconds left)

    def set_state(self, *, view_title: str | None = None, view_count: int | None = None, accounts=None,
                  outbox: dict[str, int] | None = None, engine_note: str | None = None,
                  sending: list[tuple[str, float]] | None = None) -> None:
        if sending is not None:
            self.sending = sending
        if view_title is not None:
            self.view_title = view_title
        if view_count is not None:
            self.view_count = view_count
        if accounts is not None:
            self.accounts = list(accounts)
        if outbox is not None:
            self.outbox = outbox
        if engine_note is not None:
            self.engine_note = engine_note
        self.refresh()

    def account_text(self, acc, now: float) -> Text:
        state = getattr(acc, "state", "")
        word = STATE_WORD.get(state, state.replace("_", " "))
        text = Text()
        text.append(str(acc.name), style="bold")
        text.append(" ")
        text.append(word, style=STATE_STYLE.get(state, ""))
        next_try = getattr(acc, "next_try_at", None)
        if next_try and state in ("offline", "auth_failed", "error"):
            text.append(f" — next retry in {max(0, int(next_try - now))} s", style=STATE_STYLE.get(state, ""))
        if getattr(acc, "error", ""):
            text.append(f" ({self.why_key} why)", style="dim")
        return text

    def render(self) -> Text:
        """The view and accounts on the left, cut to fit; the outbox and ``? help`` always whole."""
        left, right = self.left_text(), self.right_text()
        room = max(0, self.size.width - right.cell_len) if self.size.width else left.cell_len
        if left.cell_len > room:
            left.truncate(max(0, room - 1))
            left.append("…", style="dim")
            left.truncate(room)
        line = Text(no_wrap=True, overflow="crop")
        line.append_text(left)
        line.append_text(right)
        return line

    def left_text(self) -> Text:
        now = self.clock()
        line = Text(no_wrap=True)
        if self.read_only:
            line.append(" READ-ONLY ", style="bold white on red")
            line.append(" ")
        if self.demo:
            line.append(" DEMO ", style="bold black on yellow")
            line.append(" ")
        line.append(self.view_title or "Inbox", style="bold")
        line.append(f" {self.view_count:,}", style="dim")
        line.append("  │ ", style="dim")
        if self.accounts:
            for n, acc in enumerate(self.accounts):
                if n:
                    line.append("  ")
                line.append_text(self.account_text(acc, now))
        else:
            line.append(self.engine_note or "no accounts", style="dim")
        return line

    def right_text(self) -> Text:
        queued = self.outbox.get("queued", 0) + self.outbox.get("sending", 0)
        failed = self.outbox.get("failed", 0)
        held = self.outbox.get("held", 0)
        line = Text(no_wrap=True)
        if self.sending:  # the undo-send window, counted down each second until the reply may go
            left = max(1, math.ceil(self.sending[0][1]))  # the newest: the one the key cancels
            more = f" (+{len(self.sending) - 1} more)" if len(self.sending) > 1 else ""
            line.append("  │ ", style="dim")
            line.append(f"sending in {left} s — {self.undo_key} cancels{more}", style="bold black on yellow")
        line.append("  │ ", style="dim")
        line.append(f"outbox {queued} queued", style="bold yellow" if queued else "dim")
        if failed:
            line.append(f", {failed} failed", style="bold red")
        if held:
            line.append(f", {held} held", style="bold yellow")
        line.append(f"  │ {self.help_key} help", style="dim")
        return line
