"""The composer: a reply (on the conversation's own channel) or an internal note.

ctrl+s queues the text through ``app.perform("reply"|"note", …)`` — the outbox
does the sending; Esc closes the composer and keeps the draft. Drafts are saved
through the ``save_draft`` action a moment after typing stops and restored when
the conversation is opened again, so they survive a restart. A channel with a
length limit (Mastodon, Bluesky) shows a counter and refuses an over-long reply.
"""

from __future__ import annotations

import json
import sqlite3

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static, TextArea

from console import limits
from console.cache import queries
from console.cache.customer_record import pending_refund
from widgets.host import Host
from widgets.keys import RegistryBindings
from widgets.render import money, safe_line

DRAFT_SAVE_DELAY = 0.6  # seconds after the last keystroke

# Composer kinds and the action that queues each. "private" answers a public post with a
# direct message (offered only where the account can: the ``move_private`` capability).
SEND_ACTION = {"reply": "reply", "private": "move_private", "note": "note"}
KIND_ORDER = ("reply", "private", "note")


def allowed_kinds(db: sqlite3.Connection, thread_row: sqlite3.Row) -> tuple[str, ...]:
    """reply and note always; private where the account says it can move a public post to a direct message."""
    caps = queries.account_capabilities(db, thread_row["account"])
    return KIND_ORDER if "move_private" in caps else ("reply", "note")


class ComposerTextArea(TextArea):
    """The editing box. ctrl+k belongs to the composer (insert suggestion), not to line deletion."""

    BINDINGS = [Binding("ctrl+shift+k", "delete_line", "Delete line", show=False)]


