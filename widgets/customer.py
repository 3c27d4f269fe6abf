"""The customer pane: one person across every channel.

Name and tags, every linked identity (with follower counts, verified, network),
orders, earlier and open conversations on every channel (Enter posts
:class:`CustomerPane.OpenThread`), and notes. ``L`` links another identity to this
customer, ``U`` undoes the highlighted identity's link, ``N`` adds a note, ``$`` refunds — all
through ``app.perform`` (refused with a notice in read-only mode). Those keys belong to the main
screen (they work wherever the focus is, on the open conversation's customer); the pane carries
them out (:meth:`link_identity`, :meth:`unlink_identity`, :meth:`customer_note`, :meth:`refund`).
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console import identity
from console.cache import queries
from console.cache.customer_record import customer_record, payments_of
from widgets.customer_record import render_record
from widgets.host import Host
from widgets.steady import SteadyOptionList, SteadyStatic
from widgets.screens.refund import RefundChooser
from widgets.screens.choosers import LinkChooser, TextPrompt, link_question, unlink_question
from widgets.render import (
    CHANNEL_MARKS,
    identity_label,
    json_field,
    relative_time,
    safe,
    safe_line,
)


MAX_THREADS = 30  # conversations listed in the pane; the rest are one Enter away in the inbox


def _date(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%d %b %Y") if ts else ""


class CustomerPane(Widget):
    """Who the customer is, everywhere, and what they bought."""

    DEFAULT_CSS = """
    CustomerPane { height: 1fr; width: 1fr; }
    CustomerPane #cust-scroll { height: 1fr; }
    CustomerPane .cust-section { text-style: bold; color: $accent; margin-top: 1; padding: 0 1; }
    CustomerPane #cust-header { padding: 0 1; }
    CustomerPane #cust-orders, CustomerPane #cust-notes, CustomerPane #cust-links { padding: 0 1; }
    CustomerPane OptionList { height: auto; max-height: 12; border: none; padding: 0; }
    """

    class OpenThread(Message):
        """The agent pressed Enter on one of the customer's conversations."""

        def __init__(self, thread_id: int) -> None:
            super().__init__()
            self.thread_id = thread_id

    def __init__(self, host: Host, *, id: str | None = "customer") -> None:
        super().__init__(id=id)
        self.host = host
        self.thread_id: int | None = None
        self.customer_id: int | None = None
        self.history: dict | None = None
        self.record = None  # console.cache.customer_record.CustomerRecord of the shown customer
        self._stale = False
        self._prefer_identity: int | None = None  # highlighted on the next draw (the one just linked)

    def on_show(self) -> None:
        if self._stale:
            self.reload()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="cust-scroll", can_focus=False):
            yield SteadyStatic(Text("No customer — open a conversation", style="dim"), id="cust-header")
            yield SteadyStatic(Text("Identities"), classes="cust-section", id="cust-identities-title")
            yield SteadyOptionList(id="cust-identities")
            yield SteadyStatic(Text("Orders and payments"), classes="cust-section")
            yield SteadyStatic(Text(""), id="cust-orders")
            yield SteadyStatic(Text("Conversations"), classes="cust-section")
            yield SteadyOptionList(id="cust-threads")
            yield SteadyStatic(Text("Notes"), classes="cust-section")
            yield SteadyStatic(Text(""), id="cust-notes")
            yield SteadyStatic(Text("Links"), classes="cust-section", id="cust-links-title")
            yield SteadyStatic(Text(""), id="cust-links")

    # ------------------------------------------------------------------ public interface

    def show(self, thread_id: int | None) -> None:
        self.thread_id = thread_id
        self.reload()

    def reload(self, *, force: bool = False) -> None:
        """Read the customer of the current conversation again (links may have moved it).

        While the pane is hidden (narrow terminal, ``c``) nothing is read; it catches up when shown,
        or when one of its actions runs from the palette (``force``)."""
        if not self.display and not force:
            self._stale = True
            return
        self._stale = False
        db = self.host.db
        self.customer_id = queries.customer_of(db, self.thread_id) if self.thread_id is not None else None
        if self.customer_id is None:
            self.history = None
            self._draw_empty()
            return
        try:
            self.history = identity.customer_history(db, self.customer_id)
        except LookupError:
            self.history = None
            self._draw_empty()
            return
        self._draw(self.history)

    # ------------------------------------------------------------------ drawing

    def _draw_empty(self) -> None:
        self.query_one("#cust-header", Static).update(Text("No customer — open a conversation", style="dim"))
        self.query_one("#cust-identities", SteadyOptionList).replace_options([])
        self.query_one("#cust-threads", SteadyOptionList).replace_options([])
        self.query_one("#cust-orders", Static).update(Text(""))
        self.query_one("#cust-notes", Static).update(Text(""))
        self.query_one("#cust-links", Static).update(Text(""))

    def _draw(self, h: dict) -> None:
        cust = h["customer"]
        header = Text()
        header.append_text(safe_line(cust["name"] or f"Customer {cust['id']}", style="bold"))
        tags = json_field(cust.get("tags"), [])
        if tags:
            header.append("\ntags: ")
            header.append_text(safe_line(", ".join(str(t) for t in tags)))
        channels = sorted({i["channel"] for i in h["identities"]})
        header.append(f"\n{len(h['identities'])} identit{'y' if len(h['identities']) == 1 else 'ies'}"
                      f" on {', '.join(channels) or 'no channel'} · customer since {_date(cust['created_at'])}",
                      style="dim")
        self.query_one("#cust-header", Static).update(header)

        ident_list = self.query_one("#cust-identities", SteadyOptionList)
        keep = ident_list.highlighted
        ident_list.replace_options([Option(self._identity_label(i), id=f"i{i['id']}") for i in h["identities"]])
        ids = [i["id"] for i in h["identities"]]
        if self._prefer_identity in ids:
            ident_list.highlighted = ids.index(self._prefer_identity)
        elif h["identities"]:
            ident_list.highlighted = min(keep or 0, len(h["identities"]) - 1)
        self._prefer_identity = None
        keys = f"{self.host.key_label('link_identity')} link"
        if len(ids) > 1:
            keys += f" · {self.host.key_label('unlink_identity')} unlink the highlighted one"
        self.query_one("#cust-identities-title", Static).update(Text(f"Identities ({len(ids)}) · {keys}"))

        self.record = customer_record(self.host.db, cust["id"])
        self.query_one("#cust-orders", Static).update(render_record(self.record, self.host.key_label("refund")))

        thread_list = self.query_one("#cust-threads", SteadyOptionList)
        current_index = None
        threads = h["threads"]
        shown = threads[:MAX_THREADS]
        current = next((t for t in threads[MAX_THREADS:] if t["id"] == self.thread_id), None)
        if current is not None:
            shown = [*shown[:-1], current]  # the open conversation is always listed
        options = []
        for n, t in enumerate(shown):
            options.append(Option(self._thread_label(t), id=f"t{t['id']}"))
            if t["id"] == self.thread_id:
                current_index = n
        if len(threads) > len(shown):
            more = Text(f"  … all {len(threads)} conversations — Enter lists them in the inbox", style="italic")
            options.append(Option(more, id="more"))
        thread_list.replace_options(options)
        if threads:
            thread_list.highlighted = current_index or 0

        notes = Text()
        for n, note in enumerate(h["notes"]):
            if n:
                notes.append("\n")
            notes.append(f"{_date(note['created_at'])} ", style="dim")
            notes.append_text(safe_line(note["author"], style="bold"))
            notes.append(": ")
            notes.append_text(safe(note["text"]))
        if not h["notes"]:
            notes.append(f"no notes — {self.host.key_label('customer_note')} adds one", style="dim")
        self.query_one("#cust-notes", Static).update(notes)
        self.query_one("#cust-links", Static).update(links_text(identity.link_history(self.host.db, cust["id"])))

    @staticmethod
    def _identity_label(i: dict) -> Text:
        label = identity_label(i, pad=6, bold_followers=True)
        if i["link_locked"]:
            label.append(" · linked by hand", style="dim")
        return label

    def _thread_label(self, t: dict) -> Text:
        label = Text()
        current = t["id"] == self.thread_id
        label.append("▶ " if current else "  ", style="bold")
        label.append(f"{CHANNEL_MARKS.get(t['channel'], '·')} {t['channel']:<6} ")
        label.append(f"{t['status']:<7} ", style="bold" if t["status"] in ("open", "pending") else "dim")
        label.append_text(safe_line(t["subject"] or t["preview"] or "(no subject)"))
        label.append(f"  {relative_time(t['last_message_at'])}", style="dim")
        if current:
            label.append("  (this one)", style="italic")
        return label

    # ------------------------------------------------------------------ choosing and acting

    def selected_identity_id(self) -> int | None:
        lst = self.query_one("#cust-identities", OptionList)
        if lst.highlighted is None or not self.history or not self.history["identities"]:
            return None
        return int(lst.get_option_at_index(lst.highlighted).id[1:])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "cust-threads":
            event.stop()
            if event.option.id == "more":
                self.show_all_threads()
            else:
                self.post_message(self.OpenThread(int(event.option.id[1:])))
        elif event.option_list.id == "cust-identities":
            event.stop()

    def show_all_threads(self) -> None:
        """Every conversation of this customer, in the inbox (through the app's show_threads)."""
        if not self.history:
            return
        name = self.history["customer"]["name"] or f"customer {self.customer_id}"
        self.host.show_threads([t["id"] for t in self.history["threads"]], f"{' '.join(name.split())}: all conversations")

    def _allowed(self, action_id: str) -> bool:
        if self._stale:  # hidden while the agent moved on: act on the customer of the open conversation
            self.reload(force=True)
        if not self.host.allowed(action_id):
            return False
        if self.customer_id is None:
            self.notify("Open a conversation first — the pane shows its customer", severity="warning")
            return False
        return True

    def link_identity(self) -> None:
        """L: find an identity of another customer, see both customers, confirm, link."""
        if not self._allowed("link_identity"):
            return
        customer_id = self.customer_id

        def confirmed(identity_id: int, target: int, yes: bool | None) -> None:
            if not yes:
                return
            if self.host.perform("link_identity", None, identity_id=identity_id, customer_id=target).ok:
                self._prefer_identity = identity_id
            self.reload(force=True)

        def chosen(choice: tuple[int, int] | None) -> None:
            if choice is None:
                return
            identity_id, target = choice
            try:
                question = link_question(identity.link_preview(self.host.db, identity_id, target))
            except LookupError as exc:
                self.notify(f"Cannot link: {exc}", severity="error", markup=False)
                return
            self.host.push_screen(question, lambda yes: confirmed(identity_id, target, yes))

        self.host.push_screen(LinkChooser(self.host.db, customer_id), chosen)

    def unlink_identity(self) -> None:
        """U: undo the highlighted identity's link (it goes back where it came from), after a question."""
        if not self._allowed("unlink_identity"):
            return
        identity_id = self.selected_identity_id()
        if identity_id is None:
            self.notify("Select an identity first (↑↓ in the Identities list)", severity="warning")
            return
        if len(self.history["identities"]) < 2:
            self.notify("This customer has only one identity — there is nothing to split off",
                        severity="warning")
            return
        row = next(i for i in self.history["identities"] if i["id"] == identity_id)
        name = self.history["customer"]["name"] or f"customer {self.customer_id}"
        came = next((e for e in identity.link_history(self.host.db, self.customer_id)
                     if e["identity_id"] == identity_id and e["to_customer_id"] == self.customer_id
                     and e["how"] != "unlink" and not e["undone"] and e["from_customer_id"] is not None), None)
        back_to = (came["from_name"] or f"customer {came['from_customer_id']}") if came else \
            "a customer of its own (it was never linked here)"

        def done(yes: bool | None) -> None:
            if yes:
                self.host.perform("unlink_identity", None, identity_id=identity_id)
                self.reload(force=True)

        self.host.push_screen(unlink_question(row, name, back_to), done)

    def customer_note(self) -> None:
        if not self._allowed("customer_note"):
            return
        customer_id = self.customer_id

        def done(text: str | None) -> None:
            if text:
                self.host.perform("customer_note", self.thread_id, text=text, customer_id=customer_id)
                self.reload()

        self.host.push_screen(TextPrompt("Note about this customer", "what should the next agent know?"), done)

    def refund(self) -> None:
        if not self._allowed("refund"):
            return
        thread_id = self.thread_id

        def done(choice: tuple[str, float | None, str] | None) -> None:
            if choice is not None:
                charge, amount, reason = choice
                self.host.perform("refund", thread_id, charge=charge, amount=amount, reason=reason)
                self.reload()

        self.host.push_screen(RefundChooser(payments_of(self.host.db, self.customer_id)), done)


