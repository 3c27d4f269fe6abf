"""Finding people by address, handle or phone, and agents by first name, through the search language."""

from __future__ import annotations

import pytest

from console.cache import queries
from console.views import parse_query
from providers.records import Channel, Identity
from tests.support.factories import conversation, load, thread_id


@pytest.fixture
def people(db):
    juergen = Identity(Channel.EMAIL, "jwagner@example.com", "Jürgen Wagner", phone="+49 170 1234567")
    grete = Identity(Channel.SOCIAL, "grete-becker.bsky.social", "Grete Becker")
    tara = Identity(Channel.CHAT, "@tara:chat.example", "Tara")
    mastodon = Identity(Channel.SOCIAL, "@Ola@Mastodon.example", "Ola")
    load(db, [conversation(1, who=juergen, text="Where is my parcel?"),
              conversation(2, who=Identity(Channel.EMAIL, "someone@example.org", "Someone"), text="parcel too")])
    load(db, [conversation(3, channel=Channel.SOCIAL, who=grete, text="hello"),
              conversation(6, channel=Channel.SOCIAL, who=mastodon, text="toot")], account="bsky", channel="social")
    load(db, [conversation(4, channel=Channel.CHAT, who=tara, text="hi"),
              conversation(5, channel=Channel.CHAT,
                           who=Identity(Channel.CHAT, "@whatsapp_4917012:bridge", "J.", phone="+49 170 1234567"),
                           text="me again on WhatsApp")], account="chat", channel="chat")
    db.execute("UPDATE threads SET assignee='Tom Becker' WHERE remote_id IN ('t1','t3')")
    db.execute("UPDATE threads SET assignee='Tomasz Nowak' WHERE remote_id='t2'")
    return db


def found(db, text: str) -> set[str]:
    words, flt, author = parse_query(text, agent="Priya")
    if words or author:
        flt = flt.with_(thread_ids=tuple(queries.search_threads(db, words, author=author)))
        rows = queries.inbox_by_ids(db, flt)
    else:
        rows = queries.inbox_page(db, flt)
    return {db.execute("SELECT remote_id FROM threads WHERE id=?", (r.id,)).fetchone()[0] for r in rows}


@pytest.mark.parametrize("query,expected", [
    ("from:jwagner@example.com", {"t1", "t5"}),  # the customer on every channel (joined by phone)
    ("jwagner@example.com", {"t1", "t5"}),  # a bare address
    ("from:JWagner@", {"t1", "t5"}),  # a prefix, any case
    ("from:grete-becker.bsky.social", {"t3"}),
    ("grete-becker.bsky.social", {"t3"}),
    ("from:grete-becker", {"t3"}),  # a name: the author "Grete Becker"
    ("@tara:chat.example", {"t4"}),
    ("@ola@mastodon.example", {"t6"}),  # a fediverse handle, any case
    ("from:ola@mastodon", {"t6"}),
    ("from:tara:chat.example", {"t4"}),  # the Matrix @ may be left out
    ("from:+49170", {"t1", "t5"}),  # phone digits from the start
    ("+491701234567", {"t1", "t5"}),
    ("parcel from:jwagner@", {"t1"}),  # words and a person together
    ("assignee:Tom", {"t1", "t3"}),  # first name; not Tomasz
    ("assignee:tom", {"t1", "t3"}),
    ('assignee:"Tom Becker"', {"t1", "t3"}),
    ("from:nobody@nowhere.example", set()),
])
def test_people_are_found_by_address_handle_phone_and_first_name(people, query, expected):
    assert found(people, query) == expected


def test_a_plain_name_still_searches_authors_and_a_domain_is_still_a_word(people):
    words, flt, author = parse_query("from:Tara example.com 2026-12-01 crash in 2.3.1")
    assert author == "Tara" and words == "example.com 2026-12-01 crash in 2.3.1" and flt.people == ()


def test_like_wildcards_in_an_address_are_literal(people):
    assert found(people, "from:%@example.com") == set()
    assert found(people, "from:j_wagner@") == set()
