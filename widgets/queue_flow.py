"""Send and next: after an action that finishes a conversation, the next one in the queue opens.

As Front's auto-advance and mutt's ``resolve`` do: after a reply, a close or a snooze
(and an assignment that takes the conversation out of the view) the cursor stays at
the agent's place in the queue and the conversation that was next there opens,
wherever the finished one goes (out of the view, or down the list once its due time
is gone). When the last row leaves, the previous one opens. ``[ui] auto_advance =
false`` turns it off: the cursor then stays on the conversation where it can.
"""

from __future__ import annotations

from dataclasses import dataclass

FINISHING = frozenset({"reply", "move_private", "close", "snooze"})  # the agent is done with it for now
LEAVING = frozenset({"assign"})  # the next one opens only if the conversation left the view


@dataclass(frozen=True)
class Place:
    """Where the agent was in the queue when the action started."""

    action_id: str
    thread_id: int
    index: int
    next_id: int | None
    previous_id: int | None
    reading: bool  # the agent was in the conversation pane: the next conversation opens there too


def place_of(inbox, action_id: str, thread_id: int | None, *, reading: bool) -> Place | None:
    """The agent's place before ``action_id`` on ``thread_id`` (None: this action does not advance,
    or the conversation is not the one under the cursor)."""
    if action_id not in FINISHING | LEAVING or thread_id is None or inbox.current_thread_id != thread_id:
        return None
    after, before = inbox.row_at(inbox.cursor + 1), inbox.row_at(inbox.cursor - 1)
    return Place(action_id, thread_id, inbox.cursor, after.id if after else None, before.id if before else None,
                 reading)


def next_conversation(inbox, place: Place) -> int | None:
    """The conversation to open after the action (the view re-read first); None: stay."""
    inbox.reload()
    if place.action_id in LEAVING and inbox.contains(place.thread_id):
        return None
    for candidate in (place.next_id, place.previous_id):
        if candidate is not None and inbox.contains(candidate):
            return candidate
    row = inbox.row_at(min(place.index, inbox.total - 1))  # both neighbours went too: whatever is there now
    return row.id if row is not None and row.id != place.thread_id else None
