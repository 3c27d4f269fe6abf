"""Zendesk adapter tests against RECORDED HTTP, not a real server.

No Zendesk can run on this machine, so these tests replay the documented Support API
through respx: ``tests/support/recorded/zendesk_fake.py`` is a small stateful fake whose
entities come from the JSON shapes in ``tests/support/recorded/zendesk/`` (written from
the published API reference: incremental ticket export with cursors, comments, audits,
users and identities, safe updates, 429 with Retry-After).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from console import actions, secrets
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.config import AccountSettings, Config
from console.engine import Engine
from console.outbox import Dispatcher
from console.identity import customer_history
from providers.base import (
    AccountConfig,
    AuthError,
    Batch,
    Channel,
    Direction,
    Identity,
    Message,
    OptionError,
    PermanentError,
    PushAction,
    RemoteChanged,
    Status,
    Thread,
    TransientError,
)
from providers.zendesk import ZendeskProvider
from tests.support.contract import ProviderContract, RecordedRemoteHarness, messages_of, pull_all, wait_for_message
from tests.support.recorded.zendesk_fake import EMAIL, EXPORT_TICK, OAUTH_TOKEN, SUBDOMAIN, TOKEN, FakeZendesk

EXPORT = "/api/v2/incremental/tickets/cursor.json"


def make_provider(*, token: str = TOKEN, state_dir=None, **options) -> ZendeskProvider:
    opts = {"subdomain": SUBDOMAIN, "email": EMAIL, "timeout": 5.0, **options}
    if opts["email"] is None:
        del opts["email"]
    if state_dir is not None:
        opts["state_dir"] = str(state_dir)
    return ZendeskProvider(AccountConfig(name="acme-desk", provider="zendesk", options=opts, secret=lambda: token))


def act(kind: str, ticket, text: str = "", key: str | None = None, **args) -> PushAction:
    return PushAction(key=key or uuid.uuid4().hex, kind=kind, thread_remote_id=str(ticket), text=text, args=args,
                      created_at=datetime.now(timezone.utc))


def threads_of(batches) -> dict[str, Thread]:
    return {t.remote_id: t for b in batches for t in b.threads}


async def first_pull(**options):
    """What a console opened read-only on the account pulls the first time."""
    p = make_provider(**options)
    await p.open(read_only=True)
    try:
        batches, _ = await pull_all(p, None)
    finally:
        await p.close()
    return batches


def time_passes(fake: FakeZendesk, minutes: int = 2) -> None:
    fake.clock += timedelta(minutes=minutes)


@pytest.fixture
def fake():
    f = FakeZendesk()
    with f.router:
        yield f


@pytest.fixture
async def looked(fake, tmp_path):
    """A customer's ticket and the agent's adapter, which has pulled it (the agent looked)."""
    ticket = fake.open_ticket("My printer is on fire", subject="Printer fire")
    time_passes(fake)
    p = make_provider(state_dir=tmp_path / "state")
    await p.open(read_only=False)
    batches, cursor = await pull_all(p, None)
    assert str(ticket["id"]) in threads_of(batches)
    yield p, ticket["id"], cursor
    await p.close()


class TestZendeskContract(ProviderContract):
    @pytest.fixture
    async def harness(self, fake, tmp_path):
        return RecordedRemoteHarness(fake, lambda: make_provider(state_dir=tmp_path / "state"))


# ---------------------------------------------------------------------- pull


async def test_first_sync_pages_through_the_export_to_end_of_stream(fake):
    for n in range(120):
        fake.open_ticket(f"Question {n}", subject=f"Ticket {n}")
    time_passes(fake)
    p = make_provider()
    await p.open(read_only=True)
    try:
        batches, cursor = await pull_all(p, None)
        again, _ = await pull_all(p, cursor)
    finally:
        await p.close()
    assert [b.more for b in batches] == [True, True, False], "50 a page, until end_of_stream"
    assert len(threads_of(batches)) == 120
    assert sorted(m.text for m in messages_of(batches)) == sorted(f"Question {n}" for n in range(120))
    exports = [r for r in fake.requests if r.url.path == EXPORT]
    assert "start_time" in exports[0].url.params and all("cursor" in r.url.params for r in exports[1:])
    assert exports[-1].url.params["cursor"] == json.loads(cursor)["after"], "the next pull goes on from after_cursor"
    assert not threads_of(again) and not messages_of(again)


async def test_a_comment_from_the_last_minute_arrives_on_a_later_pull_once(fake, looked):
    p, ticket, cursor = looked
    fake.customer_writes("It is still burning", ticket)
    first, cursor = await pull_all(p, cursor)  # the export holds back what changed in the last minute
    assert not messages_of(first)
    msg, _, cursor = await wait_for_message(p, cursor, "still burning")
    assert msg.direction == Direction.INBOUND and msg.thread_remote_id == str(ticket)
    again, _ = await pull_all(p, cursor)
    assert not messages_of(again)
    assert fake.clock - datetime.fromisoformat(fake.comments[ticket][-1]["created_at"].replace("Z", "+00:00")) \
        >= timedelta(minutes=1) - EXPORT_TICK


async def test_the_requester_and_their_identities_become_one_customer(fake):
    ticket = fake.open_ticket("Hello from Jo", via="twitter", priority="high", tags=["printer"],
                              custom_fields=[{"id": 27642, "value": "A-1042"}])
    time_passes(fake)
    batches = await first_pull()
    t = threads_of(batches)[str(ticket["id"])]
    assert t.channel == Channel.HELPDESK and t.channel_detail == "twitter"
    assert (t.status, t.priority, t.tags) == (Status.OPEN, 2, ["printer"])
    assert t.meta["custom_fields"] == {"Order number": "A-1042"}
    assert t.customer == Identity(Channel.EMAIL, "jo@example.com", display_name="Jo Requester")
    (customer,) = [c for b in batches for c in b.customers]
    assert customer.tags == ["vip"] and customer.note == "Prefers email"
    kinds = {(i.channel, i.network or "", i.address) for i in customer.identities}
    assert kinds == {(Channel.EMAIL, "", "jo@example.com"), (Channel.CHAT, "phone", "+33 1 23 45 67 89"),
                     (Channel.SOCIAL, "twitter", "@jo_requests"), (Channel.SOCIAL, "facebook", "100012345678901")}


async def test_public_comments_are_messages_and_private_ones_notes(fake, looked):
    p, ticket, cursor = looked
    fake.colleague_updates(ticket, comment="We sent a technician")
    fake.colleague_updates(ticket, comment="Customer is on the VIP plan", public=False)
    time_passes(fake)
    batches, _ = await pull_all(p, cursor)
    got = [(m.direction, m.text, m.author.address) for m in messages_of(batches)]
    assert got == [(Direction.INBOUND, "My printer is on fire", "jo@example.com"),
                   (Direction.OUTBOUND, "We sent a technician", "kim@acme.example"),
                   (Direction.NOTE, "Customer is on the VIP plan", "kim@acme.example")]


async def test_helpdesk_tickets_join_the_customers_email_history_without_merging(fake, db):
    ticket = fake.open_ticket("Order 77 arrived broken", subject="Broken order")
    time_passes(fake)
    batches = await first_pull()
    desk = ensure_account(db, "acme-desk", "zendesk", "helpdesk")
    mail = ensure_account(db, "support-mail", "imap", "email")
    for batch in batches:
        apply_batch(db, desk, batch)
    now = datetime.now(timezone.utc)
    her = Identity(Channel.EMAIL, "Jo@Example.com", display_name="Jo")
    apply_batch(db, mail, Batch(cursor="m", threads=[Thread("mail-1", Channel.EMAIL, "Broken order", her, now)],
                                messages=[Message("<m1@x>", "mail-1", Direction.INBOUND, her, now, "See photo")]))
    rows = db.execute("SELECT id, channel, customer_id FROM threads WHERE remote_id IN (?, 'mail-1')",
                      (str(ticket["id"]),)).fetchall()
    assert len(rows) == 2 and len({r["customer_id"] for r in rows}) == 1
    history = customer_history(db, rows[0]["customer_id"])
    assert {t["channel"] for t in history["threads"]} == {"helpdesk", "email"}
    assert {i["channel"] for i in history["identities"]} >= {"email", "social", "chat"}


# ---------------------------------------------------------------------- push


async def test_reply_and_note_land_as_public_and_private_comments_and_come_back_as_ours(fake, looked):
    p, ticket, cursor = looked
    reply, note = act("reply", ticket, "A technician comes today"), act("note", ticket, "Dispatch #12")
    r1, r2 = await p.push(reply), await p.push(note)
    assert fake.delivered("technician comes today") == 1 and fake.notes("Dispatch #12") == 1
    time_passes(fake)
    batches, _ = await pull_all(p, cursor)
    assert {r1.remote_id, r2.remote_id} <= {m.remote_id for m in messages_of(batches)}, \
        "our comments come back under the ids their receipts named, so the cache keeps one copy"
    batches = await first_pull()  # another agent's console sees them as the team's reply and note
    back = {m.remote_id: m for m in messages_of(batches)}
    assert back[r1.remote_id].direction == Direction.OUTBOUND and back[r2.remote_id].direction == Direction.NOTE
    assert back[r1.remote_id].author.address == "sam@acme.example"
    audits = {a["metadata"]["custom"].get("switchboard_key") for a in fake.audits[ticket]}
    assert {reply.key, note.key} <= audits


async def test_status_assignee_priority_and_tags_go_to_zendesk_and_come_back(fake, looked):
    p, ticket, cursor = looked
    await p.push(act("assign", ticket, to="sam@acme.example"))
    await p.push(act("priority", ticket, level=3))
    await p.push(act("tag", ticket, add=["fire", "vip"], remove=[]))
    await p.push(act("close", ticket))
    t = fake.tickets[ticket]
    assert (t["assignee_id"], t["priority"], t["status"], t["tags"]) == (fake.agent["id"], "urgent", "solved",
                                                                          ["fire", "vip"])
    await p.push(act("reopen", ticket))
    await p.push(act("tag", ticket, add=[], remove=["vip"]))
    assert (fake.tickets[ticket]["status"], fake.tickets[ticket]["tags"]) == ("open", ["fire"])

    fake.colleague_updates(ticket, assignee_id=fake.colleague["id"], status="pending")  # in Zendesk's web UI
    time_passes(fake)
    batches, _ = await pull_all(p, cursor)
    seen = threads_of(batches)[str(ticket)]
    assert (seen.assignee, seen.status) == ("kim@acme.example", Status.PENDING)


async def test_assigning_to_a_name_zendesk_cannot_resolve_fails_with_the_fix(fake, looked):
    p, ticket, _ = looked
    with pytest.raises(PermanentError, match="Zendesk email"):
        await p.push(act("assign", ticket, to="Sam"))
    with pytest.raises(PermanentError, match="Assignee is not an agent"):
        await p.push(act("assign", ticket, to="jo@example.com"))


@pytest.mark.parametrize("change", ["customer writes", "colleague changes the status"])
async def test_an_update_to_a_ticket_that_moved_since_the_agent_looked_is_refused_and_held(fake, looked, change):
    p, ticket, _ = looked
    if change == "customer writes":
        fake.customer_writes("Never mind, it went out", ticket)
    else:
        fake.colleague_updates(ticket, status="pending")
    with pytest.raises(RemoteChanged) as err:
        await p.push(act("reply", ticket, "The technician is on the way (stale)"))
    assert "changed in Zendesk since you looked" in str(err.value) and "send again" in str(err.value)
    assert fake.delivered("(stale)") == 0
    sent = [json.loads(r.content)["ticket"] for r in fake.writes()]
    assert sent and all(s["safe_update"] is True and s["updated_stamp"] for s in sent)


async def test_our_own_update_does_not_make_the_next_one_stale(fake, looked):
    p, ticket, _ = looked
    await p.push(act("reply", ticket, "On it"))
    await p.push(act("close", ticket))  # the stamp moved with our own reply
    assert fake.tickets[ticket]["status"] == "solved"


async def test_newer_activity_names_a_colleagues_public_reply_but_not_their_internal_note(fake, looked):
    """Recorded HTTP: the ticket's audits, on Zendesk's clock (the fake's runs two hours behind ours)."""
    p, ticket, _ = looked
    began = datetime.now(timezone.utc)
    fake.colleague_updates(ticket, comment="Customer is on the VIP plan", public=False)
    fake.colleague_updates(ticket, status="pending")
    assert await p.newer_activity(act("reply", ticket), began) is None, "notes and field changes are no news"
    fake.colleague_updates(ticket, comment="We sent a technician")
    news = await p.newer_activity(act("reply", ticket), began)
    assert news is not None and (news.kind, news.who, news.count) == ("agent", "Kim Colleague", 1)
    assert news.line().startswith("Kim Colleague replied at ")


async def test_newer_activity_counts_the_customers_comments_and_skips_those_the_cache_holds(fake, looked):
    p, ticket, _ = looked
    began = datetime.now(timezone.utc)
    first = fake.customer_writes("Still burning", ticket)
    fake.colleague_updates(ticket, comment="We sent a technician")
    fake.customer_writes("Now the curtains too", ticket)
    news = await p.newer_activity(act("reply", ticket), began)
    assert news is not None and (news.kind, news.count) == ("customer", 2), "the customer's news outranks an agent's"
    held = frozenset({f"{ticket}-{first['id']}"})
    assert (await p.newer_activity(act("reply", ticket), began, known=held)).count == 1


async def test_a_reply_drafted_before_the_customer_wrote_again_is_held_by_the_outbox(fake, looked, tmp_path):
    p, ticket, _ = looked
    db = connect(tmp_path / "cache.sqlite3")
    account = ensure_account(db, p.name, p.kind, p.channel.value)
    batches, _ = await pull_all(p, None)
    for batch in batches:
        apply_batch(db, account, batch)
    (tid,) = db.execute("SELECT id FROM threads WHERE remote_id=?", (str(ticket),)).fetchone()
    result = actions.perform(actions.Context(db=db, agent="Sam"), "reply", tid, text="The technician is coming (late)")
    assert result.ok, result.message
    fake.customer_writes("Forget it, the fire brigade came", ticket)  # Zendesk has it; the cache does not yet
    await Dispatcher(db).flush(p.name, p)
    assert fake.delivered("(late)") == 0
    (state, error) = db.execute("SELECT state, last_error FROM outbox").fetchone()
    assert state == "held" and "the customer wrote again" in error, (state, error)


async def test_a_restarted_adapter_finds_the_earlier_delivery_and_does_not_send_twice(fake, looked, tmp_path):
    """The process that sent the reply died before the outbox heard back (on recordings: a
    second adapter with no memory and no state stands for the restarted process)."""
    p, ticket, _ = looked
    action = act("reply", ticket, "Refund sent (crash-once)")
    await p.push(action)
    fresh = make_provider(state_dir=tmp_path / "elsewhere")
    await fresh.open(read_only=False)
    try:
        found = await fresh.find_delivery(action)
        assert found is not None and found.duplicate
        again = await fresh.push(action)
        assert again.duplicate
    finally:
        await fresh.close()
    assert fake.delivered("crash-once") == 1


async def test_read_only_sends_only_gets(fake, tmp_path):
    ticket = fake.open_ticket("Supervisor look")
    time_passes(fake)
    before = fake.remote_state()
    p = make_provider(state_dir=tmp_path / "s")
    await p.open(read_only=True)
    try:
        await pull_all(p, None)
        for action in (act("reply", ticket["id"], "no"), act("note", ticket["id"], "no"), act("close", ticket["id"]),
                       act("tag", ticket["id"], add=["x"])):
            with pytest.raises(PermanentError, match="read-only"):
                await p.push(action)
    finally:
        await p.close()
    assert fake.requests and {r.method for r in fake.requests} == {"GET"}
    assert fake.remote_state() == before


# ---------------------------------------------------------------------- errors and limits


async def test_a_429_is_honoured_and_the_account_state_shows_the_next_try(fake, db, tmp_path):
    fake.open_ticket("Busy day")
    time_passes(fake)
    p = make_provider()
    await p.open(read_only=True)
    try:
        fake.rate_limit(EXPORT, retry_after=37)
        with pytest.raises(TransientError) as err:
            await p.pull(None)
        assert err.value.retry_after == 37 and "next try in 37 s" in str(err.value)
        asked = len(fake.requests)
        with pytest.raises(TransientError):
            await p.pull(None)  # still within Retry-After: nothing is sent
        assert len(fake.requests) == asked
    finally:
        await p.close()

    secrets.put("acme-desk", TOKEN)
    fake.rate_limit(EXPORT, retry_after=37)
    engine = Engine(db, Config(accounts=[AccountSettings("acme-desk", "zendesk",
                                                         {"subdomain": SUBDOMAIN, "email": EMAIL})]))
    state = (await engine.run_once())["acme-desk"]
    assert state.state == "offline" and "retry in 3" in state.line() and "rate limit" in state.detail


async def test_a_bad_token_is_an_auth_error_with_the_fix(fake):
    p = make_provider(token="wrong")
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    text = str(err.value)
    assert "Zendesk refused the API token" in text and "switchboard accounts add acme-desk" in text
    assert "\n" not in text


async def test_without_an_email_the_secret_is_an_oauth_bearer_token(fake):
    ticket = fake.open_ticket("Via OAuth")
    time_passes(fake)
    batches = await first_pull(email=None, token=OAUTH_TOKEN)
    assert str(ticket["id"]) in threads_of(batches)
    assert all(r.headers["Authorization"] == f"Bearer {OAUTH_TOKEN}" for r in fake.requests)
    with pytest.raises(AuthError, match="Zendesk refused the OAuth token"):
        await make_provider(email=None, token=TOKEN).open(read_only=True)


async def test_an_end_user_token_is_refused_with_the_reason(fake):
    fake.agent["role"] = "end-user"
    with pytest.raises(PermanentError, match="is not a Zendesk agent"):
        await make_provider().open(read_only=True)


def test_bad_options_are_one_line_with_the_fix():
    with pytest.raises(OptionError, match="not a Zendesk subdomain"):
        make_provider(subdomain="acme corp")
    assert make_provider(subdomain="https://acme.zendesk.com").base_url == "https://acme.zendesk.com"
