"""The supervisor dashboard on a minimal host app: drill-down, refresh, hostile
labels shown literally, and no key on it changes anything in the cache."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from rich.text import Text
from textual.screen import Screen
from textual.widgets import DataTable

from console.config import parse as parse_config
from console.service import Service
from providers.records import Channel, Identity
from tests.support.factories import conversation, load
from widgets.host import HostApp
from widgets.screens.dashboard import DashboardScreen
from tests.support.pilot import painted

CONFIG = """
[[agents]]
name = "Sam Rivera"
capacity = 2
[[agents]]
name = "Priya Natarajan"
capacity = 3

[[triage.rules]]
name = "refunds"
when = { kind = "refund" }
then = { queue = "billing", tags = ["refund", "[@click=app.quit]boom[/]"] }
"""


class Host(HostApp):
    """The host interface the real app gives the dashboard; drill-downs are recorded."""

    def __init__(self, db, config, refresh_seconds: float = 5.0) -> None:
        path = db.execute("PRAGMA database_list").fetchone()[2]
        super().__init__(db=db, config=config, read_only=True, db_path=Path(path) if path else None)
        self.refresh_seconds = refresh_seconds
        self.shown: list[tuple[list[int], str]] = []
        self.quit_asked = False

    def on_mount(self) -> None:
        self.push_screen(Screen(id="inbox"))
        self.push_screen(DashboardScreen(self, refresh_seconds=self.refresh_seconds))

    def show_threads(self, thread_ids, title) -> None:
        self.shown.append((list(thread_ids), title))


@pytest.fixture
def world(db):
    cfg = parse_config(CONFIG)
    service = Service(cfg)
    now = datetime.now(timezone.utc)
    pairs = [conversation(1, text="I want a refund now", at=now), conversation(2, text="Where is my parcel?", at=now),
             conversation(3, channel=Channel.SOCIAL, who=Identity(Channel.SOCIAL, "@x@s.example", "X"),
                          text="Please refund me", at=now)]
    _, result = load(db, pairs)
    service.process(db, result)
    db.execute("UPDATE threads SET assignee='Sam Rivera' WHERE remote_id='t2'")
    return db, cfg


def snapshot(db) -> dict:
    tables = ["threads", "messages", "drafts", "outbox", "audit", "breaches", "triage_log", "customers",
              "identities", "customer_notes"]
    return {t: [tuple(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in tables}


def row_index(screen: DashboardScreen, title: str) -> int:
    return next(i for i, (t, _) in enumerate(screen.rows) if t == title)


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_enter_drills_down_to_the_conversations_behind_a_figure(world, size):
    db, cfg = world
    app = Host(db, cfg)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        target = row_index(screen, "Service levels: Unassigned")
        for _ in range(target):
            await pilot.press("down")
        await pilot.press("enter")
        unassigned = [r[0] for r in db.execute(
            "SELECT id FROM threads WHERE status='open' AND assignee IS NULL ORDER BY sort_due, id")]
        assert app.shown == [(unassigned, "Service levels: Unassigned")]
        assert len(unassigned) == 2
        billing = row_index(screen, "Open by queue: billing")
        for _ in range(billing - target):
            await pilot.press("down")
        await pilot.press("enter")
        ids = [r[0] for r in db.execute("SELECT id FROM threads WHERE queue='billing' ORDER BY sort_due, id")]
        assert app.shown[-1] == (ids, "Open by queue: billing") and len(ids) == 2
        empty = row_index(screen, "Service levels: SLA at risk")  # nothing behind it: no drill-down
        for _ in range(billing - empty):
            await pilot.press("up")
        await pilot.press("enter")
        assert len(app.shown) == 2


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_labels_from_data_are_literal_text(world, size):
    db, cfg = world
    app = Host(db, cfg)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        cells = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert all(isinstance(c, Text) for c in cells)
        assert any("[@click=app.quit]boom[/]" in c.plain for c in cells)
        assert app.is_running  # the markup did not run app.quit


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_no_key_changes_the_cache(world, size):
    db, cfg = world
    before = snapshot(db)
    app = Host(db, cfg)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in ["r", "n", "e", "o", "a", "t", "s", "p", "m", "u", "R", "L", "U", "N", "ctrl+s", "ctrl+k",
                    "space", "enter", "down", "enter", "x", "d", "f5", "delete", "backspace", "ctrl+d"]:
            await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
    assert snapshot(db) == before


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_refresh_picks_up_new_data_and_escape_goes_back(world, size):
    db, cfg = world
    app = Host(db, cfg)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.figures.unassigned.value == 2
        db.execute("UPDATE threads SET assignee='Priya Natarajan' WHERE assignee IS NULL")
        await pilot.press("f5")
        assert screen.figures.unassigned.value == 0
        load_rows = {f.label: f.display for f in screen.figures.agent_load}
        assert load_rows == {"Sam Rivera": "1/2", "Priya Natarajan": "2/3"}
        await pilot.press("escape")
        assert app.screen.id == "inbox"


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_background_refresh_reads_through_its_own_connection(world, size):
    db, cfg = world

    app = Host(db, cfg, refresh_seconds=0.1)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.figures.unassigned.value == 2
        db.execute("UPDATE threads SET assignee='Tom Becker' WHERE assignee IS NULL")
        for _ in range(40):
            await pilot.pause(0.05)
            if screen.figures.unassigned.value == 0:
                break
        assert screen.figures.unassigned.value == 0
        assert screen._reader is not None  # read through the read-only connection
        with pytest.raises(Exception, match="readonly"):
            screen._reader.execute("UPDATE threads SET assignee=NULL")


# --------------------------------------------------------------------------- the agent's console, 160x45 and 80x24

AGENT_LOAD = """
[[agents]]
name = "Kim Lee"
capacity = 5
"""


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_in_agent_mode_the_dashboard_says_it_is_a_read_only_view(make_app, size):
    app = make_app()
    assert not app.read_only
    async with app.run_test(size=size) as pilot:
        await pilot.press("D")
        await pilot.pause(0.2)
        assert isinstance(app.screen, DashboardScreen)
        title = painted(app)[0]
        assert "Supervisor dashboard · read-only view, changes nothing · updated" in title


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_all_open_is_named_and_counted_as_the_inboxs_all_open_view(make_app, cache_path, size):
    import sqlite3

    db = sqlite3.connect(cache_path)
    with db:
        db.execute("UPDATE threads SET status='pending' WHERE status='open' AND id % 4 = 0")  # waiting for the customer
    db.close()
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.1)
        inbox_all_open = app.main.inbox.total
        assert app.main.view.name == "All open"
        await pilot.press("D")
        await pilot.pause(0.2)
        figs = app.screen.figures
        assert (figs.all_open.label, figs.all_open.value) == ("All open", inbox_all_open)
        assert figs.open_total.value < inbox_all_open  # 'waiting for us' is a part of it, named apart
        assert f"{figs.open_total.value} waiting for us" in figs.all_open.detail


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_over_capacity_is_said_in_full_and_oldest_waiting_names_the_conversation(make_app, size):
    from console.config import parse as parse_config
    from tests.ui.conftest import CONFIG_TOML

    app = make_app(config=parse_config(CONFIG_TOML + AGENT_LOAD, "config.toml"))
    async with app.run_test(size=size) as pilot:
        await pilot.press("D")
        await pilot.pause(0.2)
        screen = app.screen
        kim = next(f for f in screen.figures.agent_load if f.label == "Kim Lee")
        held = int(kim.display.split("/")[0])
        assert held > 5 and kim.display == f"{held}/5" and kim.alert
        target = row_index(screen, "Load per agent: Kim Lee")
        screen.query_one(DataTable).move_cursor(row=target)  # scrolled into view, as the arrows would
        await pilot.pause(0.1)
        text = " ".join(" ".join(painted(app)).split())
        assert f"Kim Lee {held}/5 over capacity by {held - 5}" in text  # whole, even at 80 columns
        oldest = screen.figures.oldest_waiting
        assert oldest.detail.startswith("“") and "·" in oldest.detail and "conversation" not in oldest.detail
        table = screen.query_one(DataTable)
        cell = table.get_row_at(row_index(screen, "Service levels: Oldest waiting"))[2]
        assert cell.plain == oldest.detail
