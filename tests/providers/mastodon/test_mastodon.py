"""Mastodon adapter tests against RECORDED HTTP, not a real server.

No Mastodon-API server can run on this machine (see shared/notes/servers.md), so
these tests replay the documented API through respx: ``tests/support/recorded/mastodon_fake.py``
is a small stateful fake whose entities come from the JSON shapes in
``tests/support/recorded/mastodon/`` (written from the published API reference).
"""

from __future__ import annotations

import asyncio
import json
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
from providers.mastodon import MastodonProvider, count_characters
from providers.mastodon import oauth
from tests.support.contract import ProviderContract, RecordedRemoteHarness, messages_of, pull_all
from tests.support.recorded.mastodon_fake import BASE, ERRORS, TOKEN, FakeMastodon


def make_provider(*, token: str = TOKEN, window_days: int = 90, **options) -> MastodonProvider:
    opts = {"instance": BASE, "timeout": 5.0, **options}
    return MastodonProvider(AccountConfig(name="acme-social", provider="mastodon", options=opts,
                                          secret=lambda: token, window_days=window_days))


@pytest.fixture
def fake():
    f = FakeMastodon()
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
                      reply_to_remote_id=msg.remote_id, customer=msg.author)


def posts(fake) -> list[dict]:
    return [p["body"] for p in fake.post_requests]


# ---------------------------------------------------------------------- the shared contract


class TestMastodonContract(ProviderContract):
    @pytest.fixture
    async def harness(self, fake):
        return RecordedRemoteHarness(fake, make_provider)


# ---------------------------------------------------------------------- options and auth


def test_instance_is_required_and_must_be_a_url():
    with pytest.raises(OptionError, match="instance"):
        MastodonProvider(AccountConfig(name="x", provider="mastodon", options={}))
    with pytest.raises(OptionError, match="not a URL"):
        MastodonProvider(AccountConfig(name="x", provider="mastodon", options={"instance": "mastodon.social"}))


async def test_a_refused_token_says_how_to_fix_it(fake):
    p = make_provider(token="expired-token")
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    assert "switchboard accounts add acme-social" in str(err.value)
    assert "access token is invalid" in str(err.value)
    await p.close()


async def test_no_token_in_the_keyring_is_an_auth_error(fake):
    p = MastodonProvider(AccountConfig(name="acme-social", provider="mastodon", options={"instance": BASE}))
    with pytest.raises(AuthError, match="accounts add acme-social"):
        await p.open(read_only=True)


# ---------------------------------------------------------------------- pulling


async def test_a_mention_becomes_a_thread_with_the_authors_identity(fake, provider):
    fake.customer_writes("my order 1234 has not arrived :blobcat:")
    batches, _ = await pull_all(provider, None)
    [msg] = messages_of(batches)
    [thread] = [t for b in batches for t in b.threads]
    assert msg.direction == Direction.INBOUND
    assert "my order 1234 has not arrived" in msg.text
    assert msg.text == "@acmehelp my order 1234 has not arrived :blobcat:"  # emoji shortcodes stay text
    assert msg.author.address == "dana@mastodon.example"
    assert msg.author.followers == 1873
    assert msg.author.display_name == "Dana :blobcat:"
    assert msg.author.network == "mastodon.example"
    assert msg.author.url == "https://mastodon.example/@dana"
    assert msg.author.verified
    assert msg.meta["visibility"] == "public"
    assert thread.remote_id == msg.thread_remote_id == msg.remote_id
    assert thread.channel_detail == "mention"
    assert thread.customer.address == "dana@mastodon.example"
    assert thread.unread


async def test_a_local_account_is_qualified_with_the_instance_host(fake, provider):
    local = dict(fake.customer, id="120001", username="lee", acct="lee", url="https://social.example/@lee")
    fake.customer_writes("hello from next door", account=local)
    batches, _ = await pull_all(provider, None)
    [msg] = messages_of(batches)
    assert msg.author.address == "lee@social.example"
    assert msg.author.network == "social.example"


