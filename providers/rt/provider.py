"""The Request Tracker adapter: an RT 5 instance's tickets over REST2.

Pull is incremental by transaction id: one ``POST /transactions`` search for
``id > N`` per page (so a week offline is one query, not a re-scan), then the
tickets those transactions touched (one TicketSQL search) and their message parts
(one attachments search). The cursor is ``{"txn": N}`` and only grows.

Push is conflict-safe. RT's ETag for a ticket is the id of its newest transaction,
so "the ticket changed since the agent looked" means it has a transaction newer than
the last one this console pulled that neither we nor RT's mailer made. Such a push is
refused (:class:`providers.base.RemoteChanged`) and the reply stays with the agent.
Ticket updates also carry ``If-Match``, so RT itself refuses them (412) if the ticket
moves between our look and the write. (RT ignores ``If-Match`` on correspond and
comment; for those our own look is the check.)

Exactly once: RT has no idempotency key, so replies and notes carry the outbox key
in an HTML comment; before writing (and in ``find_delivery``), the ticket's messages
since the action was queued are searched for it, so a restarted console finds what a
dead one sent. The last pulled transaction id is kept in ``state_dir``, so the
conflict check also holds after a crash, when the outbox is pushed before any pull.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from providers.base import (
    Batch,
    Capability,
    Channel,
    Newer,
    OpenClient,
    Option,
    OptionError,
    PermanentError,
    ProviderError,
    PushAction,
    Receipt,
    RemoteChanged,
    Unsupported,
)
from providers.http import HttpProvider, StateFile
from providers.rt import claims
from providers.rt.client import RtClient
from providers.rt.convert import (
    MESSAGE_TYPES,
    PRIORITY_TO_RT,
    content_of,
    is_requestor,
    message_of,
    parse_time,
    thread_of,
)

PAGE = 100  # transactions per pull
QUIET_TYPES = {"EmailRecord", "CommentEmailRecord", "SystemError"}  # RT's mailer, not a person
TXN_FIELDS = {"fields": "Type,Created,ObjectType,ObjectId,Field,OldValue,NewValue,Creator",
              "fields[Creator]": "Name,EmailAddress,RealName,Privileged"}
TICKET_FIELDS = {"fields": "Subject,Status,Priority,Queue,Owner,Requestor,Created,LastUpdated,CustomFields",
                 "fields[Queue]": "Name", "fields[Owner]": "Name,RealName",
                 "fields[Requestor]": "Name,EmailAddress,RealName"}
PART_FIELDS = "TransactionId,ContentType,Filename,ContentLength"
STATUS_OF_ACTION = {"close": "resolved", "reopen": "open"}
STALE_FIX = "read the ticket's news, then send again (R) or cancel"


class RtProvider(HttpProvider):
    kind = "rt"
    channel = Channel.HELPDESK
    capabilities = frozenset({Capability.REPLY, Capability.NOTE, Capability.CLOSE, Capability.REOPEN,
                              Capability.ASSIGN, Capability.PRIORITY, Capability.CLAIM})
    identity_options = ("url",)  # who the account is remotely (team presence keys)
    options = (
        Option("url", str, required=True, help='RT\'s base URL, e.g. "https://rt.example.com"'),
        Option("username", str, None, help="RT user name; leave it out to log in with an auth token"),
        Option("queues", list, [], help="queue names to follow; empty: every queue the user can see"),
        Option("timeout", float, 30.0, help="seconds to wait for RT"),
        Option("state_dir", str, "", help="folder for the last pulled transaction (set by Switchboard)"),
    )
    secret_label = "RT password or auth token"

    def __init__(self, account) -> None:
        super().__init__(account)
        url = self.url_option("url", 'write it as url = "https://rt.example.com" (without /REST/2.0)')
        if url.endswith("/REST/2.0"):
            url = url[: -len("/REST/2.0")]
        if not all(isinstance(q, str) and q.strip() for q in self.opts["queues"]):
            raise OptionError(f"account {self.name!r}: queues must be a list of queue names",
                              fix='e.g. queues = ["General", "Billing"]')
        self.check_timeout()
        self.url = url
        self.queues = {q.strip() for q in self.opts["queues"]}
        self._state = StateFile(self.opts["state_dir"], "rt-state.json")
        self._version = "?"  # RT's own, learnt on open
        self._seen: int | None = None  # newest transaction id the cache has (see _adopt_pulled)
        self._pulled: int | None = None  # handed out in the last batch; the cache has it by the next call
        self._me: str | None = self.opts["username"]
        self._staff: dict[str, bool] = {}  # RT user name -> privileged
        self._load_state()

    # ------------------------------------------------------------------ life cycle

    def connect(self, read_only: bool) -> RtClient:
        return RtClient(self.url, username=self.opts["username"], secret=self.secret(), account=self.name,
                        timeout=self.opts["timeout"], read_only=read_only)

    async def greet(self) -> None:
        self._version = (await self.client.get("/rt")).get("Version", "?")
        if not self.queues:
            return
        visible = {clean for q in (await self.client.get("/queues/all", fields="Name", per_page=100)).get("items", [])
                   if (clean := str(q.get("Name") or ""))}
        hidden = sorted(self.queues - visible)
        if hidden:
            user = self._me or "the token's user"
            raise ProviderError(
                f"{self.name}: RT queue {', '.join(map(repr, hidden))} is not visible to {user}",
                fix=f"check the queues option (visible: {', '.join(sorted(visible)) or 'none'}) or ask an RT admin "
                    "to grant SeeQueue and ShowTicket on it")

    async def close(self) -> None:
        self._adopt_pulled()  # the engine closes only after storing what it pulled
        await super().close()

    client = OpenClient[RtClient]("_client")

    async def reachable(self) -> str:
        return f"RT {self._version} reachable at {self.url}"

    # ------------------------------------------------------------------ the pulled mark

    def _load_state(self) -> None:
        state = self._state.read()
        try:
            self._seen = int(state["seen"]) if state.get("seen") is not None else None
        except (ValueError, TypeError):
            self._seen = None  # unreadable: the next pull sets it again
        me = state.get("me")
        self._me = self._me or (me if isinstance(me, str) else None)

    def _save_state(self) -> None:
        self._state.write({"seen": self._seen, "me": self._me})

    def _adopt_pulled(self, committed: int | None = None) -> None:
        """The engine stores a batch before its next call: the last batch's mark is now the cache's."""
        mark = max(x for x in (self._seen, self._pulled, committed, -1) if x is not None)
        if mark >= 0 and mark != self._seen:
            self._seen = mark
            self._save_state()
        self._pulled = None

    # ------------------------------------------------------------------ pull

    async def pull(self, cursor: str | None) -> Batch:
        after = _cursor_txn(cursor)
        self._adopt_pulled(after)
        query: list[dict[str, Any]] = [{"field": "ObjectType", "operator": "=", "value": "RT::Ticket"},
                                       {"field": "id", "operator": ">", "value": after or 0}]
        if after is None:
            since = datetime.now(timezone.utc) - timedelta(days=self.account.window_days)
            query.append({"field": "Created", "operator": ">", "value": since.strftime("%Y-%m-%d %H:%M:%S")})
        page = await self.client.search("/transactions", query, orderby="id", order="ASC", per_page=PAGE,
                                        **TXN_FIELDS)
        txns = page.get("items") or []
        if not txns:
            mark = after if after is not None else await self._newest_transaction()
            return Batch(cursor=json.dumps({"txn": mark}))
        last = int(txns[-1]["id"])
        tickets = await self._tickets({int(t["ObjectId"]) for t in txns})
        wanted = [t for t in txns if t["Type"] in MESSAGE_TYPES and int(t["ObjectId"]) in tickets]
        parts = await self._parts([int(t["id"]) for t in wanted])
        batch = Batch(cursor=json.dumps({"txn": last}), more=len(txns) >= PAGE)
        for txn in wanted:
            ticket = tickets[int(txn["ObjectId"])]
            # A requestor is the customer whatever their rights; only other writers need a look.
            staff = not is_requestor(txn, ticket) and await self._privileged((txn.get("Creator") or {}).get("id") or "")
            batch.messages.append(message_of(txn, ticket, parts.get(int(txn["id"]), []), staff))
        newest = {}
        for txn in txns:
            newest[int(txn["ObjectId"])] = parse_time(txn.get("Created"))
        for ticket_id, ticket in tickets.items():
            batch.threads.append(thread_of(ticket, newest.get(ticket_id) or datetime.now(timezone.utc)))
        self._pulled = last
        return batch

    async def _privileged(self, user: str) -> bool:
        """Whether an RT user is staff (REST2 does not expand this field; one look per user)."""
        if user not in self._staff:
            if not user or user == "RT_System":
                self._staff[user] = True
            else:
                try:
                    found = await self.client.request("GET", f"/user/{quote(user, safe='')}", not_found_ok=True,
                                                      params={"fields": "Privileged"})
                    self._staff[user] = found.status_code == 200 and str(found.json().get("Privileged")) == "1"
                except PermanentError:  # not allowed to look: someone who is not a requestor is usually staff
                    self._staff[user] = True
        return self._staff[user]

    async def _newest_transaction(self) -> int:
        """A first pull of a quiet window still sets the cursor, so the next pull is one small query."""
        page = await self.client.search("/transactions", [{"field": "id", "operator": ">", "value": 0}],
                                        orderby="id", order="DESC", per_page=1, fields="Type")
        items = page.get("items") or []
        return int(items[0]["id"]) if items else 0

    async def _tickets(self, ids: set[int]) -> dict[int, dict]:
        """The touched tickets with their fields, in the followed queues only (one TicketSQL search per 50)."""
        out: dict[int, dict] = {}
        ordered = sorted(ids)
        for i in range(0, len(ordered), 50):
            chunk = ordered[i:i + 50]
            sql = "(" + " OR ".join(f"id = {n}" for n in chunk) + ")"
            if self.queues:
                sql += " AND (" + " OR ".join(f"Queue = '{_sql_quote(q)}'" for q in sorted(self.queues)) + ")"
            page = await self.client.get("/tickets", query=sql, per_page=100, **TICKET_FIELDS)
            for ticket in page.get("items") or []:
                out[int(ticket["id"])] = ticket
        return out

    async def _parts(self, txn_ids: list[int]) -> dict[int, list[dict]]:
        """Message parts of these transactions: bodies with their text, files as metadata only."""
        out: dict[int, list[dict]] = {}
        if not txn_ids:
            return out
        bodies = await self._search_all("/attachments", [
            {"field": "TransactionId", "operator": "IN", "value": txn_ids},
            {"field": "ContentType", "operator": "IN", "value": ["text/plain", "text/html"]},
            {"field": "Filename", "operator": "IS", "value": "NULL"},
        ], fields=PART_FIELDS + ",Content")
        files = await self._search_all("/attachments", [
            {"field": "TransactionId", "operator": "IN", "value": txn_ids},
            {"field": "Filename", "operator": "IS NOT", "value": "NULL"},
        ], fields=PART_FIELDS)
        seen_ids = set()
        for part in bodies + files:
            if part["id"] in seen_ids or (part in files and not part.get("Filename")):
                continue
            seen_ids.add(part["id"])
            out.setdefault(int(part["TransactionId"]), []).append(part)
        return out

    async def _search_all(self, collection: str, query: list[dict], **params: Any) -> list[dict]:
        items: list[dict] = []
        for page_no in range(1, 1000):
            page = await self.client.search(collection, query, page=page_no, per_page=100, **params)
            items.extend(page.get("items") or [])
            if not page.get("next_page"):
                return items
        return items

    async def fetch_attachment(self, message_remote_id: str, ref: str) -> bytes:
        import base64

        part = await self.client.get(f"/attachment/{int(ref)}")
        return base64.b64decode(part.get("Content") or "")

    # ------------------------------------------------------------------ push

    async def push(self, action: PushAction) -> Receipt:
        self.require_writable(f"{action.kind} on ticket {action.thread_remote_id}")
        self._adopt_pulled()
        ticket = _ticket_id(action.thread_remote_id)
        if action.kind in ("reply", "note"):
            return await self._message(ticket, action)
        if action.kind in STATUS_OF_ACTION:
            return await self._update(ticket, {"Status": STATUS_OF_ACTION[action.kind]})
        if action.kind == "claim":
            return await claims.claim(self, ticket, action)
        if action.kind == "assign":
            to = action.args.get("to")
            return await self._update(ticket, {"Owner": str(to) if to else "Nobody"})
        if action.kind == "priority":
            level = int(action.args.get("level", 1))
            return await self._update(ticket, {"Priority": PRIORITY_TO_RT.get(level, 50)})
        raise Unsupported(f"{self.name}: RT cannot {action.kind}")

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """RT's own record of an earlier delivery of this reply or note: the outbox key in the
        content of one of the ticket's messages since the action was queued."""
        if action.kind not in ("reply", "note"):
            return None  # status, owner and priority are harmless to set twice
        sent = await self._delivered(_ticket_id(action.thread_remote_id), action)
        if sent is None:
            return None
        return Receipt(remote_id=str(sent["id"]), sent_at=parse_time(sent.get("Created")), duplicate=True,
                       detail="already in RT")

    async def _message(self, ticket: int, action: PushAction) -> Receipt:
        earlier = await self.find_delivery(action)
        if earlier is not None:
            return earlier
        _, news = await self._look(ticket)
        self._refuse_if_changed(ticket, news)
        kind = "correspond" if action.kind == "reply" else "comment"
        resp = await self.client.request("POST", f"/ticket/{ticket}/{kind}",
                                         json={"Content": content_of(action.text, action.key),
                                               "ContentType": "text/html"})
        txn_id = resp.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        if self._me is None and txn_id.isdigit():
            creator = (await self.client.get(f"/transaction/{txn_id}")).get("Creator") or {}
            self._me = creator.get("id")
            self._save_state()
        return Receipt(remote_id=txn_id or None, sent_at=datetime.now(timezone.utc),
                       detail="correspondence" if kind == "correspond" else "comment")

    async def _update(self, ticket: int, fields: dict[str, Any]) -> Receipt:
        etag, news = await self._look(ticket)
        self._refuse_if_changed(ticket, news)
        try:
            resp = await self.client.request("PUT", f"/ticket/{ticket}", json=fields,
                                             headers={"If-Match": f'"{etag}"'})
        except RemoteChanged:
            raise RemoteChanged(f"{self.name}: held — ticket {ticket} changed in RT while the change was being sent",
                                fix=STALE_FIX) from None
        notes = resp.json() if resp.content else []
        failed = [n for n in notes if isinstance(n, str) and ("not" in n.lower() or "denied" in n.lower())
                  and "already" not in n.lower()]
        if failed:
            raise PermanentError(f"{self.name}: RT did not change ticket {ticket}: {failed[0][:200]}",
                                 fix="check the name or value (for assign: the RT user name of the agent)")
        return Receipt(sent_at=datetime.now(timezone.utc), detail="; ".join(n for n in notes if isinstance(n, str)))

    async def _look(self, ticket: int) -> tuple[str, list[dict]]:
        """The ticket's ETag now, and its transactions up to it that the cache has not seen yet
        (the newest 50 if this console never pulled)."""
        resp = await self.client.request("GET", f"/ticket/{ticket}", params={"fields": "id"})
        etag = resp.headers.get("ETag", "").strip('"')
        if self._seen is not None and etag.isdigit() and int(etag) <= self._seen:
            return etag, []
        query = [{"field": "ObjectType", "operator": "=", "value": "RT::Ticket"},
                 {"field": "ObjectId", "operator": "=", "value": ticket}]
        if etag.isdigit():
            query.append({"field": "id", "operator": "<=", "value": int(etag)})
        if self._seen is not None:  # REST2 ORs two limits on one field unless told otherwise
            query.append({"field": "id", "operator": ">", "value": self._seen, "entry_aggregator": "AND"})
            return etag, await self._search_all("/transactions", query, orderby="id", order="ASC", **TXN_FIELDS)
        page = await self.client.search("/transactions", query, orderby="id", order="DESC", per_page=50, **TXN_FIELDS)
        return etag, list(reversed(page.get("items") or []))

    async def _delivered(self, ticket: int, action: PushAction) -> dict | None:
        queued = action.created_at or datetime.now(timezone.utc) - timedelta(days=30)
        since = queued - timedelta(hours=1)  # room for a clock that differs from RT's
        messages = await self._search_all("/transactions", [
            {"field": "ObjectType", "operator": "=", "value": "RT::Ticket"},
            {"field": "ObjectId", "operator": "=", "value": ticket},
            {"field": "Type", "operator": "IN", "value": ["Correspond", "Comment"]},
            {"field": "Created", "operator": ">", "value": since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")},
        ], orderby="id", order="ASC", fields="Type,Created")
        if not messages:
            return None
        parts = await self._search_all("/attachments", [
            {"field": "TransactionId", "operator": "IN", "value": [int(t["id"]) for t in messages]},
            {"field": "ContentType", "operator": "=", "value": "text/html"},
        ], fields="TransactionId,Content")
        mark = f"switchboard-key: {action.key} "
        for part in parts:
            if mark in (part.get("Content") or ""):
                txn_id = int(part["TransactionId"])
                return next(t for t in messages if int(t["id"]) == txn_id)
        return None

    async def newer_activity(self, action: PushAction, since: datetime, own_keys: frozenset[str] = frozenset(),
                             known: frozenset[str] = frozenset()) -> Newer | None:
        """The ticket's correspondence since ``since`` that neither this console nor RT's mailer made."""
        self._adopt_pulled()
        return await claims.newer(self, _ticket_id(action.thread_remote_id), since, own_keys)

    def _refuse_if_changed(self, ticket: int, news: list[dict]) -> None:
        if self._seen is None:
            return  # never pulled: nothing the agent saw to compare with
        others = [t for t in news if t["Type"] not in QUIET_TYPES and not self._is_ours(t)]
        if others:
            first = others[0]
            who = (first.get("Creator") or {}).get("id") or "someone"
            what = first["Type"] if not first.get("Field") else f"{first['Type']} {first['Field']}"
            raise RemoteChanged(f"{self.name}: held — ticket {ticket} changed in RT since you looked ({what} by {who})",
                        fix=STALE_FIX)

    def _is_ours(self, txn: dict) -> bool:
        creator = (txn.get("Creator") or {}).get("id")
        if creator == "RT_System" and txn["Type"] == "Status" and txn.get("OldValue") == "new":
            return True  # RT opens a new ticket by itself when someone answers it
        return self._me is not None and creator == self._me


def _cursor_txn(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = json.loads(cursor).get("txn")
        return int(value) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None  # a foreign cursor: start over within the window


def _ticket_id(remote_id: str) -> int:
    try:
        return int(remote_id)
    except ValueError:
        raise PermanentError(f"{remote_id!r} is not an RT ticket id") from None


def _sql_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
