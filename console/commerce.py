"""Money as people read it, and the wording of a refund shown in a conversation."""

from __future__ import annotations

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "SEK": "SEK ", "DKK": "DKK "}
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "XAF", "XOF", "BIF", "DJF",
                          "GNF", "KMF", "MGA", "PYG", "RWF", "VUV", "XPF"})


def money(amount: float, currency: str) -> str:
    """'€42.00', '$1,250.50', '¥4,200', '42.00 NOK'."""
    cur = (currency or "").upper()
    digits = 0 if cur in ZERO_DECIMAL else 2
    number = f"{amount:,.{digits}f}"
    if cur in SYMBOLS:
        return f"{SYMBOLS[cur]}{number}"
    return f"{number} {cur}".strip()


def refund_event(agent: str, amount: float, currency: str, charge: str, *, reason: str = "",
                 refund_id: str | None = None) -> str:
    """The conversation's record of a refund: asked for while queued, done once the payments system has it."""
    said = f"{agent} refunded {money(amount, currency)} on {charge}" if refund_id else \
        f"{agent} is refunding {money(amount, currency)} on {charge}"
    if refund_id:
        said += f" ({refund_id})"
    if reason:
        said += f" — reason: {reason}"
    return said
