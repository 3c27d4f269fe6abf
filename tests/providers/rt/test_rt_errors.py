"""The rt adapter's failures on a real RT 5, each one line an agent can act on, and how
the sync engine shows them as the account's state."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from console import secrets
from console.config import AccountSettings, Config
from console.engine import Engine
from providers.base import AuthError, OptionError, ProviderError, PushAction, TransientError
from tests.providers.rt.conftest import rt_account
from tests.support.servers.common import free_port
from tests.support.servers.rt import NOBODY_PASSWORD, NOBODY_RIGHTS

pytestmark = pytest.mark.server


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    return text


async def test_a_wrong_password_is_an_auth_error_with_the_fix(rt):
    p = rt_account(rt, secret="not-the-password")
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    assert "RT refused the password" in one_line(err.value)
    assert "switchboard accounts add helpdesk" in str(err.value)
    await p.close()  # safe after a failed open


async def test_a_bad_token_is_an_auth_error_naming_the_token(rt):
    p = rt_account(rt, username=None, secret="1-2-not-a-real-token")
    with pytest.raises(AuthError, match="RT refused the auth token"):
        await p.open(read_only=True)


async def test_a_queue_the_user_cannot_see_is_named_with_the_fix(rt):
    p = rt_account(rt, username=NOBODY_RIGHTS, secret=NOBODY_PASSWORD, queues=["Billing"])
    with pytest.raises(ProviderError) as err:
        await p.open(read_only=True)
    text = one_line(err.value)
    assert "'Billing' is not visible to visitor" in text and "SeeQueue" in text


async def test_rt_down_is_transient_and_says_so(rt):
    p = rt_account(rt, url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError) as err:
        await p.open(read_only=True)
    assert "cannot reach RT" in one_line(err.value) and "retries by itself" in str(err.value)


def test_bad_options_are_one_line_with_the_fix(rt):
    with pytest.raises(OptionError, match="is not a URL"):
        rt_account(rt, url="rt.example.com")
    with pytest.raises(OptionError, match="queues must be a list of queue names"):
        rt_account(rt, queues=[""])


async def test_the_engine_shows_each_failure_as_the_accounts_state(rt, db):
    secrets.put("bad-pw", "nope")
    secrets.put("hidden-queue", NOBODY_PASSWORD)
    secrets.put("rt-down", "whatever")
    accounts = [
        AccountSettings("bad-pw", "rt", {"url": rt.url, "username": "agent"}),
        AccountSettings("hidden-queue", "rt", {"url": rt.url, "username": NOBODY_RIGHTS, "queues": ["Billing"]}),
        AccountSettings("rt-down", "rt", {"url": f"http://127.0.0.1:{free_port()}", "username": "agent"}),
    ]
    engine = Engine(db, Config(accounts=accounts))
    states = await engine.run_once()
    assert states["bad-pw"].state == "auth_failed" and "refused the password" in states["bad-pw"].detail
    assert states["hidden-queue"].state == "error" and "not visible" in states["hidden-queue"].detail
    assert states["rt-down"].state == "offline" and "retry in" in states["rt-down"].line()


async def test_a_restarted_adapter_without_any_state_finds_an_earlier_delivery_in_rt(rt, tmp_path):
    customer = rt.customer()
    ticket = rt.open_ticket(customer, "Lost card", "Please block it")
    action = PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=str(ticket),
                        text="Blocked (find-delivery)", created_at=datetime.now(timezone.utc))
    p = rt_account(rt, tmp_path / "a")
    await p.open(read_only=False)
    try:
        assert await p.find_delivery(action) is None
        await p.push(action)
    finally:
        await p.close()
    fresh = rt_account(rt, tmp_path / "b")  # another machine: nothing pulled, nothing remembered
    await fresh.open(read_only=False)
    try:
        found = await fresh.find_delivery(action)
        assert found is not None and found.duplicate
        again = await fresh.push(action)
        assert again.duplicate
    finally:
        await fresh.close()
    assert len([t for t in rt.history(ticket) if "find-delivery" in t["text"]]) == 1
