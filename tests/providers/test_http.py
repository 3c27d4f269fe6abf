"""The shared HTTP adapter shape (providers/http.py), against an in-process transport."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from providers.base import AuthError, PermanentError, TransientError
from providers.http import JsonApi, StateFile, seconds_until


class Api(JsonApi):
    service = "Helpdesk"
    not_found_fix = "the ticket may have been deleted"


def api(handler, **kw) -> tuple[Api, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return handler(request)

    return Api("https://desk.example", account="desk", timeout=5.0, transport=httpx.MockTransport(record), **kw), sent


async def test_a_429_waits_as_told_and_sends_nothing_before_then():
    client, sent = api(lambda r: httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "40"}))
    with pytest.raises(TransientError) as first:
        await client.get("/tickets")
    assert first.value.retry_after == 40 and "Helpdesk rate limit reached (slow down)" in str(first.value)
    with pytest.raises(TransientError, match=r"next try in (3[0-9]|40) s"):
        await client.get("/tickets")
    assert len(sent) == 1, "the second request never left"


async def test_a_spent_budget_stops_requests_until_the_reset():
    class Budgeted(Api):
        rate_headers = ("X-RateLimit-Remaining", "X-RateLimit-Reset")

    reset = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    sent = []
    client = Budgeted("https://desk.example", account="desk", timeout=5.0, transport=httpx.MockTransport(
        lambda r: sent.append(r) or httpx.Response(200, json={}, headers={"X-RateLimit-Remaining": "0",
                                                                          "X-RateLimit-Reset": reset})))
    await client.get("/tickets")
    with pytest.raises(TransientError) as err:
        await client.get("/tickets")
    assert 290 <= err.value.retry_after <= 300 and len(sent) == 1


async def test_read_only_refuses_a_write_before_it_leaves():
    client, sent = api(lambda r: httpx.Response(200, json={}), read_only=True)
    with pytest.raises(PermanentError, match="opened read-only, refusing POST /tickets"):
        await client.request("POST", "/tickets", json={})
    assert not sent


async def test_an_unreachable_server_is_one_transient_line_naming_it():
    def down(request):
        raise httpx.ConnectError("connection refused", request=request)

    client, _ = api(down)
    with pytest.raises(TransientError) as err:
        await client.get("/tickets")
    assert str(err.value) == ("desk: cannot reach Helpdesk at https://desk.example (ConnectError) — "
                              "check the network; Switchboard retries by itself")


@pytest.mark.parametrize(("code", "kind", "words"), [
    (401, AuthError, "Helpdesk refused the token"),
    (403, PermanentError, "forbids this for the account's user"),
    (404, PermanentError, "not found on https://desk.example"),
    (503, TransientError, "Helpdesk answered 503"),
    (422, PermanentError, "Helpdesk answered 422 to GET /tickets"),
])
async def test_error_answers_become_the_contracts_errors_in_one_clean_line(code, kind, words):
    hostile = "bad\x1b]52;c;ZXZpbA==\x07 \x1b[2Jthing\nsecond line"
    client, _ = api(lambda r: httpx.Response(code, json={"message": hostile}))
    with pytest.raises(kind) as err:
        await client.get("/tickets")
    line = str(err.value)
    assert words in line and "\x1b" not in line and "\n" not in line and "bad" in line and "thing" in line
    assert type(err.value) is kind


async def test_times_the_server_writes_are_read_on_its_clock():
    behind = datetime.now(timezone.utc) - timedelta(hours=2)
    client, _ = api(lambda r: httpx.Response(200, json={}, headers={"Date": format_datetime(behind, usegmt=True)}))
    await client.get("/ping")
    now = datetime.now(timezone.utc)
    assert abs((client.server_time(now) - behind).total_seconds()) < 3


async def test_a_post_in_the_same_second_as_the_draft_never_reads_as_older():
    """Servers write whole seconds: a reply made the moment a draft began, stamped with the
    second it fell in, is still "since the draft began" (else a colleague's reply goes unseen)."""
    now = datetime.now(timezone.utc)
    client, _ = api(lambda r: httpx.Response(200, json={}, headers={
        "Date": format_datetime(now - timedelta(hours=2), usegmt=True)}))
    await client.get("/ping")
    began = now.replace(microsecond=999_999)
    stamped = (began - timedelta(hours=2)).replace(microsecond=0)  # the server's second of that moment
    assert not stamped < client.server_time(began)


NOW = datetime(2027, 1, 15, 9, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(("value", "expected"), [
    ("30", 30.0),
    (str(int(NOW.timestamp()) + 60), 60.0),  # Bluesky's ratelimit-reset: a Unix time
    ((NOW + timedelta(seconds=90)).isoformat().replace("+00:00", "Z"), 90.0),  # Mastodon's X-RateLimit-Reset
    (format_datetime(NOW + timedelta(seconds=120), usegmt=True), 120.0),  # Retry-After as an HTTP date
    (format_datetime(NOW - timedelta(seconds=5), usegmt=True), 0.0),  # already past
    ("soon", None), ("", None), (None, None),
])
def test_retry_after_and_reset_headers_in_every_form_the_apis_send(value, expected):
    assert seconds_until(value, NOW.timestamp()) == expected


def test_an_adapters_state_file_reads_empty_when_broken_and_is_replaced_whole(tmp_path):
    state = StateFile(str(tmp_path / "state"), "x-state.json")
    assert state.read() == {}  # none yet
    state.write({"seen": 41})
    assert state.read() == {"seen": 41}
    assert not list((tmp_path / "state").glob("*.tmp"))
    for broken in ("{half", "[1, 2]", "\x00\xff"):
        state.path.write_text(broken, errors="surrogateescape")
        assert state.read() == {}, broken
    nowhere = StateFile("", "x-state.json")
    nowhere.write({"seen": 1})
    assert nowhere.read() == {} and nowhere.path is None
