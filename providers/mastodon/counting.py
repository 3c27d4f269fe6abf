"""How Mastodon counts a status's length, so the composer can show it as you type.

Mastodon counts grapheme clusters (what a reader sees as one character), counts
every URL as a fixed 23 characters whatever its length, and counts a remote
mention ``@user@example.org`` as only ``@user``.
"""

from __future__ import annotations

import regex

DEFAULT_LIMIT = 500
URL_LENGTH = 23

_URL = regex.compile(r"(?<![\w/])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", regex.IGNORECASE)
_REMOTE_MENTION = regex.compile(r"(?<![\w@])(@[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def count_characters(text: str, url_length: int = URL_LENGTH) -> int:
    """Characters Mastodon charges ``text``: graphemes, 23 per URL, mentions without their domain."""
    if not text:
        return 0
    countable = _URL.sub("x" * url_length, text)
    countable = _REMOTE_MENTION.sub(lambda m: m.group(1), countable)
    return len(regex.findall(r"\X", countable))
