"""Many agents, one mailbox: claims only one can win, and no double replies.

Two consoles as two agents (two data folders, two adapters, two caches) on the same
dovecot mailbox, with the real outbox and the real SMTP relay; what counts is what the
server holds (keywords, the Sent folder, the customer's inbox)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from providers.imap import claims, keywords
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server  # noqa: F401
from tests.support.two_consoles import Console, at_once

pytestmark = pytest.mark.server

ROUNDS = 20


@pytest.fixture
def mailbox(dovecot, smtp_server):  # noqa: F811
    return ImapHarness(dovecot, smtp_server)


@pytest.fixture
def team(mailbox, tmp_path):
    """Ana's and Priya's consoles on the shared mailbox (and a read-only supervisor's on demand)."""
    made: list[Console] = []

    def console(agent: str, read_only: bool = False) -> Console:
        async def make(state_dir):
            return await mailbox.make(state_dir=str(state_dir))
        c = Console(make, tmp_path / agent, agent, read_only=read_only)
        made.append(c)
        return c

    yield console
    for c in made:
        c.close()


def deliver(mailbox: ImapHarness, text: str, subject: str = "Help please") -> str:
    """A customer mail straight into the shared inbox; returns its Message-ID (without <>)."""
    msg = mailbox.customer_mail(text, subject=subject)
    mailbox.dv.deliver(mailbox.customer, [mailbox.agent], msg.as_bytes())
    return msg["Message-ID"].strip("<>")


def remote_id_of(console: Console, message_id: str) -> str:
    row = console.db.execute("SELECT t.remote_id FROM messages m JOIN threads t ON t.id=m.thread_id "
                             "WHERE m.remote_id=?", (message_id,)).fetchone()
    assert row is not None, f"{console.agent} has not synced {message_id}"
    return row[0]


def owners_on_server(mailbox: ImapHarness, message_id: str) -> list[str]:
    """The owner keywords the server holds on that message (in the inbox)."""
    client = mailbox.agent_imap()
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["HEADER", "Message-ID", f"<{message_id}>"])
        flags = client.get_flags(uids)
        return sorted(keywords.owners([f for fl in flags.values() for f in fl]))
    finally:
        client.logout()


def inbox_modseq(mailbox: ImapHarness) -> tuple[int, dict]:
    """HIGHESTMODSEQ of the inbox and every message's flags: any STORE moves one of them."""
    client = mailbox.agent_imap()
    try:
        client.enable("CONDSTORE")
        info = client.select_folder("INBOX", readonly=True)
        flags = {uid: sorted(f) for uid, f in client.get_flags(client.search("ALL")).items()}
        return int(info[b"HIGHESTMODSEQ"]), flags
    finally:
        client.logout()


def test_two_agents_claiming_the_same_conversation_at_once_exactly_one_wins_each_time(mailbox, team, caplog):
    caplog.set_level(logging.DEBUG, logger="switchboard.imap.claims")
    ana, priya = team("Ana Lima"), team("Priya")
    mids = [deliver(mailbox, f"Where is order {n}? ({uuid.uuid4().hex[:6]})", subject=f"Order {n}")
            for n in range(ROUNDS)]
    ana.call(ana.sync())
    priya.call(priya.sync())
    wins = {"Ana Lima": 0, "Priya": 0}
    for mid in mids:
        remote = remote_id_of(ana, mid)
        results = at_once([ana, priya], lambda c, barrier: c.press("assign", remote, barrier, to="me"))
        assert all(r.ok for r in results), [r.message for r in results]
        on_server = owners_on_server(mailbox, mid)
        assert len(on_server) == 1, f"the server holds {on_server}: exactly one owner per conversation"
        winner = keywords.owner_name(on_server[0][len(keywords.ASSIGNED):])
        loser = priya if winner == "Ana Lima" else ana
        wins[winner] += 1
        states = {c.agent: [r["state"] for r in c.rows(remote, "claim")] for c in (ana, priya)}
        assert states[winner] == ["sent"] and states[loser.agent] == ["lost"], states
        # The loser sees who took it (and when); both consoles now show the winner as the assignee.
        (lost,) = loser.rows(remote, "claim")
        assert lost["last_error"].startswith(f"{winner} took this at "), lost["last_error"]
        assert ana.assignee(remote) == winner and priya.assignee(remote) == winner
    assert sum(wins.values()) == ROUNDS
    refused = sum(1 for r in caplog.records if r.getMessage().endswith("lost (modified)"))
    print(f"\n{ROUNDS} simultaneous claims: Ana won {wins['Ana Lima']}, Priya won {wins['Priya']}; "
          f"{refused} losers were refused by the server's MODIFIED, {ROUNDS - refused} saw the winner's keyword first")


