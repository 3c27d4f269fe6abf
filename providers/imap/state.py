"""The adapter's sync state.

Per folder, where the sync stands (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, how far back
the first sync has reached): small, it travels in the cursor. The maps that grow with the
mailbox — UID -> Message-ID per folder (expunges arrive as UIDs, the cache knows
Message-IDs), Message-ID -> conversation, and per conversation what threading and team
state need — live in the adapter's own store (store.py), read by key: a start reads none of
them, a pull only the rows of what it touches. Without a state folder the store is in
memory and the whole state travels in the cursor as JSON (:meth:`SyncState.dumps`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from providers.imap.store import MapStore

VERSION = 1  # a cursor carrying the whole state
STORED = 2  # a cursor naming the store and the pull it came from


@dataclass(slots=True)
class FolderState:
    uidvalidity: int
    uidnext: int  # every UID below this has been looked at
    modseq: int = 0  # HIGHESTMODSEQ when flags were last read (0: server has no CONDSTORE)
    exists: int = 0  # message count when last synced, to notice expunges cheaply
    backfill_below: int = 0  # first sync: UIDs below this inside the window are still to fetch
    since: str = ""  # first sync window start, IMAP date (01-Jan-2026)

    def position(self) -> dict[str, Any]:
        return {"uv": self.uidvalidity, "next": self.uidnext, "modseq": self.modseq, "exists": self.exists,
                "below": self.backfill_below, "since": self.since}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FolderState:
        return cls(uidvalidity=int(d["uv"]), uidnext=int(d["next"]), modseq=int(d.get("modseq", 0)),
                   exists=int(d.get("exists", 0)), backfill_below=int(d.get("below", 0)), since=d.get("since", ""))


@dataclass(slots=True)
class ThreadInfo:
    """What a Thread record needs when only flags changed (no message in hand)."""

    subject: str
    address: str
    name: str
    last: float  # epoch seconds of the newest message
    # Team state last reported, to tell "changed on the server" from "never set there".
    closed: bool = False
    assignee: str = ""
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> list:
        return [self.subject, self.address, self.name, self.last, int(self.closed), self.assignee, self.tags]

    @classmethod
    def from_json(cls, v: list) -> ThreadInfo:
        return cls(v[0], v[1], v[2], float(v[3]), bool(v[4]), v[5], list(v[6]))


class _Map:
    """Message-ID -> conversation, or "subject|address" -> conversation: the first answer stays."""

    def __init__(self, store: MapStore, table: str) -> None:
        self.store, self.table = store, table

    def get(self, key: str, default=None):
        value = self.store.get(self.table, key)
        return default if value is None else value

    def __contains__(self, key: str) -> bool:
        return self.store.get(self.table, key) is not None

    def __getitem__(self, key: str) -> str:
        value = self.store.get(self.table, key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        self.store.add(self.table, key, value)

    def setdefault(self, key: str, value: str) -> str:
        self.store.add(self.table, key, value)
        return self[key]

    def as_dict(self) -> dict[str, str]:
        return dict(self.store.items(self.table))


class _Threads:
    """Conversation id -> :class:`ThreadInfo`."""

    def __init__(self, store: MapStore) -> None:
        self.store = store

    def get(self, key: str, default=None):
        value = self.store.get("threads", key)
        return default if value is None else ThreadInfo.from_json(json.loads(value))

    def __contains__(self, key: str) -> bool:
        return self.store.get("threads", key) is not None

    def __getitem__(self, key: str) -> ThreadInfo:
        info = self.get(key)
        if info is None:
            raise KeyError(key)
        return info

    def __setitem__(self, key: str, info: ThreadInfo) -> None:
        self.store.put_thread(key, json.dumps(info.to_json(), separators=(",", ":")), info.last)

    def as_dict(self) -> dict[str, ThreadInfo]:
        return {k: ThreadInfo.from_json(json.loads(v)) for k, v in self.store.items("threads")}


class SyncState:
    def __init__(self, store: MapStore | None = None, folders: dict[str, FolderState] | None = None,
                 restate: list[str] | None = None) -> None:
        self.store = store if store is not None else MapStore()
        self.folders: dict[str, FolderState] = dict(folders or {})
        self.restate: list[str] = list(restate or [])  # threads whose team state is to be reported next pull
        self.thread_of = _Map(self.store, "thread_of")  # message id -> thread remote id
        self.by_subject = _Map(self.store, "by_subject")  # "subject|address" -> thread remote id
        self.threads = _Threads(self.store)  # thread remote id -> ThreadInfo

    # ------------------------------------------------------------------ the UID maps

    def _uv(self, folder: str) -> int:
        return self.folders[folder].uidvalidity

    def uid_entry(self, folder: str, uid: int) -> tuple | None:
        """(message id, epoch seconds, 1 if inbound) of a UID, or None."""
        return self.store.uid(folder, self._uv(folder), uid)

    def put_uid(self, folder: str, uid: int, entry: tuple) -> None:
        self.store.put_uid(folder, self._uv(folder), uid, entry)

    def remove_uids(self, folder: str, uids: list[int]) -> list[tuple[int, tuple]]:
        return self.store.remove_uids(folder, self._uv(folder), uids)

    def uids_in_ranges(self, folder: str, ranges: list[tuple[int, int]]) -> list[int]:
        return self.store.uids_between(folder, self._uv(folder), ranges)

    def folder_uids(self, folder: str) -> list[int]:
        return self.store.all_uids(folder, self._uv(folder))

    def known(self) -> int:
        """How many UIDs the maps hold."""
        return self.store.count

    def _current(self, folder: str, uv: int) -> bool:
        fs = self.folders.get(folder)
        return fs is not None and fs.uidvalidity == uv

    def held_in(self, mids: list[str], besides: str) -> set[str]:
        """Which of ``mids`` a folder other than ``besides`` still holds."""
        return {mid for folder, uv, mid in self.store.copies(mids) if folder != besides and self._current(folder, uv)}

    def uids_of_threads(self, thread_ids: list[str]) -> dict[str, dict[int, tuple]]:
        """Folder -> {uid: (message id, epoch seconds, inbound, thread)} of these conversations."""
        out: dict[str, dict[int, tuple]] = {}
        if thread_ids:
            for folder, uv, uid, entry, thread in self.store.of_threads(thread_ids):
                if self._current(folder, uv):
                    out.setdefault(folder, {})[uid] = (*entry, thread)
        return out

    def message_ids_of(self, thread_id: str) -> set[str]:
        """The Message-IDs the maps place in this conversation."""
        return self.store.mids_of_thread(thread_id)

    def uids_of_thread(self, thread_id: str) -> dict[str, list[int]]:
        """Folder -> UIDs of the thread's messages we know about."""
        return {f: sorted(uids) for f, uids in self.uids_of_threads([thread_id]).items()}

    def threads_of_uids(self, folder: str, uids) -> list[str]:
        return self.store.threads_of_uids(folder, self._uv(folder), uids)

    def find(self, message_id: str, folders: list[str]) -> tuple[str, int] | None:
        """(folder, uid) of a message in one of ``folders``, from the maps."""
        for folder, uv, uid in self.store.where(message_id):
            if folder in folders and self._current(folder, uv):
                return folder, uid
        return None

    def prune(self, before: float) -> None:
        """Forget conversations quiet since ``before`` (epoch seconds) and their messages'
        UIDs, so the store stays bounded on a mailbox that keeps growing. A forgotten
        message is not reported if it is expunged later; a late reply to a forgotten
        conversation still finds it through its References root."""
        self.store.prune(before)

    # ------------------------------------------------------------------ cursors

    def position(self) -> dict[str, Any]:
        """The cursor without the maps."""
        return {"folders": {name: f.position() for name, f in self.folders.items()}, "restate": self.restate}

    def save(self) -> str:
        """Commit this pull's rows to the store; the (small) cursor naming them."""
        self.store.drop_numberings({name: f.uidvalidity for name, f in self.folders.items()})
        seq = self.store.commit()
        return json.dumps({"v": STORED, "store": self.store.id, "seq": seq, **self.position()}, separators=(",", ":"))

    @classmethod
    def load(cls, store: MapStore, cursor: str | None) -> SyncState:
        """The state a cursor from :meth:`save` names, the store rewound to it; a fresh state
        (and an emptied store) for anything else: the sync starts over, which is safe because
        messages are keyed by Message-ID."""
        try:
            d = json.loads(cursor) if cursor else None
        except ValueError:
            d = None
        if (isinstance(d, dict) and d.get("v") == STORED and d.get("store") == store.id
                and isinstance(d.get("seq"), int) and store.rewind(d["seq"])):
            return cls(store, folders={n: FolderState.from_json(f) for n, f in d.get("folders", {}).items()},
                       restate=d.get("restate", []))
        store.reset()
        return cls(store)

    def dumps(self) -> str:
        """The whole state as one JSON cursor (no state folder)."""
        self.store.commit()
        uids: dict[str, dict[str, list]] = {}
        for folder, uv, uid, mid, ts, inbound in self.store.all_uid_rows():
            if self._current(folder, uv):
                uids.setdefault(folder, {})[str(uid)] = [mid, ts, inbound]
        return json.dumps({
            "v": VERSION,
            "folders": {name: {**f.position(), "uids": uids.get(name, {})} for name, f in self.folders.items()},
            "thread_of": self.thread_of.as_dict(),
            "threads": {k: t.to_json() for k, t in self.threads.as_dict().items()},
            "by_subject": self.by_subject.as_dict(),
            "restate": self.restate,
        }, separators=(",", ":"))

    @classmethod
    def loads(cls, cursor: str | None) -> SyncState:
        """A state from :meth:`dumps`, in a store in memory; fresh for anything else."""
        state = cls()
        try:
            d = json.loads(cursor) if cursor else None
        except ValueError:
            return state  # a cursor from something else: start over (ids are stable, nothing duplicates)
        if not isinstance(d, dict) or d.get("v") != VERSION:
            return state
        for name, f in d.get("folders", {}).items():
            state.folders[name] = FolderState.from_json(f)
            for uid, entry in f.get("uids", {}).items():
                state.put_uid(name, int(uid), tuple(entry))
        for k, v in d.get("thread_of", {}).items():
            state.thread_of[k] = v
        for k, v in d.get("threads", {}).items():
            state.threads[k] = ThreadInfo.from_json(v)
        for k, v in d.get("by_subject", {}).items():
            state.by_subject[k] = v
        state.restate = list(d.get("restate", []))
        state.store.commit()
        return state
