"""A real Synapse homeserver on 127.0.0.1 for the Matrix adapter's tests.

``synapse`` (session scope) writes its own ``homeserver.yaml`` into a temporary
folder, generates the signing key once, starts Synapse from ``.cache/synapse-venv``
(installed by ``tests/support/servers/install_synapse.sh``), waits for ``/health`` and
stops it by pid at the end. Rate limits are raised out of the way; a test that
needs a real one sets a per-user override through the admin API
(:meth:`SynapseServer.limit_messages`).

:class:`MatrixUser` plays the other side of a support chat: a customer who
creates a room, invites the support account, writes, edits, redacts, and looks
at what arrived and which read receipts it can see.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from console.secrets import KeyringKept
from providers.base import AccountConfig
from providers.matrix import MatrixProvider

from tests.support.servers.common import TOOLS, free_port, missing, session_server, stop

SYNAPSE_VENV = TOOLS / "synapse-venv"
SYNAPSE_PY = SYNAPSE_VENV / "bin" / "python"
INSTALL_HINT = "run tests/support/servers/install_synapse.sh"
API = "/_matrix/client/v3"
REQUEST_TIMEOUT = 20.0

_LOG_CONFIG = """\
version: 1
formatters:
  plain:
    format: '%(asctime)s %(levelname)s %(name)s %(request)s %(message)s'
filters:
  context:
    (): synapse.logging.context.LoggingContextFilter
    request: ""
handlers:
  file:
    class: logging.FileHandler
    formatter: plain
    filters: [context]
    filename: {log}
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


def _fast(rate: int = 1000) -> dict:
    return {"per_second": rate, "burst_count": rate}


def write_config(folder: Path, port: int, shared_secret: str) -> Path:
    """homeserver.yaml (JSON is valid YAML) with every path inside ``folder``."""
    (folder / "media").mkdir(exist_ok=True)
    (folder / "log.config").write_text(_LOG_CONFIG.format(log=folder / "homeserver.log"))
    config = {
        "server_name": "localhost",
        "pid_file": str(folder / "homeserver.pid"),
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                       "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
        "log_config": str(folder / "log.config"),
        "media_store_path": str(folder / "media"),
        "signing_key_path": str(folder / "localhost.signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": uuid.uuid4().hex,
        "form_secret": uuid.uuid4().hex,
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "presence": {"enabled": False},
        "report_stats": False,
        "url_preview_enabled": False,
        "bcrypt_rounds": 4,  # test server: cheap password hashing keeps registration fast
        "rc_message": _fast(),
        "rc_registration": _fast(),
        "rc_login": {"address": _fast(), "account": _fast(), "failed_attempts": _fast()},
        "rc_joins": {"local": _fast(), "remote": _fast()},
        "rc_joins_per_room": _fast(),
        "rc_invites": {"per_room": _fast(), "per_user": _fast(), "per_issuer": _fast()},
        "rc_admin_redaction": _fast(),
        "rc_3pid_validation": _fast(),
        "rc_presence": {"per_user": _fast()},
        "rc_delayed_event_mgmt": _fast(),
        "rc_reports": _fast(),
        "rc_room_creation": _fast(),
    }
    path = folder / "homeserver.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


@dataclass
class SynapseServer:
    url: str
    folder: Path
    shared_secret: str
    pid: int
    _admin: MatrixUser | None = field(default=None, repr=False)

    def register_sync(self, localpart: str | None = None, password: str = "secret-pw", admin: bool = False
                      ) -> MatrixUser:
        """A new user through the shared-secret admin API (works for admins too)."""
        localpart = localpart or f"user{uuid.uuid4().hex[:10]}"
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT) as http:
            nonce = http.get("/_synapse/admin/v1/register").json()["nonce"]
            mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
            mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(),
                                     b"admin" if admin else b"notadmin"]))
            resp = http.post("/_synapse/admin/v1/register", json={
                "nonce": nonce, "username": localpart, "password": password, "admin": admin,
                "mac": mac.hexdigest()})
            resp.raise_for_status()
            data = resp.json()
        return MatrixUser(self.url, data["user_id"], data["access_token"], password)

    async def register(self, localpart: str | None = None, password: str = "secret-pw") -> MatrixUser:
        """A new user through ``/register`` with an ``m.login.dummy`` step (open registration)."""
        localpart = localpart or f"user{uuid.uuid4().hex[:10]}"
        async with httpx.AsyncClient(base_url=self.url, timeout=REQUEST_TIMEOUT) as http:
            resp = await http.post(f"{API}/register", json={
                "username": localpart, "password": password, "auth": {"type": "m.login.dummy"},
                "initial_device_display_name": "test"})
            resp.raise_for_status()
            data = resp.json()
        return MatrixUser(self.url, data["user_id"], data["access_token"], password)

    @property
    def admin(self) -> MatrixUser:
        if self._admin is None:
            self._admin = self.register_sync(f"admin{uuid.uuid4().hex[:6]}", admin=True)
        return self._admin

    async def limit_messages(self, user_id: str, per_second: int = 1, burst: int = 1) -> None:
        """A real rate limit on one user's sends (Synapse's per-user override)."""
        await self.admin.call("POST", f"/_synapse/admin/v1/users/{quote(user_id, safe='')}/override_ratelimit",
                              {"messages_per_second": per_second, "burst_count": burst})


