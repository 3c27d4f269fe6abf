"""The Matrix adapter's failures, each a one-line error an agent can act on (real Synapse)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from console.secrets import KeyringKept
from providers.base import AccountConfig, AuthError, OptionError, PermanentError, PushAction, TransientError
from providers.matrix import MatrixProvider
from providers.matrix.session import TOKEN_NAME
from tests.support.contract import pull_all, wait_for_message
from tests.support.servers.common import free_port
from tests.support.servers.synapse import API, matrix_account, synapse  # noqa: F401

pytestmark = pytest.mark.server


def reply(room: str, text: str, key: str | None = None) -> PushAction:
    return PushAction(key=key or uuid.uuid4().hex, kind="reply", thread_remote_id=room, text=text)


def expire_kept_token(account: str) -> None:
    kept = KeyringKept(account)
    data = json.loads(kept.get(TOKEN_NAME))
    kept.put(TOKEN_NAME, json.dumps({**data, "access_token": "syt_expired_token"}))


def one_line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    return text


async def test_wrong_password_is_an_auth_error_with_the_fix(synapse, tmp_path):  # noqa: F811
    agent = await synapse.register()
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path, password="not-the-password"))
    with pytest.raises(AuthError) as err:
        await p.open(read_only=False)
    text = one_line(err.value)
    assert "password" in text and "switchboard accounts add support" in text
    await p.close()  # safe after a failed open


async def test_missing_password_says_how_to_store_it(synapse, tmp_path):  # noqa: F811
    agent = await synapse.register()
    account = AccountConfig(name="support", provider="matrix",
                            options={"homeserver": synapse.url, "user_id": agent.user_id}, secret=lambda: None)
    with pytest.raises(AuthError, match="switchboard accounts add support"):
        await MatrixProvider(account).open(read_only=True)


async def test_an_expired_token_is_replaced_by_logging_in_again(synapse, tmp_path):  # noqa: F811
    agent, customer = await synapse.register(), await synapse.register()
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    await p.open(read_only=False)
    device_id = p.client.device_id
    await p.close()
    expire_kept_token("support")

    again = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    await again.open(read_only=False)
    try:
        await customer.send(room, "still there? (relogin)")
        await wait_for_message(again, None, "(relogin)")
    finally:
        await again.close()
    renewed = json.loads(KeyringKept("support").get(TOKEN_NAME))
    assert renewed["access_token"] != "syt_expired_token" and renewed["device_id"] == device_id


async def test_an_expired_token_and_a_changed_password_is_an_auth_error(synapse, tmp_path):  # noqa: F811
    agent = await synapse.register()
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    await p.open(read_only=False)
    await p.close()
    expire_kept_token("support")
    stale = MatrixProvider(matrix_account(synapse, agent, tmp_path, password="changed-since"))
    await stale.open(read_only=False)
    try:
        with pytest.raises(AuthError) as err:
            await stale.pull(None)
        assert "switchboard accounts add" in one_line(err.value)
    finally:
        await stale.close()


async def test_server_down_is_transient_with_a_one_line_reason(tmp_path):
    port = free_port()  # nothing listens there
    account = AccountConfig(name="support", provider="matrix",
                            options={"homeserver": f"http://127.0.0.1:{port}", "user_id": "@agent:localhost",
                                     "timeout": 5.0, "state_dir": str(tmp_path)}, secret=lambda: "pw")
    p = MatrixProvider(account)
    with pytest.raises(TransientError) as err:
        await p.open(read_only=False)
    assert f"127.0.0.1:{port}" in one_line(err.value)
    await p.close()


async def test_server_going_away_mid_session_is_transient(synapse, tmp_path):  # noqa: F811
    agent = await synapse.register()
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    await p.open(read_only=False)
    try:
        _, cursor = await pull_all(p, None)
        p.client._http.base_url = f"http://127.0.0.1:{free_port()}"  # the homeserver vanishes
        with pytest.raises(TransientError, match="cannot reach the homeserver"):
            await p.pull(cursor)
        with pytest.raises(TransientError):
            await p.watch(1)
    finally:
        await p.close()


async def test_rate_limit_is_waited_out_or_reported_with_retry_after(synapse, tmp_path):  # noqa: F811
    agent, customer = await synapse.register(), await synapse.register()
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    await synapse.limit_messages(agent.user_id, per_second=1, burst=1)
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    await p.open(read_only=False)
    try:
        # Short limits are honoured inside push: both replies go out, once each.
        await p.push(reply(room, "first (rl-1)"))
        await p.push(reply(room, "second (rl-2)"))
        # A limit longer than the adapter will wait is reported with the server's retry_after.
        p.MAX_INLINE_WAIT = 0.0
        markers, limited = [], None
        for i in range(5):  # back to back, at most one per second is allowed: one of these must be refused
            markers.append(f"rl-3{i}")
            action = reply(room, f"third ({markers[-1]})")
            try:
                await p.push(action)
            except TransientError as err:
                limited = err
                break
        assert limited is not None, "the homeserver's rate limit never showed"
        assert limited.retry_after is not None and 0 < limited.retry_after <= 1.0
        assert "rate limited" in one_line(limited)
        await asyncio.sleep(limited.retry_after + 0.1)
        await p.push(action)  # the outbox retries with the same key after waiting
    finally:
        await p.close()
    for marker in ("rl-1", "rl-2", *markers):
        assert len(await customer.messages_from(agent.user_id, marker)) == 1, marker


async def test_read_only_sends_no_receipt_no_message_and_joins_nothing(synapse, tmp_path):  # noqa: F811
    agent, customer = await synapse.register(), await synapse.register()
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    event = await customer.send(room, "supervisor may look (ro)")
    other = await customer.create_room(invite=[agent.user_id])  # a pending invite
    before = await customer.receipts()
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    await p.open(read_only=True)
    try:
        batches, _ = await pull_all(p, None)
        assert any("(ro)" in m.text for b in batches for m in b.messages)
        with pytest.raises(PermanentError, match="read-only"):
            await p.push(reply(room, "must not go out (ro-reply)"))
        with pytest.raises(PermanentError, match="read-only"):
            await p.push(PushAction(key=uuid.uuid4().hex, kind="mark_read", thread_remote_id=room,
                                    reply_to_remote_id=event))
        threads = {t.remote_id: t for b in batches for t in b.threads}
        assert threads[other].meta.get("invite") is True
    finally:
        await p.close()
    assert await customer.receipts() == before, "read-only use sent a read receipt"
    assert await customer.messages_from(agent.user_id) == []
    joined = await agent.call("GET", f"{API}/joined_rooms")
    assert other not in joined["joined_rooms"], "read-only use accepted an invite"


@pytest.mark.parametrize("options, expected", [
    ({"homeserver": "matrix.example.com", "user_id": "@a:example.com"}, "not an http(s) URL"),
    ({"homeserver": "https://matrix.example.com", "user_id": "support"}, "not a Matrix id"),
    ({"homeserver": "https://matrix.example.com", "user_id": "@a:example.com", "timeout": 0}, "timeout"),
    ({"homeserver": "https://matrix.example.com", "user_id": "@a:example.com", "auto_join": "yes"}, "auto_join"),
    ({"user_id": "@a:example.com"}, "homeserver"),
])
def test_bad_options_are_one_line_errors(options, expected):
    with pytest.raises(OptionError) as err:
        MatrixProvider(AccountConfig(name="support", provider="matrix", options=options))
    assert expected in one_line(err.value)


async def test_a_cursor_the_server_no_longer_knows_starts_over(synapse, tmp_path):  # noqa: F811
    agent, customer = await synapse.register(), await synapse.register()
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    await customer.send(room, "hello again (reset)")
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    await p.open(read_only=False)
    try:
        batches, cursor = await pull_all(p, "not-a-token-this-server-issued")
        assert any("(reset)" in m.text for b in batches for m in b.messages)
        assert cursor and cursor != "not-a-token-this-server-issued"
    finally:
        await p.close()
