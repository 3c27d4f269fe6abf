"""Reading never waits on sending's folder: a real dovecot whose mailboxes have no Sent
folder (Debian's default), read, replied to, and refused."""

from __future__ import annotations

import shutil
import uuid

import pytest

from providers.base import PushAction
from tests.providers.imap.test_imap_sync import mail
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server, start_dovecot  # noqa: F401

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def bare_dovecot():
    """A dovecot whose new mailboxes hold only INBOX."""
    dv = start_dovecot(with_sent=False)
    try:
        yield dv
    finally:
        dv.stop()
        shutil.rmtree(dv.dir, ignore_errors=True)


@pytest.fixture
def h(bare_dovecot, smtp_server):  # noqa: F811
    return ImapHarness(bare_dovecot, smtp_server)


@pytest.fixture
def customer_side(h, dovecot, smtp_server):  # noqa: F811
    """The customer's mailbox: the test SMTP server delivers into the session's dovecot."""
    side = ImapHarness(dovecot, smtp_server)
    side.customer = h.customer
    return side


def folders_of(h) -> set[str]:
    client = h.agent_imap()
    try:
        return {f[2] for f in client.list_folders()}
    finally:
        client.logout()


def reply_to(msg, key: str, text: str) -> PushAction:
    return PushAction(key=key, kind="reply", thread_remote_id=msg.thread_remote_id, text=text, subject="Help please",
                      reply_to_remote_id=msg.remote_id, customer=msg.author)


async def test_a_mailbox_without_sent_is_read_and_the_first_reply_creates_sent_with_its_copy(h, customer_side):
    h.append(mail("Where is my parcel", "It has not arrived", sender=h.customer))
    assert folders_of(h) == {"INBOX"}
    p = await h.make()
    await p.open(read_only=False)
    try:
        batch = await p.pull(None)
        assert [m.text for m in batch.messages] == ["It has not arrived"], "the inbox is read without a Sent folder"
        assert "no 'Sent' folder" in p.notice and "created with the first reply" in p.notice
        receipt = await p.push(reply_to(batch.messages[0], f"k{uuid.uuid4().hex[:8]}", "It is on its way."))
        assert receipt.follow_up is not None and receipt.follow_up.kind == "save_copy"
        copy = await p.push(receipt.follow_up)  # the core pushes the copy as a step of its own
        assert copy.detail == "copy saved in Sent"
        assert p.notice == ""
    finally:
        await p.close()
    assert "Sent" in folders_of(h)
    client = h.agent_imap()
    try:
        client.select_folder("Sent", readonly=True)
        assert len(client.search(["BODY", "It is on its way."])) == 1, "the reply's copy is in the new Sent"
    finally:
        client.logout()
    assert await customer_side.delivered("It is on its way.") == 1
    # The next start finds the folder it made and reads our reply back from it.
    p = await h.make()
    await p.open(read_only=True)
    try:
        batches = [await p.pull(None)]
        while batches[-1].more:
            batches.append(await p.pull(batches[-1].cursor))
        assert any(m.text == "It is on its way." for b in batches for m in b.messages)
        assert p.notice == ""
    finally:
        await p.close()


async def test_when_the_server_refuses_to_create_sent_the_reply_goes_out_without_a_copy_and_the_account_says_so(h, customer_side):
    h.append(mail("Refund please", "I want my money back", sender=h.customer))
    refused = "Sent-" + "x" * 300  # longer than dovecot allows a mailbox name
    p = await h.make(sent_folder=refused)
    await p.open(read_only=False)
    try:
        batch = await p.pull(None)
        assert [m.text for m in batch.messages] == ["I want my money back"]
        receipt = await p.push(reply_to(batch.messages[0], f"k{uuid.uuid4().hex[:8]}", "Refund is on its way."))
        copy = await p.push(receipt.follow_up)
        assert "sent without a copy" in copy.detail, "refused, not retried for ever"
        assert "sent without a copy" in p.notice and "refused to create" in p.notice
        assert "\n" not in p.notice
    finally:
        await p.close()
    assert await customer_side.delivered("Refund is on its way.") == 1, "the reply went out all the same"
    assert folders_of(h) == {"INBOX"}


async def test_a_read_only_console_reads_a_mailbox_without_sent_and_creates_nothing(h):
    h.append(mail("Hello", "Just a question", sender=h.customer))
    p = await h.make()
    await p.open(read_only=True)
    try:
        batch = await p.pull(None)
        assert [m.text for m in batch.messages] == ["Just a question"]
        assert p.notice == "no 'Sent' folder on 127.0.0.1"
    finally:
        await p.close()
    assert folders_of(h) == {"INBOX"}
