"""The agent's day in the running app, at 160x45 and at 80x24 (one pane at a time):
tags survive the provider's pulls (issue #12 item 3) and people are found by address,
handle, phone and first name from the search bar (item 6)."""

from __future__ import annotations

import json

import pytest

from console.cache import connect
from console.cache.ingest import apply_batch
from console.config import parse as parse_config
from console.service import Service
from providers.records import Batch, Channel, Identity
from tests.support.factories import conversation, load
from tests.ui.conftest import CONFIG_TOML, at
from tests.support.pilot import Typed, press, screen_text, type_text, wait_until

SIZES = [(160, 45), (80, 24)]

TRIAGE = CONFIG_TOML + """
[[triage.rules]]
name = "refunds"
when = { words = ["refund"] }
then = { tags = ["refund"] }

[[triage.rules]]
name = "vip"
when = { words = ["order"] }
then = { tags = ["vip"] }
"""


# --------------------------------------------------------------------------- item 3: tags through the pulls


def _provider_thread(reported):
    """The provider's view of the conversation on a pull: it re-sends its own tags each time."""
    t, _ = conversation(900, text="I'd like a refund for my order, please.", at=at(-60), tags=list(reported))
    return t


@pytest.fixture
def tagged(cache_path):
    """One conversation tagged shipping, damaged by the provider and refund, vip by triage."""
    cfg = parse_config(TRIAGE, "config.toml")
    db = connect(cache_path)
    t, m = conversation(900, text="I'd like a refund for my order, please.", at=at(-60), tags=["shipping", "damaged"])
    account, result = load(db, [(t, m)], account="support-mail", cursor="2")
    Service(cfg).process(db, result)
    tid = db.execute("SELECT id FROM threads WHERE remote_id='t900'").fetchone()[0]
    db.close()
    return cfg, account, tid


def pull(cache_path, account, reported, cursor):
    """The adapter's next pull, written as the engine writes it, on the engine's own connection."""
    db = connect(cache_path)
    apply_batch(db, account, Batch(cursor=cursor, threads=[_provider_thread(reported)]))
    db.close()


def cached_tags(app, tid) -> list[str]:
    return json.loads(app.db.execute("SELECT tags FROM threads WHERE id=?", (tid,)).fetchone()[0])


def header(app) -> str:
    return app.main.conversation.query_one("#conv-header").render().plain


def shown(app) -> set[str]:
    main = app.main
    return {name for name, sel in (("list", "#inbox-column"), ("conversation", "#conversation-slot"),
                                   ("customer", "#customer-slot")) if main.query_one(sel).display}


async def _open(app, pilot, tid, size):
    await pilot.pause(0.15)
    assert app.main.inbox.select_thread(tid)
    await pilot.press("enter")
    await pilot.pause(0.2)
    assert app.main.conversation.thread_id == tid
    if size[0] < 100:  # one pane at a time: the conversation is the screen
        assert shown(app) == {"conversation"}


@pytest.mark.parametrize("size", SIZES)
async def test_an_added_tag_and_everyone_elses_survive_the_providers_next_pulls(make_app, cache_path, tagged, size):
    cfg, account, tid = tagged
    app = make_app(config=cfg)
    async with app.run_test(size=size) as pilot:
        await _open(app, pilot, tid, size)
        assert "tags: damaged, refund, shipping, vip" in header(app)
        await press(pilot, "t", Typed("probe"), "enter")
        await pilot.pause()
        assert "tags: damaged, probe, refund, shipping, vip" in header(app)
        for cursor in ("3", "4"):  # the provider re-sends only its own tags, twice
            pull(cache_path, account, ["shipping", "damaged"], cursor)
            app.changed({tid})
            await pilot.pause(0.1)
        assert cached_tags(app, tid) == ["damaged", "probe", "refund", "shipping", "vip"]
        assert "tags: damaged, probe, refund, shipping, vip" in header(app)


@pytest.mark.parametrize("size", SIZES)
async def test_removing_a_providers_tag_in_the_dialog_stays_removed_after_the_next_pull(
        make_app, cache_path, tagged, size):
    from textual.widgets import SelectionList

    cfg, account, tid = tagged
    app = make_app(config=cfg)
    async with app.run_test(size=size) as pilot:
        await _open(app, pilot, tid, size)
        await pilot.press("t")
        await pilot.pause()
        options = app.screen.query_one("#tag-options", SelectionList)
        index = next(i for i in range(options.option_count) if options.get_option_at_index(i).value == "shipping")
        await pilot.press("down", *["down"] * index, "space", "ctrl+s")  # into the list, to shipping, untick
        await pilot.pause()
        assert cached_tags(app, tid) == ["damaged", "refund", "vip"]
        pull(cache_path, account, ["shipping", "damaged"], "3")  # the remote has not heard yet
        app.changed({tid})
        await pilot.pause(0.1)
        pull(cache_path, account, ["damaged"], "4")  # now it has
        app.changed({tid})
        await pilot.pause(0.1)
        assert cached_tags(app, tid) == ["damaged", "refund", "vip"]
        text = header(app)
        assert "tags: damaged, refund, vip" in text and "shipping" not in text


# --------------------------------------------------------------------------- item 6: people from the search bar


