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


async def wait_for(pilot, predicate, seconds=3.0):
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()


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
        await pilot.press("t", *"probe", "enter")
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
