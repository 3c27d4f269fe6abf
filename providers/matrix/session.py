"""The Matrix session kept between runs: access token and device id.

Keeping the device id stable matters beyond convenience: Synapse de-duplicates a
sent message's transaction id per user *and device*, so a reply retried after a
restart is recognised only if we come back as the same device. The file is
written 0600 (it holds a bearer token); with no ``state_dir`` the session lives in
memory and a deterministic device id still keeps re-logins on the same device.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "matrix-session.json"


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


class SessionStore:
    """Loads and saves one account's :class:`Session` (or keeps it in memory)."""

    def __init__(self, state_dir: str, account: str, homeserver: str, user_id: str) -> None:
        self.path = Path(state_dir).expanduser() / FILE_NAME if state_dir else None
        self.session = Session(homeserver, user_id, default_device_id(account, user_id))
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # unreadable or corrupt: log in again, nothing is lost but a token
        if not isinstance(data, dict):
            return
        # A session for another server or user is not ours any more (config changed).
        if data.get("homeserver") != self.session.homeserver or data.get("user_id") != self.session.user_id:
            return
        if isinstance(data.get("device_id"), str) and data["device_id"]:
            self.session.device_id = data["device_id"]
        if isinstance(data.get("access_token"), str):
            self.session.access_token = data["access_token"]

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self.session), fh)
        os.chmod(tmp, 0o600)  # in case the file pre-existed with looser bits
        os.replace(tmp, self.path)

    def forget_token(self) -> None:
        self.session.access_token = ""
        self.save()