@dataclass
class MatrixUser:
    """Someone on the homeserver, driven through the client-server API."""

    url: str
    user_id: str
    token: str
    password: str

    async def call(self, method: str, url: str, body: dict | None = None, params: dict | None = None) -> dict:
        async with httpx.AsyncClient(base_url=self.url, timeout=REQUEST_TIMEOUT) as http:
            resp = await http.request(method, url, json=body, params=params,
                                      headers={"Authorization": f"Bearer {self.token}"})
            if resp.status_code >= 400:
                raise AssertionError(f"{method} {url} -> {resp.status_code} {resp.text}")
            return resp.json()

    @staticmethod
    def q(value: str) -> str:
        return quote(value, safe="")

    async def create_room(self, invite: list[str] = (), name: str | None = None,
                          initial_state: list[dict] = ()) -> str:
        body: dict = {"preset": "private_chat", "invite": list(invite), "is_direct": True,
                      "initial_state": list(initial_state)}
        if name:
            body["name"] = name
        return (await self.call("POST", f"{API}/createRoom", body))["room_id"]

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.call("POST", f"{API}/rooms/{self.q(room_id)}/invite", {"user_id": user_id})

    async def join(self, room_id: str) -> None:
        await self.call("POST", f"{API}/join/{self.q(room_id)}", {})

    async def send_event(self, room_id: str, event_type: str, content: dict) -> str:
        txn = uuid.uuid4().hex
        return (await self.call("PUT", f"{API}/rooms/{self.q(room_id)}/send/{event_type}/{txn}", content))["event_id"]

    async def send(self, room_id: str, text: str, html: str | None = None, msgtype: str = "m.text") -> str:
        content = {"msgtype": msgtype, "body": text}
        if html is not None:
            content.update(format="org.matrix.custom.html", formatted_body=html)
        return await self.send_event(room_id, "m.room.message", content)

    async def edit(self, room_id: str, event_id: str, text: str) -> str:
        return await self.send_event(room_id, "m.room.message", {
            "msgtype": "m.text", "body": f"* {text}", "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}})

    async def redact(self, room_id: str, event_id: str) -> None:
        txn = uuid.uuid4().hex
        await self.call("PUT", f"{API}/rooms/{self.q(room_id)}/redact/{self.q(event_id)}/{txn}", {"reason": "test"})

    async def set_display_name(self, name: str) -> None:
        await self.call("PUT", f"{API}/profile/{self.q(self.user_id)}/displayname", {"displayname": name})

    async def full_sync(self, timeline_limit: int = 500) -> dict:
        flt = {"room": {"timeline": {"limit": timeline_limit}}, "presence": {"not_types": ["*"]}}
        return await self.call("GET", f"{API}/sync", params={"filter": json.dumps(flt), "timeout": "0"})

    async def messages_from(self, sender: str, containing: str = "") -> list[dict]:
        """Messages from ``sender`` the customer's own /sync shows, in every joined room."""
        rooms = (await self.full_sync()).get("rooms", {}).get("join", {})
        return [e for room in rooms.values() for e in room.get("timeline", {}).get("events", [])
                if e.get("type") == "m.room.message" and e.get("sender") == sender
                and containing in str(e.get("content", {}).get("body", ""))]

    async def receipts(self) -> dict:
        """Read receipts the customer can see, per room: {room: {event: {user: ts}}}."""
        out: dict = {}
        rooms = (await self.full_sync()).get("rooms", {}).get("join", {})
        for room_id, room in rooms.items():
            for event in room.get("ephemeral", {}).get("events", []):
                if event.get("type") == "m.receipt":
                    for event_id, kinds in event.get("content", {}).items():
                        for kind, users in kinds.items():
                            for user, info in users.items():
                                out.setdefault(room_id, {}).setdefault(event_id, {})[f"{kind}:{user}"] = info.get("ts")
        return out

    async def room_messages(self, room_id: str, limit: int = 200) -> list[dict]:
        page = await self.call("GET", f"{API}/rooms/{self.q(room_id)}/messages", params={"dir": "b", "limit": str(limit)})
        return [e for e in reversed(page.get("chunk", [])) if e.get("type") == "m.room.message"]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"synapse exited with code {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"synapse did not answer /health within {timeout}s")


class _Running:
    """The one Synapse of this test run, shared by every module that imports the fixture.

    Each test module that imports ``synapse`` gets its own session-scoped fixture
    definition from pytest; without this they would start one server each.
    """

    server: SynapseServer | None = None
    proc: subprocess.Popen | None = None
    users = 0

    @classmethod
    def start(cls, tmp_path_factory) -> SynapseServer:
        if cls.server is not None:
            return cls.server
        if not SYNAPSE_PY.exists():
            missing(f"Synapse is not installed: {INSTALL_HINT}")
        check = subprocess.run([str(SYNAPSE_PY), "-c", "import synapse.app.homeserver"], capture_output=True,
                               timeout=60)
        if check.returncode != 0:
            missing(f"Synapse in {SYNAPSE_VENV} does not import: {INSTALL_HINT}")
        folder = tmp_path_factory.mktemp("synapse")
        port = free_port()
        secret = uuid.uuid4().hex
        config = write_config(folder, port, secret)
        base = [str(SYNAPSE_PY), "-m", "synapse.app.homeserver", "-c", str(config)]
        keys = subprocess.run([*base, "--generate-keys"], cwd=folder, capture_output=True, text=True, timeout=120)
        if keys.returncode != 0:
            pytest.fail(f"synapse --generate-keys failed: {keys.stderr.strip()[-500:]}", pytrace=False)
        with open(folder / "stderr.log", "wb") as err:
            proc = subprocess.Popen(base, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc)
        except BaseException:
            stop(proc)
            raise
        cls.proc = session_server(proc)
        cls.server = SynapseServer(url=url, folder=folder, shared_secret=secret, pid=proc.pid)
        return cls.server

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users <= 0 and cls.proc is not None:
            stop(cls.proc)
            cls.proc = cls.server = None


class Folders:
    """The one method of pytest's tmp_path_factory the starter uses, for programs outside pytest (the benches)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        path = self.root / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir()
        return path


@pytest.fixture(scope="session")
def synapse(tmp_path_factory):
    """A running Synapse for the whole test session; stopped by pid at the end."""
    server = _Running.start(tmp_path_factory)
    _Running.users += 1
    try:
        yield server
    finally:
        _Running.release()


# --------------------------------------------------------------------------- the adapter's side


def matrix_account(server: SynapseServer, agent: MatrixUser, state_dir: Path | str = "", name: str = "support",
                   password: str | None = None, **options) -> AccountConfig:
    """An ``[[accounts]]`` entry for the Matrix adapter, signed in as ``agent``; its kept
    secrets (token, key-store passphrase) go to the test keyring, as the engine's do."""
    secret = agent.password if password is None else password
    opts = {"homeserver": server.url, "user_id": agent.user_id, "state_dir": str(state_dir), "timeout": 20.0,
            **options}
    return AccountConfig(name=name, provider="matrix", options=opts, secret=lambda: secret, kept=KeyringKept(name))


class MatrixHarness:
    """The contract suite's harness: a fresh support account per test and a customer.

    ``customer_writes`` creates the customer's room on first use, invites the support
    account and writes there. When the adapter under test is read-only (a supervisor),
    the support account has already joined the room from another client of its own:
    a read-only adapter never accepts invites, so without that it could read nothing.
    """

    def __init__(self, server: SynapseServer, state_dir: Path) -> None:
        self.server = server
        self.state_dir = state_dir
        self.agent: MatrixUser | None = None
        self.customer: MatrixUser | None = None
        self.room: str | None = None
        self.agent_prejoined = False
        self.devices = 0

    async def start(self) -> "MatrixHarness":
        self.agent = await self.server.register()
        self.customer = await self.server.register()
        return self

    async def make(self, read_only: bool) -> MatrixProvider:
        """Each adapter signs in as its own device (its own state folder): Synapse's
        txnId de-duplication, which is per device, cannot hide a second send."""
        self.agent_prejoined = read_only
        self.devices += 1
        return MatrixProvider(matrix_account(self.server, self.agent, self.state_dir / f"device-{self.devices}"))

    async def customer_writes(self, text: str) -> None:
        if self.room is None:
            self.room = await self.customer.create_room(invite=[self.agent.user_id])
            if self.agent_prejoined:
                await self.agent.join(self.room)
        await self.customer.send(self.room, text)

    async def delivered(self, text: str) -> int:
        return len(await self.customer.messages_from(self.agent.user_id, text))

    async def remote_state(self) -> object:
        joined = await self.agent.call("GET", f"{API}/joined_rooms")
        return await self.customer.receipts(), sorted(joined.get("joined_rooms", []))


class EncryptedCustomer:
    """A customer on a Matrix client with encryption on, written with the same library
    as the adapter (matrix-nio): its own device and key store, as Element would have.

    ``step`` is one turn of a real client's loop: sync, then publish and fetch keys
    and send the key shares it owes. Messages it reads are decrypted with its keys.
    """

    def __init__(self, server: SynapseServer, user: MatrixUser, store: Path) -> None:
        from nio import AsyncClient, AsyncClientConfig

        store.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.nio = AsyncClient(server.url, user.user_id, store_path=str(store),
                               config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True,
                                                        max_timeouts=3, request_timeout=REQUEST_TIMEOUT))
        self.to_device: list[str] = []  # kinds of the to-device messages it received, e.g. "RoomKeyRequest"

    @classmethod
    async def start(cls, server: SynapseServer, store: Path) -> "EncryptedCustomer":
        customer = cls(server, await server.register(), store)
        resp = await customer.nio.login(customer.user.password, device_name="customer phone")
        assert getattr(resp, "access_token", None), f"customer login failed: {resp}"
        await customer.step()
        return customer

    @classmethod
    async def login_as(cls, server: SynapseServer, user: MatrixUser, store: Path, device_name: str
                       ) -> "EncryptedCustomer":
        """Another device of an existing account (the agent's laptop, the customer's tablet)."""
        client = cls(server, user, store)
        resp = await client.nio.login(user.password, device_name=device_name)
        assert getattr(resp, "access_token", None), f"login failed: {resp}"
        await client.step()
        return client

    @property
    def user_id(self) -> str:
        return self.user.user_id

    @property
    def device_id(self) -> str:
        return self.nio.device_id

    async def event(self, room_id: str, event_id: str):
        """One event of the room as this device sees it: decrypted if its keys allow."""
        from nio import RoomMessagesResponse

        await self.step()
        resp = await self.nio.room_messages(room_id, start=self.nio.next_batch, limit=500)
        assert isinstance(resp, RoomMessagesResponse), f"room_messages failed: {resp}"
        event = next(e for e in resp.chunk if e.event_id == event_id)
        event.room_id = room_id  # /messages events do not carry it; a key request needs it
        return event

    async def verify(self, user_id: str, device_id: str) -> None:
        """Mark another device verified here (as after comparing its key)."""
        await self.step()
        self.nio.verify_device(self.nio.olm.device_store[user_id][device_id])

    async def ask_for_key(self, event, of_user: str) -> None:
        """Send a room-key request for an undecryptable event to every device of ``of_user``
        (to our own user the way clients do it, so the forwarded key is accepted)."""
        if of_user == self.user_id:
            resp = await self.nio.request_room_key(event)
        else:
            resp = await self.nio.to_device(event.as_key_request(of_user, self.device_id))
        assert not getattr(resp, "status_code", None), f"key request failed: {resp}"

    async def close(self) -> None:
        await self.nio.close()

    async def step(self) -> None:
        from nio import SyncResponse

        resp = await self.nio.sync(timeout=0, full_state=not self.nio.next_batch)
        assert isinstance(resp, SyncResponse), f"customer sync failed: {resp}"
        self.to_device.extend(type(e).__name__ for e in resp.to_device_events)
        if self.nio.should_upload_keys:
            await self.nio.keys_upload()
        if self.nio.should_query_keys:
            await self.nio.keys_query()
        if self.nio.should_claim_keys:
            await self.nio.keys_claim(self.nio.get_users_for_key_claiming())
        await self.nio.send_to_device_messages()

    async def open_dm(self, agent_id: str) -> str:
        """A direct chat with encryption on from the start, as Element creates it."""
        from nio import RoomPreset

        resp = await self.nio.room_create(is_direct=True, invite=[agent_id], preset=RoomPreset.trusted_private_chat,
                                          initial_state=[{"type": "m.room.encryption", "state_key": "",
                                                          "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
        assert getattr(resp, "room_id", None), f"room_create failed: {resp}"
        await self.step()
        return resp.room_id

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.step()
            room = self.nio.rooms.get(room_id)
            if room is not None and user_id in room.users and not room.users[user_id].invited:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{user_id} did not join {room_id}")

    async def send_event(self, room_id: str, content: dict) -> str:
        await self.step()
        resp = await self.nio.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
        assert getattr(resp, "event_id", None), f"room_send failed: {resp}"
        return resp.event_id

    async def send(self, room_id: str, text: str) -> str:
        return await self.send_event(room_id, {"msgtype": "m.text", "body": text})

    async def edit(self, room_id: str, event_id: str, text: str) -> str:
        return await self.send_event(room_id, {
            "msgtype": "m.text", "body": f"* {text}", "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}})

    async def redact(self, room_id: str, event_id: str) -> None:
        resp = await self.nio.room_redact(room_id, event_id, reason="test")
        assert getattr(resp, "event_id", None), f"room_redact failed: {resp}"

    async def send_before_its_key(self, room_id: str, text: str) -> tuple[str, dict]:
        """A message in a fresh room key that is shared with nobody yet, as when a key's
        to-device delivery lags behind the message; returns the event id and the key."""
        olm = self.nio.olm
        olm.create_outbound_group_session(room_id)
        session = olm.outbound_group_sessions[room_id]
        key = {"algorithm": "m.megolm.v1.aes-sha2", "room_id": room_id, "session_id": session.id,
               "session_key": session.session_key}  # exported before the message: opens it
        session.shared = True  # so room_send encrypts with it without sharing it
        return await self.send(room_id, text), key

    async def deliver_key(self, user_id: str, device_id: str, key: dict) -> None:
        """The late m.room_key, Olm-encrypted to one device (a session with it must exist)."""
        from nio.event_builders import ToDeviceMessage

        olm = self.nio.olm
        device = olm.device_store[user_id][device_id]
        session = olm.session_store.get(device.curve25519)
        assert session is not None, "no Olm session with that device yet: send it a normal message first"
        content = olm._olm_encrypt(session, device, "m.room_key", key)
        resp = await self.nio.to_device(ToDeviceMessage("m.room.encrypted", user_id, device_id, content))
        assert not hasattr(resp, "status_code") or resp.status_code is None, f"to_device failed: {resp}"

    async def send_encrypted_file(self, room_id: str, name: str, data: bytes, mimetype: str) -> str:
        """An attachment encrypted on the client (EncryptedFile in the event), as Element sends it."""
        import io

        resp, keys = await self.nio.upload(io.BytesIO(data), content_type=mimetype, filename=name, encrypt=True,
                                           filesize=len(data))
        assert getattr(resp, "content_uri", None) and keys, f"upload failed: {resp}"
        file = {**keys, "url": resp.content_uri}
        return await self.send_event(room_id, {"msgtype": "m.file", "body": name, "filename": name,
                                               "info": {"mimetype": mimetype, "size": len(data)}, "file": file})

    async def session_of(self, room_id: str, event_id: str) -> str:
        """The megolm session id an event of this room was encrypted with."""
        event = await self.user.call("GET", f"{API}/rooms/{self.user.q(room_id)}/event/{self.user.q(event_id)}")
        return event["content"]["session_id"]

    async def received(self, room_id: str, sender: str, containing: str = "") -> list[tuple[str, str]]:
        """(event id, text) of the messages from ``sender`` this client can read, decrypted."""
        from nio import MegolmEvent, RoomMessagesResponse, RoomMessageText

        await self.step()
        resp = await self.nio.room_messages(room_id, start=self.nio.next_batch, limit=500)
        assert isinstance(resp, RoomMessagesResponse), f"room_messages failed: {resp}"
        out = []
        for event in resp.chunk:
            if event.sender != sender:
                continue
            assert not isinstance(event, MegolmEvent), f"the customer could not decrypt {event.event_id}"
            if isinstance(event, RoomMessageText) and containing in event.body:
                out.append((event.event_id, event.body))
        return out


__all__ = ["synapse", "SynapseServer", "MatrixUser", "MatrixHarness", "EncryptedCustomer", "matrix_account",
           "write_config"]
