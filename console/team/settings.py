"""``[team]``: the team's Matrix room(s) and this agent's Matrix account, checked once.

```toml
[team]
homeserver = "https://matrix.example.com"
user_id = "@ana:example.com"
rooms = ["#support-team:example.com", "#billing-team:example.com"]
ttl = 180            # seconds after its last write an entry counts as gone (a console killed)
heartbeat = 60       # a running console writes its entry again this often
min_interval = 5     # at most one write per this many seconds, but for clears and replying
[team.queues]        # which room a queue's conversations are announced in
billing = "#billing-team:example.com"
[team.accounts]      # …or an account's (the queue wins); anything else: the first room
shop-mail = "#billing-team:example.com"
```

The password or access token is kept in the keyring under the name ``team``
(``switchboard accounts add team``), never here.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from console.errors import ConfigError

SECRET_NAME = "team"  # the keyring entry: `switchboard accounts add team`
KNOWN = ("provider", "homeserver", "user_id", "rooms", "ttl", "heartbeat", "min_interval", "timeout", "queues",
         "accounts", "device_name")
TTL = 180.0
HEARTBEAT = 60.0
MIN_INTERVAL = 5.0


@dataclass(frozen=True)
class TeamSettings:
    homeserver: str
    user_id: str
    rooms: tuple[str, ...]
    provider: str = "matrix"
    ttl: float = TTL
    heartbeat: float = HEARTBEAT
    min_interval: float = MIN_INTERVAL
    timeout: float = 30.0
    device_name: str = "Switchboard team"
    queues: dict[str, str] = field(default_factory=dict)  # queue -> room
    accounts: dict[str, str] = field(default_factory=dict)  # account name -> room

    def room_for(self, queue: str | None, account: str | None) -> str:
        """Where a conversation's presence goes: its queue's room, else its account's, else the first."""
        if queue and queue in self.queues:
            return self.queues[queue]
        if account and account in self.accounts:
            return self.accounts[account]
        return self.rooms[0]

    def options(self, state_dir: str = "") -> dict[str, Any]:
        """The section as the transport's options (what ``team_transport`` is given)."""
        return {"homeserver": self.homeserver, "user_id": self.user_id, "rooms": list(self.rooms),
                "timeout": self.timeout, "device_name": self.device_name, "state_dir": state_dir}


def parse(raw: dict, where: str, account_names: set[str]) -> TeamSettings | None:
    """``[team]`` checked, or None when the config has none (a console on its own)."""
    if "team" not in raw:
        return None
    data = raw["team"]
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: 'team' must be a table", fix="write it as [team]")
    for key in data:
        if key.lower() in ("password", "token", "access_token", "secret", "passwd"):
            raise ConfigError(f"{where}: [team] has a {key!r} key, but secrets never go in config.toml",
                              fix=f"delete that line; store it with `switchboard accounts add {SECRET_NAME}`")
        if key not in KNOWN:
            close = difflib.get_close_matches(key, KNOWN, n=1)
            raise ConfigError(f"{where}: [team] has an unknown key {key!r}",
                              fix=(f"did you mean {close[0]!r}? " if close else "") + "known: " + ", ".join(KNOWN))
    if SECRET_NAME in account_names:
        raise ConfigError(f"{where}: an account is named {SECRET_NAME!r}, the name [team]'s secret is kept under",
                          fix="rename that [[accounts]] entry")
    provider = data.get("provider", "matrix")
    if provider != "matrix":
        raise ConfigError(f"{where}: team.provider = {provider!r}", fix='use "matrix" (presence lives in Matrix rooms)')
    hs = data.get("homeserver")
    parts = urlsplit(hs) if isinstance(hs, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: team.homeserver must be the homeserver's http(s) URL",
                          fix='e.g. homeserver = "https://matrix.example.com"')
    uid = data.get("user_id")
    if not isinstance(uid, str) or not (uid.startswith("@") and ":" in uid[2:]):
        raise ConfigError(f"{where}: team.user_id must be this agent's full Matrix id",
                          fix='e.g. user_id = "@ana:example.com"')
    rooms = data.get("rooms")
    if (not isinstance(rooms, list) or not rooms
            or not all(isinstance(r, str) and r[:1] in "#!" and ":" in r for r in rooms)):
        raise ConfigError(f"{where}: team.rooms must list the team's rooms by alias or id",
                          fix='e.g. rooms = ["#support-team:example.com"]')
    if len(set(rooms)) != len(rooms):
        raise ConfigError(f"{where}: team.rooms names a room twice", fix="list each room once")
    ttl = _seconds(data, "ttl", TTL, where, minimum=2)
    heartbeat = _seconds(data, "heartbeat", min(HEARTBEAT, ttl / 3), where, minimum=0.5)
    if heartbeat >= ttl:
        raise ConfigError(f"{where}: team.heartbeat ({heartbeat:g} s) must be shorter than team.ttl ({ttl:g} s)",
                          fix="e.g. heartbeat = ttl / 3, so one lost write does not make an agent vanish")
    min_interval = _seconds(data, "min_interval", min(MIN_INTERVAL, heartbeat), where, minimum=0)
    timeout = _seconds(data, "timeout", 30.0, where, minimum=1)
    device_name = data.get("device_name", "Switchboard team")
    if not isinstance(device_name, str):
        raise ConfigError(f"{where}: team.device_name must be a string", fix='e.g. device_name = "Switchboard team"')
    return TeamSettings(homeserver=hs.strip().rstrip("/"), user_id=uid.strip(), rooms=tuple(rooms), ttl=ttl,
                        heartbeat=heartbeat, min_interval=min_interval, timeout=timeout, device_name=device_name,
                        queues=_routes(data, "queues", rooms, where),
                        accounts=_routes(data, "accounts", rooms, where, known=account_names))


def _seconds(data: dict, key: str, default: float, where: str, minimum: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: team.{key} must be a number of seconds", fix=f"write {key} = {default:g}")
    if value < minimum or value > 86400:
        raise ConfigError(f"{where}: team.{key} is {value}", fix=f"use {minimum:g} to 86400 seconds")
    return float(value)


def _routes(data: dict, key: str, rooms: list[str], where: str, known: set[str] | None = None) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: [team.{key}] must map names to rooms",
                          fix=f'e.g. [team.{key}] then billing = "{rooms[0]}"')
    for name, room in value.items():
        if room not in rooms:
            raise ConfigError(f"{where}: team.{key}.{name} = {room!r} is not in team.rooms",
                              fix="add the room to team.rooms, or use one listed there")
        if known is not None and name not in known:
            raise ConfigError(f"{where}: team.accounts names {name!r}, which is not an account",
                              fix="use a name from [[accounts]]")
    return dict(value)
