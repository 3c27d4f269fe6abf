"""Nothing hostile from a customer's headers travels in our reply's headers.

A customer controls their Subject, Message-ID, In-Reply-To and References; our reply
copies from them. An escape sequence or control character copied there would reach
every mail client that shows our reply (and the customer's terminal, if they read
mail in one); an invisible character would make the thread look like something else.
Unit cases on ``build_reply``, then one mail through dovecot and SMTP end to end.
"""

from __future__ import annotations

import asyncio
import email
import re
from email import policy

import pytest

from console.actions import perform
from console.actions.gate import Context
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from providers.imap.send import build_reply, safe_msg_id
from tests.support.contract import pull_all
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server  # noqa: F401

ESC = "\x1b"
# What must never appear in a header line of ours: C0/C1 controls (ESC among them),
# DEL, bidi overrides and isolates, zero-width and other invisible format characters.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def headers_of(msg) -> str:
    return "\n".join(f"{k}: {v}" for k, v in msg.items())


def test_hostile_ids_are_dropped_and_the_hostile_subject_is_cleaned():
    msg, _ = build_reply(
        key="k1", from_name="Support", from_addr="s@example.com", to_addr="c@x.org", to_name=f"Casey{ESC}]0;pwned\x07",
        subject=f"Refund {ESC}[31mnow\u202e gnirts", text="Hi",
        parent_id=f"good@x.org{ESC}[2J", parent_refs=["root@x.org", f"evil{ESC}]52;c;aGk=\x07@x.org",
                                                       "zero\u200bwidth@x.org", "plain@x.org"],
        thread_id="t-1")
    text = headers_of(msg)
    assert not FORBIDDEN.search(text), repr(text)
    assert msg["Subject"] == "Re: Refund now gnirts", "the escape sequence goes whole, the bidi override too"
    assert "In-Reply-To" not in msg, "a parent id carrying an escape is no id at all"
    assert msg["References"] is None
    assert "Casey" in msg["To"] and ESC not in msg["To"]


def test_well_formed_ids_are_kept_in_order():
    msg, _ = build_reply(key="k2", from_name="Support", from_addr="s@example.com", to_addr="c@x.org", to_name="",
                         subject="Help", text="Hi", parent_id="p@x.org",
                         parent_refs=["r1@x.org", "bad\u2066@x.org", "<r2@x.org>"], thread_id="t-1")
    assert msg["In-Reply-To"] == "<p@x.org>" and msg["References"] == "<r1@x.org> <r2@x.org> <p@x.org>"


@pytest.mark.parametrize("value", ["a@b", "a.b-c_d+e@host.example", "123$%&@[127.0.0.1]"])
def test_msg_ids_as_rfc_5322_writes_them_pass(value):
    assert safe_msg_id(f"<{value}>") == value


@pytest.mark.parametrize("value", ["", "no-at-sign", "a@b c", f"a@b{ESC}", "a@b\u200b", "ä@b", "a<b@c", "a@b@c",
                                   "a@b\nBcc: x@evil.example"])
def test_anything_else_is_not_a_msg_id(value):
    assert safe_msg_id(value) is None


@pytest.mark.server
async def test_a_reply_to_a_hostile_mail_through_dovecot_carries_none_of_it(dovecot, smtp_server, db):  # noqa: F811
    h = ImapHarness(dovecot, smtp_server)
    raw = (f"From: Casey <{h.customer}>\r\nTo: {h.agent}\r\n"
           f"Subject: Broken {ESC}[5mlamp{ESC}]0;title\x07 \u202eevil\r\n"
           f"Message-ID: <lamp-1@customer.example>\r\n"
           f"In-Reply-To: <x{ESC}[2J@customer.example>\r\n"
           f"References: <root@customer.example> <r{ESC}]52;c;aGk=\x07@customer.example> <z\u200b@customer.example>\r\n"
           f"Content-Type: text/plain; charset=utf-8\r\n\r\nMy lamp (hostile-hdr) broke.\r\n").encode()
    h.dv.deliver(h.customer, [h.agent], raw)
    p = await h.make()
    await p.open(read_only=False)
    try:
        account_id = ensure_account(db, h.name, "imap", "email")
        for batch in (await pull_all(p, None))[0]:
            apply_batch(db, account_id, batch)
        tid = db.execute("SELECT id FROM threads").fetchone()[0]
        assert perform(Context(db=db, agent="Sam"), "reply", tid, text="A new lamp ships today (hdr-answer).").ok
        await Dispatcher(db).flush(h.name, p)
    finally:
        await p.close()

    def reply_as_received() -> bytes:
        client = h.dv.imap(h.customer)
        try:
            client.select_folder("INBOX", readonly=True)
            (uid,) = client.search(["BODY", "hdr-answer"])
            return client.fetch([uid], ["BODY.PEEK[HEADER]"])[uid][b"BODY[HEADER]"]
        finally:
            client.logout()

    head = await asyncio.to_thread(reply_as_received)
    got = email.message_from_bytes(head, policy=policy.default)
    assert not FORBIDDEN.search(head.decode("utf-8", "replace").replace("\r\n", "\n")), head
    assert not FORBIDDEN.search(headers_of(got)), headers_of(got)
    assert got["In-Reply-To"] == "<lamp-1@customer.example>"
    assert got["References"] == "<root@customer.example> <lamp-1@customer.example>"
    assert got["Subject"].startswith("Re: Broken ")
