"""The view switcher (``v``): a modal list of views; dismisses with the chosen view id."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.views import View


class ViewSwitcher(ModalScreen[str | None]):
    """Pick a view with the arrows and Enter, or press its letter. Esc keeps the current one."""

    DEFAULT_CSS = """
    ViewSwitcher { align: center middle; }
    ViewSwitcher > Vertical { width: 60; max-width: 95%; height: auto; max-height: 90%;
                              border: round $accent; background: $surface; padding: 0 1; }
    ViewSwitcher OptionList { height: auto; max-height: 30; border: none; }
    ViewSwitcher .title { text-style: bold; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, views: list[View], letters: dict[str, View], current: str = "",
                 counts: dict[str, int] | None = None) -> None:
        super().__init__(id="view-switcher")
        self.views = views
        self.letters = letters
        self.current = current
        self.counts = counts or {}

    def compose(self) -> ComposeResult:
        by_view = {v.id: k for k, v in self.letters.items()}
        options = []
        for view in self.views:
            label = Text()
            letter = by_view.get(view.id, "")
            label.append(f"{letter or ' '} ", style="bold cyan")
            label.append(view.name, style="bold" if view.id == self.current else "")
            if view.id in self.counts:
                label.append(f"  {self.counts[view.id]:,}", style="dim")
            if view.kind == "saved":
                label.append("  saved", style="dim italic")
            options.append(Option(label, id=view.id))
        with Vertical():
            yield Static(Text("Switch view — Enter or the letter · Esc keeps this one"), classes="title")
            yield OptionList(*options, id="view-list")

    def on_mount(self) -> None:
        olist = self.query_one(OptionList)
        ids = [v.id for v in self.views]
        if self.current in ids:
            olist.highlighted = ids.index(self.current)
        olist.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_key(self, event) -> None:
        if event.character and event.character in self.letters:
            event.stop()
            self.dismiss(self.letters[event.character].id)

    def action_cancel(self) -> None:
        self.dismiss(None)
