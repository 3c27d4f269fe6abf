"""A small stateful stand-in for a Zendesk Support account, built on respx routes.

No Zendesk can run on this machine, so the adapter's tests talk to this fake. Every
entity starts from the recorded JSON shapes in ``tests/support/recorded/zendesk/``
(written from the published API reference) and the routes keep the documented
behaviour: the cursor-based incremental ticket export (``start_time`` or ``cursor``,
``after_cursor``, ``end_of_stream``, items changed within the last minute held back),
cursor pagination of comments and audits (``page[size]``, ``page[after]``,
``meta.has_more``), safe updates (``safe_update`` + ``updated_stamp``: 409
``UpdateConflict`` when the ticket changed after the stamp), audit ``metadata.custom``
from the update's ``metadata``, 429 with ``Retry-After``, a ``Date`` header on every answer
(from the fake's own clock, as a server's clock differs from ours).

The fake keeps its own clock, which moves 20 seconds with every export request (a
client may ask the export at most 10 times a minute), so the one-minute lag passes
within a few pulls instead of a minute of test time.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import respx

from tests.support.recorded.clock import RunningClock

HERE = Path(__file__).parent / "zendesk"
SUBDOMAIN = "acme"
HOST = f"{SUBDOMAIN}.zendesk.com"
EMAIL = "sam@acme.example"
TOKEN = "zd-api-token-1"
OAUTH_TOKEN = "zd-oauth-access-token-1"
LAG = timedelta(minutes=1)
EXPORT_TICK = timedelta(seconds=20)


def load(name: str):
    return json.loads((HERE / name).read_text())


ERRORS = load("errors.json")


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cursor(position: tuple[int, int]) -> str:
    """Opaque to clients, as Zendesk's are: the (generated_timestamp, id) of the last ticket given out."""
    return base64.urlsafe_b64encode(f"{position[0]}.{position[1]}".encode()).decode()


def _uncursor(cursor: str) -> tuple[int, int]:
    stamp, ticket_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(".")
    return int(stamp), int(ticket_id)


