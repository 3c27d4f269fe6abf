"""A small stateful stand-in for a Mastodon instance, built on respx routes.

No Mastodon server can run on this machine, so the adapter's tests talk to this
fake instead. Every entity it serves starts from the recorded JSON shapes in
``tests/support/recorded/mastodon/`` (written from the published API reference) and the
routes follow the documented behaviour: ``min_id`` / ``max_id`` / ``since_id``
paging with ``Link`` headers, ``Idempotency-Key`` de-duplication on
``POST /api/v1/statuses`` (forgotten on demand, as Mastodon does after an hour),
``GET /api/v1/statuses/:id/source`` for one's own posts, ``{"error": ...}`` bodies,
``X-RateLimit-*`` headers, a ``Date`` header from the fake's own clock (an hour behind ours,
as a server's clock may be).
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import respx

from tests.support.recorded.clock import RunningClock

HERE = Path(__file__).parent / "mastodon"
BASE = "https://social.example"
TOKEN = "token-acme-1"


def load(name: str):
    return json.loads((HERE / name).read_text())


ERRORS = load("errors.json")


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeMastodon:
    clock = RunningClock()

    def __init__(self, *, max_characters: int = 500, streaming: bool = True) -> None:
        self.brand = load("account_brand.json")
        self.customer = load("account_customer.json")
        self.instance = load("instance_v2.json")
        self.instance["configuration"]["statuses"]["max_characters"] = max_characters
        self.streaming = streaming
        self.stream_events: list[str] = []
        self.statuses: dict[str, dict] = {}
        self.notifications: list[dict] = []
        self.conversations: dict[str, dict] = {}  # root id -> conversation
        self.idempotency: dict[str, str] = {}
        self.keeps_keys = True
        self.sources: dict[str, str] = {}  # status id -> the text it was posted with (our own statuses)
        self.post_requests: list[dict] = []  # every POST /statuses body we received
        self.requests: list[httpx.Request] = []
        self.rate_limit_remaining = 300
        self.injected: list[tuple[str, httpx.Response]] = []  # (path prefix, response) answered once
        self._ids = itertools.count(113500000000000100)
        self._note_ids = itertools.count(34975900)
        self._conv_ids = itertools.count(418500)
        self.clock = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
        self.latency = 0.0  # seconds each request takes
        self.router = respx.mock(base_url=BASE, assert_all_called=False)
        self._routes()

    # ------------------------------------------------------------------ playing the customer

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def new_status(self, account: dict, text: str, *, visibility: str = "public", in_reply_to: str | None = None,
                   html_content: str | None = None, created_at: datetime | None = None, mention_brand=True) -> dict:
        status = load("status.json")
        sid = str(next(self._ids))
        status["id"] = sid
        status["created_at"] = iso(created_at or self._tick())
        status["visibility"] = visibility
        status["account"] = copy.deepcopy(account)
        status["uri"] = f"https://mastodon.example/users/{account['username']}/statuses/{sid}"
        status["url"] = f"https://mastodon.example/@{account['username']}/{sid}"
        if in_reply_to:
            status["in_reply_to_id"] = in_reply_to
            status["in_reply_to_account_id"] = self.statuses[in_reply_to]["account"]["id"]
        if html_content is not None:
            status["content"] = html_content
        elif mention_brand:
            status["content"] = (
                '<p><span class="h-card" translate="no"><a href="https://social.example/@acmehelp" '
                f'class="u-url mention">@<span>acmehelp</span></a></span> {html.escape(text)}</p>'
            )
        else:
            status["content"] = f"<p>{html.escape(text)}</p>"
            status["mentions"] = []
        self.statuses[sid] = status
        return status

    def customer_writes(self, text: str, *, visibility: str = "public", in_reply_to: str | None = None,
                        html_content: str | None = None, account: dict | None = None,
                        created_at: datetime | None = None) -> dict:
        status = self.new_status(account or self.customer, text, visibility=visibility, in_reply_to=in_reply_to,
                                 html_content=html_content, created_at=created_at)
        note = load("notification_mention.json")
        nid = str(next(self._note_ids))
        note.update(id=nid, created_at=status["created_at"], group_key=f"ungrouped-{nid}",
                    account=copy.deepcopy(status["account"]), status=copy.deepcopy(status))
        self.notifications.append(note)
        if visibility == "direct":
            self._touch_conversation(status, unread=True)
        self.stream_events.append("event: notification\ndata: " + json.dumps(note) + "\n\n")
        return status

    def customer_writes_again(self, text: str) -> dict:
        """The customer answers in the conversation they last wrote in (a reply to their own
        last post, as wide as it was)."""
        last = max((s for s in self.statuses.values() if s["account"]["id"] == self.customer["id"]),
                   key=lambda s: int(s["id"]))
        return self.customer_writes(text, visibility=last["visibility"], in_reply_to=last["id"])

    def brand_writes(self, text: str, *, in_reply_to: str, visibility: str) -> dict:
        status = self.new_status(self.brand, text, visibility=visibility, in_reply_to=in_reply_to, mention_brand=False)
        if visibility == "direct":
            self._touch_conversation(status, unread=False)
        return status

    def _root(self, sid: str) -> str:
        while self.statuses[sid].get("in_reply_to_id"):
            sid = self.statuses[sid]["in_reply_to_id"]
        return sid

    def _touch_conversation(self, status: dict, *, unread: bool) -> None:
        root = self._root(status["id"])
        conv = self.conversations.get(root)
        if conv is None:
            conv = load("conversation.json")
            conv["id"] = str(next(self._conv_ids))
            conv["accounts"] = [copy.deepcopy(self.customer)]
            self.conversations[root] = conv
        conv["last_status"] = copy.deepcopy(status)
        conv["unread"] = unread

    def delivered(self, text: str) -> int:
        return sum(1 for s in self.statuses.values()
                   if s["account"]["id"] == self.brand["id"] and text in html.unescape(s["content"]))

    def remote_state(self):
        return (len(self.notifications), json.dumps(self.conversations, sort_keys=True),
                len([s for s in self.statuses.values() if s["account"]["id"] == self.brand["id"]]))

    def forget_idempotency_keys(self) -> None:
        """From now on, behave as Mastodon does an hour after each post: a repeated
        Idempotency-Key posts again."""
        self.idempotency.clear()
        self.keeps_keys = False

    def inject(self, path_prefix: str, response: httpx.Response) -> None:
        """Answer the next request under ``path_prefix`` with ``response`` (once)."""
        self.injected.append((path_prefix, response))

    # ------------------------------------------------------------------ the API

    def _routes(self) -> None:
        r = self.router
        r.route(host="social.example").mock(side_effect=self._answer)

    def _headers(self) -> dict[str, str]:
        self.rate_limit_remaining = max(0, self.rate_limit_remaining - 1)
        reset = iso(datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=5))
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(self.rate_limit_remaining),
                "X-RateLimit-Reset": reset, "Date": format_datetime(self.clock, usegmt=True)}

    def _json(self, code: int, body, extra: dict | None = None) -> httpx.Response:
        return httpx.Response(code, json=body, headers={**self._headers(), **(extra or {})})

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        if self.latency:  # time on the wire: concurrent clients interleave as over a network
            await asyncio.sleep(self.latency)
        return self._dispatch(request)

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        for i, (prefix, resp) in enumerate(self.injected):
            if path.startswith(prefix):
                del self.injected[i]
                return resp
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json(401, ERRORS["401"])
        q = request.url.params
        if path == "/api/v1/accounts/verify_credentials":
            return self._json(200, self.brand)
        if path == "/api/v2/instance":
            return self._json(200, self.instance)
        if path == "/api/v1/notifications":
            types = q.get_list("types[]")
            items = [n for n in self.notifications if not types or n["type"] in types]
            return self._page(items, q, "/api/v1/notifications")
        if path == "/api/v1/conversations":
            convs = sorted(self.conversations.values(), key=lambda c: int(c["last_status"]["id"]))
            return self._page(convs, q, "/api/v1/conversations", key=lambda c: c["last_status"]["id"])
        if path == "/api/v1/streaming/user":
            if not self.streaming:
                return self._json(404, ERRORS["404"])
            body = "".join(self.stream_events).encode() or b":thump\n\n"
            return httpx.Response(200, content=body, headers={"Content-Type": "text/event-stream"})
        m = re.fullmatch(r"/api/v1/statuses/(\d+)(/context|/source)?", path)
        if m and request.method == "GET":
            sid = m.group(1)
            if sid not in self.statuses:
                return self._json(404, ERRORS["404"])
            if not m.group(2):
                return self._json(200, self.statuses[sid])
            if m.group(2) == "/source":  # the plain text of one's own status, as posted
                if self.statuses[sid]["account"]["id"] != self.brand["id"]:
                    return self._json(404, ERRORS["404"])
                return self._json(200, {"id": sid, "text": self.sources[sid], "spoiler_text": ""})
            return self._json(200, self._context(sid))
        if path == "/api/v1/statuses" and request.method == "POST":
            return self._post_status(request)
        return self._json(404, ERRORS["404"])

    def _page(self, items: list[dict], q, path: str, key=lambda n: n["id"]) -> httpx.Response:
        limit = min(int(q.get("limit", 20)), 40)
        items = sorted(items, key=lambda n: int(key(n)))
        if "max_id" in q:
            items = [n for n in items if int(key(n)) < int(q["max_id"])]
        if "since_id" in q:
            items = [n for n in items if int(key(n)) > int(q["since_id"])]
        if "min_id" in q:
            items = [n for n in items if int(key(n)) > int(q["min_id"])][:limit]
        else:
            items = items[-limit:]
        page = list(reversed(items))  # newest first, as the API returns them
        extra = {}
        if page:
            extra["Link"] = (f'<{BASE}{path}?max_id={key(page[-1])}>; rel="next", '
                             f'<{BASE}{path}?min_id={key(page[0])}>; rel="prev"')
        return self._json(200, page, extra)

    def _context(self, sid: str) -> dict:
        ancestors = []
        cur = self.statuses[sid].get("in_reply_to_id")
        while cur:
            ancestors.insert(0, self.statuses[cur])
            cur = self.statuses[cur].get("in_reply_to_id")
        descendants, frontier = [], [sid]
        while frontier:
            parent = frontier.pop(0)
            kids = [s for s in self.statuses.values() if s.get("in_reply_to_id") == parent]
            descendants.extend(kids)
            frontier.extend(k["id"] for k in kids)
        return {"ancestors": ancestors, "descendants": descendants}

    def _post_status(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        self.post_requests.append({"body": body, "idempotency_key": request.headers.get("Idempotency-Key")})
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotency:  # Mastodon answers a repeated key with the first status
            return self._json(200, self.statuses[self.idempotency[key]])
        text = body.get("status", "")
        countable = re.sub(r"https?://\S+", "x" * 23, text)
        if len(countable) > self.instance["configuration"]["statuses"]["max_characters"]:
            return self._json(422, ERRORS["422_length"])
        parent = body.get("in_reply_to_id")
        if parent and parent not in self.statuses:
            return self._json(404, ERRORS["404"])
        status = self.brand_writes(text, in_reply_to=parent, visibility=body.get("visibility", "public"))
        self.sources[status["id"]] = text
        if key and self.keeps_keys:
            self.idempotency[key] = status["id"]
        return self._json(200, status)