async def test_html_content_arrives_as_inert_text(fake, provider):
    hostile = ('<p>Hi <script>alert(1)</script><a href="https://evil.example/x">click</a> '
               '[@click=app.quit] \x1b]52;c;ZXZpbA==\x07 \x1b[2J<b>bold</b> :blobcat:</p>')
    fake.customer_writes("", html_content=hostile)
    batches, _ = await pull_all(provider, None)
    [msg] = messages_of(batches)
    assert "<" not in msg.text and "alert(1)" not in msg.text
    assert "\x1b" not in msg.text and "\x07" not in msg.text
    assert "https://evil.example/x" in msg.text  # a link is shown as its address, never followed
    assert "[@click=app.quit]" in msg.text  # kept as plain text; the UI never renders it as markup
    assert "bold" in msg.text and ":blobcat:" in msg.text


async def test_first_pull_pages_back_through_the_window_only(fake, provider):
    old = datetime.now(timezone.utc) - timedelta(days=200)
    for i in range(3):
        fake.customer_writes(f"ancient {i}", created_at=old + timedelta(minutes=i))
    for i in range(95):
        fake.customer_writes(f"recent {i}")
    batches, cursor = await pull_all(provider, None)
    texts = [m.text for m in messages_of(batches)]
    assert len(batches) >= 3, "95 mentions need several bounded pages of 40"
    assert sum("recent" in t for t in texts) == 95
    assert not any("ancient" in t for t in texts)
    assert any("max_id" in str(r.url) for r in fake.requests if r.url.path == "/api/v1/notifications")

    for i in range(45):
        fake.customer_writes(f"newer {i}")
    batches, cursor = await pull_all(provider, cursor)
    texts = [m.text for m in messages_of(batches)]
    assert sum("newer" in t for t in texts) == 45
    assert not any("recent" in t for t in texts), "nothing already pulled comes again"
    assert len(batches) == 2, "45 new mentions are two pages of at most 40"
    again, _ = await pull_all(provider, cursor)
    assert messages_of(again) == []


async def test_replies_join_the_conversation_of_their_root(fake, provider):
    root = fake.customer_writes("the blender broke")
    ours = fake.brand_writes("@dana sorry! which model?", in_reply_to=root["id"], visibility="public")
    follow = fake.customer_writes("model X200", in_reply_to=ours["id"])
    # A fresh adapter (nothing remembered) sees only the newest mention and back-fills the chain.
    fake.notifications = [n for n in fake.notifications if n["status"]["id"] == follow["id"]]
    batches, cursor = await pull_all(provider, None)
    msgs = {m.remote_id: m for m in messages_of(batches)}
    assert set(msgs) == {root["id"], ours["id"], follow["id"]}
    assert {m.thread_remote_id for m in msgs.values()} == {root["id"]}
    assert msgs[ours["id"]].direction == Direction.OUTBOUND
    assert msgs[follow["id"]].meta["in_reply_to"] == ours["id"]
    [thread] = [t for b in batches for t in b.threads]
    assert thread.subject.endswith("the blender broke")
    assert thread.customer.address == "dana@mastodon.example"
    # A later reply in the same chain lands in the same conversation.
    more = fake.customer_writes("still waiting", in_reply_to=follow["id"])
    batches, _ = await pull_all(provider, cursor)
    [late] = messages_of(batches)
    assert late.remote_id == more["id"] and late.thread_remote_id == root["id"]


async def test_mastodon_markup_reads_like_the_post(fake, provider):
    fake.customer_writes("", html_content=(
        '<p><span class="h-card" translate="no"><a href="https://social.example/@acmehelp" class="u-url mention">'
        '@<span>acmehelp</span></a></span> see <a href="https://shop.example/o/1?a=1&amp;b=2" rel="nofollow noopener" '
        'target="_blank"><span class="invisible">https://</span><span class="">shop.example/o/1</span>'
        '<span class="invisible"></span></a> <a href="https://social.example/tags/help" class="mention hashtag" '
        'rel="tag">#<span>help</span></a></p><p>thanks</p>'))
    [msg] = messages_of((await pull_all(provider, None))[0])
    assert msg.text == "@acmehelp see https://shop.example/o/1?a=1&b=2 #help\n\nthanks"


async def test_direct_conversations_arrive_as_direct_threads(fake, provider):
    fake.customer_writes("private: my address is 1 Main St", visibility="direct")
    fake.notifications.clear()  # only the conversations endpoint knows it
    batches, _ = await pull_all(provider, None)
    [msg] = messages_of(batches)
    [thread] = [t for b in batches for t in b.threads]
    assert msg.meta["visibility"] == "direct"
    assert thread.channel_detail == "direct"


