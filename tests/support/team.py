"""Headless consoles of one team for the presence tests: a cache, the sync engine, the presence client.

:func:`make_team_room` creates the team room on a real Synapse the way a team's admin
would (members may write ``com.switchboard.presence``) and invites the agents, who join.
:class:`HeadlessConsole` is one agent's console without a screen: its own data folder
and cache, its own config text (the same shared mailbox for every agent, each naming the
account its own way), synced through the real engine; its presence client is the real
one, given its transport explicitly so two agents can share one test process (the
keyring's single ``team`` entry is one agent's per machine).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from console.cache import connect
from console.config import parse
from console.engine import Engine
from console.team.keys import identities
from console.team.presence import PresenceClient
from providers.base import AccountConfig, KeptSecrets, load
from tests.support.servers.synapse import API, MatrixUser

PRESENCE = "com.switchboard.presence"


async def make_team_room(owner: MatrixUser, members: list[MatrixUser], *, power: int = 0) -> tuple[str, str]:
    """(room id, alias) of a new team room whose members may announce presence."""
    alias_local = f"team-{uuid.uuid4().hex[:8]}"
    body = {"preset": "private_chat", "name": "Support team", "room_alias_name": alias_local,
            "invite": [m.user_id for m in members],
            "power_level_content_override": {"events": {PRESENCE: power}}}
    room_id = (await owner.call("POST", f"{API}/createRoom", body))["room_id"]
    for m in members:
        await m.join(room_id)
    return room_id, f"#{alias_local}:localhost"


def mail_account(dv, username: str, name: str) -> str:
    return (f'[[accounts]]\nname = "{name}"\nprovider = "imap"\nhost = "127.0.0.1"\nport = {dv.imap_port}\n'
            f'security = "none"\nusername = "{username}"\ntimeout = 10.0\n')


def team_section(server_url: str, user: MatrixUser, alias: str, ttl: float = 3, heartbeat: float = 1,
                 min_interval: float = 0.5, extra: str = "") -> str:
    return (f'[team]\nhomeserver = "{server_url}"\nuser_id = "{user.user_id}"\nrooms = ["{alias}"]\n'
            f"ttl = {ttl}\nheartbeat = {heartbeat}\nmin_interval = {min_interval}\ntimeout = 10\n{extra}")


def customer_mail(to: str, subject: str, text: str = "Hello, my order never came.") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Casey Customer <casey@customer.example>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
    msg["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    msg.set_content(text)
    return bytes(msg)


class HeadlessConsole:
    def __init__(self, folder: Path, config_text: str, team_user: MatrixUser | None) -> None:
        self.folder = folder
        self.config = parse(config_text, folder / "config.toml")
        self.read_only = self.config.read_only
        self.db = connect(folder / "default.sqlite3")
        self.engine = Engine(self.db, self.config, read_only=self.read_only, data_dir=folder)
        self.team_user = team_user
        self.client: PresenceClient | None = None
        self.changes: list[set[int] | None] = []

    async def sync(self) -> None:
        states = await self.engine.run_once()
        bad = [s.line() for s in states.values() if s.state != "online"]
        assert not bad, bad

    def thread(self, subject: str) -> int:
        row = self.db.execute("SELECT id FROM threads WHERE subject=?", (subject,)).fetchone()
        assert row is not None, f"no conversation {subject!r} in {self.folder.name}'s cache"
        return row[0]

    async def start_presence(self) -> PresenceClient:
        team = self.config.team
        secret = self.team_user.password
        transport = load(team.provider).team_transport(AccountConfig(
            name="team", provider=team.provider, options=team.options(str(self.folder / "state" / "team")),
            secret=lambda: secret, kept=KeptSecrets()))
        self.client = PresenceClient(team, transport, db=self.db, agent_name=self.config.agent_name,
                                     read_only=self.read_only, identities=identities(self.config, self.folder),
                                     run=self.engine.writer.run, on_change=self.changes.append)
        self.client.start()
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.stop()
        await self.engine.stop()
        self.db.close()


async def until(check, timeout: float = 5.0, what: str = "the condition"):
    """Poll ``check`` (sync or async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.05)
