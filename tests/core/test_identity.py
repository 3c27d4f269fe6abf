"""One customer across channels: automatic links, manual link/unlink, history."""

from __future__ import annotations

from console import actions, identity
from console.cache.ingest import apply_batch, ensure_account
from providers.records import Batch, Channel, Customer, Identity
from tests.support.factories import conversation, load, thread_id


def customer_of(db, channel, address):
    return db.execute("SELECT customer_id FROM identities WHERE channel=? AND address=?",
                      (channel, address)).fetchone()[0]


def test_same_email_on_two_accounts_is_one_customer(db):
    who = Identity(Channel.EMAIL, "Ada@Example.com", "Ada")
    load(db, [conversation(1, who=who)], account="mail")
    load(db, [conversation(2, who=Identity(Channel.EMAIL, "ada@example.com", "Ada L."))], account="billing")
    assert customer_of(db, "email", "Ada@Example.com") == customer_of(db, "email", "ada@example.com")


def test_a_whatsapp_chat_joins_the_email_customer_by_phone(db):
    load(db, [conversation(1, who=Identity(Channel.EMAIL, "bo@example.com", "Bo", phone="+1 (555) 010-2000"))])
    chat = Identity(Channel.CHAT, "@whatsapp_15550102000:bridge.example", "Bo", phone="+15550102000",
                    network="WhatsApp")
    load(db, [conversation(2, channel=Channel.CHAT, who=chat)], account="chat", channel="chat")
    assert customer_of(db, "chat", chat.address) == customer_of(db, "email", "bo@example.com")
    cust = customer_of(db, "email", "bo@example.com")
    history = identity.customer_history(db, cust)
    assert {t["channel"] for t in history["threads"]} == {"email", "chat"}


def test_different_people_stay_apart(db):
    load(db, [conversation(1), conversation(2)])
    assert customer_of(db, "email", "customer1@example.com") != customer_of(db, "email", "customer2@example.com")


def test_a_shop_customer_record_links_a_social_handle(db):
    load(db, [conversation(1, who=Identity(Channel.EMAIL, "cy@example.com", "Cy"))])
    social = Identity(Channel.SOCIAL, "cy@mastodon.example", "Cy", followers=1200)
    load(db, [conversation(2, channel=Channel.SOCIAL, who=social)], account="social", channel="social")
    assert customer_of(db, "social", social.address) != customer_of(db, "email", "cy@example.com")
    shop = ensure_account(db, "shop", "demo", "commerce")
    apply_batch(db, shop, Batch(cursor="s", customers=[Customer("c1", "Cy Young", identities=[
        Identity(Channel.EMAIL, "cy@example.com"), social])]))
    cust = customer_of(db, "email", "cy@example.com")
    assert customer_of(db, "social", social.address) == cust
    # The social conversation moved with its identity.
    assert db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id(db, "t2"),)).fetchone()[0] == cust


def test_unlink_by_hand_sticks_and_can_be_undone_by_linking(db):
    load(db, [conversation(1, who=Identity(Channel.EMAIL, "di@example.com", "Di", phone="+445550001111"))])
    chat = Identity(Channel.CHAT, "@di:chat.example", "Di", phone="+44 555 000 1111")
    load(db, [conversation(2, channel=Channel.CHAT, who=chat)], account="chat", channel="chat")
    original = customer_of(db, "email", "di@example.com")
    chat_identity = db.execute("SELECT id FROM identities WHERE address=?", (chat.address,)).fetchone()[0]
    ctx = actions.Context(db=db, agent="sam")
    result = actions.perform(ctx, "unlink_identity", identity_id=chat_identity)
    assert result.ok, result.message
    split = customer_of(db, "chat", chat.address)
    assert split != original
    # A later customer record naming both does not undo a person's decision.
    shop = ensure_account(db, "shop", "demo", "commerce")
    apply_batch(db, shop, Batch(cursor="s", customers=[Customer("c9", "Di", identities=[
        Identity(Channel.EMAIL, "di@example.com"), chat])]))
    assert customer_of(db, "chat", chat.address) == split
    assert actions.perform(ctx, "link_identity", identity_id=chat_identity, customer_id=original).ok
    assert customer_of(db, "chat", chat.address) == original
    hows = [r[0] for r in db.execute("SELECT how FROM identity_links WHERE identity_id=? ORDER BY id", (chat_identity,))]
    assert hows == ["auto:phone", "unlink", "manual"]
