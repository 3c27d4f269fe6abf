"""The presence client: announces this console in the team room(s), hears the others.

It runs beside the sync engine, on the engine's event loop and never on the screen's
work: the screen only calls :meth:`PresenceClient.set_local` (cheap, no network) and
reads ``team_presence`` through the cache. Three tasks:

- *publish* — writes this agent's entry when what it shows changes, coalesced: at most
  one write per ``min_interval`` seconds, except that starting or stopping a reply and
  leaving a conversation go at once; the entry is written again every ``heartbeat``
  seconds while the console runs (readers drop it ``ttl`` seconds after its last write);
  quitting clears it. A read-only console (a supervisor) publishes nothing, ever.
- *receive* — long-polls the room's state and stores every entry in the cache;
- *expire* — deletes entries past their time and resolves entries naming a
  conversation that a later sync brought into this cache.

Failures back off like an account's and show in the status bar as the ``team`` line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from console.backoff import backoff_delay
from console.cache import team as store
from console.team.content import decode, encode
from console.team.keys import conversation_key
from console.team.settings import SECRET_NAME, TeamSettings
from providers.base import AuthError, ProviderError, TeamTransport, TransientError
from providers.text import clean_line

log = logging.getLogger("switchboard.team")

POLL = 30.0  # seconds one long-poll of the room waits for news
CLEAR_TIMEOUT = 5.0  # quitting waits at most this long to clear our entry


@dataclass(frozen=True, slots=True)
class Shown:
    """What this console shows now: a conversation (by key) and whether the agent is replying."""

    room: str
    key: str  # "" : nothing open
    mode: str  # online | viewing | replying
    since: float


@dataclass(slots=True)
class Written:
    shown: Shown
    at: float


class PresenceClient:
    def __init__(self, settings: TeamSettings, transport: TeamTransport, *, db, agent_name: str, read_only: bool,
                 identities: dict[str, str], run: Callable[[Callable[[Any], Any]], Awaitable[Any]],
                 on_change: Callable[[set[int] | None], None] = lambda ids: None, state=None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.transport = transport
        self.db = db  # read on the loop: which conversation is open (one indexed row)
        self.agent_name = agent_name
        self.read_only = read_only
        self.identities = identities
        self.run = run  # the engine writer's turn: every cache write happens there
        self.on_change = on_change
        self.state = state  # an engine AccountState named "team", for the status bar (or None)
        self.clock = clock
        self.rooms: list[str] = []  # room ids, in [team] order (open() resolves aliases)
        self._alias: dict[str, str] = {}
        self._local: tuple[int | None, bool] | None = None
        self._shown: Shown | None = None
        self._written: Written | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._open = False
        self.writes = 0  # state events this console sent (for tests and the bench)

    # ------------------------------------------------------------------ the screen's side

    def set_local(self, thread_id: int | None, replying: bool = False) -> None:
        """The conversation on screen (None: none) and whether the agent is writing a reply."""
        if self.read_only or self._local == (thread_id, replying):
            return
        self._local = (thread_id, replying)
        room, key = self.settings.rooms[0], ""
        if thread_id is not None:
            row = store.announced(self.db, thread_id)
            identity = self.identities.get(row["account"]) if row is not None else None
            if identity is not None:
                key = conversation_key(identity, row["remote_id"])
                room = self.settings.room_for(row["queue"], row["account"])
        mode = "replying" if key and replying else "viewing" if key else "online"
        room_id = self._alias.get(room, room)
        shown = self._shown
        if shown is None or (shown.room, shown.key, shown.mode) != (room_id, key, mode):
            self._shown = Shown(room_id, key, mode, self.clock())
            self._wake.set()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> asyncio.Task:
        self._task = asyncio.create_task(self._run(), name="team-presence")
        return self._task

    async def stop(self) -> None:
        """Stop; a writing console clears its entry first (readers would otherwise wait for the TTL)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        written, self._written = self._written, None
        if self._open and written is not None and not self.read_only:
            try:
                await asyncio.wait_for(self.transport.publish(written.shown.room, {}), timeout=CLEAR_TIMEOUT)
                self.writes += 1
            except Exception as exc:  # quitting must not fail: the entry expires after the TTL instead
                log.warning("could not clear our presence: %s", exc)
        try:
            await self.transport.close()
        except Exception:
            pass
        self._open = False

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                self._set_state("syncing", "connecting")
                self.rooms = await self.transport.open(read_only=self.read_only)
                self._alias = dict(zip(self.settings.rooms, self.rooms))
                self._open = True
                if self._shown is not None:  # announced before the rooms' ids were known
                    s = self._shown
                    self._shown = Shown(self._alias.get(s.room, s.room), s.key, s.mode, s.since)
                await self.run(lambda db: store.forget_room(db, self.rooms))
                self._set_state("online", "read-only: announces nothing" if self.read_only else "")
                failures = 0
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._receive())
                    group.create_task(self._expire())
                    if not self.read_only:
                        group.create_task(self._publish())
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001  (a TaskGroup wraps its tasks' errors)
                exc = _first(exc)
                failures += 1
                delay = 600.0 if isinstance(exc, AuthError) else backoff_delay(failures - 1)
                if isinstance(exc, TransientError) and exc.retry_after:
                    delay = exc.retry_after
                self._set_state("auth_failed" if isinstance(exc, AuthError) else
                                "offline" if isinstance(exc, (TransientError, OSError)) else "error", exc, delay)
                if not isinstance(exc, (ProviderError, OSError)):
                    log.error("team presence failed", exc_info=exc)
                try:
                    await self.transport.close()
                except Exception:
                    pass
                self._open = False
                self._written = None  # the room may have lost our entry meanwhile: write it again
                await asyncio.sleep(delay)

    # ------------------------------------------------------------------ publish

    def _target(self) -> Shown:
        if self._shown is None:
            self._shown = Shown(self._alias.get(self.settings.rooms[0], self.rooms[0]), "", "online", self.clock())
        return self._shown

    def next_write(self, now: float) -> float:
        """When our entry must be written next (the rate limit and the heartbeat, see the module)."""
        target, written = self._target(), self._written
        if written is None or written.shown.room != target.room:
            return now
        old = written.shown
        if (old.key, old.mode) == (target.key, target.mode):
            return written.at + self.settings.heartbeat
        if "replying" in (old.mode, target.mode) or not target.key:
            return now  # starting or stopping a reply, or leaving: at once
        return written.at + self.settings.min_interval

    async def _publish(self) -> None:
        while True:
            now = self.clock()
            due = self.next_write(now)
            if due <= now:
                await self._write(self._target(), now)
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=due - now)
            except TimeoutError:
                pass

    async def _write(self, shown: Shown, now: float) -> None:
        written = self._written
        if written is not None and written.shown.room != shown.room:
            await self.transport.publish(written.shown.room, {})  # moved to another queue's room
            self.writes += 1
        content = encode(name=self.agent_name, mode=shown.mode, key=shown.key, since=shown.since, now=now,
                         ttl=self.settings.ttl)
        await self.transport.publish(shown.room, content)
        self.writes += 1
        self._written = Written(shown, now)

    # ------------------------------------------------------------------ receive and expire

    async def _receive(self) -> None:
        first = True
        while True:
            found = await self.transport.changes(0.0 if first else POLL)
            first = False
            if not found:
                continue
            ttl = self.settings.ttl
            decoded = [(e.room, clean_line(e.agent)[:255], decode(e.room, e.agent, e.content, e.at, ttl))
                       for e in found if e.room in self.rooms]
            now = self.clock()
            touched = await self.run(lambda db: store.store(db, decoded, now, self.identities))
            self._changed(touched)

    async def _expire(self) -> None:
        every = max(0.2, min(2.0, self.settings.ttl / 6))
        while True:
            await asyncio.sleep(every)
            now = self.clock()
            gone, touched = await self.run(lambda db: store.expire(db, now))
            touched |= await self.run(lambda db: store.resolve_pending(db, self.identities))
            if gone or touched:
                self._changed(touched)

    # ------------------------------------------------------------------ helpers

    def _changed(self, thread_ids: set[int]) -> None:
        try:
            self.on_change(set(thread_ids) if thread_ids else set())
        except Exception:
            log.exception("on_change failed")

    def _set_state(self, state: str, detail: object = "", delay: float | None = None) -> None:
        st = self.state
        if st is None:
            return
        st.state = state
        if isinstance(detail, BaseException):
            st.error = clean_line(Exception.__str__(detail) if isinstance(detail, ProviderError) else
                                  str(detail) or type(detail).__name__)[:300]
            st.fix = clean_line(getattr(detail, "fix", "") or "")[:300]
            st.detail = " — ".join(p for p in (st.error, st.fix) if p)
            st.error_at = self.clock()
            st.failures += 1
            st.next_try_at = self.clock() + delay if delay else None
        else:
            st.detail = str(detail)
            if state == "online":
                st.error, st.fix, st.failures, st.next_try_at = "", "", 0, None
                st.last_sync_at = self.clock()


