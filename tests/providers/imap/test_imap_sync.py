"""The email adapter against a real dovecot and SMTP server on 127.0.0.1: sync, IDLE,
CONDSTORE, expunges, UIDVALIDITY resets, threading, replies, team state, errors."""

from __future__ import annotations

import asyncio
import email
import json
import shutil
import socket
import uuid
from datetime import datetime, timedelta, timezone
from email import policy

import pytest

from console.cache.ingest import apply_batch, ensure_account
from providers.base import AuthError, Direction, OptionError, PermanentError, PushAction, Status, TransientError
from tests.support.contract import messages_of, pull_all
from tests.support.servers.common import free_port
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server, start_dovecot  # noqa: F401

pytestmark = pytest.mark.server


@pytest.fixture
def h(dovecot, smtp_server):  # noqa: F811
    return ImapHarness(dovecot, smtp_server)


def mail(subject: str, body: str, *, sender: str = "casey@customer.example", to: str = "support@example.test",
         msgid: str | None = None, date: datetime | None = None, **headers) -> bytes:
    msgid = msgid or f"{uuid.uuid4().hex}@customer.example"
    lines = [f"From: Casey <{sender}>", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{msgid}>",
             f"Date: {email.utils.format_datetime(date or datetime.now(timezone.utc))}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


async def sync_into(db, p, cursor=None, account="mail"):
    """Pull every page into a real cache; return the final cursor and the batches."""
    account_id = ensure_account(db, account, "imap", "email")
    batches = []
    for _ in range(200):
        batch = await asyncio.wait_for(p.pull(cursor), timeout=60)
        apply_batch(db, account_id, batch)
        batches.append(batch)
        cursor = batch.cursor
        if not batch.more:
            return cursor, batches
    raise AssertionError("pull never finished")


def reply(key: str, msg, text: str) -> PushAction:
    return PushAction(key=key, kind="reply", thread_remote_id=msg.thread_remote_id, text=text,
                      subject="Help please", reply_to_remote_id=msg.remote_id, customer=msg.author)


# --------------------------------------------------------------------------- sync


async def test_first_sync_takes_the_window_newest_first_then_only_new_mail(h):
    now = datetime.now(timezone.utc)
    for i in range(25):
        when = now - timedelta(hours=25 - i)
        h.append(mail(f"Question {i}", f"recent message {i}", date=when), when=when)
    for i in range(5):  # older than the 30-day window
        when = now - timedelta(days=60 + i)
        h.append(mail(f"Old {i}", f"ancient message {i}", date=when), when=when)
    p = await h.make(window_days=30)
    p.page_size = 10
    await p.open(read_only=True)
    try:
        first = await p.pull(None)
        assert first.more is True
        texts = [m.text for m in first.messages]
        assert sorted(texts) == sorted(f"recent message {i}" for i in range(15, 25)), "first page = newest ten"
        batches, cursor = await pull_all(p, first.cursor)
        every = [m.text for m in first.messages] + [m.text for m in messages_of(batches)]
        assert sorted(every) == sorted(f"recent message {i}" for i in range(25)), "window only, nothing twice"
        await asyncio.to_thread(h.append, mail("Fresh", "brand new message"))
        again, cursor = await pull_all(p, cursor)
        assert [m.text for m in messages_of(again)] == ["brand new message"]
    finally:
        await p.close()


async def test_a_restarted_console_continues_from_the_stored_cursor(h):
    await h.customer_writes("before the restart")
    p1 = await h.make()
    await p1.open(read_only=True)
    batches, cursor = await pull_all(p1, None)
    await p1.close()
    (first,) = messages_of(batches)

    await h.customer_writes("after the restart", In_Reply_To=f"<{first.remote_id}>")
    p2 = await h.make()  # a new process: only the cursor string survives
    await p2.open(read_only=True)
    try:
        batches, _ = await pull_all(p2, cursor)
        (second,) = messages_of(batches)
        assert second.text == "after the restart"
        assert second.thread_remote_id == first.thread_remote_id
        assert (await pull_all(p2, "not json at all"))[0], "a foreign cursor starts over instead of crashing"
    finally:
        await p2.close()


async def test_idle_wakes_watch_and_survives_cancellation(h):
    p = await h.make()
    await p.open(read_only=False)
    try:
        _, cursor = await pull_all(p, None)
        assert await p.watch(0.5) is False, "no news: watch times out with False"
        waiting = asyncio.create_task(p.watch(30))
        await asyncio.sleep(0.3)
        await h.customer_writes("wake up, please")
        assert await asyncio.wait_for(waiting, timeout=10) is True
        # Mail that came between a pull and the next watch wakes it at once.
        assert await asyncio.wait_for(p.watch(30), timeout=10) is True
        batches, cursor = await pull_all(p, cursor)
        assert any("wake up" in m.text for m in messages_of(batches))
        # A cancelled watch leaves the adapter usable.
        pending = asyncio.create_task(p.watch(30))
        await asyncio.sleep(0.3)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        await h.customer_writes("second wake")
        batches, cursor = await pull_all(p, cursor)
        assert [m.text for m in messages_of(batches)] == ["second wake"]
        waiting = asyncio.create_task(p.watch(30))
        await asyncio.sleep(0.3)
        await h.customer_writes("third wake")
        assert await asyncio.wait_for(waiting, timeout=10) is True
    finally:
        await p.close()


async def test_flag_changes_by_another_client_arrive_via_condstore(h):
    await h.customer_writes("please read me")
    p = await h.make()
    await p.open(read_only=True)
    try:
        batches, cursor = await pull_all(p, None)
        (msg,) = messages_of(batches)
        stated = [t for b in batches for t in b.threads if t.unread is not None]
        assert stated and stated[-1].unread is True

        def other_agent_reads_and_closes():
            c = h.agent_imap()
            c.select_folder("INBOX")
            c.add_flags(c.search("ALL"), [b"\\Seen", b"$Switchboard-Closed"])
            c.logout()

        await asyncio.to_thread(other_agent_reads_and_closes)
        batches, cursor = await pull_all(p, cursor)
        updates = [t for b in batches for t in b.threads if t.remote_id == msg.thread_remote_id]
        assert updates, "the flag change was not noticed"
        assert updates[-1].unread is False and updates[-1].status == Status.CLOSED
        assert not messages_of(batches), "a flag change must not re-send the message"
    finally:
        await p.close()


async def test_expunged_message_is_reported_deleted(h):
    await h.customer_writes("to be deleted")
    await h.customer_writes("to be kept")
    p = await h.make()
    await p.open(read_only=True)
    try:
        batches, cursor = await pull_all(p, None)
        by_text = {m.text: m for m in messages_of(batches)}

        def delete_one():
            c = h.agent_imap()
            c.select_folder("INBOX")
            uid = c.search(["BODY", "to be deleted"])
            c.delete_messages(uid)
            c.expunge()
            c.logout()

        await asyncio.to_thread(delete_one)
        batches, _ = await pull_all(p, cursor)
        deleted = [d for b in batches for d in b.deleted_messages]
        assert deleted == [by_text["to be deleted"].remote_id]
    finally:
        await p.close()


async def test_uidvalidity_reset_loses_nothing_and_duplicates_nothing(h, db):
    for i in range(5):
        h.append(mail(f"Case {i}", f"case body {i}"), folder="Support")
    p = await h.make(folders=["Support"])
    await p.open(read_only=True)
    try:
        cursor, _ = await sync_into(db, p)
        before = json.loads(cursor)["folders"]["Support"]["uv"]

        def recreate_folder():
            c = h.agent_imap()
            c.rename_folder("Support", "Support-old")
            c.create_folder("Support")
            c.select_folder("Support-old")
            c.copy(c.search("ALL"), "Support")
            c.logout()

        await asyncio.to_thread(recreate_folder)
        await asyncio.to_thread(h.append, mail("Case new", "case body new"), "Support")
        cursor, _ = await sync_into(db, p, cursor)
        assert json.loads(cursor)["folders"]["Support"]["uv"] != before, "the test did not change UIDVALIDITY"
        texts = sorted(r[0] for r in db.execute("SELECT text FROM messages"))
        assert texts == sorted([f"case body {i}" for i in range(5)] + ["case body new"])
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] == 6
    finally:
        await p.close()


