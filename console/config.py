"""config.toml: reading, checking, and one-line errors.

The core reads the sections it owns (role, agent, sync, accounts, keymap, views,
ui, demo, team). Sections owned by the service features (triage, sla, agents, macros,
knowledge) are kept raw in ``Config.raw`` and checked by their own modules, which
raise :class:`ConfigError` with the key path on a mistake.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from console.errors import ConfigError

KNOWN_TOP = {"role", "agent", "sync", "accounts", "keymap", "views", "ui", "demo", "triage", "sla", "agents",
             "macros", "knowledge", "business_hours", "team"}
ACCOUNT_RESERVED = {"name", "provider", "poll_interval", "window_days", "enabled", "undo_send"}
SECRET_KEYS = {"password", "passwd", "pass", "secret", "token", "access_token", "refresh_token", "api_key", "apikey",
               "app_password", "client_secret", "smtp_password"}


@dataclass
class AccountSettings:
    name: str
    provider: str
    options: dict[str, Any]
    poll_interval: float = 60.0
    window_days: int = 90
    enabled: bool = True
    undo_send: float = 0.0  # email: seconds a reply waits before it may go (cancel within them never sends)


@dataclass
class ViewSettings:
    name: str
    query: str  # the search-filter syntax: "status:open channel:email tag:refund"
    key: str = ""  # letter for the `g` + letter jump
    order: str = "due"


@dataclass
class Config:
    path: Path | None = None
    role: str = "agent"
    agent_name: str = "agent"
    agent_email: str = ""
    poll_interval: float = 60.0
    window_days: int = 90
    accounts: list[AccountSettings] = field(default_factory=list)
    keymap: dict[str, list[str]] = field(default_factory=dict)
    views: list[ViewSettings] = field(default_factory=list)
    customer_pane: bool = True
    auto_advance: bool = True  # [ui]: after reply, close or snooze the next conversation opens
    demo: dict[str, Any] = field(default_factory=dict)
    team: Any = None  # console.team.settings.TeamSettings, or None: no [team], the console works alone
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def read_only(self) -> bool:
        return self.role == "supervisor"

    # The service features' sections, each parsed once (on first use) and checked by its own module.

    @property
    def where(self) -> str:
        return self.path.name if self.path else "config.toml"

    @property
    def base(self) -> Path | None:
        return self.path.parent if self.path else None

    @cached_property
    def sla(self):
        from console import sla

        return sla.parse(self.raw, self.where)

    @cached_property
    def triage(self):
        """``[triage]`` with ``[[agents]]`` (the one place agents are read)."""
        from console import triage

        return triage.parse(self.raw, self.where, tuple(p.name for p in self.sla.policies))

    @cached_property
    def knowledge(self):
        from console import knowledge

        return knowledge.parse(self.raw, self.where, self.base)

    @cached_property
    def macros(self):
        from console import macros

        return macros.parse(self.raw, self.where, self.base)


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("switchboard")) / "config.toml"


def default_data_dir() -> Path:
    env = os.environ.get("SWITCHBOARD_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("switchboard"))


def load(path: Path | str | None, *, required: bool = False) -> Config:
    """Read config.toml. A missing file at the default place is an empty config."""
    if path is None:
        path = default_config_path()
        if not path.exists():
            return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", fix="check --config, or copy the example config.toml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})", fix="check the file's permissions and encoding (UTF-8)") from None
    return parse(text, path)


def parse(text: str, path: Path | str = "config.toml") -> Config:
    where = Path(path).name if path else "config.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}", fix="fix the TOML syntax at that line") from None
    except RecursionError:
        raise ConfigError(f"{where}: arrays or tables are nested too deeply to read",
                          fix="a setting needs at most a few levels of [ ] and { }") from None
    cfg = Config(path=Path(path) if path else None, raw=data)
    for key in data:
        if key not in KNOWN_TOP:
            raise ConfigError(f"{where}: unknown section or key {key!r}",
                              fix="known: " + ", ".join(sorted(KNOWN_TOP)))
    cfg.role = _choice(data, "role", ("agent", "supervisor"), "agent", where)
    agent = _table(data, "agent", where, known=("name", "email"))
    cfg.agent_name = _str(agent, "name", os.environ.get("USER", "agent") or "agent", where, "agent.name")
    cfg.agent_email = _str(agent, "email", "", where, "agent.email")
    sync = _table(data, "sync", where, known=("interval", "window_days"))
    cfg.poll_interval = _num(sync, "interval", 60.0, where, "sync.interval", minimum=1)
    cfg.window_days = int(_num(sync, "window_days", 90, where, "sync.window_days", minimum=1, maximum=36500))
    cfg.accounts = _accounts(data.get("accounts", []), cfg, where)
    cfg.keymap = _keymap(data.get("keymap", {}), where)
    cfg.views = _views(data.get("views", []), where)
    ui = _table(data, "ui", where, known=("customer_pane", "auto_advance"))
    cfg.customer_pane = bool(ui.get("customer_pane", True))
    cfg.auto_advance = _flag(ui, "auto_advance", True, where, "ui.auto_advance")
    cfg.demo = _table(data, "demo", where)
    from console.team.settings import parse as parse_team

    cfg.team = parse_team(data, where, {a.name for a in cfg.accounts})
    return cfg


def _accounts(value: Any, cfg: Config, where: str) -> list[AccountSettings]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: 'accounts' must be [[accounts]] tables", fix="write each account as [[accounts]]")
    out: list[AccountSettings] = []
    seen: set[str] = set()
    for n, acc in enumerate(value, 1):
        label = f"[[accounts]] #{n}"
        if not isinstance(acc, dict):
            raise ConfigError(f"{where}: {label} is not a table", fix="write it as [[accounts]] with name = ...")
        name = acc.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.@-]*", name or ""):
            raise ConfigError(f"{where}: {label} needs a name of letters, digits, '-', '_', '.'",
                              fix='add name = "support-mail"')
        if name in seen:
            raise ConfigError(f"{where}: account name {name!r} is used twice", fix="give each account its own name")
        seen.add(name)
        secret_keys = sorted(k for k in acc if k.lower() in SECRET_KEYS)
        if secret_keys:
            raise ConfigError(f"{where}: account {name!r} has a {secret_keys[0]!r} key, but secrets never go in "
                              "config.toml", fix=f"delete that line; secrets go in the keyring via "
                                                 f"`switchboard accounts add {name}`")
        provider = acc.get("provider")
        if not isinstance(provider, str) or not provider:
            raise ConfigError(f"{where}: account {name!r} has no provider",
                              fix='add provider = "imap" (or matrix, mastodon, bluesky, demo)')
        out.append(AccountSettings(
            name=name, provider=provider,
            options={k: v for k, v in acc.items() if k not in ACCOUNT_RESERVED},
            poll_interval=_num(acc, "poll_interval", cfg.poll_interval, where, f"account {name!r} poll_interval", minimum=1),
            window_days=int(_num(acc, "window_days", cfg.window_days, where, f"account {name!r} window_days", minimum=1,
                                 maximum=36500)),
            enabled=bool(acc.get("enabled", True)),
            undo_send=_num(acc, "undo_send", 0, where, f"account {name!r} undo_send", minimum=0),
        ))
    return out


def _keymap(value: Any, where: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [keymap] must be a table", fix='write: [keymap] then action_id = "key"')
    out: dict[str, list[str]] = {}
    for action_id, keys in value.items():
        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",") if k.strip()]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ConfigError(f"{where}: keymap.{action_id} must be a key or a list of keys",
                              fix=f'write {action_id} = "ctrl+x" or ["x", "ctrl+x"]')
        out[action_id] = keys
    return out


def _views(value: Any, where: str) -> list[ViewSettings]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: 'views' must be [[views]] tables", fix="write each saved view as [[views]]")
    out = []
    for n, v in enumerate(value, 1):
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not isinstance(v.get("query", ""), str):
            raise ConfigError(f"{where}: [[views]] #{n} needs name and query strings",
                              fix='e.g. name = "Refunds", query = "status:open tag:refund", key = "r"')
        key = v.get("key", "")
        if key and (not isinstance(key, str) or len(key) != 1):
            raise ConfigError(f"{where}: [[views]] {v['name']!r}: key must be one letter", fix='e.g. key = "r"')
        order = v.get("order", "due")
        if order not in ("due", "recent"):
            raise ConfigError(f"{where}: [[views]] {v['name']!r}: order is {order!r}", fix='use "due" or "recent"')
        out.append(ViewSettings(name=v["name"], query=v.get("query", ""), key=key, order=order))
    return out


def _table(data: dict, key: str, where: str, known: tuple[str, ...] | None = None) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be a table", fix=f"write it as [{key}]")
    for name in value:
        if known is not None and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            raise ConfigError(f"{where}: [{key}] has an unknown key {name!r}",
                              fix=(f"did you mean {close[0]!r}? " if close else "") + "known: " + ", ".join(known))
    return value


def _str(data: dict, key: str, default: str, where: str, label: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {label} must be a string", fix=f'write {key} = "..."')
    return value


def _flag(data: dict, key: str, default: bool, where: str, label: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {label} must be true or false, not {value!r}",
                          fix=f"write {key} = {'true' if default else 'false'}")
    return value


def _num(data: dict, key: str, default: float, where: str, label: str, minimum: float | None = None,
         maximum: float = 10**9) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: {label} must be a number", fix=f"write {key} = {default}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: {label} is {value}, below {minimum}", fix=f"use {minimum} or more")
    if value > maximum:
        raise ConfigError(f"{where}: {label} is {value}, above {maximum:g}", fix=f"use {maximum:g} or less")
    return float(value)


def _choice(data: dict, key: str, choices: tuple, default: str, where: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise ConfigError(f"{where}: {key} = {value!r}", fix="use one of: " + ", ".join(choices))
    return value
