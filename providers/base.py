"""The provider contract: one small base class every adapter implements.

An adapter turns one remote system (a mailbox, a chat server, a social account,
a shop) into neutral records (:mod:`providers.records`) and carries the core's
changes back out. It never sees the cache or the UI.

Life of an adapter, driven by the core's sync engine::

    p = Adapter(account)            # options validated, nothing touches the network
    await p.open(read_only=...)     # log in; read-only means nothing remote changes
    batch = await p.pull(cursor)    # bounded page of changes since the cursor
    await p.watch(timeout)          # optional: returns when the remote side has news
    receipt = await p.push(action)  # idempotent by action.key
    earlier = await p.find_delivery(action)  # was it already carried out? (a retry after a crash)
    news = await p.newer_activity(action, since, own_keys)  # anything newer before a reply goes out?
    await p.close()

Errors are the classes below; the engine reads them to decide between retrying
with backoff, waiting for the user (bad password), or failing one outbox row::

    ProviderError
    ├── OptionError      the account's options are wrong
    ├── AuthError        credentials refused: the user must act
    ├── TransientError   try again later (network, busy, rate limit)
    │   └── NotOpen      used before open() or after close()
    └── PermanentError   this one push can never succeed
        ├── RemoteChanged  the record moved since the agent looked: held for the agent
        ├── ClaimLost      another agent holds the conversation: says who (and since when)
        └── Unsupported  the adapter lacks the capability
"""

from __future__ import annotations

import abc
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, overload
from urllib.parse import urlsplit

from providers.records import (  # noqa: F401  (re-exported: adapters import from here)
    PRIORITIES,
    PRIORITY_BY_NAME,
    Article,
    Attachment,
    Batch,
    Capability,
    Channel,
    Customer,
    Direction,
    Dispute,
    Identity,
    Message,
    Newer,
    Order,
    Payment,
    PushAction,
    PushKind,
    Receipt,
    Refund,
    Status,
    Subscription,
    Thread,
)

ENTRY_POINT_GROUP = "switchboard.providers"

# --------------------------------------------------------------------------- errors


class FixableError(Exception):
    """An error for a person: ``str(err)`` is one line, what went wrong and how to fix it
    (the core's :class:`console.errors.UserError` is one too)."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} — {self.fix}" if self.fix else base


class ProviderError(FixableError):
    """Base of every error an adapter raises on purpose."""


class OptionError(ProviderError):
    """An account's options in config.toml are wrong (missing, wrong type, bad value)."""


class AuthError(ProviderError):
    """The remote side refused our credentials. Retrying will not help; the user must act."""


class TransientError(ProviderError):
    """Network down, timeout, server busy, rate limited: try again later.

    ``retry_after`` (seconds) is honoured when the server said how long to wait.
    """

    def __init__(self, message: str, *, fix: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, fix=fix)
        self.retry_after = retry_after


class NotOpen(TransientError):
    """The adapter was used before ``open()`` (or after ``close()``): open it, then try again."""

    def __init__(self, account: str) -> None:
        super().__init__(f"{account}: the account is not open", fix="open the account first")


C = TypeVar("C")


class OpenClient(Generic[C]):
    """An adapter's network client, there only while the account is open.

    ``client = OpenClient[RtClient]("_client")`` on the adapter class reads
    ``self._client``, raising :class:`NotOpen` (naming the account) while it is None:
    before ``open()`` and after ``close()``.
    """

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    @overload
    def __get__(self, adapter: None, owner: type) -> OpenClient[C]: ...

    @overload
    def __get__(self, adapter: object, owner: type) -> C: ...

    def __get__(self, adapter, owner):
        if adapter is None:
            return self
        value = getattr(adapter, self.attribute)
        if value is None:
            raise NotOpen(adapter.name)
        return value


class PermanentError(ProviderError):
    """This one push can never succeed (e.g. room is encrypted, post deleted).

    The outbox marks the row failed with this reason and keeps the text.
    """


