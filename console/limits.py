"""How long a reply may be on each kind of account, and how to count it.

The composer shows a live counter from this; the adapters refuse anything longer
when the reply is pushed. Counting follows each network's own rules: Mastodon
counts grapheme clusters with every URL as 23 and remote mentions without their
domain; Bluesky counts grapheme clusters.
"""

from __future__ import annotations

from collections.abc import Callable

MASTODON_DEFAULT = 500  # an instance may allow more; the adapter learns it from /api/v2/instance
BLUESKY_LIMIT = 300


def reply_limit(provider_kind: str) -> tuple[int, Callable[[str], int]] | None:
    """(limit, counter) for a provider kind, or None where replies have no length limit."""
    if provider_kind == "mastodon":
        from providers.mastodon.counting import count_characters

        return MASTODON_DEFAULT, count_characters
    if provider_kind == "bluesky":
        from providers.bluesky.richtext import count_graphemes

        return BLUESKY_LIMIT, count_graphemes
    return None
