"""End-to-end encrypted chats against a real Synapse: what an agent and a customer would notice.

The customer is a Matrix client with encryption on and its own device, written with
the same library as the adapter (matrix-nio; tests/support/servers/synapse.py
``EncryptedCustomer``). It opens a direct chat with the support account, as Element
does, and reads our replies only by decrypting them with its own keys.
"""

from __future__ import annotations

import json
import shutil
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from console.actions import Context, perform
from console.cache.ingest import apply_batch, ensure_account
from console.outbox import Dispatcher
from console.secrets import KeyringKept
from providers.base import AuthError, PermanentError, PushAction
from providers.matrix import MatrixProvider
from providers.matrix.crypto import PASSPHRASE_NAME
from providers.matrix.events import UNDECRYPTABLE
from tests.support.contract import pull_all
from tests.support.servers.synapse import EncryptedCustomer, matrix_account, synapse  # noqa: F401

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def chat(synapse, tmp_path):  # noqa: F811
    """The support account's adapter (writable) and an encrypting customer with an open DM."""
    agent = await synapse.register()
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    await p.open(read_only=False)  # our device and its keys exist before the customer writes
    customer = await EncryptedCustomer.start(synapse, tmp_path / "customer")
    try:
        yield agent, p, customer
    finally:
        await p.close()
        await customer.close()


async def sync_into(db, p: MatrixProvider, cursor):
    account_id = ensure_account(db, "support", "matrix", "chat")
    batches, cursor = await pull_all(p, cursor)
    for b in batches:
        apply_batch(db, account_id, b)
    return batches, cursor


async def dm_joined(p, customer, agent, db=None):
    """The customer opens the DM, the adapter accepts it, the customer sees us join."""
    room = await customer.open_dm(agent.user_id)
    _, cursor = await (sync_into(db, p, None) if db is not None else pull_all(p, None))
    await customer.wait_joined(room, agent.user_id)
    return room, cursor


def cached(db, remote_id: str):
    return db.execute("SELECT text, meta FROM messages WHERE remote_id=?", (remote_id,)).fetchone()


def reply(room: str, text: str, key: str | None = None) -> PushAction:
    return PushAction(key=key or uuid.uuid4().hex, kind="reply", thread_remote_id=room, text=text)


async def test_customer_message_arrives_decrypted_and_the_reply_is_decrypted_by_the_customer_once(chat, db):
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    event = await customer.send(room, "My parcel 7781 never arrived (e2ee-in)")
    _, cursor = await sync_into(db, p, cursor)

    row = cached(db, event)
    assert row is not None, "the encrypted message did not reach the cache"
    assert row["text"] == "My parcel 7781 never arrived (e2ee-in)"
    assert json.loads(row["meta"]).get("encrypted") and not json.loads(row["meta"]).get("undecryptable")
    thread = db.execute("SELECT meta FROM threads WHERE remote_id=?", (room,)).fetchone()
    assert json.loads(thread["meta"]).get("encrypted")

    action = reply(room, "Sorry! A new parcel ships today (e2ee-out).")
    receipt = await p.push(action)
    await p.push(action)  # a retried push of the same outbox row
    got = await customer.received(room, agent.user_id, "(e2ee-out)")
    assert [text for _, text in got] == ["Sorry! A new parcel ships today (e2ee-out)."]
    assert got[0][0] == receipt.remote_id

    raw = await customer.user.call("GET", f"/_matrix/client/v3/rooms/{customer.user.q(room)}/event/"
                                   f"{customer.user.q(receipt.remote_id)}")
    assert raw["type"] == "m.room.encrypted" and "e2ee-out" not in json.dumps(raw), "the reply went out in clear"
    await sync_into(db, p, cursor)  # the next pull confirms our own reply: shown once, decrypted
    outbound = db.execute("SELECT text FROM messages WHERE remote_id=?", (receipt.remote_id,)).fetchall()
    assert [r["text"] for r in outbound] == ["Sorry! A new parcel ships today (e2ee-out)."]