class RemoteChanged(PermanentError):
    """The remote record changed since the agent last saw it (a newer customer message,
    another agent's reply or change), so the remote side or the adapter refused the push.

    Like the stale-reply guard, the action waits for the agent, text kept: they read the
    news, then send again or cancel. Sending it unchanged without a new pull is refused again.
    """


class ClaimLost(PermanentError):
    """A claim (``PushKind.CLAIM``) lost: the system of record names another owner.

    ``owner`` is that owner as the remote names them (hostile text); ``at`` when they took
    it, if the remote says (RT's Owner transaction), else when this console found out.
    """

    def __init__(self, message: str, *, owner: str, at: datetime | None = None, fix: str = "") -> None:
        super().__init__(message, fix=fix)
        self.owner = owner
        self.at = at


class Unsupported(PermanentError):
    """The adapter lacks the capability the action needs."""


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class Option:
    """One account option an adapter accepts in its ``[[accounts]]`` table."""

    name: str
    type: type = str
    default: Any = None
    required: bool = False
    help: str = ""
    choices: tuple[Any, ...] = ()


class KeptSecrets:
    """Secrets an adapter makes and keeps for itself (access tokens, key-store
    passphrases), by name. The engine hands each account one backed by the OS
    keyring, so state files never hold them; this base class keeps them in memory
    (an account built by hand, as in a test, forgets them when it goes)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def put(self, name: str, value: str) -> None:
        self._values[name] = value

    def delete(self, name: str) -> None:
        self._values.pop(name, None)


@dataclass(slots=True)
class AccountConfig:
    """One ``[[accounts]]`` table: the name, the adapter kind, the adapter's options.

    ``secret`` is a callable so the keyring is read only when the adapter needs it;
    it returns ``None`` when no secret is stored. ``kept`` holds the secrets the
    adapter makes itself (see :class:`KeptSecrets`).
    """

    name: str
    provider: str
    options: dict[str, Any] = field(default_factory=dict)
    secret: Callable[[], str | None] = lambda: None
    kept: KeptSecrets = field(default_factory=KeptSecrets)
    poll_interval: float = 60.0
    window_days: int = 90


def validate_options(specs: tuple[Option, ...], given: Mapping[str, Any], account: str) -> dict[str, Any]:
    """Check ``given`` against ``specs``; return the options with defaults filled in."""
    known = {o.name: o for o in specs}
    for name in given:
        if name not in known:
            names = ", ".join(sorted(known)) or "none"
            raise OptionError(
                f"account {account!r}: unknown option {name!r}",
                fix=f"this provider accepts: {names}",
            )
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in given:
            if spec.required:
                raise OptionError(
                    f"account {account!r}: option {spec.name!r} is required",
                    fix=f"add {spec.name} = ... to its [[accounts]] table ({spec.help})".rstrip(" ()"),
                )
            out[spec.name] = spec.default
            continue
        value = given[spec.name]
        expected = spec.type
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise OptionError(
                f"account {account!r}: option {spec.name!r} must be {expected.__name__}, got {type(value).__name__}",
                fix=f"write it as a TOML {_toml_kind(expected)}",
            )
        if spec.choices and value not in spec.choices:
            raise OptionError(
                f"account {account!r}: option {spec.name!r} is {value!r}",
                fix="use one of: " + ", ".join(map(str, spec.choices)),
            )
        out[spec.name] = value
    return out


def _toml_kind(t: type) -> str:
    return {str: 'string ("...")', int: "whole number", float: "number", bool: "true/false", list: "list [...]"}.get(
        t, t.__name__
    )


# --------------------------------------------------------------------------- the contract


class Provider(abc.ABC):
    """Base class of every adapter.

    Subclasses set the class attributes and implement ``open``, ``pull``, ``push``
    and ``close``. ``watch`` is optional: adapters that can be told of news (IMAP
    IDLE, Matrix long-poll, streaming) override it and add ``Capability.WATCH``.
    """

    kind: ClassVar[str]
    channel: ClassVar[Channel]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    options: ClassVar[tuple[Option, ...]] = ()
    needs_secret: ClassVar[bool] = True
    # Adapters with a ``state_dir`` option get one folder per account from the engine;
    # with ``shared_state`` every account of this kind shares one folder instead.
    shared_state: ClassVar[bool] = False
    secret_label: ClassVar[str] = "password"  # what `accounts add` asks for
    # Most characters a reply may have, per kind of reply: "public" (an answer in a public
    # thread) and "direct" (a direct message, or a public post answered privately). A kind
    # missing has no limit. What applies before the account was ever opened.
    default_reply_limits: ClassVar[Mapping[str, int]] = {}
    # A standing condition the account's state line shows while it lasts, e.g. "replies are
    # sent without a copy: …". Adapters override it (a plain attribute or a property).
    notice: str = ""
    # The options that name the remote account (server, login), from which every console
    # derives the same :meth:`remote_identity`; empty: the kind and the account's name.
    identity_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, account: AccountConfig) -> None:
        self.account = account
        self.name = account.name
        self.opts = validate_options(self.options, account.options, account.name)
        self.read_only = True  # until open() says otherwise: safe by default

    def url_option(self, option: str, fix: str) -> str:
        """The ``option`` as a base URL (http or https, with a host), without a trailing slash."""
        url = self.opts[option].strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OptionError(f"account {self.name!r}: {option} {url!r} is not a URL", fix=fix)
        return url

    def check_timeout(self) -> None:
        if self.opts["timeout"] <= 0:
            raise OptionError(f"account {self.name!r}: timeout must be more than 0 seconds", fix="e.g. timeout = 30")

    # -- life cycle

    @abc.abstractmethod
    async def open(self, read_only: bool) -> None:
        """Connect and log in. Opened read-only, the adapter changes nothing remote."""

    async def close(self) -> None:
        """Release connections. Must be safe to call twice or after a failed open."""

    # -- reading

    @abc.abstractmethod
    async def pull(self, cursor: str | None) -> Batch:
        """Changes since ``cursor`` (``None``: first pull, the configured window)."""

    async def watch(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for remote news; True if there is some.

        The default has no push channel: it sleeps and says "maybe", so the engine
        falls back to polling. The engine cancels a pending ``watch`` when it has
        outbox work for this account, so an override must survive cancellation (the
        next ``pull``/``push`` still works).
        """
        import asyncio

        await asyncio.sleep(timeout)
        return True

    # -- writing

    @abc.abstractmethod
    async def push(self, action: PushAction) -> Receipt:
        """Carry out ``action`` remotely, exactly once per ``action.key``."""

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """The remote side's own evidence that ``action`` was already carried out.

        The outbox asks this before it pushes a row again whose earlier push may have
        reached the remote (its owner process died, or the answer was lost): found in
        Sent by Message-ID, in the room's timeline by transaction id, among our posts.

        Returns:
            a ``Receipt`` (``duplicate=True``) of the earlier delivery, or ``None`` when
            the remote has no trace of it and a push is safe.
        Raises:
            TransientError: the remote cannot be asked now; the row waits and asks again.

        Every adapter that sends messages must answer it from the remote. The default
        (``None``) is right only for actions that are harmless to repeat (set a flag,
        close, tag) or whose push the remote itself de-duplicates by key for ever.
        """
        return None

    async def newer_activity(self, action: PushAction, since: datetime, own_keys: frozenset[str] = frozenset(),
                             known: frozenset[str] = frozenset()) -> Newer | None:
        """What happened in the conversation after ``since`` (the reply's draft began), asked of
        the system of record just before the reply ``action`` is pushed: a customer message, or a
        reply by another agent (the shared Sent folder, the helpdesk's transactions, the room's
        timeline). The outbox holds the reply, text kept, when there is news.

        Args:
            action: the reply about to be pushed (its ``key``, ``thread_remote_id``, …).
            since: when the draft began (timezone-aware).
            own_keys: outbox keys of this console's own messages in the conversation (this
                reply's included): they are not news.
            known: remote ids of the conversation's messages the cache already holds: not news
                either (the cache's own stale-reply guard judges those); an adapter whose
                events carry other ids may ignore it.
        Returns:
            the newest such event (with how many there were), or ``None``: nothing newer, or the
            adapter cannot tell (this default: only the cache's own stale-reply guard applies).
        Raises:
            TransientError: the remote cannot be asked now; the reply waits and asks again.
        """
        return None

    def reply_limits(self) -> dict[str, int]:
        """The limits this account has (an adapter that learns them on ``open`` answers after it).

        Returns:
            ``{"public": n, "direct": n}``, either key left out where there is no limit.
        """
        return dict(self.default_reply_limits)

    @classmethod
    async def authorize(cls, options: Mapping[str, Any], ask: Callable[[str], Awaitable[str]]) -> str:
        """Interactive authorisation (OAuth) for ``switchboard accounts add --oauth``.

        Args:
            options: the account's options from config.toml (e.g. the instance URL).
            ask: shows the person a sign-in address and returns the code they paste back.
        Returns:
            The secret to keep in the keyring (an access token).
        Raises:
            Unsupported: the adapter has no interactive sign-in (store a password or token instead).
            ProviderError: the remote side refused.
        """
        raise Unsupported(f"{cls.kind} accounts have no interactive sign-in",
                          fix="store the password or token: switchboard accounts add NAME")

    @staticmethod
    def count_reply(text: str) -> int:
        """How many characters the network charges ``text`` against the reply limit."""
        return len(text)

    def remote_identity(self) -> str:
        """Who this account is in the system of record, the same on every agent's console.

        Team presence names a conversation by a hash of this and the thread's remote id
        (``console.team.keys``), so two consoles on the same mailbox or helpdesk agree on
        it whatever each calls the account locally. The default is the kind and the
        options in :attr:`identity_options`, trimmed, lower-cased and without a trailing
        ``/`` (e.g. ``imap|host=mail.example.com|username=support@example.com``); with none
        declared, the account's name stands in (then every console must name it alike).

        Returns:
            a short string; never a secret.
        """
        parts = [self.kind]
        for name in self.identity_options:
            value = self.opts.get(name)
            parts.append(f"{name}={str('' if value is None else value).strip().rstrip('/').lower()}")
        if len(parts) == 1:
            parts.append(f"account={self.name}")
        return "|".join(parts)

    @classmethod
    def team_transport(cls, account: AccountConfig) -> TeamTransport:
        """Shared room state for team presence over this kind of system (Matrix rooms).

        Args:
            account: the ``[team]`` section as an account: its options (homeserver,
                user_id, rooms, timeout, state_dir) and its keyring secret.
        Returns:
            a :class:`TeamTransport`, not yet open.
        Raises:
            Unsupported: this kind of system cannot carry team presence.
            OptionError: the options are wrong.
        """
        raise Unsupported(f"{cls.kind} cannot carry team presence", fix="use a Matrix homeserver for [team]")

    async def check(self) -> str:
        """Reachability for ``switchboard doctor``: open read-only, say what :meth:`reachable`
        sees, close.

        Returns a short line on success; raises a ProviderError otherwise.
        """
        await self.open(read_only=True)
        try:
            return await self.reachable()
        finally:
            await self.close()

    async def reachable(self) -> str:
        """The line ``check`` shows for the open account (the server's version, who we are)."""
        return "reachable"

    # -- helpers for subclasses

    def require_writable(self, what: str) -> None:
        if self.read_only:
            raise PermanentError(f"{self.name}: opened read-only, refusing to {what}")

    def secret(self) -> str:
        value = self.account.secret()
        if not value:
            raise AuthError(
                f"account {self.name!r}: no {self.secret_label} in the keyring",
                fix=f"run: switchboard accounts add {self.name}",
            )
        return value


