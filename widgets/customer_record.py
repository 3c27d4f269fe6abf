"""The customer pane's section for what the company's own systems know: one renderer.

Lifetime value and order count, the last orders with status and tracking link (as
text, never opened), payments with what was refunded, refunds, disputes, subscription
status and the systems' own notes — each line labelled with the account it came from,
and each account with how fresh its data is. Everything shown is provider text: it
goes through ``safe_line``, never through markup.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text

from console.cache.customer_record import CustomerRecord
from widgets.render import money, relative_time, safe, safe_line


def _date(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%d %b %Y") if ts else ""


def _source(line: Text, source: str) -> None:
    line.append("  · ", style="dim")
    line.append_text(safe_line(source, style="dim"))


def render_record(rec: CustomerRecord, refund_key: str = "", now: float | None = None) -> Text:
    now = time.time() if now is None else now
    out = Text()
    if rec.empty:
        out.append("nothing from the shop or payments systems", style="dim")
        return out
    if rec.lifetime_value:
        out.append("lifetime value ", style="dim")
        out.append(" + ".join(money(v, c) for c, v in sorted(rec.lifetime_value.items())), style="bold")
        out.append(f" ({'orders' if rec.lifetime_source == 'orders' else 'payments, net of refunds'})", style="dim")
    if rec.order_count:
        out.append(f"{'  ·  ' if rec.lifetime_value else ''}{rec.order_count} order{'s' * (rec.order_count != 1)}",
                   style="bold")
    for o in rec.orders:
        line = Text("\n#")
        line.append_text(safe_line(o["number"], style="bold"))
        line.append(f"  {_date(o['placed_at'])}  {money(o['total'], o['currency'])}")
        if o["status"]:
            line.append("  ")
            line.append_text(safe_line(o["status"], style="italic"))
        if o["tracking_url"]:
            line.append("\n   track: ", style="dim")
            line.append_text(safe_line(o["tracking_url"]))
        _source(line, o["source"])
        out.append_text(line)
    if rec.payments:
        out.append("\npayments" + (f" · {refund_key} refunds one" if refund_key else ""), style="dim")
    for p in rec.payments:
        line = Text("\n")
        line.append_text(safe_line(p["remote_id"]))
        line.append(f"  {_date(p['created_at'])}  {money(p['amount'], p['currency'])}  ")
        line.append_text(safe_line(p["status"], style="green" if p["status"] == "succeeded" else "yellow"))
        if p["refunded"]:
            line.append(f"  refunded {money(p['refunded'], p['currency'])}", style="magenta")
        if p["disputes"]:
            line.append("  DISPUTED", style="bold red")
        _source(line, p["source"])
        out.append_text(line)
    for r in rec.refunds[:5]:
        line = Text("\n↩ ")
        line.append(f"{money(r['amount'], r['currency'])} on ")
        line.append_text(safe_line(r["payment_remote_id"]))
        line.append(f"  {_date(r['created_at'])}  ")
        line.append_text(safe_line(r["status"]))
        if r["reason"]:
            line.append(" — ")
            line.append_text(safe_line(r["reason"], style="italic"))
        _source(line, r["source"])
        out.append_text(line)
    for d in rec.disputes:
        line = Text("\n⚠ dispute ", style="bold red")
        line.append(f"{money(d['amount'], d['currency'])} on ")
        line.append_text(safe_line(d["payment_remote_id"]))
        line.append("  ")
        line.append_text(safe_line(d["status"], style="bold"))
        if d["reason"]:
            line.append(" (")
            line.append_text(safe_line(d["reason"]))
            line.append(")")
        _source(line, d["source"])
        out.append_text(line)
    for s in rec.subscriptions:
        line = Text("\n↻ ")
        line.append_text(safe_line(s["plan"] or s["remote_id"], style="bold"))
        if s["amount"]:
            line.append(f"  {money(s['amount'], s['currency'])}/{s['interval'] or 'period'}")
        line.append("  ")
        line.append_text(safe_line(s["status"], style="green" if s["status"] in ("active", "trialing") else "yellow"))
        if s["current_period_end"] and s["status"] in ("active", "trialing", "past_due"):
            line.append(f" until {_date(s['current_period_end'])}", style="dim")
        _source(line, s["source"])
        out.append_text(line)
    for n in rec.notes:
        line = Text("\n✎ ")
        line.append_text(safe(n["note"]))
        _source(line, n["source"])
        out.append_text(line)
    if rec.synced:
        out.append("\nas of: " + ", ".join(
            f"{name} {relative_time(at, now) if at else 'never synced'}" for name, at in rec.synced.items()),
            style="dim")
    return out
