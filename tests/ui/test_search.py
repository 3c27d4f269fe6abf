"""Search: the query language, results as you type (off the UI loop, cancellable), Esc goes back."""

from __future__ import annotations

import pytest

from console.cache.queries import ALL_STATES, OPEN_STATES
from console.config import parse as parse_config
from console.views import ViewQueryError, parse_query, saved_views
from tests.ui.conftest import AGENT, CONFIG_TOML
from widgets import search
from tests.support.pilot import type_text, wait_until

SIZE = (160, 50)


# --------------------------------------------------------------------------- the query language


def test_free_words_and_filters():
    words, f, author = parse_query('refund channel:email,chat status:open tag:VIP from:"Ann Lee" queue:billing',
                                   agent=AGENT)
    assert words == "refund"
    assert f.channels == ("email", "chat")
    assert f.statuses == ("open",)
    assert f.tags == ("vip",)
    assert f.queues == ("billing",)
    assert author == "Ann Lee"


def test_search_defaults_to_every_status_newest_first():
    words, f, _ = parse_query("parcel")
    assert f.statuses == ALL_STATES and f.order == "recent"


def test_assignee_me_and_nobody_and_tone():
    _, f, _ = parse_query("assignee:me tone:negative,angry", agent=AGENT)
    assert f.assignee == AGENT and f.tones == ("negative", "angry")
    _, f, _ = parse_query("assignee:nobody")
    assert f.assignee == ""


def test_status_words():
    _, f, _ = parse_query("status:active")
    assert f.statuses == OPEN_STATES
    _, f, _ = parse_query("status:all")
    assert f.statuses == ALL_STATES


@pytest.mark.parametrize("query, fragment", [
    ("channel:fax", "unknown channel 'fax'"),
    ("status:done", "unknown status 'done'"),
    ("colour:red", "unknown filter 'colour:'"),
    ("tag:", "tag: needs a value"),
    ("order:size", "unknown order"),
])
def test_mistakes_are_one_line_naming_the_fix(query, fragment):
    with pytest.raises(ViewQueryError) as err:
        parse_query(query)
    text = str(err.value)
    assert fragment in text and "—" in text and "\n" not in text


def test_times_and_urls_are_words_not_filters():
    words, _, _ = parse_query("meeting 10:30 https://example.com")
    assert "10:30" in words and "https://example.com" in words


def test_unclosed_quote_while_typing_is_forgiven():
    words, _, author = parse_query('from:"Ann Le')
    assert author == "Ann Le"


def test_saved_view_with_a_bad_query_names_the_view():
    cfg = parse_config('[[views]]\nname = "Broken"\nquery = "channel:fax"\n', "config.toml")
    with pytest.raises(ViewQueryError) as err:
        saved_views(cfg, AGENT)
    assert "'Broken'" in str(err.value)


# --------------------------------------------------------------------------- in the app


async def test_slash_searches_as_you_type_and_esc_goes_back(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        before = app.main.inbox.total
        await pilot.press("slash")
        assert app.main.search_bar.is_open and app.focused is app.main.search_bar.input
        await type_text(pilot, "ref17x")
        await wait_until(pilot, lambda: app.main.view.kind == "search" and app.main.inbox.total == 1)
        assert app.main.inbox.current_thread_id == thread_ids["t17"]
        assert "1 conversations" in str(app.main.search_bar.query_one("#search-hint").render())
        # Typing letters in the search box does not trigger the inbox keys (q, e, j ...).
        assert app.is_running
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not app.main.search_bar.is_open
        assert app.main.view.id == "all_open" and app.main.inbox.total == before
        assert app.focused is app.main.inbox


async def test_search_covers_every_channel_and_status_newest_first(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("slash")
        await type_text(pilot, "tracking")
        # "parcel tracking says lost" is in threads n % 5 == 1: all channels, some closed or snoozed.
        expected = [n for n in range(60) if n % 5 == 1]
        await wait_until(pilot, lambda: app.main.view.kind == "search" and app.main.inbox.total == len(expected))
        channels = {app.main.inbox.row_at(i).channel for i in range(app.main.inbox.total)}
        assert channels == {"email", "chat", "social"}
        times = [app.main.inbox.row_at(i).last_message_at for i in range(app.main.inbox.total)]
        assert times == sorted(times, reverse=True)
        await pilot.press("enter")
        assert app.focused is app.main.inbox


async def test_filters_narrow_the_search(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("slash")
        await type_text(pilot, "tracking channel:chat status:open")
        expected = [n for n in range(60) if n % 5 == 1 and n % 3 == 1 and n % 10 not in (8, 9)]
        await wait_until(pilot, lambda: app.main.view.kind == "search" and app.main.inbox.total == len(expected))
        assert {app.main.inbox.row_at(i).channel for i in range(app.main.inbox.total)} == {"chat"}


async def test_from_filter_searches_authors(make_app, thread_ids):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("slash")
        await type_text(pilot, "from:Tara")
        # Tara is FIRST[19]: threads 19 and 39 and 59.
        await wait_until(pilot, lambda: app.main.view.kind == "search" and app.main.inbox.total == 3)
        assert {app.main.inbox.row_at(i).id for i in range(3)} == {thread_ids[f"t{n}"] for n in (19, 39, 59)}


async def test_a_bad_filter_shows_a_hint_and_keeps_the_list(make_app, monkeypatch):
    # Keys inside one debounce window on a loaded machine too: no search for "chan" runs between them.
    monkeypatch.setattr(search, "DEBOUNCE", 1.0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        before = app.main.inbox.total
        await pilot.press("slash")
        await type_text(pilot, "channel:fax")
        hint = app.main.search_bar.query_one("#search-hint")
        await wait_until(pilot, lambda: "unknown channel 'fax'" in str(hint.render()))
        assert hint.has_class("-error")
        assert app.main.inbox.total == before


async def test_typing_fast_runs_one_search_and_cancels_stale_ones(make_app, monkeypatch):
    # A window wide enough that six Pilot keystrokes fall inside it on a loaded CI machine too:
    # the behaviour under test is that keys inside the window start one search, not the window's length.
    monkeypatch.setattr(search, "DEBOUNCE", 1.5)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("slash")
        bar = app.main.search_bar
        await type_text(pilot, "parcel")  # six keystrokes inside the debounce window
        await wait_until(pilot, lambda: app.main.view.kind == "search")
        await pilot.pause(0.3)
        assert bar.searches == 1
        # Two searches started back to back: only the last one's results land.
        bar.start_search("ref3x")
        bar.start_search("ref4x")
        await wait_until(pilot, lambda: app.main.view.name == "Search: ref4x")
        await pilot.pause(0.3)
        assert app.main.view.name == "Search: ref4x" and app.main.inbox.total == 1


async def test_search_results_with_no_words_are_a_filter_view(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("slash")
        await type_text(pilot, "tag:refund")
        await wait_until(pilot, lambda: app.main.view.kind == "search" and app.main.inbox.total == 6)