# --------------------------------------------------------------------------- threading and replies


async def test_reply_round_trip_threads_everything_into_one_conversation(h, db):
    p = await h.make()
    await p.open(read_only=False)
    try:
        first = await h.customer_writes("My lamp is broken", subject="Help please")
        cursor, batches = await sync_into(db, p)
        (msg,) = messages_of(batches)
        key = uuid.uuid4().hex
        receipt = await p.push(reply(key, msg, "Sorry! A new lamp is on its way."))
        assert receipt.remote_id and not receipt.duplicate
        assert receipt.follow_up is not None and receipt.follow_up.kind == "save_copy"
        await p.push(receipt.follow_up)  # the core's next step: the copy in Sent

        # The customer got exactly one well-formed reply.
        def customer_inbox():
            c = h.dv.imap(h.customer)
            c.select_folder("INBOX", readonly=True)
            data = c.fetch(c.search("ALL"), ["BODY.PEEK[]"])
            c.logout()
            return [email.message_from_bytes(d[b"BODY[]"], policy=policy.default) for d in data.values()]

        (got,) = await asyncio.to_thread(customer_inbox)
        assert got["In-Reply-To"] == first["Message-ID"]
        assert first["Message-ID"] in got["References"]
        assert got["Subject"] == "Re: Help please"
        assert f"sb-{key}@" in got["Message-ID"]

        # Our reply comes back from Sent, outbound, in the same conversation, confirming the key.
        cursor, batches = await sync_into(db, p, cursor)
        (ours,) = messages_of(batches)
        assert ours.direction == Direction.OUTBOUND and ours.action_key == key
        assert ours.thread_remote_id == msg.thread_remote_id

        # The customer answers our reply: same conversation.
        answer = h.customer_mail("Thanks, but which colour?", subject="Re: Help please",
                                  In_Reply_To=got["Message-ID"], References=f"{first['Message-ID']} {got['Message-ID']}")
        await asyncio.to_thread(h.send_as_customer, answer)
        # And writes once more from a client that drops the threading headers: subject + sender match.
        await h.customer_writes("Also, the bulb?", subject="RE: Help please")
        cursor, batches = await sync_into(db, p, cursor)
        assert {m.thread_remote_id for m in messages_of(batches)} == {msg.thread_remote_id}
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] == 1
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 4
    finally:
        await p.close()


