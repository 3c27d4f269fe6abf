"""The adapter's sync state.

It holds, per folder, where the sync stands (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
how far back the first sync has reached) and the map from UID to Message-ID
(expunges arrive as UIDs, the cache knows Message-IDs); and, per conversation, what
threading and team state need. Those maps grow with the mailbox: with a state folder
they live in the adapter's own journal (journal.py) and the cursor stays small; without
one the whole state travels in the cursor as JSON (:meth:`SyncState.dumps`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

VERSION = 1


class Tracked(dict):
    """A dict that remembers which keys were set or removed since :meth:`settle`."""

    __slots__ = ("changed",)

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.changed: set = set()

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.changed.add(key)

    def __delitem__(self, key) -> None:
        super().__delitem__(key)
        self.changed.add(key)

    def pop(self, key, *default):
        self.changed.add(key)
        return super().pop(key, *default)

    def setdefault(self, key, value=None):
        if key not in self:
            self[key] = value
        return self[key]

    def delta(self, encode=lambda v: v) -> dict:
        """Changed keys -> new value (encoded), or None when removed."""
        return {k: (encode(self[k]) if k in self else None) for k in self.changed}

    def settle(self) -> None:
        self.changed = set()


@dataclass(slots=True)
class FolderState:
    uidvalidity: int
    uidnext: int  # every UID below this has been looked at
    modseq: int = 0  # HIGHESTMODSEQ when flags were last read (0: server has no CONDSTORE)
    exists: int = 0  # message count when last synced, to notice expunges cheaply
    backfill_below: int = 0  # first sync: UIDs below this inside the window are still to fetch
    since: str = ""  # first sync window start, IMAP date (01-Jan-2026)
    uids: Tracked = field(default_factory=Tracked)  # uid -> (message id, epoch seconds, 1 if inbound)

    def position(self) -> dict[str, Any]:
        """Where the sync stands, without the UID map."""
        return {"uv": self.uidvalidity, "next": self.uidnext, "modseq": self.modseq, "exists": self.exists,
                "below": self.backfill_below, "since": self.since}

    def to_json(self) -> dict[str, Any]:
        return {**self.position(), "uids": {str(k): v for k, v in self.uids.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FolderState:
        return cls(uidvalidity=int(d["uv"]), uidnext=int(d["next"]), modseq=int(d.get("modseq", 0)),
                   exists=int(d.get("exists", 0)), backfill_below=int(d.get("below", 0)), since=d.get("since", ""),
                   uids=Tracked((int(k), tuple(v)) for k, v in d.get("uids", {}).items()))


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


@dataclass
class SyncState:
    folders: dict[str, FolderState] = field(default_factory=dict)
    thread_of: Tracked = field(default_factory=Tracked)  # message id -> thread remote id
    threads: Tracked = field(default_factory=Tracked)  # thread remote id -> ThreadInfo
    by_subject: Tracked = field(default_factory=Tracked)  # "subject|address" -> thread remote id
    restate: list[str] = field(default_factory=list)  # threads whose team state is to be reported next pull
    reshaped: bool = False  # maps were rebuilt (prune, a folder started over): a journal writes them whole

    # -- the maps as a journal writes them (see journal.py)

    def maps(self) -> dict[str, Any]:
        """Every map, whole."""
        return {"uids": {name: {str(k): v for k, v in f.uids.items()} for name, f in self.folders.items()},
                "thread_of": dict(self.thread_of), "threads": {k: t.to_json() for k, t in self.threads.items()},
                "by_subject": dict(self.by_subject)}

    def changes(self) -> dict[str, Any]:
        """What changed in the maps since :meth:`settle` (None: removed)."""
        return {"uids": {name: {str(k): v for k, v in f.uids.delta().items()} for name, f in self.folders.items()
                         if f.uids.changed},
                "thread_of": self.thread_of.delta(), "threads": self.threads.delta(ThreadInfo.to_json),
                "by_subject": self.by_subject.delta()}

    def apply(self, maps: dict[str, Any]) -> None:
        """Replay :meth:`maps` or :meth:`changes` (folders must exist already)."""
        for name, uids in maps.get("uids", {}).items():
            fs = self.folders.get(name)
            if fs is None:
                continue
            for k, v in uids.items():
                if v is None:
                    dict.pop(fs.uids, int(k), None)
                else:
                    dict.__setitem__(fs.uids, int(k), tuple(v))
        for attr, decode in (("thread_of", str), ("threads", ThreadInfo.from_json), ("by_subject", str)):
            target = getattr(self, attr)
            for k, v in maps.get(attr, {}).items():
                if v is None:
                    dict.pop(target, k, None)
                else:
                    dict.__setitem__(target, k, decode(v))

    def settle(self) -> None:
        for f in self.folders.values():
            f.uids.settle()
        for m in (self.thread_of, self.threads, self.by_subject):
            m.settle()
        self.reshaped = False

    def position(self) -> dict[str, Any]:
        """The cursor without the maps."""
        return {"folders": {name: f.position() for name, f in self.folders.items()}, "restate": self.restate}

    @classmethod
    def from_position(cls, d: dict[str, Any]) -> SyncState:
        return cls(folders={name: FolderState.from_json(f) for name, f in d.get("folders", {}).items()},
                   restate=list(d.get("restate", [])))

    def dumps(self) -> str:
        return json.dumps({
            "v": VERSION,
            "folders": {name: f.to_json() for name, f in self.folders.items()},
            "thread_of": self.thread_of,
            "threads": {k: t.to_json() for k, t in self.threads.items()},
            "by_subject": self.by_subject,
            "restate": self.restate,
        }, separators=(",", ":"))

    @classmethod
    def loads(cls, cursor: str | None) -> SyncState:
        if not cursor:
            return cls()
        try:
            d = json.loads(cursor)
        except ValueError:
            return cls()  # a cursor from something else: start over (ids are stable, nothing duplicates)
        if not isinstance(d, dict) or d.get("v") != VERSION:
            return cls()
        return cls(
            folders={name: FolderState.from_json(f) for name, f in d.get("folders", {}).items()},
            thread_of=Tracked(d.get("thread_of", {})),
            threads=Tracked((k, ThreadInfo.from_json(v)) for k, v in d.get("threads", {}).items()),
            by_subject=Tracked(d.get("by_subject", {})),
            restate=list(d.get("restate", [])),
        )

    def uids_of_thread(self, thread_id: str) -> dict[str, list[int]]:
        """Folder -> UIDs of the thread's messages we know about."""
        out: dict[str, list[int]] = {}
        for name, folder in self.folders.items():
            uids = [uid for uid, entry in folder.uids.items() if self.thread_of.get(entry[0]) == thread_id]
            if uids:
                out[name] = sorted(uids)
        return out

    def prune(self, before: float) -> None:
        """Forget conversations quiet since ``before`` (epoch seconds) and their messages'
        UIDs, so the cursor stays bounded on a mailbox that keeps growing. A forgotten
        message is not reported if it is expunged later; a late reply to a forgotten
        conversation still finds it through its References root."""
        old_threads = {tid for tid, info in self.threads.items() if info.last < before}
        if not old_threads:
            return
        for fs in self.folders.values():
            for uid in [u for u, e in fs.uids.items() if e[1] < before and self.thread_of.get(e[0]) in old_threads]:
                del fs.uids[uid]
        kept = {e[0] for fs in self.folders.values() for e in fs.uids.values()}
        self.thread_of = Tracked((m, t) for m, t in self.thread_of.items() if t not in old_threads or m in kept)
        self.threads = Tracked((t, i) for t, i in self.threads.items() if t not in old_threads)
        self.by_subject = Tracked((k, t) for k, t in self.by_subject.items() if t not in old_threads)
        self.reshaped = True