def test_a_claim_that_read_the_conversation_before_the_other_won_is_refused_by_the_server(mailbox):
    """The conditional STORE itself: Priya reads the anchor, Ana claims, Priya's stale STORE gets MODIFIED."""
    mid = deliver(mailbox, "Refund please")
    ana, priya = mailbox.agent_imap(), mailbox.agent_imap()
    try:
        for c in (ana, priya):
            c.enable("CONDSTORE")
            c.select_folder("INBOX")
        (uid,) = ana.search(["HEADER", "Message-ID", f"<{mid}>"])
        flags, modseq = claims.read_anchor(priya, uid)  # Priya looks: nobody owns it
        assert keywords.owners(flags) == []
        assert claims.claim(ana, uid, "Ana", None).won
        stale = claims.store_unchanged_since(priya, uid, modseq, [keywords.assigned("Priya")])
        assert stale is False, "the server must refuse a STORE based on flags read before Ana's claim"
        outcome = claims.claim(priya, uid, "Priya", None)  # what Priya's console does next: read again
        assert (outcome.won, outcome.owner) == (False, "Ana")
    finally:
        ana.logout()
        priya.logout()
    assert owners_on_server(mailbox, mid) == [keywords.assigned("Ana")]


def test_other_consoles_learn_the_owner_from_the_keywords_on_their_next_pull(mailbox, team):
    ana, priya = team("Ana"), team("Priya")
    mid = deliver(mailbox, "My parcel is late")
    ana.call(ana.sync())
    priya.call(priya.sync())
    remote = remote_id_of(ana, mid)
    ana.call(ana.press("assign", remote, to="me"))
    assert ana.assignee(remote) == "Ana"
    assert priya.assignee(remote) is None
    priya.call(priya.sync())
    assert priya.assignee(remote) == "Ana"


def test_a_claim_that_cannot_reach_the_server_does_not_pretend_to_have_won(mailbox, team, tmp_path):
    ana = team("Ana")
    mid = deliver(mailbox, "Is anyone there?")
    ana.call(ana.sync())
    remote = remote_id_of(ana, mid)
    ana.call(ana.provider.close())
    ana.provider.port = 1  # the mail server is unreachable from here on
    ana.provider.timeout = 2.0
    result = ana.call(ana.press("assign", remote, to="me"))
    assert result.ok and "claiming" in result.message
    (row,) = ana.rows(remote, "claim")
    assert row["state"] == "queued" and row["last_error"], row
    assert ana.assignee(remote) is None, "not ours until the server says so"
    assert owners_on_server(mailbox, mid) == []


def test_replying_to_an_unassigned_conversation_claims_it_and_the_losers_reply_is_held_not_sent(mailbox, team):
    ana, priya = team("Ana"), team("Priya")
    marker = uuid.uuid4().hex[:8]
    mid = deliver(mailbox, f"Please cancel my subscription {marker}")
    ana.call(ana.sync())
    priya.call(priya.sync())
    remote = remote_id_of(ana, mid)
    priya.perform("save_draft", remote, text=f"Priya's answer {marker}-p")  # Priya is writing
    ana.call(ana.press("reply", remote, text=f"Ana's answer {marker}-a"))
    assert owners_on_server(mailbox, mid) == [keywords.assigned("Ana")]
    result = priya.call(priya.press("reply", remote))
    assert result.ok
    (claim,) = priya.rows(remote, "claim")
    (reply,) = priya.rows(remote, "reply")
    assert claim["state"] == "lost" and claim["last_error"].startswith("Ana took this at ")
    assert reply["state"] == "held" and "Ana took this conversation" in reply["last_error"]
    assert reply["text"] == f"Priya's answer {marker}-p", "the draft is kept"
    assert asyncio.run(mailbox.delivered(f"{marker}-a")) == 1
    assert asyncio.run(mailbox.delivered(f"{marker}-p")) == 0, "counted at the customer's inbox"
    assert mailbox.sent_copies(f"{marker}-p") == 0
    # Cancelling puts Priya's text back into her draft.
    assert priya.perform("cancel_send", remote).ok
    draft = priya.db.execute("SELECT text FROM drafts WHERE thread_id=?", (priya.thread_id(remote),)).fetchone()
    assert f"{marker}-p" in draft[0]


