"""Merge, split and unmerge on the main screen: a chooser, a confirmation, then the gate.

- merge (``M``): pick one of the customer's other conversations, on any channel; it joins
  the current one (its messages show here, each reply still goes out on the channel of
  the message it answers);
- split (``B``): pick a message of the current conversation; it becomes a conversation
  of its own;
- unmerge (``O``): take a conversation merged into this one out again.

Each moves messages between conversations, so each asks first (y / n). The choosers only
choose; :class:`widgets.merge_actions.MergeActions` carries the choice out through
``host.perform`` (read-only refuses before anything opens). Every label built from data
is literal ``Text``.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from widgets.render import CHANNEL_MARKS, relative_time, safe_line
from widgets.screens.choosers import ChooserScreen


def conversation_label(row, now: float) -> Text:
    """'✉ email   open     Where is my parcel  · 2h ago' (the subject literal)."""
    label = Text(f"{CHANNEL_MARKS.get(row['channel'], '·')} {row['channel']:<7} {row['status']:<8} ")
    label.append_text(safe_line(row["subject"] or "(no subject)"))
    label.append(f"  · {relative_time(row['last_message_at'], now)}", style="dim")
    return label


def named(row) -> Text:
    """“Subject” (channel), for questions and toasts."""
    text = Text("“")
    text.append_text(safe_line(row["subject"] or "(no subject)"))
    text.append(f"” ({row['channel']})")
    return text


class _PickOne(ChooserScreen):
    """A list of options whose ids are a letter and a database id; Enter → that id."""

    HINT = "↑↓ move · Enter choose · Esc cancel"

    def on_mount(self) -> None:
        lst = self.query_one(OptionList)
        lst.highlighted = 0
        lst.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id[1:]))


class ConversationChooser(_PickOne):
    """Pick one conversation from ``rows`` → its id."""

    def __init__(self, title: str, rows: list, now: float) -> None:
        super().__init__()
        self.TITLE_TEXT = title
        self.rows = rows
        self.now = now

    def body(self) -> ComposeResult:
        yield OptionList(*[Option(conversation_label(r, self.now), id=f"t{r['id']}") for r in self.rows],
                         id="merge-options")


class MessageChooser(_PickOne):
    """Pick one message of a conversation (newest first) → its id."""

    TITLE_TEXT = "Split which message out into a new conversation?"

    def __init__(self, messages: list, now: float) -> None:
        super().__init__()
        self.messages = messages
        self.now = now

    def body(self) -> ComposeResult:
        options = []
        for m in self.messages:
            who = {"inbound": "customer", "outbound": "agent", "note": "note"}.get(m["direction"], m["direction"])
            label = Text(f"{who:<8} {relative_time(m['sent_at'], self.now):>8}  ", style="dim")
            label.append_text(safe_line(" ".join((m["text"] or "").split())[:70]))
            options.append(Option(label, id=f"m{m['id']}"))
        yield OptionList(*options, id="split-options")


class ConfirmScreen(ModalScreen[bool]):
    """A yes / no question about moving data: y or Enter does it, n or Esc does not."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; max-width: 95%; height: auto; border: thick $warning;
                               background: $surface; padding: 1 2; }
    ConfirmScreen #confirm-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("y,enter", "yes", "Yes", show=False), Binding("n,escape", "no", "No", show=False)]

    def __init__(self, question: Text, yes: str) -> None:
        super().__init__(id="merge-confirm")
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="confirm-question")
            yield Static(Text(f"y / Enter: {self.yes} · n / Esc: leave it as it is"), id="confirm-hint")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
