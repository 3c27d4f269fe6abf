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


async def test_enter_drills_down_to_the_conversations_behind_a_figure(world):
    db, cfg = world
    app = Host(db, cfg)
    async with app.run_test(size=(100, 50)) as pilot:
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


async def test_labels_from_data_are_literal_text(world):
    db, cfg = world
    app = Host(db, cfg)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        cells = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert all(isinstance(c, Text) for c in cells)
        assert any("[@click=app.quit]boom[/]" in c.plain for c in cells)
        assert app.is_running  # the markup did not run app.quit


async def test_no_key_changes_the_cache(world):
    db, cfg = world
    before = snapshot(db)
    app = Host(db, cfg)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        for key in ["r", "n", "e", "o", "a", "t", "s", "p", "m", "u", "R", "L", "U", "N", "ctrl+s", "ctrl+k",
                    "space", "enter", "down", "enter", "x", "d", "f5", "delete", "backspace", "ctrl+d"]:
            await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
    assert snapshot(db) == before


async def test_refresh_picks_up_new_data_and_escape_goes_back(world):
    db, cfg = world
    app = Host(db, cfg)
    async with app.run_test(size=(100, 50)) as pilot:
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


async def test_background_refresh_reads_through_its_own_connection(world):
    db, cfg = world

    app = Host(db, cfg, refresh_seconds=0.1)
    async with app.run_test(size=(100, 50)) as pilot:
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
