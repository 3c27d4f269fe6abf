"""Bluesky adapter tests against RECORDED HTTP, not a real AppView.

No Bluesky AppView or chat service can run on this machine (see
shared/notes/servers.md), so these tests replay the documented XRPC API through
respx: ``tests/support/recorded/bluesky_fake.py`` is a small stateful fake whose entities
come from the JSON shapes in ``tests/support/recorded/bluesky/`` (written from the
published lexicons).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx

from providers.base import (
    AccountConfig,
    AuthError,
    Direction,
    OptionError,
    PermanentError,
    PushAction,
    TransientError,
)
from providers.bluesky import BlueskyProvider, count_graphemes
from providers.bluesky.richtext import build_facets, tid_for
from tests.support.contract import ProviderContract, RecordedRemoteHarness, messages_of, pull_all
from tests.support.recorded.bluesky_fake import CHAT_PROXY, ERRORS, PASSWORD, SERVICE, TID, FakeBluesky


def make_provider(*, password: str = PASSWORD, window_days: int = 90, **options) -> BlueskyProvider:
    opts = {"service": SERVICE, "handle": "acme.bsky.social", "timeout": 5.0, **options}
    return BlueskyProvider(AccountConfig(name="acme-sky", provider="bluesky", options=opts,
                                         secret=lambda: password, window_days=window_days))


@pytest.fixture
def fake():
    f = FakeBluesky()
    with f.router:
        yield f


@pytest.fixture
async def provider(fake):
    p = make_provider()
    await p.open(read_only=False)
    yield p
    await p.close()


def reply(msg, text: str, kind: str = "reply", key: str | None = None) -> PushAction:
    return PushAction(key=key or uuid.uuid4().hex, kind=kind, thread_remote_id=msg.thread_remote_id, text=text,
                      reply_to_remote_id=msg.remote_id, customer=msg.author,
                      created_at=datetime.now(timezone.utc))


# ---------------------------------------------------------------------- the shared contract


class TestBlueskyContract(ProviderContract):
    @pytest.fixture
    async def harness(self, fake):
        return RecordedRemoteHarness(fake, make_provider)


# ---------------------------------------------------------------------- options and session


def test_handle_is_required_and_urls_are_checked():
    with pytest.raises(OptionError, match="handle"):
        BlueskyProvider(AccountConfig(name="x", provider="bluesky", options={}))
    with pytest.raises(OptionError, match="not a URL"):
        BlueskyProvider(AccountConfig(name="x", provider="bluesky",
                                      options={"handle": "a.bsky.social", "service": "bsky.social"}))
    with pytest.raises(OptionError, match="full handle"):
        BlueskyProvider(AccountConfig(name="x", provider="bluesky", options={"handle": "acme"}))


async def test_a_wrong_app_password_says_how_to_fix_it(fake):
    p = make_provider(password="wrong")
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    assert "Invalid identifier or password" in str(err.value)
    assert "switchboard accounts add acme-sky" in str(err.value)


async def test_an_expired_access_token_is_refreshed_and_the_call_retried(fake, provider):
    fake.customer_writes("hello")
    fake.expire_sessions()
    batches, _ = await pull_all(provider, None)
    assert len(messages_of(batches)) == 1
    assert fake.refreshes == 1 and fake.logins == 1, "refreshSession, not a new login"


async def test_a_dead_refresh_token_falls_back_to_logging_in_again(fake, provider):
    fake.expire_sessions()
    fake.refresh_tokens.clear()
    await pull_all(provider, None)
    assert fake.logins == 2


# ---------------------------------------------------------------------- pulling


async def test_a_mention_arrives_with_the_authors_profile(fake, provider):
    post = fake.customer_writes("my order 77 has not arrived")
    batches, _ = await pull_all(provider, None)
    [msg] = messages_of(batches)
    [thread] = [t for b in batches for t in b.threads]
    assert msg.remote_id == post["uri"] and msg.thread_remote_id == post["uri"]
    assert msg.direction == Direction.INBOUND
    assert msg.text == "@acme.bsky.social my order 77 has not arrived"
    assert msg.author.address == "dana.bsky.social"
    assert msg.author.display_name == "Dana 🌱"
    assert msg.author.followers == 2417, "follower count comes from getProfiles"
    assert msg.author.url == "https://bsky.app/profile/dana.bsky.social"
    assert msg.meta["cid"] == post["cid"] and msg.meta["visibility"] == "public"
    assert thread.channel_detail == "mention" and thread.customer.followers == 2417
    assert thread.subject.startswith("@acme.bsky.social my order 77")


async def test_likes_are_not_conversations(fake, provider):
    post = fake.customer_writes("hi")
    fake.notify_like(post["uri"])
    batches, _ = await pull_all(provider, None)
    assert [m.remote_id for m in messages_of(batches)] == [post["uri"]]


async def test_notifications_are_paged_and_never_delivered_twice(fake, provider):
    old = datetime.now(timezone.utc) - timedelta(days=200)
    fake.clock = old
    fake.customer_writes("ancient")
    fake.clock = datetime.now(timezone.utc) - timedelta(hours=1)
    for i in range(120):
        fake.customer_writes(f"recent {i}")
    batches, cursor = await pull_all(provider, None)
    texts = [m.text for m in messages_of(batches)]
    assert len(batches) == 3, "120 notifications are three bounded pages of 50"
    assert sum("recent" in t for t in texts) == 120
    assert not any("ancient" in t for t in texts), "the first pull keeps to the window"
    for i in range(60):
        fake.customer_writes(f"newer {i}")
    batches, cursor = await pull_all(provider, cursor)
    texts = [m.text for m in messages_of(batches)]
    assert sum("newer" in t for t in texts) == 60 and len(texts) == 60
    again, _ = await pull_all(provider, cursor)
    assert messages_of(again) == []


async def test_replies_join_the_conversation_of_their_root(fake, provider):
    root = fake.customer_writes("the kettle leaks")
    ours = fake.add_post(fake.brand, "Sorry! Which model?", reply_to=root["uri"])
    follow = fake.customer_writes("the K2", reply_to=ours["uri"])
    fake.notifications = [n for n in fake.notifications if n["uri"] == follow["uri"]]  # only the newest is known
    batches, cursor = await pull_all(provider, None)
    msgs = {m.remote_id: m for m in messages_of(batches)}
    assert set(msgs) == {root["uri"], ours["uri"], follow["uri"]}, "getPostThread back-fills the parents"
    assert {m.thread_remote_id for m in msgs.values()} == {root["uri"]}
    assert msgs[ours["uri"]].direction == Direction.OUTBOUND
    assert msgs[follow["uri"]].meta["in_reply_to"] == ours["uri"]
    [thread] = [t for b in batches for t in b.threads]
    assert thread.subject.endswith("the kettle leaks") and thread.customer.address == "dana.bsky.social"


# ---------------------------------------------------------------------- direct messages


async def test_direct_messages_arrive_as_direct_threads(fake, provider):
    fake.customer_dms("my address is 1 Main St")
    batches, cursor = await pull_all(provider, None)
    [msg] = messages_of(batches)
    [thread] = [t for b in batches for t in b.threads]
    assert msg.text == "my address is 1 Main St" and msg.meta["visibility"] == "direct"
    assert thread.channel_detail == "direct" and thread.remote_id.startswith("chat:")
    assert thread.customer.address == "dana.bsky.social" and thread.customer.followers == 2417
    chat_calls = [r for r in fake.requests if "chat.bsky" in r.url.path]
    assert chat_calls and all(r.headers["atproto-proxy"] == CHAT_PROXY for r in chat_calls)
    fake.customer_dms("and my phone is 555")
    batches, _ = await pull_all(provider, cursor)
    assert [m.text for m in messages_of(batches)] == ["and my phone is 555"]


async def test_an_account_without_dm_access_still_syncs_mentions(fake, provider):
    fake.chat_enabled = False  # an app password made without "allow access to direct messages"
    fake.customer_writes("public question")
    batches, _ = await pull_all(provider, None)
    assert [m.text for m in messages_of(batches)] == ["@acme.bsky.social public question"]
    assert "not available" in provider.dm_status
    asked = len([r for r in fake.requests if "chat.bsky" in r.url.path])
    await pull_all(provider, None)
    assert len([r for r in fake.requests if "chat.bsky" in r.url.path]) == asked, "stops asking once told no"


async def test_a_dm_thread_is_answered_by_direct_message_once(fake, provider):
    fake.customer_dms("can you help privately?")
    [msg] = messages_of((await pull_all(provider, None))[0])
    action = reply(msg, "Of course, what is your order number?")
    first = await provider.push(action)
    second = await provider.push(action)
    assert second.duplicate and second.remote_id == first.remote_id
    assert fake.delivered("what is your order number") == 1


async def test_move_private_sends_a_direct_message_to_the_author(fake, provider):
    fake.customer_writes("I was charged twice")
    [msg] = messages_of((await pull_all(provider, None))[0])
    receipt = await provider.push(reply(msg, "Let's sort this out privately.", kind="move_private"))
    [sent] = fake.sent_messages
    assert sent["message"]["text"] == "Let's sort this out privately."
    convo = fake.convos[sent["convoId"]]
    assert {m["did"] for m in convo["view"]["members"]} == {fake.brand["did"], fake.customer["did"]}
    assert "moved to direct messages" in receipt.detail and fake.brand_posts() == []


# ---------------------------------------------------------------------- pushing replies


async def test_a_reply_carries_root_and_parent_refs_and_a_deterministic_rkey(fake, provider):
    root = fake.customer_writes("broken lid")
    ours = fake.add_post(fake.brand, "Photo please?", reply_to=root["uri"])
    follow = fake.customer_writes("here it is", reply_to=ours["uri"])
    batches, cursor = await pull_all(provider, None)
    msg = next(m for m in messages_of(batches) if m.remote_id == follow["uri"])
    action = reply(msg, "Thanks, a new lid is on its way.")
    receipt = await provider.push(action)
    [body] = fake.create_requests
    record = body["record"]
    assert body["collection"] == "app.bsky.feed.post" and body["repo"] == fake.brand["did"]
    assert record["reply"]["root"] == {"uri": root["uri"], "cid": root["cid"]}
    assert record["reply"]["parent"] == {"uri": follow["uri"], "cid": follow["cid"]}
    assert TID.match(body["rkey"]) and body["rkey"] == tid_for(action.key, action.created_at)
    assert receipt.remote_id.endswith("/" + body["rkey"])
    # Our reply comes back on the next pull as an outbound message of the same conversation.
    batches, _ = await pull_all(provider, cursor)
    ours_back = [m for m in messages_of(batches) if m.remote_id == receipt.remote_id]
    assert ours_back and ours_back[0].direction == Direction.OUTBOUND
    assert ours_back[0].thread_remote_id == root["uri"] and ours_back[0].action_key == action.key


@pytest.mark.parametrize("answer", [("internal", 500), ("RecordAlreadyExists", 409)])
async def test_a_retried_reply_is_recognised_as_a_duplicate(fake, provider, answer):
    fake.duplicate_error = answer
    fake.customer_writes("where is my parcel")
    [msg] = messages_of((await pull_all(provider, None))[0])
    action = reply(msg, "It is on its way.")
    first = await provider.push(action)
    second = await provider.push(action)
    assert not first.duplicate and second.duplicate and second.remote_id == first.remote_id
    assert len(fake.create_requests) == 2 and fake.delivered("It is on its way.") == 1


async def test_facets_use_utf8_byte_offsets(fake, provider):
    fake.customer_writes("hi")
    [msg] = messages_of((await pull_all(provider, None))[0])
    text = "Grüße 👋🏽 @dana.bsky.social — see https://acme.example/hilfe/größe. Danke!"
    await provider.push(reply(msg, text))
    [body] = fake.create_requests
    facets = body["record"]["facets"]
    raw = text.encode("utf-8")
    spans = {f["features"][0]["$type"].rsplit("#", 1)[1]: raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode()
             for f in facets}
    assert spans == {"mention": "@dana.bsky.social", "link": "https://acme.example/hilfe/größe"}
    mention = next(f for f in facets if f["features"][0]["$type"].endswith("#mention"))
    assert mention["features"][0]["did"] == fake.customer["did"]
    assert mention["index"]["byteStart"] == len("Grüße 👋🏽 ".encode()) != len("Grüße 👋🏽 ")
    link = next(f for f in facets if f["features"][0]["$type"].endswith("#link"))
    assert link["features"][0]["uri"] == "https://acme.example/hilfe/größe"


def test_an_unknown_handle_gets_no_mention_facet():
    assert build_facets("hi @nobody.example", {}) == []


def test_count_graphemes_counts_what_a_reader_sees():
    assert count_graphemes("hello") == 5
    assert count_graphemes("👋🏽") == 1  # emoji + skin tone
    assert count_graphemes("👨‍👩‍👧‍👦") == 1  # family ZWJ sequence
    assert count_graphemes("e\u0301") == 1  # e + combining acute
    assert count_graphemes("") == 0


async def test_a_reply_over_300_graphemes_is_refused(fake, provider):
    fake.customer_writes("q")
    [msg] = messages_of((await pull_all(provider, None))[0])
    fits = "👋🏽" * 300  # 300 graphemes although 600 code points
    await provider.push(reply(msg, fits))
    with pytest.raises(PermanentError) as err:
        await provider.push(reply(msg, "a" * 301))
    assert "301 characters" in str(err.value) and "allows 300" in str(err.value)
    assert len(fake.create_requests) == 1


async def test_without_an_appview_the_reply_target_is_read_from_its_repository(fake, provider):
    post = fake.customer_writes("is anyone there")
    [msg] = messages_of((await pull_all(provider, None))[0])
    fake.inject("app.bsky.feed.getPosts", httpx.Response(
        501, json={"error": "MethodNotImplemented", "message": "Method Not Implemented"}))
    await provider.push(reply(msg, "Yes, we are!"))
    [body] = fake.create_requests
    assert body["record"]["reply"]["parent"] == {"uri": post["uri"], "cid": post["cid"]}
    assert body["record"]["reply"]["root"] == {"uri": post["uri"], "cid": post["cid"]}


async def test_a_deleted_reply_target_is_a_permanent_error(fake, provider):
    post = fake.customer_writes("oops")
    [msg] = messages_of((await pull_all(provider, None))[0])
    del fake.posts[post["uri"]]
    with pytest.raises(PermanentError, match="deleted"):
        await provider.push(reply(msg, "hello?"))
    assert fake.create_requests == []


async def test_read_only_never_writes(fake):
    fake.customer_writes("anyone?")
    p = make_provider()
    await p.open(read_only=True)
    try:
        [msg] = messages_of((await pull_all(p, None))[0])
        with pytest.raises(PermanentError, match="read-only"):
            await p.push(reply(msg, "no"))
        with pytest.raises(PermanentError, match="read-only"):
            await p.push(reply(msg, "no", kind="move_private"))
    finally:
        await p.close()
    writes = [r.url.path for r in fake.requests if r.method == "POST"]
    assert writes == ["/xrpc/com.atproto.server.createSession"], "read-only sent a writing request"


# ---------------------------------------------------------------------- rate limits


async def test_429_becomes_a_transient_error_with_the_reset_time(fake, provider):
    import time
    reset = int(time.time()) + 120
    fake.inject("app.bsky.notification.listNotifications", httpx.Response(429, json=ERRORS["rate_limited"], headers={
        "ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
        "ratelimit-policy": "3000;w=300"}))
    with pytest.raises(TransientError) as err:
        await provider.pull(None)
    assert 100 <= err.value.retry_after <= 121
    assert "Rate Limit Exceeded" in str(err.value)
    sent = len(fake.requests)
    with pytest.raises(TransientError):
        await provider.pull(None)
    assert len(fake.requests) == sent, "asked again before the reset"


async def test_a_server_error_is_transient(fake, provider):
    fake.inject("app.bsky.notification.listNotifications", httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(TransientError):
        await provider.pull(None)


async def test_appview_reads_go_to_the_appview_when_configured(fake):
    with respx.mock(assert_all_called=False) as appview:
        appview.route(host="appview.example").mock(side_effect=fake._dispatch)
        fake.customer_writes("via the appview")
        p = make_provider(appview="https://appview.example")
        await p.open(read_only=True)
        try:
            batches, _ = await pull_all(p, None)
        finally:
            await p.close()
    assert [m.text for m in messages_of(batches)] == ["@acme.bsky.social via the appview"]
    hosts = {r.url.path.rsplit("/", 1)[-1]: r.url.host for r in fake.requests}
    assert hosts["app.bsky.notification.listNotifications"] == "appview.example"
    assert hosts["com.atproto.server.createSession"] == "pds.example"
    assert hosts["chat.bsky.convo.listConvos"] == "pds.example"


def test_the_contract_states_300_for_posts_1000_for_direct_messages_and_counts_graphemes():
    from providers.bluesky import BlueskyProvider

    assert BlueskyProvider.default_reply_limits == {"public": 300, "direct": 1000}
    assert BlueskyProvider.count_reply("👋🏽👋🏽") == 2


async def test_pulled_conversations_land_in_the_cache(fake, provider, db):
    from console.cache.ingest import apply_batch, ensure_account

    root = fake.customer_writes("lid \x1b[2J broken")
    fake.customer_writes("still broken", reply_to=root["uri"])
    fake.customer_dms("private note")
    account_id = ensure_account(db, "acme-sky", "bluesky", "social")
    batches, _ = await pull_all(provider, None)
    for batch in batches:
        apply_batch(db, account_id, batch)
    rows = db.execute("SELECT remote_id, channel_detail FROM threads ORDER BY channel_detail").fetchall()
    assert [r["channel_detail"] for r in rows] == ["direct", "mention"]
    counts = dict(db.execute("SELECT t.channel_detail, COUNT(*) FROM messages m JOIN threads t ON t.id=m.thread_id "
                             "GROUP BY t.channel_detail").fetchall())
    assert counts == {"direct": 1, "mention": 2}
    assert all("\x1b" not in r[0] for r in db.execute("SELECT text FROM messages"))
    ident = db.execute("SELECT * FROM identities WHERE address='dana.bsky.social'").fetchone()
    assert ident["followers"] == 2417


async def test_our_reply_after_a_restart_keeps_the_threads_subject(fake):
    root = fake.customer_writes("the toaster sparks")
    first = make_provider()
    await first.open(read_only=False)
    batches, cursor = await pull_all(first, None)
    [msg] = messages_of(batches)
    await first.close()
    fresh = make_provider()  # a restart: nothing remembered but the cursor
    await fresh.open(read_only=False)
    try:
        await fresh.push(reply(msg, "Unplug it, please."))
        batches, _ = await pull_all(fresh, cursor)
    finally:
        await fresh.close()
    [thread] = [t for b in batches for t in b.threads if t.channel_detail == "mention"]
    assert thread.remote_id == root["uri"] and thread.subject.endswith("the toaster sparks")
