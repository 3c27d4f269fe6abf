"""The conversation pane: header, messages, suggested articles, and the composer.

Messages are drawn as one pre-wrapped ``Text`` in a line-by-line view
(:mod:`widgets.text_view`: a new conversation repaints the pane, never lays out the
screen; only the newest ``PAGE`` are read and drawn; ``[`` shows earlier ones; each message's lines
are cached), so a conversation with thousands of messages opens as fast as a short
one and no widget is built per message. Inbound, outbound and internal notes
differ in indentation, gutter glyph, colour AND a text label, so they read apart
without colour. All provider text is shown as ``rich.text.Text`` (see
:mod:`widgets.render`), never as markup.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console import claims, knowledge, sla
from console.cache import queries
from providers.records import PRIORITIES
from widgets.composer import SEND_ACTION, Composer
from widgets.host import Host
from widgets.steady import SteadyStatic
from widgets.text_view import TextView
from widgets.keys import RegistryBindings
from widgets.presence import presence_line
from widgets.render import (
    CHANNEL_LABELS,
    CHANNEL_MARKS,
    attachment_lines,
    clock,
    followers,
    json_field,
    message_body,
    meta_marks,
    relative_time,
    safe_line,
)


PAGE = 30  # messages drawn at once (more than a screen holds); "[" draws PAGE more

# label, label style, gutter glyph, gutter style, (left, right) indent: inbound sits left, our
# replies sit right, notes in the middle — and each has its own label and gutter glyph.
DIRECTION_STYLE = {
    "inbound": ("◀ CUSTOMER", "bold cyan", "▌", "cyan", (0, 8)),
    "outbound": ("AGENT ▶", "bold green", "┃", "green", (8, 0)),
    "note": ("✎ INTERNAL NOTE", "bold black on yellow", "┆", "yellow", (4, 4)),
}

# Only used to measure and wrap text (cell widths); it never writes anywhere.
_MEASURE = Console(file=io.StringIO(), width=200, color_system=None, legacy_windows=False)


def outbox_line(m: sqlite3.Row, retry_key: str, now: float) -> Text | None:
    """What happened to our own message: queued, sending, sent, held, failed (with the reason)."""
    state = m["outbox_state"] or m["state"]
    direction = m["direction"]
    if direction == "inbound":
        return None
    if direction == "note" and state in ("local", "queued", "sending", "sent", "received", None):
        return Text("internal — never sent to the customer", style="dim")
    if state == "queued":
        if m["outbox_error"]:  # a transient failure: the dispatcher tries again by itself
            line = Text("⏳ queued — last try failed: ", style="yellow")
            line.append_text(safe_line(m["outbox_error"], style="yellow"))
            next_try = m["outbox_next_try"] or 0
            line.append(f"; next try in {sla.short_duration(next_try - now)}" if next_try > now else "; trying again soon",
                        style="yellow")
            return line
        if (m["outbox_next_try"] or 0) > now:  # waiting out the undo-send window: when, as a clock time
            at = datetime.fromtimestamp(m["outbox_next_try"]).strftime("%H:%M:%S")
            return Text(f"⏳ queued — sends at {at} unless cancelled", style="yellow")
        return Text("⏳ queued for sending", style="yellow")
    if state == "sending":
        return Text("↻ sending…", style="yellow")
    if state in ("sent", "received"):
        return Text("✓ sent", style="green") if m["outbox_id"] or state == "sent" else None
    if state == "held":
        return Text(f"⏸ held: the customer wrote again — review and send again with {retry_key}",
                    style="bold magenta")
    if state == "failed":
        line = Text("✗ failed", style="bold red")
        if m["outbox_error"]:
            line.append(": ")
            line.append_text(safe_line(m["outbox_error"], style="red"))
        line.append(f" — press {retry_key} to retry", style="bold")
        return line
    return Text(str(state), style="dim")


def render_message(m: sqlite3.Row, *, expanded: bool, now: float, retry_key: str, fold_key: str,
                   width: int = 100) -> Text:
    """One message as pre-wrapped lines with its gutter: cheap to lay out, even by the hundred."""
    direction = m["direction"] if m["direction"] in DIRECTION_STYLE else "inbound"
    label, label_style, gutter, gutter_style, (left, right) = DIRECTION_STYLE[direction]
    if width < 90:  # narrow panes: keep the sides apart with less space lost
        cap = 4 if width >= 50 else 2
        left, right = min(left, cap), min(right, cap)
    meta = json_field(m["meta"], {})
    head = Text()
    head.append(f" {label} ", style=label_style)
    head.append(" ")
    head.append_text(safe_line(m["author"] or "unknown", style="bold"))
    when = relative_time(m["sent_at"], now)
    stamp = clock(m["sent_at"]) if when[-4:].isdigit() else f"{clock(m['sent_at'])} ({when})"
    head.append(f" · {stamp}", style="dim")
    parts: list[Text] = [head]
    if meta.get("removed"):
        parts.append(Text("(removed by the sender)", style="dim italic"))
    else:
        parts.append(message_body(m["text"], expanded=expanded, fold_hint=f"{fold_key} to show"))
    for att in attachment_lines(json_field(m["attachments"], [])):
        parts.append(Text("📎 " + att, style="blue"))
    marks = [mk for mk in meta_marks(meta, m["kind"] or "") if mk != "removed by the sender"]
    if marks:
        parts.append(Text("⚑ " + " · ".join(marks), style="magenta"))
    state = outbox_line(m, retry_key, now)
    if state is not None:
        parts.append(state)
    inner = max(10, width - left - right - 2)
    out = Text()
    for part in parts:
        for line in part.wrap(_MEASURE, inner, overflow="fold"):
            out.append(" " * left)
            out.append(gutter, style=gutter_style)
            out.append(" ")
            out.append_text(line)
            out.append("\n")
    return out


class ConversationPane(RegistryBindings, Widget):
    """One conversation: who, what state, every message, and the composer."""

    DEFAULT_CSS = """
    ConversationPane { height: 1fr; width: 1fr; layout: vertical; }
    ConversationPane #conv-header { padding: 0 1; background: $boost; height: auto; }
    ConversationPane #conv-scroll { height: 1fr; }
    ConversationPane #conv-scroll:focus { background-tint: $foreground 3%; }
    ConversationPane #conv-suggestions { height: auto; max-height: 4; border: none; border-top: solid $secondary;
                                         scrollbar-size-vertical: 1; }
    ConversationPane Composer { display: none; }
    ConversationPane.-composing Composer { display: block; }
    """

    def __init__(self, host: Host, *, id: str | None = "conversation") -> None:
        super().__init__(id=id)
        self.host = host
        self.thread_id: int | None = None
        self.thread_row: sqlite3.Row | None = None
        self.expanded_quotes = False
        self.shown = PAGE
        self._message_count = 0
        self._suggestions: list[tuple[int, str]] = []  # (article id, title)
        self._rendered: dict[tuple, Text] = {}
        self._suggestion_labels: list[Text] = []
        self._preparing = False  # the ranking's models and index are being readied (``_prepare_suggestions``)

    def compose(self) -> ComposeResult:
        yield SteadyStatic(Text("No conversation open — pick one in the inbox and press Enter", style="dim"),
                     id="conv-header")
        yield TextView(id="conv-scroll")
        yield OptionList(id="conv-suggestions")
        yield Composer(self.host)

    def on_mount(self) -> None:
        self.query_one("#conv-suggestions").display = False
        self.set_interval(15, self._tick)  # the SLA countdown and relative times stay current

    # ------------------------------------------------------------------ public interface

    def focus_reading(self) -> None:
        """Focus the messages (where z, [ and the arrows act)."""
        self.query_one("#conv-scroll").focus()

    @property
    def composing(self) -> bool:
        return self.has_class("-composing")

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def show(self, thread_id: int | None) -> None:
        """Open ``thread_id`` (None clears the pane). An open composer for another conversation keeps its draft."""
        if self.composing and thread_id != self.thread_id:
            self.close_composer()
        changed = thread_id != self.thread_id
        self.thread_id = thread_id
        if changed:
            self.shown = PAGE
            self.expanded_quotes = False
        self.reload(scroll_end=changed)
        if changed:
            self._load_suggestions()

    def reload(self, scroll_end: bool = False) -> None:
        """Read the conversation again (after sync or an action); keeps the reading position."""
        header = self.query_one("#conv-header", Static)
        body = self.query_one("#conv-scroll", TextView)
        db = self.host.db
        row = queries.thread(db, self.thread_id) if self.thread_id is not None else None
        self.thread_row = row
        if row is None:
            if self.thread_id is not None:
                header.update(Text(f"Conversation {self.thread_id} is no longer in the cache", style="dim"))
            else:
                header.update(Text("No conversation open — pick one in the inbox and press Enter", style="dim"))
            body.update(Text(""))
            self._message_count = 0
            return
        at_end = body.scroll_y >= body.max_scroll_y - 1
        msgs, total = queries.messages_tail(db, self.thread_id, self.shown)
        grew = total > self._message_count
        self._message_count = total
        now = self.host.now()
        header.update(self.render_header(row, now))
        hidden = total - len(msgs)
        retry_key = self.host.key_label("retry_send")
        fold_key = self.host.key_label("toggle_quotes")
        width = max(20, (body.scrollable_content_region.width or 101) - 1)  # a column's margin before the scrollbar
        parts = [self._message_text(m, now, retry_key, fold_key, width) for m in msgs]
        if hidden:
            parts.insert(0, Text(f" … {hidden} earlier message{'s' if hidden != 1 else ''} — press "
                                 f"{self.host.key_label('earlier_messages')} to show {min(hidden, PAGE)} more\n",
                                 style="dim"))
        body.update(Text("\n").join(parts) if msgs else Text("No messages yet", style="dim"))
        if scroll_end or (at_end and grew):
            body.scroll_to_end()

    def _message_text(self, m: sqlite3.Row, now: float, retry_key: str, fold_key: str, width: int) -> Text:
        """render_message, remembered while nothing the agent would see has changed (live refreshes are cheap)."""
        key = (m["id"], width, self.expanded_quotes, m["state"], m["outbox_state"], m["outbox_error"],
               m["outbox_next_try"] and int((m["outbox_next_try"] - now) // 10), m["text"],
               m["meta"], relative_time(m["sent_at"], now), retry_key, fold_key)
        cached = self._rendered.get(key)
        if cached is None:
            if len(self._rendered) > 2000:
                self._rendered.clear()
            cached = self._rendered[key] = render_message(
                m, expanded=self.expanded_quotes, now=now, retry_key=retry_key, fold_key=fold_key, width=width)
        return cached

    def render_header(self, t: sqlite3.Row, now: float) -> Text:
        """Subject; channel and state; who; SLA and the rule that triaged it; notices. Terser when narrow."""
        wide = (self.size.width or 100) >= 70
        out = Text()
        out.append_text(safe_line(t["subject"] or "(no subject)", style="bold"))
        out.append("\n")
        mark = CHANNEL_MARKS.get(t["channel"], "·")
        out.append(f"{mark} {CHANNEL_LABELS.get(t['channel'], t['channel'].upper())}", style="bold")
        if t["channel_detail"]:
            out.append(" · ")
            out.append_text(safe_line(t["channel_detail"]))
        if wide:
            out.append(" · ")
            out.append_text(safe_line(t["account"], style="dim"))
        priority = PRIORITIES.get(t["priority"], t["priority"])
        out.append(f"   status: {t['status']}" if wide else f" · {t['status']}", style="bold")
        if t["status"] == "snoozed" and t["snoozed_until"]:
            out.append(f" until {clock(t['snoozed_until'])}")
        out.append(f" · priority: {priority}" if wide else f" · {priority}")
        out.append(" · queue: " if wide else " · ")
        out.append_text(safe_line(t["queue"] or ("none" if wide else "no queue")))
        out.append(" · assignee: " if wide else " · ")
        out.append_text(safe_line(t["assignee"] or ("nobody" if wide else "unassigned")))
        claim = claims.line(self.host.db, t["id"])  # "claiming…", "Priya took this at 14:02"
        if claim:
            out.append(" · ")
            out.append_text(safe_line(claim, style="bold yellow"))
        out.append("\n")
        if wide:
            out.append("customer: ")
        out.append_text(safe_line(t["customer_name"] or t["customer_display"] or "unknown", style="bold"))
        if t["customer_address"] and wide:
            out.append(" <")
            out.append_text(safe_line(t["customer_address"]))
            out.append(">")
        if t["followers"] is not None:
            out.append(f" · {followers(t['followers'])}")
        tags = json_field(t["tags"], [])
        if tags:
            out.append(" · tags: ")
            out.append_text(safe_line(", ".join(str(x) for x in tags)))
        if t["tone"]:
            out.append(" · tone: ")
            out.append_text(safe_line(t["tone"]))
        sla = self.sla_text(t, now)
        if sla is not None or t["rule"]:
            out.append("\n")
            if sla is not None:
                out.append_text(sla)
            if t["rule"]:
                out.append(" · " if sla is not None else "")
                out.append("set by rule: ", style="italic")
                out.append_text(safe_line(t["rule"], style="italic"))
        meta = json_field(t["meta"], {})
        if meta.get("encrypted"):
            out.append("\n")
            out.append_text(encryption_line(meta, wide))
        others = presence_line(self.host, t["id"])  # other agents on it ([team])
        if others is not None:
            out.append("\n")
            out.append_text(others)
        draft = queries.draft(self.host.db, t["id"])
        if draft and draft["text"].strip() and not self.composing:
            keys = self.host.key_label("compose_note" if draft["kind"] == "note" else "compose_reply")
            out.append("\n")
            out.append(f"✎ unsent {draft['kind']} draft — press {keys} to continue it", style="bold yellow")
        return out

    def sla_text(self, t: sqlite3.Row, now: float) -> Text | None:
        """The SLA countdown (console.sla's state of the conversation)."""
        if t["status"] in ("closed", "snoozed"):
            return None
        state, left = sla.state(t, now, self.host.section("sla"))
        if state == "none" or left is None:
            return None
        if state == "breached":
            return Text(f"SLA BREACHED {sla.short_duration(-left)} ago", style="bold white on red")
        if state == "warning":
            return Text(f"SLA warning: {sla.short_duration(left)} left", style="bold black on yellow")
        return Text(f"SLA: {sla.short_duration(left)} left", style="green")

    def open_composer(self, kind: str = "reply") -> bool:
        """Open the composer in ``reply``, ``note`` or ``private`` mode (refused with a notice in read-only)."""
        if kind not in SEND_ACTION:
            raise ValueError(f"kind must be reply, private or note, not {kind!r}")
        if self.thread_id is None or self.thread_row is None:
            self.notify("Open a conversation first (Enter in the inbox)", severity="warning")
            return False
        if not self.host.allowed(SEND_ACTION[kind]):
            return False
        draft = queries.draft(self.host.db, self.thread_id)
        if draft and draft["text"].strip() and draft["kind"] != kind:
            if kind == "reply" and draft["kind"] == "private":
                kind = "private"  # still a reply, as the agent left it
            else:
                self.notify(f"Your unsent {draft['kind']} draft is now a {kind}", severity="information")
        self.add_class("-composing")
        self.composer.start(self.thread_row, kind)
        self.reload()
        return True

    def close_composer(self) -> None:
        """Hide the composer; the draft is saved first."""
        if not self.composing:
            return
        self.composer.save_draft()
        self.remove_class("-composing")
        self.query_one("#conv-scroll").focus()
        self.reload()

    def insert_text(self, text: str) -> bool:
        """Insert into the open composer (a reply is opened if none is)."""
        if not self.composing and not self.open_composer("reply"):
            return False
        self.composer.insert_text(text)
        return True

    # ------------------------------------------------------------------ suggestions

    def _load_suggestions(self) -> None:
        lst = self.query_one("#conv-suggestions", OptionList)
        lst.clear_options()
        self._suggestions = []
        self._suggestion_labels = []
        if self.thread_id is not None and not knowledge.prepared():
            if not self._preparing:
                self._preparing = True
                self._prepare_suggestions()  # lists them when it is done
        elif self.thread_id is not None:
            try:
                found = list(knowledge.suggest(self.host.db, self.thread_id, limit=3) or [])
            except Exception as exc:  # the pane must open even if the suggester trips
                self.log.warning(f"knowledge.suggest failed: {exc!r}")
                found = []
            for n, art in enumerate(found[:3]):
                article_id, title, snippet = _article_fields(art)
                if article_id is None:
                    continue
                label = Text(f"{n + 1}. ", style="bold")
                label.append_text(safe_line(title, style="bold"))
                if snippet:
                    label.append(" — ")
                    label.append_text(safe_line(snippet, style="dim"))
                self._suggestions.append((article_id, title))
                self._suggestion_labels.append(label)
        self._fit_suggestions()
        if self._suggestions:
            lst.highlighted = 0
        lst.display = bool(self._suggestions)  # cheaper than a class: no style recalculation
        keys = "/".join(self.host.key_label(f"suggestion_{n}") for n in range(1, len(self._suggestions) + 1))
        lst.border_title = (f"Suggested articles ({keys} inserts one · "
                            f"{self.host.key_label('insert_suggestion')} while writing)"
                            if self._suggestions else None)

    @work(thread=True, group="suggestions", exit_on_error=False)
    def _prepare_suggestions(self) -> None:
        """Load the meaning model and build the ranking index off the screen's loop (~0.5 s the first time:
        the first conversation shown right after first paint waited for it), then list the suggestions."""
        try:
            knowledge.prepare(self.host.db_path)
        finally:
            self.app.call_from_thread(self._load_suggestions)

    def _fit_suggestions(self) -> None:
        """One line per article (the composer needs the room): cut to the pane's width."""
        lst = self.query_one("#conv-suggestions", OptionList)
        keep = lst.highlighted
        lst.clear_options()
        width = max(20, (self.size.width or 80) - 4)
        for (article_id, _), label in zip(self._suggestions, self._suggestion_labels):
            line = label.copy()
            line.truncate(width, overflow="ellipsis")
            lst.add_option(Option(line, id=f"a{article_id}"))
        if self._suggestions:
            lst.highlighted = keep if keep is not None and keep < len(self._suggestions) else 0

    def insert_suggestion(self, number: int) -> bool:
        """Insert suggested article ``number`` (1-3, as the list numbers them)."""
        if not 1 <= number <= len(self._suggestions):
            self.notify(f"No suggested article {number} for this conversation" if self._suggestions
                        else "No suggested article for this conversation", severity="warning", markup=False)
            return False
        self.query_one("#conv-suggestions", OptionList).highlighted = number - 1
        return self.insert_selected_suggestion()

    def insert_selected_suggestion(self) -> bool:
        lst = self.query_one("#conv-suggestions", OptionList)
        if not self._suggestions or lst.highlighted is None:
            self.notify("No suggested article for this conversation", severity="warning")
            return False
        article_id, _ = self._suggestions[lst.highlighted]
        settings = self.host.section("knowledge") or knowledge.Settings()
        try:
            # Counted for the leaders' "articles inserted" figure; a read-only console records nothing.
            text = knowledge.insert_text(self.host.db, article_id, footer=settings.footer,
                                         footer_text=settings.footer_text,
                                         thread_id=None if self.host.read_only else self.thread_id)
        except Exception as exc:
            self.notify(f"Cannot insert the article: {exc}", severity="error", markup=False)
            return False
        return self.insert_text(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "conv-suggestions":
            event.stop()
            self.insert_selected_suggestion()

    # ------------------------------------------------------------------ composer messages

    def on_composer_sent(self, event: Composer.Sent) -> None:
        event.stop()
        self.remove_class("-composing")
        self.query_one("#conv-scroll").focus()
        self.reload(scroll_end=True)

    def on_composer_closed(self, event: Composer.Closed) -> None:
        event.stop()
        self.remove_class("-composing")
        self.query_one("#conv-scroll").focus()
        self.reload()

    def on_composer_suggestion_wanted(self, event: Composer.SuggestionWanted) -> None:
        event.stop()
        self.insert_selected_suggestion()

    # ------------------------------------------------------------------ keys

    def action_toggle_quotes(self) -> None:
        self.expanded_quotes = not self.expanded_quotes
        self.reload()

    def action_earlier_messages(self) -> None:
        if self._message_count > self.shown:
            self.shown += PAGE
            self.reload()
            self.query_one("#conv-scroll", TextView).scroll_to_start()

    def on_resize(self, event) -> None:
        if self.thread_row is not None:
            self.reload()
            if self._suggestions:
                self._fit_suggestions()

    def _tick(self) -> None:
        """Every 15 s: the SLA countdown and "5m ago" stay true (cached message lines make it cheap)."""
        if self.thread_row is not None:
            self.reload()


def _article_fields(art: Any) -> tuple[int | None, str, str]:
    """(id, title, snippet) from whatever record shape the suggester returns."""
    def get(name: str, default: Any = "") -> Any:
        if isinstance(art, dict):
            return art.get(name, default)
        try:
            return art[name]
        except (KeyError, IndexError, TypeError):
            return getattr(art, name, default)

    article_id = get("article_id", None)
    if article_id is None:
        article_id = get("id", None)
    try:
        article_id = int(article_id) if article_id is not None else None
    except (TypeError, ValueError):
        article_id = None
    return article_id, str(get("title", "") or ""), str(get("snippet", "") or "")


def encryption_line(meta: dict, wide: bool) -> Text:
    """An end-to-end encrypted room: whether the customer's devices are verified (the adapter
    says; None when this console holds no keys for the room)."""
    verified = meta.get("devices_verified")
    if verified is True:
        return Text("🔒 end-to-end encrypted · customer's devices verified" if wide else "🔒 encrypted · verified",
                    style="green")
    if verified is False:
        return Text("🔒 end-to-end encrypted · customer's devices NOT verified (trusted on first use)"
                    if wide else "🔒 encrypted · unverified", style="yellow")
    return Text("🔒 end-to-end encrypted · no keys here: messages that cannot be decrypted say so"
                if wide else "🔒 encrypted", style="yellow")

