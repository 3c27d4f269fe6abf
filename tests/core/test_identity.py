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


def test_unlink_undoes_a_wrong_link_back_to_the_customer_it_came_from(db):
    load(db, [conversation(1, who=Identity(Channel.EMAIL, "jwagner@example.com", "Jürgen Wagner")),
              conversation(2, who=Identity(Channel.EMAIL, "grete@example.com", "Grete Becker"))])
    social = Identity(Channel.SOCIAL, "grete-becker.bsky.social", "Grete B.")
    load(db, [conversation(3, channel=Channel.SOCIAL, who=social)], account="bsky", channel="social")
    juergen = customer_of(db, "email", "jwagner@example.com")
    alone = customer_of(db, "social", social.address)  # its own customer: the link will empty it
    db.execute("UPDATE customers SET tags='[\"bsky-fan\"]' WHERE id=?", (alone,))
    ident = db.execute("SELECT id FROM identities WHERE address=?", (social.address,)).fetchone()[0]
    ctx = actions.Context(db=db, agent="Tom")

    shown = identity.link_preview(db, ident, juergen)
    assert shown["from"]["name"] == "Grete B." and shown["to"]["name"] == "Jürgen Wagner"
    assert shown["to"]["identities"] == ["email jwagner@example.com"] and shown["empties_from"]

    linked = actions.perform(ctx, "link_identity", identity_id=ident, customer_id=juergen)  # the wrong customer
    assert linked.message == "grete-becker.bsky.social linked to Jürgen Wagner"
    assert db.execute("SELECT 1 FROM customers WHERE id=?", (alone,)).fetchone() is None  # emptied, removed
    undone = actions.perform(ctx, "unlink_identity", identity_id=ident)
    assert undone.ok and undone.message == "grete-becker.bsky.social is back with Grete B."
    assert customer_of(db, "social", social.address) == alone  # the same customer, not a new one
    back = db.execute("SELECT name, tags FROM customers WHERE id=?", (alone,)).fetchone()
    assert back["name"] == "Grete B." and back["tags"] == '["bsky-fan"]'
    assert db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id(db, "t3"),)).fetchone()[0] == alone
    assert [t["channel"] for t in identity.customer_history(db, juergen)["threads"]] == ["email"]
    # Unlocked again as before the link: a later automatic match may still join it.
    assert db.execute("SELECT link_locked FROM identities WHERE id=?", (ident,)).fetchone()[0] == 0

    history = identity.link_history(db, juergen)
    assert [(h["how"], h["who"], h["from_name"], h["to_name"], h["undone"]) for h in history] == [
        ("unlink", "Tom", "Jürgen Wagner", "Grete B.", False),
        ("manual", "Tom", "Grete B.", "Jürgen Wagner", True)]


def test_unlink_into_a_customer_that_still_exists_moves_back_only_that_identity(db):
    load(db, [conversation(1, who=Identity(Channel.EMAIL, "ann@example.com", "Ann")),
              conversation(2, who=Identity(Channel.EMAIL, "ann.other@example.com", "Ann")),
              conversation(3, who=Identity(Channel.EMAIL, "bob@example.com", "Bob"))])
    ann, bob = customer_of(db, "email", "ann@example.com"), customer_of(db, "email", "bob@example.com")
    ctx = actions.Context(db=db, agent="Tom")
    second = db.execute("SELECT id FROM identities WHERE address='ann.other@example.com'").fetchone()[0]
    assert actions.perform(ctx, "link_identity", identity_id=second, customer_id=ann).ok
    assert actions.perform(ctx, "link_identity", identity_id=second, customer_id=bob).ok  # oops
    assert actions.perform(ctx, "unlink_identity", identity_id=second).ok
    assert customer_of(db, "email", "ann.other@example.com") == ann  # the step before, not the first customer
    assert actions.perform(ctx, "unlink_identity", identity_id=second).ok
    assert customer_of(db, "email", "ann.other@example.com") not in (ann, bob)  # back where it started
    assert customer_of(db, "email", "ann@example.com") == ann


def test_linking_to_the_same_customer_is_refused(db):
    load(db, [conversation(1)])
    ident = db.execute("SELECT id, customer_id FROM identities").fetchone()
    result = actions.perform(actions.Context(db=db), "link_identity", identity_id=ident[0], customer_id=ident[1])
    assert not result.ok and "already belongs to this customer" in result.message
