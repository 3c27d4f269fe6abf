"""Each chooser returns what the agent picked, or None on Esc."""

from __future__ import annotations

from textual.app import App

from console.cache import connect
from tests.support.pilot import Typed, press, screen_text
from tests.ui.test_conversation_harness import seed
from widgets.screens.choosers import (
    AssignChooser,
    LinkChooser,
    MacroChooser,
    PriorityChooser,
    SnoozeChooser,
    TagChooser,
    TextPrompt,
)

MISSING = object()


class Host(App):
    def __init__(self, make_screen) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.result = MISSING

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self._done)

    def _done(self, value) -> None:
        self.result = value


async def choose(make_screen, *keys: str, size=(100, 30)):
    app = Host(make_screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await press(pilot, *keys)
        await pilot.pause()
        return app.result, screen_text(app)


async def test_snooze_takes_what_is_typed_from_the_first_key():
    assert (await choose(SnoozeChooser, "enter"))[0] == "1h"  # nothing typed: the highlighted choice
    assert (await choose(SnoozeChooser, "down", "down", "enter"))[0] == "tomorrow"
    assert (await choose(SnoozeChooser, Typed("3d"), "enter"))[0] == "3d"  # no Tab first
    assert (await choose(SnoozeChooser, Typed("3d"), "down", "enter"))[0] == "4h"  # typed, then a row chosen
    assert (await choose(SnoozeChooser, Typed("friday"), "enter"))[0] == "friday"
    assert (await choose(SnoozeChooser, Typed("tomorrow 9:00"), "enter"))[0] == "tomorrow 9:00"
    value, screen = await choose(SnoozeChooser, Typed("tomorrow 9:00"))
    assert value is MISSING and "→ until " in screen and " 09:00" in screen  # what it means, before Enter
    value, screen = await choose(SnoozeChooser, Typed("soonish"), "enter")
    assert value is MISSING  # still open
    assert "cannot read the time 'soonish'" in screen
    assert (await choose(SnoozeChooser, "escape"))[0] is None


async def test_snooze_offers_until_the_customer_replies():
    _, screen = await choose(SnoozeChooser)
    assert "Until the customer replies" in screen
    assert (await choose(SnoozeChooser, *["down"] * 5, "enter"))[0] == "reply"
    assert (await choose(SnoozeChooser, Typed("until reply"), "enter"))[0] == "reply"


async def test_assign_takes_the_best_match_of_what_is_typed():
    make = lambda: AssignChooser(["Lee Park", "Sam", "Tom Berg", "Tomas Wei", "Ana"], "Sam")  # noqa: E731
    assert "me (Sam)" in (await choose(make))[1]
    assert (await choose(make, "enter"))[0] == "Sam"  # nothing typed: me, highlighted
    assert (await choose(make, "down", "enter"))[0] == "Lee Park"
    assert (await choose(make, Typed("Tom"), "enter"))[0] == "Tom Berg"  # first name, not the first row
    assert (await choose(make, Typed("tomas"), "enter"))[0] == "Tomas Wei"
    assert (await choose(make, Typed("an"), "enter"))[0] == "Ana"
    assert (await choose(make, Typed("nobody"), "enter"))[0] == "nobody"
    assert (await choose(make, Typed("me"), "enter"))[0] == "Sam"
    value, screen = await choose(make, Typed("Priya"), "enter")
    assert value is MISSING and "no agent called 'Priya'" in screen  # never invented
    value, screen = await choose(make, Typed("T"), "enter")
    assert value is MISSING and "2 match 'T'" in screen  # Tom Berg or Tomas Wei: type more
    assert (await choose(make, Typed("T"), "down", "enter"))[0] == "Tomas Wei"  # or pick with the arrows
    assert (await choose(make, "escape"))[0] is None


async def test_tags_typing_adds_ticks_toggle():
    make = lambda: TagChooser(["refund", "vip"], ["refund", "shipping", "vip"])  # noqa: E731
    # List: refund (on), shipping (off), vip (on). ↓ into the list, untick refund, tick shipping.
    value, _ = await choose(make, "down", "space", "down", "space", "ctrl+s")
    assert value == {"add": ["shipping"], "remove": ["refund"]}
    value, _ = await choose(make, Typed("Urgent, late"), "enter")  # typing goes to the box from the first key
    assert value == {"add": ["late", "urgent"], "remove": []}
    value, screen = await choose(make, Typed("probe"))
    assert "Enter: + probe (new tag: probe)" in screen
    value, _ = await choose(make, "down", "down", Typed("new"), "enter")  # a letter in the list goes back to the box
    assert value == {"add": ["new"], "remove": []}
    assert (await choose(make, "ctrl+s"))[0] is None  # nothing changed
    assert (await choose(make, "escape"))[0] is None


async def test_priority_by_digit_name_or_list():
    assert (await choose(lambda: PriorityChooser(1), "3"))[0] == 3
    assert "2  high   (current)" in (await choose(lambda: PriorityChooser(2)))[1]
    assert (await choose(lambda: PriorityChooser(2), "enter"))[0] == 2
    assert (await choose(lambda: PriorityChooser(1), "up", "enter"))[0] == 0
    assert (await choose(lambda: PriorityChooser(1), Typed("urg"), "enter"))[0] == 3
    assert (await choose(lambda: PriorityChooser(1), Typed("high"), "enter"))[0] == 2
    value, screen = await choose(lambda: PriorityChooser(1), Typed("asap"), "enter")
    assert value is MISSING and "no priority 'asap'" in screen
    assert (await choose(lambda: PriorityChooser(1), "escape"))[0] is None


async def test_macro_filter_and_pick():
    make = lambda: MacroChooser(["Refund approved", "Shipping delay", "Greeting [bold]"])  # noqa: E731
    assert (await choose(make, Typed("ship"), "enter"))[0] == "Shipping delay"
    assert (await choose(make, "down", "enter"))[0] == "Shipping delay"
    value, screen = await choose(make, "escape")
    assert value is None
    value, screen = await choose(make, Typed("zzz"), "enter")
    assert value is MISSING and "no macro matches" in screen
    value, screen = await choose(lambda: MacroChooser([]), "enter")
    assert value is MISSING and "no macros yet" in screen
    _, screen = await choose(make)
    assert "Greeting [bold]" in screen


async def test_link_chooser_searches_other_customers_identities(tmp_path):
    db = connect(tmp_path / "c.sqlite3")
    ids = seed(db)
    alice = db.execute("SELECT customer_id FROM threads WHERE id=?", (ids["refund"],)).fetchone()[0]
    make = lambda: LinkChooser(db, alice)  # noqa: E731
    value, screen = await choose(make, size=(120, 30))
    assert "alice@example.com" not in screen  # already hers
    assert "@bob:matrix.example" in screen and "@alice@mastodon.example" in screen
    value, _ = await choose(make, Typed("alice"), "enter", size=(120, 30))
    social = db.execute("SELECT id FROM identities WHERE address='@alice@mastodon.example'").fetchone()[0]
    assert value == (social, alice)
    value, screen = await choose(make, Typed("nobody-like-this"), "enter", size=(120, 30))
    assert value is MISSING and "no other identity matches" in screen
    assert (await choose(make, "escape"))[0] is None
    db.close()


async def test_text_prompt():
    make = lambda: TextPrompt("Note about this customer")  # noqa: E731
    assert (await choose(make, Typed("hello"), "enter"))[0] == "hello"
    value, screen = await choose(make, "enter")
    assert value is MISSING and "write something first" in screen
    assert (await choose(make, "escape"))[0] is None


# --------------------------------------------------------------------------- in the app, at both sizes

import json  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402

import pytest  # noqa: E402

from console.config import parse as parse_config  # noqa: E402
from tests.ui.conftest import CONFIG_TOML  # noqa: E402

SIZES = [(160, 45), (80, 24)]


async def _open(app, pilot, key: str):
    """The first open conversation of the inbox is current; ``key`` opens its dialog."""
    await pilot.pause(0.15)
    tid = app.main.settle()
    await pilot.press(key)
    await pilot.pause()
    return tid


def _row(app, tid):
    return app.db.execute("SELECT * FROM threads WHERE id=?", (tid,)).fetchone()


@pytest.mark.parametrize("size", SIZES)
async def test_s_then_typing_3d_friday_or_tomorrow_9_snoozes_until_what_was_typed(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        tid = await _open(app, pilot, "s")
        await press(pilot, Typed("3d"), "enter")
        await pilot.pause()
        row = _row(app, tid)
        assert row["status"] == "snoozed"
        assert row["snoozed_until"] > time.time() + 3 * 86400 - 120  # three days, not the first option's hour
        app.main.open_thread(tid, focus=False)
        await pilot.press("o")  # reopen, then friday
        await pilot.pause()
        await press(pilot, "s", Typed("friday"), "enter")
        await pilot.pause()
        back = datetime.fromtimestamp(_row(app, tid)["snoozed_until"])
        assert (back.strftime("%A"), back.hour, back.minute) == ("Friday", 9, 0)
        await pilot.press("o")
        await pilot.pause()
        await press(pilot, "s", Typed("tomorrow 9:30"), "enter")
        await pilot.pause()
        back = datetime.fromtimestamp(_row(app, tid)["snoozed_until"])
        assert (back.date() - datetime.now().date()).days == 1 and (back.hour, back.minute) == (9, 30)


@pytest.mark.parametrize("size", SIZES)
async def test_an_unreadable_snooze_time_is_said_in_the_dialog_which_stays_open(make_app, size):
    from widgets.screens.choosers import SnoozeChooser

    app = make_app()
    async with app.run_test(size=size) as pilot:
        tid = await _open(app, pilot, "s")
        await press(pilot, Typed("soonish"), "enter")
        await pilot.pause()
        assert isinstance(app.screen, SnoozeChooser)
        assert "cannot read the time 'soonish'" in app.screen.query_one("#chooser-error").content.plain
        assert _row(app, tid)["status"] == "open"


@pytest.mark.parametrize("size", SIZES)
async def test_s_offers_until_the_customer_replies(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        tid = await _open(app, pilot, "s")
        await press(pilot, Typed("until reply"), "enter")
        await pilot.pause()
        row = _row(app, tid)
        assert (row["status"], row["snoozed_until"]) == ("snoozed", None)


@pytest.mark.parametrize("size", SIZES)
async def test_a_then_typing_kim_assigns_kim_and_an_unknown_name_is_said(make_app, size):
    from widgets.screens.choosers import AssignChooser

    app = make_app()
    async with app.run_test(size=size) as pilot:
        tid = await _open(app, pilot, "a")
        await press(pilot, Typed("Priya"), "enter")
        await pilot.pause()
        assert isinstance(app.screen, AssignChooser)  # no agent is invented
        assert "no agent called 'Priya'" in app.screen.query_one("#chooser-error").content.plain
        await press(pilot, *["backspace"] * 5, Typed("Kim"), "enter")
        await pilot.pause()
        assert _row(app, tid)["assignee"] == "Kim Lee"


@pytest.mark.parametrize("size", SIZES)
async def test_t_then_typing_a_new_tag_adds_it_beside_the_others(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.15)
        tid = app.main.inbox.current_thread_id
        app.db.execute("UPDATE threads SET tags='[\"refund\", \"vip\"]' WHERE id=?", (tid,))
        app.main.open_thread(tid, focus=False)
        await pilot.pause()
        await press(pilot, "t", Typed("probe"))
        await pilot.pause()
        assert app.screen.query_one("#tag-input").value == "probe"  # the box had the keys from the first one
        assert "Enter: + probe (new tag: probe)" in app.screen.query_one("#tag-means").content.plain
        await pilot.press("enter")
        await pilot.pause()
        assert json.loads(_row(app, tid)["tags"]) == ["probe", "refund", "vip"]


@pytest.mark.parametrize("size", SIZES)
async def test_p_then_typing_urgent_sets_urgent(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        tid = await _open(app, pilot, "p")
        await press(pilot, Typed("urgent"), "enter")
        await pilot.pause()
        assert _row(app, tid)["priority"] == 3


MACRO_TOML = CONFIG_TOML + '''
[[macros]]
name = "refund approved"
text = "Hi {customer.first_name}, your refund is on its way."
tags = ["refunded"]
close = true
'''


@pytest.mark.parametrize("size", SIZES)
async def test_the_macro_chooser_previews_then_the_composer_shows_what_runs_on_send(make_app, size):
    app = make_app(config=parse_config(MACRO_TOML, "config.toml"))
    async with app.run_test(size=size) as pilot:
        tid = await _open(app, pilot, "m")
        tags = json.loads(_row(app, tid)["tags"])
        await press(pilot, Typed("refund"))
        await pilot.pause()
        name = app.db.execute("SELECT c.name FROM threads t JOIN customers c ON c.id=t.customer_id WHERE t.id=?",
                              (tid,)).fetchone()[0]
        preview = app.screen.query_one("#macro-preview").content.plain
        assert preview == f"Hi {name.split()[0]}, your refund is on its way."  # as it will read here
        assert app.screen.query_one("#macro-effects").content.plain == "on send: tag refunded, close"
        await pilot.press("enter")
        await pilot.pause()
        assert app.main.conversation.composing and app.main.conversation.thread_id == tid
        assert app.main.conversation.composer.text.startswith(f"Hi {name.split()[0]},")
        assert "on send: tag refunded, close" in app.main.conversation.composer.query_one("#composer-status").content.plain
        row = _row(app, tid)
        assert (row["status"], json.loads(row["tags"])) == ("open", tags)  # nothing changed before send
        await pilot.press("ctrl+s")
        await pilot.pause()
        row = _row(app, tid)
        assert (row["status"], json.loads(row["tags"])) == ("closed", sorted({*tags, "refunded"}))