# ---------------------------------------------------------------------- pushing


@pytest.mark.parametrize("visibility", ["public", "unlisted", "private", "direct"])
async def test_a_reply_is_never_wider_than_the_customers_message(fake, provider, visibility):
    fake.customer_writes("help please", visibility=visibility)
    batches, _ = await pull_all(provider, None)
    [msg] = messages_of(batches)
    action = reply(msg, "We are on it.")
    receipt = await provider.push(action)
    [body] = posts(fake)
    assert body["visibility"] == visibility
    assert body["in_reply_to_id"] == msg.remote_id
    assert body["status"] == "@dana@mastodon.example We are on it."
    assert fake.post_requests[0]["idempotency_key"] == action.key
    assert receipt.remote_id and receipt.sent_at.tzinfo is not None


async def test_the_mention_is_not_doubled_when_the_agent_typed_it(fake, provider):
    fake.customer_writes("hi")
    [msg] = messages_of((await pull_all(provider, None))[0])
    await provider.push(reply(msg, "@dana@mastodon.example thanks!"))
    assert posts(fake)[0]["status"] == "@dana@mastodon.example thanks!"


async def test_move_private_answers_directly_in_the_same_conversation(fake, provider):
    fake.customer_writes("my card was charged twice")
    batches, cursor = await pull_all(provider, None)
    [msg] = messages_of(batches)
    action = reply(msg, "Please send us your order number privately.", kind="move_private")
    receipt = await provider.push(action)
    [body] = posts(fake)
    assert body["visibility"] == "direct" and body["in_reply_to_id"] == msg.remote_id
    # Our direct answer comes back as an outbound message of the same thread, tied to the action.
    batches, _ = await pull_all(provider, cursor)
    ours = [m for m in messages_of(batches) if m.remote_id == receipt.remote_id]
    assert ours and ours[0].direction == Direction.OUTBOUND
    assert ours[0].thread_remote_id == msg.thread_remote_id
    assert ours[0].action_key == action.key
    assert ours[0].meta["visibility"] == "direct"


async def test_a_retried_push_sends_the_same_idempotency_key(fake, provider):
    fake.customer_writes("where is it")
    [msg] = messages_of((await pull_all(provider, None))[0])
    action = reply(msg, "On its way")
    first = await provider.push(action)
    second = await provider.push(action)
    assert [p["idempotency_key"] for p in fake.post_requests] == [action.key, action.key]
    assert first.remote_id == second.remote_id and second.duplicate
    assert fake.delivered("On its way") == 1


async def test_newer_activity_reads_the_reply_chain_on_the_instances_clock(fake, provider):
    """Recorded HTTP: the status's context; the fake's clock runs an hour behind ours."""
    root = fake.customer_writes("the blender broke")
    [msg] = messages_of((await pull_all(provider, None))[0])
    began = datetime.now(timezone.utc)
    action = reply(msg, "Which model?")
    assert await provider.newer_activity(action, began, frozenset({action.key})) is None
    fake.customer_writes("a new question, in a post of its own")  # another conversation, not news here
    colleague = fake.brand_writes("@dana sorry! which model?", in_reply_to=root["id"], visibility="public")
    news = await provider.newer_activity(action, began, frozenset({action.key}))
    assert news is not None and (news.kind, news.count) == ("agent", 1), "a colleague on the shared account"
    assert await provider.newer_activity(action, began, frozenset({action.key}), known=frozenset({colleague["id"]})) \
        is None, "what the cache holds is the cache's to judge"
    fake.customer_writes("model X200", in_reply_to=colleague["id"])
    news = await provider.newer_activity(action, began, frozenset({action.key}))
    assert news is not None and news.kind == "customer" and news.line().startswith("the customer wrote again at ")


async def test_a_deleted_reply_target_is_a_permanent_error(fake, provider):
    status = fake.customer_writes("oops")
    [msg] = messages_of((await pull_all(provider, None))[0])
    del fake.statuses[status["id"]]
    with pytest.raises(PermanentError, match="deleted"):
        await provider.push(reply(msg, "hello?"))
    assert posts(fake) == []


