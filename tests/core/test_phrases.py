"""A grouped phrase pattern finds exactly what the plain alternation of its phrases finds."""

import re
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("count", [1, 3, len(PHRASES)])
def test_grouped_pattern_matches_like_the_plain_alternation(count):
    phrases = PHRASES[:count]
    plain = re.compile(rf"(?<![\w'])(?:{'|'.join(p.replace(chr(39), chr(39) + '?') for p in phrases)})(?![\w'])", re.I)
    grouped = whole_words(*phrases)
    for text in TEXTS:
        assert [m.span() for m in grouped.finditer(text)] == [m.span() for m in plain.finditer(text)], text
