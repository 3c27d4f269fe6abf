"""Knowledge gaps for leaders: what customers asked that no help article answers well, and
which articles agents actually use.

A conversation's question is the customer's first message in the period that asks for
something (a question, complaint, refund or cancel request; not praise, chit-chat or an
auto-reply). It is *unanswered* when no article reaches the
suggestion threshold (``knowledge.MIN_CONFIDENCE``) for it and the subject — what the
agent saw: no suggestion. Unanswered questions are clustered by the terms of the message
(the same reading as the ranking: stems and concepts), greedily, newest first.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from console import knowledge, relevance
from console.quotes import strip_quoted

MAX_QUESTIONS = 2000  # the newest questions of the period at most
SIMILAR = 0.3  # share of a question's terms the cluster must mostly use for it to join
ASKING = ("question", "complaint", "refund", "cancel")  # kinds of message that ask for something


@dataclass
class Gap:
    label: str  # the words the cluster's customers used most
    thread_ids: list[int] = field(default_factory=list)
    example: str = ""  # the first question, one line
    terms: Counter = field(default_factory=Counter)  # term -> how many of its questions use it
    words: dict[str, str] = field(default_factory=dict)  # term -> the first customer's word for it


def questions(db: sqlite3.Connection, start: float) -> list[tuple[int, str, str]]:
    """(thread id, subject, first message) for conversations whose customer wrote in the period, newest first."""
    rows = db.execute(
        """SELECT t.id, t.subject,
                  (SELECT m.text FROM messages m WHERE m.thread_id = t.id AND m.direction = 'inbound'
                     AND m.sent_at >= ?1 AND m.kind IN (SELECT value FROM json_each(?3)) AND m.text != ''
                   ORDER BY m.sent_at, m.id LIMIT 1) AS first
           FROM threads t WHERE t.last_inbound_at >= ?1 ORDER BY t.last_inbound_at DESC, t.id DESC LIMIT ?2""",
        (start, MAX_QUESTIONS, json.dumps(ASKING))).fetchall()
    return [(r["id"], r["subject"], strip_quoted(r["first"])) for r in rows if r["first"]]


def unanswered(db: sqlite3.Connection, start: float) -> list[Gap]:
    """Clusters of the period's questions no article answers well, biggest first."""
    gaps: list[Gap] = []
    for thread_id, subject, text in questions(db, start):
        if knowledge.ranked(db, [(text, knowledge.LATEST), (subject, knowledge.SUBJECT)], limit=1):
            continue
        analysed = relevance.analyse(text) or relevance.analyse(subject)
        mine = Counter(term for term, _ in analysed)
        if not mine:
            continue
        words = {term: word for term, word in analysed}
        home = max(gaps, key=lambda g: _overlap(g.terms, mine), default=None)
        if home is None or _overlap(home.terms, mine) < SIMILAR:
            home = Gap(label="", example=" ".join(text.split())[:100])  # the newest question
            gaps.append(home)
        home.thread_ids.append(thread_id)
        home.terms.update(dict.fromkeys(mine, 1))
        for term, word in words.items():
            home.words.setdefault(term, word)
    for g in gaps:
        most = g.terms.most_common(3)
        g.label = " · ".join(g.words[t] for t, n in most if n * 2 >= len(g.thread_ids) or n == most[0][1])
        g.thread_ids.sort()
    gaps.sort(key=lambda g: (-len(g.thread_ids), g.label))
    return gaps


def _overlap(cluster: Counter, mine: Counter) -> float:
    """Share of this question's terms that the cluster's questions mostly use."""
    if not cluster:
        return 0.0
    size = max(cluster.values())
    common = [t for t in mine if cluster.get(t, 0) * 2 >= size]
    return len(common) / len(mine)


def article_uses(db: sqlite3.Connection, start: float) -> list[tuple[int, str, int, list[int]]]:
    """(article id, title, times inserted, conversation ids) for the period, most used first."""
    rows = db.execute(
        """SELECT u.article_id, a.title, u.thread_id FROM article_uses u JOIN articles a ON a.id = u.article_id
           WHERE u.at >= ? ORDER BY u.id""", (start,)).fetchall()
    per: dict[int, list] = {}
    for r in rows:
        entry = per.setdefault(r["article_id"], [r["article_id"], r["title"], 0, []])
        entry[2] += 1
        if r["thread_id"] is not None and r["thread_id"] not in entry[3]:
            entry[3].append(r["thread_id"])
    return sorted((tuple(e) for e in per.values()), key=lambda e: (-e[2], e[1]))