# --------------------------------------------------------------------------- team presence


@dataclass(frozen=True, slots=True)
class StateEntry:
    """One agent's entry in a team room's shared state, as the room holds it now.

    ``content`` is exactly what that agent's console published (``{}``: cleared); it is
    hostile like every provider text. ``at`` is the server's time of the write (seconds).
    """

    room: str
    agent: str
    content: Mapping[str, Any]
    at: float


class TeamTransport(abc.ABC):
    """Room state shared by a team's consoles, one entry per agent (team presence).

    Life, driven by ``console.team``::

        t = Adapter.team_transport(account)
        rooms = await t.open(read_only)   # signs in; read-only joins and writes nothing
        await t.publish(room, content)    # this agent's entry ({} clears it)
        entries = await t.changes(30.0)   # first call: every entry; then what changed
        await t.close()

    Errors are the provider errors above (TransientError: retried with backoff).
    """

    @abc.abstractmethod
    async def open(self, read_only: bool) -> list[str]:
        """Sign in; return the rooms' ids in the configured order.

        Raises:
            AuthError: no secret, or it was refused.
            PermanentError: a room cannot be read (not a member while read-only, unknown alias).
        """

    @abc.abstractmethod
    async def publish(self, room: str, content: Mapping[str, Any]) -> None:
        """Replace this agent's entry in ``room`` (an empty mapping clears it).

        Raises:
            PermanentError: the room refuses our entry (power levels) or we are read-only.
        """

    @abc.abstractmethod
    async def changes(self, timeout: float) -> list[StateEntry]:
        """Entries that changed since the last call (the first call: all of them),
        waiting up to ``timeout`` seconds for one when there is none yet."""

    async def close(self) -> None:
        """Release connections; safe to call twice."""

    async def check(self, read_only: bool) -> str:
        """For ``switchboard doctor``: sign in and look at the rooms, changing nothing.

        Returns a short line; raises a ProviderError for what would stop presence
        (the default opens read-only, so an account not yet in a room fails it).
        """
        await self.open(read_only=True)
        try:
            return "reachable"
        finally:
            await self.close()


