"""Modal choosers: each ``dismiss(value)`` on a choice, ``dismiss(None)`` on Esc.

They only choose; the caller carries the choice out through ``app.perform``.
Every label built from data is a ``rich.text.Text`` (never markup).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

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
from widgets.render import identity_label, safe, safe_line

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
#macro-preview { border-top: dashed $accent; margin-top: 1; max-height: 10; }
#macro-options { max-height: 8; }
"""


class ChooserScreen(ModalScreen):
    """A titled box with Esc to cancel; subclasses fill the body."""

    DEFAULT_CSS = CHOOSER_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]
    TITLE_TEXT = ""
    # The title when the choice goes to several marked conversations: "Assign {n} conversations to…".
    MANY_TITLE = ""
    HINT = "Enter choose · Esc cancel"
    marked = 0  # how many marked conversations the choice will change (set by the screen opening it)

    def heading(self) -> str:
        return self.MANY_TITLE.format(n=self.marked) if self.marked > 1 and self.MANY_TITLE else self.TITLE_TEXT

    def compose(self) -> ComposeResult:
        with Vertical(classes="chooser-box"):
            yield Static(Text(self.heading()), classes="chooser-title")
            yield from self.body()
            yield Static(Text(""), classes="chooser-error", id="chooser-error")
            yield Static(Text(self.HINT), classes="chooser-hint")

    def body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        self.query_one("#chooser-error", Static).update(Text(message))

    # Arrow keys typed in a filter box move the list below it; after they have, Enter takes
    # the row chosen rather than what was typed (``_moved``; typing clears it).
    _moved = False

    def _list(self) -> OptionList | None:
        found = self.query(OptionList)
        return found.first() if found else None

    def action_list_down(self) -> None:
        if (lst := self._list()) is not None:
            lst.action_cursor_down()
            self._moved = True

    def action_list_up(self) -> None:
        if (lst := self._list()) is not None:
            lst.action_cursor_up()
            self._moved = True


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
    ("reply", "Until the customer replies"),
]


