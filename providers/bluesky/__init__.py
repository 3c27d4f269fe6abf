"""Bluesky adapter: mentions, replies and quotes of the brand account, and direct messages."""

from providers.bluesky.provider import BlueskyProvider
from providers.bluesky.richtext import POST_LIMIT, count_graphemes

__all__ = ["BlueskyProvider", "count_graphemes", "POST_LIMIT"]
