"""The Bluesky adapter's write path against a REAL local PDS (``@atproto/pds``).

The PDS runs here (tests/support/servers/pds.py) but no AppView does, so notifications
cannot be read from it: the read side is covered by the recorded-HTTP tests in
test_bluesky.py. What runs for real here: app-password login, reading the post
being answered from its repository, handle resolution for mention facets, and
``createRecord`` with reply refs and the record key derived from the action key, and
``find_delivery`` reading that record back for an adapter restarted after a crash.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest

from providers.base import AccountConfig, AuthError, PermanentError, PushAction
from providers.bluesky import BlueskyProvider
from providers.bluesky.richtext import tid_for
from tests.support.servers.pds import pds  # noqa: F401  (fixture)

pytestmark = pytest.mark.server


def provider_for(pds, handle: str, password: str) -> BlueskyProvider:
    return BlueskyProvider(AccountConfig(name="acme-sky", provider="bluesky", secret=lambda: password,
                                         options={"service": pds.url, "handle": handle, "timeout": 20.0}))


@pytest.fixture
def people(pds):
    tag = uuid.uuid4().hex[:6]
    brand = pds.create_account(f"brand{tag}")
    customer = pds.create_account(f"customer{tag}")
    return brand, customer, pds.app_password(brand)


async def test_a_reply_becomes_one_real_post_with_reply_refs_and_byte_facets(pds, people):
    brand, customer, app_password = people
    root = pds.post(customer, f"@{brand.handle} my order has not arrived")
    ref = {"uri": root["uri"], "cid": root["cid"]}
    follow = pds.post(customer, "any news?", reply={"root": ref, "parent": ref})
    p = provider_for(pds, brand.handle, app_password)
    await p.open(read_only=False)
    try:
        text = f"Grüße @{customer.handle} 👋🏽 see https://acme.example/größe — it ships today."
        action = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=root["uri"], text=text,
                            reply_to_remote_id=follow["uri"], created_at=datetime.now(timezone.utc))
        receipt = await p.push(action)
        again = await p.push(action)  # a retry after a lost confirmation
    finally:
        await p.close()

    [record] = pds.posts_of(brand)
    assert record["uri"] == receipt.remote_id == again.remote_id
    assert again.duplicate and not receipt.duplicate
    assert record["uri"].rsplit("/", 1)[-1] == tid_for(action.key, action.created_at)
    value = record["value"]
    assert value["text"] == text
    assert value["reply"]["root"] == ref
    assert value["reply"]["parent"] == {"uri": follow["uri"], "cid": follow["cid"]}
    raw = text.encode("utf-8")
    spans = {f["features"][0]["$type"].rsplit("#", 1)[1]: (raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode(),
                                                           f["features"][0])
             for f in value["facets"]}
    assert spans["mention"][0] == f"@{customer.handle}" and spans["mention"][1]["did"] == customer.did
    assert spans["link"][0] == "https://acme.example/größe"


async def test_read_only_posts_nothing_on_a_real_pds(pds, people):
    brand, customer, app_password = people
    root = pds.post(customer, f"@{brand.handle} hello?")
    p = provider_for(pds, brand.handle, app_password)
    await p.open(read_only=True)
    try:
        with pytest.raises(PermanentError, match="read-only"):
            await p.push(PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=root["uri"],
                                    reply_to_remote_id=root["uri"], text="must not be posted"))
    finally:
        await p.close()
    assert pds.posts_of(brand) == []


async def test_a_wrong_app_password_is_refused_by_a_real_pds(pds, people):
    brand, _, _ = people
    p = provider_for(pds, brand.handle, "aaaa-bbbb-cccc-dddd")
    with pytest.raises(AuthError, match="switchboard accounts add acme-sky"):
        await p.open(read_only=True)
    await p.close()


async def test_a_deleted_target_is_a_permanent_error_on_a_real_pds(pds, people):
    brand, customer, app_password = people
    gone = f"at://{customer.did}/app.bsky.feed.post/3jzfcijpj2z2a"
    p = provider_for(pds, brand.handle, app_password)
    await p.open(read_only=False)
    try:
        with pytest.raises(PermanentError, match="gone"):
            await p.push(PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=gone,
                                    reply_to_remote_id=gone, text="hello?"))
    finally:
        await p.close()
    assert pds.posts_of(brand) == []


async def test_racing_adapters_make_one_real_post_and_a_restarted_one_finds_it(pds, people):
    brand, customer, app_password = people
    root = pds.post(customer, f"@{brand.handle} where is parcel 7?")
    action = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=root["uri"], text="Parcel 7 ships today.",
                        reply_to_remote_id=root["uri"], created_at=datetime.now(timezone.utc))
    racers = [provider_for(pds, brand.handle, app_password) for _ in range(4)]
    for p in racers:
        await p.open(read_only=False)
    try:
        assert await racers[0].find_delivery(action) is None, "nothing posted yet"
        await asyncio.gather(*(p.push(action) for p in racers), return_exceptions=True)
    finally:
        for p in racers:
            await p.close()
    [record] = pds.posts_of(brand)  # the record key derived from the outbox key admits one post
    restarted = provider_for(pds, brand.handle, app_password)
    await restarted.open(read_only=False)
    try:
        found = await restarted.find_delivery(action)
    finally:
        await restarted.close()
    assert found is not None and found.duplicate and found.remote_id == record["uri"]