# --------------------------------------------------------------------------- discovery


def available() -> dict[str, Any]:
    """Adapter classes by entry-point name, loaded lazily (one import per use)."""
    from importlib.metadata import entry_points  # ~40 ms: not before an adapter is wanted (first paint)

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load(kind: str) -> type[Provider]:
    """The adapter class registered as ``kind``; a one-line OptionError if there is none."""
    eps = available()
    if kind not in eps:
        names = ", ".join(sorted(eps)) or "none installed"
        raise OptionError(f"unknown provider {kind!r}", fix=f"use one of: {names}")
    cls = eps[kind].load()
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise OptionError(f"provider {kind!r} does not implement providers.base.Provider")
    return cls


def lazy_attribute(package: str, name: str, module: str) -> Callable[[str], Any]:
    """A package's ``__getattr__`` that imports ``module`` for ``name`` only when it is first asked
    for (so a package's light helpers load without its adapter and HTTP client)."""

    def __getattr__(attribute: str) -> Any:
        if attribute == name:
            from importlib import import_module

            return getattr(import_module(module), name)
        raise AttributeError(f"module {package!r} has no attribute {attribute!r}")

    return __getattr__


# --------------------------------------------------------------------------- text helpers

_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|antw|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


USER_AGENT = "switchboard-console (customer service console)"


def normalise_subject(subject: str) -> str:
    """Subject without Re:/Fwd: prefixes and extra spaces, lower-cased, for threading."""
    return " ".join(_SUBJECT_PREFIX.sub("", subject or "").split()).lower()
