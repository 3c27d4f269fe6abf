"""Two-key sequences (``g g``, ``g`` + a view's letter): the table and the prompt that reads the second key.

Textual binds single keys; a prefix key instead opens :class:`SequencePrompt`, an
invisible modal that takes the very next key (or times out) and hands back what it
names: an action id, ``view:<id>``, or ``key:<key>`` for a key that starts no sequence
(the screen then handles that key as if no prefix had been typed).
"""

from __future__ import annotations

from textual import events
from textual.screen import ModalScreen

from console.actions import REGISTRY
from console.views import View
from widgets.keys import Keymap

TIMEOUT = 1.5  # s to type the second key
VIEW_PREFIX = "view:"
KEY_PREFIX = "key:"


def sequence_table(keymap: Keymap, view_letters: dict[str, View]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """prefix -> {second key -> target}, and one problem line per view letter that clashes."""
    table = keymap.sequences()
    problems = []
    for letter, view in view_letters.items():
        seq = table.setdefault("g", {})
        if letter in seq and not seq[letter].startswith(VIEW_PREFIX):
            problems.append(f"views: key {letter!r} of view {view.name!r} clashes with g {letter} "
                            f"({seq[letter]}) — pick another key for the view")
            continue
        seq[letter] = VIEW_PREFIX + view.id
    return table, problems


def target_label(target: str, views: list[View]) -> str:
    if target.startswith(VIEW_PREFIX):
        vid = target[len(VIEW_PREFIX):]
        return next((v.name for v in views if v.id == vid), vid)
    return REGISTRY[target].title if target in REGISTRY else target


class SequencePrompt(ModalScreen[str | None]):
    """Waits for the second key of a sequence; dismisses with its target (None: timed out or Escape)."""

    DEFAULT_CSS = "SequencePrompt { background: transparent; }"

    def __init__(self, options: dict[str, str]) -> None:
        super().__init__(id="sequence-prompt")
        self.options = options

    def on_mount(self) -> None:
        self.set_timer(TIMEOUT, lambda: self._done(None))

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key in self.options:
            self._done(self.options[event.key])
        else:
            self._done(None if event.key == "escape" else KEY_PREFIX + event.key)

    def _done(self, target: str | None) -> None:
        if self.is_current:
            self.dismiss(target)
