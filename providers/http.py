"""One shape for the adapters that speak an HTTP JSON API (RT, Zendesk, Mastodon, Bluesky).

:class:`JsonApi` is the network client: one ``httpx.AsyncClient`` with the account's
timeout, the house's headers, the read-only guard, rate limits honoured before a request
leaves, and every HTTP or network trouble turned into one of the contract's errors with
one clear line::

    timeout, no route          -> TransientError   (the engine retries with backoff)
    401                        -> AuthError        (the user must store a new secret)
    403, 404                   -> PermanentError   (with the API's own fix)
    429                        -> TransientError   (retry_after from Retry-After / the reset header)
    a conflict code (409, 412) -> RemoteChanged    (held for the agent)
    408, 425, 5xx              -> TransientError
    anything else >= 400       -> PermanentError   (this one push can never succeed)

An API subclasses it to say its name, its error body and its own codes (``refusal``).
:class:`HttpProvider` is the adapter side: ``open`` makes the client and greets the remote
(a bad secret fails there), ``close`` drops it, ``check`` reports what the greeting learnt.
"""

from __future__ import annotations

import abc
import json
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from providers.base import (
    USER_AGENT,
    AuthError,
    OpenClient,
    PermanentError,
    Provider,
    ProviderError,
    RemoteChanged,
    TransientError,
)
from providers.text import clean_line


