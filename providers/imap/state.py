"""The adapter's sync state, carried in the cursor as JSON.

The core stores the cursor with each batch and hands it back, so the adapter
needs no files of its own. It holds, per folder, where the sync stands
(UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, how far back the first sync has reached)
and the map from UID to Message-ID (expunges arrive as UIDs, the cache knows
Message-IDs); and, per conversation, what threading and team state need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

VERSION = 1


@dataclass(slots=True)
class FolderState:
    uidvalidity: int
    uidnext: int  # every UID below this has been looked at
    modseq: int = 0  # HIGHESTMODSEQ when flags were last read (0: server has no CONDSTORE)
    exists: int = 0  # message count when last synced, to notice expunges cheaply
    backfill_below: int = 0  # first sync: UIDs below this inside the window are still to fetch
    since: str = ""  # first sync window start, IMAP date (01-Jan-2026)
    uids: dict[int, tuple] = field(default_factory=dict)  # uid -> (message id, epoch seconds, 1 if inbound)

    def to_json(self) -> dict[str, Any]:
        return {"uv": self.uidvalidity, "next": self.uidnext, "modseq": self.modseq, "exists": self.exists,
                "below": self.backfill_below, "since": self.since, "uids": {str(k): v for k, v in self.uids.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FolderState:
        return cls(uidvalidity=int(d["uv"]), uidnext=int(d["next"]), modseq=int(d.get("modseq", 0)),
                   exists=int(d.get("exists", 0)), backfill_below=int(d.get("below", 0)), since=d.get("since", ""),
                   uids={int(k): tuple(v) for k, v in d.get("uids", {}).items()})


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
    thread_of: dict[str, str] = field(default_factory=dict)  # message id -> thread remote id
    threads: dict[str, ThreadInfo] = field(default_factory=dict)
    by_subject: dict[str, str] = field(default_factory=dict)  # "subject|address" -> thread remote id
    restate: list[str] = field(default_factory=list)  # threads whose team state is to be reported next pull

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
            thread_of=dict(d.get("thread_of", {})),
            threads={k: ThreadInfo.from_json(v) for k, v in d.get("threads", {}).items()},
            by_subject=dict(d.get("by_subject", {})),
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
        self.thread_of = {m: t for m, t in self.thread_of.items() if t not in old_threads or m in kept}
        self.threads = {t: i for t, i in self.threads.items() if t not in old_threads}
        self.by_subject = {k: t for k, t in self.by_subject.items() if t not in old_threads}

