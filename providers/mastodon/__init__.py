"""Mastodon adapter: public mentions and direct conversations of the brand account."""

from providers.mastodon.counting import DEFAULT_LIMIT, count_characters
from providers.mastodon.provider import MastodonProvider

__all__ = ["MastodonProvider", "count_characters", "DEFAULT_LIMIT"]