def _first(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def transport_for(config, data_dir) -> TeamTransport:
    """``[team]``'s transport: the adapter's (``Provider.team_transport``), reached through the contract,
    signed in with the keyring's ``team`` secret, keeping its session under the data folder."""
    from pathlib import Path

    from console import secrets
    from providers.base import AccountConfig, load

    settings: TeamSettings = config.team
    state_dir = str(Path(data_dir) / "state" / SECRET_NAME) if data_dir is not None else ""
    account = AccountConfig(name=SECRET_NAME, provider=settings.provider, options=settings.options(state_dir),
                            secret=secrets.reader(SECRET_NAME), kept=secrets.KeyringKept(SECRET_NAME))
    return load(settings.provider).team_transport(account)


def build(config, db, *, read_only: bool, data_dir, run, on_change, state=None) -> PresenceClient | None:
    """The client for ``[team]`` (None without one)."""
    if config.team is None:
        return None
    from console.team.keys import identities

    return PresenceClient(config.team, transport_for(config, data_dir), db=db, agent_name=config.agent_name,
                          read_only=read_only, identities=identities(config, data_dir), run=run,
                          on_change=on_change, state=state)


async def read_once(config, db, data_dir, timeout: float = 20.0) -> int:
    """Read the team rooms' entries once, read-only, into the cache (``switchboard team``);
    returns how many entries the rooms hold. Writes nothing to any room."""
    from console.team.keys import identities

    transport = transport_for(config, data_dir)
    try:
        rooms = await asyncio.wait_for(transport.open(read_only=True), timeout=timeout)
        found = await asyncio.wait_for(transport.changes(0.0), timeout=timeout)
        # A homeserver may answer a first sync from its cache (Synapse: up to 2 minutes old);
        # the next one, from that answer's position, brings it up to now.
        found += await asyncio.wait_for(transport.changes(0.0), timeout=timeout)
    finally:
        await transport.close()
    ttl, now, ids = config.team.ttl, time.time(), identities(config, data_dir)
    decoded = [(e.room, clean_line(e.agent)[:255], decode(e.room, e.agent, e.content, e.at, ttl))
               for e in found if e.room in rooms]
    store.forget_room(db, rooms)
    store.store(db, decoded, now, ids)
    store.expire(db, now)
    return len(decoded)
