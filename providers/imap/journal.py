"""The adapter's own store: the sync state's big maps in an append-only journal file.

The UID and thread maps grow with the mailbox; written into the cursor they made
every page cost more than the one before (the core stores the cursor with each
batch). Here each page appends one line with what changed, and the cursor holds
only where the sync stands plus the journal's name and how many of its lines
belong to it. A line the core never committed (a crash between the adapter's write
and the core's transaction) is past that count: it is cut off on the next start.
Every :data:`COMPACT_AFTER` lines, or when the maps were rebuilt, a new journal
generation starts with the maps written whole; the others are removed when a cursor is
read back.

A missing or short journal (deleted state folder) starts the sync over, which is
safe: messages are keyed by Message-ID, so nothing is duplicated.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from providers.imap.state import VERSION, SyncState

COMPACT_AFTER = 500  # lines in a journal before the next page starts a new generation
_NAME = re.compile(r"^sync-(\d+)-[0-9a-f]{8}\.jsonl$")


class Journal:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._name: str | None = None
        self._generation = 0
        self._lines = 0

    def save(self, state: SyncState) -> str:
        """Write what changed in ``state`` and return the (small) cursor naming it."""
        if self._name is None or state.reshaped or self._lines >= COMPACT_AFTER:
            self._generation += 1
            self._name = f"sync-{self._generation}-{uuid.uuid4().hex[:8]}.jsonl"
            self._lines = 0
            line = {"maps": state.maps()}
        else:
            line = {"changes": state.changes()}
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / self._name, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._lines += 1
        state.settle()
        return json.dumps({"v": VERSION, "journal": self._name, "lines": self._lines, **state.position()},
                          separators=(",", ":"))

    def load(self, cursor: dict[str, Any]) -> SyncState:
        """The state a cursor written by :meth:`save` names, or a fresh one if its journal is gone."""
        name, lines = str(cursor.get("journal", "")), int(cursor.get("lines", 0))
        m = _NAME.match(name)
        path = self.folder / name
        if not m or not path.exists():
            return SyncState()
        state = SyncState.from_position(cursor)
        kept: list[str] = []
        with open(path, encoding="utf-8") as f:
            for raw in f:
                if len(kept) == lines:
                    break
                try:
                    line = json.loads(raw)
                except ValueError:
                    break
                state.apply(line.get("maps") or line.get("changes") or {})
                kept.append(raw)
        if len(kept) < lines:
            return SyncState()  # the journal lost lines the cursor counts on: start over
        if os.path.getsize(path) != sum(len(r.encode("utf-8")) for r in kept):
            path.write_text("".join(kept), encoding="utf-8")  # lines the core never committed
        self._name, self._generation, self._lines = name, int(m.group(1)), lines
        for other in self.folder.glob("sync-*.jsonl"):  # older generations, and newer ones never committed
            if other.name != name and _NAME.match(other.name):
                other.unlink(missing_ok=True)
        state.settle()
        return state