LINKS_SHOWN = 6
_HOW = {"manual": "linked", "unlink": "unlinked", "auto:email": "linked automatically (same email)",
        "auto:phone": "linked automatically (same phone)", "auto:customer": "linked automatically (one shop customer)"}


def links_text(history: list[dict]) -> Text:
    """Who linked what, when, and whether it was undone — newest first."""
    out = Text()
    if not history:
        out.append("no identity was ever moved to or from this customer", style="dim")
        return out
    for n, e in enumerate(history[:LINKS_SHOWN]):
        if n:
            out.append("\n")
        out.append(datetime.fromtimestamp(e["at"]).strftime("%d %b %Y %H:%M "), style="dim")
        if e["who"]:
            out.append_text(safe_line(e["who"], style="bold"))
            out.append(" ")
        out.append(_HOW.get(e["how"], e["how"]) + " ")
        out.append_text(safe_line(e["identity"]))
        if e["from_customer_id"] is not None:
            out.append(" from ")
            out.append_text(safe_line(e["from_name"] or f"customer {e['from_customer_id']}"))
        out.append(" to ")
        out.append_text(safe_line(e["to_name"] or f"customer {e['to_customer_id']}"))
        if e["undone"]:
            out.append(" · undone", style="italic")
    if len(history) > LINKS_SHOWN:
        out.append(f"\n… {len(history) - LINKS_SHOWN} earlier", style="dim")
    return out