def _stamp(when: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(when).astimezone().strftime("%a %d %b %H:%M")


class SnoozeChooser(ChooserScreen):
    """Choose when a snoozed conversation comes back → what was typed ('3d', 'friday', 'tomorrow 9:00'),
    a preset, or 'reply' (until the customer replies). Typing goes to the box from the first key;
    Enter takes what was typed; a time it cannot read is said in the dialog, which stays open."""

    TITLE_TEXT = "Snooze until…"
    MANY_TITLE = "Snooze {n} conversations until…"
    HINT = "type 3d, friday, tomorrow 9:00 and Enter · or ↑↓ a choice and Enter · Esc cancel"

    def body(self) -> ComposeResult:
        yield _FilterInput(placeholder="a time: 3d, friday, tomorrow 9:00 — or pick below", id="snooze-input")
        yield Static(Text(""), id="snooze-means")
        yield OptionList(*[Option(Text(label), id=value) for value, label in SNOOZE_PRESETS], id="snooze-options")

    def on_mount(self) -> None:
        self._moved = False  # ↑↓ after typing: Enter takes the row chosen
        self.query_one(OptionList).highlighted = 0
        self.query_one(Input).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    @staticmethod
    def _read(value: str) -> tuple[str, str]:
        """(what to snooze until, what it means in words); ValueError with the accepted forms."""
        from console.actions.domain import UNTIL_REPLY
        from console.when import parse_when

        if value.lower() in (*UNTIL_REPLY, "until reply", "until the customer replies"):
            return "reply", "until the customer replies"
        when = parse_when(value)
        if when <= time.time():
            raise ValueError(f"{value!r} is in the past — pick a later time")
        return value, f"until {_stamp(when)}"

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        value = event.value.strip()
        self._moved = False
        self.show_error("")
        try:
            means = self._read(value)[1] if value else ""
        except ValueError:
            means = ""
        self.query_one("#snooze-means", Static).update(Text(f"→ {means}" if means else "", style="bold"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = " ".join(event.value.split())
        if not value or self._moved:
            chosen = _chosen(self.query_one(OptionList))
            if chosen:
                self.dismiss(chosen)
            return
        try:
            until, _ = self._read(value)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(until)


# --------------------------------------------------------------------------- matching what was typed


def _best(typed: str, choices: list[tuple[str, str]]) -> tuple[list[str], str | None]:
    """(the values whose words match what was typed, the one value Enter takes or None).

    ``choices`` are (value, the words it answers to). A choice matches when every typed word
    starts one of its words; Enter takes an exact match of the whole, else the only match."""
    needles = typed.lower().split()
    if not needles:
        return [v for v, _ in choices], None
    matches = []
    for value, words in choices:
        hay = words.lower().split()
        if all(any(h.startswith(n) for h in hay) for n in needles):
            matches.append(value)
    exact = [v for v, words in choices if " ".join(words.lower().split()) == " ".join(needles)
             or (words.lower().split() or [""])[0] == " ".join(needles)]
    if len(exact) == 1:
        return matches, exact[0]
    return matches, matches[0] if len(matches) == 1 else None


class TypedChooser(ChooserScreen):
    """A box over a list: typing filters the list, Enter takes the best match of what was typed
    (never silently the first row), ↑↓ then Enter takes the row chosen; no match says so."""

    WHAT = "choice"

    def choices(self) -> list[tuple[str, str, Text]]:  # (value, words it answers to, label)
        raise NotImplementedError

    def on_mount(self) -> None:
        self._moved = False
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, typed: str) -> None:
        lst = self.query_one(OptionList)
        lst.clear_options()
        labels = {value: label for value, _, label in self.choices()}
        matches, self._best = _best(typed, [(v, w) for v, w, _ in self.choices()])
        self._shown = matches
        lst.add_options([Option(labels[v], id=f"c{n}") for n, v in enumerate(matches)])
        if matches:
            lst.highlighted = matches.index(self._best) if self._best in matches else 0
        self._moved = False
        if typed.strip() and not matches:
            self.show_error(self.no_match(typed.strip()))
        else:
            self.show_error("")

    def no_match(self, typed: str) -> str:
        return f"no {self.WHAT} matches {typed!r}"

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._shown[int(event.option.id[1:])])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = " ".join(event.value.split())
        lst = self.query_one(OptionList)
        if not typed or self._moved:  # nothing typed, or a row chosen with the arrows
            if lst.highlighted is not None and self._shown:
                self.dismiss(self._shown[lst.highlighted])
            return
        if self._best is not None:
            self.dismiss(self._best)
        elif not self._shown:
            self.show_error(self.no_match(typed))
        else:
            names = ", ".join(self.word_of(v) for v in self._shown[:4]) + (" …" if len(self._shown) > 4 else "")
            self.show_error(f"{len(self._shown)} match {typed!r} ({names}) — type more, or ↓ and Enter")

    def word_of(self, value: str) -> str:
        return value


# --------------------------------------------------------------------------- assign


class AssignChooser(TypedChooser):
    """Choose who owns the conversation → an agent's name or "nobody". Typing ``Tom`` and Enter
    assigns Tom (first names and prefixes match); a name no agent has is said, never invented."""

    TITLE_TEXT = "Assign to…"
    MANY_TITLE = "Assign {n} conversations to…"
    HINT = "type a name and Enter · ↑↓ and Enter · Esc cancel"
    WHAT = "agent"

    def __init__(self, agents: list[str], me: str) -> None:
        super().__init__()
        self.me = me
        self.agents = [a for a in dict.fromkeys(agents) if a and a != me]

    def body(self) -> ComposeResult:
        yield _FilterInput(placeholder="an agent's name, me, or nobody", id="assign-input")
        yield OptionList(id="assign-options")

    def choices(self) -> list[tuple[str, str, Text]]:
        out = [(self.me, f"me {self.me}", Text(f"me ({self.me})"))]
        out += [(name, name, safe_line(name)) for name in self.agents]
        out.append(("nobody", "nobody unassign none", Text("nobody (unassign)")))
        return out

    def no_match(self, typed: str) -> str:
        return f"no agent called {typed!r} — the team is: " + ", ".join([self.me, *self.agents][:6])


# --------------------------------------------------------------------------- tags


def _split_tags(text: str) -> list[str]:
    return [t.strip().lower() for t in text.replace(",", " ").split() if t.strip()]


class TagChooser(ChooserScreen):
    """Tick tags on or off, or type new ones → {"add": [...], "remove": [...]} (None if nothing changed).

    Typing goes to the box from the first key and filters the list; Enter adds what was typed
    (a new tag is simply a new word) with the ticks; ↓ goes to the list, where Space ticks."""

    TITLE_TEXT = "Tags"
    MANY_TITLE = "Tags of {n} conversations"
    HINT = "type tags, Enter apply · ↓ list, Space tick/untick · ctrl+s apply · Esc cancel"
    BINDINGS = [Binding("ctrl+s", "apply", "Apply", show=False)]

    def __init__(self, current: list[str], known: list[str]) -> None:
        super().__init__()
        self.current = sorted(dict.fromkeys(t.lower() for t in current))
        self.known = sorted(dict.fromkeys(t.lower() for t in [*current, *known]))
        self.ticked = set(self.current)

    def body(self) -> ComposeResult:
        yield _FilterInput(placeholder="tags to add, separated by spaces or commas", id="tag-input")
        yield Static(Text(""), id="tag-means")
        yield SelectionList(*[Selection(safe_line(tag), tag, tag in self.current) for tag in self.known],
                            id="tag-options")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_list_down(self) -> None:
        lst = self.query_one(SelectionList)
        if lst.option_count:
            lst.focus()
            if lst.highlighted is None:
                lst.highlighted = 0

    def on_key(self, event) -> None:
        """Typing a letter in the list goes back to the box."""
        if (event.character and event.is_printable and not event.character.isspace()
                and isinstance(self.focused, SelectionList)):
            box = self.query_one(Input)
            box.focus()
            box.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    def _sync_ticks(self) -> set[str]:
        """The ticks, counting tags the filter hides now (kept as they were)."""
        lst = self.query_one(SelectionList)
        shown = {lst.get_option_at_index(i).value for i in range(lst.option_count)}
        self.ticked = (self.ticked - shown) | set(lst.selected)
        return self.ticked

    def on_selection_list_selection_toggled(self, event) -> None:
        self._sync_ticks()
        self._say()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        words = _split_tags(event.value)
        last = words[-1] if words and not event.value.endswith((" ", ",")) else ""
        self._sync_ticks()
        lst = self.query_one(SelectionList)
        shown = [t for t in self.known if not last or last in t]
        lst.clear_options()
        lst.add_options([Selection(safe_line(t), t, t in self.ticked) for t in shown])
        self._say()

    def _say(self) -> None:
        change = self.result()
        line = Text()
        if change:
            new = [t for t in change["add"] if t not in self.known]
            if change["add"]:
                line.append("Enter: + ", style="bold")
                line.append_text(safe_line(", ".join(change["add"])))
                if new:
                    line.append(f" ({'new tag' if len(new) == 1 else 'new tags'}: ", style="dim")
                    line.append_text(safe_line(", ".join(new), style="dim"))
                    line.append(")", style="dim")
            if change["remove"]:
                line.append("  − " if change["add"] else "Enter: − ", style="bold")
                line.append_text(safe_line(", ".join(change["remove"])))
        self.query_one("#tag-means", Static).update(line)

    def result(self) -> dict[str, list[str]] | None:
        ticked = self._sync_ticks()
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


class PriorityChooser(TypedChooser):
    """Choose a priority → 0 (low) .. 3 (urgent). A digit 0-3 chooses at once; typing ``hi`` and
    Enter takes high; a word that is no priority is said."""

    TITLE_TEXT = "Priority"
    MANY_TITLE = "Priority of {n} conversations"
    HINT = "type 0-3 or a name (urgent, high…) and Enter · ↑↓ and Enter · Esc cancel"
    WHAT = "priority"

    def __init__(self, current: int) -> None:
        super().__init__()
        self.current = current if current in PRIORITIES else 1

    def body(self) -> ComposeResult:
        yield _FilterInput(placeholder="0-3, low, normal, high or urgent", id="priority-input")
        yield OptionList(id="priority-options")

    def choices(self) -> list[tuple[str, str, Text]]:
        return [(str(n), f"{name} {n}", Text(f"{n}  {name}" + ("   (current)" if n == self.current else "")))
                for n, name in sorted(PRIORITIES.items())]

    def _fill(self, typed: str) -> None:
        super()._fill(typed)
        if not typed.strip() and not self._moved:
            self.query_one(OptionList).highlighted = sorted(PRIORITIES).index(self.current)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value.strip() in {str(n) for n in PRIORITIES}:
            self.dismiss(int(event.value.strip()))
            return
        self._fill(event.value)

    def no_match(self, typed: str) -> str:
        return f"no priority {typed!r} — use 0-3, low, normal, high or urgent"

    def word_of(self, value: str) -> str:
        return PRIORITIES[int(value)]

    def dismiss(self, result=None):
        return super().dismiss(int(result) if isinstance(result, str) else result)


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
    """Pick a macro by name; typing filters the list → the macro's name.

    With ``preview`` (name → :class:`console.macros.Preview`, or a UserError) the box shows the
    highlighted macro's text as it will read in this conversation, and its effects on send."""

    TITLE_TEXT = "Insert a macro"
    MANY_TITLE = "Insert a macro into {n} conversations"
    HINT = "type to filter · ↑↓ move · Enter puts it in the draft (nothing changes until you send) · Esc cancel"

    def __init__(self, names: list[str], preview: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        self.names = list(names)
        self.preview = preview
        self._matches: list[str] = []

    def body(self) -> ComposeResult:
        yield _FilterInput(placeholder="filter macros", id="macro-input")
        yield OptionList(id="macro-options")
        yield Static(Text(""), id="macro-preview")
        yield Static(Text(""), id="macro-effects")

    def _fill(self, words: str) -> None:
        lst = self.query_one(OptionList)
        lst.clear_options()
        needles = words.lower().split()
        matches = [n for n in self.names if all(w in n.lower() for w in needles)]
        self._matches = matches
        lst.add_options([Option(safe_line(n), id=f"m{i}") for i, n in enumerate(matches)])
        if matches:
            lst.highlighted = 0
        self.show_error("" if matches or not self.names else "no macro matches — change the filter")
        if not self.names:
            self.show_error("no macros yet — add [[macros]] to config.toml")
        self._show_preview(matches[0] if matches else None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id and event.option.id.startswith("m"):
            self._show_preview(self._matches[int(event.option.id[1:])])

    def _show_preview(self, name: str | None) -> None:
        from console.errors import UserError

        body, effects = Text(""), Text("")
        if name is not None and self.preview is not None:
            try:
                seen = self.preview(name)
            except (UserError, LookupError) as exc:
                body = Text(str(exc), style="italic")
            else:
                lines = seen.text.splitlines()
                body = safe("\n".join(lines[:PREVIEW_LINES]))  # shown as text, never markup
                if len(lines) > PREVIEW_LINES:
                    body.append(f"\n… {len(lines) - PREVIEW_LINES} more lines", style="dim")
                effects = Text(seen.on_send or "on send: the reply only", style="bold")
        self.query_one("#macro-preview", Static).update(body)
        self.query_one("#macro-effects", Static).update(effects)

    def _pick(self, option_id: str | None) -> None:
        if option_id is None:
            return
        self.dismiss(self._matches[int(option_id[1:])])


PREVIEW_LINES = 8


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


# --------------------------------------------------------------------------- a yes / no question


class ConfirmScreen(ChooserScreen):
    """Ask before a change whose two sides the agent should see (a link, an unlink) → True, or None.

    ``lines`` are ``Text`` (provider text already made inert by the caller)."""

    HINT = "y or Enter confirm · n or Esc cancel"
    BINDINGS = [Binding("y,enter", "confirm", "Confirm", show=False), Binding("n", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, lines: list[Text], confirm: str = "confirm") -> None:
        super().__init__()
        self.TITLE_TEXT = title
        self.lines = lines
        self.HINT = f"y or Enter {confirm} · n or Esc cancel"

    def body(self) -> ComposeResult:
        yield Static(Text("\n").join(self.lines), id="confirm-body")

    def action_confirm(self) -> None:
        self.dismiss(True)


def _side(label: str, side: dict) -> Text:
    """One customer of a link: name, identities, how many conversations."""
    out = Text(f"{label}: ", style="bold")
    out.append_text(safe_line(side["name"] or f"customer {side['id']}", style="bold"))
    count = side["conversations"]
    out.append(f" · {count} conversation{'s' * (count != 1)} · {len(side['identities'])} "
               f"identit{'y' if len(side['identities']) == 1 else 'ies'}", style="dim")
    for ident in side["identities"][:4]:
        out.append("\n   ")
        out.append_text(safe_line(ident))
    if len(side["identities"]) > 4:
        out.append(f"\n   … {len(side['identities']) - 4} more", style="dim")
    return out


def link_question(preview: dict) -> ConfirmScreen:
    """"Link X to Alice?" showing both customers (from ``console.identity.link_preview``)."""
    ident = preview["identity"]
    what = Text("Move ")
    what.append_text(safe_line(f"{ident['channel']} {ident['address']}", style="bold"))
    what.append(" and its conversations")
    lines = [what, _side("from", preview["from"]), _side("to", preview["to"])]
    if preview["empties_from"]:
        lines.append(Text("It is the only identity of the first customer, who is folded into the second. "
                          "U undoes the link.", style="italic"))
    else:
        lines.append(Text("U undoes the link.", style="italic"))
    return ConfirmScreen("Link this identity?", lines, confirm="link")


def unlink_question(identity_row, customer_name: str, back_to: str) -> ConfirmScreen:
    """"Unlink X from Alice? It goes back to Bob.\""""
    what = Text("Take ")
    what.append_text(safe_line(f"{identity_row['channel']} {identity_row['address']}", style="bold"))
    what.append(" and its conversations away from ")
    what.append_text(safe_line(customer_name, style="bold"))
    where = Text("It goes back to ")
    where.append_text(safe_line(back_to, style="bold"))
    return ConfirmScreen("Unlink this identity?", [what, where], confirm="unlink")
