"""The sql adapter on an SQLite shop database (a real file; the standard library's driver)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from providers.base import AccountConfig, Channel, OptionError, ProviderError
from providers.sql import SqlProvider
from tests.support.contract import pull_all

HOSTILE = "Ann \x1b]0;owned\x07[@click=app.quit]x[/]"


@pytest.fixture
def shop_file(tmp_path):
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.executescript(f"""
        CREATE TABLE customers (email TEXT, phone TEXT, name TEXT, ref TEXT, updated_at TEXT);
        CREATE TABLE orders (email TEXT, num TEXT, placed_at TEXT, total REAL, currency TEXT, status TEXT,
                             items TEXT, updated_at TEXT);
        INSERT INTO customers VALUES ('ann@example.com', '', '{HOSTILE}', 'C-1', '2026-11-30 10:00:00');
        INSERT INTO orders VALUES ('ann@example.com', 'NW-1', '2026-11-29T08:00:00', 12.5, 'eur', 'paid',
                                   '["1 × Kettle", "2 × Mug"]', '2026-11-30 10:00:00');
        INSERT INTO orders VALUES ('ann@example.com', 'NW-0', '2025-01-01T08:00:00', 5, 'eur', 'delivered', '',
                                   '2025-01-01 10:00:00');
    """)
    con.commit()
    con.close()
    return path


def provider(path, **options) -> SqlProvider:
    opts = {"dsn": f"sqlite:///{path}",
            "customers": "SELECT email, phone, name, ref AS external_id FROM customers WHERE updated_at > :since",
            "orders": "SELECT email, num AS order_number, placed_at, total, currency, status, items FROM orders "
                      "WHERE updated_at > :since AND status != '%refunded%'", **options}
    return SqlProvider(AccountConfig("shop-db", "sql", opts, window_days=30))


async def test_reads_customers_and_orders_of_the_window_with_their_columns(shop_file):
    p = provider(shop_file)
    assert not p.needs_secret
    await p.open(read_only=False)
    try:
        batches, _ = await pull_all(p, '{"v": 1, "since": "2026-11-01T00:00:00+00:00"}')
    finally:
        await p.close()
    [ann] = [c for b in batches for c in b.customers]
    assert ann.remote_id == "C-1" and ann.identities[0].channel == Channel.EMAIL and ann.name == HOSTILE
    [order] = [o for b in batches for o in b.orders]
    assert (order.number, order.total, order.currency, order.items) == ("NW-1", 12.5, "EUR", ["1 × Kettle", "2 × Mug"])
    assert order.placed_at.tzinfo is not None


async def test_the_file_is_opened_read_only_and_a_write_fails(shop_file):
    p = provider(shop_file)
    await p.open(read_only=False)
    try:
        with pytest.raises(ProviderError) as err:
            await asyncio.to_thread(p.database.rows, "DELETE FROM orders")
        assert "attempt to write a readonly database" in str(err.value)
    finally:
        await p.close()
    assert sqlite3.connect(shop_file).execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 2


def test_a_query_with_another_parameter_or_an_insert_is_refused_in_one_line(shop_file):
    with pytest.raises(OptionError) as err:
        provider(shop_file, orders="SELECT email FROM orders WHERE updated_at > :after")
    assert ":after" in str(err.value) and "only parameter is :since" in str(err.value)
    with pytest.raises(OptionError) as err:
        provider(shop_file, customers="INSERT INTO customers VALUES ('x', '', '', '', '')")
    assert "INSERT statement, not a SELECT" in str(err.value) and "\n" not in str(err.value)


async def test_a_query_missing_the_linking_columns_names_them(shop_file):
    p = provider(shop_file, customers="SELECT name FROM customers WHERE updated_at > :since")
    await p.open(read_only=True)
    try:
        with pytest.raises(ProviderError) as err:
            await p.pull(None)
    finally:
        await p.close()
    assert "returns no email or phone column" in str(err.value) and "AS email" in str(err.value)


def test_a_missing_file_and_an_unknown_scheme_are_one_line(tmp_path):
    with pytest.raises(OptionError) as err:
        provider(tmp_path / "x.db", dsn="oracle://db/x")
    assert "postgresql://" in str(err.value)
    p = provider(tmp_path / "missing.db")
    with pytest.raises(OptionError) as err:
        asyncio.run(p.open(read_only=True))
    assert "no SQLite database at" in str(err.value)


async def test_a_query_that_runs_too_long_is_stopped_at_the_timeout(shop_file):
    slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
            "SELECT 'x@example.com' AS email, MAX(i) AS name FROM n WHERE :since IS NOT NULL")
    p = provider(shop_file, customers=slow, timeout=0.3)
    await p.open(read_only=True)
    try:
        with pytest.raises(ProviderError) as err:
            await p.pull(None)
    finally:
        await p.close()
    assert "longer than 0.3 s" in str(err.value) and "raise the account's timeout" in str(err.value)
