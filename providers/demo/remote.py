"""The demo's simulated remote side: what a real server would remember between runs.

Keys already pushed, replies delivered, state changes (closed, tagged, …), messages
customers wrote (injected by tests or the live stream). With a ``state_dir`` it lives
in an append-only JSON-lines journal, one file per account, each record flushed and
fsync'ed before the call returns, so a push retried after a crash — even from another
process — is recognised by its key. Without one it lives in memory.

Tests use it directly to play the customer::

    remote = DemoRemote(tmp_path, "support-mail", channel="email")
    remote.customer_writes("Where is my parcel?")
    assert remote.delivered("on its way") == 1
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from providers.records import Attachment, Channel, Direction, Identity, Message, Status, Thread

# ----------------------------------------------------------------------------- records <-> JSON


def identity_to_json(i: Identity) -> dict:
    d = asdict(i)
    d["channel"] = i.channel.value
    return d


def identity_from_json(d: dict) -> Identity:
    return Identity(**{**d, "channel": Channel(d["channel"])})


def message_to_json(m: Message) -> dict:
    return {"remote_id": m.remote_id, "thread": m.thread_remote_id, "direction": m.direction.value,
            "author": identity_to_json(m.author), "sent_at": m.sent_at.isoformat(), "text": m.text,
            "attachments": [asdict(a) for a in m.attachments], "meta": m.meta, "action_key": m.action_key}


def message_from_json(d: dict) -> Message:
    return Message(remote_id=d["remote_id"], thread_remote_id=d["thread"], direction=Direction(d["direction"]),
                   author=identity_from_json(d["author"]), sent_at=datetime.fromisoformat(d["sent_at"]),
                   text=d["text"], attachments=[Attachment(**a) for a in d.get("attachments", [])],
                   meta=d.get("meta") or {}, action_key=d.get("action_key"))


def thread_to_json(t: Thread) -> dict:
    return {"remote_id": t.remote_id, "channel": t.channel.value, "subject": t.subject,
            "customer": identity_to_json(t.customer), "last_message_at": t.last_message_at.isoformat(),
            "channel_detail": t.channel_detail, "status": t.status.value if t.status else None,
            "unread": t.unread, "meta": t.meta}


def thread_from_json(d: dict) -> Thread:
    return Thread(remote_id=d["remote_id"], channel=Channel(d["channel"]), subject=d["subject"],
                  customer=identity_from_json(d["customer"]),
                  last_message_at=datetime.fromisoformat(d["last_message_at"]),
                  channel_detail=d.get("channel_detail", ""), status=Status(d["status"]) if d.get("status") else None,
                  unread=d.get("unread"), meta=d.get("meta") or {})


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# A stand-in customer for messages injected without a known author.
TEST_CUSTOMER = {
    Channel.EMAIL: Identity(Channel.EMAIL, "casey.tester@example.net", display_name="Casey Tester"),
    Channel.CHAT: Identity(Channel.CHAT, "@casey.tester:example.org", display_name="Casey Tester", network="Matrix"),
    Channel.SOCIAL: Identity(Channel.SOCIAL, "@casey@social.example", display_name="Casey Tester", followers=42,
                             network="social.example"),
}

REPLY_KINDS = ("reply", "move_private")


class DemoRemote:
    """One demo account's remote state, shared through its journal file (if any)."""

    def __init__(self, state_dir: str | os.PathLike | None, account: str, channel: Channel | str = Channel.EMAIL):
        self.account = account
        self.channel = Channel(channel)
        self.path: Path | None = None
        if state_dir:
            folder = Path(state_dir).expanduser()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OSError(f"demo state_dir {folder} cannot be created: {exc.strerror}") from None
            self.path = folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", account) + ".jsonl")
        # Names this remote's event sequence. A journal keeps one across runs; a remote in
        # memory starts afresh each run, so cursors and live message ids carry this tag.
        self.epoch = "journal" if self.path is not None else f"mem{uuid.uuid4().hex[:8]}"
        self.events: list[dict] = []  # de-duplicated, in journal order; positions are cursor sequence numbers
        self.pushed: dict[str, dict] = {}  # action key -> its push event
        self.live_seen: set[int] = set()
        self.team_seen: set[str] = set()  # ids of answers written by the simulated rest of the team
        self.threads: dict[str, Thread] = {}  # conversations born on the remote side (injected, live)
        self.state: dict[str, dict[str, Any]] = {}  # remote view of threads changed by pushes
        self._offset = 0
        self._partial = b""
        self.refresh()

    def world_anchor(self) -> datetime:
        """The "now" the demo world is built around. Kept in the state folder the first
        time, so a restart hours later shows the same conversations (same ids), and
        every account sharing the folder shows the same world."""
        from providers.demo.world import default_now

        if self.path is None:
            return default_now()
        anchor = self.path.parent / "world-anchor"
        try:
            fd = os.open(anchor, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            try:
                return datetime.fromisoformat(anchor.read_text().strip())
            except ValueError:
                return default_now()  # unreadable: a fresh world rather than a crash
        with os.fdopen(fd, "w") as fh:
            fh.write(default_now().isoformat())
            fh.flush()
            os.fsync(fh.fileno())
        return datetime.fromisoformat(anchor.read_text().strip())

    # -- journal

    def refresh(self) -> None:
        """Read records other processes (or instances) appended since the last look."""
        if self.path is None or not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        if not chunk:
            return
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an incomplete last line waits for its newline
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a torn write from a crash: the writer never returned, so nobody relied on it
            self._apply(event)

    def has_news(self) -> bool:
        """True if the journal grew since the last refresh (cheap: one stat)."""
        if self.path is None:
            return False
        try:
            return self.path.stat().st_size > self._offset
        except OSError:
            return False

    def _apply(self, event: dict) -> bool:
        kind = event.get("e")
        if kind == "push":
            if event["key"] in self.pushed:
                return False
            self.pushed[event["key"]] = event
            self._apply_state(event)
        elif kind == "live":
            if event["n"] in self.live_seen:
                return False
            self.live_seen.add(event["n"])
            if event.get("thread"):
                t = thread_from_json(event["thread"])
                self.threads.setdefault(t.remote_id, t)
        elif kind == "team":
            if event["id"] in self.team_seen:
                return False
            self.team_seen.add(event["id"])
        elif kind == "customer":
            if event.get("new_thread"):
                self.threads.setdefault(event["new_thread"]["remote_id"], thread_from_json(event["new_thread"]))
        else:
            return False
        self.events.append(event)
        return True

    def _apply_state(self, ev: dict) -> None:
        kind, args = ev["kind"], ev.get("args") or {}
        st = self.state.setdefault(ev["thread"], {})
        if kind == "close":
            st.update(status="closed", snoozed_until=None)
        elif kind == "reopen":
            st.update(status="open", snoozed_until=None)
        elif kind == "snooze":
            st.update(status="snoozed", snoozed_until=args.get("until"))
        elif kind == "assign":
            st["assignee"] = args.get("to") or ""
        elif kind in ("tag", "untag"):
            tags = set(st.get("tags") or ())
            add = args.get("add") or ([args["tag"]] if kind == "tag" and args.get("tag") else [])
            remove = args.get("remove") or ([args["tag"]] if kind == "untag" and args.get("tag") else [])
            tags |= set(add)
            tags -= set(remove)
            st["tags"] = sorted(tags)
        elif kind == "priority":
            st["priority"] = args.get("level")
        elif kind in ("mark_read", "mark_unread"):
            st["unread"] = kind == "mark_unread"
        elif kind in REPLY_KINDS:
            st.setdefault("status", None)

    def _append(self, event: dict, unless: Callable[[], dict | None] | None = None) -> tuple[dict, bool]:
        """Record ``event`` durably; return (event, True). If ``unless()`` finds an
        existing record first (checked under the journal lock), return (it, False)."""
        if self.path is None:
            existing = unless() if unless else None
            if existing is not None:
                return existing, False
            self._apply(event)
            return event, True
        with open(self.path, "ab") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                self.refresh()
                existing = unless() if unless else None
                if existing is not None:
                    return existing, False
                fh.write(json.dumps(event, ensure_ascii=False).encode() + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        self.refresh()
        return event, True

    # -- what the provider asks

    def events_since(self, seq: int) -> list[dict]:
        self.refresh()
        return self.events[seq:]

    @property
    def live_count(self) -> int:
        return max(self.live_seen) + 1 if self.live_seen else 0

    def record_live(self, n: int, thread: Thread, message: Message) -> None:
        self._append({"e": "live", "n": n, "thread": thread_to_json(thread), "msg": message_to_json(message)},
                     unless=lambda: {"e": "live"} if n in self.live_seen else None)

    def record_team(self, event: dict) -> None:
        """A teammate's answer (``{"e": "team", "id", "thread", "at", "author", "text"}``), once per id."""
        self._append(event, unless=lambda: event if event["id"] in self.team_seen else None)

    def record_push(self, event: dict) -> tuple[dict, bool]:
        """Record one push exactly once per key: (event, True), or (the earlier one, False)."""
        return self._append(event, unless=lambda: self.pushed.get(event["key"]))

    # -- what a test (the customer) does

    def customer_writes(self, text: str, thread: str | None = None, author: Identity | None = None,
                        subject: str = "") -> str:
        """A customer sends ``text`` (a new conversation, or into ``thread``); the next pull
        returns it. Returns the new message's remote id."""
        now = utcnow()
        msg_id = f"cw-{uuid.uuid4().hex[:12]}"
        event: dict[str, Any] = {"e": "customer", "id": msg_id, "text": text, "at": now.isoformat(),
                                 "author": identity_to_json(author) if author else None}
        if thread is None:
            who = author or TEST_CUSTOMER.get(self.channel, TEST_CUSTOMER[Channel.EMAIL])
            first_line = text.strip().split("\n", 1)[0]
            t = Thread(remote_id=f"cw-thread-{uuid.uuid4().hex[:12]}", channel=self.channel,
                       subject=subject or first_line[:80], customer=who, last_message_at=now, status=Status.OPEN,
                       unread=True, channel_detail="mention" if self.channel == Channel.SOCIAL else "")
            event["thread"] = t.remote_id
            event["new_thread"] = thread_to_json(t)
        else:
            event["thread"] = thread
        self._append(event)
        return msg_id

    def delivered(self, text: str) -> int:
        """How many replies the customers received that contain ``text`` (each key counts once)."""
        self.refresh()
        return sum(1 for ev in self.pushed.values() if ev["kind"] in REPLY_KINDS and text in ev.get("text", ""))

    def snapshot(self) -> dict:
        """Pushed keys and the remote view of thread states: what read-only use must not change."""
        self.refresh()
        return {"pushed": sorted(self.pushed), "state": json.loads(json.dumps(self.state))}
