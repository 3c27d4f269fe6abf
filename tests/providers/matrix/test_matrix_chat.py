"""The Matrix adapter against a real Synapse: what an agent and a customer would notice.

The customer is a second account on the same homeserver, driven through the
client-server API (tests/support/servers/synapse.py); the adapter runs as the support account.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from console.cache.ingest import apply_batch, ensure_account
from console.secrets import KeyringKept
from providers.base import Direction, PermanentError, PushAction
from providers.matrix import MatrixProvider
from providers.matrix.events import ENCRYPTED_NOTICE
from providers.matrix.session import TOKEN_NAME
from tests.support.contract import messages_of, pull_all, wait_for_message
from tests.support.servers.synapse import API, MatrixUser, matrix_account, synapse  # noqa: F401

pytestmark = pytest.mark.server


@pytest.fixture
async def people(synapse):  # noqa: F811
    agent = await synapse.register()
    customer = await synapse.register()
    return agent, customer


async def opened(synapse, agent, state_dir, read_only=False, **options) -> MatrixProvider:  # noqa: F811
    p = MatrixProvider(matrix_account(synapse, agent, state_dir, **options))
    await p.open(read_only=read_only)
    return p


async def joined_members(customer: MatrixUser, room: str) -> set[str]:
    data = await customer.call("GET", f"{API}/rooms/{customer.q(room)}/joined_members")
    return set(data["joined"])


def reply(room: str, text: str, key: str | None = None) -> PushAction:
    return PushAction(key=key or uuid.uuid4().hex, kind="reply", thread_remote_id=room, text=text)


async def test_invite_is_accepted_and_the_room_becomes_a_conversation_at_once(synapse, people, tmp_path):
    agent, customer = people
    p = await opened(synapse, agent, tmp_path)
    try:
        _, cursor = await pull_all(p, None)
        await customer.set_display_name("Dana Customer")
        room = await customer.create_room(invite=[agent.user_id], name="Refund for order 1142")
        await customer.send(room, "Hi, I want a refund for order 1142")

        first = await p.pull(cursor)
        threads = {t.remote_id: t for t in first.threads}
        assert room in threads, "the invite did not become a conversation in the pull that saw it"
        t = threads[room]
        assert t.subject == "Refund for order 1142"
        assert t.customer.address == customer.user_id and t.customer.display_name == "Dana Customer"
        assert first.more, "after joining, the adapter should ask for the next page at once"
        assert agent.user_id in await joined_members(customer, room), "the invite was not accepted"

        msg, _, _ = await wait_for_message(p, first.cursor, "order 1142")
        assert msg.thread_remote_id == room and msg.direction == Direction.INBOUND
        assert msg.author.address == customer.user_id
    finally:
        await p.close()


async def test_auto_join_off_leaves_the_invite_waiting(synapse, people, tmp_path):
    agent, customer = people
    p = await opened(synapse, agent, tmp_path, auto_join=False)
    try:
        _, cursor = await pull_all(p, None)
        room = await customer.create_room(invite=[agent.user_id])
        batches, _ = await pull_all(p, cursor)
        threads = {t.remote_id: t for b in batches for t in b.threads}
        assert threads[room].meta.get("invite") is True
        assert threads[room].unread is True, "a waiting customer must show as unread"
        assert agent.user_id not in await joined_members(customer, room)
    finally:
        await p.close()


async def test_a_withdrawn_invite_or_a_kick_marks_the_conversation_left(synapse, people, tmp_path):
    agent, customer = people
    p = await opened(synapse, agent, tmp_path)
    try:
        _, cursor = await pull_all(p, None)
        room = await customer.create_room(invite=[agent.user_id])
        batches, cursor = await pull_all(p, cursor)
        await customer.send(room, "never mind, solved it (left)")
        await customer.call("POST", f"{API}/rooms/{customer.q(room)}/kick",
                            {"user_id": agent.user_id, "reason": "solved"})
        batches, cursor = await pull_all(p, cursor)
        threads = [t for b in batches for t in b.threads if t.remote_id == room]
        assert threads and threads[-1].meta.get("left") is True
        assert any("(left)" in m.text for m in messages_of(batches)), "what was said before the kick was lost"
        with pytest.raises(PermanentError):
            await p.push(reply(room, "hello? (after-kick)"))
    finally:
        await p.close()


async def test_reply_reaches_the_customer_once_also_after_a_crash_before_confirming(synapse, people, tmp_path):
    agent, customer = people
    state = tmp_path / "state"
    room = await customer.create_room(invite=[agent.user_id])
    await customer.send(room, "Is my parcel lost?")
    p = await opened(synapse, agent, state)
    _, cursor = await pull_all(p, None)
    key = uuid.uuid4().hex
    action = reply(room, "We found it, it ships today (crash-check).", key)
    await p.push(action)
    await p.close()  # the console dies before the outbox row is marked sent

    again = await opened(synapse, agent, state)  # restarted: same state_dir, same key from the outbox
    try:
        await again.push(action)
        assert len(await customer.messages_from(agent.user_id, "crash-check")) == 1
        # The reply comes back through /sync as ours, tied to the outbox key.
        msg, _, _ = await wait_for_message(again, cursor, "crash-check")
        assert msg.direction == Direction.OUTBOUND
        assert msg.action_key == key, "the core could not confirm the outbox row: no action_key"
    finally:
        await again.close()


async def test_reply_is_not_doubled_even_when_the_saved_session_is_lost(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    action = reply(room, "One answer only (lost-session).")
    p = await opened(synapse, agent, tmp_path / "a")
    await p.push(action)
    await p.close()
    other = await opened(synapse, agent, tmp_path / "b")  # fresh login, but the same device id
    try:
        await other.push(action)
    finally:
        await other.close()
    assert len(await customer.messages_from(agent.user_id, "lost-session")) == 1


async def test_no_state_file_holds_the_token_or_password_after_a_login_and_a_reply(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    p = await opened(synapse, agent, tmp_path / "state")
    try:
        await pull_all(p, None)
        await p.push(reply(room, "Hello from support (no-token-on-disk)."))
        token = p.client.store.session.access_token
    finally:
        await p.close()
    assert token and token in KeyringKept("support").get(TOKEN_NAME), "the access token is not in the keyring"
    files = [f for f in (tmp_path / "state").rglob("*") if f.is_file()]
    assert files, "the adapter kept no state at all (the device id must survive a restart)"
    for f in files:
        blob = f.read_bytes()
        assert token.encode() not in blob and agent.password.encode() not in blob, f"{f.name} holds a secret"
    session = tmp_path / "state" / "matrix-session.json"
    assert session.stat().st_mode & 0o777 == 0o600 and json.loads(session.read_text())["device_id"]


async def test_a_token_left_in_an_old_session_file_moves_to_the_keyring(synapse, people, tmp_path):
    agent, _ = people
    first = await opened(synapse, agent, tmp_path)
    session = first.client.store.session
    legacy = {"homeserver": session.homeserver, "user_id": session.user_id, "device_id": session.device_id,
              "access_token": session.access_token}
    await first.close()
    KeyringKept("support").delete(TOKEN_NAME)
    (tmp_path / "matrix-session.json").write_text(json.dumps(legacy))

    again = await opened(synapse, agent, tmp_path)
    try:
        who = await again.client.request("GET", f"{API}/account/whoami")
        assert who["device_id"] == legacy["device_id"]
        assert again.client.store.session.access_token == legacy["access_token"], "logged in anew instead"
    finally:
        await again.close()
    assert "access_token" not in json.loads((tmp_path / "matrix-session.json").read_text())
    assert legacy["access_token"] in KeyringKept("support").get(TOKEN_NAME)


async def test_edits_replace_the_text_and_redactions_remove_the_message(synapse, people, tmp_path, db):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    first = await customer.send(room, "My adress is 1 Mian Street")
    second = await customer.send(room, "my card number is 4111 1111 1111 1111")
    p = await opened(synapse, agent, tmp_path)
    account = ensure_account(db, "support", "matrix", "chat")
    try:
        batches, cursor = await pull_all(p, None)
        for b in batches:
            apply_batch(db, account, b)
        await customer.edit(room, first, "My address is 1 Main Street")
        await customer.redact(room, second)
        batches, cursor = await pull_all(p, cursor)
        edited = [m for m in messages_of(batches) if m.remote_id == first]
        assert edited and edited[-1].text == "My address is 1 Main Street" and edited[-1].meta.get("edited")
        assert second in {r for b in batches for r in b.deleted_messages}
        for b in batches:
            apply_batch(db, account, b)
        rows = {r["remote_id"]: r for r in db.execute("SELECT remote_id, text, meta FROM messages")}
        assert rows[first]["text"] == "My address is 1 Main Street"
        assert json.loads(rows[first]["meta"]).get("edited") is True
        assert rows[second]["text"] == "" and json.loads(rows[second]["meta"]).get("removed") is True
        assert len(rows) == 2, "the edit must not appear as a message of its own"
    finally:
        await p.close()


async def test_an_edit_by_someone_else_is_ignored(synapse, people, tmp_path):
    agent, customer = people
    intruder = await synapse.register()
    room = await customer.create_room(invite=[agent.user_id, intruder.user_id])
    await agent.join(room)
    await intruder.join(room)
    original = await customer.send(room, "Please cancel order 77")
    await intruder.edit(room, original, "Please ship order 77 to my new address")
    p = await opened(synapse, agent, tmp_path)
    try:
        batches, _ = await pull_all(p, None)
        texts = {m.remote_id: m.text for m in messages_of(batches)}
        assert texts[original] == "Please cancel order 77"
        assert not any("new address" in t for t in texts.values())
    finally:
        await p.close()


async def test_a_long_absence_is_back_filled_without_gaps(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    await customer.send(room, "before the break")
    p = await opened(synapse, agent, tmp_path)
    p.TIMELINE_LIMIT, p.BACKFILL_PAGE = 10, 7  # small pages, so the test is quick and pages several times
    _, cursor = await pull_all(p, None)
    await p.close()  # the agent goes home

    count = 3 * p.TIMELINE_LIMIT + 5
    sent = [await customer.send(room, f"gap message {i:03d}") for i in range(count)]

    back = await opened(synapse, agent, tmp_path)
    back.TIMELINE_LIMIT, back.BACKFILL_PAGE = 10, 7
    try:
        batches, _ = await pull_all(back, cursor)
        got = [m for m in messages_of(batches) if m.text.startswith("gap message")]
        assert [m.remote_id for m in got] == sent, "messages were lost or repeated in the gap"
        assert not any(m.text == "before the break" for m in messages_of(batches)), "the gap overshot the cursor"
    finally:
        await back.close()


async def test_a_long_gap_comes_in_bounded_pulls_and_survives_a_restart_halfway(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    p = await opened(synapse, agent, tmp_path)
    _, cursor = await pull_all(p, None)
    await p.close()
    sent = [await customer.send(room, f"flood {i:03d}") for i in range(40)]

    def small(adapter):
        adapter.TIMELINE_LIMIT, adapter.BACKFILL_PAGE, adapter.BACKFILL_BUDGET = 5, 4, 8
        return adapter

    first = small(await opened(synapse, agent, tmp_path))
    try:
        page = await first.pull(cursor)  # one bounded page, then the process stops
        assert page.more, "a gap larger than one pull's budget must continue in the next pull"
        got = [m.remote_id for m in page.messages if m.text.startswith("flood")]
    finally:
        await first.close()
    second = small(await opened(synapse, agent, tmp_path))
    try:
        batches, _ = await pull_all(second, page.cursor)
    finally:
        await second.close()
    got += [m.remote_id for m in messages_of(batches) if m.text.startswith("flood")]
    assert len(batches) > 2, "each pull should stay within its budget"
    assert sorted(got) == sorted(sent) and len(got) == len(sent), "messages were lost or repeated"


async def test_first_pull_back_fills_a_busy_room(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    sent = [await customer.send(room, f"history {i:03d}") for i in range(25)]
    p = await opened(synapse, agent, tmp_path)
    p.TIMELINE_LIMIT, p.BACKFILL_PAGE = 5, 6
    try:
        batches, _ = await pull_all(p, None)
        assert [m.remote_id for m in messages_of(batches) if m.text.startswith("history")] == sent
    finally:
        await p.close()


HOSTILE_HTML = (
    '<p>Hello \x1b]52;c;cm0gLXJmIH4=\x07agent\x1b]0;pwned\x07</p>'
    '<script>alert("x")</script><style>p{display:none}</style>'
    '<a href="javascript:steal()">[@click=app.quit]click me[/]</a>'
    '<img src="http://127.0.0.1:9/tracker.png">\x1b[2J\x1b[H\x9b31m done'
)


async def test_hostile_formatted_body_is_inert_after_ingest(synapse, people, tmp_path, db):
    agent, customer = people
    await customer.set_display_name("Eve\x1b]0;owned\x07 [b]Boss[/b]")
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    event = await customer.send(room, "Hello agent (plain fallback)", html=HOSTILE_HTML)
    p = await opened(synapse, agent, tmp_path)
    account = ensure_account(db, "support", "matrix", "chat")
    try:
        batches, _ = await pull_all(p, None)
        for b in batches:
            apply_batch(db, account, b)
    finally:
        await p.close()
    row = db.execute("SELECT text, author FROM messages WHERE remote_id=?", (event,)).fetchone()
    text = row["text"]
    assert "Hello" in text and "agent" in text and "click me" in text
    for bad in ("\x1b", "\x07", "\x9b", "alert(", "display:none", "cm0gLXJmIH4=", "pwned"):
        assert bad not in text, f"{bad!r} survived into the cache"
    assert all(ch in "\n\t" or ord(ch) >= 0x20 and not 0x7f <= ord(ch) <= 0x9f for ch in text)
    assert "\x1b" not in row["author"] and "owned" not in row["author"]
    # Markup stays literal text: rendering is the UI's job, the text must arrive unchanged.
    assert "[@click=app.quit]" in text


@pytest.mark.parametrize("state_type", ["m.bridge", "uk.half-shot.bridge"])
async def test_bridged_whatsapp_room_shows_its_network(synapse, tmp_path, db, state_type):  # noqa: F811
    agent = await synapse.register()
    puppet = await synapse.register(f"whatsapp_4915{uuid.uuid4().int % 10**8:08d}")
    bridge_state = {"type": state_type, "state_key": "net.maunium.whatsapp://whatsapp/4915",
                    "content": {"bridgebot": "@whatsappbot:localhost",
                                "protocol": {"id": "whatsapp", "displayname": "WhatsApp"},
                                "channel": {"id": "4915", "displayname": "Dana"}}}
    room = await puppet.create_room(invite=[agent.user_id], initial_state=[bridge_state])
    await puppet.send(room, "Hallo, my delivery is late (via WhatsApp)")
    p = await opened(synapse, agent, tmp_path)
    account = ensure_account(db, "support", "matrix", "chat")
    try:
        msg, batches, _ = await wait_for_message(p, None, "via WhatsApp")
        for b in batches:
            apply_batch(db, account, b)
    finally:
        await p.close()
    thread = [t for b in batches for t in b.threads if t.remote_id == room][-1]
    assert thread.channel_detail == "WhatsApp"
    assert thread.customer.network == "WhatsApp" and msg.author.network == "WhatsApp"
    assert thread.customer.phone == "+" + puppet.user_id.split("_")[1].split(":")[0]
    stored = db.execute("SELECT channel_detail FROM threads WHERE remote_id=?", (room,)).fetchone()
    assert stored["channel_detail"] == "WhatsApp"
    ident = db.execute("SELECT network FROM identities WHERE address=?", (puppet.user_id,)).fetchone()
    assert ident["network"] == "WhatsApp"


async def test_bridge_bot_member_names_the_network_and_is_not_the_customer(synapse, people, tmp_path):
    agent, customer = people
    bot = await synapse.register("telegrambot")  # the bridge's bot, by its usual name (once per server)
    room = await bot.create_room(invite=[agent.user_id, customer.user_id], name="Dana (Telegram)")
    await customer.join(room)
    await customer.send(room, "hi from telegram land")
    p = await opened(synapse, agent, tmp_path)
    try:
        _, batches, _ = await wait_for_message(p, None, "telegram land")
    finally:
        await p.close()
    thread = [t for b in batches for t in b.threads if t.remote_id == room][-1]
    assert thread.channel_detail == "Telegram"
    assert thread.customer.address == customer.user_id, "the bridge bot was taken for the customer"


async def test_with_encryption_off_an_encrypted_room_is_marked_and_sending_is_refused(synapse, people, tmp_path):
    agent, customer = people
    encryption = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
    room = await customer.create_room(invite=[agent.user_id], initial_state=[encryption])
    await agent.join(room)
    secret_event = await customer.send_event(room, "m.room.encrypted", {
        "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnB...", "sender_key": "abc",
        "session_id": "sess", "device_id": "DEV"})
    p = await opened(synapse, agent, tmp_path, encryption=False)
    try:
        batches, _ = await pull_all(p, None)
        thread = [t for b in batches for t in b.threads if t.remote_id == room][-1]
        assert thread.meta.get("encrypted") is True
        msgs = {m.remote_id: m for m in messages_of(batches) if m.thread_remote_id == room}
        assert secret_event in msgs, "an encrypted message was dropped silently"
        assert "end-to-end encrypted" in msgs[secret_event].text and msgs[secret_event].meta["encrypted"]
        assert any(m.text == ENCRYPTED_NOTICE and m.meta.get("system") for m in msgs.values())
        with pytest.raises(PermanentError, match="encrypted"):
            await p.push(reply(room, "this must not go out (e2e)"))
    finally:
        await p.close()
    fresh = await opened(synapse, agent, tmp_path, encryption=False)  # knows nothing of the room yet
    try:
        with pytest.raises(PermanentError, match="encrypted") as err:
            await fresh.push(reply(room, "this must not go out either (e2e)"))
        assert "unencrypted support room" in str(err.value)
    finally:
        await fresh.close()
    assert await customer.messages_from(agent.user_id, "(e2e)") == []


async def test_attachments_come_as_metadata_and_are_fetched_only_on_request(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    pdf = b"%PDF-1.4 receipt for order 1142\n"
    async with httpx.AsyncClient(base_url=synapse.url, timeout=20) as http:
        up = await http.post("/_matrix/media/v3/upload", params={"filename": "receipt.pdf"}, content=pdf,
                             headers={"Authorization": f"Bearer {customer.token}", "Content-Type": "application/pdf"})
    mxc = up.json()["content_uri"]
    event = await customer.send_event(room, "m.room.message", {
        "msgtype": "m.file", "body": "receipt.pdf", "url": mxc,
        "info": {"mimetype": "application/pdf", "size": len(pdf)}})
    p = await opened(synapse, agent, tmp_path)
    try:
        batches, _ = await pull_all(p, None)
        msg = {m.remote_id: m for m in messages_of(batches)}[event]
        (att,) = msg.attachments
        assert (att.name, att.content_type, att.size, att.ref) == ("receipt.pdf", "application/pdf", len(pdf), mxc)
        assert await p.fetch_attachment(msg.remote_id, att.ref) == pdf
        with pytest.raises(PermanentError):
            await p.fetch_attachment(msg.remote_id, "https://example.com/not-matrix-media")
    finally:
        await p.close()


async def test_watch_wakes_on_a_new_message_and_the_next_pull_does_not_fetch_twice(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    p = await opened(synapse, agent, tmp_path)
    try:
        _, cursor = await pull_all(p, None)
        assert await p.watch(0.3) is False, "watch reported news when nothing happened"
        _, cursor = await pull_all(p, cursor)
        waiting = asyncio.create_task(p.watch(15))
        await asyncio.sleep(0.3)
        await customer.send(room, "are you there? (watch)")
        assert await asyncio.wait_for(waiting, 20) is True

        syncs = []
        real = p.client.request

        async def counting(method, url, **kw):
            if url.endswith("/sync"):
                syncs.append(url)
            return await real(method, url, **kw)

        p.client.request = counting
        batch = await p.pull(cursor)
        assert any("(watch)" in m.text for m in batch.messages)
        assert syncs == [], "pull fetched again what watch already had"
    finally:
        await p.close()


async def test_a_cancelled_watch_leaves_the_adapter_working(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    p = await opened(synapse, agent, tmp_path)
    try:
        _, cursor = await pull_all(p, None)
        waiting = asyncio.create_task(p.watch(30))
        await asyncio.sleep(0.3)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await customer.send(room, "after the cancel")
        msg, _, _ = await wait_for_message(p, cursor, "after the cancel")
        await p.push(reply(room, "still here (after-cancel)"))
        assert len(await customer.messages_from(agent.user_id, "after-cancel")) == 1
    finally:
        await p.close()


async def test_mark_read_sends_a_receipt_the_customer_sees_and_mark_unread_flags_the_room(synapse, people, tmp_path):
    agent, customer = people
    room = await customer.create_room(invite=[agent.user_id])
    await agent.join(room)
    event = await customer.send(room, "please read me")
    flag_url = f"{API}/user/{agent.q(agent.user_id)}/rooms/{agent.q(room)}/account_data/m.marked_unread"
    p = await opened(synapse, agent, tmp_path)
    try:
        await pull_all(p, None)
        await p.push(PushAction(key=uuid.uuid4().hex, kind="mark_unread", thread_remote_id=room))
        assert (await agent.call("GET", flag_url)) == {"unread": True}
        await p.push(PushAction(key=uuid.uuid4().hex, kind="mark_read", thread_remote_id=room,
                                reply_to_remote_id=event))
        assert (await agent.call("GET", flag_url)) == {"unread": False}
    finally:
        await p.close()
    receipts = (await customer.receipts()).get(room, {})
    assert f"m.read:{agent.user_id}" in receipts.get(event, {})


async def test_doctor_check_names_the_account(synapse, people, tmp_path):
    agent, _ = people
    p = MatrixProvider(matrix_account(synapse, agent, tmp_path))
    line = await p.check()
    assert agent.user_id in line and "Matrix" in line
