"""Readable at a glance: a header row aligned with the columns at every width, marks that do
not share a glyph, priority visible without colour, and the legend of the marks in `?`."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from widgets.inbox_row import PRIORITY_MARK, SLA_MARK, TONE_MARK

SIZES = [(160, 45), (80, 24)]
ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


def line(inbox, y):
    return "".join(seg.text for seg in inbox.render_line(y))


def row_of(app, remote_id):
    """The text drawn for a conversation (brought on screen first)."""
    inbox = app.main.inbox
    tid = app.db.execute("SELECT id FROM threads WHERE remote_id=?", (remote_id,)).fetchone()[0]
    assert inbox.select_thread(tid)
    return line(inbox, inbox.line_of(inbox.cursor))


@ids
async def test_the_header_names_the_columns_and_lines_up_with_them(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        inbox = app.main.inbox
        header, first = line(inbox, 0), line(inbox, 1)  # t0: Alice Moreau, "Refund for order #1000", ✗-2h30
        for name in ("Chan", "Customer", "Subject", "SLA"):
            assert name in header
        assert first.index("mail") == header.index("Chan")
        assert first.index("Alice") == header.index("Customer")
        assert first.index("Refund") == header.index("Subject")
        assert first.index("2h30") + 4 == header.index("SLA") + 3, "the countdown ends under SLA's last letter"
        if size[0] >= 160:
            assert first.index("open") == header.index("State")
            assert first.index("Sam") == header.index("Assignee")
        assert cell_len(header) == cell_len(first) == inbox.scrollable_content_region.width


@ids
async def test_tone_and_sla_marks_never_share_a_glyph_and_no_tone_looks_like_a_minus(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        tones = {glyph for glyph, _, _ in TONE_MARK.values()}
        slas = {glyph for glyph, _, _ in SLA_MARK.values()} - {" "}
        assert not tones & slas
        assert not tones & {"-", "!", "–", "−"}
        angry = row_of(app, "t3")  # angry, SLA breached
        warning = row_of(app, "t6")  # negative, SLA warning
        negative_breached = row_of(app, "t1")  # negative, SLA breached: was "- ✗-2h00"
        assert TONE_MARK["angry"][0] in angry and "!" not in angry
        assert "! " in warning or "!  " in warning
        assert TONE_MARK["negative"][0] in negative_breached
        assert "- ✗" not in negative_breached and "-" not in negative_breached.split("✗")[0].split("#")[-1]


@ids
async def test_urgent_does_not_look_like_normal_even_without_colour(make_app, size):
    app = make_app()
    app.db.execute("UPDATE threads SET priority=3 WHERE remote_id='t0'")
    app.db.execute("UPDATE threads SET priority=2 WHERE remote_id='t1'")
    app.db.execute("UPDATE threads SET priority=0 WHERE remote_id='t2'")
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        header = line(app.main.inbox, 0)
        column = header.index("P")
        marks = {rid: row_of(app, rid)[column] for rid in ("t0", "t1", "t2", "t4")}
        assert marks == {"t0": PRIORITY_MARK[3][0], "t1": PRIORITY_MARK[2][0], "t2": PRIORITY_MARK[0][0], "t4": " "}
        assert len(set(marks.values())) == 4


@ids
async def test_the_help_screen_explains_every_mark(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        text = plain(app.screen.query_one("#help-legend").content)
        for glyph, meaning in [(TONE_MARK["angry"][0], "angry"), (TONE_MARK["negative"][0], "negative"),
                               (SLA_MARK["breached"][0], "reply overdue"), (SLA_MARK["warning"][0], "reply due soon"),
                               (PRIORITY_MARK[3][0], "urgent"), (PRIORITY_MARK[2][0], "high"), ("●", "unread"),
                               ("✓", "marked")]:
            assert f"{glyph} {meaning}" in text, meaning


def plain(renderable) -> str:
    from rich.console import Console

    console = Console(width=300, record=True, color_system=None, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()