async def test_an_edit_and_a_redaction_in_an_encrypted_room_show_like_plain_ones(chat, db):
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    first = await customer.send(room, "Order 12 is brokn (e2ee-edit)")
    _, cursor = await sync_into(db, p, cursor)
    await customer.edit(room, first, "Order 12 is broken (e2ee-edit)")
    _, cursor = await sync_into(db, p, cursor)
    row = cached(db, first)
    assert row["text"] == "Order 12 is broken (e2ee-edit)" and json.loads(row["meta"]).get("edited")
    assert db.execute("SELECT COUNT(*) FROM messages WHERE text LIKE '%e2ee-edit%'").fetchone()[0] == 1

    second = await customer.send(room, "my card number is 4242 (e2ee-redact)")
    _, cursor = await sync_into(db, p, cursor)
    assert "4242" in cached(db, second)["text"]
    await customer.redact(room, second)
    await sync_into(db, p, cursor)
    row = cached(db, second)
    assert "4242" not in row["text"] and json.loads(row["meta"]).get("removed")


async def test_a_restart_keeps_the_keys_and_the_next_message_decrypts_without_a_new_key_exchange(
        synapse, chat, db, tmp_path):  # noqa: F811
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    before = await customer.send(room, "first words (e2ee-restart)")
    _, cursor = await sync_into(db, p, cursor)
    device, identity = p.client.device_id, p._crypto.identity_key
    await p.close()

    after = await customer.send(room, "after your restart (e2ee-restart)")
    assert await customer.session_of(room, after) == await customer.session_of(room, before), \
        "the customer rotated its room key: this would not prove our keys survived"
    again = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    await again.open(read_only=False)
    try:
        assert again.client.device_id == device and again._crypto.identity_key == identity
        await sync_into(db, again, cursor)
    finally:
        await again.close()
    assert cached(db, after)["text"] == "after your restart (e2ee-restart)"
    store = tmp_path / "state" / "e2ee"
    assert store.stat().st_mode & 0o777 == 0o700
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in store.iterdir() if f.is_file())
    passphrase = KeyringKept("support").get(PASSPHRASE_NAME)
    assert passphrase
    for f in (tmp_path / "state").rglob("*"):
        if f.is_file():
            assert passphrase.encode() not in f.read_bytes(), f"{f.name} holds the key store's passphrase"


async def test_a_message_sent_before_the_support_device_existed_says_it_cannot_be_decrypted(
        synapse, db, tmp_path):  # noqa: F811
    agent = await synapse.register()  # the account exists, Switchboard's device does not yet
    customer = await EncryptedCustomer.start(synapse, tmp_path / "customer")
    try:
        room = await customer.open_dm(agent.user_id)
        early = await customer.send(room, "anyone there? (e2ee-early)")
        p = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
        await p.open(read_only=False)
        try:
            _, cursor = await sync_into(db, p, None)
            row = cached(db, early)
            assert row is not None, "the undecryptable message was dropped"
            assert row["text"] == UNDECRYPTABLE and json.loads(row["meta"]).get("undecryptable")
            await customer.wait_joined(room, agent.user_id)
            later = await customer.send(room, "hello again (e2ee-early)")
            await sync_into(db, p, cursor)
            assert cached(db, later)["text"] == "hello again (e2ee-early)"
            assert cached(db, early)["text"] == UNDECRYPTABLE
        finally:
            await p.close()
    finally:
        await customer.close()


async def test_a_message_whose_key_comes_late_is_decrypted_when_the_key_arrives(chat, db):
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    await customer.send(room, "hello (e2ee-late)")  # sets up the Olm session to our device
    _, cursor = await sync_into(db, p, cursor)
    late, key = await customer.send_before_its_key(room, "my address is 5 Elm St (e2ee-late)")
    _, cursor = await sync_into(db, p, cursor)
    row = cached(db, late)
    assert row["text"] == UNDECRYPTABLE and json.loads(row["meta"]).get("undecryptable")

    gone, gone_key = await customer.send_before_its_key(room, "wrong chat, sorry (e2ee-late)")
    _, cursor = await sync_into(db, p, cursor)
    await customer.redact(room, gone)
    _, cursor = await sync_into(db, p, cursor)

    await customer.deliver_key(agent.user_id, p.client.device_id, key)
    await customer.deliver_key(agent.user_id, p.client.device_id, gone_key)
    await sync_into(db, p, cursor)
    row = cached(db, late)
    assert row["text"] == "my address is 5 Elm St (e2ee-late)", "the message was not retried when its key came"
    assert not json.loads(row["meta"]).get("undecryptable")
    row = cached(db, gone)
    assert "wrong chat" not in row["text"] and json.loads(row["meta"]).get("removed"), "a redacted message came back"


