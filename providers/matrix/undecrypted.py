"""Encrypted events our keys could not open yet, kept to try again when keys arrive.

A customer's client shares a room key with our device a moment after (or long
after) the message it opens; a key may also never come (a message sent before
this device existed). The events wait here, in ``matrix-undecrypted.json`` in the
account's state folder (ciphertext only, no key), and each pull opens those whose
key has arrived. The newest :data:`LIMIT` are kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from providers.matrix.session import write_private

FILE_NAME = "matrix-undecrypted.json"
LIMIT = 2000


class Undecrypted:
    def __init__(self, state_dir: str) -> None:
        self.path = Path(state_dir).expanduser() / FILE_NAME if state_dir else None
        self.events: dict[str, tuple[str, dict]] = {}  # event id -> (room id, the encrypted event)
        self._dirty = False
        if self.path is not None and self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = []
            for item in data if isinstance(data, list) else []:
                if (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                        and isinstance(item[1], dict) and isinstance(item[1].get("event_id"), str)):
                    self.events[item[1]["event_id"]] = (item[0], item[1])

    def add(self, room_id: str, event: dict) -> None:
        if event["event_id"] not in self.events:
            self.events[event["event_id"]] = (room_id, event)
            while len(self.events) > LIMIT:
                self.events.pop(next(iter(self.events)))
            self._dirty = True

    def drop(self, event_id: str) -> None:
        if self.events.pop(event_id, None) is not None:
            self._dirty = True

    def save(self) -> None:
        if self._dirty and self.path is not None:
            write_private(self.path, [[room, event] for room, event in self.events.values()])
        self._dirty = False
