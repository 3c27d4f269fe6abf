"""Team presence over Matrix: each agent's entry is room state in the team's room(s).

The entry is a state event of type ``com.switchboard.presence`` whose state key is the
agent's own user id (written with ``PUT /rooms/{room}/state/{type}/{user_id}``), so the
room keeps exactly one per agent and a new write replaces the old. Consoles read them
with ``/sync`` filtered to that one event type in the team rooms: the first answer
carries every entry, later ones only the changes. An entry whose sender is not its
state key is ignored (a member cannot speak for another).

The room must let members write the type: its power levels need
``"events": {"com.switchboard.presence": 0}`` (see the README). Opened read-only (a
supervisor), nothing is joined and nothing is written: the account must already be in
the room.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from providers.base import (
    AccountConfig,
    AuthError,
    Option,
    OptionError,
    PermanentError,
    StateEntry,
    TeamTransport,
    validate_options,
)
from providers.matrix.client import MatrixClient, MatrixError, path
from providers.matrix.session import SessionStore

EVENT_TYPE = "com.switchboard.presence"
POWER_FIX = ('ask the room\'s admin to let members write presence: power level 0 for "com.switchboard.presence" '
             "in the room's power levels (README: Team presence)")

OPTIONS = (
    Option("homeserver", str, required=True),
    Option("user_id", str, required=True),
    Option("rooms", list, required=True),
    Option("timeout", float, 30.0),
    Option("device_name", str, "Switchboard team"),
    Option("state_dir", str, ""),
)


def sync_filter(room_ids: list[str]) -> str:
    """Only presence entries, only in the team rooms (inline: a read-only console uploads nothing)."""
    return json.dumps({
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "rooms": room_ids,
            "state": {"types": [EVENT_TYPE], "lazy_load_members": False},
            "timeline": {"types": [EVENT_TYPE], "limit": 100},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "include_leave": False,
        },
    }, separators=(",", ":"))


class MatrixTeam(TeamTransport):
    def __init__(self, account: AccountConfig) -> None:
        self.name = account.name
        opts = validate_options(OPTIONS, account.options, account.name)
        hs = opts["homeserver"].strip().rstrip("/")
        if urlsplit(hs).scheme not in ("http", "https"):
            raise OptionError(f"[team]: homeserver {hs!r} is not an http(s) URL",
                              fix='write it like homeserver = "https://matrix.example.com"')
        self.user_id = opts["user_id"].strip()
        self.wanted = [str(r) for r in opts["rooms"]]
        self._secret = account.secret
        self.store = SessionStore(opts["state_dir"], account.name, hs, self.user_id, account.kept)
        self.client = MatrixClient(account=account.name, homeserver=hs, user_id=self.user_id,
                                   device_name=opts["device_name"], timeout=opts["timeout"], store=self.store,
                                   password=self._password)
        self.read_only = True
        self.room_ids: list[str] = []
        self._since: str | None = None

    def _password(self) -> str:
        value = self._secret()
        if not value:
            raise AuthError(f"[team]: no password or token for {self.user_id} in the keyring",
                            fix="run: switchboard accounts add team")
        return value

    # ------------------------------------------------------------------ life cycle

    async def open(self, read_only: bool) -> list[str]:
        self.read_only = read_only
        self._since = None
        try:
            ids = []
            async for wanted, room_id, member in self._team_rooms(read_only):
                if not member:
                    await self._join(wanted, room_id)
                ids.append(room_id)
        except BaseException:
            await self.close()
            raise
        self.room_ids = ids
        return list(ids)

    async def _team_rooms(self, read_only: bool):
        """Signed in, each configured room as (as written, room id, already a member); read-only
        refuses a room it is not in (it joins nothing). The caller closes the client."""
        await self.client.open()
        await self._sign_in()
        joined = set((await self.client.request("GET", path("joined_rooms"))).get("joined_rooms") or [])
        for wanted in self.wanted:
            room_id = await self._room_id(wanted)
            if room_id not in joined and read_only:
                raise PermanentError(f"[team]: {self.user_id} is not in the team room {wanted}, and a "
                                     "read-only console joins nothing",
                                     fix="join the room once with this account from another client "
                                         "(e.g. Element), then start again")
            yield wanted, room_id, room_id in joined

    async def _sign_in(self) -> None:
        """The password, or the secret itself as an access token when the password is refused."""
        if self.store.session.access_token:
            return
        try:
            await self.client.login()
        except AuthError:
            token = self._password()
            self.store.session.access_token = token
            try:
                who = await self.client.request("GET", path("account", "whoami"))
            except (AuthError, MatrixError):
                self.store.forget_token()
                raise AuthError(f"[team]: the homeserver refused the password or token for {self.user_id}",
                                fix="store the right one with: switchboard accounts add team") from None
            if who.get("user_id") != self.user_id:
                self.store.forget_token()
                raise AuthError(f"[team]: the stored token belongs to another user, not {self.user_id}",
                                fix="store this user's token with: switchboard accounts add team")
            self.store.save()

    async def _room_id(self, wanted: str) -> str:
        if wanted.startswith("!"):
            return wanted
        try:
            found = await self.client.request("GET", path("directory", "room", wanted))
        except MatrixError as exc:
            raise PermanentError(f"[team]: the homeserver knows no room {wanted}",
                                 fix="check team.rooms in config.toml (an alias like #team:example.com, or a room id)"
                                 ) from exc
        room_id = found.get("room_id")
        if not isinstance(room_id, str) or not room_id.startswith("!"):
            raise PermanentError(f"[team]: the homeserver's answer for {wanted} has no room id")
        return room_id

    async def _join(self, wanted: str, room_id: str) -> None:
        try:
            await self.client.request("POST", path("join", room_id), json={})
        except MatrixError as exc:
            raise PermanentError(f"[team]: {self.user_id} cannot join the team room {wanted}",
                                 fix="ask the room's admin to invite this account") from exc

    async def close(self) -> None:
        await self.client.close()

    async def check(self, read_only: bool) -> str:
        """Signed in, each room found, membership, and whether the power levels let us write."""
        try:
            notes = []
            async for wanted, room_id, member in self._team_rooms(read_only):
                if not member:
                    notes.append(f"{wanted}: joined at the console's first start")
                    continue
                if not read_only:
                    levels = await self.client.request("GET", path("rooms", room_id, "state", "m.room.power_levels", ""))
                    if _level(levels, self.user_id) < _needed(levels):
                        raise PermanentError(f"[team]: the room {wanted} does not let {self.user_id} announce presence",
                                             fix=POWER_FIX)
                notes.append(f"{wanted}: member")
            return f"signed in as {self.user_id}; " + "; ".join(notes)
        finally:
            await self.close()

    # ------------------------------------------------------------------ writing and reading

    async def publish(self, room: str, content: Mapping[str, Any]) -> None:
        if self.read_only:
            raise PermanentError("[team]: opened read-only, refusing to announce presence")
        try:
            await self.client.request("PUT", path("rooms", room, "state", EVENT_TYPE, self.user_id),
                                      json=dict(content))
        except MatrixError as exc:
            if getattr(exc, "errcode", "") == "M_FORBIDDEN":
                raise PermanentError(f"[team]: the team room does not let {self.user_id} announce presence",
                                     fix=POWER_FIX) from None
            raise

    async def changes(self, timeout: float) -> list[StateEntry]:
        params = {"filter": sync_filter(self.room_ids), "timeout": str(int(max(0.0, timeout) * 1000))}
        if self._since is None:
            params["timeout"] = "0"  # the first answer: every entry as the room holds it now
        else:
            params["since"] = self._since
        answer = await self.client.request("GET", path("sync"), params=params, timeout=timeout + self.client.timeout)
        if isinstance(answer.get("next_batch"), str):
            self._since = answer["next_batch"]
        ours = set(self.room_ids)
        out: list[StateEntry] = []
        joined = (answer.get("rooms") or {}).get("join") or {}
        if not isinstance(joined, dict):
            return out
        for room_id, data in joined.items():
            if room_id not in ours or not isinstance(data, dict):
                continue
            events = [*((data.get("state") or {}).get("events") or []),
                      *((data.get("timeline") or {}).get("events") or [])]
            for event in events:
                entry = _entry(room_id, event)
                if entry is not None:
                    out.append(entry)
        return out


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _level(levels: dict, user_id: str) -> int:
    users = levels.get("users") if isinstance(levels.get("users"), dict) else {}
    return _int(users.get(user_id), _int(levels.get("users_default"), 0))


def _needed(levels: dict) -> int:
    events = levels.get("events") if isinstance(levels.get("events"), dict) else {}
    return _int(events.get(EVENT_TYPE), _int(levels.get("state_default"), 50))


def _entry(room_id: str, event: object) -> StateEntry | None:
    if not isinstance(event, dict) or event.get("type") != EVENT_TYPE:
        return None
    agent, sender = event.get("state_key"), event.get("sender")
    if not isinstance(agent, str) or agent != sender:
        return None  # only the agent writes their own entry
    content = event.get("content")
    ts = event.get("origin_server_ts")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        return None
    return StateEntry(room=room_id, agent=agent, content=content if isinstance(content, dict) else {},
                      at=float(ts) / 1000.0)