async def test_key_requests_are_answered_for_our_own_verified_devices_only(synapse, chat, tmp_path):  # noqa: F811
    from nio import MegolmEvent

    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent)
    secret = await customer.send(room, "my pin is 1234 (e2ee-keyreq)")
    _, cursor = await pull_all(p, cursor)
    ours = (await p.push(reply(room, "noted, thanks (e2ee-keyreq)"))).remote_id
    # The agent signs in on a laptop; the customer on a tablet. Neither got the keys of earlier messages.
    laptop = await EncryptedCustomer.login_as(synapse, agent, tmp_path / "laptop", "agent laptop")
    tablet = await EncryptedCustomer.login_as(synapse, customer.user, tmp_path / "tablet", "customer tablet")
    try:
        _, cursor = await pull_all(p, cursor)  # learns of the laptop
        await laptop.verify(agent.user_id, p.client.device_id)  # the laptop trusts Switchboard's device
        await p.close()
        fingerprint = laptop.nio.olm.account.identity_keys["ed25519"]
        p2 = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state",
                                           verified_devices=[f"{agent.user_id} {laptop.device_id} {fingerprint}"]))
        await p2.open(read_only=False)
        try:
            assert isinstance(await laptop.event(room, secret), MegolmEvent)
            assert isinstance(await tablet.event(room, ours), MegolmEvent)
            await laptop.ask_for_key(await laptop.event(room, secret), agent.user_id)
            await tablet.ask_for_key(await tablet.event(room, ours), agent.user_id)
            for _ in range(3):  # the request, the Olm session it needs, the answer
                _, cursor = await pull_all(p2, cursor)
        finally:
            await p2.close()
        opened = await laptop.event(room, secret)
        assert not isinstance(opened, MegolmEvent), "our own verified device did not get the key it asked for"
        assert opened.body == "my pin is 1234 (e2ee-keyreq)"
        assert isinstance(await tablet.event(room, ours), MegolmEvent), "we gave a room key to another user's device"
    finally:
        await laptop.close()
        await tablet.close()


async def test_a_supervisor_reads_with_its_own_keys_and_sends_nothing(synapse, chat, db, tmp_path):  # noqa: F811
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    before = await customer.send(room, "sent before the supervisor's device (e2ee-ro)")
    await p.close()
    # Read-only on another machine: its own device, whose keys only it publishes.
    supervisor = MatrixProvider(matrix_account(synapse, agent, tmp_path / "supervisor", name="supervisor"))
    await supervisor.open(read_only=True)
    try:
        after = await customer.send(room, "are you there? (e2ee-ro)")
        batches, _ = await pull_all(supervisor, None)
        seen = {m.remote_id: m for b in batches for m in b.messages}
        assert seen[after].text == "are you there? (e2ee-ro)", "read-only could not read with its own keys"
        assert seen[before].meta.get("undecryptable"), "read-only read a message no key was shared for"
        with pytest.raises(PermanentError, match="read-only"):
            await supervisor.push(reply(room, "must not go out (e2ee-ro)"))
    finally:
        await supervisor.close()
    assert await customer.received(room, agent.user_id, "(e2ee-ro)") == []
    assert "RoomKeyRequest" not in customer.to_device, "read-only asked for keys"
    receipts = (await customer.user.receipts()).get(room, {})
    assert not any(agent.user_id in who for who in receipts.get(after, {})), "read-only sent a read receipt"


