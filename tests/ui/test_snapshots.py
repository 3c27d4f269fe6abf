"""Snapshot tests (pytest-textual-snapshot) of the main screen at 80x24 and 160x45, help, palette, read-only.

The data and every clock on screen are pinned (``FIXED_NOW``, TZ=UTC), so a change
in a snapshot is a change in what the agent sees. Update deliberately with
``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import time
import types

import pytest

from tests.ui.conftest import FIXED_NOW
from tests.support.pilot import settle


@pytest.fixture(autouse=True)
def frozen_clocks(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    frozen = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("_")})
    frozen.time = lambda: FIXED_NOW
    import widgets.render

    monkeypatch.setattr(widgets.render, "time", frozen)  # message dates; the app's own clock is make_app's
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def with_priorities(cache_path) -> None:
    """An urgent, a high and a low conversation among the normal ones (the priority column)."""
    from console.cache import connect

    db = connect(cache_path)
    for remote_id, level in (("t1", 3), ("t3", 2), ("t4", 0)):
        db.execute("UPDATE threads SET priority=? WHERE remote_id=?", (level, remote_id))
    db.close()


def test_main_screen_80x24(snap_compare, make_app, cache_path):
    with_priorities(cache_path)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


def test_main_screen_160x45(snap_compare, make_app, cache_path):
    """The header row, the marks, one conversation marked for a bulk action (the header counts it)."""
    with_priorities(cache_path)

    async def run_before(pilot):
        await pilot.press("j", "x", "j")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_before)


def test_help_screen(snap_compare, make_app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 50), run_before=run_before)


def test_command_palette(snap_compare, make_app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("colon")
        await settle(pilot)
        from textual.widgets import Input

        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # a blinking cursor is not a regression
        for ch in "snooz":
            await pilot.press(ch)
        await pilot.pause(0.5)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)


def test_read_only_main_screen(snap_compare, make_app):
    app = make_app(read_only=True)

    async def run_before(pilot):
        await settle(pilot)
        while len(app.screen_stack) > 1:  # the dashboard opens first in read-only mode
            app.pop_screen()
            await pilot.pause(0.05)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(160, 50), run_before=run_before)
