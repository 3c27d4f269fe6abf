"""Incremental sync stays cheap, against a real dovecot: expunges read from QRESYNC VANISHED,
IDLE on every folder read (not only the first) wakes the engine, and a pull of a 10,000-message
mailbox with one new message does work for that one message only (counted on the wire)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from console.config import AccountSettings, Config
from console.engine import Engine
from tests.providers.imap.test_imap_sync import mail, sync_into
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server  # noqa: F401

pytestmark = pytest.mark.server


@pytest.fixture
def h(dovecot, smtp_server):  # noqa: F811
    return ImapHarness(dovecot, smtp_server)


class Wire:
    """What the adapter's sync connection sends and receives: commands, and bytes read."""

    def __init__(self, provider) -> None:
        imap = provider._client._imap
        self.commands: list[str] = []
        self.bytes_in = 0
        command, read, readline = imap._command, imap.read, imap.readline

        def counted_command(name, *args):
            self.commands.append(" ".join([name, *(a.decode() if isinstance(a, bytes) else str(a) for a in args)]))
            return command(name, *args)

        def counted_read(size):
            data = read(size)
            self.bytes_in += len(data)
            return data

        def counted_readline():
            data = readline()
            self.bytes_in += len(data)
            return data

        imap._command, imap.read, imap.readline = counted_command, counted_read, counted_readline

    def fetches(self) -> list[str]:
        return [c for c in self.commands if c.upper().startswith("UID FETCH")]


async def test_an_expunge_is_read_from_qresync_vanished_without_listing_every_uid(h, db):
    ids = [f"exp-{i}-{time.time_ns()}@customer.example" for i in range(5)]
    for i, mid in enumerate(ids):
        h.append(mail(f"Question {i}", f"message {i}", msgid=mid))
    p = await h.make()
    await p.open(read_only=True)
    try:
        cursor, _ = await sync_into(db, p)
        client = h.agent_imap()
        try:
            client.select_folder("INBOX")
            doomed = client.search(["HEADER", "Message-ID", ids[2]])
            client.delete_messages(doomed)
            client.expunge()
        finally:
            client.logout()
        wire = Wire(p)
        _, batches = await sync_into(db, p, cursor)
        assert [m for b in batches for m in b.deleted_messages] == [ids[2]]
        assert any("VANISHED" in c and "CHANGEDSINCE" in c for c in wire.commands), wire.commands
        assert not any(c.upper().startswith("UID SEARCH") for c in wire.commands), "no listing of every UID"
    finally:
        await p.close()
    removed = db.execute("SELECT meta FROM messages WHERE remote_id=?", (ids[2],)).fetchone()[0]
    assert '"removed": true' in removed


async def test_idle_on_the_second_folder_read_wakes_the_engine(h, db):
    client = h.agent_imap()
    try:
        client.create_folder("Orders")
    finally:
        client.logout()
    h.append(mail("Hello", "first message"))
    p = await h.make(folders=["INBOX", "Orders"])
    name = p.name
    cfg = Config(accounts=[AccountSettings(name, "imap", {}, poll_interval=3600.0)])  # only IDLE can wake it
    engine = Engine(db, cfg, providers={name: p})
    await engine.start()
    try:
        async def texts() -> set[str]:
            return {r[0] for r in db.execute("SELECT text FROM messages")}

        deadline = time.monotonic() + 20
        while "first message" not in await texts() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert "first message" in await texts()
        await asyncio.sleep(1.5)  # the engine is idling now
        h.append(mail("Order 4711", "a new order in the second folder"), folder="Orders")
        deadline = time.monotonic() + 15
        while "a new order in the second folder" not in await texts() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert "a new order in the second folder" in await texts(), "IDLE on Orders woke the engine"
    finally:
        await engine.stop()