def seconds_until(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` or rate-limit reset header asks us to wait: delta-seconds, a Unix
    time (Bluesky's ``ratelimit-reset``), an ISO time (Mastodon's ``X-RateLimit-Reset``) or an
    HTTP date. None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value, now = value.strip(), time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def json_field(resp: httpx.Response, *names: str) -> str:
    """The first of ``names`` that the JSON error body carries as a string, on one clean line."""
    try:
        body = resp.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for name in names:
        if isinstance(body.get(name), str) and body[name].strip():
            return clean_line(body[name])[:200]
    return ""


class JsonApi:
    """An HTTP JSON API as one account sees it. Subclasses set the class attributes and may
    override :meth:`detail` (the error body as one line) and :meth:`refusal` (their own codes)."""

    service: ClassVar[str] = "the server"  # named in every error line
    reachable_fix: ClassVar[str] = "check the network; Switchboard retries by itself"
    auth_hint: ClassVar[str] = ""  # what to check before storing a new secret (401)
    forbidden_fix: ClassVar[str] = "ask the server's admin for the right"  # 403
    not_found_fix: ClassVar[str | None] = None  # 404 with this fix; None: any other refusal
    conflict_codes: ClassVar[tuple[int, ...]] = ()  # answers meaning "changed since it was read"
    transient_codes: ClassVar[tuple[int, ...]] = (408, 425)  # besides every 5xx
    rate_headers: ClassVar[tuple[str, str] | None] = None  # (remaining, reset) sent on every answer
    default_wait: ClassVar[float | None] = None  # seconds after a 429 that says not how long

    def __init__(self, base_url: str, *, account: str, timeout: float, read_only: bool = False,
                 authorization: str | None = None, auth: httpx.Auth | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.read_only = read_only
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=headers, auth=auth, timeout=timeout,
                                      follow_redirects=False, transport=transport)
        self.blocked_until = 0.0
        self.secret_name = "token"  # what the secret is, as the 401 line names it
        self.clock_skew = 0.0  # seconds the server's clock runs ahead of ours (its Date header)

    async def aclose(self) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------------ sending

    def reads_only(self, method: str, path: str) -> bool:
        """Whether a request changes nothing remote (the only kind a read-only account sends)."""
        return method == "GET"

    async def request(self, method: str, path: str, *, not_found_ok: bool = False, **kw: Any) -> httpx.Response:
        """Send one request; the answer, or the contract's error for it. ``not_found_ok``: a 404 is an answer."""
        if self.read_only and not self.reads_only(method, path):
            raise PermanentError(f"{self.account}: opened read-only, refusing {method} {path}")
        wait = self.blocked_until - time.time()
        if wait > 0:
            raise TransientError(f"{self.account}: {self.service} rate limit reached, next try in {wait:.0f} s",
                                 retry_after=wait)
        try:
            resp = await self.http.request(method, path, **kw)
        except httpx.TimeoutException as e:
            raise TransientError(f"{self.account}: {self.service} at {self.where(path)} did not answer in time",
                                 fix="Switchboard retries by itself") from e
        except httpx.TransportError as e:
            raise TransientError(f"{self.account}: cannot reach {self.service} at {self.where(path)} "
                                 f"({type(e).__name__})", fix=self.reachable_fix) from e
        self._note_budget(resp)
        self._note_clock(resp)
        if resp.status_code >= 400 and not (resp.status_code == 404 and not_found_ok):
            raise self.error_for(resp)
        return resp

    async def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with query ``params``; the decoded JSON answer."""
        return (await self.request("GET", path, params=params or None)).json()

    def where(self, path: str) -> str:
        """The server a request went to, for error lines (an absolute ``path`` names its own)."""
        return path.split("/xrpc/")[0] if path.startswith(("http://", "https://")) else self.base_url

    # ------------------------------------------------------------------ answers

    def _note_budget(self, resp: httpx.Response) -> None:
        """Once the API says the budget is spent, ask nothing more until its reset time."""
        if self.rate_headers is None:
            return
        remaining, reset = (resp.headers.get(h) for h in self.rate_headers)
        if remaining is not None and remaining.strip().isdigit() and int(remaining) <= 0:
            wait = seconds_until(reset)
            if wait:
                self.blocked_until = time.time() + wait

    def _note_clock(self, resp: httpx.Response) -> None:
        try:
            said = parsedate_to_datetime(resp.headers.get("Date", ""))
        except (TypeError, ValueError):
            return
        if said.tzinfo is not None:  # whole seconds: a skew under two of them is the header's rounding
            skew = said.timestamp() - time.time()
            self.clock_skew = skew if abs(skew) >= 2 else 0.0

    def server_time(self, when: datetime) -> datetime:
        """``when`` (our clock) on the server's clock, floored to its whole second: the earliest
        time the server may write for anything that happened at or after ``when`` (servers and
        their ``Date`` headers truncate to the second, so nothing newer can read as older)."""
        return (when + timedelta(seconds=self.clock_skew)).replace(microsecond=0)

    def detail(self, resp: httpx.Response) -> str:
        """The error body as one short line for a person (hostile text, cleaned)."""
        return json_field(resp, "message", "error") or f"HTTP {resp.status_code}"

    def refusal(self, resp: httpx.Response, detail: str) -> ProviderError | None:
        """This API's own meaning of an error answer (403, 404, 422 …); None: the common mapping."""
        return None

    def error_for(self, resp: httpx.Response) -> ProviderError:
        code, detail = resp.status_code, self.detail(resp)
        own = self.refusal(resp, detail)
        if own is not None:
            return own
        if code == 401:
            return AuthError(f"{self.account}: {self.service} refused the {self.secret_name} ({detail})",
                             fix=f"{self.auth_hint}store the right {self.secret_name} with: "
                                 f"switchboard accounts add {self.account}")
        if code == 403:
            return PermanentError(f"{self.account}: {self.service} forbids this for the account's user ({detail})",
                                  fix=self.forbidden_fix)
        if code == 404 and self.not_found_fix is not None:
            return PermanentError(f"{self.account}: not found on {self.base_url} ({detail})", fix=self.not_found_fix)
        if code == 429:
            wait = seconds_until(resp.headers.get("Retry-After"))
            if wait is None and self.rate_headers is not None:
                wait = seconds_until(resp.headers.get(self.rate_headers[1]))
            if wait is None:
                wait = self.default_wait
            if wait:
                self.blocked_until = time.time() + wait
            after = f", next try in {wait:.0f} s" if wait else ""
            return TransientError(f"{self.account}: {self.service} rate limit reached ({detail}){after}",
                                  retry_after=wait)
        if code in self.conflict_codes:
            return RemoteChanged(f"{self.account}: the record changed in {self.service} since it was read ({detail})")
        if code >= 500 or code in self.transient_codes:
            return TransientError(f"{self.account}: {self.service} answered {code} ({detail})")
        return PermanentError(f"{self.account}: {self.service} answered {code} to {resp.request.method} "
                              f"{resp.request.url.path} ({detail})")


class HttpProvider(Provider):
    """An adapter over one :class:`JsonApi`, there while the account is open.

    Subclasses implement :meth:`connect` (the client for the account's secret) and may
    override :meth:`greet` (first calls once connected: who we are, what the server allows)."""

    _client: JsonApi | None = None
    client = OpenClient[JsonApi]("_client")

    @abc.abstractmethod
    def connect(self, read_only: bool) -> JsonApi:
        """A new client for this account (reads the secret; touches no network)."""

    async def greet(self) -> None:
        """Calls made right after connecting, so a wrong secret or URL fails ``open``."""

    async def open(self, read_only: bool) -> None:
        self.read_only = read_only
        client = self.connect(read_only)
        await self.close()
        self._client = client
        try:
            await self.greet()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class StateFile:
    """A small JSON file of an adapter's own in its account's ``state_dir`` (none without one):
    read whole, anything unreadable reading as empty, and replaced whole, so a crash leaves the
    old file or the new one, never half of either."""

    def __init__(self, state_dir: str, name: str) -> None:
        self.path = Path(state_dir) / name if state_dir else None

    def read(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            state = json.loads(self.path.read_text())
        except (ValueError, OSError):
            return {}
        return state if isinstance(state, dict) else {}

    def write(self, state: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.path)
