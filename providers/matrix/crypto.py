"""End-to-end encryption for the Matrix adapter, done by matrix-nio's Olm machine (vodozemac).

The adapter keeps its own HTTP client for ``/sync``, back-fill and sends; this
module owns what encryption adds: the device's Olm account and the room keys in
an encrypted key store under the account's state folder (folder 0700, files
0600, unlocked by a passphrase kept in the keyring), the device keys and
one-time keys the homeserver needs, the customers' device lists, and the
room-key shares that make our replies readable. nio's client does the crypto
requests (``keys/upload``, ``keys/query``, ``keys/claim``, ``sendToDevice``);
every failure leaves here as a provider error with its fix.

Read-only, nothing is sent but our own device's keys: no key shares, no key
requests, no to-device messages. Key requests from other devices are answered
by nio only for our own user's verified devices.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from nio import AsyncClient, AsyncClientConfig, MegolmEvent, SyncResponse
from nio.crypto import TrustState, decrypt_attachment
from nio.exceptions import EncryptionError
from nio.responses import ErrorResponse
from nio.rooms import MatrixRoom

from providers.base import AuthError, KeptSecrets, PermanentError, TransientError
from providers.text import clean_line

PASSPHRASE_NAME = "matrix-e2ee-passphrase"
STORE_FOLDER = "e2ee"
ALGORITHM = "m.megolm.v1.aes-sha2"
NEW_KEYS = ("remove this device from the account in another Matrix client (e.g. Element: Settings > Sessions); "
            "Switchboard then publishes new keys")
LOST_STORE_FIX = f"if its key store was lost, {NEW_KEYS}"


class _IntoSwitchboardLog(logging.Handler):
    """nio's own log lines go to Switchboard's log file, never to the terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        log.handle(record)


log = logging.getLogger("switchboard.matrix")
_nio_log = logging.getLogger("nio")
_nio_log.propagate = False
_nio_log.setLevel(logging.WARNING)
if not any(isinstance(h, _IntoSwitchboardLog) for h in _nio_log.handlers):
    _nio_log.addHandler(_IntoSwitchboardLog())


async def decrypt_file(account: str, ref: str, download: Callable[[str], Awaitable[bytes]]) -> bytes:
    """Download an encrypted attachment and open it with the key its message carried."""
    try:
        parts = json.loads(ref)
        url, key, digest, iv = parts["url"], parts["k"], parts["sha256"], parts["iv"]
    except (ValueError, KeyError, TypeError):
        raise PermanentError(f"{account}: the encrypted attachment's reference is unreadable",
                             fix="sync the conversation again") from None
    ciphertext = await download(url)
    try:
        return decrypt_attachment(ciphertext, key, digest, iv)
    except (EncryptionError, ValueError, KeyError, TypeError):
        raise PermanentError(f"{account}: the encrypted attachment does not match its key or checksum",
                             fix="ask the customer to send the file again") from None


def _parse_sync(answer: dict) -> SyncResponse | None:
    try:
        resp = SyncResponse.from_dict(copy.deepcopy(answer))  # nio's parser edits what it reads
    except (AttributeError, KeyError, TypeError, ValueError):  # it trusts the shapes it did not validate
        return None
    return None if isinstance(resp, ErrorResponse) else resp


@dataclass(frozen=True, slots=True)
class Device:
    """One of a person's devices as our key store knows it."""

    device_id: str
    name: str
    fingerprint: str  # the ed25519 key in groups of four, to compare by voice or another channel
    verified: bool
    blocked: bool


