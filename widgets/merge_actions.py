"""Merge (``M``), split (``B``) and unmerge (``O``) on the main screen: a chooser, a
confirmation, then the write gate. The screens (:mod:`widgets.screens.merge`) load on
first use, so the first frame does not wait for them.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from console.cache import merged, queries
from widgets.render import safe_line


class MergeActions:
    """Mixin for the main screen (before its registry actions): merge, split, unmerge."""

    def _merge_target(self, action_id: str):
        """The current conversation's row, or None (refused in read-only mode, or none selected)."""
        if not self.host.allowed(action_id):
            return None
        tid = self._need_thread()
        return queries.thread(self.host.db, tid) if tid is not None else None

    def _ask(self, question: Text, yes: str, then: Callable[[], None]) -> None:
        from widgets.screens.merge import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question, yes), lambda ok: then() if ok else None)

    def action_merge_conversations(self) -> None:
        from widgets.screens import merge as screens

        here = self._merge_target("merge_conversations")
        if here is None:
            return
        others = merged.merge_candidates(self.host.db, here["id"])
        if not others:
            who = here["customer_name"] or here["customer_display"] or "This customer"
            self.notify(f"{who} has no other conversation to merge into this one", severity="warning",
                        markup=False)
            return
        undo_key = self.host.key_label("undo")

        def chosen(other_id: int | None) -> None:
            if other_id is None:
                return
            other = queries.thread(self.host.db, other_id)
            question = Text("Merge ").append_text(screens.named(other)).append(" into ")
            question.append_text(screens.named(here)).append(
                "?\nIts messages show in this conversation; each reply still goes out on the channel of the "
                f"message it answers. {undo_key} undoes it for a few seconds; unmerge (O) takes it out later.")
            self._ask(question, "merge",
                      lambda: self.host.perform("merge_conversations", here["id"], other=other_id))

        self.app.push_screen(screens.ConversationChooser(
            "Merge which conversation of this customer into this one?", others, self.host.now()), chosen)

    def action_split_message(self) -> None:
        from widgets.screens import merge as screens

        here = self._merge_target("split_message")
        if here is None:
            return
        messages, total = queries.messages_tail(self.host.db, here["id"], 50)
        if total < 2:
            self.notify("This conversation has one message — nothing to split it from", severity="warning",
                        markup=False)
            return

        def chosen(message_id: int | None) -> None:
            if message_id is None:
                return
            text = next((m["text"] for m in messages if m["id"] == message_id), "") or ""
            question = Text("Split this message out of ").append_text(screens.named(here)).append(
                " into a new conversation of the same customer?\n  “")
            question.append_text(safe_line(" ".join(text.split())[:120])).append("”")
            self._ask(question, "split",
                      lambda: self.host.perform("split_message", here["id"], message_id=message_id))

        self.app.push_screen(screens.MessageChooser(list(reversed(messages)), self.host.now()), chosen)

    def action_unmerge_conversation(self) -> None:
        from widgets.screens import merge as screens

        here = self._merge_target("unmerge_conversation")
        if here is None:
            return
        joined = [queries.thread(self.host.db, t) for t in merged.members(self.host.db, here["id"])[1:]]
        if not joined:
            self.notify("Nothing is merged into this conversation", severity="warning", markup=False)
            return

        def chosen(other_id: int | None) -> None:
            if other_id is None:
                return
            other = next(t for t in joined if t["id"] == other_id)
            question = Text("Take ").append_text(screens.named(other)).append(" out of ")
            question.append_text(screens.named(here)).append(
                "?\nIt becomes a conversation of its own again, with its own messages.")
            self._ask(question, "unmerge",
                      lambda: self.host.perform("unmerge_conversation", here["id"], other=other_id))

        if len(joined) == 1:
            chosen(joined[0]["id"])
        else:
            self.app.push_screen(screens.ConversationChooser("Take which conversation out of this one?", joined,
                                                             self.host.now()), chosen)
