"""Zendesk Support adapter: the cursor-based incremental ticket export, safe updates."""

from providers.zendesk.provider import ZendeskProvider

__all__ = ["ZendeskProvider"]
