"""Bluesky adapter: mentions, replies and quotes of the brand account, and direct messages.

``BlueskyProvider`` is loaded on first use, so the composer's counter
(``count_graphemes``) does not pull in the HTTP client.
"""

from providers.bluesky.richtext import POST_LIMIT, count_graphemes

__all__ = ["BlueskyProvider", "count_graphemes", "POST_LIMIT"]


def __getattr__(name: str):
    if name == "BlueskyProvider":
        from providers.bluesky.provider import BlueskyProvider

        return BlueskyProvider
    raise AttributeError(f"module 'providers.bluesky' has no attribute {name!r}")
