"""Hostile provider text is made inert before it is stored."""

from __future__ import annotations

from providers.text import clean_line, clean_text, html_to_text

PAYLOADS = {
    "osc52 clipboard write": "a\x1b]52;c;ZXZpbA==\x07b",
    "osc52 with ST": "a\x1b]52;c;ZXZpbA==\x1b\\b",
    "title change": "a\x1b]0;pwned\x07b",
    "clear screen and home": "a\x1b[2J\x1b[Hb",
    "colour": "a\x1b[1;31mb",
    "8-bit CSI": "a\x9b2Jb",
    "DCS": "a\x1bPq#0;2;0;0;0\x1b\\b",
    "bell and backspace": "a\x07\x08b",
    "bidi override": "a\u202eb",
}


def test_escape_sequences_and_controls_are_removed():
    for name, payload in PAYLOADS.items():
        assert clean_text(payload) == "ab", name


def test_newlines_and_tabs_survive_and_crlf_is_normalised():
    assert clean_text("one\r\ntwo\tthree\rfour") == "one\ntwo\tthree\nfour"


def test_markup_is_left_as_literal_text_for_the_ui_to_show_inertly():
    assert clean_text("[@click=app.quit]x[/]") == "[@click=app.quit]x[/]"


def test_clean_line_folds_whitespace():
    assert clean_line("  Re:\n  your\torder ") == "Re: your order"


def test_html_becomes_readable_text_without_scripts_styles_or_fetching():
    html = """<html><head><style>p{color:red}</style><script>alert(1)</script></head>
    <body><p>Hello <b>Ada</b>,</p><p>Your order <a href="https://shop.example/o/42">#42</a> shipped.</p>
    <img src="https://tracker.example/pixel.gif"><p>\x1b]52;c;ZXZpbA==\x07Thanks</p></body></html>"""
    text = html_to_text(html)
    assert "Hello Ada," in text and "shipped" in text
    assert "alert" not in text and "color:red" not in text
    assert "https://shop.example/o/42" in text, "links are shown as text"
    assert "\x1b" not in text and "Thanks" in text
    assert html_to_text("") == "" and html_to_text(None) == ""
