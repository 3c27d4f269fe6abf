"""The email adapter: a shared IMAP mailbox for reading and team state, SMTP for replies.

IMAPClient is synchronous. Each connection (one for sync and pushes, one per folder
read for IDLE) is used from worker threads only, one call at a time (a threading lock
guards it even when the awaiting task was cancelled), so the event loop never
blocks on the network.

Sync (see README.md): a first pull walks the account's window newest first in
pages (:attr:`ImapProvider.page_size` messages first, so the inbox shows something at
once, then :attr:`ImapProvider.later_pages` times as many), fetching the next page
while the core stores this one; later pulls fetch UIDs from UIDNEXT on, and read
expunges and flag changes with one QRESYNC ``FETCH (CHANGEDSINCE … VANISHED)`` (without
QRESYNC: CONDSTORE ``SEARCH MODSEQ``, and expunges noticed from the message count), and
start a folder over (without duplicates: messages are keyed by Message-ID) when its
UIDVALIDITY changes. Team state (closed, assignee, tags, read) is reported in a page
after the messages it concerns, because the cache re-opens a conversation whenever it
stores a new inbound message. Optional folders (Sent) never stop reading: see folders.py.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import re
import smtplib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, ProtocolError

from providers.base import (
    AccountConfig,
    Attachment,
    AuthError,
    Batch,
    Capability,
    Channel,
    Direction,
    Identity,
    Message,
    Newer,
    Option,
    OptionError,
    PermanentError,
    Provider,
    ProviderError,
    PushAction,
    Receipt,
    Status,
    Thread,
    Unsupported,
)
from providers.imap import claims, keywords, newer, send, threads
from providers.imap.fetch import changes_since, fetch_bodies, fetch_flags
from providers.imap.folders import OptionalFolder, folder_name
from providers.imap.idle import FolderIdle, Mark, NoIdle
from providers.imap.store import FILE as STORE_FILE, MapStore, StoreError
from providers.imap.connection import (
    DEFAULT_PORTS,
    SMTP_PORTS,
    Login,
    close_quietly,
    connect,
    network_error,
    oauth_token,
)
from providers.imap.parse import ParsedMail, attachment_bytes, parse_mail
from providers.imap.state import FolderState, SyncState, ThreadInfo

T = TypeVar("T")
SECURITY = ("tls", "starttls", "none")
FETCH_CHUNK = 200  # messages per FETCH command
MAX_PAGE = 5000  # messages per pull at most
BIG_MESSAGE = 2 * 1024 * 1024  # larger messages are read only up to this many bytes
TOKEN_REUSE = 10 * 60.0  # ask oauth_token_command again after this long (access tokens last ~1 h)


class ImapProvider(Provider):
    kind = "imap"
    channel = Channel.EMAIL
    capabilities = frozenset({Capability.REPLY, Capability.CLOSE, Capability.REOPEN, Capability.TAG,
                              Capability.ASSIGN, Capability.MARK_READ, Capability.WATCH, Capability.CLAIM})
    identity_options = ("username", "host")  # who the account is remotely (team presence keys)
    options = (
        Option("host", str, required=True, help="IMAP server, e.g. imap.example.com"),
        Option("port", int, None, help="IMAP port; default 993 for tls, 143 for starttls/none"),
        Option("security", str, "tls", choices=SECURITY, help="tls, starttls or none"),
        Option("username", str, required=True, help="IMAP login name"),
        Option("folders", list, ["INBOX"], help="folders to read customer mail from"),
        Option("sent_folder", str, "Sent", help="where replies are saved and looked up"),
        Option("smtp_host", str, None, help="SMTP server; default: the IMAP host"),
        Option("smtp_port", int, None, help="SMTP port; default 465 for tls, 587 for starttls, 25 for none"),
        Option("smtp_security", str, "tls", choices=SECURITY, help="tls, starttls or none"),
        Option("smtp_username", str, None, help="SMTP login; default: username"),
        Option("from", str, None, help='sender of replies, e.g. "Support <support@example.com>"'),
        Option("oauth_token_command", str, "", help="command printing an OAuth2 access token (XOAUTH2)"),
        Option("timeout", float, 30.0, help="seconds to wait for the server"),
        Option("state_dir", str, "", help="where the adapter keeps its sync maps (the engine sets it per account)"),
    )
    page_size = 200  # messages in the first page of a sync
    later_pages = 4  # later pages are this many times bigger (fewer round trips and cursor writes)

    def __init__(self, account: AccountConfig) -> None:
        super().__init__(account)
        o = self.opts
        self.host: str = o["host"]
        self.security: str = o["security"]
        self.port: int = o["port"] or DEFAULT_PORTS[self.security]
        self.username: str = o["username"]
        self.timeout: float = float(o["timeout"])
        if self.timeout <= 0:
            raise OptionError(f"account {self.name!r}: timeout must be positive", fix="e.g. timeout = 30")
        folders = o["folders"]
        if not folders or not all(isinstance(f, str) and f for f in folders):
            raise OptionError(f"account {self.name!r}: folders must be a list of folder names",
                              fix='e.g. folders = ["INBOX"]')
        self.folders: list[str] = list(dict.fromkeys(folders))
        self._sent = OptionalFolder(o["sent_folder"], b"\\Sent")
        self.sent_folder: str | None = None  # the Sent folder on the server, once found (or created)
        self._sent_refused = ""  # why the server would not create Sent, if it would not
        self.smtp_host: str = o["smtp_host"] or self.host
        self.smtp_security: str = o["smtp_security"]
        self.smtp_port: int = o["smtp_port"] or SMTP_PORTS[self.smtp_security]
        self.smtp_username: str = o["smtp_username"] or self.username
        sender = o["from"] or (self.username if "@" in self.username else "")
        if sender:
            self.from_name, self.from_addr = send.parse_from(sender, self.name)
        else:
            self.from_name, self.from_addr = "", ""
        self.our_addresses = {a.lower() for a in (self.from_addr, self.username) if a and "@" in a}
        self.token_command: str = o["oauth_token_command"]
        self._state_dir = Path(o["state_dir"]) if o["state_dir"] else None
        self._store: MapStore | None = None  # the sync maps, opened at the first pull

        self._client: IMAPClient | None = None
        self._lock = asyncio.Lock()
        self._tlock = threading.Lock()  # the sync connection, held by the worker thread
        self._selected: tuple[str, bool] | None = None
        self._caps: set[str] = set()
        self._state = SyncState()  # last state pulled: the UID maps pushes use
        self._state_cursor: str | None = None  # the cursor ``_state`` was dumped to
        self._shutdown = threading.Event()  # tells a running IDLE to end
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-read-ahead")
        self._ahead: tuple[tuple, Future, threading.Event] | None = None  # ((folder, uidvalidity, uids), result, abandon)
        self._window: dict[tuple[str, int, str], list[int]] = {}  # (folder, uidvalidity, since) -> UIDs, ascending
        self._no_idle = False  # the server lacks IDLE: watch() just waits
        self._watch_marks: dict[str, Mark] = {}  # folder -> (uidnext, exists, modseq) at the last pull
        self._idlers: dict[str, FolderIdle] = {}  # folder -> its IDLE connection
        self._token: str | None = None
        self._smtp: smtplib.SMTP | None = None  # a reply's session, accepted but not yet ended (QUIT)
        self._accepted: set[str] = set()  # outbox keys whose reply SMTP accepted on this instance
        self._token_at = 0.0
        self.needs_secret = not self.token_command  # type: ignore[misc]  # a token command replaces the password

    # ------------------------------------------------------------------ life cycle

    async def open(self, read_only: bool) -> None:
        self.read_only = read_only
        self._shutdown.clear()
        await self._call(lambda: self._ensure())
        if not {"CONDSTORE", "QRESYNC"} & self._caps:  # no conditional STORE: "assign to me" stays local
            self.capabilities = type(self).capabilities - {Capability.CLAIM}

    async def close(self) -> None:
        self._shutdown.set()

        self._drop_read_ahead()

        def shut() -> None:
            with self._tlock:
                client, self._client, self._selected = self._client, None, None
                self._window = {}
                close_quietly(client)
                self._end_smtp()
        await asyncio.to_thread(shut)
        # A running IDLE notices the shutdown within a second and closes its own connection.
        for watcher in self._idlers.values():
            if watcher.lock.acquire(blocking=False):
                try:
                    await asyncio.to_thread(watcher.close)
                finally:
                    watcher.lock.release()

    async def check(self) -> str:
        await self.open(read_only=True)
        try:
            names = await self._call(lambda: self._folder_names(self._client))
            count = len(names) if names is not None else "some"
            if not self.from_addr and not self.opts["smtp_host"]:
                return f"IMAP ok ({count} folders), SMTP not configured"
            await asyncio.to_thread(lambda: send.smtp_check(
                host=self.smtp_host, port=self.smtp_port, security=self.smtp_security, login=self._login(smtp=True),
                timeout=self.timeout, account=self.name))
            return f"IMAP ok ({count} folders), SMTP ok"
        finally:
            await self.close()

    # ------------------------------------------------------------------ connection plumbing

    def _login(self, smtp: bool = False) -> Login:
        user = self.smtp_username if smtp else self.username
        if self.token_command:
            if self._token is None or time.monotonic() - self._token_at > TOKEN_REUSE:
                self._token = oauth_token(self.token_command, self.name, self.timeout)
                self._token_at = time.monotonic()
            return Login(user, token=self._token)
        return Login(user, password=self.secret())

    def _ensure(self) -> IMAPClient:
        """The sync connection, (re)connected and checked. Caller holds ``_tlock``."""
        if self._client is not None:
            return self._client
        try:
            client = connect(self.host, self.port, self.security, self._login(), timeout=self.timeout,
                             account=self.name)
        except AuthError:
            self._token = None  # a fresh token next time
            raise
        try:
            caps = {c.decode() if isinstance(c, bytes) else str(c) for c in client.capabilities()}
            if "QRESYNC" in caps and "ENABLE" in caps:
                client.enable("QRESYNC")  # implies CONDSTORE; expunges come back as UIDs (VANISHED)
            elif "CONDSTORE" in caps and "ENABLE" in caps:
                client.enable("CONDSTORE")
            existing = self._folder_names(client)
            if existing is None:  # a name the LIST parser chokes on: ask for our folders one by one
                existing = {f for f in {*self.folders, self._sent.configured} if self._folder_exists(client, f)}
        except BaseException as exc:  # noqa: BLE001
            close_quietly(client)
            raise network_error(exc, "IMAP", self.host, self.port, self.timeout) from None
        for folder in self.folders:
            if folder not in existing and not (folder.upper() == "INBOX" and "INBOX" in {e.upper() for e in existing}):
                close_quietly(client)
                shown = ", ".join(sorted(existing)[:12])
                raise OptionError(f"account {self.name!r}: folder {folder!r} does not exist on {self.host}",
                                  fix=f"fix `folders` in config.toml; the server has: {shown}")
        # Reading never waits on sending's folder: without one, mail is read and Sent is made on the first reply.
        self.sent_folder = self._sent.resolve(client, existing)
        self._caps = caps
        self._client = client
        self._selected = None
        return client

    @classmethod
    def _folder_names(cls, client: IMAPClient) -> set[str] | None:
        """Every folder on the server, or None when imapclient cannot parse the listing
        (dovecot sends a folder named ``[`` unquoted), so one odd folder never stops the account."""
        try:
            return {folder_name(f[2]) for f in client.list_folders()}
        except ProtocolError:
            return None

    @staticmethod
    def _folder_exists(client: IMAPClient, folder: str) -> bool:
        try:
            return client.folder_exists(folder)
        except ProtocolError:
            return True  # listed, but unparsable (e.g. "[" itself): SELECT says whether it works

    @property
    def notice(self) -> str:  # type: ignore[override]
        if self._sent_refused:
            return (f"replies are sent without a copy: {self.host} refused to create the folder "
                    f"{self._sent.configured!r} ({self._sent_refused})")
        if self._client is not None and self.sent_folder is None:
            made = "" if self.read_only else ": it is created with the first reply"
            return f"no {self._sent.configured!r} folder on {self.host}{made}"
        return ""

    def _read_folders(self) -> list[str]:
        """Every folder pulled: the configured ones, then Sent (when there is one)."""
        sent = [self.sent_folder] if self.sent_folder and self.sent_folder not in self.folders else []
        return [*self.folders, *sent]

    def _drop(self) -> None:
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            try:
                client.shutdown()
            except Exception:
                pass

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread with the sync connection ready; map failures."""

        def work() -> T:
            with self._tlock:
                try:
                    self._ensure()
                    return fn()
                except (ProviderError, StoreError):  # the adapter's own store (a full disk) is not the network
                    raise
                except IMAPClientError as exc:
                    if "doesn't exist" in str(exc) or "NONEXISTENT" in str(exc):
                        raise PermanentError(f"account {self.name!r}: a folder is missing on {self.host} ({exc})",
                                             fix="check `folders` and `sent_folder` in config.toml") from None
                    self._drop()
                    raise network_error(exc, "IMAP", self.host, self.port, self.timeout) from None
                except BaseException as exc:  # noqa: BLE001 - every network failure becomes one line
                    self._drop()
                    raise network_error(exc, "IMAP", self.host, self.port, self.timeout) from None

        async with self._lock:
            return await asyncio.to_thread(work)

    def _select(self, folder: str, writable: bool = False) -> dict:
        """SELECT (writable) or EXAMINE ``folder`` and return its status."""
        client = self._client
        info = client.select_folder(folder, readonly=not writable)
        self._selected = (folder, writable)
        return info

    # ------------------------------------------------------------------ pull

    async def pull(self, cursor: str | None) -> Batch:
        # The state we returned last time is reused when the core hands its cursor back
        # (parsing a large cursor on every page costs); any other cursor is read afresh.
        cached, self._state_cursor = self._state_cursor, None

        def work() -> tuple[SyncState, Batch]:  # in the worker thread: reading the store never blocks the loop
            state = self._state if cached is not None and cached == cursor else self._load_state(cursor)
            return state, self._pull(state)

        state, batch = await self._call(work)
        self._state, self._state_cursor = state, batch.cursor
        return batch

    def _load_state(self, cursor: str | None) -> SyncState:
        if self._state_dir is None:
            return SyncState.loads(cursor)  # no state folder: the cursor carries the whole state
        if self._store is None:
            self._store = MapStore(self._state_dir / STORE_FILE)
            for old in self._state_dir.glob("sync-*.jsonl"):  # the journal an older version kept
                old.unlink(missing_ok=True)
        return SyncState.load(self._store, cursor)

    def _dump_state(self, state: SyncState) -> str:
        return state.save() if self._state_dir is not None else state.dumps()

    def _budget(self, state: SyncState) -> int:
        """Messages in the next page: a small first one, so the inbox fills at once, then bigger ones."""
        if not state.folders:
            return self.page_size
        known = state.known()
        return min(MAX_PAGE, max(self.page_size * self.later_pages, known // 8))

    def _pull(self, state: SyncState) -> Batch:
        budget = self._budget(state)
        restate_now, state.restate = list(dict.fromkeys(state.restate)), []
        # Conversations whose team state is read in this pull -> the index of the first folder whose
        # flags were read for them (a conversation that became due in a later folder is complete only
        # if it has no messages in an earlier one; otherwise it is reported on the next pull).
        due: dict[str, int] = dict.fromkeys(restate_now, 0)
        restate_uids: dict[str, dict[int, tuple]] = {}  # folder -> {uid: (message id, when, inbound, thread)}
        flags: dict[tuple[str, int], tuple[str, ...]] = {}
        read_ahead: tuple[str, int, list[int]] | None = None  # the window's next page, if the sync goes on there
        messages: list[Message] = []
        thread_records: dict[str, Thread] = {}
        deleted: list[str] = []
        more = False
        emitted: set[str] = set()

        folders = self._read_folders()
        for index, folder in enumerate(folders):
            outbound_folder = folder == self.sent_folder
            info = self._select(folder)
            uidvalidity = int(info.get(b"UIDVALIDITY", 0))
            uidnext = int(info.get(b"UIDNEXT", 0))
            exists = int(info.get(b"EXISTS", 0))
            modseq = int(info.get(b"HIGHESTMODSEQ", 0))
            fs = state.folders.get(folder)
            if fs is None or fs.uidvalidity != uidvalidity:
                # First sync, or the server renumbered the folder: start over. Messages keep their
                # Message-ID keys, so nothing is duplicated; nothing is reported deleted.
                since = (datetime.now(timezone.utc) - timedelta(days=self.account.window_days)).date()
                fs = FolderState(uidvalidity=uidvalidity, uidnext=uidnext, modseq=modseq, exists=exists,
                                 backfill_below=uidnext, since=since.isoformat())
                state.folders[folder] = fs
                restate_uids.pop(folder, None)  # old UIDs mean nothing in the new numbering
                new_uids: list[int] = []
            else:
                new_uids = []
                if uidnext > fs.uidnext:
                    new_uids = sorted(u for u in self._client.search(["UID", f"{fs.uidnext}:*"]) if u >= fs.uidnext)
                present_old = exists - len(new_uids)
                qresync = "QRESYNC" in self._caps and fs.modseq and fs.uidnext > 1
                if qresync:
                    # One command says what was expunged (VANISHED) and whose flags changed since the last pull.
                    if modseq > fs.modseq:
                        gone_ranges, changed = changes_since(self._client, fs.uidnext - 1, fs.modseq)
                        self._forget(state, folder, state.uids_in_ranges(folder, gone_ranges), deleted)
                        self._restate(state, folder, changed)
                    fs.exists = present_old
                elif present_old != fs.exists:  # without QRESYNC: fewer old messages than last time
                    alive = set(self._client.search(["UID", f"1:{fs.uidnext - 1}"])) if fs.uidnext > 1 else set()
                    self._forget(state, folder, [u for u in state.folder_uids(folder) if u not in alive], deleted)
                    fs.exists = len(alive)
                if not qresync and fs.modseq and modseq > fs.modseq:  # flag changes (CONDSTORE)
                    self._restate(state, folder, self._client.search(["MODSEQ", fs.modseq + 1]))  # RFC 7162: ">= n"
                fs.modseq = modseq
            # New mail first, oldest of the new first.
            take = new_uids[:budget]
            if take:
                self._ingest(state, folder, fs, take, outbound_folder, messages, thread_records, emitted)
                budget -= len(take)
                fs.uidnext = take[-1] + 1 if len(take) < len(new_uids) else uidnext
                fs.exists += len(take)
                more = more or len(take) < len(new_uids)
            elif not new_uids and uidnext > fs.uidnext:
                fs.uidnext = uidnext
            # Then the window, newest first.
            if fs.backfill_below > 1:
                if budget > 0:
                    older = self._window_below(folder, fs)
                    page = older[-budget:]
                    if page:
                        self._ingest(state, folder, fs, page, outbound_folder, messages, thread_records, emitted)
                        budget -= len(page)
                    if len(page) < len(older):
                        fs.backfill_below = page[0]
                        more = True
                        read_ahead = (folder, fs.uidvalidity, older[:-len(page)])
                    else:
                        fs.backfill_below = 0
                else:
                    more = True
            if folder in self.folders:
                self._watch_marks[folder] = (fs.uidnext, exists, fs.modseq)
            # Team state, while the folder is selected: the flags of its messages in every conversation
            # due so far (touched by this pull's mail, expunges or flag changes, or left from the last one).
            for thread in [*state.restate, *thread_records]:
                due.setdefault(thread, index)
            here = state.uids_of_threads(list(due)).get(folder, {})
            if here:
                restate_uids[folder] = here
                for uid, found in self._fetch_flags(sorted(here)).items():
                    flags[(folder, uid)] = keywords.normalise(found)

        late = self._due_late(state, folders, due)
        complete = [t for t in due if t not in late]
        stated = {t.remote_id: t for t in self._team_threads(state, complete, restate_uids, flags)}
        thread_list = [stated.pop(t, record) for t, record in thread_records.items()] + list(stated.values())
        state.restate = late
        more = more or bool(late)
        if not more:
            state.prune(time.time() - 2 * self.account.window_days * 86400.0)
        if more and read_ahead is not None:
            folder, uidvalidity, rest = read_ahead
            self._read_ahead(folder, uidvalidity, rest[-self._budget(state):])
        else:
            self._drop_read_ahead()
        return Batch(cursor=self._dump_state(state), more=more, threads=thread_list, messages=messages,
                     deleted_messages=deleted)

    @staticmethod
    def _due_late(state: SyncState, folders: list[str], due: dict[str, int]) -> list[str]:
        """Conversations that became due after a folder holding some of their messages was read."""
        later = [t for t, first in due.items() if first]
        late: dict[str, None] = {}
        for folder, uids in state.uids_of_threads(later).items():
            index = folders.index(folder) if folder in folders else len(folders)
            for entry in uids.values():
                if index < due[entry[3]]:
                    late[entry[3]] = None
        return list(late)

    @staticmethod
    def _forget(state: SyncState, folder: str, gone: list[int], deleted: list[str]) -> None:
        """Expunged UIDs: their messages are reported deleted unless another folder still holds them."""
        if not gone:
            return
        removed = state.remove_uids(folder, gone)
        elsewhere = state.held_in([entry[0] for _, entry in removed], besides=folder)
        for _, entry in removed:
            if entry[0] not in elsewhere:
                deleted.append(entry[0])
                thread = state.thread_of.get(entry[0])
                if thread:
                    state.restate.append(thread)

    @staticmethod
    def _restate(state: SyncState, folder: str, changed_uids) -> None:
        """Conversations whose team state may have changed: reported again next page."""
        if changed_uids:
            state.restate.extend(state.threads_of_uids(folder, list(changed_uids)))

    def _window_below(self, folder: str, fs: FolderState) -> list[int]:
        """UIDs in the first sync's window below ``fs.backfill_below``, ascending. The window is
        searched once per folder and connection, not once per page (its cost grows with the mailbox)."""
        key = (folder, fs.uidvalidity, fs.since)
        window = self._window.get(key)
        if window is None:
            window = sorted(self._client.search(["SINCE", date.fromisoformat(fs.since), "UID",
                                                 f"1:{fs.backfill_below - 1}"]))
            self._window = {key: window}
        return window[:bisect.bisect_left(window, fs.backfill_below)]

    def _fetch_flags(self, uids: list[int]) -> dict[int, tuple[bytes, ...]]:
        out: dict[int, tuple[bytes, ...]] = {}
        for i in range(0, len(uids), FETCH_CHUNK * 4):
            out.update(fetch_flags(self._client, uids[i:i + FETCH_CHUNK * 4]))
        return out

    def _ingest(self, state: SyncState, folder: str, fs: FolderState, uids: list[int], outbound_folder: bool,
                messages: list[Message], thread_records: dict[str, Thread], emitted: set[str]) -> None:
        """Fetch, parse and thread ``uids`` of the selected folder."""
        fetched = None
        if self._ahead is not None and self._ahead[0] == (folder, fs.uidvalidity, tuple(uids)):
            ahead, self._ahead = self._ahead, None
            if ahead[1].done() and ahead[1].exception() is None:
                fetched = ahead[1].result()
            else:  # it never got the connection (this pull holds it): read here
                ahead[2].set()
        for uid, parsed, internal in fetched if fetched is not None else self._fetch_parsed(uids):
            self._one(state, folder, fs, uid, parsed, internal, outbound_folder, messages, thread_records, emitted)

    def _fetch_parsed(self, uids: list[int]) -> list[tuple[int, ParsedMail, datetime | None]]:
        """Fetch and parse ``uids`` of the selected folder."""
        out = []
        for i in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[i:i + FETCH_CHUNK]
            # A partial fetch: whole messages up to BIG_MESSAGE bytes, the start of bigger ones.
            data = fetch_bodies(self._client, chunk, BIG_MESSAGE)
            for uid in chunk:
                item = data.get(uid)
                if item is None:
                    continue  # expunged between SEARCH and FETCH
                parsed = parse_mail(item.raw, fallback_date=item.internal)
                if item.size > BIG_MESSAGE:
                    parsed.warnings.append(f"message is {item.size // (1024 * 1024)} MB; only the first "
                                           f"{BIG_MESSAGE // (1024 * 1024)} MB were read")
                out.append((uid, parsed, item.internal))
        return out

    def _read_ahead(self, folder: str, uidvalidity: int, uids: list[int]) -> None:
        """Start fetching and parsing the next page's ``uids`` while the core stores this one.

        It takes the connection as soon as this pull lets it go; if the next pull gets it
        first, that pull tells it to give up (it never waits for it) and reads the page itself."""
        self._drop_read_ahead()
        abandon = threading.Event()

        def work() -> list:
            while not self._tlock.acquire(timeout=0.05):
                if abandon.is_set():
                    raise RuntimeError("superseded")
            try:
                if self._client is None or self._shutdown.is_set() or abandon.is_set():
                    raise RuntimeError("superseded")
                self._select(folder)
                return self._fetch_parsed(uids)
            finally:
                self._tlock.release()

        self._ahead = ((folder, uidvalidity, tuple(uids)), self._reader.submit(work), abandon)

    def _drop_read_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead[2].set()

    def _one(self, state: SyncState, folder: str, fs: FolderState, uid: int, parsed: ParsedMail,
             internal: datetime | None, outbound_folder: bool, messages: list[Message],
             thread_records: dict[str, Thread], emitted: set[str]) -> None:
        sent_at = parsed.date or internal or datetime.now(timezone.utc)
        if internal is not None and sent_at > internal + timedelta(days=1):
            sent_at = internal  # a Date header from the future: trust the server's arrival time
        sender = parsed.sender
        outbound = outbound_folder or (sender is not None and sender.address in self.our_addresses)
        if outbound:
            peer = next((a for a in [*parsed.to, *parsed.cc] if a.address not in self.our_addresses), None)
        else:  # a web form's mail comes From the form, with the customer in Reply-To
            peer = next((a for a in parsed.reply_to if a.address not in self.our_addresses), sender)
        customer_addr = peer.address if peer else "unknown@invalid"
        customer_name = peer.name if peer else ""
        mid = parsed.message_id
        seen_before = mid in state.thread_of
        hint = parsed.headers.get("x-switchboard-thread", "") if outbound and send.key_from_message_id(mid) else ""
        thread_id = threads.place(state, message_id=mid, in_reply_to=parsed.in_reply_to,
                                  references=parsed.references, subject=parsed.subject, customer=customer_addr,
                                  when=sent_at.timestamp(), hint=hint)
        state.put_uid(folder, uid, (mid, int(sent_at.timestamp()), 0 if outbound else 1))
        info = state.threads.get(thread_id)
        if info is None:
            info = ThreadInfo(subject=_bare_subject(parsed.subject), address=customer_addr, name=customer_name,
                              last=sent_at.timestamp())
            state.threads[thread_id] = info
        else:
            if not outbound and info.address != customer_addr and info.address == "unknown@invalid":
                info.address, info.name = customer_addr, customer_name
            info.last = max(info.last, sent_at.timestamp())
            if not info.subject:
                info.subject = _bare_subject(parsed.subject)
            state.threads[thread_id] = info  # changed: stored
        if seen_before or mid in emitted:
            return  # the same mail in a second folder, or a folder renumbered: already in the cache
        emitted.add(mid)
        author = sender or peer
        meta: dict[str, Any] = {"message_id": mid, "folder": folder, "subject": parsed.subject}
        if parsed.in_reply_to:
            meta["in_reply_to"] = parsed.in_reply_to[0]
        if parsed.to:
            meta["to"] = ", ".join(a.address for a in parsed.to)
        if parsed.cc:
            meta["cc"] = ", ".join(a.address for a in parsed.cc)
        if parsed.auto_reply:
            meta["auto_reply"] = True
        if parsed.bounce:
            meta["bounce"] = True
        if parsed.warnings:
            meta["parse_warning"] = "; ".join(parsed.warnings)[:500]
        ref_base = [folder, fs.uidvalidity, uid]
        messages.append(Message(
            remote_id=mid,
            thread_remote_id=thread_id,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            author=Identity(Channel.EMAIL, author.address if author else "unknown@invalid",
                            author.name if author else ""),
            sent_at=sent_at,
            text=parsed.text,
            attachments=[Attachment(name=a.name, content_type=a.content_type, size=a.size,
                                    ref=json.dumps([*ref_base, a.part])) for a in parsed.attachments],
            meta=meta,
            action_key=send.key_from_message_id(mid) if outbound else None,
        ))
        thread_records[thread_id] = Thread(
            remote_id=thread_id, channel=Channel.EMAIL, subject=info.subject,
            customer=Identity(Channel.EMAIL, info.address, info.name),
            last_message_at=datetime.fromtimestamp(info.last, timezone.utc))

    def _team_threads(self, state: SyncState, thread_ids: list[str], restate_uids: dict[str, dict[int, tuple]],
                      flags: dict[tuple[str, int], tuple[str, ...]]) -> list[Thread]:
        """Thread records carrying the team state read from keywords."""
        per_thread: dict[str, list[keywords.MessageFlags]] = {t: [] for t in thread_ids}
        for folder, uids in restate_uids.items():
            for uid, entry in uids.items():
                if (folder, uid) not in flags:
                    continue
                thread = entry[3]
                if thread in per_thread:
                    per_thread[thread].append(keywords.MessageFlags(when=float(entry[1]), inbound=bool(entry[2]),
                                                                    flags=flags[(folder, uid)]))
        out = []
        for thread_id, items in per_thread.items():
            info = state.threads.get(thread_id)
            if info is None or not items:
                continue
            team = keywords.team_state(items)
            status = None
            if team.closed:
                status = Status.CLOSED
            elif info.closed:
                status = Status.OPEN  # someone re-opened it on the server
            assignee = team.assignee if team.assignee or info.assignee else None
            tags = team.tags if team.tags or info.tags else None
            info.closed, info.assignee, info.tags = team.closed, team.assignee, team.tags
            state.threads[thread_id] = info  # changed: stored
            out.append(Thread(remote_id=thread_id, channel=Channel.EMAIL, subject=info.subject,
                              customer=Identity(Channel.EMAIL, info.address, info.name),
                              last_message_at=datetime.fromtimestamp(info.last, timezone.utc),
                              status=status, assignee=assignee, tags=tags, unread=team.unread))
        return out

    # ------------------------------------------------------------------ watch (IDLE)

    async def watch(self, timeout: float) -> bool:
        """IDLE on every folder read, each on its own connection; True as soon as one has news."""
        stop = threading.Event()
        deadline = time.monotonic() + timeout
        waits = [asyncio.create_task(asyncio.to_thread(self._idle_wait, w, deadline, stop)) for w in self._watchers()]
        try:
            pending = set(waits)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.result():  # raises the watch's error, if it failed
                        return True
            return False
        finally:
            stop.set()  # the other folders' IDLE ends within a second
            for task in waits:  # their outcome no longer matters: retrieve it so it is not logged as lost
                task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def _watchers(self) -> list[FolderIdle]:
        def connect_idle() -> IMAPClient:
            return connect(self.host, self.port, self.security, self._login(), timeout=self.timeout, account=self.name)

        for folder in self.folders:
            if folder not in self._idlers:
                self._idlers[folder] = FolderIdle(folder, connect_idle, self._shutdown)
        return [self._idlers[f] for f in self.folders]

    def _idle_wait(self, watcher: FolderIdle, deadline: float, stop: threading.Event) -> bool:
        if self._no_idle:  # the server cannot push: wait, then let the engine poll
            stop.wait(max(0.0, deadline - time.monotonic()))
            return not stop.is_set()
        try:
            return watcher.wait(deadline, stop, self._watch_marks.get(watcher.folder))
        except NoIdle:
            self._no_idle = True
            stop.wait(max(0.0, deadline - time.monotonic()))
            return not stop.is_set()
        except ProviderError:
            raise
        except BaseException as exc:  # noqa: BLE001
            raise network_error(exc, "IMAP IDLE", self.host, self.port, self.timeout) from None

    # ------------------------------------------------------------------ push

    async def push(self, action: PushAction) -> Receipt:
        self.require_writable(f"{action.kind} (no change is made on the server)")
        if action.kind in ("reply", "move_private"):
            return await self._call(lambda: self._reply(action))
        if action.kind == "save_copy":
            return await self._call(lambda: self._save_copy(action))
        if action.kind == "claim":
            return await self._call(lambda: claims.push_claim(self, action))
        if action.kind in ("close", "reopen", "assign", "tag", "mark_read", "mark_unread"):
            return await self._call(lambda: self._team_push(action))
        raise Unsupported(f"email cannot {action.kind} on the server", fix="it stays in this console only")

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """A reply (or its saved copy) is delivered if its Message-ID is in the Sent folder."""
        if action.kind == "save_copy":
            return await self._call(lambda: self._in_sent(action.args["message_id"]))
        if action.kind not in ("reply", "move_private"):
            return None  # keywords: setting them again is harmless
        mid = self._reply_id(action)
        return await self._call(lambda: self._earlier_reply(action.key, mid))

    async def newer_activity(self, action: PushAction, since: datetime, own_keys: frozenset[str] = frozenset(),
                             known: frozenset[str] = frozenset()) -> Newer | None:
        """The conversation's mail in the inbox folders and Sent since ``since`` (newer.py)."""
        return await self._call(lambda: newer.look(self, action, since, own_keys, known))

    def _reply_id(self, action: PushAction) -> str:
        if not self.from_addr:
            raise PermanentError(f"account {self.name!r}: no sender address for replies",
                                 fix='set from = "Support <support@example.com>" in its [[accounts]] table')
        return send.message_id_for_key(action.key, self.from_addr.rsplit("@", 1)[-1])

    def _earlier_reply(self, key: str, mid: str) -> Receipt | None:
        """A receipt if this adapter already handed ``key`` to SMTP or Sent holds ``mid``."""
        if key in self._accepted:
            return Receipt(remote_id=mid, duplicate=True, detail="already sent; not sent again")
        return self._in_sent(mid)

    def _in_sent(self, mid: str) -> Receipt | None:
        if self.sent_folder is None:  # no Sent folder (yet): nothing was saved there
            return None
        self._select(self.sent_folder)
        if self._client.search(["HEADER", "Message-ID", f"<{mid}>"]):
            return Receipt(remote_id=mid, duplicate=True, detail=f"already in {self.sent_folder}")
        return None

    def _find(self, message_id: str, folders: list[str]) -> tuple[str, int] | None:
        """(folder, uid) of a message by Message-ID, from the sync map or by searching."""
        known = self._state.find(message_id, folders)
        if known is not None:
            return known
        if message_id.startswith("sb-synthetic-"):
            return None
        for folder in folders:
            self._select(folder)
            found = self._client.search(["HEADER", "Message-ID", f"<{message_id}>"])
            if found:
                return folder, max(found)
        return None

    def _reply(self, action: PushAction) -> Receipt:
        mid = self._reply_id(action)
        self._end_smtp()
        earlier = self._earlier_reply(action.key, mid)
        if earlier is not None:
            return earlier
        parent_id = action.reply_to_remote_id
        refs: list[str] = []
        to_addr = action.customer.address if action.customer else ""
        to_name = action.customer.display_name if action.customer else ""
        subject = action.subject
        if parent_id:
            found = self._find(parent_id, self._read_folders())
            if found:
                folder, uid = found
                self._select(folder)
                head = self._client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]", b"")
                parsed = parse_mail(head)
                refs = parsed.references or parsed.in_reply_to
                subject = subject or parsed.subject
                # The mail itself says where answers go: Reply-To, else From (unless that is us).
                for cand in [*parsed.reply_to, *([parsed.sender] if parsed.sender else [])]:
                    if cand.address not in self.our_addresses:
                        to_addr, to_name = cand.address, cand.name or to_name
                        break
        if not to_addr:
            raise PermanentError("no customer address to reply to", fix="open the conversation and check its customer")
        msg, mid = send.build_reply(key=action.key, from_name=self.from_name, from_addr=self.from_addr,
                                    to_addr=to_addr, to_name=to_name, subject=subject, text=action.text,
                                    parent_id=parent_id, parent_refs=refs, thread_id=action.thread_remote_id)
        try:
            self._smtp = send.smtp_deliver(msg, host=self.smtp_host, port=self.smtp_port, security=self.smtp_security,
                                           login=self._login(smtp=True), timeout=self.timeout, account=self.name)
        except AuthError:
            self._token = None  # an expired OAuth2 token: ask for a fresh one next time
            raise
        # Accepted: from here on it counts as delivered. QUIT and the copy in Sent are a
        # follow-up step of their own that the core retries but that never sends again.
        self._accepted.add(action.key)
        now = datetime.now(timezone.utc)
        copy = PushAction(key=action.key, kind="save_copy", thread_remote_id=action.thread_remote_id,
                          args={"message_id": mid, "raw": base64.b64encode(msg.as_bytes()).decode("ascii"),
                                "at": now.isoformat()})
        return Receipt(remote_id=mid, sent_at=now, detail=f"sent to {to_addr}", follow_up=copy)

    def _save_copy(self, action: PushAction) -> Receipt:
        """End the reply's SMTP session, then put its copy in Sent unless it is there already."""
        self._end_smtp()
        mid = action.args["message_id"]
        earlier = self._in_sent(mid)
        if earlier is not None:
            return earlier
        raw = base64.b64decode(action.args["raw"])
        try:
            target = self._sent.create(self._client)  # no Sent folder yet: the first copy makes it
        except IMAPClientError as exc:  # the server refused: replies go out without a copy, and the account says so
            self._sent_refused = _server_words(exc)
            return Receipt(remote_id=mid, detail=self.notice)
        self.sent_folder, self._sent_refused = target, ""
        self._client.append(target, raw, flags=(keywords.SEEN,), msg_time=datetime.fromisoformat(action.args["at"]))
        return Receipt(remote_id=mid, detail=f"copy saved in {target}")

    def _end_smtp(self) -> None:
        smtp, self._smtp = self._smtp, None
        send.smtp_quit(smtp)

    def _thread_uids(self, action: PushAction) -> dict[str, list[int]]:
        found = self._state.uids_of_thread(action.thread_remote_id)
        if found or not action.reply_to_remote_id:
            return found
        # Not synced on this connection yet (a push right after start): find it by headers.
        anchor = self._find(action.reply_to_remote_id, self._read_folders())
        if anchor is None:
            return {}
        folder, uid = anchor
        self._select(folder)
        head = self._client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]", b"")
        parsed = parse_mail(head)
        root = (parsed.references or parsed.in_reply_to or [parsed.message_id])[0]
        out: dict[str, list[int]] = {}
        for name in self._read_folders():
            self._select(name)
            uids = self._client.search(["OR", "HEADER", "Message-ID", f"<{root}>", "HEADER", "References",
                                        f"<{root}>"])
            if uids:
                out[name] = sorted(uids)
        return out

    def _team_push(self, action: PushAction) -> Receipt:
        where = self._thread_uids(action)
        if not where:
            return Receipt(detail="no messages of this conversation on the server; kept locally")
        kind, args = action.kind, action.args
        for folder, uids in where.items():
            self._select(folder, writable=True)
            if kind == "close":
                self._client.add_flags(uids, [keywords.CLOSED], silent=True)
            elif kind == "reopen":
                self._client.remove_flags(uids, [keywords.CLOSED], silent=True)
            elif kind == "assign":
                current = self._client.get_flags(uids)
                old = {f for fl in current.values() for f in keywords.normalise(fl)
                       if f.lower().startswith(keywords.ASSIGNED.lower())}
                if old:
                    self._client.remove_flags(uids, sorted(old), silent=True)
                if args.get("to"):
                    self._client.add_flags(uids, [keywords.assigned(str(args["to"]))], silent=True)
            elif kind == "tag":
                add = [keywords.tag(t) for t in args.get("add", []) if t]
                remove = [keywords.tag(t) for t in args.get("remove", []) if t]
                if add:
                    self._client.add_flags(uids, add, silent=True)
                if remove:
                    self._client.remove_flags(uids, remove, silent=True)
            elif kind == "mark_read":
                self._client.add_flags(uids, [keywords.SEEN], silent=True)
            elif kind == "mark_unread" and folder != self.sent_folder:
                self._client.remove_flags([max(uids)], [keywords.SEEN], silent=True)
        return Receipt(detail=f"{kind} stored as IMAP keywords")

    # ------------------------------------------------------------------ attachments

    async def fetch_attachment(self, message_remote_id: str, ref: str) -> bytes:
        try:
            folder, uidvalidity, uid, part = json.loads(ref)
        except (ValueError, TypeError):
            raise PermanentError(f"attachment reference {ref!r} is not one this adapter made") from None

        def get() -> bytes:
            info = self._select(folder)
            target = uid if int(info.get(b"UIDVALIDITY", 0)) == int(uidvalidity) else None
            if target is None:
                found = self._find(message_remote_id, [folder, *self._read_folders()])
                if found is None:
                    raise PermanentError("the message with this attachment is no longer on the server")
                self._select(found[0])
                target = found[1]
            raw = self._client.fetch([target], ["BODY.PEEK[]"]).get(target, {}).get(b"BODY[]")
            if raw is None:
                raise PermanentError("the message with this attachment is no longer on the server")
            data = attachment_bytes(raw, str(part))
            if data is None:
                raise PermanentError(f"no part {part} in that message")
            return data

        return await self._call(get)


def _server_words(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(text.split())[:160] or type(exc).__name__


def _bare_subject(subject: str) -> str:
    return re.sub(r"^\s*((re|fw|fwd|aw|sv|antw|vs)\s*(\[\d+\])?\s*:\s*)+", "", subject or "",
                  flags=re.IGNORECASE).strip() or "(no subject)"


__all__ = ["ImapProvider"]