async def test_read_only_never_posts(fake):
    fake.customer_writes("are you there")
    p = make_provider()
    await p.open(read_only=True)
    try:
        [msg] = messages_of((await pull_all(p, None))[0])
        with pytest.raises(PermanentError, match="read-only"):
            await p.push(reply(msg, "no"))
    finally:
        await p.close()
    assert [r for r in fake.requests if r.method != "GET"] == [], "read-only sent a writing request"


# ---------------------------------------------------------------------- limits


def test_count_characters_follows_mastodon_rules():
    assert count_characters("hello") == 5
    long_url = "https://example.com/" + "a" * 200
    assert count_characters(f"see {long_url}") == 4 + 23
    assert count_characters("@dana@mastodon.example hi") == len("@dana hi")
    assert count_characters("👍🏽") == 1  # one grapheme cluster
    assert count_characters("") == 0


async def test_a_reply_over_the_instance_limit_is_refused_with_the_count(fake):
    fake.instance["configuration"]["statuses"]["max_characters"] = 100
    fake.customer_writes("short question")
    p = make_provider()
    await p.open(read_only=False)
    try:
        assert p.reply_limits() == {"public": 100, "direct": 100}
        [msg] = messages_of((await pull_all(p, None))[0])
        prefix = len("@dana ")  # the mention counts without its domain
        with pytest.raises(PermanentError) as err:
            await p.push(reply(msg, "x" * (101 - prefix)))
        assert "101 characters" in str(err.value) and "allows 100" in str(err.value)
        assert posts(fake) == []
        # A long URL counts as 23, so this fits.
        await p.push(reply(msg, "see https://example.com/" + "a" * 150))
        assert len(posts(fake)) == 1
    finally:
        await p.close()


async def test_default_limit_is_500_when_the_instance_says_nothing(fake):
    del fake.instance["configuration"]["statuses"]
    p = make_provider()
    await p.open(read_only=True)
    assert p.reply_limits() == {"public": 500, "direct": 500}
    await p.close()


# ---------------------------------------------------------------------- rate limits


async def test_429_becomes_a_transient_error_with_retry_after(fake, provider):
    fake.inject("/api/v1/notifications", httpx.Response(429, json=ERRORS["429"], headers={
        "Retry-After": "30", "X-RateLimit-Remaining": "0"}))
    with pytest.raises(TransientError) as err:
        await provider.pull(None)
    assert err.value.retry_after == pytest.approx(30, abs=1)
    assert "rate limit" in str(err.value)


async def test_a_spent_rate_limit_stops_requests_until_the_reset(fake, provider):
    fake.rate_limit_remaining = 1  # the next answer says 0 remaining, reset in ~5 minutes
    sent = len(fake.requests)
    with pytest.raises(TransientError):
        await provider.pull(None)
    assert len(fake.requests) == sent + 1, "asked again although the budget was spent"
    with pytest.raises(TransientError) as err:
        await provider.pull(None)
    assert len(fake.requests) == sent + 1, "asked again although the budget was spent"
    assert 0 < err.value.retry_after <= 300


# ---------------------------------------------------------------------- watch


async def test_watch_wakes_on_a_streamed_mention(fake, provider):
    fake.customer_writes("ping")
    assert await asyncio.wait_for(provider.watch(5), timeout=10) is True
    stream_calls = [r for r in fake.requests if r.url.path == "/api/v1/streaming/user"]
    assert stream_calls and stream_calls[0].url.host == "social.example"


async def test_watch_falls_back_to_polling_without_streaming(fake, provider):
    fake.streaming = False
    assert await asyncio.wait_for(provider.watch(0.05), timeout=5) is True
    assert provider._streaming_ok is False


# ---------------------------------------------------------------------- OAuth helper


async def test_oauth_out_of_band_flow():
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        apps = router.post("/api/v1/apps").respond(200, json={
            "id": "563419", "name": "Switchboard", "website": None, "scopes": ["read", "write"],
            "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
            "client_id": "cid-123", "client_secret": "csecret-456", "vapid_key": "BCk-QqERU0q"})
        token = router.post("/oauth/token").respond(200, json={
            "access_token": "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0", "token_type": "Bearer",
            "scope": "read write", "created_at": 1573979017})
        cid, secret = await oauth.register_app(BASE)
        assert (cid, secret) == ("cid-123", "csecret-456")
        sent = dict(x.split("=", 1) for x in apps.calls[0].request.content.decode().split("&"))
        assert sent["redirect_uris"] == "urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" and sent["scopes"] == "read+write"
        url = oauth.authorize_url(BASE, cid)
        assert url.startswith(f"{BASE}/oauth/authorize?") and "response_type=code" in url
        assert "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" in url and "scope=read+write" in url
        assert await oauth.exchange_code(BASE, cid, secret, " the-code \n") == \
            "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
        assert "code=the-code" in token.calls[0].request.content.decode()


