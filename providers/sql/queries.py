"""The named queries of an ``sql`` account: checked to be one SELECT, ``:since`` bound per driver.

A query is refused at start-up unless it is exactly one SELECT (``WITH … SELECT``
included). That is the first wall; the second is the read-only session the
database itself enforces (see :mod:`providers.sql.database`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlparse
from sqlparse import tokens as T

from providers.base import OptionError

NAMES = ("customers", "orders")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    text: str

    def bound(self, style: str) -> tuple[str, int]:
        """The query with ``:since`` written in the driver's ``style`` ("pyformat" or "qmark"),
        and how many times it occurs (each occurrence takes the same value)."""
        parts, count = [], 0
        for tok in sqlparse.parse(self.text)[0].flatten():
            if tok.ttype in T.Name.Placeholder and tok.value == ":since":
                parts.append("%s" if style == "pyformat" else "?")
                count += 1
            elif style == "pyformat":
                parts.append(tok.value.replace("%", "%%"))
            else:
                parts.append(tok.value)
        return "".join(parts), count


def check(name: str, text: str, account: str) -> NamedQuery:
    """One line naming the problem if ``text`` is not a single SELECT with only ``:since`` as parameter."""
    statements = [s for s in sqlparse.parse(text or "") if s.value.strip().strip(";").strip()]
    where = f"account {account!r}: the {name} query"
    if not statements:
        raise OptionError(f"{where} is empty", fix=f"write {name} = \"SELECT … WHERE updated_at > :since\"")
    if len(statements) > 1:
        raise OptionError(f"{where} holds {len(statements)} statements", fix="write one SELECT, no semicolons")
    kind = statements[0].get_type()
    if kind != "SELECT":
        raise OptionError(f"{where} is {'an' if kind[:1] in 'AEIOU' else 'a'} {kind} statement, not a SELECT "
                          "— Switchboard only reads the company's database",
                          fix="write a SELECT that returns the documented columns")
    for tok in statements[0].flatten():
        if tok.ttype in T.Name.Placeholder and tok.value != ":since":
            raise OptionError(f"{where} uses the parameter {tok.value!r}",
                              fix="the only parameter is :since (the time of the last pull)")
    return NamedQuery(name, statements[0].value.strip().rstrip(";").strip())
