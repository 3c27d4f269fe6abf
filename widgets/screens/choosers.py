"""Modal choosers: each ``dismiss(value)`` on a choice, ``dismiss(None)`` on Esc.

They only choose; the caller carries the choice out through ``app.perform``.
Every label built from data is a ``rich.text.Text`` (never markup).
"""

from __future__ import annotations

import sqlite3

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from console.cache import queries
from providers.records import PRIORITIES
from widgets.render import identity_label, safe_line

CHOOSER_CSS = """
ChooserScreen {
    align: center middle;
}
.chooser-box {
    width: 64;
    max-width: 95%;
    height: auto;
    max-height: 90%;
    border: round $accent;
    background: $panel;
    padding: 0 1;
}
.chooser-title { text-style: bold; margin-bottom: 1; }
.chooser-hint { color: $text-muted; margin-top: 1; }
.chooser-error { color: $error; }
.chooser-box OptionList, .chooser-box SelectionList { height: auto; max-height: 14; }
"""


class ChooserScreen(ModalScreen):
    """A titled box with Esc to cancel; subclasses fill the body."""

    DEFAULT_CSS = CHOOSER_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]
    TITLE_TEXT = ""
    HINT = "Enter choose · Esc cancel"

    def compose(self) -> ComposeResult:
        with Vertical(classes="chooser-box"):
            yield Static(Text(self.TITLE_TEXT), classes="chooser-title")
            yield from self.body()
            yield Static(Text(""), classes="chooser-error", id="chooser-error")
            yield Static(Text(self.HINT), classes="chooser-hint")

    def body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        self.query_one("#chooser-error", Static).update(Text(message))

    # Arrow keys typed in a filter box move the list below it.
    def _list(self) -> OptionList | None:
        found = self.query(OptionList)
        return found.first() if found else None

    def action_list_down(self) -> None:
        if (lst := self._list()) is not None:
            lst.action_cursor_down()

    def action_list_up(self) -> None:
        if (lst := self._list()) is not None:
            lst.action_cursor_up()


class _FilterInput(Input):
    """An Input whose up/down move the chooser's list."""

    BINDINGS = [Binding("down", "screen.list_down", show=False), Binding("up", "screen.list_up", show=False)]

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("select_on_focus", False)  # a letter typed in the list must not be replaced
        super().__init__(*args, **kwargs)


def _chosen(option_list: OptionList) -> str | None:
    index = option_list.highlighted
    if index is None:
        return None
    return option_list.get_option_at_index(index).id


# --------------------------------------------------------------------------- snooze

SNOOZE_PRESETS = [
    ("1h", "In 1 hour"),
    ("4h", "In 4 hours"),
    ("tomorrow", "Tomorrow morning (09:00)"),
    ("monday", "Next Monday (09:00)"),
    ("1w", "In a week"),
]


class SnoozeChooser(ChooserScreen):
    """Choose when a snoozed conversation comes back → '2h', 'tomorrow', an ISO time…"""

    TITLE_TEXT = "Snooze until…"
    HINT = "Enter choose · or type 30m, 3d, friday, 2026-12-01T09:00 · Esc cancel"

    def body(self) -> ComposeResult:
        yield OptionList(*[Option(Text(label), id=value) for value, label in SNOOZE_PRESETS], id="snooze-options")
        yield _FilterInput(placeholder="or type a time: 30m, 3d, friday, 2026-12-01T09:00", id="snooze-input")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            chosen = _chosen(self.query_one(OptionList))
            if chosen:
                self.dismiss(chosen)
            return
        from console.actions.domain import parse_when

        try:
            parse_when(value)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(value)


# --------------------------------------------------------------------------- assign


class AssignChooser(ChooserScreen):
    """Choose who owns the conversation → an agent's name or "nobody"."""

    TITLE_TEXT = "Assign to…"
    HINT = "Enter choose · type another name and Enter · Esc cancel"

    def __init__(self, agents: list[str], me: str) -> None:
        super().__init__()
        self.me = me
        self.agents = [a for a in dict.fromkeys(agents) if a and a != me]

    def body(self) -> ComposeResult:
        options = [Option(Text(f"me ({self.me})"), id=f"agent:{self.me}")]
        options += [Option(safe_line(name), id=f"agent:{name}") for name in self.agents]
        options.append(Option(Text("nobody (unassign)"), id="nobody"))
        yield OptionList(*options, id="assign-options")
        yield _FilterInput(placeholder="or type a name", id="assign-input")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0
        self.query_one(OptionList).focus()

    def _value(self, option_id: str | None) -> str | None:
        if option_id is None:
            return None
        return "nobody" if option_id == "nobody" else option_id.removeprefix("agent:")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._value(event.option.id))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = " ".join(event.value.split())
        self.dismiss(name if name else self._value(_chosen(self.query_one(OptionList))))


# --------------------------------------------------------------------------- tags


def _split_tags(text: str) -> list[str]:
    return [t.strip().lower() for t in text.replace(",", " ").split() if t.strip()]


