"""The Matrix session kept between runs: device id in a state file, token in the keyring.

Keeping the device id stable matters beyond convenience: Synapse de-duplicates a
sent message's transaction id per user *and device*, so a reply retried after a
restart is recognised only if we come back as the same device, and customers'
clients keep trusting the same device's encryption keys. The state file
(``matrix-session.json``, 0600) holds no secret: the access token is one of the
account's kept secrets (the keyring, see :class:`providers.base.KeptSecrets`),
stored with the homeserver and user it belongs to. A file written by an older
version with the token inside is moved to the keyring on first load.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from providers.base import KeptSecrets

FILE_NAME = "matrix-session.json"
TOKEN_NAME = "matrix-access-token"


@dataclass(slots=True)
class Session:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str = ""


def default_device_id(account: str, user_id: str) -> str:
    """A device id derived from the account, stable across runs and machines' restarts."""
    digest = hashlib.sha256(f"{account}\0{user_id}".encode()).hexdigest()[:10].upper()
    return f"SWITCHBOARD{digest}"


def write_private(path: Path, data: dict) -> None:
    """Write JSON atomically with mode 0600 (and the folder 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.chmod(tmp, 0o600)  # in case the file pre-existed with looser bits
    os.replace(tmp, path)


class SessionStore:
    """Loads and saves one account's :class:`Session` (or keeps the device id in memory)."""

    def __init__(self, state_dir: str, account: str, homeserver: str, user_id: str, kept: KeptSecrets) -> None:
        self.path = Path(state_dir).expanduser() / FILE_NAME if state_dir else None
        self.kept = kept
        self.session = Session(homeserver, user_id, default_device_id(account, user_id))
        self._load()

    def _mine(self, data: object) -> bool:
        """A saved session for another server or user is not ours any more (config changed)."""
        return (isinstance(data, dict) and data.get("homeserver") == self.session.homeserver
                and data.get("user_id") == self.session.user_id)

    def _load(self) -> None:
        data = self._read_file()
        if self._mine(data) and isinstance(data.get("device_id"), str) and data["device_id"]:
            self.session.device_id = data["device_id"]
        legacy = data.get("access_token") if self._mine(data) else None
        kept = self._read_kept()
        if self._mine(kept) and kept.get("device_id") == self.session.device_id and isinstance(
                kept.get("access_token"), str):
            self.session.access_token = kept["access_token"]
        elif isinstance(legacy, str) and legacy:
            self.session.access_token = legacy
        if "access_token" in data:
            self.save()  # an older version's file: the token moves to the keyring, the file keeps none

    def _read_file(self) -> dict:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # unreadable or corrupt: log in again, nothing is lost but a token
        return data if isinstance(data, dict) else {}

    def _read_kept(self) -> dict:
        raw = self.kept.get(TOKEN_NAME)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def save(self) -> None:
        s = self.session
        if s.access_token:
            self.kept.put(TOKEN_NAME, json.dumps({"homeserver": s.homeserver, "user_id": s.user_id,
                                                  "device_id": s.device_id, "access_token": s.access_token}))
        else:
            self.kept.delete(TOKEN_NAME)
        if self.path is not None:
            write_private(self.path, {"homeserver": s.homeserver, "user_id": s.user_id, "device_id": s.device_id})

    def forget_token(self) -> None:
        self.session.access_token = ""
        self.save()
