"""Request Tracker 5 adapter: tickets over REST2, incremental by transaction id."""

from providers.rt.provider import RtProvider

__all__ = ["RtProvider"]
