"""Zendesk (recorded HTTP): a claim is the assignee as a safe update; a colleague who has the
ticket keeps it and is named; a ticket that moved between the read and the write is read again."""

from __future__ import annotations

import copy
import json

import httpx
import pytest

from providers.base import ClaimLost
from tests.providers.zendesk.test_zendesk import act, fake, looked  # noqa: F401


async def test_a_claim_on_an_unassigned_ticket_makes_this_agent_the_assignee(fake, looked):  # noqa: F811
    p, ticket, _ = looked
    receipt = await p.push(act("claim", ticket, agent="Sam", expect=None))
    assert receipt.owner == "sam@acme.example"
    assert fake.tickets[ticket]["assignee_id"] == fake.agent["id"]
    (sent,) = [json.loads(r.content)["ticket"] for r in fake.writes()]
    assert sent["safe_update"] is True and sent["updated_stamp"]


async def test_a_ticket_a_colleague_took_is_not_taken_from_them(fake, looked):  # noqa: F811
    p, ticket, _ = looked
    fake.colleague_updates(ticket, assignee_id=fake.colleague["id"])
    with pytest.raises(ClaimLost) as lost:
        await p.push(act("claim", ticket, agent="Sam", expect=None))
    assert lost.value.owner == "kim@acme.example"
    assert fake.tickets[ticket]["assignee_id"] == fake.colleague["id"]
    assert fake.writes() == []


async def test_a_ticket_that_moved_between_the_read_and_the_write_is_read_again(fake, looked):  # noqa: F811
    p, ticket, _ = looked
    stale = copy.deepcopy(fake.tickets[ticket])
    stale["updated_at"] = "2020-01-01T00:00:00Z"  # what the first read saw, before someone else's change
    fake.injected.append((f"/api/v2/tickets/{ticket}.json", httpx.Response(200, json={"ticket": stale})))
    receipt = await p.push(act("claim", ticket, agent="Sam", expect=None))
    assert receipt.owner == "sam@acme.example"
    assert len(fake.writes()) == 2, "the first safe update was refused (409), the second went in"
