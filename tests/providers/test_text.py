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


INVISIBLE = {
    "zero-width space": "Sup\u200bport",
    "zero-width non-joiner": "Sup\u200cport",
    "zero-width joiner": "Sup\u200dport",
    "word joiner": "Sup\u2060port",
    "byte-order mark": "\ufeffSupport",
    "arabic letter mark": "Sup\u061cport",
    "left-to-right mark": "Sup\u200eport",
    "right-to-left embedding": "Sup\u202bport",
    "right-to-left override": "Sup\u202eport",
    "first strong isolate": "Sup\u2068port",
    "pop directional isolate": "Support\u2069",
    "tag characters": "Sup\U000e0053\U000e0055port",
    "soft hyphen": "Sup\u00adport",
    "hangul filler": "Sup\u3164port",
    "combining grapheme joiner": "Sup\u034fport",
    "mongolian vowel separator": "Sup\u180eport",
}


def test_invisible_characters_cannot_make_a_sender_look_like_support():
    for name, payload in INVISIBLE.items():
        assert clean_line(payload) == "Support", name


def test_no_format_character_of_any_kind_survives_between_latin_letters():
    import sys
    import unicodedata

    kept = [chr(c) for c in range(sys.maxunicode + 1)
            if unicodedata.category(chr(c)) == "Cf" and clean_text(f"a{chr(c)}b") != "ab"]
    assert kept == []


def test_joiners_real_text_needs_are_kept():
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    assert clean_text(family) == family, "ZWJ between emoji makes one family glyph"
    heart_on_fire = "\u2764\ufe0f\u200d\U0001F525"
    assert clean_text(heart_on_fire) == heart_on_fire
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want": the ZWNJ is part of the spelling
    assert clean_text(persian) == persian
    hindi = "\u0915\u094d\u200d\u0937"  # a joiner in a Devanagari conjunct is not between emoji
    assert "\u200d" not in clean_text(hindi), "ZWJ outside emoji goes, even in a joining script"
    assert clean_text("\u200d\U0001F600") == "\U0001F600", "a joiner with nothing to join goes"


def test_line_separators_become_newlines():
    assert clean_text("one\u2028two\u2029three") == "one\ntwo\nthree"


def test_deeply_nested_html_keeps_every_word():
    for depth in (300, 600, 5000, 50000):
        html = "<div>" * depth + "deep <b>text</b> &amp; more" + "</div>" * depth + "<p>after</p><script>x()</script>"
        text = html_to_text(html)
        assert "deep text & more" in text and "after" in text, depth
        assert "x()" not in text, depth


def test_html_that_is_only_a_comment_is_empty_not_an_error():
    assert html_to_text("<!-- nothing -->") == ""
