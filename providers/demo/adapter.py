"""``DemoProvider``: one account of the demo world, behaving like a real remote system.

It goes through the same engine, cache and outbox as a real adapter: bounded pages
on the first pull, a live stream of new customer messages afterwards, pushes that are
exactly-once per key (across processes when ``state_dir`` is set), read-only refusal,
optional latency and failures to show how the console copes.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import datetime, timedelta, timezone
from typing import ClassVar

from providers.base import (
    AccountConfig,
    Batch,
    Capability,
    Channel,
    Direction,
    Identity,
    Message,
    NotOpen,
    Option,
    OptionError,
    PermanentError,
    Provider,
    PushAction,
    Receipt,
    Status,
    Thread,
    TransientError,
    Unsupported,
)
from providers.demo import names as N
from providers.demo import shop
from providers.demo import team
from providers.demo.remote import DemoRemote, identity_from_json, message_from_json, thread_from_json, utcnow
from providers.demo.world import VIP_SPEND, World, build_world, live_event, waiting_since

PAGE_THREADS = 150
PAGE_CUSTOMERS = 150

CONVERSATION_CAPS = frozenset({Capability.REPLY, Capability.CLOSE, Capability.REOPEN, Capability.TAG,
                               Capability.ASSIGN, Capability.SNOOZE, Capability.MARK_READ, Capability.PRIORITY,
                               Capability.WATCH})
CAPABILITIES = {
    Channel.EMAIL: CONVERSATION_CAPS,
    Channel.CHAT: CONVERSATION_CAPS,
    Channel.SOCIAL: CONVERSATION_CAPS | {Capability.MOVE_PRIVATE},
    Channel.COMMERCE: frozenset({Capability.REFUND}),
    Channel.KNOWLEDGE: frozenset(),
}
# Which capability each push kind needs (None: always accepted on a conversation channel).
NEEDS = {"reply": Capability.REPLY, "move_private": Capability.MOVE_PRIVATE, "note": None,
         "close": Capability.CLOSE, "reopen": Capability.REOPEN, "tag": Capability.TAG, "untag": Capability.TAG,
         "assign": Capability.ASSIGN, "snooze": Capability.SNOOZE, "mark_read": Capability.MARK_READ,
         "mark_unread": Capability.MARK_READ, "priority": Capability.PRIORITY, "refund": Capability.REFUND}
SUPPORT_ADDRESS = {Channel.EMAIL: N.SUPPORT_EMAIL, Channel.CHAT: N.SUPPORT_MATRIX,
                   Channel.SOCIAL: N.SHOP_HANDLE_MASTODON}


class DemoProvider(Provider):
    kind: ClassVar[str] = "demo"
    channel = Channel.EMAIL  # replaced per instance by the ``channel`` option
    capabilities = CONVERSATION_CAPS
    needs_secret = False
    shared_state = True  # the demo accounts of one profile share one world anchor
    options = (
        Option("channel", str, required=True, choices=("email", "chat", "social", "commerce", "knowledge"),
               help="which remote system this account simulates"),
        Option("seed", int, 7, help="same seed, same world"),
        Option("customers", int, 320, help="how many customers the shop has"),
        Option("conversations", int, 1200, help="conversations spread over email, chat and social"),
        Option("latency", float, 0.0, help="seconds added to every pull and push"),
        Option("failure_rate", float, 0.0, help="share of pulls and pushes that fail (0..1)"),
        Option("interval", float, 4.0, help="seconds between new live customer messages; 0 = none"),
        Option("state_dir", str, "", help="folder keeping the simulated remote side between runs; empty = memory"),
    )

    def __init__(self, account: AccountConfig) -> None:
        super().__init__(account)
        o = self.opts
        for name in ("customers", "conversations"):
            if o[name] < 1:
                raise OptionError(f"account {self.name!r}: option {name!r} must be at least 1",
                                    fix=f"set {name} to a positive whole number")
        if not 0.0 <= o["failure_rate"] <= 1.0:
            raise OptionError(f"account {self.name!r}: option 'failure_rate' is {o['failure_rate']}",
                                fix="use a number from 0 (never fails) to 1 (always fails)")
        if o["latency"] < 0 or o["interval"] < 0:
            raise OptionError(f"account {self.name!r}: latency and interval cannot be negative",
                                fix="use 0 or a positive number of seconds")
        self.channel = Channel(o["channel"])
        self.capabilities = CAPABILITIES[self.channel]
        self.seed: int = o["seed"]
        self.interval: float = o["interval"]
        self.remote: DemoRemote | None = None
        self.world: World | None = None
        self._failures = random.Random(f"{self.seed}/{self.name}/failures")
        self._opened_at = 0.0  # monotonic
        self._opened_wall: datetime | None = None
        self._live_base = 0
        self._waiting: dict[str, datetime] = {}  # conversation -> since when the customer waits on us
        self._scanned = 0  # remote events already read into _waiting
        self._spent: dict[str, float] = {}  # customer address on this channel -> what they spent

    # -- life cycle

    async def open(self, read_only: bool) -> None:
        self.read_only = read_only
        try:
            self.remote = DemoRemote(self.opts["state_dir"] or None, self.name, self.channel)
            anchor = self.remote.world_anchor()
        except OSError as exc:
            raise PermanentError(f"account {self.name!r}: {exc}", fix="set state_dir to a writable folder") from None
        self.world = build_world(self.seed, self.opts["customers"], self.opts["conversations"], now=anchor)
        self._opened_at = time.monotonic()
        self._opened_wall = utcnow()
        self._live_base = self.remote.live_count
        self._scanned = 0
        self._waiting = {t.remote_id: waiting_since(self.world.messages[t.remote_id])
                         for t in self.world.threads.get(self.channel, [])
                         if t.status == Status.OPEN and self.world.messages[t.remote_id][-1].direction == Direction.INBOUND}
        self._spent = {}
        for p in self.world.people:
            ident = p.on(self.channel) if self.channel in (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL) else None
            if ident is not None:
                self._spent[ident.address] = sum(o.total for o in p.orders)

    async def close(self) -> None:
        self.remote = None

    def _require_open(self) -> DemoRemote:
        if self.remote is None or self.world is None:
            raise NotOpen(self.name)
        return self.remote

    async def _simulate_network(self, what: str) -> None:
        if self.opts["latency"] > 0:
            await asyncio.sleep(self.opts["latency"])
        rate = self.opts["failure_rate"]
        if rate > 0 and self._failures.random() < rate:
            raise TransientError(f"{self.name}: simulated network failure during {what}",
                                 fix="the demo's failure_rate option is set; the engine retries by itself",
                                 retry_after=0.5)

    # -- reading

    async def pull(self, cursor: str | None) -> Batch:
        remote = self._require_open()
        await self._simulate_network("pull")
        state = _parse_cursor(cursor)
        if state["phase"] == "init":
            return self._initial_page(state["page"])
        self._generate_due_live()
        self._team_answers()
        seq = state["seq"]
        if state.get("epoch") != remote.epoch or seq > len(remote.events):
            seq = 0  # the remote side started afresh (in-memory demo restarted): replay what it has
        return self._live_batch(remote, seq)

    def _initial_page(self, page: int) -> Batch:
        w = self.world
        assert w is not None
        if self.channel == Channel.KNOWLEDGE:
            return Batch(cursor=self._live_cursor(0), articles=list(w.articles))
        if self.channel == Channel.COMMERCE:
            chunk = w.customers[page * PAGE_CUSTOMERS:(page + 1) * PAGE_CUSTOMERS]
            addrs = {c.identities[0].address for c in chunk}
            orders = [o for o in w.orders if o.customer.address in addrs]
            done = (page + 1) * PAGE_CUSTOMERS >= len(w.customers)
            batch = Batch(cursor=self._live_cursor(0) if done else _cursor("init", page + 1), more=not done,
                          customers=list(chunk), orders=orders)
            shop.add_payments(batch, w, addrs)
            return batch
        threads = sorted(w.threads[self.channel], key=lambda t: t.last_message_at, reverse=True)
        pages = (len(threads) + PAGE_THREADS - 1) // PAGE_THREADS
        if page < pages:
            chunk = threads[page * PAGE_THREADS:(page + 1) * PAGE_THREADS]
            return Batch(cursor=_cursor("init", page + 1), more=True, threads=list(chunk),
                         messages=[m for t in chunk for m in w.messages[t.remote_id]])
        # The last initial page restates each conversation's remote state (status, unread,
        # snooze, assignee). It comes after the messages because the cache reopens a thread
        # and marks it unread when it stores an inbound message.
        return Batch(cursor=self._live_cursor(0), more=True, threads=list(threads))

    def _live_cursor(self, seq: int) -> str:
        return json.dumps({"v": 1, "phase": "live", "seq": seq, "epoch": self.remote.epoch})

    def _generate_due_live(self) -> None:
        remote = self.remote
        if self.interval <= 0 or self.channel not in (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL):
            return
        elapsed = time.monotonic() - self._opened_at
        due = self._live_base + int(elapsed / self.interval)
        for k in range(remote.live_count, due):
            at = self._opened_wall + timedelta(seconds=(k - self._live_base + 1) * self.interval)
            tag = "" if remote.epoch == "journal" else remote.epoch
            thread, msg = live_event(self.world, self.channel, k, min(at, utcnow()), tag=tag)
            remote.record_live(k, thread, msg)

    def _team_answers(self) -> None:
        """The rest of the team answers conversations whose answer time has come (while the stream runs)."""
        remote = self.remote
        if self.interval <= 0 or self.channel not in (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL):
            return
        events = remote.events_since(self._scanned)
        self._scanned += len(events)
        for ev in events:
            kind = ev["e"]
            if kind == "live" and ev["msg"]["direction"] == Direction.INBOUND.value:
                self._waiting.setdefault(ev["msg"]["thread"], datetime.fromisoformat(ev["msg"]["sent_at"]))
            elif kind == "customer":
                self._waiting.setdefault(ev["thread"], datetime.fromisoformat(ev["at"]))
            elif kind == "team" or (kind == "push" and ev["kind"] in ("reply", "move_private", "close", "snooze")):
                self._waiting.pop(ev["thread"], None)
        now = utcnow()
        for thread, since in sorted(self._waiting.items(), key=lambda kv: kv[1]):
            base = self._known_thread(thread)
            if base is None:
                continue
            at = team.answer_at(self.seed, thread, since, self.channel, base.customer.network,
                                self._spent.get(base.customer.address, 0.0) > VIP_SPEND,
                                not_before=self.world.now if self.world.thread(thread) is not None else None)
            if at > now:
                continue
            agent = random.Random(f"{self.seed}/team/{thread}").choice(N.AGENTS[1:])
            first = (base.customer.display_name or "").split(" ")[0]
            remote.record_team({"e": "team", "id": f"team-{thread}-{since.timestamp():.0f}", "thread": thread,
                                "at": at.isoformat(), "author": agent,
                                "text": team.reply_text(self.channel, first, agent)})

    def _live_batch(self, remote: DemoRemote, seq: int) -> Batch:
        events = remote.events_since(seq)
        batch = Batch(cursor=self._live_cursor(seq + len(events)))
        for ev in events:
            kind = ev["e"]
            if kind == "live":
                batch.threads.append(thread_from_json(ev["thread"]))
                batch.messages.append(message_from_json(ev["msg"]))
            elif kind == "customer":
                self._customer_records(ev, batch)
            elif kind == "push":
                self._push_records(ev, batch)
            elif kind == "team":
                self._team_records(ev, batch)
        return batch

    def _team_records(self, ev: dict, batch: Batch) -> None:
        base = self._known_thread(ev["thread"])
        if base is None:
            return
        at = datetime.fromisoformat(ev["at"])
        author = Identity(self.channel, SUPPORT_ADDRESS.get(self.channel, N.SUPPORT_EMAIL), display_name=ev["author"])
        meta = {"visibility": "public" if base.channel_detail == "mention" else "direct"} \
            if self.channel == Channel.SOCIAL else {}
        batch.threads.append(Thread(remote_id=base.remote_id, channel=self.channel, subject=base.subject,
                                    customer=base.customer, last_message_at=at, channel_detail=base.channel_detail,
                                    status=Status.PENDING, meta=dict(base.meta)))
        batch.messages.append(Message(remote_id=ev["id"], thread_remote_id=base.remote_id,
                                      direction=Direction.OUTBOUND, author=author, sent_at=at, text=ev["text"],
                                      meta=meta))

    def _known_thread(self, remote_id: str) -> Thread | None:
        t = self.world.thread(remote_id) if self.world else None
        if t is not None and t.channel == self.channel:
            return t
        return self.remote.threads.get(remote_id) if self.remote else None

    def _customer_records(self, ev: dict, batch: Batch) -> None:
        at = datetime.fromisoformat(ev["at"])
        base = self._known_thread(ev["thread"])
        if base is None:
            return  # written into a conversation this account does not hold
        author = identity_from_json(ev["author"]) if ev.get("author") else base.customer
        batch.threads.append(Thread(remote_id=base.remote_id, channel=self.channel, subject=base.subject,
                                    customer=base.customer, last_message_at=at, channel_detail=base.channel_detail,
                                    meta=dict(base.meta)))
        meta = {"visibility": "public" if base.channel_detail == "mention" else "direct"} \
            if self.channel == Channel.SOCIAL else {}
        batch.messages.append(Message(remote_id=ev["id"], thread_remote_id=base.remote_id,
                                      direction=Direction.INBOUND, author=author, sent_at=at, text=ev["text"],
                                      meta=meta))

    def _push_records(self, ev: dict, batch: Batch) -> None:
        if ev["kind"] == "refund":
            batch.refunds.append(shop.refund_record(ev))
            return
        base = self._known_thread(ev["thread"])
        at = datetime.fromisoformat(ev["at"])
        kind = ev["kind"]
        if kind in ("reply", "move_private", "note"):
            author = Identity(self.channel, SUPPORT_ADDRESS.get(self.channel, N.SUPPORT_EMAIL),
                              display_name=ev.get("author") or "Support")
            meta: dict = {}
            if self.channel == Channel.SOCIAL:
                meta["visibility"] = "direct" if kind == "move_private" or (
                    base and base.channel_detail == "direct") else "public"
            if kind == "move_private":
                meta["via"] = "move_private"
            batch.messages.append(Message(
                remote_id=ev["msg_id"], thread_remote_id=ev["thread"],
                direction=Direction.NOTE if kind == "note" else Direction.OUTBOUND, author=author, sent_at=at,
                text=ev.get("text", ""), meta=meta, action_key=ev["key"]))
            return
        if base is None:
            return
        st = self.remote.state.get(ev["thread"], {})
        t = Thread(remote_id=base.remote_id, channel=self.channel, subject=base.subject, customer=base.customer,
                   last_message_at=base.last_message_at, channel_detail=base.channel_detail, meta=dict(base.meta))
        if kind in ("close", "reopen", "snooze"):
            t.status = Status(st.get("status") or "open")
            t.snoozed_until = _when(st.get("snoozed_until"))
        elif kind == "assign":
            t.assignee = st.get("assignee", "")
        elif kind in ("tag", "untag"):
            t.tags = list(st.get("tags") or [])
        elif kind == "priority" and st.get("priority") is not None:
            t.priority = int(st["priority"])
        elif kind in ("mark_read", "mark_unread"):
            t.unread = bool(st.get("unread"))
        batch.threads.append(t)

    async def watch(self, timeout: float) -> bool:
        """Sleep until the next live message is due or the journal grows (or ``timeout``)."""
        remote = self._require_open()
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._live_due() or remote.has_news():
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            wait = deadline - now
            if self.interval > 0 and self.channel in (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL):
                next_k = remote.live_count - self._live_base + 1
                wait = min(wait, max(0.0, self._opened_at + next_k * self.interval - now) + 0.001)
            if remote.path is not None:
                wait = min(wait, 0.25)
            await asyncio.sleep(wait)

    def _live_due(self) -> bool:
        if self.interval <= 0 or self.channel not in (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL):
            return False
        due = self._live_base + int((time.monotonic() - self._opened_at) / self.interval)
        return due > self.remote.live_count

    # -- writing

    async def push(self, action: PushAction) -> Receipt:
        remote = self._require_open()
        self.require_writable(f"{action.kind} on {action.thread_remote_id!r}")
        if action.kind not in NEEDS:
            raise Unsupported(f"{self.name}: the demo {self.channel.value} account cannot {action.kind!r}")
        need = NEEDS[action.kind]
        if (self.channel == Channel.COMMERCE) != (action.kind == "refund"):
            raise Unsupported(f"{self.name}: the demo {self.channel.value} account cannot {action.kind}")
        if not self.capabilities or (need is not None and need not in self.capabilities):
            raise Unsupported(f"{self.name}: the demo {self.channel.value} account cannot {action.kind}")
        await self._simulate_network(action.kind)
        if action.kind == "refund":
            return shop.receipt(*remote.record_push(shop.refund_event(action, utcnow())))
        earlier = remote.pushed.get(action.key)
        if earlier is None and self._known_thread(action.thread_remote_id) is None:
            remote.refresh()
            if self._known_thread(action.thread_remote_id) is None and action.key not in remote.pushed:
                raise PermanentError(
                    f"{self.name}: no conversation {action.thread_remote_id!r} on the demo {self.channel.value} server",
                    fix="it may belong to another account; pull again to refresh")
        if action.kind in ("reply", "move_private", "note") and not action.text.strip():
            raise PermanentError(f"{self.name}: refusing to send an empty {action.kind}", fix="write the text first")
        now = utcnow()
        event = {"e": "push", "key": action.key, "kind": action.kind, "thread": action.thread_remote_id,
                 "text": action.text, "args": _jsonable(action.args), "at": now.isoformat(),
                 "author": str(action.args.get("author") or action.args.get("agent") or ""),
                 "msg_id": f"sent-{action.key}" if action.kind in ("reply", "move_private", "note") else None}
        recorded, fresh = remote.record_push(event)
        return Receipt(remote_id=recorded.get("msg_id"), sent_at=datetime.fromisoformat(recorded["at"]),
                       detail="sent" if fresh else "already sent with this key; nothing new was sent",
                       duplicate=not fresh)

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """The simulated server's journal remembers every key it accepted."""
        remote = self._require_open()
        remote.refresh()
        earlier = remote.pushed.get(action.key)
        if earlier is None:
            return None
        return Receipt(remote_id=earlier.get("msg_id"), sent_at=datetime.fromisoformat(earlier["at"]),
                       duplicate=True, detail="already sent with this key; nothing new was sent")

    async def reachable(self) -> str:
        return f"demo {self.channel.value} account (seed {self.seed}), no network needed"


# ----------------------------------------------------------------------------- helpers


def _cursor(phase: str, n: int) -> str:
    return json.dumps({"v": 1, "phase": phase, "page": n})


def _parse_cursor(cursor: str | None) -> dict:
    """Our own cursor; anything unreadable starts over (a re-pull is harmless: ingest is idempotent)."""
    if cursor:
        try:
            d = json.loads(cursor)
            if d.get("v") == 1 and d.get("phase") == "init" and int(d["page"]) >= 0:
                return {"phase": "init", "page": int(d["page"])}
            if d.get("v") == 1 and d.get("phase") == "live" and int(d["seq"]) >= 0:
                return {"phase": "live", "seq": int(d["seq"]), "epoch": d.get("epoch")}
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
    return {"phase": "init", "page": 0}


def _when(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), timezone.utc)
    try:
        d = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _jsonable(args: dict) -> dict:
    return json.loads(json.dumps(args, default=str))
