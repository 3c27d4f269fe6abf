"""Command-palette provider: every action, macro and view, each with its key.

The list is generated from the action registry (plus the keymap for the keys),
the configured macros and the views, so the palette never disagrees with the
bindings or the help screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from console import macros
from console.actions import REGISTRY


@dataclass(frozen=True)
class PaletteEntry:
    kind: str  # action | macro | view
    ident: str  # action id, macro name, view id
    title: str
    key: str  # how to reach it without the palette ("" if no key)
    help: str


def entries(app) -> list[PaletteEntry]:
    """Everything the palette offers for ``app`` (a SwitchboardApp)."""
    out: list[PaletteEntry] = []
    keymap = app.keymap
    for action in REGISTRY.values():
        if not action.show_in_palette or action.id == "palette":
            continue
        help_text = action.id + (" · changes data" if action.mutating else "")
        if action.mutating and app.read_only:
            help_text += " · refused in read-only mode"
        out.append(PaletteEntry("action", action.id, action.description, keymap.display(action.id), help_text))
    for name in macros.names(app.config):
        out.append(PaletteEntry("macro", name, f"Macro: {name}", keymap.first_key("choose_macro") + " (chooser)",
                                "inserts the macro into the reply"))
    letters = {v.id: letter for letter, v in app.main.view_letters().items()}
    for view in app.main.views_list():
        key = f"g {letters[view.id]}" if view.id in letters else ""
        out.append(PaletteEntry("view", view.id, f"View: {view.name}", key, "switch the inbox to this view"))
    return out


def _display(entry: PaletteEntry, highlighted: Content | None = None) -> Content:
    title = highlighted if highlighted is not None else Content(entry.title)
    if not entry.key:
        return title
    return Content.assemble(title, (f"  [{entry.key}]", "bold $accent"))


class SwitchboardCommands(Provider):
    """Textual command-palette provider for Switchboard: part of the App (Textual builds it and
    hands it only the App), so it reaches the App's palette entry points directly."""

    async def startup(self) -> None:
        self._entries = entries(self.app)

    def _command(self, entry: PaletteEntry):
        return partial(self.app.run_palette_entry, entry.kind, entry.ident)

    async def discover(self) -> Hits:
        for entry in self._entries:
            yield DiscoveryHit(_display(entry), self._command(entry), text=entry.title, help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries:
            haystack = f"{entry.title} {entry.ident}"
            score = matcher.match(haystack)
            if score > 0:
                shown = matcher.highlight(entry.title)
                yield Hit(score, _display(entry, shown), self._command(entry), text=entry.title,
                          help=entry.help)