async def test_web_form_mail_is_answered_at_its_reply_to_address(h):
    h.append(mail("Contact form", "Question from the form", sender="noreply@shop.example",
                  Reply_To=f"Casey Customer <{h.customer}>"))
    p = await h.make()
    await p.open(read_only=False)
    try:
        batches, _ = await pull_all(p, None)
        (thread,) = [t for b in batches for t in b.threads][:1]
        assert thread.customer.address == h.customer
        (msg,) = messages_of(batches)
        await p.push(PushAction(key=uuid.uuid4().hex, kind="reply", thread_remote_id=msg.thread_remote_id,
                                text="Answer to the form (form-reply)", reply_to_remote_id=msg.remote_id,
                                customer=thread.customer))
        assert await h.delivered("form-reply") == 1
    finally:
        await p.close()


async def test_exactly_once_after_a_crash_between_the_sent_copy_and_confirmation(h):
    await h.customer_writes("Where is parcel 42?")
    p1 = await h.make()
    await p1.open(read_only=False)
    batches, _ = await pull_all(p1, None)
    (msg,) = messages_of(batches)
    key = uuid.uuid4().hex
    action = reply(key, msg, "Parcel 42 left today (crash-test)")
    assert await p1.find_delivery(action) is None, "nothing in Sent before the send"
    receipt = await p1.push(action)
    await p1.push(receipt.follow_up)
    await p1.close()  # the console dies before recording the receipt

    p2 = await h.make()  # restarted console, same outbox row, same key
    await p2.open(read_only=False)
    try:
        found = await p2.find_delivery(action)
        assert found is not None and found.duplicate and found.remote_id == receipt.remote_id
        again = await p2.push(action)
        assert again.duplicate is True
        assert await h.delivered("crash-test") == 1
    finally:
        await p2.close()


