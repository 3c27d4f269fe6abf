"""The Matrix adapter: support chats (and every bridged network) as conversations.

Each room the support account is in is one conversation (``Thread.remote_id`` is
the room id); each customer member is an identity. ``pull`` runs ``/sync`` from
the cursor (the sync token), accepts invites, back-fills gaps with
``/rooms/{id}/messages``; ``watch`` long-polls ``/sync`` and keeps the answer for
the next ``pull``; ``push`` sends with the outbox key as transaction id, so a
retried send is de-duplicated by the homeserver. Encrypted rooms are opened and
answered through :mod:`providers.matrix.crypto` (this device's own keys).
"""

from __future__ import annotations

import asyncio
import importlib
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from providers.base import (
    AccountConfig,
    Batch,
    Capability,
    Channel,
    Customer,
    Identity,
    Message,
    Newer,
    OpenClient,
    Option,
    OptionError,
    PermanentError,
    Provider,
    PushAction,
    Receipt,
    Thread,
    TransientError,
    Unsupported,
)
from providers.matrix.client import MatrixClient, MatrixError, path
from providers.matrix.cursor import Cursor, Job
from providers.matrix.cursor import dump as dump_cursor
from providers.matrix.cursor import parse as parse_cursor
from providers.matrix.events import ENCRYPTED_FILE, Converted, EventConverter, when
from providers.matrix.filters import has_news, messages_filter, sync_filter
from providers.matrix.rooms import Room
from providers.matrix.session import SessionStore
from providers.matrix.trust import all_verified, parse_verified, trust_line
from providers.matrix.undecrypted import Undecrypted

if TYPE_CHECKING:
    from providers.matrix.crypto import Crypto

ENCRYPTED_FIX = ("set encryption = true and a state_dir for the account, or ask the customer to write in an "
                 "unencrypted support room")
MAX_LOOKBACK_PAGES = 20  # pages of 100 events searched for an earlier delivery
OUTBOX_KEY = "com.switchboard.outbox_key"  # in our messages' content: found by any device after a crash