@pytest.fixture
def people_cache(tmp_path):
    """Jürgen on email and (by phone) on WhatsApp, Grete on Bluesky, Tara on chat; Tom and Tomasz assigned."""
    path = tmp_path / "people.sqlite3"
    db = connect(path)
    juergen = Identity(Channel.EMAIL, "jwagner@example.com", "Jürgen Wagner", phone="+1 555 0100 123")
    grete = Identity(Channel.SOCIAL, "grete-becker.bsky.social", "Grete Becker")
    load(db, [conversation(1, who=juergen, text="Where is my parcel?", subject="Parcel for Jürgen"),
              conversation(2, who=Identity(Channel.EMAIL, "someone@example.org", "Someone"), text="parcel too",
                           subject="Someone else's parcel")], account="support-mail")
    load(db, [conversation(3, channel=Channel.SOCIAL, who=grete, text="hello", subject="Grete says hello")],
         account="bsky", channel="social")
    load(db, [conversation(4, channel=Channel.CHAT, who=Identity(Channel.CHAT, "@tara:chat.example", "Tara"),
                           text="hi", subject="Tara says hi"),
              conversation(5, channel=Channel.CHAT,
                           who=Identity(Channel.CHAT, "@whatsapp_15550100:bridge", "J.", phone="+1 555 0100 123"),
                           text="me again on WhatsApp", subject="Jürgen on WhatsApp")], account="chat", channel="chat")
    db.execute("UPDATE threads SET assignee='Tom Becker' WHERE remote_id IN ('t1','t3')")
    db.execute("UPDATE threads SET assignee='Tomasz Nowak' WHERE remote_id='t2'")
    ids = {r[0]: r[1] for r in db.execute("SELECT remote_id, id FROM threads")}
    db.close()
    return path, ids


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("query, expected", [
    ("from:jwagner@example.com", {"t1", "t5"}),  # the whole address: the customer on every channel
    ("from:jwagner@exa", {"t1", "t5"}),  # an address prefix
    ("from:jwagner", {"t1", "t5"}),  # a plain word: the address's handle, on every channel
    ("from:Jürgen", {"t1"}),  # a plain word still finds an author by name
    ("from:grete-becker.bsky.social", {"t3"}),  # a social handle
    ("from:+1555", {"t1", "t5"}),  # a phone number prefix
    ("jwagner@example.com", {"t1", "t5"}),  # a bare address, no from:
    ("assignee:Tom", {"t1", "t3"}),  # an agent's first name; not Tomasz
])
async def test_the_search_bar_finds_people_by_address_handle_phone_and_first_name(
        make_app, people_cache, query, expected, size):
    path, ids = people_cache
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.1)
        await pilot.press("slash")
        assert app.main.search_bar.is_open
        await type_text(pilot, query)
        inbox = app.main.inbox
        await wait_until(pilot, lambda: app.main.view.kind == "search" and inbox.total == len(expected))
        await pilot.pause(0.2)  # no later result replaces it
        assert {inbox.row_at(i).id for i in range(inbox.total)} == {ids[r] for r in expected}
        await pilot.press("enter")  # to the list: the rows are on screen
        await pilot.pause(0.1)
        assert app.focused is inbox
        shown = screen_text(app)
        subjects = {inbox.row_at(i).subject for i in range(inbox.total)}
        for subject in subjects:
            assert subject[:20] in shown


# --------------------------------------------------------------------------- item 10 and snooze until reply


@pytest.mark.parametrize("size", SIZES)
async def test_g_d_lists_exactly_the_conversations_holding_drafts_and_enter_opens_one(make_app, thread_ids, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.15)
        drafted = {thread_ids["t2"], thread_ids["t19"]}  # t19 is closed: a draft is still a draft
        for tid in drafted:
            assert app.perform("save_draft", tid, text="half a reply").ok
        await pilot.press("g", "d")
        await pilot.pause(0.2)
        inbox = app.main.inbox
        assert app.main.view.name == "Drafts"
        assert {inbox.row_at(i).id for i in range(inbox.total)} == drafted
        assert "Drafts" in screen_text(app)
        first = inbox.current_thread_id
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.main.conversation.thread_id == first
        if size[0] < 100:
            assert shown(app) == {"conversation"}
        assert first in drafted


@pytest.mark.parametrize("size", SIZES)
async def test_snoozed_until_the_customer_replies_comes_back_when_they_do(make_app, cache_path, tagged, size):
    from providers.records import Direction, Message

    cfg, account, tid = tagged
    app = make_app(config=cfg)
    async with app.run_test(size=size) as pilot:
        await _open(app, pilot, tid, size)
        await press(pilot, "s", Typed("until reply"), "enter")
        await pilot.pause(0.2)
        row = app.db.execute("SELECT status, snoozed_until FROM threads WHERE id=?", (tid,)).fetchone()
        assert (row["status"], row["snoozed_until"]) == ("snoozed", None)
        if size[0] < 100:
            await pilot.press("escape")
            await pilot.pause(0.1)
        inbox = app.main.inbox
        assert tid not in {inbox.row_at(i).id for i in range(inbox.total)}  # out of All open
        t = _provider_thread(["shipping", "damaged"])
        db = connect(cache_path)
        apply_batch(db, account, Batch(cursor="3", threads=[t], messages=[Message(
            remote_id="m900b", thread_remote_id="t900", direction=Direction.INBOUND, author=t.customer,
            sent_at=at(0), text="Any news?")]))
        db.close()
        app.changed({tid})
        await pilot.pause(0.2)
        assert app.db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "open"
        assert tid in {inbox.row_at(i).id for i in range(inbox.total)}  # back in All open
