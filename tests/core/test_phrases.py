"""A grouped phrase pattern finds exactly what the plain alternation of its phrases finds."""

import re
from pathlib import Path

import pytest

from console import phrases
from console import phrases as phrases_module
from console.phrases import whole_words

PHRASES = [
    "not happy", "(?:un)?acceptable", "refund(?:ed|s)?", "can't log in", "[a-c]ccount locked",
    r"\w+ly awful", r"(?<!very )slow", "Ärger", "é?tat", "x*", "thanks", "thank you so much",
    "a", "at least", "K", "ok(?:ay)?", r"\d+ days late", "1 star", r"(?:two|\d+) stars?", "(?:)?broken",
]
TEXTS = [
    "I am NOT HAPPY, this is unacceptable and I can't log in: Account locked. Totally awful!",
    "1 star, 1 stars, 2 stars, two star, 3 days late, ٣ days late. cant log in, was refunded, refunds take 12 days late, very slow and slow, okay OK ok",
    "Großer Ärger mit dem État, thanks / Thank You so much, a b at least atleast x xx K k",
    "",
] + [line for name in ("tone_tuning.tsv", "tone_heldout.tsv")
     for line in (Path(__file__).parent / "data" / name).read_text().splitlines()]


@pytest.mark.parametrize("twin_after", [0, 10**9])  # read lower-cased at once (ASCII text), or always caseless
@pytest.mark.parametrize("count", [1, 3, len(PHRASES)])
def test_grouped_pattern_matches_like_the_plain_alternation(count, twin_after, monkeypatch):
    monkeypatch.setattr(phrases_module, "TWIN_AFTER", twin_after)
    phrases = PHRASES[:count]
    plain = re.compile(rf"(?<![\w'])(?:{'|'.join(p.replace(chr(39), chr(39) + '?') for p in phrases)})(?![\w'])", re.I)
    grouped = whole_words(*phrases)
    for text in TEXTS:
        assert [m.span() for m in grouped.finditer(text)] == [m.span() for m in plain.finditer(text)], text


def test_no_other_character_folds_onto_an_ascii_letter():
    """The lower-cased reading of ASCII text relies on knowing every such character."""
    letter = re.compile("[a-z]", re.I)
    folding = {chr(c) for c in range(128, 0x110000) if letter.fullmatch(chr(c))}
    assert folding == phrases._FOLDS_TO_ASCII


@pytest.mark.parametrize("text", [t for base in TEXTS[:3] + TEXTS[-40:]
                                  for t in (base, base.upper(), base.swapcase(), base.title())])
def test_a_caseless_pattern_finds_what_ignorecase_finds_in_any_text(text, monkeypatch):
    monkeypatch.setattr(phrases, "TWIN_AFTER", 0)
    grouped = whole_words(*PHRASES)
    plain = re.compile(grouped.pattern, re.I)
    assert [m.span() for m in grouped.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert bool(grouped.search(text)) == bool(plain.search(text))
    assert grouped.sub(" ", text) == plain.sub(" ", text)
    for pos in (0, 3, len(text) // 2):
        found, expected = grouped.match(text, pos), plain.match(text, pos)
        assert (found and found.span()) == (expected and expected.span())


@pytest.mark.parametrize("source", ["Ärger|OK", "[A-Z]+ly", "stra\u017fe", "\u212aelvin", r"(a)\1", "[^A-Z]x"])
def test_a_pattern_that_could_read_ascii_differently_lower_cased_is_always_read_caseless(source, monkeypatch):
    monkeypatch.setattr(phrases, "TWIN_AFTER", 0)
    pattern = phrases.Caseless(source)
    assert pattern._lower is None
    for text in ("ok OK strasse STRASSE kelvin aa xxAx", "Ärger"):
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in re.finditer(source, text, re.I)]


def test_a_pattern_reads_caseless_until_it_has_read_enough_ascii_text_to_repay_its_twin(monkeypatch):
    monkeypatch.setattr(phrases, "TWIN_AFTER", 3)
    pattern = whole_words("thanks", "not happy")
    for n in range(5):
        assert [m.span() for m in pattern.finditer("Thanks, NOT happy")] == [(0, 6), (8, 17)]
        assert pattern._lower_made == (n >= 3)
