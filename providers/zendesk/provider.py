"""The Zendesk adapter: a Zendesk Support account's tickets.

Pull follows the cursor-based incremental ticket export
(``/api/v2/incremental/tickets/cursor.json``: ``start_time`` once, then ``cursor`` =
the last ``after_cursor``; ``end_of_stream`` says when the page reached the present,
which Zendesk holds one minute behind), then each changed ticket's comments (the cache
keeps each comment once, by its id). Requesters come with their identities.

Push updates the ticket (``PUT /api/v2/tickets/{id}.json``): a public comment is a
reply, a private one a note, plus status, assignee, priority and tags. Every update is
a safe update carrying the ``updated_at`` we last pulled as ``updated_stamp``, so
Zendesk refuses it (409) if the ticket changed since the agent looked; the reply stays
with the agent. Each update puts the outbox key in its audit's custom metadata, and
before sending again the ticket's audits are searched for it (Zendesk takes an
``Idempotency-Key`` only when creating tickets, which Switchboard never does).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from providers.base import (
    Batch,
    Capability,
    Channel,
    Identity,
    Newer,
    OpenClient,
    Option,
    OptionError,
    PermanentError,
    PushAction,
    Receipt,
    RemoteChanged,
    Unsupported,
)
from providers.http import HttpProvider, StateFile
from providers.text import clean_line
from providers.zendesk import newer
from providers.zendesk.client import ZendeskClient
from providers.zendesk.convert import PRIORITY_TO_ZENDESK, customer_of, message_of, parse_time, thread_of, user_identity
from providers.zendesk.newer import KEY_FIELD

EXPORT = "/api/v2/incremental/tickets/cursor.json"
PAGE = 50  # tickets per export page: each changed ticket costs a comments request
STATUS_OF_ACTION = {"close": "solved", "reopen": "open"}
MAX_STAMPS = 20000
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STALE_FIX = "read the ticket's news, then send again (R) or cancel"


class ZendeskProvider(HttpProvider):
    kind = "zendesk"
    channel = Channel.HELPDESK
    capabilities = frozenset({Capability.REPLY, Capability.NOTE, Capability.CLOSE, Capability.REOPEN,
                              Capability.ASSIGN, Capability.PRIORITY, Capability.TAG, Capability.CLAIM})
    identity_options = ("subdomain",)  # who the account is remotely (team presence keys)
    options = (
        Option("subdomain", str, required=True, help='the NAME in NAME.zendesk.com, e.g. "acme"'),
        Option("email", str, None, help="the agent's Zendesk email for API-token login; leave out for an OAuth token"),
        Option("timeout", float, 30.0, help="seconds to wait for Zendesk"),
        Option("state_dir", str, "", help="folder for what was last pulled (set by Switchboard)"),
    )
    secret_label = "Zendesk API token (or OAuth access token)"

    def __init__(self, account) -> None:
        super().__init__(account)
        sub = self.opts["subdomain"].strip().lower()
        if sub.endswith(".zendesk.com"):
            sub = sub[: -len(".zendesk.com")]
        sub = sub.removeprefix("https://").removeprefix("http://")
        if not SUBDOMAIN.match(sub):
            raise OptionError(f"account {self.name!r}: subdomain {self.opts['subdomain']!r} is not a Zendesk subdomain",
                              fix='write only the NAME of NAME.zendesk.com, e.g. subdomain = "acme"')
        self.check_timeout()
        self.base_url = f"https://{sub}.zendesk.com"
        self._state = StateFile(self.opts["state_dir"], "zendesk-state.json")
        self._me: dict[str, Any] = {}
        self._users: dict[int, dict] = {}
        self._customers_sent: set[int] = set()
        self._field_names: dict[int, str] | None = None
        self._stamps: dict[str, str] = {}  # ticket id -> updated_at the cache has (what the agent saw)
        self._pending: dict[str, str] = {}  # handed out in the last batch; the cache has it by the next call
        self._load_state()

    # ------------------------------------------------------------------ life cycle

    def connect(self, read_only: bool) -> ZendeskClient:
        return ZendeskClient(self.base_url, email=self.opts["email"], secret=self.secret(), account=self.name,
                             timeout=self.opts["timeout"], read_only=read_only)

    async def greet(self) -> None:
        self._me = (await self.client.get("/api/v2/users/me.json")).get("user") or {}
        if self._me.get("role") not in ("agent", "admin"):
            who = self._me.get("email") or self.opts["email"] or "the token's user"
            raise PermanentError(f"{self.name}: {who} is not a Zendesk agent (role {self._me.get('role')!r})",
                                 fix="log in as an agent or admin: only they can read and answer tickets")

    async def close(self) -> None:
        self._adopt_pulled()  # the engine closes only after storing what it pulled
        await super().close()

    client = OpenClient[ZendeskClient]("_client")

    async def reachable(self) -> str:
        return f"Zendesk reachable at {self.base_url} as {self._me.get('email', '?')} ({self._me.get('role')})"

    # ------------------------------------------------------------------ what the agent saw

    def _load_state(self) -> None:
        stamps = self._state.read().get("stamps")
        self._stamps = {str(k): str(v) for k, v in stamps.items()} if isinstance(stamps, dict) else {}

    def _save_state(self) -> None:
        if len(self._stamps) > MAX_STAMPS:  # keep the most recently updated tickets
            newest = sorted(self._stamps.items(), key=lambda kv: kv[1])[-MAX_STAMPS:]
            self._stamps = dict(newest)
        self._state.write({"stamps": self._stamps})

    def _adopt_pulled(self) -> None:
        """The engine stores a batch before its next call: the last batch's stamps are now the cache's."""
        if self._pending:
            self._stamps.update(self._pending)
            self._pending = {}
            self._save_state()

    # ------------------------------------------------------------------ pull

    async def pull(self, cursor: str | None) -> Batch:
        self._adopt_pulled()
        after = _cursor_of(cursor)
        if after:
            params: dict[str, Any] = {"cursor": after, "per_page": PAGE}
        else:
            start = datetime.now(timezone.utc) - timedelta(days=self.account.window_days)
            params = {"start_time": int(start.timestamp()), "per_page": PAGE}
        page = await self.client.get(EXPORT, **params)
        tickets = page.get("tickets") or []
        next_cursor = page.get("after_cursor") or after
        batch = Batch(cursor=json.dumps({"after": next_cursor}) if next_cursor else cursor,
                      more=not page.get("end_of_stream", True) and bool(tickets))
        if not tickets:
            return batch
        await self._load_users({t.get("requester_id") for t in tickets} | {t.get("assignee_id") for t in tickets})
        names = await self._custom_field_names()
        for ticket in tickets:
            tid = str(ticket["id"])
            requester = self._users.get(ticket.get("requester_id") or 0)
            if requester is not None and requester["id"] not in self._customers_sent:
                identities = (await self.client.get(f"/api/v2/users/{requester['id']}/identities.json")).get(
                    "identities") or []
                batch.customers.append(customer_of(requester, identities))
                self._customers_sent.add(requester["id"])
            who = user_identity(requester) if requester else Identity(Channel.HELPDESK, f"zendesk-ticket-{tid}")
            assignee = self._users.get(ticket.get("assignee_id") or 0)
            assignee_name = clean_line(assignee.get("email") or assignee.get("name") or "") if assignee else None
            batch.threads.append(thread_of(ticket, who, assignee_name, names))
            if ticket.get("status") != "deleted":
                batch.messages.extend(await self._comments(ticket))
            if ticket.get("updated_at"):
                self._pending[tid] = ticket["updated_at"]
        return batch

    async def _comments(self, ticket: dict) -> list:
        """All of a changed ticket's comments: the cache keeps each once, by its id, so a batch
        the cache never stored (a crash) is simply sent again with the next one."""
        comments = await self._all_pages(f"/api/v2/tickets/{ticket['id']}/comments.json", "comments")
        await self._load_users({c.get("author_id") for c in comments})
        out = []
        for c in comments:
            author = self._users.get(c.get("author_id") or 0) or {"id": c.get("author_id")}
            key = (((c.get("metadata") or {}).get("custom") or {}).get(KEY_FIELD))
            out.append(message_of(c, ticket, user_identity(author), author.get("role") in ("agent", "admin"),
                                  str(key) if key else None))
        return out

    async def _all_pages(self, path: str, field: str) -> list[dict]:
        """Every item of a cursor-paginated list (``page[size]``, ``meta.has_more``, ``meta.after_cursor``)."""
        items: list[dict] = []
        params: dict[str, Any] = {"page[size]": 100}
        for _ in range(200):
            page = await self.client.get(path, **params)
            items.extend(page.get(field) or [])
            meta = page.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return items
            params = {"page[size]": 100, "page[after]": meta["after_cursor"]}
        return items

    async def _load_users(self, ids: set) -> None:
        wanted = sorted(int(i) for i in ids if i and int(i) not in self._users)
        for i in range(0, len(wanted), 100):
            chunk = wanted[i:i + 100]
            page = await self.client.get("/api/v2/users/show_many.json", ids=",".join(map(str, chunk)))
            for user in page.get("users") or []:
                self._users[int(user["id"])] = user

    async def _custom_field_names(self) -> dict[int, str]:
        if self._field_names is None:
            fields = (await self.client.get("/api/v2/ticket_fields.json")).get("ticket_fields") or []
            self._field_names = {int(f["id"]): str(f.get("title") or f["id"]) for f in fields}
        return self._field_names

    # ------------------------------------------------------------------ push

    async def push(self, action: PushAction) -> Receipt:
        self.require_writable(f"{action.kind} on ticket {action.thread_remote_id}")
        self._adopt_pulled()
        ticket = _ticket_id(action.thread_remote_id)
        if action.kind == "claim":
            from providers.zendesk import claims

            return await claims.claim(self, ticket, action)
        change = self._change(action)
        earlier = await self.find_delivery(action) if action.kind in ("reply", "note") else None
        if earlier is not None:
            return earlier
        stamp = self._stamps.get(str(ticket))
        if stamp is None:  # never pulled here: the ticket as it is now is what we act on
            stamp = ((await self.client.get(f"/api/v2/tickets/{ticket}.json")).get("ticket") or {}).get("updated_at")
        body = {"ticket": {**change, "safe_update": True, "updated_stamp": stamp,
                           "metadata": {KEY_FIELD: action.key}}}
        try:
            resp = await self.client.request("PUT", f"/api/v2/tickets/{ticket}.json", json=body)
        except RemoteChanged:
            raise RemoteChanged(f"{self.name}: held — ticket {ticket} changed in Zendesk since you looked",
                           fix=STALE_FIX) from None
        answer = resp.json()
        updated = (answer.get("ticket") or {}).get("updated_at")
        if updated:  # our own change is what the agent saw last, not a conflict for the next row
            self._stamps[str(ticket)] = updated
            self._save_state()
        comment_id = next((e.get("id") for e in (answer.get("audit") or {}).get("events") or []
                           if e.get("type") == "Comment"), None)
        return Receipt(remote_id=f"{ticket}-{comment_id}" if comment_id else None, sent_at=parse_time(updated),
                       detail=f"ticket {ticket} updated")

    def _change(self, action: PushAction) -> dict[str, Any]:
        kind, args = action.kind, action.args
        if kind in ("reply", "note"):
            return {"comment": {"body": action.text, "public": kind == "reply"}}
        if kind in STATUS_OF_ACTION:
            return {"status": STATUS_OF_ACTION[kind]}
        if kind == "priority":
            return {"priority": PRIORITY_TO_ZENDESK.get(int(args.get("level", 1)), "normal")}
        if kind == "tag":
            change = {}
            if args.get("add"):
                change["additional_tags"] = [str(t) for t in args["add"]]
            if args.get("remove"):
                change["remove_tags"] = [str(t) for t in args["remove"]]
            return change
        if kind == "assign":
            to = args.get("to")
            if not to:
                return {"assignee_id": None}
            if str(to).isdigit():
                return {"assignee_id": int(to)}
            if "@" in str(to):
                return {"assignee_email": str(to)}
            raise PermanentError(f"{self.name}: cannot assign to {to!r} in Zendesk",
                                 fix="assign to the agent's Zendesk email address (or user id)")
        raise Unsupported(f"{self.name}: Zendesk cannot {kind}")

    async def newer_activity(self, action: PushAction, since: datetime, own_keys: frozenset[str] = frozenset(),
                             known: frozenset[str] = frozenset()) -> Newer | None:
        """Public comments on the ticket since ``since`` that this console did not make (its audits)."""
        return await newer.look(self, _ticket_id(action.thread_remote_id), since, own_keys, known)

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """Zendesk's own record of an earlier update with this key: the key in an audit's custom metadata."""
        ticket = _ticket_id(action.thread_remote_id)
        for audit in await self._all_pages(f"/api/v2/tickets/{ticket}/audits.json", "audits"):
            custom = (audit.get("metadata") or {}).get("custom") or {}
            if custom.get(KEY_FIELD) == action.key:
                comment = next((e.get("id") for e in audit.get("events") or [] if e.get("type") == "Comment"), None)
                return Receipt(remote_id=f"{ticket}-{comment}" if comment else None,
                               sent_at=parse_time(audit.get("created_at")), duplicate=True, detail="already in Zendesk")
        return None


def _cursor_of(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        value = json.loads(cursor).get("after")
    except (ValueError, AttributeError):
        return None  # a foreign cursor: start over within the window
    return str(value) if value else None


def _ticket_id(remote_id: str) -> int:
    try:
        return int(remote_id)
    except ValueError:
        raise PermanentError(f"{remote_id!r} is not a Zendesk ticket id") from None
