"""Supervisor figures, live from the cache. Each figure carries the conversation ids
behind it so a supervisor can drill down.

Definitions (what each figure counts):
- *all open*: open + pending, exactly what the inbox's "All open" view lists (named the same);
- *open*: status ``open`` (waiting for us), labelled "Open, waiting for us"; pending (waiting
  for the customer) is not queue depth, though the inbox's "All open" view shows it too;
- *unassigned*: open with no assignee;
- *at risk* / *breached*: open conversations whose SLA countdown is in warning / past due;
- *breaches in period*: conversations whose target passed (``breaches.due_at``) in the period,
  however late the breach was noticed;
- *oldest waiting*: the open conversation whose customer has waited longest since our last reply,
  named by subject and customer;
- *first response*: for conversations first answered in the period, first answer minus the
  customer's first message; median and p90 by nearest rank, per channel;
- *load*: open + pending conversations per assignee, against ``capacity`` from ``[[agents]]``
  ("at capacity", "over capacity by N");
- *top tags*: tags on conversations active in the period (each conversation counts once);
- *complaint words*: words in complaints or angry messages in the period (the newest 3,000 at
  most), each conversation counting a word once;
- *complaint words*: skip stop words, the team's own names (agents, accounts, the addresses we
  write from) and every address, URL and @handle; a two-word phrase ("charged twice") replaces
  its words when it appears in at least two conversations and covers half the uses of its words;
- *questions no article answered*: the period's questions for which no article reaches the
  suggestion threshold, clustered by shared terms (``console/gaps.py``), with an example;
- *articles inserted*: rows in ``article_uses`` (an agent put the article into a reply);
- *CSAT*: ``csat`` (1–5) in conversation meta, for conversations active in the period.

Periods: with ``since`` given, every period figure starts there; without it, first
response covers today (local midnight) and tags, words and CSAT the last 7 days.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from console import gaps, sla
from console.errors import ConfigError
from console.knowledge import STOP_WORDS
from console.quotes import strip_quoted

if TYPE_CHECKING:
    from console.config import Config

WEEK = 7 * 86400
# Conversations with activity since ?1, written so SQLite can use the (status, last_message_at) index.
ACTIVE = "t.status IN ('open','pending','snoozed','closed') AND t.last_message_at >= ?1"
TOP = 10
MAX_COMPLAINTS = 3000  # complaint words come from at most this many of the newest complaints
# Words every support message carries: they say nothing about what went wrong.
ROUTINE_WORDS = frozenset("order orders ordered email emails message messages customer service support reply "
                          "replied answer number account nothing anyone someone time times".split())


@dataclass
class Figure:
    label: str
    value: float | int | None
    thread_ids: list[int] = field(default_factory=list)
    display: str = ""  # the value as a person reads it
    detail: str = ""
    alert: bool = False  # a figure past its limit (over capacity, breached now): shown as a warning

    def __post_init__(self) -> None:
        if not self.display:
            self.display = "—" if self.value is None else f"{self.value:g}" if isinstance(self.value, float) else str(self.value)


@dataclass
class Figures:
    now: float
    today_start: float
    week_start: float
    open_by_queue: list[Figure] = field(default_factory=list)
    open_by_channel: list[Figure] = field(default_factory=list)
    all_open: Figure = None  # type: ignore[assignment]
    open_total: Figure = None  # type: ignore[assignment]
    unassigned: Figure = None  # type: ignore[assignment]
    at_risk: Figure = None  # type: ignore[assignment]
    breached: Figure = None  # type: ignore[assignment]
    breaches_in_period: Figure = None  # type: ignore[assignment]
    oldest_waiting: Figure = None  # type: ignore[assignment]
    first_response: list[Figure] = field(default_factory=list)  # per channel: value = median seconds
    agent_load: list[Figure] = field(default_factory=list)
    top_tags: list[Figure] = field(default_factory=list)
    complaint_words: list[Figure] = field(default_factory=list)
    knowledge_gaps: list[Figure] = field(default_factory=list)  # questions no article answered well, clustered
    article_uses: list[Figure] = field(default_factory=list)  # help articles agents inserted, most used first
    csat: Figure | None = None

    def sections(self) -> list[tuple[str, list[Figure]]]:
        """The figures grouped for a screen or a report, in reading order."""
        out = [
            ("Service levels", [self.all_open, self.open_total, self.unassigned, self.at_risk, self.breached, self.breaches_in_period,
                                self.oldest_waiting]),
            ("Open by queue", self.open_by_queue),
            ("Open by channel", self.open_by_channel),
            ("First response (median · p90)", self.first_response),
            ("Load per agent", self.agent_load),
            ("Top tags", self.top_tags),
            ("Words in complaints", self.complaint_words),
            ("Questions no article answered", self.knowledge_gaps),
            ("Articles inserted", self.article_uses),
        ]
        if self.csat is not None:
            out.append(("Customer satisfaction", [self.csat]))
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ids(rows) -> list[int]:
    return [r[0] for r in rows]


def nearest_rank(values: list[float], pct: float) -> float | None:
    """The pct-th percentile by nearest rank (the smallest value with pct% at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _start_of_day(now: float) -> float:
    local = datetime.fromtimestamp(now).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _agents(config: Config) -> list[tuple[str, int]]:
    """(name, capacity) of each agent in ``[[agents]]``, from the typed triage section; none when
    that section is wrong (the console says why once; the figures still show every assignee)."""
    try:
        return [(a.name, a.capacity) for a in config.triage.agents]
    except ConfigError:
        return []


def sla_settings(db: sqlite3.Connection, config: Config) -> sla.Settings:
    """The config's SLA policies, with the policies triage rules set on conversations."""
    settings = config.sla
    for thread_id, effects in db.execute(
            "SELECT thread_id, effects FROM triage_log WHERE effects LIKE '%\"sla\"%' ORDER BY id"):
        policy = json.loads(effects).get("sla")
        if policy:
            settings.overrides[thread_id] = policy
    return settings


def figures(db: sqlite3.Connection, config: Config, now: float, since: float | None = None) -> Figures:
    today = since if since is not None else _start_of_day(now)
    week = since if since is not None else now - WEEK
    f = Figures(now=now, today_start=today, week_start=week)

    open_rows = db.execute(
        "SELECT id, channel, queue, assignee, sla_due_at, priority, first_response_at FROM threads "
        "WHERE status='open' ORDER BY sort_due, id").fetchall()
    pending = db.execute("SELECT COUNT(*) FROM threads WHERE status='pending'").fetchone()[0]
    every_open = [r[0] for r in db.execute(
        "SELECT id FROM threads WHERE status IN ('open','pending') ORDER BY sort_due, id")]
    f.all_open = Figure("All open", len(every_open), every_open,
                        detail=f"as the inbox's All open view: {len(open_rows)} waiting for us, {pending} pending")
    f.open_total = Figure("Open, waiting for us", len(open_rows), [r["id"] for r in open_rows],
                          detail=f"the inbox's All open also holds {pending} pending" if pending else "")
    by_queue: dict[str, list[int]] = defaultdict(list)
    by_channel: dict[str, list[int]] = defaultdict(list)
    for r in open_rows:
        by_queue[r["queue"] or "(no queue)"].append(r["id"])
        by_channel[r["channel"]].append(r["id"])
    f.open_by_queue = [Figure(q, len(ids), ids) for q, ids in sorted(by_queue.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    f.open_by_channel = [Figure(c, len(ids), ids) for c, ids in sorted(by_channel.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    unassigned = [r["id"] for r in open_rows if not r["assignee"]]
    f.unassigned = Figure("Unassigned", len(unassigned), unassigned)

    settings = sla_settings(db, config)
    risk, breached = [], []
    for r in open_rows:
        state, _ = sla.state(r, now, settings)
        if state == "warning":
            risk.append(r["id"])
        elif state == "breached":
            breached.append(r["id"])
    f.at_risk = Figure("SLA at risk", len(risk), risk)
    f.breached = Figure("SLA breached now", len(breached), breached, alert=bool(breached))
    rows = db.execute("SELECT DISTINCT thread_id FROM breaches WHERE due_at >= ? AND due_at <= ? ORDER BY thread_id",
                      (today, now)).fetchall()
    f.breaches_in_period = Figure("Breaches in period", len(rows), _ids(rows),
                                  detail=f"since {datetime.fromtimestamp(today).astimezone():%Y-%m-%d %H:%M}")

    f.oldest_waiting = _oldest_waiting(db, now)
    f.first_response = _first_response(db, today)
    f.agent_load = _load(db, config)
    f.top_tags = _top_tags(db, week)
    f.complaint_words = _complaint_words(db, week, config)
    f.knowledge_gaps = [Figure(g.label, len(g.thread_ids), g.thread_ids, detail=f"e.g. “{g.example}”")
                        for g in gaps.unanswered(db, week)[:TOP]]
    f.article_uses = [Figure(title, n, ids) for _, title, n, ids in gaps.article_uses(db, week)[:TOP]]
    f.csat = _csat(db, week)
    return f


def _oldest_waiting(db: sqlite3.Connection, now: float) -> Figure:
    row = db.execute(
        """SELECT t.id, t.subject, COALESCE(c.name, '') AS customer, (SELECT MIN(m.sent_at) FROM messages m WHERE m.thread_id = t.id AND m.direction = 'inbound'
                          AND m.sent_at > COALESCE((SELECT MAX(o.sent_at) FROM messages o
                                                   WHERE o.thread_id = t.id AND o.direction = 'outbound'), -1e18)
                        ) AS since
           FROM threads t LEFT JOIN customers c ON c.id = t.customer_id
           WHERE t.status = 'open' AND t.last_inbound_at IS NOT NULL
           ORDER BY since IS NULL, since, t.id LIMIT 1""").fetchone()
    if row is None or row["since"] is None:
        return Figure("Oldest waiting", None, [], display="nobody waiting")
    waited = now - row["since"]
    return Figure("Oldest waiting", round(waited), [row["id"]], display=sla.short_duration(waited),
                  detail=" · ".join(x for x in (f"“{row['subject']}”" if row["subject"] else "", row["customer"]) if x)
                  or f"conversation {row['id']}")


def _first_response(db: sqlite3.Connection, start: float) -> list[Figure]:
    rows = db.execute(
        """SELECT t.id, t.channel, t.first_response_at - MIN(m.sent_at) AS frt
           FROM threads t JOIN messages m ON m.thread_id = t.id AND m.direction = 'inbound'
           WHERE {ACTIVE} AND t.first_response_at IS NOT NULL AND t.first_response_at >= ?1
           GROUP BY t.id ORDER BY t.id""".replace("{ACTIVE}", ACTIVE), (start,)).fetchall()
    per: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        if r["frt"] is not None and r["frt"] >= 0:
            per[r["channel"]].append((r["id"], r["frt"]))
    out = []
    for channel in sorted(per):
        values = [v for _, v in per[channel]]
        med, p90 = nearest_rank(values, 50), nearest_rank(values, 90)
        out.append(Figure(channel, med, [i for i, _ in per[channel]],
                          display=f"{sla.short_duration(med)} · {sla.short_duration(p90)}",
                          detail=f"{len(values)} answered"))
    return out


def _load(db: sqlite3.Connection, config: Config) -> list[Figure]:
    held: dict[str, list[int]] = defaultdict(list)
    for r in db.execute("SELECT id, assignee FROM threads WHERE status IN ('open','pending') AND assignee IS NOT NULL "
                        "ORDER BY id"):
        held[r["assignee"]].append(r["id"])
    out = []
    known = _agents(config)
    for name, cap in known:
        ids = held.pop(name, [])
        out.append(Figure(name, len(ids), ids, display=f"{len(ids)}/{cap}" if cap else str(len(ids)),
                          detail=_capacity(len(ids), cap), alert=bool(cap) and len(ids) > cap))
    for name in sorted(held):  # assignees not in [[agents]]
        ids = held[name]
        out.append(Figure(name, len(ids), ids, detail="not in [[agents]]"))
    return out


def _capacity(held: int, cap: int) -> str:
    if not cap or held < cap:
        return ""
    return "at capacity" if held == cap else f"over capacity by {held - cap}"


def _top_tags(db: sqlite3.Connection, start: float) -> list[Figure]:
    per: dict[str, dict[int, None]] = defaultdict(dict)  # tag -> thread ids in order, once each
    for r in db.execute(f"SELECT t.id, j.value FROM threads t, json_each(t.tags) j WHERE {ACTIVE} ORDER BY t.id",
                        (start,)):
        per[r[1]][r[0]] = None
    ranked = sorted(per.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:TOP]
    return [Figure(tag, len(ids), list(ids)) for tag, ids in ranked]


def _complaint_words(db: sqlite3.Connection, start: float, config: Config) -> list[Figure]:
    """Words and two-word phrases in complaints; a phrase replaces its words when it says more."""
    own = _own_words(db, config)
    words: dict[str, set[int]] = defaultdict(set)
    phrases: dict[str, set[int]] = defaultdict(set)
    for r in db.execute(
            f"""SELECT m.thread_id, m.text FROM threads t JOIN messages m ON m.thread_id = t.id
                WHERE {ACTIVE} AND m.direction='inbound' AND m.sent_at >= ?1
                  AND (m.kind='complaint' OR m.tone='angry') ORDER BY m.id DESC LIMIT ?2""",
            (start, MAX_COMPLAINTS)):
        for run in _runs(_ADDRESS.sub(" . ", strip_quoted(r["text"])), own):
            for word in run:
                words[word].add(r["thread_id"])
            for a, b in zip(run, run[1:]):
                if a != b:
                    phrases[f"{a} {b}"].add(r["thread_id"])
    items: dict[str, set[int]] = {}
    covered: dict[str, set[int]] = defaultdict(set)
    for phrase, ids in phrases.items():
        a, b = phrase.split()
        if len(ids) >= 2 and len(ids) * 2 >= min(len(words[a]), len(words[b])):
            items[phrase] = ids
            covered[a] |= ids
            covered[b] |= ids
    for word, ids in words.items():
        if len(covered[word]) * 2 < len(ids):  # most of its uses are not inside a shown phrase
            items[word] = ids
    ranked = sorted(items.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:TOP]
    return [Figure(w, len(ids), sorted(ids)) for w, ids in ranked]


# E-mail addresses, web addresses and @handles: whose they are says nothing about what went wrong.
_ADDRESS = re.compile(r"\S+@\S+|@[\w.-]+|\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(?:com|org|net|example|social)\b", re.I)
_RUN_BREAK = re.compile(r"[.,;:!?()\[\]\n\"…]+")


def _runs(text: str, own: frozenset[str]) -> list[list[str]]:
    """Runs of meaningful words, broken at punctuation and at every word that was left out."""
    out = []
    for chunk in _RUN_BREAK.split(text.lower()):
        run: list[str] = []
        for raw in re.findall(r"[^\W_]+(?:'[^\W_]+)?", chunk):
            word = raw.replace("'", "")
            if (len(word) < 3 or word in STOP_WORDS or raw in STOP_WORDS or word.isdigit() or word in ROUTINE_WORDS
                    or word in own or any(ch.isdigit() for ch in word)):
                if run:
                    out.append(run)
                run = []
                continue
            run.append(word)
        if run:
            out.append(run)
    return out


def _own_words(db: sqlite3.Connection, config: Config) -> frozenset[str]:
    """The team's own names: agents, accounts, and the names and addresses we write from."""
    names: list[str] = [a for a, _ in _agents(config)]
    names += [config.agent_name, config.agent_email]
    names += [a.name for a in config.accounts]
    for r in db.execute("""SELECT DISTINCT i.address, i.display_name FROM messages m
                           JOIN identities i ON i.id = m.author_identity_id
                           WHERE m.direction = 'outbound' LIMIT 200"""):
        names += [r["address"] or "", r["display_name"] or ""]
    return frozenset(w for n in names for w in re.findall(r"[^\W_\d]+", n.lower()) if len(w) >= 3)


def _csat(db: sqlite3.Connection, start: float) -> Figure | None:
    scores = []
    for r in db.execute(f"SELECT t.id, t.meta FROM threads t WHERE {ACTIVE} AND t.meta LIKE '%csat%' ORDER BY t.id",
                        (start,)):
        try:
            value = json.loads(r["meta"]).get("csat")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, dict):
            value = value.get("score")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            scores.append((r["id"], float(value)))
    if not scores:
        return None
    avg = sum(v for _, v in scores) / len(scores)
    happy = sum(1 for _, v in scores if v >= 4)
    return Figure("CSAT (1–5)", round(avg, 2), [i for i, _ in scores],
                  display=f"{avg:.2f} · {round(100 * happy / len(scores))}% satisfied",
                  detail=f"{len(scores)} ratings")
