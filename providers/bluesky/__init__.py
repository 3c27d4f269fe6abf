"""Bluesky adapter: mentions, replies and quotes of the brand account, and direct messages.

``BlueskyProvider`` is loaded on first use, so the composer's counter
(``count_graphemes``) does not pull in the HTTP client.
"""

from providers.base import lazy_attribute
from providers.bluesky.richtext import POST_LIMIT, count_graphemes

__all__ = ["BlueskyProvider", "count_graphemes", "POST_LIMIT"]

__getattr__ = lazy_attribute(__name__, "BlueskyProvider", "providers.bluesky.provider")
