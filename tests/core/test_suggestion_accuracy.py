"""Suggested answers against the demo's help centre: customer questions written the way
customers write (``data/kb_questions.tsv``), each with the article that answers it.
Questions no article answers must show nothing rather than noise.

The ranking reads each article's title, tags and body, the other ways customers ask what it
answers (its questions: ``providers/demo/questions.tsv``, 1,884 of them, none among the
questions here) and what agents inserted it for; words through stemming, synonyms and
concept phrases, and meaning through a static sentence-embedding model (``console.meaning``).

History (top-1/top-3 on answerable questions, each batch first read unseen). With words alone
and no article questions, nine passes brought each tuned batch to the targets and none of the
next: 90.2/95.1, 83.3/91.0, 85.9/91.0, 94.9/94.9, 88.5/89.7, 83.3/87.2, 89.7/91.0, 89.7/92.3,
then held 84.6/88.5, fresh 60.0/65.0, final 78.4/83.8 and "a" 73.1/77.7. The embedding model
beside those words added 3-5 points. Then the answerable questions of the first nine batches
became the demo articles' questions, with 1,216 more from three writers who saw only the articles,
and the meaning model compares a question with those: held, fresh, final and "a" were read
while choosing the weights (below); "b", sealed until then, was read once (96.9/98.5), and
"c", from a third writer testing the search with buried needs, after it (87.5/89.4); "d", from a
fourth with the same brief, sealed until the ranking was final, once (87.5/90.4); "e", a fifth
writer's mixed inbox, likewise (91.5/94.6). Together those fell short of the top-3 target: most
misses were long messages showing nothing, the right article first but the likeness of a message
diluted by greetings and background below the bar. ``Match.fits`` then learned a length rule,
fitted on the splits read before; "x" and "y", from two more writers, sealed until it was final,
were read once before it (95.1/96.1 and 87.9/91.6) and once after (97.1/99.0 and 95.3/97.2;
one more of y's unanswerable questions shows something, 7 of 12 show nothing). Each split is
held to a floor at what it measures now; all answerable questions together reach both targets
(94.6% top-1, 97.8% top-3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console import knowledge, relevance
from console.cache.ingest import apply_batch, ensure_account
from providers.demo import content
from providers.records import Batch

DATA = Path(__file__).parent / "data" / "kb_questions.tsv"


def questions(split: str) -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in DATA.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return [(expected, text) for part, expected, text in rows if part == split]


@pytest.fixture
def help_centre(db):
    acc = ensure_account(db, "help-center", "demo", "knowledge")
    apply_batch(db, acc, Batch(cursor="k", articles=content.help_centre()))
    return db


# split, top-1 and top-3 floors, unanswerable questions that must show nothing
FLOORS = [("tune", None, None, 45), ("held", 1.0, 1.0, 6), ("fresh", 0.91, 0.97, 8), ("final", 0.97, 1.0, 3),
          ("a", 0.97, 0.98, 9), ("b", 0.96, 0.99, 8), ("c", 0.88, 0.95, 8), ("d", 0.90, 0.95, 7),
          ("e", 0.93, 0.97, 10), ("x", 0.97, 0.99, 8), ("y", 0.95, 0.97, 7)]
TARGETS = 0.90, 0.97


def figures(db, split: str | None) -> tuple[int, int, int, list[str], list[str]]:
    """For one split (None: every split): answerable questions, right first, right in the first three, the
    misses, and the unanswerable questions that showed something."""
    remote = dict(db.execute("SELECT id, remote_id FROM articles"))
    rows = [(e, q) for part in ([split] if split else [f[0] for f in FLOORS]) for e, q in questions(part)]
    asked = [(e, q) for e, q in rows if e != "none"]
    top1 = top3 = 0
    wrong = []
    for expected, question in asked:
        got = [remote[s.article_id] for s in knowledge.search(db, question, 3)]
        top1 += got[:1] == [expected]
        top3 += expected in got
        if got[:1] != [expected]:
            wrong.append(f"  {question!r}: wanted {expected}, got {got}")
    shown = [q for e, q in rows if e == "none" and knowledge.search(db, q, 3)]
    return len(asked), top1, top3, wrong, shown


@pytest.mark.parametrize("split,min_top1,min_top3,min_hidden", FLOORS)
def test_the_answering_article_comes_first(help_centre, split, min_top1, min_top3, min_hidden, capsys):
    n, top1, top3, wrong, shown = figures(help_centre, split)
    unanswerable = sum(1 for e, _ in questions(split) if e == "none")
    with capsys.disabled():
        answered = f"{n} questions, top-1 {top1 / n:.1%}, top-3 {top3 / n:.1%}; " if n else ""
        print(f"\nsuggestions ({split}): {answered}{unanswerable - len(shown)} of {unanswerable} unanswerable ones "
              f"show nothing")
    if n:
        assert top1 / n >= min_top1 and top3 / n >= min_top3, "\n".join(wrong)
    assert unanswerable - len(shown) >= min_hidden, shown


def test_all_the_questions_together(help_centre, capsys):
    n, top1, top3, wrong, shown = figures(help_centre, None)
    with capsys.disabled():
        print(f"\nsuggestions (all {n} answerable): top-1 {top1 / n:.1%}, top-3 {top3 / n:.1%}")
    assert top1 / n >= TARGETS[0] and top3 / n >= TARGETS[1], "\n".join(wrong)


def test_the_set_is_big_enough_and_every_article_is_asked_about():
    answerable = {split: [e for e, _ in questions(split) if e != "none"] for split, *_ in FLOORS}
    assert min(len(answerable[split]) for split in "bcdexy") >= 100 and sum(map(len, answerable.values())) >= 1000
    articles = {f"kb-{i + 1:03d}" for i in range(len(content.ARTICLES))}
    assert all(set(answerable[split]) == articles for split in "abcdexy")
    # none of them is one of the articles' own questions
    own = {q.lower() for article in content.help_centre() for q in article.questions}
    assert not [q for split, *_ in FLOORS for _, q in questions(split) if q.lower() in own]


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


def test_a_long_message_needs_less_likeness_than_a_short_one():
    # Greetings and background spread a long message's meaning: the same likeness and evidence that are not
    # enough in six words are enough in forty-five.
    evidence = relevance.Evidence(0.3, ("snug",), 0, False)
    match = relevance.Match(1, 2.0, heard=evidence, written=relevance.Evidence(), near=0.45)
    assert match.fits(knowledge.MIN_CONFIDENCE, words=45)
    assert not match.fits(knowledge.MIN_CONFIDENCE, words=6)
    # words found only in the article's questions count for a short message only where the meaning agrees
    products = relevance.Match(1, 2.0, heard=relevance.Evidence(1.0, ("sell", "bikes"), 0, False),
                               written=relevance.Evidence(), near=0.36)
    assert not products.fits(knowledge.MIN_CONFIDENCE, words=4)
    # however long the message, a sliver of its words is no evidence ("I've been a customer for years …")
    sliver = relevance.Match(1, 2.0, heard=relevance.Evidence(0.09, ("years", "next"), 0, True),
                             written=relevance.Evidence(), near=0.3)
    assert not sliver.fits(knowledge.MIN_CONFIDENCE, words=38)


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

    question = "my tent pole snapped"
    assert knowledge.search(help_centre, question, 3)[0].title == "Damaged or faulty items"
    warranty = help_centre.execute("SELECT id FROM articles WHERE title='Warranty: what is covered'").fetchone()[0]
    for n, asked in enumerate(["tent pole snapped on the first night", "pole on my tent broke",
                               "snapped a pole on the tent"], 1):
        load(help_centre, [conversation(n, text=asked)], cursor=f"c{n}")
        knowledge.insert_text(help_centre, warranty, footer=False, thread_id=thread_id(help_centre, f"t{n}"))
    assert knowledge.search(help_centre, question, 3)[0].title == "Warranty: what is covered"
    # Insertions teach the order, not whether an article fits: a question only the insertions match shows nothing.
    load(help_centre, [conversation(9, text="do you sell bikes")], cursor="c9")
    for _ in range(3):
        knowledge.insert_text(help_centre, warranty, footer=False, thread_id=thread_id(help_centre, "t9"))
    assert knowledge.search(help_centre, "do you sell bikes?") == []