class Composer(RegistryBindings, Widget):
    """Reply or note editor for one conversation. Lives inside the ConversationPane."""

    DEFAULT_CSS = """
    Composer { height: auto; max-height: 60%; border-top: heavy $accent; padding: 0 0; }
    Composer.-note { border-top: heavy $warning; }
    Composer #composer-mode { padding: 0 1; text-style: bold; }
    Composer.-reply #composer-mode { background: $accent 30%; }
    Composer.-note #composer-mode { background: $warning 30%; }
    Composer ComposerTextArea { height: auto; min-height: 4; max-height: 16; }
    Composer #composer-status { padding: 0 1; color: $text-muted; }
    Composer #composer-status.-over { color: $error; text-style: bold; }
    """

    BINDINGS = [Binding("escape", "close_composer", "Close (keeps draft)", id="close_composer")]

    kind: reactive[str] = reactive("reply")

    class Sent(Message):
        """A reply or note was queued (the pane reloads and closes the composer)."""

        def __init__(self, thread_id: int, kind: str) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.kind = kind

    class Closed(Message):
        """Esc: the composer wants to close; the draft is already saved."""

    class SuggestionWanted(Message):
        """ctrl+k: the pane inserts its selected suggested article."""

    def __init__(self, host: Host, *, id: str | None = "composer") -> None:
        super().__init__(id=id)
        self.host = host
        self.thread_id: int | None = None
        self.thread_row: sqlite3.Row | None = None
        self._saved_text = ""
        self._save_timer = None
        self._loading = False
        self._limit: limits.ReplyLimit | None = None
        self._kinds: tuple[str, ...] = ("reply", "note")
        self._typed = ""  # the text as of the last change (kept for saving on exit)

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="composer-mode")
        yield ComposerTextArea(id="composer-text", soft_wrap=True, tab_behavior="focus",
                               placeholder="Write here · ctrl+s send · Esc close (the draft is kept)")
        yield Static(Text(""), id="composer-status")

    # ------------------------------------------------------------------ state

    @property
    def text_area(self) -> ComposerTextArea:
        return self.query_one(ComposerTextArea)

    @property
    def text(self) -> str:
        return self.text_area.text

    def start(self, thread_row: sqlite3.Row, kind: str) -> None:
        """Open for ``thread_row`` in ``kind`` mode, restoring its saved draft."""
        self.thread_row = thread_row
        self.thread_id = thread_row["id"]
        db = self.host.db
        draft = queries.draft(db, self.thread_id)
        text = draft["text"] if draft else ""
        self._saved_text = text
        self._kinds = allowed_kinds(db, thread_row)
        self.kind = kind if kind in self._kinds else "reply"
        self._limit = limits.reply_limit(db, thread_row, self.kind)
        self._load(text)
        self._show_mode()
        self._update_status()
        area = self.text_area
        area.move_cursor(area.document.end)
        area.focus()

    def _load(self, text: str) -> None:
        self._loading = True
        try:
            self.text_area.load_text(text)
        finally:
            self._loading = False

    def insert_text(self, text: str) -> None:
        """Insert at the cursor (macros, articles) and save the draft soon."""
        area = self.text_area
        area.insert(text)
        area.focus()
        self._schedule_save()

    def watch_kind(self, kind: str) -> None:
        self.set_class(kind in ("reply", "private"), "-reply")
        self.set_class(kind == "note", "-note")

    def action_switch_compose_mode(self) -> None:
        """Cycle reply → private reply (where the channel has one) → note; the text stays."""
        if self.thread_row is None:
            return
        kinds = self._kinds
        new = kinds[(kinds.index(self.kind) + 1) % len(kinds)] if self.kind in kinds else "reply"
        self.kind = new
        self._limit = limits.reply_limit(self.host.db, self.thread_row, new)
        self._saved_text = None  # the draft's kind changed: save it again
        self._show_mode()
        self._update_status()
        self._schedule_save()

    def _show_mode(self) -> None:
        t = self.thread_row
        line = Text()
        if self.kind == "note":
            line.append("NOTE (internal) ", style="bold")
            line.append("— only agents see this; it is never sent to the customer")
        else:
            if self.kind == "private":
                line.append("PRIVATE REPLY ", style="bold")
                line.append("→ a direct message, not a public answer, via ")
            else:
                line.append("REPLY ", style="bold")
                line.append(f"→ {t['channel']}")
                if t["channel_detail"]:
                    line.append(" (")
                    line.append_text(safe_line(t["channel_detail"]))
                    line.append(")")
                line.append(" via ")
            line.append_text(safe_line(t["account"]))
            who = t["customer_address"] or t["customer_name"]
            if who:
                line.append(" to ")
                line.append_text(safe_line(who))
        self.query_one("#composer-mode", Static).update(line)

    def _update_status(self) -> None:
        status = self.query_one("#composer-status", Static)
        text = self.text
        parts = Text()
        over = False
        if self._limit is not None:
            cut = self._limit.over(text)
            over = cut > 0
            parts.append(f"{self._limit.count(text)}/{self._limit.characters}")
            if over:
                parts.append(f" — {cut} over the channel's limit, shorten it")
            parts.append("  ·  ")
        else:
            parts.append(f"{len(text)} chars  ·  ")
        parts.append(f"{self.host.key_label('send')} send · {self.host.key_label('insert_suggestion')} article · ")
        if len(self._kinds) > 1:
            parts.append(f"{self.host.key_label('switch_compose_mode')} {'/'.join(self._kinds)} · ")
        parts.append("Esc close")
        if text and text == self._saved_text:
            parts.append(" · draft saved")
        parts.append_text(self._on_send())
        status.update(parts)
        status.set_class(over, "-over")

    def _on_send(self) -> Text:
        """What a macro put on the draft runs when it is sent: "on send: tag refund, close"."""
        out = Text()
        if self.thread_id is None:
            return out
        draft = queries.draft(self.host.db, self.thread_id)
        steps = [step["say"] for step in json.loads(draft["effects"] or "[]")] if draft is not None else []
        offered = pending_refund(self.host.db, self.thread_id)
        if not steps and offered is None:
            return out
        out.append("\non send: ", style="bold")
        out.append_text(safe_line(", ".join(steps), style="bold"))
        if offered is not None:
            out.append(f"{', ' if steps else ''}refund {money(offered['amount'], offered['currency'])} on ", style="bold")
            out.append_text(safe_line(offered["charge"], style="bold"))
        return out

    # ------------------------------------------------------------------ drafts

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._typed = event.text_area.text
        if self._loading:
            return
        self._update_status()
        self._schedule_save()

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._on_screen_change)

    def on_unmount(self) -> None:
        """Quitting with the composer open keeps the last words typed (straight through the gate:
        the screen is going away, so no notices)."""
        self._cancel_save()
        text = self._typed  # the text box is already gone
        if self.thread_id is None or self.host.read_only or text == self._saved_text:
            return
        try:
            self.host.perform("save_draft", self.thread_id, text=text, kind=self.kind)
        except Exception:  # noqa: BLE001  (the cache may already be closed; nothing to tell anyone)
            pass

    def _on_screen_change(self, screen) -> None:
        if screen is not self.screen:
            self._save_if_changed()

    def on_descendant_blur(self, event) -> None:
        self._save_if_changed()

    def _save_if_changed(self) -> None:
        """Leaving the box (a chooser, the palette, another pane) saves at once: a macro or a
        restart then starts from every character typed."""
        if self.thread_id is not None and self.text != self._saved_text:
            self.save_draft()

    def _schedule_save(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(DRAFT_SAVE_DELAY, self.save_draft)

    def _cancel_save(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None

    def save_draft(self) -> bool:
        """Write the draft now if it changed (``save_draft`` is one of the app's quiet actions)."""
        self._cancel_save()
        if self.thread_id is None or self.host.read_only:
            return False
        text = self.text
        if text == self._saved_text:
            return True
        result = self.host.perform("save_draft", self.thread_id, text=text, kind=self.kind)  # quiet unless it fails
        if result.ok:
            self._saved_text = text
            self._update_status()
        return result.ok

    # ------------------------------------------------------------------ actions

    def action_send(self) -> None:
        if self.thread_id is None:
            return
        text = self.text
        if not text.strip():
            what = {"note": "note", "private": "private reply"}.get(self.kind, "reply")
            self.notify(f"The {what} is empty — write something first", severity="warning")
            return
        self._cancel_save()
        result = self.host.perform(SEND_ACTION.get(self.kind, "reply"), self.thread_id, text=text)
        if not result.ok:
            return  # perform already said why; the text stays in the composer
        self._saved_text = ""
        self._load("")
        self.post_message(self.Sent(self.thread_id, self.kind))

    def action_close_composer(self) -> None:
        self.save_draft()
        self.post_message(self.Closed())

    def action_insert_suggestion(self) -> None:
        self.post_message(self.SuggestionWanted())
