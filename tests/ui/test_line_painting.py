"""Painting only what changed (widgets.compositor), and drawing exactly what Textual would.

A half page repaints the inbox and its scrollbar and nothing under them; rows a half page
away are drawn before the key; the kept scrollbar and the kept styled rows draw the same
cells as Textual's own drawing, at every scroll position.
"""

from __future__ import annotations

from functools import partial

from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.compositor import KeptLines, covered
from tests.ui.test_refresh_coalescing import panes_at_rest, store_batch

SIZE = (160, 50)


def cells(strip) -> list[tuple[str, object]]:
    return [(segment.text, segment.style) for segment in strip]


async def a_long_inbox(app, pilot, n: int = 200):
    """The main screen over ``n`` more conversations than the fixture holds, at rest at the top."""
    main = await panes_at_rest(app, pilot)
    store_batch(app, "paint", n)
    main.inbox.reload()
    main.inbox.go_top()
    await pilot.pause(0.3)
    return main


def test_an_area_is_covered_only_when_every_cell_of_it_is():
    area = Region(0, 0, 10, 4)
    assert covered(area, [Region(0, 0, 6, 4), Region(6, 0, 4, 4)])
    assert covered(area, [Region(0, 0, 10, 2), Region(0, 2, 10, 2)])
    assert covered(area, [Region(-5, -5, 30, 30)])
    assert not covered(area, [Region(0, 0, 6, 4), Region(7, 0, 3, 4)]), "a column between two regions"
    assert not covered(area, [Region(0, 0, 10, 3)]), "the last line"
    assert not covered(area, [Region(0, 0, 6, 2), Region(6, 2, 4, 2)]), "two corners"
    assert not covered(area, [])


async def test_a_half_page_asks_the_inbox_and_its_scrollbar_only_and_draws_what_a_full_render_draws(
        make_app, monkeypatch):
    from textual.widget import Widget

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = await a_long_inbox(app, pilot)
        asked: list = []
        render_lines = Widget.render_lines

        def recording(self, crop):
            asked.append(self)
            return render_lines(self, crop)

        monkeypatch.setattr(Widget, "render_lines", recording)
        monkeypatch.setattr("widgets.screens.main.PANE_DELAY", 30.0)  # the panes stay where they are
        await pilot.press("ctrl+d")
        await pilot.pause(0.05)
        assert main.inbox.top > 0, "the half page scrolled the inbox"
        assert main.inbox in asked and main.inbox.vertical_scrollbar in asked
        under = [w for w in asked if w in main.inbox.ancestors]  # the containers and the screen beneath it
        assert not under, f"widgets under the inbox were drawn: {under}"

        compositor = app.screen._compositor
        crop = main.inbox.region
        ours = compositor._render_chops(crop, lambda y: True)
        monkeypatch.setattr(compositor, "_get_renders", partial(Compositor._get_renders, compositor))
        textuals = compositor._render_chops(crop, lambda y: True)
        for y in crop.line_range:
            for x, strip in textuals[y].items():
                if crop.x <= x < crop.right:
                    assert cells(ours[y][x]) == cells(strip), f"line {y}, column {x} differs"


async def test_the_rows_half_a_page_away_are_drawn_before_the_page_key(make_app, monkeypatch):
    from widgets import inbox as inbox_module

    monkeypatch.setattr(inbox_module, "WARM_DELAY", 0.4)  # the drawing ahead stays out of the key's own frame
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = await a_long_inbox(app, pilot)
        await pilot.press("ctrl+d")  # the view has moved, and rests
        await pilot.pause(0.8)
        drawn: list[int] = []
        row_segments = inbox_module.row_segments

        def recording(row, width, facts):
            drawn.append(row.id)
            return row_segments(row, width, facts)

        monkeypatch.setattr(inbox_module, "row_segments", recording)
        for key in ("ctrl+d", "ctrl+u", "ctrl+u"):
            top = main.inbox.top
            drawn.clear()
            await pilot.press(key)
            await pilot.pause(0.01)
            assert main.inbox.top != top, f"{key} moved the view"
            # The rows that scrolled in were drawn while the view rested; only the cursor's old and new rows are new.
            assert len(drawn) <= 2, f"{key} drew {len(drawn)} rows when the page was shown"
            await pilot.pause(0.8)


class Lines(ScrollView):
    """A plain line view of 300 lines, with Textual's scrollbar."""

    def on_mount(self) -> None:
        self.virtual_size = Size(20, 300)

    def render_line(self, y: int) -> Strip:
        return Strip.blank(self.size.width)


class KeptLinesView(KeptLines, Lines):
    """The same view with the kept lines and the line scrollbar."""


class TwoBars(App):
    CSS = "Lines { width: 30; height: 1fr; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Lines()
            yield KeptLinesView()


async def test_the_line_scrollbar_draws_what_textuals_draws_at_every_position():
    app = TwoBars()
    async with app.run_test(size=(60, 23)) as pilot:
        textuals, ours = app.query(Lines)
        for y in [*range(0, 40), *range(120, 300, 7), 278, 299]:
            for view in (textuals, ours):
                view.scroll_to(y=y, animate=False)
            await pilot.pause()
            bar_ours, bar_textuals = ours.vertical_scrollbar, textuals.vertical_scrollbar
            assert type(bar_ours).__name__ == "LineScrollBar" and type(bar_textuals).__name__ == "ScrollBar"
            region = Region(0, 0, *bar_ours.size)
            assert [cells(s) for s in bar_ours.render_lines(region)] == \
                   [cells(s) for s in bar_textuals.render_lines(region)], f"the bars differ at line {y}"
