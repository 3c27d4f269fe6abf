"""Two agents on one RT: the Owner field as a claim only one can win (If-Match), and a
reply held when the ticket got correspondence the agent has not seen. Real RT 5."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.providers.rt.conftest import rt_account
from tests.support.servers.rt import AGENT, COLLEAGUE, COLLEAGUE_PASSWORD
from tests.support.two_consoles import Console, at_once

pytestmark = pytest.mark.server

ROUNDS = 3


@pytest.fixture
def desk(rt, tmp_path):
    made: list[Console] = []

    def console(user: str, read_only: bool = False) -> Console:
        secret = {COLLEAGUE: COLLEAGUE_PASSWORD}.get(user)

        async def make(state_dir):
            extra = {"secret": secret} if secret else {}
            return rt_account(rt, state_dir, username=user, **extra)
        c = Console(make, tmp_path / f"{user}-{len(made)}", user, read_only=read_only)
        made.append(c)
        return c

    yield console
    for c in made:
        c.close()


def owner(rt, ticket: int) -> str:
    held = rt.ticket(ticket)["Owner"]
    return held["Name"] if isinstance(held, dict) else held


def correspondence(rt, ticket: int, text: str) -> int:
    return sum(1 for t in rt.history(ticket) if t["type"] == "Correspond" and text in t["text"])


def test_two_agents_claiming_one_ticket_at_once_exactly_one_owns_it(rt, desk, caplog):
    caplog.set_level(logging.DEBUG, logger="switchboard.rt.claims")
    sam, root = desk(AGENT), desk(COLLEAGUE)
    customer = rt.customer("Rita Race")
    tickets = [rt.open_ticket(customer, f"Race {n}", f"Who takes me? {n}") for n in range(ROUNDS)]
    sam.call(sam.sync())
    root.call(root.sync())
    for ticket in tickets:
        remote = str(ticket)
        results = at_once([sam, root], lambda c, barrier: c.press("assign", remote, barrier, to="me"))
        assert all(r.ok for r in results), [r.message for r in results]
        held = owner(rt, ticket)
        assert held in (AGENT, COLLEAGUE)
        loser = root if held == AGENT else sam
        winner = sam if loser is root else root
        assert [r["state"] for r in winner.rows(remote, "claim")] == ["sent"]
        (lost,) = loser.rows(remote, "claim")
        assert lost["state"] == "lost" and lost["last_error"].startswith(f"{held} took this at "), lost
        assert sam.assignee(remote) == held and root.assignee(remote) == held
    paths = [r.getMessage().split(": ", 1)[1] for r in caplog.records if r.name == "switchboard.rt.claims"]
    print(f"\n{ROUNDS} simultaneous RT claims, each outcome: {paths}")


def test_a_ticket_someone_took_after_this_console_looked_is_not_taken_from_them(rt, desk):
    sam = desk(AGENT)
    ticket = rt.open_ticket(rt.customer(), "Taken", "Please help")
    sam.call(sam.sync())
    rt.colleague_sets(ticket, Owner=COLLEAGUE)  # root took it in the web UI meanwhile
    sam.perform("save_draft", str(ticket), text="Sam's draft")
    sam.call(sam.press("assign", str(ticket), to="me"))
    assert owner(rt, ticket) == COLLEAGUE
    (lost,) = sam.rows(str(ticket), "claim")
    assert lost["state"] == "lost" and lost["last_error"].startswith(f"{COLLEAGUE} took this at ")
    assert sam.db.execute("SELECT text FROM drafts").fetchone()[0] == "Sam's draft", "the draft is kept"


def test_a_reply_is_held_when_a_colleague_answered_the_ticket_meanwhile(rt, desk):
    sam = desk(AGENT)
    marker = uuid.uuid4().hex[:8]
    ticket = rt.open_ticket(rt.customer(), "Double", f"Where is my parcel {marker}")
    sam.call(sam.sync())
    sam.call(sam.press("assign", str(ticket), to="me"))
    sam.perform("save_draft", str(ticket), text=f"Sam: it ships today {marker}-s")
    rt.colleague_replies(ticket, f"Root: it shipped yesterday {marker}-r")
    sam.call(sam.press("reply", str(ticket)))
    (reply,) = sam.rows(str(ticket), "reply")
    assert reply["state"] == "held", reply
    assert "replied at" in reply["last_error"]
    assert correspondence(rt, ticket, f"{marker}-s") == 0, "never sent"


def test_a_reply_is_held_when_the_customer_wrote_again_unseen(rt, desk):
    sam = desk(AGENT)
    marker = uuid.uuid4().hex[:8]
    customer = rt.customer("Una Seen")
    ticket = rt.open_ticket(customer, "Again", f"First question {marker}")
    sam.call(sam.sync())
    sam.call(sam.press("assign", str(ticket), to="me"))
    sam.perform("save_draft", str(ticket), text=f"Sam's answer {marker}-s")
    rt.customer_writes(customer, ticket, f"Also, another thing {marker}")
    sam.call(sam.press("reply", str(ticket)))
    (reply,) = sam.rows(str(ticket), "reply")
    assert reply["state"] == "held" and "the customer wrote again" in reply["last_error"], reply
    assert correspondence(rt, ticket, f"{marker}-s") == 0
    # The agent reads it (a pull) and sends anyway; their own reply is no news to their next one.
    sam.call(sam.sync())
    assert sam.perform("retry_send", str(ticket)).ok
    sam.call(sam.flush())
    sam.perform("reply", str(ticket), text=f"And one more thing {marker}-2")
    sam.call(sam.flush())
    assert [r["state"] for r in sam.rows(str(ticket), "reply")] == ["sent", "sent"]


def test_a_read_only_console_claims_nothing_in_rt(rt, desk):
    ticket = rt.open_ticket(rt.customer(), "Watched", "Supervisor only")
    supervisor = desk(AGENT, read_only=True)
    supervisor.call(supervisor.sync())
    writes_before = [r for r in rt.access_log() if r.startswith(("PUT", "DELETE"))]
    result = supervisor.call(supervisor.press("assign", str(ticket), to="me"))
    assert not result.ok and "read-only" in result.message
    assert owner(rt, ticket) == "Nobody"
    assert [r for r in rt.access_log() if r.startswith(("PUT", "DELETE"))] == writes_before
