"""The sql adapter against a real MariaDB 10.11 server on 127.0.0.1 (PyMySQL, the MySQL-family driver)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from console.cache.customer_record import customer_record
from console.cache.ingest import apply_batch, ensure_account
from providers.base import AccountConfig, Channel, Identity, OptionError, ProviderError
from providers.sql import SqlProvider
from tests.support.contract import pull_all
from tests.support.factories import conversation, load, thread_id
from tests.support.servers.mariadb import RO_PASSWORD, mariadb  # noqa: F401

pytestmark = pytest.mark.server

SHOP = [
    "CREATE TABLE customers (email VARCHAR(200), phone VARCHAR(40), name VARCHAR(200), updated_at DATETIME)",
    "CREATE TABLE orders (email VARCHAR(200), number VARCHAR(40), placed_at DATETIME, total DECIMAL(10,2), "
    "currency CHAR(3), status VARCHAR(40), tracking_url VARCHAR(300), updated_at DATETIME)",
    "INSERT INTO customers VALUES ('ann@example.com', '', 'Ann Lee', UTC_TIMESTAMP() - INTERVAL 2 DAY)",
    "INSERT INTO orders VALUES ('ann@example.com', 'NW-7', UTC_TIMESTAMP() - INTERVAL 9 DAY, 64.90, 'GBP', "
    "'delivered', 'https://track.example/NW-7', UTC_TIMESTAMP() - INTERVAL 2 DAY)",
]
CUSTOMERS = "SELECT email, phone, name FROM customers WHERE updated_at > :since"
ORDERS = ("SELECT email, number AS order_number, placed_at, total, currency, status, tracking_url FROM orders "
          "WHERE updated_at > :since AND status NOT LIKE '%cancel%'")


@pytest.fixture
def shop(mariadb):  # noqa: F811
    return mariadb.fresh_database(f"shop_{uuid.uuid4().hex[:8]}", SHOP)


def adapter(dsn: str, **options) -> SqlProvider:
    return SqlProvider(AccountConfig("shop-db", "sql", {"dsn": dsn, "customers": CUSTOMERS, "orders": ORDERS,
                                                         **options}, secret=lambda: RO_PASSWORD))


async def test_orders_link_to_the_known_customer_and_a_new_one_is_seen_incrementally(db, mariadb, shop):  # noqa: F811
    load(db, [conversation(1, who=Identity(Channel.EMAIL, "ann@example.com"))])
    account_id = ensure_account(db, "shop-db", "sql", "commerce")
    p = adapter(shop)
    await p.open(read_only=False)
    try:
        batches, cursor = await pull_all(p, None)
        for b in batches:
            apply_batch(db, account_id, b)
        con = mariadb.admin(shop.rsplit("/", 1)[1])
        con.cursor().execute("INSERT INTO orders VALUES ('ann@example.com', 'NW-8', UTC_TIMESTAMP(), 10, 'GBP', "
                             "'paid', NULL, UTC_TIMESTAMP())")
        con.close()
        later, _ = await pull_all(p, cursor)
        for b in later:
            apply_batch(db, account_id, b)
    finally:
        await p.close()
    assert [o.number for b in later for o in b.orders] == ["NW-8"]
    rec = customer_record(db, db.execute("SELECT customer_id FROM threads WHERE id=?",
                                         (thread_id(db, "t1"),)).fetchone()[0])
    assert [o["number"] for o in rec.orders] == ["NW-8", "NW-7"] and rec.lifetime_value == {"GBP": 74.9}
    assert rec.orders[1]["tracking_url"] == "https://track.example/NW-7"


async def test_the_session_is_read_only_even_for_a_user_who_may_write(mariadb, shop):  # noqa: F811
    p = adapter(shop)
    await p.open(read_only=False)
    try:
        with pytest.raises(ProviderError) as err:
            await asyncio.to_thread(p.database.rows, "DELETE FROM orders")
        assert "READ ONLY" in str(err.value).upper()
    finally:
        await p.close()
    con = mariadb.admin(shop.rsplit("/", 1)[1])
    with con.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM orders")
        assert cur.fetchone()[0] == 1
    con.close()


def test_a_non_select_is_refused_before_connecting(shop):
    with pytest.raises(OptionError) as err:
        adapter(shop, orders="REPLACE INTO orders SELECT * FROM orders")
    assert "not a SELECT" in str(err.value) and "\n" not in str(err.value)
