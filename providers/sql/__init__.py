"""The company's own database (PostgreSQL, MySQL/MariaDB, SQLite): customers and orders, read-only."""

from providers.sql.provider import SqlProvider

__all__ = ["SqlProvider"]
