"""The sync engine: one task per account, pulling into the cache and pushing the outbox.

Each account runs on its own: open, pull pages until the adapter says there is no
more, push that account's due outbox rows, then wait on the adapter's ``watch``
(or the poll interval) until there is news or outbox work. Errors back off
exponentially with jitter; a slow or dead account never delays the others or
the screen, because every network call is awaited inside its own task with a
timeout. Per-account state is kept in :attr:`Engine.states` for the status bar.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from console import secrets
from console.backoff import BACKOFF_CAP, backoff_delay
from console.cache import queries
from console.cache.db import explain, transaction
from console.cache.ingest import BatchWriter, ensure_account
from console.config import AccountSettings, Config
from console.errors import UserError
from console.outbox import Dispatcher
from providers.base import (
    AccountConfig,
    AuthError,
    Channel,
    Provider,
    ProviderError,
    TransientError,
    load,
)
from providers.text import clean_line

log = logging.getLogger("switchboard.engine")

CALL_TIMEOUT = 120.0  # no single pull or push may hang an account longer than this
AUTH_RETRY = 600.0  # a refused password is retried rarely: the user has to act
TICK_EVERY = 15.0


@dataclass
class AccountState:
    name: str
    provider: str
    channel: str = ""
    state: str = "starting"  # starting | syncing | online | offline | auth_failed | error | disabled
    detail: str = ""
    next_try_at: float | None = None
    last_sync_at: float | None = None
    failures: int = 0
    send_problems: list[str] = field(default_factory=list)  # outbox rows the last flush could not push
    error: str = ""  # why the last try failed, one line ("" once the account syncs again)
    fix: str = ""  # what the user can do about it
    error_at: float | None = None
    synced_messages: int = 0  # messages pulled since the engine started (first-sync progress)

    def line(self, now: float | None = None, *, retrying: bool = True) -> str:
        """One line for people: 'support-mail: offline — retry in 12 s (connection refused)'.
        ``retrying=False`` (a single pass that is about to exit) leaves the retry out."""
        now = time.time() if now is None else now
        text = f"{self.name}: {self.state.replace('_', ' ')}"
        if retrying and self.next_try_at and self.state in ("offline", "auth_failed", "error"):
            text += f" — retry in {max(0, int(self.next_try_at - now))} s"
        if self.detail:
            text += f" ({self.detail})"
        return text


def build_provider(acc: AccountSettings, data_dir: Path | None) -> Provider:
    """Instantiate the adapter for one account; OptionError (one line) on bad options."""
    cls = load(acc.provider)
    options = dict(acc.options)
    names = {o.name for o in cls.options}
    if "state_dir" in names and not options.get("state_dir") and data_dir is not None:
        # Adapters that keep remote-session state (tokens, the demo's simulated remote) keep it per account.
        options["state_dir"] = str(Path(data_dir) / "state" / (cls.kind if cls.shared_state else acc.name))
    return cls(AccountConfig(name=acc.name, provider=acc.provider, options=options, secret=secrets.reader(acc.name),
                             kept=secrets.KeyringKept(acc.name),
                             poll_interval=acc.poll_interval, window_days=acc.window_days))


class Engine:
    def __init__(self, db: sqlite3.Connection, config: Config, *, read_only: bool = False, service=None,
                 on_change: Callable[[set[int]], None] | None = None, data_dir: Path | None = None,
                 providers: dict[str, Provider] | None = None, announce: bool = True) -> None:
        self.db = db
        self.announce = announce  # False: team presence is heard but this process announces nothing (headless sync)
        self.config = config
        self.read_only = read_only or config.read_only
        self.service = service
        self.on_change = on_change
        self.data_dir = data_dir
        self.states: dict[str, AccountState] = {}
        self.providers: dict[str, Provider] = dict(providers or {})
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self.dispatcher = Dispatcher(db, notify=self._changed)
        self.writer = BatchWriter(db, triage=service.process if service is not None else None,
                                  foresee=service.foresee if service is not None else None)
        self.team = None  # the presence client ([team]), made by start(): a single pass announces nothing
        for acc in config.accounts:
            self.states[acc.name] = AccountState(acc.name, acc.provider, state="starting" if acc.enabled else "disabled")

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Start one task per enabled account (and the service ticker); returns at once."""
        if self.service is not None:
            await self._run_service("start")
        for acc in self.config.accounts:
            if not acc.enabled:
                continue
            self._wake[acc.name] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._account_loop(acc), name=f"sync:{acc.name}"))
        if self.service is not None:
            self._tasks.append(asyncio.create_task(self._tick_loop(), name="service-tick"))
        self._start_team()

    def _start_team(self) -> None:
        """Team presence beside the accounts; its state shows as the "team" line."""
        if self.config.team is None:
            return
        from console.team.presence import build

        state = self.states.setdefault("team", AccountState("team", self.config.team.provider, channel="team"))
        try:
            self.team = build(self.config, self.db, read_only=self.read_only or not self.announce,
                              data_dir=self.data_dir, run=self.writer.run, on_change=self._changed, state=state)
        except (ProviderError, UserError) as exc:
            state.state = "error"
            state.error, state.fix = explain_failure(exc, "team")
            state.detail = " — ".join(p for p in (state.error, state.fix) if p)
            return
        self._tasks.append(self.team.start())

    async def stop(self) -> None:
        self._stopping = True
        team, self.team = self.team, None
        if team is not None:
            await team.stop()  # clears our entry while the network is still up
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        for p in list(self.providers.values()):
            await self._close(p)
        self.writer.close()
        if self.service is not None:
            self.service.close()

    def wake_outbox(self, account: str | None = None) -> None:
        """Tell account loops there is outbox work (after ``perform`` queued something)."""
        for name, event in self._wake.items():
            if account is None or name == account:
                event.set()

    async def run_once(self, progress: Callable[[str, str], None] | None = None) -> dict[str, AccountState]:
        """One pass over every account (for `switchboard sync --once`): open, push due
        outbox rows, pull every page, close. Accounts run concurrently."""
        if self.service is not None:
            await self._run_service("start")

        async def one(acc: AccountSettings) -> None:
            state = self.states[acc.name]
            try:
                provider = await self._open(acc)
                if provider is None:
                    return
                await self._flush_outbox(acc.name, provider)
                await self._pull_all(acc, provider, progress)
                state.state, state.detail = "online", provider.notice
                self._set_error(state, None)
            except Exception as exc:  # one account's failure never stops the others
                self._record_failure(state, exc)
            finally:
                p = self.providers.get(acc.name)
                if p is not None:
                    await self._close(p)

        await asyncio.gather(*(one(a) for a in self.config.accounts if a.enabled))
        if self.service is not None:
            await self._run_service("tick", time.time())
            self.service.close()  # the pass is over: its tone workers too
        return self.states

    # ------------------------------------------------------------------ one account

    async def _account_loop(self, acc: AccountSettings) -> None:
        state = self.states[acc.name]
        while not self._stopping:
            provider = None
            try:
                provider = await self._open(acc)
                if provider is None:
                    return  # configuration error: shown in the state, nothing to retry
                while not self._stopping:
                    await self._flush_outbox(acc.name, provider)
                    await self._pull_all(acc, provider)
                    state.state, state.detail, state.failures, state.next_try_at = "online", provider.notice, 0, None
                    if state.error:
                        self._set_error(state, None)
                    await self._wait_for_news(acc, provider)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self._record_failure(state, exc)
                if provider is not None:  # closed now, opened again (same instance) on the next try
                    await self._close(provider)
                self._changed(set())
                await asyncio.sleep(delay)

    async def _open(self, acc: AccountSettings) -> Provider | None:
        state = self.states[acc.name]
        provider = self.providers.get(acc.name)
        if provider is None:
            try:
                provider = build_provider(acc, self.data_dir)
            except (ProviderError, UserError) as exc:
                state.state, state.next_try_at = "error", None
                self._set_error(state, exc)
                return None
            self.providers[acc.name] = provider
        state.channel = _channel_name(provider)
        state.state, state.detail = "syncing", "connecting"
        await asyncio.wait_for(provider.open(read_only=self.read_only), timeout=CALL_TIMEOUT)
        with transaction(self.db):
            account_id = ensure_account(self.db, acc.name, acc.provider, state.channel)
            caps = sorted(c.value for c in provider.capabilities)
            self.db.execute("UPDATE accounts SET capabilities=json(?) WHERE id=?", (_json(caps), account_id))
            queries.store_reply_limits(self.db, account_id, provider.reply_limits())
        return provider

    async def _pull_all(self, acc: AccountSettings, provider: Provider,
                        progress: Callable[[str, str], None] | None = None) -> None:
        state = self.states[acc.name]
        account_id = self.db.execute("SELECT id FROM accounts WHERE name=?", (acc.name,)).fetchone()[0]
        cursor = self.db.execute("SELECT cursor FROM accounts WHERE id=?", (account_id,)).fetchone()[0]
        pages = 0
        while True:
            state.state, state.detail = "syncing", f"page {pages + 1}" if pages else ""
            batch = await asyncio.wait_for(provider.pull(cursor), timeout=CALL_TIMEOUT)
            pages += 1
            try:
                result = await self.writer.apply(account_id, batch)  # stored and triaged together, off the loop
            except sqlite3.Error as exc:
                raise explain(exc) from None
            cursor = batch.cursor
            state.last_sync_at = time.time()
            state.synced_messages += len(batch.messages)
            if progress is not None:
                progress(acc.name, f"{len(batch)} records, page {pages}")
            if result.changed or result.confirmed:
                self._changed(set(result.touched_threads) | set(result.new_threads))
            if not batch.more:
                return
            await asyncio.sleep(0)  # let the screen breathe between pages

    async def _flush_outbox(self, account: str, provider: Provider) -> None:
        if self.read_only:
            return
        result = await self.dispatcher.flush(account, provider)
        self.states[account].send_problems = [p.line() for p in result.problems]

    async def _wait_for_news(self, acc: AccountSettings, provider: Provider) -> None:
        """Wait for the adapter's watch (or the poll interval) or outbox work, whichever is first."""
        event = self._wake[acc.name]
        if event.is_set():
            event.clear()
            return
        interval = max(1.0, acc.poll_interval)
        due = self.dispatcher.next_due(account=acc.name)
        if due is not None:
            interval = max(0.05, min(interval, due - time.time()))
        watch = asyncio.create_task(provider.watch(interval))
        woken = asyncio.create_task(event.wait())
        try:
            done, _ = await asyncio.wait({watch, woken}, timeout=interval + CALL_TIMEOUT,
                                         return_when=asyncio.FIRST_COMPLETED)
            if watch in done and watch.exception() is not None:
                raise watch.exception()
        finally:
            for task in (watch, woken):
                if not task.done():
                    task.cancel()
                    try:
                        await task
                    except (asyncio.CancelledError, Exception):
                        pass
            event.clear()

    def _record_failure(self, state: AccountState, exc: BaseException) -> float:
        state.failures += 1
        if isinstance(exc, sqlite3.Error):
            exc = explain(exc)  # the cache, not the account: e.g. the disk is full
        if isinstance(exc, AuthError):
            state.state, delay = "auth_failed", AUTH_RETRY
        elif isinstance(exc, (TransientError, OSError, asyncio.TimeoutError, TimeoutError)):
            state.state = "offline"
            retry_after = getattr(exc, "retry_after", None)
            delay = retry_after if retry_after else backoff_delay(state.failures - 1)
        elif isinstance(exc, (ProviderError, UserError)):
            state.state, delay = "error", backoff_delay(state.failures - 1, cap=BACKOFF_CAP * 2)
        else:  # an adapter bug: keep the account alive, say what happened, back off
            log.exception("account %s failed", state.name)
            state.state, delay = "error", backoff_delay(state.failures - 1)
        state.next_try_at = time.time() + delay
        self._set_error(state, exc)
        return delay

    def _set_error(self, state: AccountState, exc: BaseException | None) -> None:
        """Keep why the account failed and the fix (or clear them), in the state and in the cache,
        so `switchboard accounts list` and the console can say why after the fact."""
        if exc is None:
            state.error, state.fix, state.error_at = "", "", None
        else:
            state.error, state.fix = explain_failure(exc, state.name)
            state.error_at = time.time()
            state.detail = " — ".join(p for p in (state.error, state.fix) if p)
        try:
            with transaction(self.db):
                self.db.execute(
                    """INSERT INTO accounts(name, provider, channel, last_error, last_fix, last_error_at)
                       VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET last_error=excluded.last_error,
                       last_fix=excluded.last_fix, last_error_at=excluded.last_error_at""",
                    (state.name, state.provider, state.channel, state.error, state.fix, state.error_at))
        except sqlite3.Error:
            pass  # the cache cannot be written (disk full): the state in memory still says why

    async def _close(self, provider: Provider) -> None:
        try:
            await asyncio.wait_for(provider.close(), timeout=10)
        except Exception:
            pass

    # ------------------------------------------------------------------ service hooks

    async def _tick_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(TICK_EVERY)
            await self._run_service("tick", time.time())
            self._changed(set())

    async def _run_service(self, method: str, *args) -> None:
        """The service's own writes (start, tick) take their turn in the writer's thread."""
        try:
            await self.writer.run(lambda db: getattr(self.service, method)(db, *args))
        except Exception:  # triage must never take the sync down; the log says why
            log.exception("service.%s failed", method)

    def _changed(self, thread_ids: set[int]) -> None:
        if self.on_change is not None:
            try:
                self.on_change(thread_ids)
            except Exception:
                log.exception("on_change failed")