class MatrixProvider(Provider):
    kind = "matrix"
    channel = Channel.CHAT
    capabilities = frozenset({Capability.REPLY, Capability.MARK_READ, Capability.WATCH})
    identity_options = ("homeserver", "user_id")  # who the account is remotely (team presence keys)
    options = (
        Option("homeserver", str, required=True, help="the homeserver's URL, e.g. https://matrix.example.com"),
        Option("user_id", str, required=True, help="the support account, e.g. @support:example.com"),
        Option("auto_join", bool, True, help="accept customers' invites at once"),
        Option("device_name", str, "Switchboard", help="how this session is named in the account's device list"),
        Option("timeout", float, 30.0, help="seconds to wait for the homeserver"),
        Option("state_dir", str, "", help="folder for the device id and encryption keys (tokens stay in the keyring)"),
        Option("encryption", bool, True, help="read and answer end-to-end encrypted rooms (needs state_dir)"),
        Option("refuse_unverified_devices", bool, False,
               help="in encrypted rooms, send only when every device in the room is verified (default: trust on "
                    "first use)"),
        Option("verified_devices", list, [],
               help='devices whose key was compared with their owner, as "USER_ID DEVICE_ID FINGERPRINT"'),
    )
    secret_label = "password"

    TIMELINE_LIMIT = 50  # events per room in one /sync answer; older ones come by back-fill
    BACKFILL_PAGE = 100
    BACKFILL_BUDGET = 2000  # back-filled events per pull; the rest of a long gap follows in the next pulls
    MAX_INLINE_WAIT = 5.0  # a rate limit shorter than this is waited out inside push

    def __init__(self, account: AccountConfig) -> None:
        super().__init__(account)
        hs = self.opts["homeserver"].strip()
        parts = urlsplit(hs)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise OptionError(f"account {self.name!r}: homeserver {hs!r} is not an http(s) URL",
                              fix='write it like homeserver = "https://matrix.example.com"')
        uid = self.opts["user_id"].strip()
        if not (uid.startswith("@") and ":" in uid[2:] and len(uid) > 3):
            raise OptionError(f"account {self.name!r}: user_id {uid!r} is not a Matrix id",
                              fix='write the full id, like user_id = "@support:example.com"')
        self.check_timeout()
        self.verified_devices = parse_verified(self.name, self.opts["verified_devices"])
        self.homeserver = hs.rstrip("/")
        self.user_id = uid
        self._client: MatrixClient | None = None
        self._crypto: Crypto | None = None
        self._undecrypted = Undecrypted(self.opts["state_dir"])
        self._rooms: dict[str, Room] = {}
        self._since: str | None = None
        self._prefetched: tuple[str, dict, str | None] | None = None  # kept by watch(): cursor, answer, since
        self._sync_lock = asyncio.Lock()

    # ------------------------------------------------------------------ life cycle

    async def open(self, read_only: bool) -> None:
        await self._connect(read_only, encryption=self.opts["encryption"] and bool(self.opts["state_dir"]))

    async def _connect(self, read_only: bool, encryption: bool) -> None:
        self.read_only = read_only
        if read_only:  # no receipts when opened read-only
            self.capabilities = frozenset({Capability.WATCH})
        else:
            self.capabilities = type(self).capabilities
        store = SessionStore(self.opts["state_dir"], self.name, self.homeserver, self.user_id, self.account.kept)
        self._client = MatrixClient(account=self.name, homeserver=self.homeserver, user_id=self.user_id,
                                    device_name=self.opts["device_name"], timeout=self.opts["timeout"],
                                    store=store, password=self.secret)
        await self._client.open()
        try:
            if not store.session.access_token:
                await self._client.login()
            if encryption:
                await self._open_crypto(store)
        except BaseException:
            await self.close()
            raise

    async def _open_crypto(self, store: SessionStore) -> None:
        """Our device's keys: loaded from its store, published if the server lacks them."""
        # matrix-nio and its dependencies take ~0.5-1 s to import here: off the event loop the UI shares.
        crypto = await asyncio.to_thread(importlib.import_module, "providers.matrix.crypto")
        self._crypto = crypto.Crypto(account=self.name, homeserver=self.homeserver, user_id=self.user_id,
                              device_id=store.session.device_id, state_dir=self.opts["state_dir"],
                              kept=self.account.kept, timeout=self.opts["timeout"])
        self._crypto.open(store.session.access_token)
        await self._crypto_settle()

    async def _crypto_settle(self) -> None:
        crypto = self._crypto
        if crypto is None:
            return
        crypto.use_token(self.client.store.session.access_token)
        await crypto.settle(writable=not self.read_only)
        for (user_id, device_id), fingerprint in self.verified_devices.items():
            crypto.verify(user_id, device_id, fingerprint)

    async def close(self) -> None:
        client, self._client = self._client, None
        crypto, self._crypto = self._crypto, None
        self._prefetched = None
        if crypto is not None:
            await crypto.close()
        if client is not None:
            await client.close()

    client = OpenClient[MatrixClient]("_client")

    @classmethod
    def team_transport(cls, account: AccountConfig):
        """Team presence as state in the team's Matrix room(s): :mod:`providers.matrix.presence`."""
        from providers.matrix.presence import MatrixTeam

        return MatrixTeam(account)

    async def check(self) -> str:
        await self._connect(read_only=True, encryption=False)  # a reachability check makes no keys
        try:
            versions = await self.client.request("GET", "/_matrix/client/versions", auth=False)
            who = await self.client.request("GET", path("account", "whoami"))
            spec = (versions.get("versions") or ["?"])[-1]
            return (f"Matrix {spec} at {self.homeserver}, signed in as {who.get('user_id', self.user_id)} "
                    f"(device {who.get('device_id') or self.client.device_id})")
        finally:
            await self.close()

    # ------------------------------------------------------------------ reading

    async def pull(self, cursor: str | None) -> Batch:
        async with self._sync_lock:
            state = parse_cursor(cursor)
            budget = _Budget(self.BACKFILL_BUDGET)
            if state.jobs:  # back-fill still owed from an earlier pull comes first
                batch = await self._continue_backfill(state, budget)
            else:
                kept, self._prefetched = self._prefetched, None
                if kept is not None and kept[0] == state.since:
                    _, answer, since = kept
                else:
                    answer, since = await self._sync(state.since, 0)
                batch = await self._assemble(answer, since, budget)
            self._since = batch.cursor
            return batch

    async def watch(self, timeout: float) -> bool:
        """Long-poll ``/sync``; the answer is kept for the next ``pull`` from the same cursor."""
        if self._prefetched is not None:
            return has_news(self._prefetched[1])
        state = parse_cursor(self._since)
        if state.since is None or state.jobs:
            return True  # nothing synced yet, or back-fill owed: the engine should pull
        async with self._sync_lock:
            answer, effective = await self._sync(state.since, max(0.0, timeout))
            self._prefetched = (state.since, answer, effective)
        return has_news(answer)

    async def _sync(self, since: str | None, wait: float) -> tuple[dict, str | None]:
        """One ``/sync`` answer and the token it really started from.

        A cursor the homeserver no longer understands (its database was reset, the
        token is corrupt) starts over like a first pull; the cache de-duplicates by
        event id, so nothing appears twice."""
        params = {"filter": sync_filter(self.TIMELINE_LIMIT), "timeout": str(int(wait * 1000))}
        if since:
            params["since"] = since
        if self.read_only:
            params["set_presence"] = "offline"
        try:
            answer = await self.client.request("GET", path("sync"), params=params, timeout=wait + self.opts["timeout"])
        except MatrixError as err:
            if not since or getattr(err, "status", 0) != 400:
                raise
            return await self._sync(None, 0)
        return answer, since

    def _room(self, room_id: str) -> Room:
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = Room(room_id)
        return room

    async def _load_state(self, room: Room) -> None:
        """Full current state of a room met for the first time (deltas alone are not enough)."""
        try:
            events = (await self.client.request("GET", path("rooms", room.room_id, "state"))).get("value", [])
        except MatrixError:
            events = []  # left or forbidden: work with what the sync said
        for event in events if isinstance(events, list) else []:
            if isinstance(event, dict):
                room.apply(event, self.user_id)
        room.state_loaded = True

    async def _assemble(self, answer: dict, since: str | None, budget: _Budget) -> Batch:
        next_batch = answer.get("next_batch")
        batch = Batch(cursor=next_batch if isinstance(next_batch, str) and next_batch else since)
        if self._crypto is not None:
            await self._crypto.absorb(answer)  # room keys first: this answer's messages may need them
            await self._crypto_settle()
        owed: list[Job] = []
        rooms = answer.get("rooms") if isinstance(answer.get("rooms"), dict) else {}
        seen_customers: set[str] = set()

        for room_id, data in _items(rooms.get("invite")):
            room = self._room(room_id)
            for event in (data.get("invite_state") or {}).get("events") or []:
                if isinstance(event, dict):
                    room.apply(event, self.user_id)
            joined = await self._accept_invite(room_id)
            batch.more = batch.more or joined  # its messages follow in the next page at once
            meta = {} if joined else {"invite": True}
            self._add_thread(batch, room, room.last_ts, meta, seen_customers, unread=True)  # someone is waiting

        for room_id, data in _items(rooms.get("join")):
            await self._joined_room(room_id, data, since, batch, seen_customers, budget, owed)
        for room_id, data in _items(rooms.get("leave")):
            self._left_room(room_id, data, batch, seen_customers)
        for event_id in batch.deleted_messages:
            self._undecrypted.drop(event_id)  # a redacted message stays gone when its key comes later
        await self._retry_undecrypted(batch, seen_customers)
        if owed:
            batch.cursor = dump_cursor(Cursor(batch.cursor, owed))
            batch.more = True
        return batch

    async def _continue_backfill(self, state: Cursor, budget: _Budget) -> Batch:
        """One bounded page of back-fill owed by earlier pulls (no /sync meanwhile)."""
        batch = Batch(cursor=None)
        seen: set[str] = set()
        owed: list[Job] = []
        for job in state.jobs:
            if budget.left <= 0:
                owed.append(job)
                continue
            room = self._room(job.room_id)
            if not room.state_loaded:
                await self._load_state(room)
            converter = self._converter(room)
            conv = Converted()
            meta: dict = {}
            events, rest = await self._backfill(job, budget, meta)
            if rest is not None:
                owed.append(rest)
            converter.convert(events, conv)
            await self._resolve_edits(room, converter, conv)
            if conv.messages or conv.deleted or meta:
                self._add_thread(batch, room, conv.last_ts, meta, seen)
                batch.messages.extend(conv.messages.values())
                batch.deleted_messages.extend(conv.deleted)
        for event_id in batch.deleted_messages:
            self._undecrypted.drop(event_id)
        self._undecrypted.save()
        batch.cursor = dump_cursor(Cursor(state.since, owed))
        batch.more = bool(owed)
        return batch

    async def _joined_room(self, room_id: str, data: dict, since: str | None, batch: Batch, seen: set[str],
                           budget: _Budget, owed: list[Job]) -> None:
        room = self._room(room_id)
        new_here = not room.state_loaded
        if new_here and since is None:
            room.state_loaded = True  # a first sync carries each room's full state
        elif new_here:
            await self._load_state(room)
        timeline = data.get("timeline") if isinstance(data.get("timeline"), dict) else {}
        events = [e for e in timeline.get("events") or [] if isinstance(e, dict)]
        state_events = [e for e in (data.get("state") or {}).get("events") or [] if isinstance(e, dict)]
        converter = self._converter(room)
        conv = Converted()
        meta: dict = {}
        if timeline.get("limited") and isinstance(timeline.get("prev_batch"), str):
            window_start = None if since else int((time.time() - self.account.window_days * 86400) * 1000)
            older, rest = await self._backfill(Job(room_id, timeline["prev_batch"], since, window_start), budget, meta)
            if rest is not None:
                owed.append(rest)  # the rest of this gap follows in the next pulls
            known = {e.get("event_id") for e in events}
            converter.convert([e for e in older if e.get("event_id") not in known], conv)
        for event in state_events:  # state at the start of the timeline, after the older events
            room.apply(event, self.user_id)
        converter.convert(events, conv)
        await self._resolve_edits(room, converter, conv)
        if not (conv.messages or conv.deleted or state_events or events or new_here):
            return
        if room.encryption_event:
            event_id, ts, sender = room.encryption_event
            trust = "" if self._crypto is None else trust_line(
                self._crypto, room, self.user_id, self.verified_devices, self.opts["refuse_unverified_devices"])
            conv.messages[event_id] = converter.encryption_notice(
                {"event_id": event_id, "sender": sender, "origin_server_ts": ts}, trust)
        last = max([room.last_ts, conv.last_ts] + [int(m.sent_at.timestamp() * 1000) for m in conv.messages.values()])
        self._add_thread(batch, room, last, meta, seen)
        batch.messages.extend(conv.messages.values())
        batch.deleted_messages.extend(conv.deleted)

    def _left_room(self, room_id: str, data: dict, batch: Batch, seen: set[str]) -> None:
        """We are out of the room (kicked, invite withdrawn, left from another client):
        keep what was said until then and mark the conversation as left."""
        room = self._room(room_id)
        for event in (data.get("state") or {}).get("events") or []:
            if isinstance(event, dict):
                room.apply(event, self.user_id)
        converter = self._converter(room)
        conv = Converted()
        converter.convert([e for e in (data.get("timeline") or {}).get("events") or [] if isinstance(e, dict)], conv)
        self._rooms.pop(room_id, None)  # a later re-invite starts from fresh state
        if not (conv.messages or room.customer(self.user_id)):
            return
        self._add_thread(batch, room, max(room.last_ts, conv.last_ts), {"left": True}, seen)
        batch.messages.extend(conv.messages.values())
        batch.deleted_messages.extend(conv.deleted)

    def _converter(self, room: Room) -> EventConverter:
        crypto = self._crypto
        if crypto is None:
            return EventConverter(room, self.user_id)

        def closed(event: dict) -> None:
            self._undecrypted.add(room.room_id, event)

        return EventConverter(room, self.user_id, lambda event: crypto.decrypt(event, room.room_id), closed)

    async def _retry_undecrypted(self, batch: Batch, seen: set[str]) -> None:
        """Open the waiting encrypted events whose room key has arrived since."""
        crypto = self._crypto
        if crypto is not None:
            ready: dict[str, list[dict]] = {}
            for event_id, (room_id, event) in list(self._undecrypted.events.items()):
                if crypto.can_decrypt(event, room_id):
                    self._undecrypted.drop(event_id)
                    ready.setdefault(room_id, []).append(event)
            for room_id, events in ready.items():
                room = self._room(room_id)
                if not room.state_loaded:
                    await self._load_state(room)
                converter = self._converter(room)
                conv = Converted()
                converter.convert(events, conv)
                await self._resolve_edits(room, converter, conv)
                if conv.messages:
                    self._add_thread(batch, room, conv.last_ts, {}, seen)
                    batch.messages.extend(conv.messages.values())
        self._undecrypted.save()

    def _add_thread(self, batch: Batch, room: Room, last_ts: int, meta: dict, seen: set[str],
                    unread: bool | None = None) -> None:
        who = room.customer(self.user_id)
        customer = room.identity(who) if who else Identity(channel=Channel.CHAT, address=room.room_id,
                                                           display_name=room.subject(self.user_id))
        if room.encrypted:
            meta = {**meta, "encrypted": True}
            if self._crypto is not None:
                meta["devices_verified"] = all_verified(self._crypto, room, self.user_id)
        if room.network:
            meta = {**meta, "network": room.network}
        batch.threads.append(Thread(
            remote_id=room.room_id, channel=Channel.CHAT, subject=room.subject(self.user_id), customer=customer,
            last_message_at=when(last_ts or None), channel_detail=room.network, meta=meta, unread=unread,
        ))
        for mxid in room.customers(self.user_id):
            if mxid not in seen:
                seen.add(mxid)
                ident = room.identity(mxid)
                batch.customers.append(Customer(remote_id=mxid, name=ident.display_name, identities=[ident]))

    async def _accept_invite(self, room_id: str) -> bool:
        """Join a customer's room unless told not to (auto_join = false) or read-only."""
        if self.read_only or not self.opts["auto_join"]:
            return False
        try:
            await self.client.request("POST", path("join", room_id), json={})
        except MatrixError:
            return False  # the invite was withdrawn or the room is gone: it stays an invite
        return True

    async def _backfill(self, job: Job, budget: _Budget, meta: dict) -> tuple[list[dict], Job | None]:
        """Events of one gap, oldest first, fetched with ``/messages`` (dir=b) from
        ``job.start`` down to ``job.stop`` (the previous sync token) or, on a first
        pull, to the account's window; at most what ``budget`` allows. Returns the
        events and the job for the rest of the gap (``None`` when it is closed)."""
        out: list[dict] = []
        token = job.start
        while True:
            if budget.left <= 0:
                out.reverse()
                return out, Job(job.room_id, token, job.stop, job.window_start)
            params = {"dir": "b", "from": token, "filter": messages_filter(),
                      "limit": str(min(self.BACKFILL_PAGE, budget.left))}
            if job.stop:
                params["to"] = job.stop
            try:
                page = await self.client.request("GET", path("rooms", job.room_id, "messages"), params=params)
            except MatrixError:
                meta["history_gap"] = True  # no longer allowed to read back: said plainly, not hidden
                break
            chunk = [e for e in page.get("chunk") or [] if isinstance(e, dict)]
            budget.left -= max(1, len(chunk))  # an empty (filtered) page still costs a request
            for event in chunk:  # newest first
                ts = event.get("origin_server_ts")
                if job.window_start is not None and isinstance(ts, int) and ts < job.window_start:
                    out.reverse()
                    return out, None  # reached the start of the window
                out.append(event)
            end = page.get("end")
            if not isinstance(end, str) or end == token:
                break  # reached the previous cursor or the start of the room
            token = end
        out.reverse()
        return out, None

    async def _resolve_edits(self, room: Room, converter: EventConverter, conv: Converted) -> None:
        for edit in sorted(conv.edits, key=lambda e: e.ts):
            original = conv.messages.get(edit.original_id)
            if original is None and edit.original_id not in conv.deleted:
                original = await self._fetch_message(room, converter, edit.original_id, conv)
            if original is None or conv.senders.get(edit.original_id) != edit.sender:
                continue  # gone, or an "edit" by someone else: ignored as the spec says
            converter.apply_edit(original, edit)

    async def _fetch_message(self, room: Room, converter: EventConverter, event_id: str,
                             conv: Converted) -> Message | None:
        """The original of an edit that is not in this page (sent before the cursor)."""
        try:
            event = await self.client.request("GET", path("rooms", room.room_id, "event", event_id))
        except MatrixError:
            return None
        if event.get("type") not in ("m.room.message", "m.room.encrypted") or "redacted_because" in (
                event.get("unsigned") or {}):
            return None
        single = Converted()
        converter.convert([event], single)
        message = single.messages.get(event_id)
        if message is not None:
            conv.messages[event_id] = message
            conv.senders[event_id] = event.get("sender", "")
        return message

    # ------------------------------------------------------------------ writing

    async def push(self, action: PushAction) -> Receipt:
        self.require_writable(f"{action.kind} in {action.thread_remote_id}")
        if action.kind == "reply":
            return await self._reply(action)
        if action.kind == "mark_read":
            return await self._mark_read(action)
        if action.kind == "mark_unread":
            await self._set_marked_unread(action.thread_remote_id, True)
            return Receipt(sent_at=datetime.now(UTC), detail="marked unread")
        raise Unsupported(f"{self.name}: Matrix has no remote {action.kind!r}; it stays in Switchboard")

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """A reply is delivered if the room's timeline holds our event with the outbox key
        (as txnId, seen by the sending device, or in the content, seen by any; in an
        encrypted room once decrypted), looking back to when the reply was queued."""
        if action.kind != "reply":
            return None  # read markers: setting them again is harmless
        since_ms = (action.created_at.timestamp() - 60) * 1000 if action.created_at else None
        params = {"dir": "b", "limit": "100"}
        for _ in range(MAX_LOOKBACK_PAGES):
            page = await self.client.request("GET", path("rooms", action.thread_remote_id, "messages"), params=params)
            chunk = [e for e in page.get("chunk") or [] if isinstance(e, dict)]
            for event in chunk:
                if event.get("sender") != self.user_id:
                    continue
                if event.get("type") == "m.room.encrypted" and self._crypto is not None:  # the key is inside
                    event = self._crypto.decrypt(event, action.thread_remote_id) or event
                if action.key in ((event.get("unsigned") or {}).get("transaction_id"),
                                  (event.get("content") or {}).get(OUTBOX_KEY)):
                    return Receipt(remote_id=event.get("event_id"), duplicate=True, detail="already in the room")
            oldest = chunk[-1].get("origin_server_ts") if chunk else None
            if not page.get("end") or not chunk or (since_ms and isinstance(oldest, int) and oldest < since_ms):
                return None
            params = {**params, "from": page["end"]}
        return None

    async def newer_activity(self, action: PushAction, since: datetime, own_keys: frozenset[str] = frozenset(),
                             known: frozenset[str] = frozenset()) -> Newer | None:
        """The room's timeline since ``since``: the customer, or a reply none of our keys made (newer.py)."""
        from providers.matrix import newer

        return await newer.look(self, action, since, own_keys, OUTBOX_KEY)

    async def _room_for_push(self, room_id: str) -> Room:
        room = self._room(room_id)
        if not room.state_loaded and not room.encrypted:
            try:
                event = await self.client.request("GET", path("rooms", room_id, "state", "m.room.encryption", ""))
                if event.get("algorithm"):
                    room.apply({"type": "m.room.encryption", "state_key": "", "content": event}, self.user_id)
            except MatrixError as err:
                if getattr(err, "errcode", "") != "M_NOT_FOUND":
                    raise PermanentError(f"{self.name}: cannot send into room {room_id}: the support account is "
                                         "not in it any more", fix="ask the customer to invite it again") from None
        return room

    async def _reply(self, action: PushAction) -> Receipt:
        if not action.text.strip():
            raise PermanentError(f"{self.name}: refusing to send an empty reply")
        room = await self._room_for_push(action.thread_remote_id)
        content = {"msgtype": "m.text", "body": action.text, OUTBOX_KEY: action.key}
        event_type = "m.room.message"
        if room.encrypted:
            if self._crypto is None:
                raise PermanentError(f"{self.name}: this conversation is end-to-end encrypted and encryption is "
                                     "off for this account", fix=ENCRYPTED_FIX)
            self._crypto.use_token(self.client.store.session.access_token)
            content = await self._crypto.encrypt(action.thread_remote_id, event_type, content,
                                                 refuse_unverified=self.opts["refuse_unverified_devices"])
            event_type = "m.room.encrypted"
        url = path("rooms", action.thread_remote_id, "send", event_type, action.key)
        data = await self._send_once(url, content)
        event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
        return Receipt(remote_id=event_id, sent_at=datetime.now(UTC), detail="sent")

    async def _send_once(self, url: str, content: dict) -> dict:
        """PUT with the outbox key as txnId; a short rate limit is waited out once."""
        for attempt in (1, 2):
            try:
                return await self.client.request("PUT", url, json=content)
            except TransientError as err:
                wait = err.retry_after
                if attempt == 2 or wait is None or wait > self.MAX_INLINE_WAIT:
                    raise
                await asyncio.sleep(wait + 0.05)
            except MatrixError as err:
                raise PermanentError(f"{self.name}: the homeserver refused the reply ({err})",
                                     fix="the support account may have left the room") from None
        raise AssertionError("unreachable")

    async def _mark_read(self, action: PushAction) -> Receipt:
        room_id = action.thread_remote_id
        event_id = action.args.get("event_id") or action.reply_to_remote_id
        if not event_id:
            page = await self.client.request("GET", path("rooms", room_id, "messages"),
                                             params={"dir": "b", "limit": "1"})
            chunk = page.get("chunk") or []
            event_id = chunk[0].get("event_id") if chunk and isinstance(chunk[0], dict) else None
        if not event_id:
            return Receipt(detail="nothing to mark read")
        try:
            await self.client.request("POST", path("rooms", room_id, "receipt", "m.read", event_id), json={})
        except MatrixError as err:
            raise PermanentError(f"{self.name}: could not mark the conversation read ({err})") from None
        await self._set_marked_unread(room_id, False)
        return Receipt(remote_id=event_id, sent_at=datetime.now(UTC), detail="read receipt sent")

    async def _set_marked_unread(self, room_id: str, unread: bool) -> None:
        """The room's ``m.marked_unread`` flag (Matrix 1.12), which other clients of the account show."""
        url = path("user", self.user_id, "rooms", room_id, "account_data", "m.marked_unread")
        try:
            await self.client.request("PUT", url, json={"unread": unread})
        except MatrixError as err:
            raise PermanentError(f"{self.name}: could not change the conversation's unread flag ({err})") from None

    async def fetch_attachment(self, message_remote_id: str, ref: str) -> bytes:
        if not ref.startswith(ENCRYPTED_FILE):
            return await self.client.download(ref)
        from providers.matrix.crypto import decrypt_file  # lazy, like the rest of the Olm machine

        return await decrypt_file(self.name, ref.removeprefix(ENCRYPTED_FILE), self.client.download)


class _Budget:
    """How many more events this pull may back-fill."""

    def __init__(self, left: int) -> None:
        self.left = left


def _items(section) -> list[tuple[str, dict]]:
    if not isinstance(section, dict):
        return []
    return [(k, v) for k, v in section.items() if isinstance(k, str) and isinstance(v, dict)]

