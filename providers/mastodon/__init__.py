"""Mastodon adapter: public mentions and direct conversations of the brand account.

``MastodonProvider`` is loaded on first use, so the composer's character counter
(``count_characters``) does not pull in the HTTP client.
"""

from providers.base import lazy_attribute
from providers.mastodon.counting import DEFAULT_LIMIT, count_characters

__all__ = ["MastodonProvider", "count_characters", "DEFAULT_LIMIT"]

__getattr__ = lazy_attribute(__name__, "MastodonProvider", "providers.mastodon.provider")
