"""The main screen at 160x45, 100x30 and 80x24: under 100 columns one pane fills the screen at a
time (the list, then the conversation full screen as mutt's pager, the customer on ``c``); the
status bar keeps the outbox count and ``? help`` at every width."""

from __future__ import annotations

import pytest

from console.engine import AccountState
from tests.support.pilot import settle

WIDE, MIDDLE, NARROW = (160, 45), (100, 30), (80, 24)


def shown(app) -> set[str]:
    main = app.main
    return {name for name, sel in (("list", "#inbox-column"), ("conversation", "#conversation-slot"),
                                   ("customer", "#customer-slot")) if main.query_one(sel).display}


async def test_at_80_columns_enter_opens_the_conversation_full_screen_and_escape_goes_back(make_app):
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert shown(app) == {"list"}
        assert app.main.inbox.size.width >= 78  # the list has the whole width
        subject = app.main.inbox.current_row.subject
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app) == {"conversation"}
        assert app.main.conversation.size.width == 80
        assert subject in app.main.conversation.query_one("#conv-header").render().plain
        await pilot.press("escape")
        await settle(pilot)
        assert shown(app) == {"list"} and app.main.inbox.has_focus


async def test_at_80_columns_the_composer_gets_the_whole_width(make_app):
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("enter", "r")
        await settle(pilot)
        composer = app.main.conversation.composer
        assert composer.display and composer.size.width == 80  # not 38 columns beside the list
        messages = app.main.conversation.query_one("#conv-scroll")
        assert messages.size.height >= 5  # the conversation is still readable above it
        await pilot.press("escape")  # the composer closes (the draft is kept) …
        await settle(pilot)
        assert shown(app) == {"conversation"}
        await pilot.press("escape")  # … and the next Escape is back to the list
        await settle(pilot)
        assert shown(app) == {"list"}


async def test_at_80_columns_c_shows_the_customer_full_screen_and_c_again_goes_back(make_app):
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert shown(app) == {"customer"}
        assert app.main.customer.size.width == 80
        customer = app.main.inbox.current_row.customer
        assert customer in app.main.customer.query_one("#cust-header").render().plain
        await pilot.press("c")
        await settle(pilot)
        assert shown(app) == {"conversation"}  # back where the agent was
        await pilot.press("c", "escape")  # Escape from the customer returns to the list
        await settle(pilot)
        assert shown(app) == {"list"}


@pytest.mark.parametrize("size", [WIDE, MIDDLE])
async def test_from_100_columns_the_list_stays_beside_the_open_conversation(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert {"list", "conversation"} <= shown(app)
        assert ("customer" in shown(app)) == (size == WIDE)
        assert app.main.conversation.size.width >= 45
        await pilot.press("r")
        await settle(pilot)
        assert app.main.conversation.composer.size.width >= 45


async def test_growing_the_terminal_brings_every_pane_back(make_app):
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.resize_terminal(*WIDE)
        await settle(pilot)
        assert shown(app) == {"list", "conversation", "customer"}
        await pilot.resize_terminal(*NARROW)
        await settle(pilot)
        assert shown(app) == {"conversation"}  # the conversation being read stays on screen


async def test_the_status_bar_keeps_the_outbox_and_help_at_every_width(make_app):
    app = make_app()
    states = [AccountState(f"support-mail-{n}-with-a-long-name", "imap", state="offline",
                           detail="connection refused", error="connection refused", next_try_at=None)
              for n in range(4)]
    app.sync_status = lambda: (states, "")
    async with app.run_test(size=WIDE) as pilot:
        for size in (WIDE, MIDDLE, NARROW):
            await pilot.resize_terminal(*size)
            app.main.update_status()
            await settle(pilot)
            bar = app.main.statusbar
            line = bar.render().plain
            assert bar.size.width == size[0]
            assert line.rstrip().endswith("? help"), (size, line)
            assert "outbox 0 queued" in line
            assert "All open" in line and "support-mail-0" in line  # the left is cut, not dropped
            assert len(line) <= size[0]


async def test_the_status_bar_names_the_help_key_the_keymap_gave_it(make_app):
    from console.config import parse as parse_config
    from tests.ui.conftest import CONFIG_TOML

    app = make_app(config=parse_config(CONFIG_TOML + '\n[keymap]\nhelp = "f2"\n', "config.toml"))
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert app.main.statusbar.render().plain.rstrip().endswith("│ f2 help")


async def test_narrowing_the_terminal_keeps_the_conversation_being_read_on_screen(make_app):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the focus is in the conversation
        await settle(pilot)
        await pilot.resize_terminal(*NARROW)
        await settle(pilot)
        assert shown(app) == {"conversation"}  # not the list while the keys go to a hidden pane
        await pilot.press("escape")
        await settle(pilot)
        assert shown(app) == {"list"}