class Crypto:
    """One account's Olm machine, store and crypto requests."""

    def __init__(self, *, account: str, homeserver: str, user_id: str, device_id: str, state_dir: str,
                 kept: KeptSecrets, timeout: float) -> None:
        self.account = account
        self.folder = Path(state_dir).expanduser() / STORE_FOLDER
        self.user_id = user_id
        self.device_id = device_id
        passphrase = kept.get(PASSPHRASE_NAME)
        if not passphrase:
            if self.folder.exists() and any(self.folder.glob("*.db")):
                raise AuthError(f"{account}: the encryption key store in {self.folder} has no passphrase in the "
                                "keyring",
                                fix=f"restore the keyring entry; or move that folder away (older encrypted "
                                    f"messages stay unreadable) and {NEW_KEYS}")
            passphrase = secrets.token_urlsafe(32)
            kept.put(PASSPHRASE_NAME, passphrase)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)
        config = AsyncClientConfig(encryption_enabled=True, pickle_key=passphrase, store_sync_tokens=False,
                                   max_limit_exceeded=0, max_timeouts=0, request_timeout=timeout)
        self.nio = AsyncClient(homeserver, user_id, device_id=device_id, store_path=str(self.folder), config=config)
        self.problem = ""  # why encryption cannot work on this device, once we know
        self.fix = LOST_STORE_FIX

    # ------------------------------------------------------------------ life cycle

    def open(self, access_token: str) -> None:
        """Load (or create) the device's Olm account from the store."""
        try:
            self.nio.restore_login(self.user_id, self.device_id, access_token)
        except Exception as exc:  # a corrupt store or a wrong passphrase: nio raises what its store raises
            raise PermanentError(f"{self.account}: cannot open the encryption key store in {self.folder} "
                                 f"({type(exc).__name__})",
                                 fix=f"check the keyring entry; or move that folder away (older encrypted "
                                     f"messages stay unreadable) and {NEW_KEYS}") from None
        for f in self.folder.iterdir():
            if f.is_file():
                os.chmod(f, 0o600)

    def use_token(self, access_token: str) -> None:
        self.nio.access_token = access_token

    async def close(self) -> None:
        await self.nio.close()
        store = self.nio.store
        if store is not None and getattr(store, "database", None) is not None:
            store.database.close()

    @property
    def olm(self):
        return self.nio.olm

    @property
    def identity_key(self) -> str:
        return self.olm.account.identity_keys["ed25519"]

    # ------------------------------------------------------------------ reading

    async def absorb(self, answer: dict) -> None:
        """Let the Olm machine read a ``/sync`` answer: room keys and other to-device
        messages, members of encrypted rooms, device-list changes, one-time key counts."""
        resp = _parse_sync(answer)
        if resp is None:
            # nio reads the whole answer; one odd room must not cost us the room keys, which the
            # server sends only once: read the crypto parts alone.
            log.warning("%s: nio could not read a sync answer; reading its keys alone", self.account)
            resp = _parse_sync({k: answer[k] for k in ("next_batch", "to_device", "device_lists",
                                                      "device_one_time_keys_count") if k in answer} | {"rooms": {}})
            if resp is None:
                log.warning("%s: nio could not read the keys of a sync answer either", self.account)
                return
        await self.nio.receive_response(resp)

    def decrypt(self, event: dict, room_id: str) -> dict | None:
        """The plain event inside an ``m.room.encrypted`` one, or None when our keys
        cannot open it (yet). Top-level facts of the outer event (its id, sender,
        time and ``unsigned``, where redactions and our transaction id live) stay."""
        if (event.get("content") or {}).get("algorithm") != ALGORITHM:
            return None
        try:
            outer = MegolmEvent.from_dict(event)
            if not isinstance(outer, MegolmEvent):
                return None
            outer.room_id = room_id
            inner = self.olm.decrypt_megolm_event(outer, room_id)
        except (EncryptionError, KeyError, TypeError, ValueError):
            return None
        source = getattr(inner, "source", None)
        if not isinstance(source, dict) or not isinstance(source.get("content"), dict):
            return None
        plain = {**event, "type": source.get("type"), "content": source["content"]}
        plain["unsigned"] = {**(event.get("unsigned") or {}), "decrypted": True,
                             "verified": bool(getattr(inner, "verified", False))}
        return plain

    def can_decrypt(self, event: dict, room_id: str) -> bool:
        """Whether the room key this event needs has arrived (no decryption done)."""
        content = event.get("content") or {}
        sender_key, session_id = content.get("sender_key"), content.get("session_id")
        if not isinstance(sender_key, str) or not isinstance(session_id, str):
            return False
        return self.olm.inbound_group_store.get(room_id, sender_key, session_id) is not None

    async def settle(self, writable: bool) -> None:
        """After a sync: upload our own keys if the server lacks them, learn changed
        device lists; writable, also send what the Olm machine queued (key answers)."""
        if self.nio.should_upload_keys and not self.problem:
            try:
                await self._ask(self.nio.keys_upload(), "publish this device's encryption keys")
            except PermanentError as err:
                # Most often: the device id already has other keys (its key store was lost). Plain rooms
                # keep working; encrypted ones say this until the old device is gone.
                self.problem = (f"{err.args[0]}; encrypted rooms cannot be read or answered on device "
                                f"{self.device_id}")
        if self.nio.should_query_keys:
            await self._ask(self.nio.keys_query(), "fetch the customers' device keys")
        if writable:
            if self.nio.should_claim_keys:
                await self._ask(self.nio.keys_claim(self.nio.get_users_for_key_claiming()),
                                "start encrypted sessions with new devices")
                # Key requests that waited for that session: answered now (own verified devices only;
                # nio hands back the others, which we leave unanswered).
                self.olm.collect_key_requests()
            for resp in await self._ask(self.nio.send_to_device_messages(), "answer a room-key request"):
                self._check(resp, "answer a room-key request")

    def devices(self, user_id: str) -> list[Device]:
        out = []
        for d in self.olm.device_store.active_user_devices(user_id):
            key = d.keys.get("ed25519", "")
            out.append(Device(d.device_id, clean_line(d.display_name or ""), " ".join(
                key[i:i + 4] for i in range(0, len(key), 4)), d.trust_state == TrustState.verified,
                d.trust_state == TrustState.blacklisted))
        return sorted(out, key=lambda d: d.device_id)

    # ------------------------------------------------------------------ writing

    async def encrypt(self, room_id: str, event_type: str, content: dict, *, refuse_unverified: bool) -> dict:
        """The ``m.room.encrypted`` content for ``content``, with the room key shared
        to every member's devices first (trust on first use), or, with
        ``refuse_unverified``, refused while any of them is not verified."""
        if self.problem:
            raise PermanentError(f"{self.account}: {self.problem}", fix=self.fix)
        room = self.nio.rooms.get(room_id)
        if room is None:  # not seen since the restart: nio learns its members below
            room = self.nio.rooms[room_id] = MatrixRoom(room_id, self.user_id, encrypted=True)
        room.encrypted = True
        if not room.members_synced:
            await self._ask(self.nio.joined_members(room_id), "list the room's members")
        if self.nio.should_query_keys:
            await self._ask(self.nio.keys_query(), "fetch the customers' device keys")
        if refuse_unverified:
            unverified = [f"{d.user_id} {d.device_id}" for user in room.users
                          for d in self.olm.device_store.active_user_devices(user)
                          if d.device_id != self.device_id and d.trust_state != TrustState.verified
                          and d.trust_state != TrustState.blacklisted]
            if unverified:
                raise PermanentError(f"{self.account}: not sending: unverified device(s) in the room: "
                                     f"{clean_line(', '.join(unverified))[:200]}",
                                     fix="compare the device's fingerprint with the customer and add it to "
                                         "verified_devices, or set refuse_unverified_devices = false")
        if self.olm.should_share_group_session(room_id):
            await self._ask(self.nio.share_group_session(room_id, ignore_unverified_devices=True),
                            "share the room key with the customer's devices")
        _, encrypted = self.nio.encrypt(room_id, event_type, content)
        return encrypted

    def verify(self, user_id: str, device_id: str, fingerprint: str) -> None:
        """Mark a device verified when its key is the fingerprint given (spaces ignored)."""
        device = self.olm.device_store[user_id].get(device_id) if user_id in self.olm.device_store.users else None
        if device is not None and device.keys.get("ed25519", "") == fingerprint.replace(" ", "") and (
                device.trust_state != TrustState.verified):
            self.nio.verify_device(device)

    # ------------------------------------------------------------------ errors

    async def _ask(self, request, what: str):
        """Await one of nio's requests; its network failures become a TransientError."""
        try:
            return self._check(await request, what)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise TransientError(f"{self.account}: cannot reach the homeserver to {what} ({type(exc).__name__})",
                                 fix="Switchboard will retry") from None

    def _check(self, resp: object, what: str) -> object:
        if isinstance(resp, ErrorResponse):
            status = str(resp.status_code or "")
            detail = clean_line(resp.message or "")[:200]
            if status in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                raise AuthError(f"{self.account}: the homeserver no longer accepts our session while trying to {what}",
                                fix=f"run: switchboard accounts add {self.account}")
            if status == "M_LIMIT_EXCEEDED" or status.startswith("5") or not status:
                raise TransientError(f"{self.account}: could not {what} ({status or 'no answer'} {detail})".rstrip(),
                                     fix="Switchboard will retry")
            raise PermanentError(f"{self.account}: the homeserver refused to {what}: {status} {detail}".rstrip())
        return resp
