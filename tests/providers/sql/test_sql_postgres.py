"""The sql adapter against a real PostgreSQL 15 cluster on 127.0.0.1 (a throw-away one per run)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from console.cache.customer_record import customer_record
from console.cache.ingest import apply_batch, ensure_account
from console.cache.queries import Filter, inbox_page
from providers.base import AccountConfig, AuthError, Channel, Identity, OptionError, ProviderError
from providers.sql import SqlProvider
from tests.support.contract import pull_all
from tests.support.factories import conversation, load, thread_id
from tests.support.servers.postgres import RO_PASSWORD, postgres  # noqa: F401

pytestmark = pytest.mark.server

SHOP = """
CREATE TABLE customers (id serial PRIMARY KEY, email text, phone text, full_name text, crm_tags text, crm_note text,
                        updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id serial PRIMARY KEY, customer_email text, number text NOT NULL, placed timestamptz NOT NULL,
                     total numeric(10,2) NOT NULL, currency text NOT NULL, status text NOT NULL, tracking text,
                     updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO customers(email, phone, full_name, crm_tags, crm_note, updated_at) VALUES
  ('ann@example.com', '+49 30 1234567', 'Ann Lee', 'vip,wholesale', 'Prefers email; ships to the office',
   now() - interval '2 days'),
  (NULL, '+1 (555) 010-2000', 'Bob Phone', '', '', now() - interval '2 days'),
  (NULL, NULL, 'Nobody Reachable', '', '', now() - interval '2 days');
INSERT INTO orders(customer_email, number, placed, total, currency, status, tracking, updated_at) VALUES
  ('ann@example.com', 'NW-104801', now() - interval '40 days', 42.00, 'EUR', 'delivered',
   'https://track.example/NW-104801', now() - interval '2 days'),
  ('ann@example.com', 'NW-104802', now() - interval '3 days', 18.50, 'EUR', 'shipped',
   'https://track.example/NW-104802', now() - interval '2 days');
"""
CUSTOMERS = ("SELECT email, phone, full_name AS name, id AS external_id, crm_tags AS tags, crm_note AS note "
             "FROM customers WHERE updated_at > :since")
ORDERS = ("SELECT customer_email AS email, number AS order_number, placed AS placed_at, total, currency, status, "
          "tracking AS tracking_url FROM orders WHERE updated_at > :since ORDER BY placed")


@pytest.fixture
def shop(postgres):  # noqa: F811
    return postgres.fresh_database(f"shop_{uuid.uuid4().hex[:8]}", SHOP)


def account(dsn: str, password: str | None = RO_PASSWORD, **options) -> AccountConfig:
    opts = {"dsn": dsn, "customers": CUSTOMERS, "orders": ORDERS, **options}
    return AccountConfig(name="shop-db", provider="sql", options=opts, secret=lambda: password)


async def opened(dsn: str, **options) -> SqlProvider:
    p = SqlProvider(account(dsn, **options))
    await p.open(read_only=False)
    return p


async def pull_into(db, p: SqlProvider, cursor: str | None = None) -> str | None:
    account_id = ensure_account(db, "shop-db", "sql", "commerce")
    batches, cursor = await pull_all(p, cursor)
    for b in batches:
        apply_batch(db, account_id, b)
    return cursor


async def test_customers_and_orders_appear_on_the_customer_already_known_by_email_and_phone(db, shop):
    load(db, [conversation(1, who=Identity(Channel.EMAIL, "Ann@Example.com", display_name="ann")),
              conversation(2, channel=Channel.CHAT,
                           who=Identity(Channel.CHAT, "@bob:chat.example", phone="+15550102000"))])
    customers_before = db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    p = await opened(shop)
    try:
        await pull_into(db, p)
    finally:
        await p.close()
    ann = db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id(db, "t1"),)).fetchone()[0]
    rec = customer_record(db, ann)
    assert [o["number"] for o in rec.orders] == ["NW-104802", "NW-104801"]
    assert rec.order_count == 2 and rec.lifetime_value == {"EUR": 60.5}
    assert rec.orders[0]["tracking_url"] == "https://track.example/NW-104802" and rec.orders[0]["source"] == "shop-db"
    assert rec.notes == [{"source": "shop-db", "note": "Prefers email; ships to the office"}]
    assert "shop-db" in rec.synced and rec.synced["shop-db"] is not None
    bob = db.execute("SELECT customer_id FROM threads WHERE id=?", (thread_id(db, "t2"),)).fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM identities WHERE customer_id=?", (bob,)).fetchone()[0] == 2
    # Ann and Bob were known: the shop's rows joined them. Only the unreachable row was skipped, not made a customer.
    assert db.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == customers_before
    assert p.skipped == 1
    found = inbox_page(db, Filter(statuses=("open", "pending", "snoozed", "closed"), reference=("order", "nw-104801")))
    assert [r.id for r in found] == [thread_id(db, "t1")]


async def test_an_incremental_pull_sees_a_new_order_and_not_the_old_ones_again(db, postgres, shop):  # noqa: F811
    p = await opened(shop)
    try:
        cursor = await pull_into(db, p)
        with postgres.admin(shop.rsplit("/", 1)[1]) as conn:
            conn.execute("INSERT INTO orders(customer_email, number, placed, total, currency, status) "
                         "VALUES ('ann@example.com', 'NW-104900', now(), 99.90, 'EUR', 'paid')")
        batches, _ = await pull_all(p, cursor)
    finally:
        await p.close()
    assert [o.number for b in batches for o in b.orders] == ["NW-104900"]
    assert not [c for b in batches for c in b.customers]


def test_a_query_that_is_not_a_select_is_refused_at_start_up_with_one_line(shop):
    for bad, word in (("DELETE FROM orders WHERE updated_at > :since", "DELETE"),
                      ("UPDATE orders SET status = 'x'", "UPDATE"),
                      ("SELECT 1; DROP TABLE orders", "2 statements")):
        with pytest.raises(OptionError) as err:
            SqlProvider(account(shop, orders=bad))
        assert word in str(err.value) and "\n" not in str(err.value) and "—" in str(err.value)


async def test_the_adapter_cannot_write_even_where_its_role_may(postgres, shop):  # noqa: F811
    p = await opened(shop)
    try:
        with pytest.raises(ProviderError) as err:
            await asyncio.to_thread(p.database.rows, "INSERT INTO orders(number, placed, total, currency, status) "
                                                      "VALUES ('X-1', now(), 1, 'EUR', 'x') RETURNING id")
        assert "read-only transaction" in str(err.value)
        with pytest.raises(ProviderError):
            await asyncio.to_thread(p.database.rows, "SET TRANSACTION READ WRITE")
    finally:
        await p.close()
    with postgres.admin(shop.rsplit("/", 1)[1]) as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 2


def test_a_password_in_the_dsn_is_refused_and_points_at_the_keyring(postgres):  # noqa: F811
    with pytest.raises(OptionError) as err:
        SqlProvider(account(f"postgresql://support_ro:{RO_PASSWORD}@127.0.0.1:{postgres.port}/shop"))
    assert "switchboard accounts add shop-db" in str(err.value) and RO_PASSWORD not in str(err.value)


async def test_a_wrong_password_is_an_auth_error_naming_the_fix(shop):
    p = SqlProvider(account(shop, password="wrong"))
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    assert "accounts add shop-db" in str(err.value)


async def test_a_slow_query_is_stopped_at_the_timeout(shop):
    p = await opened(shop, customers="SELECT email, pg_sleep(5) AS name FROM customers WHERE updated_at > :since",
                     timeout=0.5)
    try:
        with pytest.raises(ProviderError) as err:
            await p.pull(None)
        assert "longer than 0.5 s" in str(err.value)
    finally:
        await p.close()