async def test_team_state_made_by_one_agent_reaches_another_agents_cache(h, db):
    await h.customer_writes("Refund for order 77?")
    a = await h.make()
    await a.open(read_only=False)
    try:
        batches, _ = await pull_all(a, None)
        (msg,) = messages_of(batches)
        base = dict(thread_remote_id=msg.thread_remote_id, reply_to_remote_id=msg.remote_id, customer=msg.author)
        await a.push(PushAction(key="k1", kind="assign", args={"to": "Jo Smith"}, **base))
        await a.push(PushAction(key="k2", kind="tag", args={"add": ["refund", "vip"], "remove": []}, **base))
        await a.push(PushAction(key="k3", kind="mark_read", **base))
        await a.push(PushAction(key="k4", kind="close", **base))
    finally:
        await a.close()

    b = await h.make()  # another agent's console, first sync into an empty cache
    await b.open(read_only=True)
    try:
        cursor, _ = await sync_into(db, b)
        row = db.execute("SELECT status, assignee, tags, unread FROM threads").fetchone()
        assert row["status"] == "closed"
        assert row["assignee"] == "Jo Smith"  # written in IMAP atom characters ($Assigned-Jo+20Smith), read back as is
        assert json.loads(row["tags"]) == ["refund", "vip"]
        assert row["unread"] == 0
        # The customer writes again: the conversation is open again for everyone.
        await h.customer_writes("Hello? Still waiting for the refund",
                                In_Reply_To=f"<{msg.remote_id}>", References=f"<{msg.remote_id}>")
        cursor, _ = await sync_into(db, b, cursor)
        row = db.execute("SELECT status, unread FROM threads").fetchone()
        assert row["status"] == "open" and row["unread"] == 1
    finally:
        await b.close()


async def test_attachments_are_listed_and_fetched_only_on_demand(h):
    raw = (__import__("pathlib").Path(__file__).resolve().parents[2] / "support" / "mime_corpus" / "mixed_attachment.eml").read_bytes()
    h.append(raw)
    p = await h.make()
    await p.open(read_only=True)
    try:
        batches, _ = await pull_all(p, None)
        (msg,) = messages_of(batches)
        names = {a.name: a for a in msg.attachments}
        assert set(names) == {"receipt.pdf", "Foto kaputt ü.png"}
        pdf = await p.fetch_attachment(msg.remote_id, names["receipt.pdf"].ref)
        assert pdf.startswith(b"%PDF-1.4") and len(pdf) == names["receipt.pdf"].size
    finally:
        await p.close()


# --------------------------------------------------------------------------- read-only and errors


async def test_read_only_sets_no_flag_and_refuses_every_change(h):
    await h.customer_writes("read-only must not mark me read")
    before = await h.remote_state()
    p = await h.make()
    await p.open(read_only=True)
    try:
        batches, _ = await pull_all(p, None)
        (msg,) = messages_of(batches)
        for kind in ("close", "mark_read", "reply", "tag"):
            with pytest.raises(PermanentError):
                await p.push(PushAction(key=uuid.uuid4().hex, kind=kind, thread_remote_id=msg.thread_remote_id,
                                        text="no", reply_to_remote_id=msg.remote_id, customer=msg.author,
                                        args={"add": ["x"]}))
    finally:
        await p.close()
    after = await h.remote_state()
    assert after == before
    assert all(b"\\Seen" not in flags for flags in after.values())


