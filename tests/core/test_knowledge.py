"""Knowledge base: folder indexing, suggestion ranking on a fixture knowledge base,
and the block an agent inserts (never sent by itself)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from console import knowledge
from console.cache.ingest import apply_batch, ensure_account
from console.config import parse as parse_config
from console.errors import ConfigError
from console.service import Service
from providers.records import Article, Batch
from tests.support.factories import T0, conversation, load, thread_id

KB = Path(__file__).resolve().parents[1] / "support" / "fixtures" / "kb"


@pytest.fixture
def kb(db):
    assert knowledge.index_folder(db, KB) == 7
    return db


def title_of(db, article_id):
    return db.execute("SELECT title FROM articles WHERE id=?", (article_id,)).fetchone()[0]


def test_folder_articles_titles_tags_and_urls(kb):
    rows = {r["remote_id"]: r for r in kb.execute("SELECT * FROM articles WHERE source='folder'")}
    assert rows["refunds.md"]["title"] == "How refunds work"
    assert rows["refunds.md"]["url"] == "https://help.example.com/refunds"
    assert rows["reset-password.md"]["title"] == "Resetting your password"  # from the first heading
    assert "# Resetting" not in rows["reset-password.md"]["body"]
    assert rows["billing/invoices.md"]["title"] == "Downloading an invoice"  # sub-folders too


def test_reindex_updates_and_drops_removed_files(db, tmp_path):
    folder = tmp_path / "kb"
    shutil.copytree(KB, folder)
    knowledge.index_folder(db, folder)
    (folder / "change-address.md").unlink()
    (folder / "refunds.md").write_text("# Refund policy\nNew text.\n")
    knowledge.index_folder(db, folder)
    titles = {r[0] for r in db.execute("SELECT title FROM articles")}
    assert "Refund policy" in titles and "How refunds work" not in titles
    assert "Changing the delivery address" not in titles
    assert "Changing the delivery address" not in [s.title for s in knowledge.search(db, "delivery address edit")]


@pytest.mark.parametrize("question,expected", [
    ("Hi, I returned the shoes last week. When do I get my money refunded?", "How refunds work"),
    ("My tracking number has not updated for days, where is my parcel?", "Delivery times and tracking"),
    ("I forgot my password and the reset link never arrives", "Resetting your password"),
    ("How can I cancel my subscription? I don't want to be charged again.", "Cancelling your subscription"),
    ("The vase arrived broken, the item is damaged. What now?", "My item arrived damaged"),
    ("I need an invoice with our VAT number for order 5512", "Downloading an invoice"),
    ("I moved house, can I change the delivery address on my order?", "Changing the delivery address"),
])
def test_right_article_first(kb, question, expected):
    t, m = conversation(1, text=question, subject="Help")
    load(kb, [(t, m)])
    found = knowledge.suggest(kb, thread_id(kb, "t1"))
    assert found, "no suggestion"
    assert found[0].title == expected
    assert len(found) <= 3
    assert found[0].score > 0 and found == sorted(found, key=lambda s: -s.score)


def test_latest_inbound_message_is_the_query(kb):
    t, m1 = conversation(1, text="I forgot my password", subject="Login")
    _, result = load(kb, [(t, m1)])
    acc = kb.execute("SELECT id FROM accounts WHERE name='mail'").fetchone()[0]
    _, m2 = conversation(1, text="Never mind that. How long does express delivery take?", at=T0 + timedelta(hours=1))
    m2.remote_id = "m1b"
    apply_batch(kb, acc, Batch(cursor="c2", messages=[m2]))
    assert knowledge.suggest(kb, thread_id(kb, "t1"))[0].title == "Delivery times and tracking"


def test_snippet_shows_the_match_and_no_stop_words_in_terms(kb):
    s = knowledge.search(kb, "Can you please tell me about the refund for my return?")[0]
    assert "refund" in s.snippet.lower()
    assert "please" not in s.terms and "the" not in s.terms and "refund" in s.terms


def test_hostile_query_is_not_fts_syntax(kb):
    found = knowledge.search(kb, 'refund" OR title:* NEAR( ) AND -')  # must not raise an FTS5 syntax error
    assert found and found[0].title == "How refunds work"
    assert knowledge.search(kb, "the and of") == []  # only stop-words: no query


def test_adapter_articles_are_suggested_too(db):
    acc = ensure_account(db, "help-center", "demo", "knowledge")
    apply_batch(db, acc, Batch(cursor="k", articles=[
        Article("a1", "Gift cards", "Gift cards never expire and can be used on any order.", ["gift"],
                "https://help.example.com/gift")]))
    assert knowledge.search(db, "does my gift card expire")[0].title == "Gift cards"


def test_insert_text_block_with_and_without_footer(kb):
    art = kb.execute("SELECT id FROM articles WHERE remote_id='refunds.md'").fetchone()[0]
    text = knowledge.insert_text(kb, art, footer=True)
    assert text.startswith("From our help centre — How refunds work:")
    assert "> We refund the full price" in text
    assert "Full article: https://help.example.com/refunds" in text
    assert text.rstrip().endswith(knowledge.DEFAULT_FOOTER)
    assert knowledge.DEFAULT_FOOTER not in knowledge.insert_text(kb, art, footer=False)
    assert knowledge.insert_text(kb, art, footer=True, footer_text="Write back any time.").rstrip().endswith(
        "Write back any time.")
    with pytest.raises(LookupError):
        knowledge.insert_text(kb, 9999, footer=False)


def test_service_indexes_the_configured_folder_and_footer_text(db, tmp_path):
    cfg = parse_config(f'[knowledge]\nfolder = "{KB}"\nfooter_text = "Still stuck? Just reply."\n')
    Service(cfg).start(db)
    assert db.execute("SELECT COUNT(*) FROM articles WHERE source='folder'").fetchone()[0] == 7
    art = db.execute("SELECT id FROM articles LIMIT 1").fetchone()[0]
    assert knowledge.insert_text(db, art, footer=True, footer_text=cfg.knowledge.footer_text).rstrip().endswith(
        "Still stuck? Just reply.")


def test_knowledge_config_errors():
    with pytest.raises(ConfigError, match=r"\[knowledge\]: unknown setting 'folders'"):
        Service(parse_config('[knowledge]\nfolders = "x"'))
    with pytest.raises(ConfigError, match="knowledge.suggestions = 0"):
        Service(parse_config("[knowledge]\nsuggestions = 0"))


def test_unsearchable_latest_message_falls_back_to_the_conversation(kb):
    t, m1 = conversation(1, text="I forgot my password and the reset link never arrives", subject="Login")
    load(kb, [(t, m1)])
    acc = kb.execute("SELECT id FROM accounts WHERE name='mail'").fetchone()[0]
    _, m2 = conversation(1, text="Hello??? Anyone?", at=T0 + timedelta(hours=1))
    m2.remote_id = "m1b"
    apply_batch(kb, acc, Batch(cursor="c2", messages=[m2]))
    assert knowledge.suggest(kb, thread_id(kb, "t1"))[0].title == "Resetting your password"


def test_missing_folder_is_a_startup_error(tmp_path):
    with pytest.raises(ConfigError, match=r"knowledge.folder '.*nowhere' is not a folder"):
        Service(parse_config(f'[knowledge]\nfolder = "{tmp_path / "nowhere"}"'))


def test_a_folder_articles_questions_find_it_in_the_customers_words(db, tmp_path):
    folder = tmp_path / "kb"
    shutil.copytree(KB, folder)
    question = "could you wrap it as a birthday present for my dad?"
    body = "---\ntitle: Gift wrapping\ntags: [orders]\n{}---\nTick the box at checkout: paper, ribbon and a card.\n"
    (folder / "wrapping.md").write_text(body.format(""), encoding="utf-8")
    knowledge.index_folder(db, folder)
    assert "Gift wrapping" not in [s.title for s in knowledge.search(db, question)]  # no word of it in the article
    (folder / "wrapping.md").write_text(body.format(
        "questions:\n  - do you wrap presents?\n  - 'can you gift wrap my order, it is for a birthday'\n"
        "  - is wrapping extra\n"), encoding="utf-8")
    knowledge.index_folder(db, folder)
    row = db.execute("SELECT questions FROM articles WHERE remote_id='wrapping.md'").fetchone()
    assert json.loads(row[0]) == ["do you wrap presents?", "can you gift wrap my order, it is for a birthday",
                                  "is wrapping extra"]
    assert knowledge.search(db, question)[0].title == "Gift wrapping"


def test_front_matter_lists_either_way_and_keeps_commas_inside_a_question():
    meta = knowledge.front_matter("tags: [a, b]\nquestions:\n  - one, two\n  - \"three\"\nurl: x")
    assert meta == {"tags": ["a", "b"], "questions": ["one, two", "three"], "url": "x"}
