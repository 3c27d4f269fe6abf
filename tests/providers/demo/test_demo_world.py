"""The demo world: deterministic from its seed, big and varied enough to show the product."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

from providers.demo.world import _Builder, build_world
from providers.records import Channel, Direction, Status

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=timezone.utc)
CONVERSATIONS = (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL)


@pytest.fixture(scope="module")
def world():
    return build_world(7, now=NOW)


def fresh(seed: int):
    """Built without the cache, so equality really compares two generations."""
    return _Builder(seed, 320, 1200, NOW).build()


def test_same_seed_same_world():
    assert fresh(7) == fresh(7)


def test_other_seed_other_world():
    a, b = fresh(7), fresh(8)
    assert a != b
    assert [p.name for p in a.people[:20]] != [p.name for p in b.people[:20]]


def test_global_random_is_left_alone():
    import random

    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    fresh(3)
    assert random.random() == expected


def test_sizes(world):
    assert len(world.customers) >= 300
    assert sum(len(world.threads[ch]) for ch in CONVERSATIONS) >= 1000
    assert all(len(world.threads[ch]) >= 100 for ch in CONVERSATIONS)
    assert len(world.articles) >= 20
    assert len(world.orders) >= len(world.customers)


def test_every_status_with_future_snoozes(world):
    threads = [t for ch in CONVERSATIONS for t in world.threads[ch]]
    assert set(Counter(t.status for t in threads)) == set(Status)
    for t in threads:
        if t.status == Status.SNOOZED:
            assert t.snoozed_until and t.snoozed_until > NOW
        else:
            assert t.snoozed_until is None


def test_conversations_are_in_the_last_sixty_days_and_in_order(world):
    for ch in CONVERSATIONS:
        for t in world.threads[ch]:
            msgs = world.messages[t.remote_id]
            assert msgs, t.remote_id
            assert all((NOW - m.sent_at).days <= 61 and m.sent_at <= NOW for m in msgs)
            assert [m.sent_at for m in msgs] == sorted(m.sent_at for m in msgs)
            assert t.last_message_at == msgs[-1].sent_at
            assert msgs[0].direction == Direction.INBOUND


def test_multi_message_threads_in_both_directions(world):
    long = [ms for ms in world.messages.values() if len(ms) >= 3
            and {m.direction for m in ms} == {Direction.INBOUND, Direction.OUTBOUND}]
    assert len(long) > 300


def test_priority_and_queue_are_left_to_the_console(world):
    threads = [t for ch in CONVERSATIONS for t in world.threads[ch]]
    assert all(t.priority is None and t.queue is None and t.tags is None for t in threads)
    assignees = {t.assignee for t in threads} - {None}
    assert assignees == {"Sam Rivera", "Priya Natarajan", "Tom Becker"}


def test_orders_belong_to_customers_and_are_referenced_in_questions(world):
    numbers = {o.number for o in world.orders}
    assert len(numbers) == len(world.orders), "order numbers must be unique"
    emails = {c.identities[0].address for c in world.customers}
    assert all(o.customer.address in emails and o.items and o.total > 0 for o in world.orders)
    by_person = {p.email.address: {o.number for o in p.orders} for p in world.people if p.shop_customer}
    referenced = 0
    for ch in CONVERSATIONS:
        for t in world.threads[ch]:
            text = " ".join(m.text for m in world.messages[t.remote_id])
            for word in text.replace(",", " ").replace(".", " ").replace("?", " ").split():
                if word.startswith("NW-") and word in numbers:
                    owner = next(p for p in world.people if t.customer in (p.email, p.chat, *p.social))
                    assert word in by_person.get(owner.email.address, set()), f"{t.remote_id} asks about {word}"
                    referenced += 1
    assert referenced > 300


def test_customers_on_several_channels_are_listed_by_the_shop(world):
    multi = [c for c in world.customers if len({i.channel for i in c.identities}) >= 3]
    assert len(multi) >= 30
    bridged = [c for c in world.customers for i in c.identities if i.network in ("WhatsApp", "Signal", "Telegram")]
    assert bridged and all(i.phone for c in bridged for i in c.identities if i.network in ("WhatsApp", "Signal"))
    matrix = [i for c in world.customers for i in c.identities if i.address.endswith(":example.org")
              and i.address.startswith("@") and i.network == "Matrix"]
    assert matrix
    social = [i for c in world.customers for i in c.identities if i.channel == Channel.SOCIAL]
    assert any(i.address.endswith(".bsky.social") for i in social)
    assert any(i.address.count("@") == 2 for i in social)
    assert max(i.followers for i in social) >= 20_000 and min(i.followers for i in social) < 100
    assert any(i.verified for i in social)


def test_email_has_html_quotes_attachments_auto_reply_and_bounce(world):
    mails = [m for t in world.threads[Channel.EMAIL] for m in world.messages[t.remote_id]]
    html = [m for m in mails if m.meta.get("html")]
    assert html and all("<" not in m.text and "view order" in m.text for m in html)
    assert any("\n> " in m.text and " wrote:\n" in m.text for m in mails)
    names = {a.name for m in mails for a in m.attachments}
    assert {"invoice.pdf", "photo.jpg"} <= names
    assert all(a.size > 0 for m in mails for a in m.attachments)
    assert any(m.meta.get("auto_reply") for m in mails)
    assert any(m.meta.get("bounce") and "MAILER-DAEMON" in m.author.address for m in mails)


def test_social_has_public_mentions_and_direct_messages(world):
    posts = [m for t in world.threads[Channel.SOCIAL] for m in world.messages[t.remote_id]]
    assert {m.meta.get("visibility") for m in posts} == {"public", "direct"}
    assert {t.channel_detail for t in world.threads[Channel.SOCIAL]} == {"mention", "direct"}


def test_chat_comes_in_short_bursts(world):
    bursts = 0
    for t in world.threads[Channel.CHAT]:
        ms = world.messages[t.remote_id]
        if len(ms) >= 2 and ms[0].direction == ms[1].direction == Direction.INBOUND:
            assert (ms[1].sent_at - ms[0].sent_at).total_seconds() < 120
            bursts += 1
    assert bursts > 50


def test_tone_and_topics_vary(world):
    texts = [m.text for ms in world.messages.values() for m in ms]
    assert any("THIRD time" in t for t in texts)
    assert any("thank you" in t.lower() and "arrived" in t for t in texts)
    assert any("refund" in t.lower() for t in texts) and any("cancel" in t.lower() for t in texts)


def test_hostile_text_and_names_present(world):
    texts = [m.text for ms in world.messages.values() for m in ms]
    for payload in ("\x1b]52;c;ZXZpbA==\x07", "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "[bold red]",
                    "[@click=app.quit]click me[/]", "[link=https://evil.example]"):
        assert any(payload in t for t in texts), payload
    names = [p.name for p in world.people]
    assert any("\x1b" in n for n in names) and any("[" in n for n in names)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names), "CJK names"
    assert any(any("\u0600" <= ch <= "\u06ff" for ch in n) for n in names), "Arabic names"
    assert any(any(ch in "éèüöñçø" for ch in n) for n in names), "accented names"


def test_articles_answer_the_questions_customers_ask(world):
    titles = " ".join(a.title.lower() for a in world.articles)
    for topic in ("order", "return", "refund", "password", "two-factor", "charged", "cancel", "damaged",
                  "warranty", "address", "invoice", "gift card"):
        assert topic in titles, topic
    assert len({a.remote_id for a in world.articles}) == len(world.articles)


@pytest.mark.parametrize("customers, conversations", [(1, 1), (2, 40), (30, 5)])
def test_tiny_worlds_still_build(customers, conversations):
    w = _Builder(5, customers, conversations, NOW).build()
    assert len(w.customers) == customers
    assert sum(len(w.threads[ch]) for ch in CONVERSATIONS) == conversations