def _channel_name(provider: Provider) -> str:
    ch = getattr(provider, "channel", "")
    return ch.value if isinstance(ch, Channel) else str(ch)


def explain_failure(exc: BaseException, account: str) -> tuple[str, str]:
    """(what went wrong, the fix) for a failed sync, each one line of plain text with
    nothing a terminal would act on: server text is hostile."""
    fix = getattr(exc, "fix", "") or ""
    if isinstance(exc, (ProviderError, UserError)):
        what = Exception.__str__(exc)
    elif isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        what = str(exc) or f"no answer within {CALL_TIMEOUT:.0f} s"
    else:
        what = str(exc) or type(exc).__name__
        if not isinstance(exc, OSError):
            what = f"{type(exc).__name__}: {what}"
    if not fix:
        if isinstance(exc, AuthError):
            fix = f"check the user name, then store the right secret: switchboard accounts add {account}"
        elif isinstance(exc, (TransientError, OSError, asyncio.TimeoutError, TimeoutError)):
            fix = "check the network, the host and the port; it is retried on its own"
        elif not isinstance(exc, (ProviderError, UserError)):
            fix = "this is a bug in the adapter; the log (switchboard.log in the data folder) has the details"
    return clean_line(what)[:300], clean_line(fix)[:300]


def _json(value) -> str:
    import json

    return json.dumps(value)
