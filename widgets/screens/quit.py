"""The question asked before quitting with unsent drafts."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.cache.queries import DraftHolder
from widgets.render import safe_line

SHOWN = 6  # conversations named; the rest are counted


class QuitScreen(ModalScreen[bool]):
    """Asked before quitting with unsent drafts."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical { width: 60; max-width: 95%; height: auto; border: thick $warning; background: $surface;
                            padding: 1 2; }
    QuitScreen Horizontal { height: auto; margin-top: 1; }
    QuitScreen Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape,n", "stay", "Stay", show=False), Binding("y", "leave", "Quit", show=False)]

    def __init__(self, drafts: list[DraftHolder] | int) -> None:
        super().__init__(id="quit-confirm")
        self.holders = drafts if isinstance(drafts, list) else []
        self.drafts = len(drafts) if isinstance(drafts, list) else drafts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question(), id="quit-question")
            with Horizontal():
                yield Button("Quit (y)", id="leave", variant="warning")
                yield Button("Stay (n)", id="stay", variant="primary")

    def question(self) -> Text:
        """How many drafts, and which conversations hold them (subject and customer, inert)."""
        n = self.drafts
        out = Text(f"{n} unsent draft{'s' if n != 1 else ''}", style="bold")
        out.append(" — kept, and here next time (the Drafts view lists them):" if self.holders else
                   " — they are kept and will be here next time.")
        for holder in self.holders[:SHOWN]:
            out.append("\n • ")
            out.append_text(safe_line(holder.subject or "(no subject)", style="bold"))
            if holder.customer:
                out.append(" — ")
                out.append_text(safe_line(holder.customer))
            if holder.effects:
                out.append("  (on send: ", style="dim")
                out.append_text(safe_line(", ".join(holder.effects), style="dim"))
                out.append(")", style="dim")
        if len(self.holders) > SHOWN:
            out.append(f"\n … and {len(self.holders) - SHOWN} more", style="dim")
        out.append("\nQuit anyway? (y / n)")
        return out

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "leave")

    def action_stay(self) -> None:
        self.dismiss(False)

    def action_leave(self) -> None:
        self.dismiss(True)
