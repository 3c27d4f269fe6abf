"""The cache: private file, forward migrations that keep local data, ingest, keyset pages, search."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta

import pytest

from console.cache import connect, schema
from console.cache import queries as q
from console.cache.db import migrate
from console.errors import UserError
from providers.records import Batch, Channel, Direction, Message, Status
from tests.support.factories import T0, conversation, load, person, thread_id


def test_cache_file_and_wal_are_private_to_the_user(tmp_path):
    path = tmp_path / "p" / "cache.sqlite3"
    db = connect(path)
    load(db, [conversation(1)])
    for suffix in ("", "-wal", "-shm"):
        f = tmp_path / "p" / f"cache.sqlite3{suffix}"
        if f.exists():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f"{f.name} is readable by others"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION


def test_a_cache_from_a_newer_version_is_refused_in_one_line(tmp_path):
    path = tmp_path / "c.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 5}")
    raw.close()
    with pytest.raises(UserError) as err:
        connect(path)
    assert "newer Switchboard" in str(err.value) and "\n" not in str(err.value)


def test_a_damaged_cache_file_gives_one_line_with_the_fix(tmp_path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError) as err:
        connect(path)
    assert "damaged" in str(err.value) and "move it aside" in str(err.value)


def test_forward_migration_keeps_everything_born_locally(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite3"
    db = connect(path)
    _, _ = load(db, [conversation(1)])
    tid = thread_id(db, "t1")
    cust = db.execute("SELECT customer_id FROM threads WHERE id=?", (tid,)).fetchone()[0]
    db.execute("INSERT INTO drafts(thread_id, text, started_at, updated_at) VALUES (?, 'half a reply', 1, 1)", (tid,))
    db.execute("INSERT INTO customer_notes(customer_id, author, text, created_at) VALUES (?, 'sam', 'VIP', 1)", (cust,))
    db.execute("INSERT INTO outbox(key, thread_id, account_id, kind, text, created_at) VALUES ('k1', ?, 1, 'reply', 'hi', 1)", (tid,))
    db.execute("INSERT INTO audit(at, who, role, action, result) VALUES (1, 'sam', 'agent', 'close', 'ok')")
    db.close()
    # A later release adds a column and an index: the migration runs once, local rows survive.
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS,
                                               "ALTER TABLE threads ADD COLUMN language TEXT NOT NULL DEFAULT '';"])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    import console.cache.db as dbmod

    monkeypatch.setattr(dbmod, "MIGRATIONS", schema.MIGRATIONS)
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", schema.SCHEMA_VERSION)
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert db.execute("SELECT text FROM drafts").fetchone()[0] == "half a reply"
    assert db.execute("SELECT text FROM customer_notes").fetchone()[0] == "VIP"
    assert db.execute("SELECT key FROM outbox").fetchone()[0] == "k1"
    assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 1
    assert db.execute("SELECT language FROM threads").fetchone()[0] == ""
    assert migrate(db) == schema.SCHEMA_VERSION  # idempotent


def test_no_migration_drops_or_empties_a_local_table():
    for step in schema.MIGRATIONS:
        if not isinstance(step, str):
            continue
        text = " ".join(step.upper().split())
        for table in schema.LOCAL_TABLES:
            assert f"DROP TABLE {table.upper()}" not in text
            assert f"DELETE FROM {table.upper()}" not in text


def test_ingest_cleans_hostile_text_before_it_is_stored(db):
    evil = "Hi\x1b]52;c;ZXZpbA==\x07 there\x1b]0;pwned\x07\x1b[2J\x1b[H [@click=app.quit]x[/] \x9b31m\u202eend"
    load(db, [conversation(1, text=evil, subject="Re: \x1b[31mred\x1b[0m subject")])
    text = db.execute("SELECT text FROM messages").fetchone()[0]
    subject = db.execute("SELECT subject FROM threads").fetchone()[0]
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\u202e" not in text
    assert text.startswith("Hi there") and "[@click=app.quit]" in text  # markup stays literal text
    assert subject == "Re: red subject"


def test_a_customer_reply_reopens_a_closed_conversation_and_marks_it_unread(db):
    t, m = conversation(1, status=Status.CLOSED)
    account_id, _ = load(db, [(t, m)])
    tid = thread_id(db, "t1")
    db.execute("UPDATE threads SET unread=0 WHERE id=?", (tid,))
    again = Message("m1b", "t1", Direction.INBOUND, t.customer, T0 + timedelta(days=1), "Still broken!")
    from console.cache.ingest import apply_batch

    result = apply_batch(db, account_id, Batch(cursor="c2", messages=[again]))
    row = db.execute("SELECT status, unread, preview FROM threads WHERE id=?", (tid,)).fetchone()
    assert (row["status"], row["unread"], row["preview"]) == ("open", 1, "Still broken!")
    assert len(result.new_inbound) == 1
    assert db.execute("SELECT cursor FROM accounts WHERE id=?", (account_id,)).fetchone()[0] == "c2"


def test_re_pulling_keeps_local_triage_and_does_not_duplicate(db):
    pair = conversation(1)
    load(db, [pair])
    tid = thread_id(db, "t1")
    db.execute("UPDATE threads SET queue='billing', priority=3, assignee='sam' WHERE id=?", (tid,))
    load(db, [pair], cursor="c2")
    row = db.execute("SELECT queue, priority, assignee FROM threads WHERE id=?", (tid,)).fetchone()
    assert tuple(row) == ("billing", 3, "sam")
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1


def test_an_edit_replaces_text_and_a_removal_blanks_it(db):
    account_id, _ = load(db, [conversation(1, text="original")])
    from console.cache.ingest import apply_batch

    t, m = conversation(1, text="edited text")
    m.meta["edited"] = True
    apply_batch(db, account_id, Batch(cursor="c2", messages=[m]))
    assert db.execute("SELECT text FROM messages").fetchone()[0] == "edited text"
    assert q.search_threads(db, "edited") == [thread_id(db, "t1")]
    apply_batch(db, account_id, Batch(cursor="c3", deleted_messages=["m1"]))
    row = db.execute("SELECT text, meta FROM messages").fetchone()
    assert row["text"] == "" and '"removed": true' in row["meta"]
    assert q.search_threads(db, "edited") == []


@pytest.fixture
def inbox(db):
    pairs = [conversation(n, channel=[Channel.EMAIL, Channel.CHAT, Channel.SOCIAL][n % 3]) for n in range(250)]
    load(db, pairs)
    # Give a third of them SLA due times in a known order; the rest wait with none.
    for n in range(0, 250, 3):
        db.execute("UPDATE threads SET sla_due_at=?, sort_due=? WHERE remote_id=?", (1000 - n, 1000 - n, f"t{n}"))
    return db


def test_keyset_pages_walk_the_whole_view_once_in_order(inbox):
    f = q.Filter()
    seen, after = [], None
    while True:
        page = q.inbox_page(inbox, f, after=after, limit=37)
        if not page:
            break
        seen.extend(r.id for r in page)
        after = page[-1].key
    assert len(seen) == len(set(seen)) == 250
    dues = [r.sort_due if hasattr(r, "sort_due") else r.key[0] for r in q.inbox_at(inbox, f, 0, 250)]
    assert dues == sorted(dues), "default order is by SLA due time"
    assert [r.id for r in q.inbox_at(inbox, f, 0, 250)] == seen
    # Backwards from the end gives the same rows reversed in pages.
    last = q.inbox_at(inbox, f, 249, 1)[0]
    before = q.inbox_page(inbox, f, before=last.key, limit=10)
    assert [r.id for r in before] == seen[239:249]


def test_the_most_urgent_sla_comes_first_not_the_newest(inbox):
    first = q.inbox_page(inbox, q.Filter(), limit=1)[0]
    assert first.subject == "Question 249"  # due 1000-249: earliest of all


def test_filters_by_channel_status_and_count(inbox):
    chats = q.Filter(channels=("chat",))
    assert q.inbox_count(inbox, chats) == len([n for n in range(250) if n % 3 == 1])
    assert all(r.channel == "chat" for r in q.inbox_page(inbox, chats, limit=500))
    assert q.inbox_count(inbox, q.Filter(statuses=("closed",))) == 0
    tid = thread_id(inbox, "t10")
    pos = q.position_of(inbox, q.Filter(), tid)
    assert q.inbox_at(inbox, q.Filter(), pos, 1)[0].id == tid


def test_recent_order_is_newest_activity_first(inbox):
    rows = q.inbox_page(inbox, q.Filter(order="recent"), limit=5)
    assert [r.subject for r in rows] == [f"Question {n}" for n in (249, 248, 247, 246, 245)]


def test_search_is_newest_first_and_safe_against_fts_syntax(db):
    load(db, [conversation(1, text="my parcel never arrived"), conversation(2, text="parcel damaged in transit"),
              conversation(3, text="password reset please")])
    assert q.search_threads(db, "parcel") == [thread_id(db, "t2"), thread_id(db, "t1")]
    assert q.search_threads(db, "parc") == [thread_id(db, "t2"), thread_id(db, "t1")], "prefix on the last word"
    assert q.search_threads(db, 'parcel" OR "password') == []  # quotes cannot inject FTS syntax
    assert q.search_threads(db, "NEAR(") == []
    assert q.search_threads(db, "") == []
    assert q.search_threads(db, "reset", author="Customer 3") == [thread_id(db, "t3")]


def test_a_new_conversation_keeps_the_state_its_provider_reported(db):
    t, m = conversation(1, status=Status.CLOSED, unread=False)
    t2, m2 = conversation(2)  # state not reported: a new customer message is open and unread
    load(db, [(t, m), (t2, m2)])
    rows = dict(db.execute("SELECT remote_id, status || '/' || unread FROM threads").fetchall())
    assert rows == {"t1": "closed/0", "t2": "open/1"}


def test_a_cache_from_before_the_prefix_index_keeps_its_search_and_finds_two_letter_prefixes(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    before = schema.MIGRATIONS.index(schema._FTS_PREFIXES)
    monkeypatch.setattr("console.cache.db.SCHEMA_VERSION", before)
    old = connect(path)  # a cache as the previous version wrote it
    load(old, [conversation(1, text="Where is my parcel?"), conversation(2, text="Please refund the order")])
    assert "prefix" not in old.execute("SELECT sql FROM sqlite_master WHERE name='messages_fts'").fetchone()[0]
    old.close()
    monkeypatch.undo()
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert q.search_threads(db, "pa") == [thread_id(db, "t1")]
    assert q.search_threads(db, "ord") == [thread_id(db, "t2")]
    assert q.search_threads(db, "re") == [thread_id(db, "t2")]
    assert q.search_threads(db, "parcel") == [thread_id(db, "t1")], "whole words as before"