async def test_one_new_message_in_a_10000_message_mailbox_costs_one_fetch_of_one_body(h, db):
    now = datetime.now(timezone.utc)
    h.dv.write_maildir(h.agent, (
        ("INBOX", mail(f"Order {i}", f"Where is order {i}?", msgid=f"big-{i}@customer.example",
                       sender=f"c{i % 900}@customer.example", date=now - timedelta(minutes=i)),
         now - timedelta(minutes=i), False)
        for i in range(10_000)))
    p = await h.make()
    await p.open(read_only=True)
    try:
        cursor, batches = await sync_into(db, p)
        assert sum(len(b.messages) for b in batches) == 10_000
        # The UID and thread maps (~2 MB here) live in the adapter's store: the cursor holds where the
        # sync stands, and at most one page's conversations to report again.
        assert len(cursor) < 2_000 and max(len(b.cursor) for b in batches) < 100_000
        h.append(mail("Late question", "Is my parcel on its way?", msgid="late@customer.example"))
        wire = Wire(p)
        _, batches = await sync_into(db, p, cursor)
    finally:
        await p.close()
    assert [m.text for b in batches for m in b.messages] == ["Is my parcel on its way?"]
    bodies = [c for c in wire.fetches() if "BODY.PEEK[]" in c]
    assert len(bodies) == 1 and bodies[0].split()[2] == str(max_uid_of(h)), bodies
    assert len(wire.fetches()) <= 3, wire.fetches()
    # A listing of 10,000 UIDs alone is ~60 KB; one message and a few status lines are far less.
    assert wire.bytes_in < 8_000, wire.bytes_in

    # The next `switchboard sync --once`: a new process, the same state folder and cursor. Its start
    # reads no map whole (the maps of 10,000 messages are ~2 MB): the whole process reads, from
    # disk and socket together, a few pages of the adapter's store and one message.
    cursor = batches[-1].cursor
    h.append(mail("Another question", "Can I change the address?", msgid="later@customer.example"))
    again = await h.make()
    read_before = bytes_read_by_this_process()
    await again.open(read_only=True)
    try:
        batches = await pull_until_done(again, cursor)
        read = bytes_read_by_this_process() - read_before
        assert [m.text for b in batches for m in b.messages] == ["Can I change the address?"]
        assert [m for b in batches for m in b.deleted_messages] == []
        assert read < 300_000, f"a restart read {read:,} bytes"
    finally:
        await again.close()


def bytes_read_by_this_process() -> int:
    """Bytes this process has read (files and sockets), from /proc/self/io."""
    for line in open("/proc/self/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


async def pull_until_done(p, cursor):
    batches = []
    while True:
        batch = await asyncio.wait_for(p.pull(cursor), timeout=60)
        batches.append(batch)
        cursor = batch.cursor
        if not batch.more:
            return batches


def max_uid_of(h) -> int:
    client = h.agent_imap()
    try:
        client.select_folder("INBOX", readonly=True)
        return max(client.search("ALL"))
    finally:
        client.logout()


async def test_a_late_read_ahead_never_blocks_the_next_pull(h):
    for i in range(60):
        h.append(mail(f"Question {i}", f"message {i}"))
    p = await h.make()
    p.page_size, p.later_pages = 10, 1
    submit = p._reader.submit

    def late(fn):  # the read-ahead starts after the next pull has taken the connection
        def delayed():
            time.sleep(0.3)
            return fn()
        return submit(delayed)

    p._reader.submit = late
    await p.open(read_only=True)
    try:
        texts, cursor = [], None
        while True:
            batch = await asyncio.wait_for(p.pull(cursor), timeout=30)
            texts += [m.text for m in batch.messages]
            cursor = batch.cursor
            if not batch.more:
                break
    finally:
        await asyncio.wait_for(p.close(), timeout=30)
    assert sorted(texts) == sorted(f"message {i}" for i in range(60))


async def test_sync_once_after_new_mail_reads_each_folder_once_and_reports_the_team_state(h, db):
    h.append(mail("Parcel 12", "Where is parcel 12?", msgid="p12@customer.example"))
    h.append(mail("Re: Parcel 12", "It left the warehouse today.", sender="support@example.test",
                  to="casey@customer.example", msgid="r12@example.test", In_Reply_To="<p12@customer.example>",
                  References="<p12@customer.example>"), folder="Sent")
    p = await h.make()
    name = p.name
    engine = Engine(db, Config(accounts=[AccountSettings(name, "imap", {})]), providers={name: p})
    await engine.run_once()
    assert db.execute("SELECT assignee FROM threads").fetchone()[0] is None
    selected: list[str] = []
    select = p._select

    def counted(folder, writable=False):
        selected.append(folder)
        return select(folder, writable)

    p._select = counted
    # The customer writes again, and a colleague's console takes the conversation on that message.
    h.append(mail("Re: Parcel 12", "Any news?", msgid="p12b@customer.example", In_Reply_To="<r12@example.test>",
                  References="<p12@customer.example> <r12@example.test>"), flags=["$Assigned-Ana"])
    states = await engine.run_once()  # what `switchboard sync --once` runs
    assert states[name].state == "online", states[name].error
    assert sorted(selected) == ["INBOX", "Sent"], "each folder selected once: dovecot rescans a Maildir per SELECT"
    rows = db.execute("SELECT t.assignee, t.status, COUNT(m.id) FROM threads t JOIN messages m ON m.thread_id=t.id"
                      " GROUP BY t.id").fetchall()
    assert [tuple(r) for r in rows] == [("Ana", "open", 3)]
