"""First run, at 160x45 and 80x24: with no accounts the console says what to do (the config
path it looks for, the example, `switchboard accounts add`, `--demo`); while the first sync
runs, the inbox column shows each account's progress instead of "Nothing here"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.cache import connect
from console.config import Config
from console.config import parse as parse_config
from console.engine import AccountState, Engine
from tests.ui.conftest import CONFIG_TOML, PanesReadyApp, Clock, fill_cache
from tests.support.pilot import settle, wait_until

SIZES = [(160, 45), (80, 24)]
ACCOUNTS = """
[[accounts]]
name = "support-mail"
provider = "demo"

[[accounts]]
name = "live-chat"
provider = "demo"
"""


def app_on_empty_cache(tmp_path: Path, config) -> PanesReadyApp:
    return PanesReadyApp(db_path=tmp_path / "empty.sqlite3", config=config, start_engine=False, clock=Clock())


def guide_text(app) -> str:
    return app.main.query_one("#first-run").render().plain


@pytest.mark.parametrize("size", SIZES)
async def test_no_config_opens_with_what_to_do(tmp_path, monkeypatch, size):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    app = app_on_empty_cache(tmp_path, Config())
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.main.query_one("#first-run").display and not app.main.inbox.display
        text = " ".join(guide_text(app).split())  # as read, whatever the wrapping
        assert str(tmp_path / "xdg" / "switchboard" / "config.toml") in text  # where it looks
        assert str(Path(__file__).resolve().parents[2] / "config.toml") in text  # the example
        assert "switchboard accounts add NAME" in text and "switchboard --demo" in text
        assert "Nothing here" not in text
        await pilot.press("question_mark")  # the keys still work around it
        await settle(pilot)
        assert len(app.screen_stack) == 2


@pytest.mark.parametrize("size", SIZES)
async def test_a_config_without_accounts_names_the_file(tmp_path, size):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TOML, encoding="utf-8")
    app = app_on_empty_cache(tmp_path, parse_config(CONFIG_TOML, path))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        text = " ".join(guide_text(app).split())
        assert f"Your config {path} names no account" in text and "[[accounts]]" in text


@pytest.mark.parametrize("size", SIZES)
async def test_the_first_sync_shows_progress_per_account_until_conversations_arrive(tmp_path, size):
    app = app_on_empty_cache(tmp_path, parse_config(CONFIG_TOML + ACCOUNTS, "config.toml"))
    states = [AccountState("support-mail", "demo", state="syncing", detail="page 3", synced_messages=120),
              AccountState("live-chat", "demo", state="starting")]
    app.sync_status = lambda: (states, "")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        text = guide_text(app)
        assert "support-mail  syncing — 120 messages so far (page 3)" in text
        assert "live-chat     starting — 0 messages so far" in text
        assert "Nothing here" not in text and not app.main.inbox.display
        states[0].synced_messages = 480  # the next page is in: the figure follows within a second
        await wait_until(pilot, lambda: "support-mail  syncing — 480 messages so far" in guide_text(app),
                         what="the guide to show the next page's figure")
        fill_cache(app.db, threads=6)  # conversations arrive
        for st in states:
            st.state = "online"
        app.main.changed(None)
        await settle(pilot)
        assert app.main.inbox.display and app.main.inbox.total > 0
        assert not app.main.query_one("#first-run").display


@pytest.mark.parametrize("size", SIZES)
async def test_an_empty_view_after_the_first_sync_is_the_inbox_saying_nothing_here(tmp_path, size):
    app = app_on_empty_cache(tmp_path, parse_config(CONFIG_TOML + ACCOUNTS, "config.toml"))
    app.sync_status = lambda: ([AccountState("support-mail", "demo", state="online"),
                                AccountState("live-chat", "demo", state="online")], "")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.main.inbox.display and not app.main.query_one("#first-run").display


def test_the_engine_counts_the_messages_each_account_pulled(tmp_path):
    """The figure the progress shows is the engine's own count, equal to what reached the cache."""
    text = (Path(__file__).resolve().parents[2] / "console" / "demo_config.toml").read_text(encoding="utf-8")
    cfg = parse_config(text, "demo_config.toml")
    db = connect(tmp_path / "demo.sqlite3")
    states = asyncio.run(Engine(db, cfg, data_dir=tmp_path).run_once())
    for name, st in states.items():
        stored = db.execute("SELECT COUNT(*) FROM messages m JOIN accounts a ON a.id = m.account_id "
                            "WHERE a.name=?", (name,)).fetchone()[0]
        assert st.synced_messages == stored, name
    assert sum(st.synced_messages for st in states.values()) > 0
