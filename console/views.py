"""Inbox views and the search/filter query language (core: no Textual).

A *view* is a named :class:`console.cache.queries.Filter` (plus optional free words
searched through FTS). Built-in views cover the daily work queues; saved views come
from ``[[views]]`` in config.toml and use the same query syntax as the search bar::

    refund status:open channel:email,chat tag:vip from:alice assignee:me tone:negative

People are found by address: ``from:`` an email address, a handle or a phone number
(whole or a prefix, e.g. ``from:jwagner@`` or ``from:+4917``) shows that customer's
conversations on every channel; so does such an address typed bare (an email
address, ``@user:server``, ``@user@instance``, a handle with two dots such as
``grete-becker.bsky.social``, or +49… phone digits). ``from:`` with a plain word
searches message authors and address prefixes (``from:jwagner``, ``from:ann``). ``assignee:Tom`` matches an agent's whole or first name.

``parse_query`` turns that text into ``(words, Filter, author)``; a mistake raises
:class:`ViewQueryError` whose message names the bad part and the fix.
"""

from __future__ import annotations

import re
import shlex
import sqlite3
from dataclasses import dataclass

from console.cache.queries import ALL_STATES, OPEN_STATES, Filter
from console.errors import UserError
from providers.records import CONVERSATION_CHANNELS

# A word that names a person rather than text: email, Matrix or fediverse address,
# a dotted handle (two dots or more, ending in letters), or an international phone number.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]*|@[^@\s]+@[^@\s]+|@[^\s:]+:\S*|@?[\w-]+\.[\w-]+\.(?:[\w-]+\.)*[A-Za-z]{2,}|\+\d[\d()./-]{5,}")
STATUS_WORDS = {"open": ("open",), "pending": ("pending",), "snoozed": ("snoozed",), "closed": ("closed",),
                "active": OPEN_STATES, "all": ALL_STATES, "any": ALL_STATES}
FILTER_KEYS = ("from", "channel", "status", "tag", "queue", "assignee", "tone", "order", "charge")


class ViewQueryError(UserError):
    """A search or saved-view query that cannot be read."""


@dataclass(frozen=True)
class View:
    id: str  # stable: "my_open", "channel:email", "queue:billing", "saved:Refunds"
    name: str
    filter: Filter
    key: str = ""  # letter for the `g` + letter jump
    words: str = ""  # free words: the view is an FTS search within its filter
    author: str = ""
    kind: str = "builtin"  # builtin | channel | queue | saved | search | custom


def builtin_views(agent: str) -> list[View]:
    """The fixed views, in switcher order."""
    return [
        View("my_open", "My open", Filter(statuses=OPEN_STATES, assignee=agent), "m"),
        View("unassigned", "Unassigned", Filter(statuses=OPEN_STATES, assignee=""), "u"),
        View("all_open", "All open", Filter(statuses=OPEN_STATES), "a"),
        View("snoozed", "Snoozed", Filter(statuses=("snoozed",)), "s"),
        View("closed", "Closed", Filter(statuses=("closed",), order="recent"), "c"),
        View("drafts", "Drafts", Filter(statuses=ALL_STATES, with_draft=True, order="recent"), "d"),
        View("channel:email", "Email", Filter(statuses=OPEN_STATES, channels=("email",)), "e", kind="channel"),
        View("channel:chat", "Chat", Filter(statuses=OPEN_STATES, channels=("chat",)), "h", kind="channel"),
        View("channel:social", "Social", Filter(statuses=OPEN_STATES, channels=("social",)), "o", kind="channel"),
    ]


def queue_views(db: sqlite3.Connection) -> list[View]:
    """One view per queue that has conversations (read when the switcher opens, not at start-up)."""
    names = [r[0] for r in db.execute("SELECT DISTINCT queue FROM threads WHERE queue != '' ORDER BY queue")]
    return [View(f"queue:{q}", f"Queue: {q}", Filter(statuses=OPEN_STATES, queues=(q,)), kind="queue")
            for q in names]


def saved_views(config, agent: str) -> list[View]:
    """``[[views]]`` from config.toml; a bad query raises ViewQueryError naming the view."""
    out = []
    for v in getattr(config, "views", []) or []:
        try:
            words, flt, author = parse_query(v.query, agent=agent, default_statuses=OPEN_STATES)
        except ViewQueryError as exc:
            raise ViewQueryError(f"[[views]] {v.name!r}: {exc}") from None
        if v.order and "order:" not in v.query:
            flt = flt.with_(order=v.order)
        out.append(View(f"saved:{v.name}", v.name, flt, v.key, words, author, kind="saved"))
    return out


def all_views(config, agent: str, db: sqlite3.Connection | None = None) -> list[View]:
    views = builtin_views(agent) + saved_views(config, agent)
    if db is not None:
        views += queue_views(db)
    return views


def jump_letters(views: list[View]) -> dict[str, View]:
    """letter -> view for `g` + letter; a saved view's own key wins over a built-in one."""
    out: dict[str, View] = {}
    for v in views:
        if v.key and (v.key not in out or v.kind == "saved"):
            out[v.key] = v
    return out