async def test_refusing_unverified_devices_holds_the_reply_until_the_device_is_verified(synapse, chat, db,
                                                                                       tmp_path):  # noqa: F811
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    await customer.send(room, "hi (e2ee-trust)")
    batches, cursor = await pull_all(p, cursor)
    thread = [t for b in batches for t in b.threads if t.remote_id == room][-1]
    assert thread.meta.get("devices_verified") is False
    notice = [m for b in batches for m in b.messages if m.meta.get("system") and m.thread_remote_id == room][-1]
    own = customer.nio.device_id
    assert own in notice.text and "trusted on first use" in notice.text
    await p.close()

    strict = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state", refuse_unverified_devices=True))
    await strict.open(read_only=False)
    try:
        with pytest.raises(PermanentError, match="unverified") as err:
            await strict.push(reply(room, "held back (e2ee-trust)"))
        assert own in str(err.value) and "verified_devices" in str(err.value)
    finally:
        await strict.close()
    fingerprint = customer.nio.olm.account.identity_keys["ed25519"]
    swapped = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state", refuse_unverified_devices=True,
                                            verified_devices=[f"{customer.user_id} {own} {fingerprint[::-1]}"]))
    await swapped.open(read_only=False)
    try:
        with pytest.raises(PermanentError, match="unverified"):
            await swapped.push(reply(room, "not to a key we did not compare (e2ee-trust)"))
        await customer.send(room, "still me (e2ee-trust)")
        batches, cursor = await pull_all(swapped, cursor)
        notice = [m for b in batches for m in b.messages if m.meta.get("system") and m.thread_remote_id == room][-1]
        assert "KEY DIFFERS" in notice.text
    finally:
        await swapped.close()
    trusted = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state", refuse_unverified_devices=True,
                                            verified_devices=[f"{customer.user_id} {own} {fingerprint}"]))
    await trusted.open(read_only=False)
    try:
        await trusted.push(reply(room, "now it may go (e2ee-trust)"))
        batches, _ = await pull_all(trusted, cursor)
    finally:
        await trusted.close()
    thread = [t for b in batches for t in b.threads if t.remote_id == room][-1]
    assert thread.meta.get("devices_verified") is True
    notice = [m for b in batches for m in b.messages if m.meta.get("system") and m.thread_remote_id == room][-1]
    assert f"{own} (customer phone)" in notice.text and ": verified" in notice.text
    got = await customer.received(room, agent.user_id, "(e2ee-trust)")
    assert [t for _, t in got] == ["now it may go (e2ee-trust)"]


async def test_kill_9_between_the_send_and_its_confirmation_still_one_reply(synapse, chat, db, tmp_path):  # noqa: F811
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    await customer.send(room, "where is my refund? (e2ee-kill)")
    await sync_into(db, p, cursor)
    await p.close()  # the console that queued the reply is gone; a worker process sends it
    thread_id = db.execute("SELECT id FROM threads WHERE remote_id=?", (room,)).fetchone()[0]
    assert perform(Context(db=db), "reply", thread_id, text="Refunded today (e2ee-kill).").ok

    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.providers.matrix.e2ee_worker", synapse.url, agent.user_id, agent.password,
         str(tmp_path / "state"), str(tmp_path / "cache.sqlite3")],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "sent", "the worker did not send"
    finally:
        worker.send_signal(signal.SIGKILL)  # the homeserver has the reply; the outbox was never told
        worker.wait(timeout=30)
    assert db.execute("SELECT state FROM outbox").fetchone()["state"] == "sending"

    restarted = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    await restarted.open(read_only=False)
    try:
        await Dispatcher(db).flush("support", restarted)
        await sync_into(db, restarted, None)
    finally:
        await restarted.close()
    got = await customer.received(room, agent.user_id, "(e2ee-kill)")
    assert [t for _, t in got] == ["Refunded today (e2ee-kill)."]
    assert db.execute("SELECT state FROM outbox").fetchone()["state"] == "sent"
    rows = db.execute("SELECT text, state FROM messages WHERE direction='outbound'").fetchall()
    assert [(r["text"], r["state"]) for r in rows] == [("Refunded today (e2ee-kill).", "sent")]


async def test_a_wrong_key_store_passphrase_is_one_line_with_the_fix(synapse, chat, tmp_path):  # noqa: F811
    agent, p, _ = chat
    await p.close()
    KeyringKept("support").put(PASSPHRASE_NAME, "not-the-passphrase")
    again = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    with pytest.raises(PermanentError) as err:
        await again.open(read_only=False)
    text = str(err.value)
    assert "\n" not in text and "key store" in text and "keyring" in text
    await again.close()


