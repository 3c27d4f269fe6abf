"""The local SQLite cache: schema, opening, ingest of provider batches, screen queries."""

from console.cache.db import cache_path, connect, explain, transaction

__all__ = ["cache_path", "connect", "explain", "transaction"]