def test_a_reply_is_held_when_another_agent_replied_while_it_was_being_written(mailbox, team):
    ana, priya = team("Ana"), team("Priya")
    marker = uuid.uuid4().hex[:8]
    mid = deliver(mailbox, f"Wrong size delivered {marker}")
    ana.call(ana.sync())
    priya.call(priya.sync())
    remote = remote_id_of(ana, mid)
    priya.call(priya.press("assign", remote, to="me"))  # Priya owns it, so no claim stands in Ana's way
    ana.call(ana.sync())
    priya.perform("save_draft", remote, text=f"Priya: we will swap it {marker}-p")
    ana.call(ana.press("reply", remote, text=f"Ana: a new one is on its way {marker}-a"))
    assert mailbox.sent_copies(f"{marker}-a") == 1
    priya.call(priya.press("reply", remote))  # Priya has not pulled since: only the server can tell
    (reply,) = priya.rows(remote, "reply")
    assert reply["state"] == "held", reply
    assert "another agent replied at" in reply["last_error"]
    assert asyncio.run(mailbox.delivered(f"{marker}-p")) == 0
    assert mailbox.sent_copies(f"{marker}-p") == 0
    # Priya read it and sends anyway: R goes out once.
    assert priya.perform("retry_send", remote).ok
    priya.call(priya.flush())
    assert asyncio.run(mailbox.delivered(f"{marker}-p")) == 1


def test_a_reply_is_held_when_the_customer_wrote_again_and_this_console_has_not_pulled_it(mailbox, team):
    priya = team("Priya")
    marker = uuid.uuid4().hex[:8]
    msg = mailbox.customer_mail(f"Where is my refund {marker}", subject="Refund")
    mailbox.dv.deliver(mailbox.customer, [mailbox.agent], msg.as_bytes())
    priya.call(priya.sync())
    remote = remote_id_of(priya, msg["Message-ID"].strip("<>"))
    priya.call(priya.press("assign", remote, to="me"))
    priya.perform("save_draft", remote, text=f"It went out yesterday {marker}-p")
    follow = mailbox.customer_mail(f"Never mind, found it {marker}", subject="Re: Refund",
                                   In_Reply_To=msg["Message-ID"], References=msg["Message-ID"])
    mailbox.dv.deliver(mailbox.customer, [mailbox.agent], follow.as_bytes())
    priya.call(priya.press("reply", remote))
    (reply,) = priya.rows(remote, "reply")
    assert reply["state"] == "held" and "the customer wrote again at" in reply["last_error"], reply
    assert asyncio.run(mailbox.delivered(f"{marker}-p")) == 0


def test_a_second_reply_of_the_same_agent_is_not_news_to_itself(mailbox, team):
    priya = team("Priya")
    marker = uuid.uuid4().hex[:8]
    mid = deliver(mailbox, f"Two questions {marker}")
    priya.call(priya.sync())
    remote = remote_id_of(priya, mid)
    priya.call(priya.press("reply", remote, text=f"First answer {marker}-1"))
    priya.perform("save_draft", remote, text=f"Second answer {marker}-2")
    priya.call(priya.press("reply", remote))
    assert [r["state"] for r in priya.rows(remote, "reply")] == ["sent", "sent"]
    assert asyncio.run(mailbox.delivered(f"{marker}-2")) == 1


def test_a_read_only_console_claims_nothing_on_the_server(mailbox, team):
    mid = deliver(mailbox, "Supervisor watching")
    supervisor = team("Sue", read_only=True)
    supervisor.call(supervisor.sync())
    remote = remote_id_of(supervisor, mid)
    before = inbox_modseq(mailbox)
    result = supervisor.call(supervisor.press("assign", remote, to="me"))
    assert not result.ok and "read-only" in result.message
    supervisor.perform("reply", remote, text="must not go out")
    supervisor.call(supervisor.flush())
    supervisor.call(supervisor.sync())
    assert supervisor.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert inbox_modseq(mailbox) == before, "no STORE reached dovecot"
    assert owners_on_server(mailbox, mid) == []