def parse_query(text: str, *, agent: str = "agent", default_statuses: tuple[str, ...] = ALL_STATES,
                ) -> tuple[str, Filter, str]:
    """Search/filter text -> (free words, Filter, author).

    ``key:value`` tokens filter; a value may list alternatives with commas
    (``channel:email,chat``) and may be quoted (``from:"Ann Lee"``). Everything else is
    free words for full-text search. ``assignee:me`` is the agent, ``assignee:nobody``
    unassigned.
    """
    try:
        tokens = shlex.split(text or "", posix=True)
    except ValueError:
        # An unclosed quote while the user is still typing: read it as if closed.
        try:
            tokens = shlex.split((text or "") + '"', posix=True)
        except ValueError:
            raise ViewQueryError("unbalanced quotes", fix='close the quote, e.g. from:"Ann Lee"') from None
    words: list[str] = []
    author = ""
    statuses: tuple[str, ...] | None = None
    channels: list[str] = []
    queues: list[str] = []
    tags: list[str] = []
    tones: list[str] = []
    assignee: str | None = None
    order = "recent" if default_statuses == ALL_STATES else "due"
    reference: tuple[str, str] | None = None
    people: list[str] = []
    assignee_name: str | None = None
    for tok in tokens:
        key, sep, value = tok.partition(":")
        if _ADDRESS.fullmatch(tok) and not (sep and key.lower() in FILTER_KEYS):
            people.append(tok)
            continue
        if not sep or not key or " " in key or value.startswith("//"):
            words.append(tok)
            continue
        key = key.lower()
        if key not in FILTER_KEYS:
            if not key.isalpha():
                words.append(tok)  # "10:30", "http://..." are words, not filters
                continue
            raise ViewQueryError(f"unknown filter {key + ':'!r}",
                                 fix="use " + ", ".join(k + ":" for k in FILTER_KEYS))
        values = [x.strip() for x in value.split(",") if x.strip()]
        if not values:
            raise ViewQueryError(f"{key}: needs a value", fix=_example(key))
        if key == "from":
            if all("@" in v or "." in v or v.lstrip("+").isdigit() or _ADDRESS.fullmatch(v) for v in values):
                people.extend(values)
            else:
                author = " ".join(values)
        elif key == "channel":
            for c in values:
                c = c.lower()
                if c not in CONVERSATION_CHANNELS:
                    raise ViewQueryError(f"unknown channel {c!r}", fix="use " + ", ".join(CONVERSATION_CHANNELS))
                channels.append(c)
        elif key == "status":
            got: list[str] = []
            for s in values:
                s = s.lower()
                if s not in STATUS_WORDS:
                    raise ViewQueryError(f"unknown status {s!r}", fix="use " + ", ".join(STATUS_WORDS))
                got.extend(x for x in STATUS_WORDS[s] if x not in got)
            statuses = tuple(got)
        elif key == "tag":
            tags.extend(v.lower() for v in values)
        elif key == "queue":
            queues.extend(values)
        elif key == "tone":
            tones.extend(v.lower() for v in values)
        elif key == "assignee":
            if len(values) > 1:
                raise ViewQueryError("assignee: takes one name", fix="e.g. assignee:me or assignee:nobody")
            v = values[0]
            if v.lower() == "me":
                assignee = agent
            elif v.lower() in ("nobody", "none"):
                assignee = ""
            else:
                assignee_name = v
        elif key == "order" and not any(ch.isdigit() for ch in values[0]):
            o = values[0].lower()
            if o not in ("due", "recent"):
                raise ViewQueryError(f"unknown order {o!r}", fix=_example("order"))
            order = o
        elif key in ("order", "charge"):  # order:NW-104801, charge:ch_…: that customer's conversations
            if len(values) > 1:
                raise ViewQueryError(f"{key}: takes one {'number' if key == 'order' else 'id'}", fix=_example(key))
            reference = (key, values[0])
    flt = Filter(
        statuses=statuses if statuses is not None else default_statuses,
        channels=tuple(dict.fromkeys(channels)), queues=tuple(dict.fromkeys(queues)), assignee=assignee,
        tags=tuple(dict.fromkeys(tags)), tones=tuple(dict.fromkeys(tones)), order=order, reference=reference,
        people=tuple(dict.fromkeys(people)), assignee_name=assignee_name,
    )
    return " ".join(words), flt, author


def _example(key: str) -> str:
    return {
        "from": 'e.g. from:alice or from:"Ann Lee"', "channel": "e.g. channel:email,chat",
        "status": "e.g. status:open or status:all", "tag": "e.g. tag:refund", "queue": "e.g. queue:billing",
        "assignee": "e.g. assignee:me or assignee:nobody", "tone": "e.g. tone:negative",
        "order": "order:due, order:recent, or an order number: order:NW-104801",
        "charge": "e.g. charge:ch_3Kx… or charge:pi_3Kx… (a payment's id)",
    }[key]