class FakeZendesk:
    clock = RunningClock()

    def __init__(self) -> None:
        self.agent = load("user_agent.json")
        self.colleague = {**load("user_agent.json"), "id": 35436002, "name": "Kim Colleague",
                          "email": "kim@acme.example"}
        self.customer = load("user_customer.json")
        self.users = {u["id"]: u for u in (self.agent, self.colleague, self.customer)}
        self.identities = {self.customer["id"]: load("identities.json")}
        self.tickets: dict[int, dict] = {}
        self.comments: dict[int, list[dict]] = {}
        self.audits: dict[int, list[dict]] = {}
        self.requests: list[httpx.Request] = []
        self.injected: list[tuple[str, httpx.Response]] = []
        self.clock = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
        self._ticket_ids = itertools.count(35436)
        self._comment_ids = itertools.count(1274)
        self._audit_ids = itertools.count(432567)
        self.router = respx.mock(assert_all_called=False)
        self.router.route(host=HOST).mock(side_effect=self._dispatch)

    # ------------------------------------------------------------------ people around the agent

    def _tick(self, seconds: int = 1) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def new_customer(self, name: str, email: str, identities: list[dict] | None = None) -> dict:
        user = {**load("user_customer.json"), "id": max(self.users) + 1, "name": name, "email": email, "phone": None,
                "tags": [], "notes": ""}
        self.users[user["id"]] = user
        self.identities[user["id"]] = identities or [
            {"id": user["id"] * 10, "user_id": user["id"], "type": "email", "value": email, "verified": True,
             "primary": True}]
        return user

    def open_ticket(self, text: str, *, subject: str = "Help, my printer is on fire!", requester: dict | None = None,
                    via: str = "email", **fields) -> dict:
        requester = requester or self.customer
        ticket = load("ticket.json")
        tid = next(self._ticket_ids)
        now = self._tick()
        ticket.update(id=tid, url=f"https://{HOST}/api/v2/tickets/{tid}.json", subject=subject, raw_subject=subject,
                      description=text, requester_id=requester["id"], submitter_id=requester["id"],
                      created_at=iso(now), updated_at=iso(now), generated_timestamp=int(now.timestamp()), **fields)
        ticket["via"]["channel"] = via
        self.tickets[tid] = ticket
        self.comments[tid] = []
        self.audits[tid] = []
        self._comment(ticket, requester, text, public=True, via=via)
        return ticket

    def customer_writes(self, text: str, ticket_id: int | None = None) -> dict:
        """The requester answers on a ticket (a new ticket by email when none is named)."""
        if ticket_id is None:
            return self.comments[self.open_ticket(text)["id"]][0]
        ticket = self.tickets[ticket_id]
        comment = self._comment(ticket, self.users[ticket["requester_id"]], text, public=True)
        if ticket["status"] in ("pending", "solved", "hold"):  # a requester's reply reopens the ticket
            ticket["status"] = "open"
        return comment

    def customer_writes_again(self, text: str) -> dict:
        """The requester answers on the ticket opened last (a reply to its notification mail)."""
        return self.customer_writes(text, max(self.tickets))

    def colleague_updates(self, ticket_id: int, *, comment: str | None = None, public: bool = True, **fields) -> None:
        """Another agent, in Zendesk's own web UI."""
        ticket = self.tickets[ticket_id]
        if comment is not None:
            self._comment(ticket, self.colleague, comment, public=public, via="web")
        else:
            self._audit(ticket, self.colleague, [], {})
        ticket.update(fields)

    def _comment(self, ticket: dict, author: dict, text: str, *, public: bool, via: str = "web",
                 custom: dict | None = None, html: str | None = None) -> dict:
        comment = load("comment.json")
        comment.update(id=next(self._comment_ids), author_id=author["id"], body=text, plain_body=text,
                       html_body=html or f"<div class=\"zd-comment\"><p>{text}</p></div>", public=public)
        comment["via"]["channel"] = via
        audit = self._audit(ticket, author, [{"id": comment["id"], "type": "Comment", "body": text,
                                              "public": public, "author_id": author["id"], "attachments": []}],
                            custom or {})
        comment["audit_id"], comment["created_at"] = audit["id"], audit["created_at"]
        self.comments[ticket["id"]].append(comment)
        return comment

    def _audit(self, ticket: dict, author: dict, events: list[dict], custom: dict) -> dict:
        now = self._tick()
        audit = load("audit.json")
        audit.update(id=next(self._audit_ids), ticket_id=ticket["id"], created_at=iso(now), author_id=author["id"],
                     events=events)
        audit["metadata"]["custom"] = copy.deepcopy(custom)
        self.audits[ticket["id"]].append(audit)
        ticket["updated_at"], ticket["generated_timestamp"] = iso(now), int(now.timestamp())
        return audit

    # ------------------------------------------------------------------ what the tests look at

    def delivered(self, text: str) -> int:
        return sum(1 for cs in self.comments.values() for c in cs
                   if c["author_id"] == self.agent["id"] and c["public"] and text in c["body"])

    def notes(self, text: str) -> int:
        return sum(1 for cs in self.comments.values() for c in cs
                   if c["author_id"] == self.agent["id"] and not c["public"] and text in c["body"])

    def remote_state(self):
        return json.dumps([self.tickets, self.comments, self.audits], sort_keys=True)

    def writes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method != "GET"]

    def inject(self, path_prefix: str, response: httpx.Response) -> None:
        """Answer the next request under ``path_prefix`` with ``response`` (once)."""
        self.injected.append((path_prefix, response))

    def rate_limit(self, path_prefix: str, retry_after: int) -> None:
        self.inject(path_prefix, httpx.Response(429, json=ERRORS["429"], headers={"Retry-After": str(retry_after)}))

    # ------------------------------------------------------------------ the API

    def _json(self, code: int, body) -> httpx.Response:
        return httpx.Response(code, json=body, headers={"Date": format_datetime(self.clock, usegmt=True)})

    def _authorised(self, request: httpx.Request) -> bool:
        api_token = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        return request.headers.get("Authorization") in (api_token, f"Bearer {OAUTH_TOKEN}")

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        for i, (prefix, resp) in enumerate(self.injected):
            if path.startswith(prefix):
                del self.injected[i]
                return resp
        if not self._authorised(request):
            return self._json(401, ERRORS["401"])
        q = request.url.params
        if path == "/api/v2/users/me.json":
            return self._json(200, {"user": self.agent})
        if path == "/api/v2/incremental/tickets/cursor.json":
            return self._export(q)
        if path == "/api/v2/users/show_many.json":
            ids = [int(x) for x in q.get("ids", "").split(",") if x]
            return self._json(200, {"users": [self.users[i] for i in ids if i in self.users]})
        if path == "/api/v2/ticket_fields.json":
            return self._json(200, load("ticket_fields.json"))
        m = re.fullmatch(r"/api/v2/users/(\d+)/identities\.json", path)
        if m:
            return self._json(200, {"identities": self.identities.get(int(m.group(1)), []), "next_page": None,
                                    "previous_page": None, "count": len(self.identities.get(int(m.group(1)), []))})
        m = re.fullmatch(r"/api/v2/tickets/(\d+)(\.json|/comments\.json|/audits\.json)", path)
        if m:
            tid = int(m.group(1))
            if tid not in self.tickets:
                return self._json(404, ERRORS["404"])
            if m.group(2) == "/comments.json":
                return self._cursor_page(self.comments[tid], q, "comments", path)
            if m.group(2) == "/audits.json":
                return self._cursor_page(self.audits[tid], q, "audits", path)
            if request.method == "GET":
                return self._json(200, {"ticket": self.tickets[tid]})
            if request.method == "PUT":
                return self._update(tid, json.loads(request.content or b"{}").get("ticket") or {})
        return self._json(404, ERRORS["404"])

    def _export(self, q) -> httpx.Response:
        self._tick(int(EXPORT_TICK.total_seconds()))
        horizon = int((self.clock - LAG).timestamp())  # items changed within the last minute are held back
        per_page = min(int(q.get("per_page", 1000)), 1000)
        if "cursor" in q:
            stamp, after_id = _uncursor(q["cursor"])
            after = (stamp, after_id)
        else:
            after = (int(q["start_time"]) - 1, 2 ** 62)
        ordered = sorted(self.tickets.values(), key=lambda t: (t["generated_timestamp"], t["id"]))
        ready = [t for t in ordered if (t["generated_timestamp"], t["id"]) > after and t["generated_timestamp"] <= horizon]
        page = ready[:per_page]
        cursor = _cursor((page[-1]["generated_timestamp"], page[-1]["id"]) if page else after)
        url = f"https://{HOST}/api/v2/incremental/tickets/cursor.json?cursor={cursor}"
        return self._json(200, {"tickets": copy.deepcopy(page), "after_url": url, "after_cursor": cursor,
                                "before_url": None, "before_cursor": None, "end_of_stream": len(ready) <= per_page})

    def _cursor_page(self, items: list[dict], q, field: str, path: str) -> httpx.Response:
        size = min(int(q.get("page[size]", 100)), 100)
        start = int(base64.urlsafe_b64decode(q["page[after]"].encode()).decode()) if "page[after]" in q else 0
        page = items[start:start + size]
        more = start + size < len(items)
        after = base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None
        return self._json(200, {field: copy.deepcopy(page),
                                "meta": {"has_more": more, "after_cursor": after, "before_cursor": None},
                                "links": {"prev": None,
                                          "next": f"https://{HOST}{path}?page[size]={size}&page[after]={after}"
                                          if more else None}})

    def _update(self, tid: int, body: dict) -> httpx.Response:
        ticket = self.tickets[tid]
        if body.get("safe_update") and body.get("updated_stamp") != ticket["updated_at"]:
            return self._json(409, ERRORS["409"])
        events = []
        if "assignee_email" in body:
            agent = next((u for u in self.users.values() if u["email"] == body["assignee_email"]
                          and u["role"] in ("agent", "admin")), None)
            if agent is None:
                return self._json(422, ERRORS["422_assignee"])
            body = {**body, "assignee_id": agent["id"]}
        for field in ("status", "priority", "assignee_id"):
            if field in body and body[field] != ticket[field]:
                events.append({"id": next(self._audit_ids), "type": "Change", "field_name": field,
                               "value": body[field], "previous_value": ticket[field]})
                ticket[field] = body[field]
        tags = [t for t in ticket["tags"] if t not in (body.get("remove_tags") or [])]
        tags += [t for t in body.get("additional_tags") or [] if t not in tags]
        if tags != ticket["tags"]:
            events.append({"id": next(self._audit_ids), "type": "Change", "field_name": "tags", "value": tags,
                           "previous_value": ticket["tags"]})
            ticket["tags"] = tags
        custom = body.get("metadata") or {}
        if body.get("comment"):
            c = body["comment"]
            comment = self._comment(ticket, self.agent, c.get("body") or "", public=c.get("public", True), via="api",
                                    custom=custom)
            audit = self.audits[tid][-1]
            audit["events"].extend(events)
        else:
            audit = self._audit(ticket, self.agent, events, custom)
            comment = None
        if ticket["status"] == "new" and comment is not None and comment["public"]:
            ticket["status"] = "open"
        return self._json(200, {"ticket": ticket, "audit": audit})
