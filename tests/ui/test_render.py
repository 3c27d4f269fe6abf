"""The panes' pure helpers: sizes, times, quote folding, inert text."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from console.quotes import fold_quotes, strip_quoted
from widgets.render import (
    attachment_lines,
    followers,
    human_size,
    message_body,
    meta_marks,
    money,
    relative_time,
    safe,
    safe_line,
)


def plain(renderable) -> str:
    console = Console(width=100, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_human_sizes():
    assert human_size(0) == "0 B"
    assert human_size(1023) == "1023 B"
    assert human_size(1536) == "1.5 KB"
    assert human_size(234_567) == "229 KB"
    assert human_size(5 * 1024 * 1024) == "5.0 MB"
    assert human_size(3 * 1024 ** 3) == "3.0 GB"
    assert human_size(None) == "? B"


def test_relative_times():
    now = 1_800_000_000.0
    assert relative_time(now - 10, now) == "just now"
    assert relative_time(now - 300, now) == "5m ago"
    assert relative_time(now - 3 * 3600, now) == "3h ago"
    assert relative_time(now - 30 * 3600, now) == "yesterday"
    assert relative_time(now - 4 * 86400, now) == "4d ago"
    assert relative_time(now + 600, now) == "in 10m"
    assert relative_time(now - 40 * 86400, now)[-4:].isdigit()  # a date with the year
    assert relative_time(None, now) == ""


def test_quoted_lines_fold_with_their_attribution():
    text = ("Thanks, but it still leaks.\n\nOn Mon, 2 Nov 2026 at 09:00, Shop <s@shop.example> wrote:\n"
            "> Please try again.\n>\n> Sam\n")
    segs = fold_quotes(text)
    assert [s.quoted for s in segs] == [False, True]
    assert segs[0].lines[0] == "Thanks, but it still leaks."
    assert segs[1].lines[0].startswith("On Mon")
    assert len(segs[1].lines) == 4
    assert sum(len(s.lines) for s in segs if s.quoted) == 4
    assert strip_quoted(text) == "\n".join(l for s in segs if not s.quoted for l in s.lines)


def test_attribution_wrapped_over_two_lines_and_interleaved_replies():
    text = ("Answer one.\nOn Mon, 2 Nov 2026 at 09:00, Shop Support\n<support@shop.example> wrote:\n> q1\n"
            "Answer two.\n> q2\n")
    segs = fold_quotes(text)
    assert [s.quoted for s in segs] == [False, True, False, True]
    assert segs[1].lines == ("On Mon, 2 Nov 2026 at 09:00, Shop Support", "<support@shop.example> wrote:", "> q1")


def test_original_message_separator_folds_the_rest():
    text = "See below\n-----Original Message-----\nFrom: a\nSubject: b\n\nold text"
    segs = fold_quotes(text)
    assert [s.quoted for s in segs] == [False, True]
    assert len(segs[1].lines) == 5


def test_on_wrote_without_quotes_is_not_history():
    text = "On Monday my parcel wrote: nothing arrived"
    assert [s.quoted for s in fold_quotes(text)] == [False]


def test_message_body_folds_to_one_line_and_expands():
    text = "Hi\n> old 1\n> old 2\n> old 3"
    folded = message_body(text, fold_hint="z to show").plain
    assert folded == "Hi\n… 3 quoted lines (z to show)"
    expanded = message_body(text, expanded=True).plain
    assert "> old 2" in expanded and "quoted lines" not in expanded


def test_provider_text_stays_literal_and_inert():
    hostile = "[@click=app.quit]click[/] [bold red]x \x1b]52;c;ZXZpbA==\x07 \x1b]0;title\x07 \x1b[2J\x9b31m end"
    text = safe(hostile)
    assert isinstance(text, Text)
    assert "\x1b" not in text.plain and "\x07" not in text.plain and "\x9b" not in text.plain
    assert "[@click=app.quit]click[/]" in text.plain and "[bold red]x" in text.plain
    assert not text.spans  # no style came from the data
    rendered = plain(text)
    assert "[@click=app.quit]click[/]" in rendered
    body = message_body("> [@click=app.quit]q\n[bold]own", expanded=True)
    assert "[@click=app.quit]q" in body.plain and "[bold]own" in body.plain
    assert all("@click" not in str(span.style) for span in body.spans)
    assert safe_line("a\n  b\tc") == Text("a b c")


def test_message_facts():
    marks = meta_marks({"edited": True, "auto_reply": True, "visibility": "public", "parse_warning": "bad\x1b[2J charset",
                        "removed": True}, kind="")
    assert "edited" in marks and "auto-reply" in marks and "visibility: public" in marks
    assert "parse warning: bad charset" in marks
    assert "removed by the sender" in marks
    assert meta_marks({}, kind="bounce") == ["bounce: not delivered"]
    assert attachment_lines([{"name": "inv\x1b]0;x\x07oice.pdf", "size": 2048}]) == ["invoice.pdf (2.0 KB)"]
    assert money(129.5, "EUR") == "€129.50 EUR"
    assert money(10, "CHF") == "10.00 CHF"
    assert followers(12_400) == "12k followers"
    assert followers(1) == "1 follower"
    assert followers(None) == ""
