"""Choosing a refund in the customer pane: which payment, how much, why — and the amount shown before it goes.

Returns ``(charge, amount or None, reason)``; the pane hands it to the ``refund``
action (the same gate and outbox as ``switchboard do refund``). The first Enter in
the reason box shows exactly what will be refunded; only a second Enter sends it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from widgets.screens.choosers import ChooserScreen
from widgets.render import money, safe_line


class RefundChooser(ChooserScreen):
    TITLE_TEXT = "Refund a payment"
    HINT = "↑↓ payment · Tab amount (empty: all that is left) · Tab reason · Enter review, Enter again to refund · Esc"

    def __init__(self, payments: list[dict]) -> None:
        super().__init__()
        self.payments = [p for p in payments if p["status"] == "succeeded" and p["amount"] - p["refunded"] > 0]
        self.reviewed: tuple | None = None

    def body(self) -> ComposeResult:
        yield OptionList(id="refund-payments")
        yield Input(placeholder="amount, e.g. 12.50 — empty refunds all that is left", id="refund-amount")
        yield Input(placeholder="reason (kept with the refund and in the conversation)", id="refund-reason")

    def on_mount(self) -> None:
        lst = self.query_one(OptionList)
        for p in self.payments:
            label = safe_line(p["remote_id"])
            label.append(f"  {money(p['amount'], p['currency'])}")
            if p["order_number"]:
                label.append("  order ", style="dim")
                label.append_text(safe_line(p["order_number"], style="dim"))
            if p["refunded"]:
                label.append(f"  ({money(p['amount'] - p['refunded'], p['currency'])} left)", style="dim")
            lst.add_option(Option(label, id=p["remote_id"]))
        if self.payments:
            lst.highlighted = 0
            lst.focus()
        else:
            self.show_error("no payment of this customer can be refunded")

    def _choice(self) -> tuple[dict, float | None] | None:
        lst = self.query_one(OptionList)
        if lst.highlighted is None or not self.payments:
            self.show_error("choose a payment first")
            return None
        pay = self.payments[lst.highlighted]
        text = self.query_one("#refund-amount", Input).value.strip()
        if not text:
            return pay, None
        try:
            return pay, float(Decimal(text))
        except InvalidOperation:
            self.show_error(f"cannot read the amount {text!r} — write it like 12.50")
            return None

    def on_input_changed(self, event: Input.Changed) -> None:
        self.reviewed = None  # anything changed: review again before sending

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.reviewed = None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "refund-amount":
            self.query_one("#refund-reason", Input).focus()
            return
        choice = self._choice()
        if choice is None:
            return
        pay, amount = choice
        value = pay["amount"] - pay["refunded"] if amount is None else amount
        reason = self.query_one("#refund-reason", Input).value.strip()
        key = (pay["remote_id"], value, reason)
        if self.reviewed != key:
            self.reviewed = key
            line = Text(f"Refund {money(value, pay['currency'])} on ", style="bold")
            line.append_text(safe_line(pay["remote_id"], style="bold"))
            line.append(" — Enter again to refund, Esc to cancel")
            self.query_one("#chooser-error").update(line)
            return
        self.dismiss((pay["remote_id"], amount, reason))