async def test_oauth_bad_code_is_a_clear_auth_error():
    with respx.mock(base_url=BASE) as router:
        router.post("/oauth/token").respond(400, json={
            "error": "invalid_grant",
            "error_description": "The provided authorization grant is invalid, expired, revoked, does not match "
                                 "the redirection URI used in the authorization request, or was issued to another "
                                 "client."})
        with pytest.raises(AuthError, match="authorization grant is invalid"):
            await oauth.exchange_code(BASE, "cid", "secret", "bad")


def test_status_fixture_follows_the_documented_entity():
    from tests.support.recorded.mastodon_fake import load
    status = load("status.json")
    for field in ("id", "created_at", "in_reply_to_id", "visibility", "content", "account", "mentions",
                  "media_attachments", "spoiler_text", "emojis"):
        assert field in status
    assert json.loads(json.dumps(load("instance_v2.json")))["configuration"]["statuses"]["max_characters"] == 500


def test_the_contract_counts_a_reply_the_mastodon_way():
    assert MastodonProvider.default_reply_limits == {"public": 500, "direct": 500}
    assert MastodonProvider.count_reply("see https://example.com/" + "a" * 100) == 4 + 23


async def test_oauth_is_the_contract_hook_authorize():
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.post("/api/v1/apps").respond(200, json={"client_id": "cid", "client_secret": "csecret"})
        router.post("/oauth/token").respond(200, json={"access_token": "tok-1", "token_type": "Bearer"})
        shown = []

        async def ask(url: str) -> str:
            shown.append(url)
            return "the-code"

        assert await MastodonProvider.authorize({"instance": BASE}, ask) == "tok-1"
        assert shown and shown[0].startswith(f"{BASE}/oauth/authorize?")


async def test_pulled_conversations_land_in_the_cache_clean(fake, provider, db):
    from console.cache.ingest import apply_batch, ensure_account

    root = fake.customer_writes("", html_content="<p>Help \x1b]0;pwned\x07 [@click=app.quit]me</p>")
    fake.customer_writes("second", in_reply_to=root["id"])
    account_id = ensure_account(db, "acme-social", "mastodon", "social")
    batches, _ = await pull_all(provider, None)
    for batch in batches:
        apply_batch(db, account_id, batch)
    [thread] = db.execute("SELECT * FROM threads").fetchall()
    texts = [r["text"] for r in db.execute("SELECT text FROM messages WHERE thread_id=? ORDER BY sent_at",
                                           (thread["id"],))]
    assert len(texts) == 2 and "\x1b" not in texts[0] and "[@click=app.quit]" in texts[0]  # stored as plain text
    ident = db.execute("SELECT * FROM identities WHERE id=?", (thread["identity_id"],)).fetchone()
    assert ident["address"] == "dana@mastodon.example" and ident["followers"] == 1873


async def test_a_stream_that_ends_without_news_waits_like_polling(fake, provider, monkeypatch):
    # Only a heartbeat, then the connection closes: watch must wait out its time (no busy loop).
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay, *a, **kw):
        waits.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    assert await asyncio.wait_for(provider.watch(30), timeout=10) is True
    assert waits and waits[-1] > 25, "the rest of the watch time is waited, not skipped"
    assert provider._streaming_ok is True


async def test_our_reply_after_a_restart_keeps_the_threads_subject(fake):
    root = fake.customer_writes("the toaster sparks")
    first = make_provider()
    await first.open(read_only=False)
    [msg] = messages_of((await pull_all(first, None))[0])
    _, cursor = await pull_all(first, None)
    await first.close()
    fresh = make_provider()  # a restart: nothing remembered but the cursor
    await fresh.open(read_only=False)
    try:
        await fresh.push(reply(msg, "Unplug it, please."))
        batches, _ = await pull_all(fresh, cursor)
    finally:
        await fresh.close()
    [thread] = [t for b in batches for t in b.threads]
    assert thread.remote_id == root["id"] and thread.subject.endswith("the toaster sparks")
