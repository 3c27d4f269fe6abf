"""Bluesky text rules: grapheme counting, facets with UTF-8 byte offsets, record keys.

A post may have 300 grapheme clusters. Mentions and links are not parsed from the
text by readers: the post carries *facets* pointing at byte ranges of the UTF-8
encoded text, so offsets must be counted in bytes, not characters.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import regex

POST_LIMIT = 300
DM_LIMIT = 1000

_GRAPHEME = regex.compile(r"\X")
# A handle: dot-separated labels, the last one starting with a letter.
_MENTION = regex.compile(
    r"(?:^|(?<=[\s(]))@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
)
_LINK = regex.compile(r"(?:^|(?<=[\s(]))(https?://[^\s]+)", regex.IGNORECASE)
_TRAILING = ".,;:!?\"')]"

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def count_graphemes(text: str) -> int:
    """Grapheme clusters in ``text``: what Bluesky counts against its 300 limit."""
    return len(_GRAPHEME.findall(text or ""))


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    byte_start = len(text[:start].encode("utf-8"))
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode("utf-8"))}


def find_mentions(text: str) -> list[tuple[str, dict[str, int]]]:
    """(handle, byte range of ``@handle``) for each mention in ``text``."""
    return [(m.group(1).lower(), _byte_range(text, m.start(), m.end())) for m in _MENTION.finditer(text)]


def find_links(text: str) -> list[tuple[str, dict[str, int]]]:
    """(url, byte range) for each http(s) link; trailing punctuation is not part of it."""
    out = []
    for m in _LINK.finditer(text):
        url = m.group(1)
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        start = m.start(1)
        out.append((url, _byte_range(text, start, start + len(url))))
    return out


def build_facets(text: str, dids: dict[str, str]) -> list[dict]:
    """Facets for ``text``; ``dids`` maps resolved handles to DIDs (unresolved ones stay plain text)."""
    facets = []
    for handle, index in find_mentions(text):
        if handle in dids:
            facets.append({"index": index,
                           "features": [{"$type": "app.bsky.richtext.facet#mention", "did": dids[handle]}]})
    for url, index in find_links(text):
        facets.append({"index": index, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}]})
    return sorted(facets, key=lambda f: f["index"]["byteStart"])


def tid_for(key: str, when: datetime | None = None) -> str:
    """A record key in TID syntax derived only from ``key`` (and the action's time).

    A retried push computes the same key, so the repository refuses a second record.
    """
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    if when is not None:
        micros = int(when.timestamp() * 1_000_000)
    else:
        micros = 1_672_531_200_000_000 + digest % 31_536_000_000_000  # within 2023: never in the future
    value = ((micros & ((1 << 53) - 1)) << 10) | (digest & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
