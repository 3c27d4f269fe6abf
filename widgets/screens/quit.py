"""The question asked before quitting with unsent drafts."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


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

    def __init__(self, drafts: int) -> None:
        super().__init__(id="quit-confirm")
        self.drafts = drafts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"{self.drafts} unsent draft{'s' if self.drafts != 1 else ''} — they are kept and "
                              "will be here next time. Quit anyway? (y / n)"))
            with Horizontal():
                yield Button("Quit (y)", id="leave", variant="warning")
                yield Button("Stay (n)", id="stay", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "leave")

    def action_stay(self) -> None:
        self.dismiss(False)

    def action_leave(self) -> None:
        self.dismiss(True)