class TagChooser(ChooserScreen):
    """Tick tags on or off, or type new ones → {"add": [...], "remove": [...]} (None if nothing changed)."""

    TITLE_TEXT = "Tags"
    HINT = "Space tick/untick · type new tags, Enter apply · ctrl+s apply · Esc cancel"
    BINDINGS = [Binding("ctrl+s", "apply", "Apply", show=False)]

    def __init__(self, current: list[str], known: list[str]) -> None:
        super().__init__()
        self.current = sorted(dict.fromkeys(t.lower() for t in current))
        self.known = sorted(dict.fromkeys(t.lower() for t in [*current, *known]))

    def body(self) -> ComposeResult:
        yield SelectionList(*[Selection(safe_line(tag), tag, tag in self.current) for tag in self.known],
                            id="tag-options")
        yield _FilterInput(placeholder="new tags, separated by spaces or commas", id="tag-input")

    def on_mount(self) -> None:
        if self.known:
            self.query_one(SelectionList).focus()
        else:
            self.query_one(Input).focus()

    def on_key(self, event) -> None:
        """Typing a letter in the list starts a new tag in the box below."""
        if (event.character and event.is_printable and not event.character.isspace()
                and isinstance(self.focused, SelectionList)):
            box = self.query_one(Input)
            box.focus()
            box.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    def result(self) -> dict[str, list[str]] | None:
        ticked = set(self.query_one(SelectionList).selected)
        typed = _split_tags(self.query_one(Input).value)
        add = sorted((ticked | set(typed)) - set(self.current))
        remove = sorted(set(self.current) - ticked - set(typed))
        return {"add": add, "remove": remove} if add or remove else None

    def action_apply(self) -> None:
        self.dismiss(self.result())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()


# --------------------------------------------------------------------------- priority


class PriorityChooser(ChooserScreen):
    """Choose a priority → 0 (low) .. 3 (urgent); digits 0-3 choose at once."""

    TITLE_TEXT = "Priority"
    HINT = "Enter or 0-3 choose · Esc cancel"
    BINDINGS = [Binding(str(n), f"pick({n})", show=False) for n in PRIORITIES]

    def __init__(self, current: int) -> None:
        super().__init__()
        self.current = current if current in PRIORITIES else 1

    def body(self) -> ComposeResult:
        yield OptionList(*[
            Option(Text(f"{n}  {name}" + ("   (current)" if n == self.current else "")), id=str(n))
            for n, name in sorted(PRIORITIES.items())
        ], id="priority-options")

    def on_mount(self) -> None:
        lst = self.query_one(OptionList)
        lst.highlighted = sorted(PRIORITIES).index(self.current)
        lst.focus()

    def action_pick(self, level: int) -> None:
        self.dismiss(int(level))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id))


class FilteredChooser(ChooserScreen):
    """A filter box over an option list: typing refills it (``_fill``), Enter or a click picks (``_pick``)."""

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, words: str) -> None:
        raise NotImplementedError

    def _pick(self, option_id: str | None) -> None:
        raise NotImplementedError

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._pick(_chosen(self.query_one(OptionList)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(event.option.id)


# --------------------------------------------------------------------------- macros


class MacroChooser(FilteredChooser):
    """Pick a macro by name; typing filters the list → the macro's name."""

    TITLE_TEXT = "Insert a macro"
    HINT = "type to filter · ↑↓ move · Enter insert · Esc cancel"

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = list(names)

    def body(self) -> ComposeResult:
        yield _FilterInput(placeholder="filter macros", id="macro-input")
        yield OptionList(id="macro-options")

    def _fill(self, words: str) -> None:
        lst = self.query_one(OptionList)
        lst.clear_options()
        needles = words.lower().split()
        matches = [n for n in self.names if all(w in n.lower() for w in needles)]
        lst.add_options([Option(safe_line(n), id=f"m{i}") for i, n in enumerate(matches)])
        self._matches = matches
        if matches:
            lst.highlighted = 0
        self.show_error("" if matches or not self.names else "no macro matches — change the filter")
        if not self.names:
            self.show_error("no macros yet — add [[macros]] to config.toml")

    def _pick(self, option_id: str | None) -> None:
        if option_id is None:
            return
        self.dismiss(self._matches[int(option_id[1:])])



# --------------------------------------------------------------------------- link identities


class LinkChooser(FilteredChooser):
    """Find an identity (on another customer) to link to ``customer_id`` → (identity_id, customer_id)."""

    TITLE_TEXT = "Link an identity to this customer"
    HINT = "type a name, address or handle · ↑↓ move · Enter link · Esc cancel"

    def __init__(self, db: sqlite3.Connection, customer_id: int) -> None:
        super().__init__()
        self.db = db
        self.customer_id = customer_id

    def body(self) -> ComposeResult:
        yield _FilterInput(placeholder="search identities", id="link-input")
        yield OptionList(id="link-options")

    def _fill(self, words: str) -> None:
        lst = self.query_one(OptionList)
        lst.clear_options()
        rows = queries.identity_candidates(self.db, words, exclude_customer_id=self.customer_id, limit=50)
        for r in rows:
            label = identity_label(r)
            label.append(" — now with ", style="dim")
            label.append_text(safe_line(r["customer_name"] or f"customer {r['customer_id']}", style="dim"))
            lst.add_option(Option(label, id=f"i{r['id']}"))
        if rows:
            lst.highlighted = 0
        self.show_error("" if rows else "no other identity matches — try part of a name or address")

    def _pick(self, option_id: str | None) -> None:
        if option_id is not None:
            self.dismiss((int(option_id[1:]), self.customer_id))



# --------------------------------------------------------------------------- one line of text


class TextPrompt(ChooserScreen):
    """Ask for one line of text (e.g. a customer note) → the text, or None."""

    HINT = "Enter save · Esc cancel"

    def __init__(self, title: str, placeholder: str = "") -> None:
        super().__init__()
        self.TITLE_TEXT = title
        self.placeholder = placeholder

    def body(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.show_error("write something first, or Esc to cancel")
            return
        self.dismiss(text)
