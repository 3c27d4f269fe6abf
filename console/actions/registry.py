"""Every action a person can take, in one registry.

The registry feeds the key bindings, the command palette, the help screen and the
``[keymap]`` table of config.toml. An action with a ``handler`` changes data and is
carried out by :func:`console.actions.perform`; one without is carried out by the UI
(moving the cursor, opening a screen). ``mutating`` actions are refused in read-only
mode by ``perform`` itself, whatever the UI shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Action:
    id: str
    description: str
    keys: tuple[str, ...] = ()
    mutating: bool = False
    context: str = "global"  # global | inbox | thread | composer | customer | dashboard
    needs_thread: bool = False
    handler: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    show_in_palette: bool = True

    @property
    def title(self) -> str:
        return self.id.replace("_", " ")


REGISTRY: dict[str, Action] = {}


def register(action: Action) -> Action:
    if action.id in REGISTRY and REGISTRY[action.id] is not action:
        existing = REGISTRY[action.id]
        if existing.handler is not None and action.handler is None:
            return existing
    REGISTRY[action.id] = action
    return action


def mutating_ids() -> list[str]:
    return sorted(a.id for a in REGISTRY.values() if a.mutating)


# UI-only actions: ids, keys and descriptions live here so every surface agrees.
_UI_ACTIONS = [
    Action("cursor_down", "Move down one conversation", ("j", "down"), context="inbox", show_in_palette=False),
    Action("cursor_up", "Move up one conversation", ("k", "up"), context="inbox", show_in_palette=False),
    Action("cursor_top", "Go to the first conversation", ("g,g", "home"), context="inbox"),
    Action("cursor_bottom", "Go to the last conversation", ("G", "end"), context="inbox"),
    Action("half_page_down", "Half a page down", ("ctrl+d", "pagedown"), context="inbox"),
    Action("half_page_up", "Half a page up", ("ctrl+u", "pageup"), context="inbox"),
    Action("open", "Open the selected conversation", ("enter",), context="inbox"),
    Action("toggle_mark", "Mark or unmark the conversation for a bulk action (then down one)", ("space", "x"),
           context="inbox"),
    Action("mark_all", "Mark every conversation in this view (again: clear the marks)", ("asterisk",),
           context="inbox"),
    Action("clear_marks", "Clear the marks", (), context="inbox"),
    Action("back", "Back / clear the marks / close the current panel (keeps drafts)", ("escape",)),
    Action("focus_next", "Focus the next pane", ("tab",), show_in_palette=False),
    Action("focus_previous", "Focus the previous pane", ("shift+tab",), show_in_palette=False),
    Action("search", "Search every channel", ("slash",)),
    Action("views", "Switch view", ("v",)),
    Action("toggle_customer", "Show or hide the customer pane", ("c",)),
    Action("help", "Show every key", ("question_mark", "f1")),
    Action("palette", "Command palette", ("colon", "ctrl+p")),
    Action("dashboard", "Supervisor dashboard", ("D",)),
    Action("quit", "Quit (asks first if drafts are unsent)", ("q",)),
    Action("compose_reply", "Reply to the customer on their channel", ("r",), context="thread", needs_thread=True, mutating=True),
    Action("compose_note", "Write an internal note", ("n",), context="thread", needs_thread=True, mutating=True),
    Action("choose_macro", "Insert a macro (canned reply)", ("m",), context="thread", needs_thread=True, mutating=True),
    Action("choose_snooze", "Snooze until…", ("s",), context="thread", needs_thread=True, mutating=True),
    Action("choose_assignee", "Assign to me or an agent", ("a",), context="thread", needs_thread=True, mutating=True),
    Action("choose_tags", "Add or remove tags", ("t",), context="thread", needs_thread=True, mutating=True),
    Action("choose_priority", "Set priority", ("p",), context="thread", needs_thread=True, mutating=True),
    Action("send", "Queue the reply or note for sending", ("ctrl+s",), context="composer", mutating=True),
    Action("insert_suggestion", "Insert the selected suggested article", ("ctrl+k",), context="composer", mutating=True),
    *[Action(f"suggestion_{n}", f"Insert suggested article {n} into the reply", (str(n),), context="thread",
             needs_thread=True, mutating=True) for n in (1, 2, 3)],
    Action("promises", "Show our published response-time promises", ()),
    Action("accounts_status", "Show each account's state, its last error and the fix", ("S",)),
    # Keys the conversation pane and the composer bind themselves (their own contexts).
    Action("toggle_quotes", "Show or fold quoted history in messages", ("z",), context="conversation"),
    Action("earlier_messages", "Show earlier messages of a long conversation", ("left_square_bracket",),
           context="conversation"),
    Action("switch_compose_mode", "Switch the composer: reply, private reply (social), internal note",
           ("ctrl+t",), context="composer"),
]
for _a in _UI_ACTIONS:
    register(_a)
