"""Suggested answers against the demo's help centre: customer questions written the way
customers write (``data/kb_questions.tsv``), each with the article that answers it.
Questions no article answers must show nothing rather than noise.

Splits. "tune" was used while tuning the ranking; it must stay at the targets (top-1 >= 90%,
top-3 >= 97%). "held" (the tenth batch), "fresh" (the eleventh: 100 questions and 12
unanswerable, long emails with the question buried, slang, mixed topics) and "final" (the
twelfth: 37 and 6) were written and committed before the ranking read them and never tuned
on: they are the unseen figures, far below the targets, each held to a floor at what it
measured (a change can keep or raise them, never lower them).

History, each batch read once before it was tuned on (top-1/top-3): 90.2/95.1, 83.3/91.0,
85.9/91.0, 94.9/94.9, 88.5/89.7, 83.3/87.2, 89.7/91.0, 89.7/92.3; then, unchanged since,
held 84.6/88.5 (7 of 9 unanswerable hidden), fresh 60.0/65.0 (9 of 12), final 78.4/83.8 (4
of 6). Ten passes of words (stemming, synonyms, concept phrases, field weights) brought each
tuned batch to the targets and none of the next. A static embedding model beside the words
(bundled in the wordllama wheel) was tried: fresh 65.0/68.0 and final 81.1/83.8, and two
more unanswerable questions shown an article ("do you do gift wrapping" -> gift cards) —
too little for numpy, tokenizers and 127 MB of install, so it was not taken. Then fresh's
misses were read to try structural changes (confidence per sentence, per clause, a question
weight capped at its strongest terms): none moved held or final, and the misses are short
questions in words no article has, not long ones. So fresh counts as looked at from here on;
held and final were read only as totals.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console import knowledge
from console.cache.ingest import apply_batch, ensure_account
from providers.demo import content
from providers.records import Article, Batch

DATA = Path(__file__).parent / "data" / "kb_questions.tsv"


def questions(split: str) -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in DATA.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return [(expected, text) for part, expected, text in rows if part == split]


@pytest.fixture
def help_centre(db):
    acc = ensure_account(db, "help-center", "demo", "knowledge")
    apply_batch(db, acc, Batch(cursor="k", articles=[
        Article(f"kb-{i + 1:03d}", title, body, list(tags), "") for i, (title, body, tags) in enumerate(content.ARTICLES)]))
    return db


# split, top-1 and top-3 floors, unanswerable questions that must show nothing (the targets: 90% and 97%)
FLOORS = [("tune", 0.90, 0.97, 53), ("held", 0.84, 0.88, 7), ("fresh", 0.60, 0.65, 9), ("final", 0.78, 0.83, 4)]


@pytest.mark.parametrize("split,min_top1,min_top3,min_hidden", FLOORS)
def test_the_answering_article_comes_first(help_centre, split, min_top1, min_top3, min_hidden, capsys):
    remote = dict(help_centre.execute("SELECT id, remote_id FROM articles"))
    asked = [(e, q) for e, q in questions(split) if e != "none"]
    top1 = top3 = 0
    wrong = []
    for expected, question in asked:
        got = [remote[s.article_id] for s in knowledge.search(help_centre, question, 3)]
        top1 += got[:1] == [expected]
        top3 += expected in got
        if got[:1] != [expected]:
            wrong.append(f"  {question!r}: wanted {expected}, got {got}")
    unanswerable = [q for e, q in questions(split) if e == "none"]
    hidden = sum(1 for q in unanswerable if not knowledge.search(help_centre, q, 3))
    with capsys.disabled():
        print(f"\nsuggestions ({split}): {len(asked)} questions, top-1 {top1 / len(asked):.1%}, "
              f"top-3 {top3 / len(asked):.1%}; {hidden} of {len(unanswerable)} unanswerable ones show nothing")
    assert top1 / len(asked) >= min_top1 and top3 / len(asked) >= min_top3, "\n".join(wrong)
    assert hidden >= min_hidden, [q for q in unanswerable if knowledge.search(help_centre, q, 3)]


def test_the_set_is_big_enough_and_every_article_is_asked_about():
    asked = questions("tune") + questions("held")
    assert len([q for e, q in asked if e != "none"]) >= 100 and len(questions("held")) >= 60
    assert len([q for e, q in questions("fresh") if e != "none"]) >= 80
    assert len([q for e, q in questions("final") if e != "none"]) >= 30
    assert {e for e, _ in asked} >= {f"kb-{i + 1:03d}" for i in range(len(content.ARTICLES))}


@pytest.mark.parametrize("question,title", [
    ("my delivery is MIA", "Where is my order? Tracking your parcel"),
    ("how much is P&P?", "Delivery times and shipping costs"),
    ("e-gift code says invalid", "Gift cards: buying, redeeming and balance"),
    ("abort my purchase please", "Cancelling an order"),
    ("can I swap the size? jacket too small", "Exchanging for a different size or colour"),
    ("put the wrong adress on it, can u fix", "Changing your delivery address"),
    ("never recieved my pkg", "Where is my order? Tracking your parcel"),
    ("one of my items didn't come in the parcel", "Missing item in my parcel"),
])
def test_customer_words_find_the_article_words(help_centre, question, title):
    assert knowledge.search(help_centre, question, 3)[0].title == title


def test_a_poor_fit_is_not_shown(help_centre):
    assert knowledge.search(help_centre, "do you sell bikes?") == []
    assert knowledge.search(help_centre, "what is the capital of Peru") == []


def test_words_an_article_only_mentions_in_passing_are_no_answer(help_centre):
    # "website" is in the contact article's body, and "time" and "year" in the membership article's
    assert knowledge.search(help_centre, "is your website down?") == []
    assert knowledge.search(help_centre, "what's the best time of year to climb Ben Nevis") == []


def test_one_shared_noun_is_no_answer(help_centre):
    # "jacket" is in the jacket-care article's title, but nothing else of the question is anywhere
    assert knowledge.search(help_centre, "are your down jackets vegan?") == []


def test_a_customer_phrase_matches_whole_words_only(help_centre):
    # "vat" inside "activated" and "bill" inside "billing" once pulled the gift-card article above the invoices
    assert knowledge.search(help_centre, "how do I get a receipt showing VAT", 3)[0].title == (
        "Downloading invoices and VAT receipts")


def test_a_specific_need_is_the_question_beside_a_general_one(help_centre):
    # a return and a refund: the refund is what is asked about
    assert knowledge.search(help_centre, "you have my return since monday, when is the refund", 3)[0].title == (
        "When will I get my refund?")


def test_what_agents_inserted_raises_the_article_they_chose_but_never_makes_a_poor_fit(help_centre):
    from tests.support.factories import conversation, load, thread_id

    question = "the zip on my jacket broke"
    assert knowledge.search(help_centre, question, 3)[0].title == "Damaged or faulty items"
    warranty = help_centre.execute("SELECT id FROM articles WHERE title='Warranty: what is covered'").fetchone()[0]
    for n, asked in enumerate(["zip broke on my coat", "jacket zip broken after a week", "zipper on my jacket broke"], 1):
        load(help_centre, [conversation(n, text=asked)], cursor=f"c{n}")
        knowledge.insert_text(help_centre, warranty, footer=False, thread_id=thread_id(help_centre, f"t{n}"))
    assert knowledge.search(help_centre, question, 3)[0].title == "Warranty: what is covered"
    # Insertions teach the order, not whether an article fits: a question only the insertions match shows nothing.
    load(help_centre, [conversation(9, text="do you sell bikes")], cursor="c9")
    for _ in range(3):
        knowledge.insert_text(help_centre, warranty, footer=False, thread_id=thread_id(help_centre, "t9"))
    assert knowledge.search(help_centre, "do you sell bikes?") == []