async def test_a_key_store_whose_passphrase_left_the_keyring_is_not_replaced_silently(
        synapse, chat, tmp_path):  # noqa: F811
    agent, p, _ = chat
    await p.close()
    KeyringKept("support").delete(PASSPHRASE_NAME)
    again = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    with pytest.raises(AuthError, match="no passphrase in the keyring") as err:
        await again.open(read_only=False)
    assert "move that folder away" in str(err.value)
    await again.close()


async def test_an_encrypted_attachment_is_listed_and_opened_only_when_fetched(chat):
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent)
    pdf = b"%PDF-1.4 receipt for order 1142 (e2ee-file)\n"
    event = await customer.send_encrypted_file(room, "receipt.pdf", pdf, "application/pdf")
    batches, _ = await pull_all(p, cursor)
    msg = {m.remote_id: m for b in batches for m in b.messages}[event]
    [att] = msg.attachments
    assert att.name == "receipt.pdf" and att.size == len(pdf) and att.content_type == "application/pdf"
    assert await p.fetch_attachment(event, att.ref) == pdf
    with pytest.raises(PermanentError, match="does not match"):
        tampered = att.ref.replace('"sha256":"', '"sha256":"AAAA')
        await p.fetch_attachment(event, tampered)


async def test_a_lost_key_store_keeps_plain_rooms_working_and_says_how_to_get_new_keys(
        synapse, chat, tmp_path):  # noqa: F811
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent)
    await p.close()
    shutil.rmtree(tmp_path / "state" / "e2ee")  # the disk was replaced; the server still has the old keys
    KeyringKept("support").delete(PASSPHRASE_NAME)
    plain = await customer.user.create_room(invite=[agent.user_id])
    again = MatrixProvider(matrix_account(synapse, agent, tmp_path / "state"))
    await again.open(read_only=False)
    try:
        await customer.send(room, "are you there? (e2ee-lost)")
        batches, _ = await pull_all(again, cursor)  # also accepts the new invite
        notice = [m for b in batches for m in b.messages if m.meta.get("system") and m.thread_remote_id == room][-1]
        assert "Settings > Sessions" in notice.text, "the conversation does not say why it cannot be read"
        await again.push(reply(plain, "plain rooms still work (e2ee-lost)"))
        with pytest.raises(PermanentError, match="Settings > Sessions") as err:
            await again.push(reply(room, "cannot be read by anyone (e2ee-lost)"))
        assert "\n" not in str(err.value)
    finally:
        await again.close()
    assert len(await customer.user.messages_from(agent.user_id, "plain rooms still work (e2ee-lost)")) == 1


async def test_a_malformed_room_in_a_sync_does_not_cost_the_keys_another_room_needs(chat, db, monkeypatch):
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent, db)
    other = await customer.user.create_room(invite=[agent.user_id])
    _, cursor = await sync_into(db, p, cursor)
    event = await customer.send(room, "the key for this comes in the same answer (e2ee-odd)")
    await customer.user.send(other, "plain words")
    request = p.client.request

    async def hostile(method, url, **kwargs):  # the server mangles one room of the answer
        answer = await request(method, url, **kwargs)
        joined = (answer.get("rooms") or {}).get("join") or {}
        if other in joined:
            joined[other]["timeline"] = "not an object"
        return answer

    monkeypatch.setattr(p.client, "request", hostile)
    await sync_into(db, p, cursor)
    assert cached(db, event)["text"] == "the key for this comes in the same answer (e2ee-odd)"


async def test_another_device_of_the_support_account_finds_an_encrypted_reply_by_the_key_inside(
        synapse, chat, tmp_path):  # noqa: F811
    agent, p, customer = chat
    room, cursor = await dm_joined(p, customer, agent)
    other = MatrixProvider(matrix_account(synapse, agent, tmp_path / "other", name="second-console"))
    await other.open(read_only=False)  # its own device, known before the reply is sent
    try:
        _, cursor = await pull_all(p, cursor)  # learns of that device: the room key is shared with it too
        action = reply(room, "Sent from the first console (e2ee-find)")
        assert await other.find_delivery(action) is None
        receipt = await p.push(action)
        await pull_all(other, None)  # its room keys arrive
        found = await other.find_delivery(action)
    finally:
        await other.close()
    assert found is not None and found.remote_id == receipt.remote_id
