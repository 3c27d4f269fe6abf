"""Undo on the main screen: one key (``undo``, ctrl+z unless ``[keymap]`` says otherwise).

Within a reply's undo-send window the key cancels that reply (the status bar counts the
window down: "sending in 8 s — ctrl+z cancels"); otherwise it undoes the agent's last
change. The toast after an undoable change offers the key for as long as undo works.
"""

from __future__ import annotations

from console.actions.undo import UNDO_SECONDS
from console.cache import queries

# What `undo` can take back (console.actions.history keeps their before-state).
UNDOABLE = frozenset({"close", "reopen", "snooze", "tag", "assign", "priority", "bulk", "merge_conversations",
                      "split_message"})


def undo_hint(action_id: str, message: str, key: str) -> str:
    """' — ctrl+z to undo' after a change that can be undone ('' otherwise: nothing changed)."""
    if action_id not in UNDOABLE or message.startswith("already"):
        return ""
    return f" — {key} to undo"


def hint_timeout(hint: str) -> float:
    """A toast that offers undo stays exactly as long as the undo works."""
    return UNDO_SECONDS if hint else 3.0


class UndoKey:
    """Mixin for the main screen (before its registry actions): ``action_undo``."""

    def action_undo(self) -> None:
        host = self.host
        waiting = queries.waiting_sends(host.db, host.now(), host.config.agent_name)
        if waiting:
            send = waiting[0]
            host.perform("cancel_send", send["thread_id"], outbox_id=send["outbox_id"])
        else:
            host.perform("undo", self.settle())
        self.update_status()
