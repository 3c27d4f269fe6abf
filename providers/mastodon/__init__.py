"""Mastodon adapter: public mentions and direct conversations of the brand account.

``MastodonProvider`` is loaded on first use, so the composer's character counter
(``count_characters``) does not pull in the HTTP client.
"""

from providers.mastodon.counting import DEFAULT_LIMIT, count_characters

__all__ = ["MastodonProvider", "count_characters", "DEFAULT_LIMIT"]


def __getattr__(name: str):
    if name == "MastodonProvider":
        from providers.mastodon.provider import MastodonProvider

        return MastodonProvider
    raise AttributeError(f"module 'providers.mastodon' has no attribute {name!r}")
