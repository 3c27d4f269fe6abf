"""Knowledge gaps on a fixture cache: the week's questions no article answered, clustered,
and how often each article was inserted — checked against values worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from console import knowledge
from console.config import parse as parse_config
from console.dashboard import figures
from console.report import render
from console.service import Service
from tests.support.factories import T0, conversation, load, thread_id

KB = Path(__file__).resolve().parents[1] / "support" / "fixtures" / "kb"
NOW = (T0 + timedelta(days=1)).timestamp()
WEEK_AGO = NOW - 7 * 86400

QUESTIONS = [  # (n, subject, first message, days before NOW)
    (1, "Bikes", "Do you sell bikes?", 1),
    (2, "Stock question", "Are bikes in stock? I want a bike for my son", 2),
    (3, "Refund", "How do refunds work? I returned the shoes last week.", 1),  # the refunds article answers it
    (4, "Dogs", "Can I bring my dog into the Leeds store?", 3),
    (5, "Kids", "do you sell bikes for kids", 4),
    (6, "Bikes", "bikes? do you sell them", 9),  # before the week
]


@pytest.fixture
def cache(db):
    knowledge.index_folder(db, KB)
    service = Service(parse_config(""))
    for n, subject, text, days in QUESTIONS:
        t, m = conversation(n, subject=subject, text=text, at=T0 + timedelta(days=1) - timedelta(days=days))
        _, result = load(db, [(t, m)], cursor=f"c{n}")
        service.process(db, result)
    refunds = db.execute("SELECT id FROM articles WHERE title='How refunds work'").fetchone()[0]
    tracking = db.execute("SELECT id FROM articles WHERE title='Delivery times and tracking'").fetchone()[0]
    for n, article in ((3, refunds), (3, refunds), (2, tracking)):
        knowledge.insert_text(db, article, footer=False, thread_id=thread_id(db, f"t{n}"))
    db.execute("INSERT INTO article_uses(article_id, thread_id, at) VALUES (?, ?, ?)", (tracking, None, WEEK_AGO - 60))
    return db


def test_unanswered_questions_are_clustered_with_counts_and_examples(cache):
    f = figures(cache, parse_config(""), NOW)
    ids = {n: thread_id(cache, f"t{n}") for n in range(1, 7)}
    got = [(g.label, g.value, g.thread_ids, g.detail) for g in f.knowledge_gaps]
    # t1 {sell, bike} opens a cluster; t2 {bike, stock, son} shares 1 of 3 terms with it (>= 0.3): joins;
    # t5 {sell, bike, kid} shares 2 of 3: joins. t4 {bring, dog, leeds, store} shares none: its own.
    # t3 is answered by "How refunds work"; t6 is older than the week.
    assert got == [
        ("bikes · sell", 3, sorted([ids[1], ids[2], ids[5]]), "e.g. “Do you sell bikes?”"),
        ("bring · dog · leeds", 1, [ids[4]], "e.g. “Can I bring my dog into the Leeds store?”"),
    ]


def test_article_insertions_are_counted_in_the_week(cache):
    f = figures(cache, parse_config(""), NOW)
    assert [(a.label, a.value, a.thread_ids) for a in f.article_uses] == [
        ("How refunds work", 2, [thread_id(cache, "t3")]),
        ("Delivery times and tracking", 1, [thread_id(cache, "t2")]),  # the use before the week is not counted
    ]


def test_report_shows_both(cache):
    text = render(cache, parse_config(""), None, as_json=False, now=NOW)
    gaps = text.split("Questions no article answered")[1]
    assert "bikes · sell" in gaps and "e.g. “Do you sell bikes?”" in gaps
    assert "How refunds work" in text.split("Articles inserted")[1]