async def test_wrong_password_is_an_auth_error_naming_the_fix(h):
    p = await h.make()
    p.account.secret = lambda: "not-the-password"
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    assert "switchboard accounts add" in str(err.value) and "\n" not in str(err.value)
    await p.close()


async def test_unreachable_server_and_missing_folder_are_clear_errors(h):
    p = await h.make(port=free_port())
    with pytest.raises(TransientError) as err:
        await p.open(read_only=True)
    assert "refused" in str(err.value)
    p = await h.make(folders=["INBOX", "Nope"])
    with pytest.raises(OptionError) as err:
        await p.open(read_only=True)
    assert "'Nope'" in str(err.value) and "INBOX" in str(err.value)


async def test_tls_mismatch_and_silent_server_are_transient_errors(h):
    p = await h.make(security="tls")  # dovecot's port here speaks plain IMAP
    with pytest.raises(TransientError) as err:
        await p.open(read_only=True)
    assert "TLS" in str(err.value) and "security" in str(err.value)

    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        p = await h.make(port=silent.getsockname()[1], timeout=1.0)
        with pytest.raises(TransientError) as err:
            await asyncio.wait_for(p.open(read_only=True), timeout=20)
    assert "did not answer within 1 s" in str(err.value)


async def test_failing_oauth_token_command_is_an_auth_error(h):
    p = await h.make(oauth_token_command="echo 'refresh token revoked' >&2; exit 3")
    with pytest.raises(AuthError) as err:
        await p.open(read_only=True)
    assert "refresh token revoked" in str(err.value) and "\n" not in str(err.value)


async def test_check_logs_in_to_imap_and_smtp(h):
    p = await h.make()
    line = await p.check()
    assert line.startswith("IMAP ok (") and line.endswith("SMTP ok")


async def test_server_killed_mid_sync_then_back_recovers_without_loss(h):
    dv = start_dovecot()  # its own server, in /tmp (pytest keeps tmp_path's parent at 0700: dovecot can't enter)
    try:
        own = ImapHarness(dv, h.smtp)
        for i in range(30):
            own.append(mail(f"Bulk {i}", f"bulk body {i}"))
        p = await own.make()
        p.page_size = 10
        await p.open(read_only=True)
        first = await p.pull(None)
        assert first.more
        dv.stop()
        with pytest.raises(TransientError) as err:
            await p.pull(first.cursor)
        assert "\n" not in str(err.value)
        with pytest.raises(TransientError):
            await p.watch(5)  # IDLE cannot connect either
        dv.start()
        batches, _ = await pull_all(p, first.cursor)
        texts = [m.text for m in first.messages] + [m.text for m in messages_of(batches)]
        assert sorted(texts) == sorted(f"bulk body {i}" for i in range(30))
        # IDLE reconnects too.
        waiting = asyncio.create_task(p.watch(30))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(own.append, mail("After restart", "after restart body"))
        assert await asyncio.wait_for(waiting, timeout=10) is True
        await p.close()
    finally:
        dv.stop()
        shutil.rmtree(dv.dir, ignore_errors=True)


async def test_flags_are_read_as_imapclient_reads_them_and_a_uid_not_there_is_missing(h):
    from providers.imap.fetch import fetch_flags

    for n in range(3):
        h.append(mail(f"Order {n}", "where is it"), flags=[b"\\Seen", b"$Switchboard-Tag-vip"][:n])

    def read() -> tuple[dict, dict]:
        c = h.agent_imap()
        try:
            c.select_folder("INBOX", readonly=True)
            uids = sorted(c.search("ALL"))
            return fetch_flags(c, [*uids, max(uids) + 50]), {u: d[b"FLAGS"] for u, d in c.fetch(uids, ["FLAGS"]).items()}
        finally:
            c.logout()

    ours, imapclient = await asyncio.to_thread(read)
    assert ours == imapclient and len(ours) == 3
    assert sum(b"\\Seen" in f for f in ours.values()) == 2 and sum(b"$Switchboard-Tag-vip" in f for f in ours.values()) == 1
