"""A small stateful stand-in for a Bluesky PDS + AppView + chat service, built on respx.

No AppView or chat service can run on this machine, so the adapter's tests talk to
this fake. Its entities start from the recorded JSON shapes in
``tests/support/recorded/bluesky/`` (written from the published lexicons); its routes follow
the documented behaviour: bearer sessions that expire (``ExpiredToken``) and refresh,
newest-first notification pages with a ``cursor``, thread views with ``parent``,
``createRecord`` with a caller-chosen record key that refuses a taken key, chat calls
that need the ``atproto-proxy`` header, ``ratelimit-*`` headers.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import respx

HERE = Path(__file__).parent / "bluesky"
SERVICE = "https://pds.example"
PASSWORD = "abcd-efgh-ijkl-mnop"
CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def load(name: str):
    return json.loads((HERE / name).read_text())


ERRORS = load("errors.json")


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fake_cid(seed: str) -> str:
    return "bafyrei" + hashlib.sha256(seed.encode()).hexdigest()[:52]


class FakeBluesky:
    def __init__(self) -> None:
        self.session = load("create_session.json")
        self.brand = load("profile_brand.json")
        self.customer = load("profile_customer.json")
        self.profiles = {p["did"]: p for p in (self.brand, self.customer)}
        self.posts: dict[str, dict] = {}  # uri -> post view
        self.notifications: list[dict] = []  # oldest first
        self.convos: dict[str, dict] = {}  # id -> {"view": convo view, "messages": [message views, oldest first]}
        self.create_requests: list[dict] = []
        self.sent_messages: list[dict] = []
        self.requests: list[httpx.Request] = []
        self.injected: list[tuple[str, httpx.Response]] = []
        self.chat_enabled = True
        self.access_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.logins = 0
        self.refreshes = 0
        self.duplicate_error = ("internal", 500)  # what a taken rkey gets (see the PDS issue tracker)
        self._n = itertools.count(1)
        self.clock = datetime.now(timezone.utc) - timedelta(hours=1)
        self.latency = 0.0  # seconds each request takes
        self.router = respx.mock(base_url=SERVICE, assert_all_called=False)
        self.router.route(host="pds.example").mock(side_effect=self._answer)

    # ------------------------------------------------------------------ playing the customer

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _rkey(self) -> str:
        return f"3lbq{next(self._n):09d}".replace("0", "a").replace("1", "b").replace("8", "c").replace("9", "d")

    def _author(self, profile: dict) -> dict:
        return {k: profile[k] for k in ("did", "handle", "displayName") if k in profile} | {"labels": []}

    def add_post(self, profile: dict, text: str, *, reply_to: str | None = None, facets=None, rkey=None,
                 created_at: datetime | None = None, record: dict | None = None) -> dict:
        when = created_at or self._tick()
        uri = f"at://{profile['did']}/app.bsky.feed.post/{rkey or self._rkey()}"
        if record is None:
            record = {"$type": "app.bsky.feed.post", "createdAt": iso(when), "langs": ["en"], "text": text}
            if facets:
                record["facets"] = facets
            if reply_to:
                parent = self.posts[reply_to]
                root = (parent["record"].get("reply") or {}).get("root") or {"uri": parent["uri"], "cid": parent["cid"]}
                record["reply"] = {"root": root, "parent": {"uri": parent["uri"], "cid": parent["cid"]}}
        view = load("post_view.json")
        view.update(uri=uri, cid=fake_cid(uri + json.dumps(record, sort_keys=True)), author=self._author(profile),
                    record=record, indexedAt=iso(when))
        self.posts[uri] = view
        return view

    def customer_writes(self, text: str, *, reply_to: str | None = None, created_at=None, profile=None) -> dict:
        profile = profile or self.customer
        mention = "@acme.bsky.social "
        body = text if reply_to else mention + text
        facets = None if reply_to else [{"index": {"byteStart": 0, "byteEnd": len(mention.strip().encode())},
                                         "features": [{"$type": "app.bsky.richtext.facet#mention",
                                                       "did": self.brand["did"]}]}]
        post = self.add_post(profile, body, reply_to=reply_to, facets=facets, created_at=created_at)
        note = load("notification.json")
        parent_is_ours = reply_to and self.posts[reply_to]["author"]["did"] == self.brand["did"]
        note.update(uri=post["uri"], cid=post["cid"], author=post["author"], record=post["record"],
                    reason="reply" if parent_is_ours else "mention", indexedAt=post["indexedAt"])
        if parent_is_ours:
            note["reasonSubject"] = reply_to
        self.notifications.append(note)
        return post

    def notify_like(self, post_uri: str) -> None:
        note = load("notification.json")
        like_uri = f"at://{self.customer['did']}/app.bsky.feed.like/{self._rkey()}"
        note.update(uri=like_uri, cid=fake_cid(like_uri), author=self._author(self.customer), reason="like",
                    reasonSubject=post_uri, record={"$type": "app.bsky.feed.like", "createdAt": iso(self._tick()),
                                                   "subject": {"uri": post_uri, "cid": fake_cid(post_uri)}},
                    indexedAt=iso(self.clock))
        self.notifications.append(note)

    def _convo_with(self, did: str) -> dict:
        for convo in self.convos.values():
            if any(m["did"] == did for m in convo["view"]["members"]):
                return convo
        view = load("convo_view.json")
        view["id"] = f"3lbqconvo{next(self._n):04d}"
        view["members"] = [self._author(self.brand), self._author(self.profiles[did])]
        convo = {"view": view, "messages": []}
        self.convos[view["id"]] = convo
        return convo

    def _rev(self) -> str:
        return f"2226{next(self._n):09d}"

    def add_message(self, did: str, text: str, *, convo: dict | None = None) -> dict:
        convo = convo or self._convo_with(self.customer["did"] if did == self.brand["did"] else did)
        msg = load("message_view.json")
        msg.update(id=f"3lbqmsg{next(self._n):06d}", rev=self._rev(), text=text, sender={"did": did},
                   sentAt=iso(self._tick()))
        convo["messages"].append(msg)
        convo["view"]["rev"] = msg["rev"]
        convo["view"]["lastMessage"] = msg
        convo["view"]["unreadCount"] = 0 if did == self.brand["did"] else convo["view"]["unreadCount"] + 1
        return msg

    def customer_dms(self, text: str) -> dict:
        return self.add_message(self.customer["did"], text)

    def brand_posts(self) -> list[dict]:
        return [p for p in self.posts.values() if p["author"]["did"] == self.brand["did"]]

    def delivered(self, text: str) -> int:
        posts = sum(1 for p in self.brand_posts() if text in p["record"]["text"])
        dms = sum(1 for c in self.convos.values() for m in c["messages"]
                  if m["sender"]["did"] == self.brand["did"] and text in m["text"])
        return posts + dms

    def remote_state(self):
        return (len(self.brand_posts()), json.dumps({k: v["view"] for k, v in self.convos.items()}, sort_keys=True),
                [n["isRead"] for n in self.notifications])

    def expire_sessions(self) -> None:
        self.expired_tokens |= self.access_tokens
        self.access_tokens.clear()

    def inject(self, nsid: str, response: httpx.Response) -> None:
        self.injected.append((nsid, response))

    # ------------------------------------------------------------------ the XRPC surface

    def _headers(self) -> dict[str, str]:
        return {"ratelimit-limit": "3000", "ratelimit-remaining": "2999",
                "ratelimit-reset": str(int(time.time()) + 300), "ratelimit-policy": "3000;w=300"}

    def _ok(self, body) -> httpx.Response:
        return httpx.Response(200, json=body, headers=self._headers())

    def _err(self, code: int, name: str) -> httpx.Response:
        return httpx.Response(code, json=ERRORS[name], headers=self._headers())

    def _new_tokens(self) -> dict:
        n = next(self._n)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return dict(self.session, accessJwt=access, refreshJwt=refresh)

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        if self.latency:  # time on the wire: concurrent clients interleave as over a network
            await asyncio.sleep(self.latency)
        return self._dispatch(request)

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        nsid = request.url.path.removeprefix("/xrpc/")
        for i, (prefix, resp) in enumerate(self.injected):
            if nsid == prefix:
                del self.injected[i]
                return resp
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if nsid == "com.atproto.server.createSession":
            body = json.loads(request.content)
            if body.get("identifier") in (self.session["handle"], self.session["did"]) and body.get("password") == PASSWORD:
                self.logins += 1
                return self._ok(self._new_tokens())
            return self._err(401, "bad_login")
        if nsid == "com.atproto.server.refreshSession":
            if token not in self.refresh_tokens:
                return self._err(400, "expired")
            self.refresh_tokens.discard(token)
            self.refreshes += 1
            return self._ok(self._new_tokens())
        if token in self.expired_tokens:
            return self._err(400, "expired")
        if token not in self.access_tokens:
            return self._err(401, "auth_required")
        if nsid.startswith("chat.bsky."):
            if request.headers.get("atproto-proxy") != CHAT_PROXY:
                return httpx.Response(501, json={"error": "MethodNotImplemented", "message": "Method Not Implemented"})
            if not self.chat_enabled:
                return self._err(401, "chat_scope")
        handler = getattr(self, "_x_" + nsid.replace(".", "_"), None)
        if handler is None:
            return httpx.Response(501, json={"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        return handler(request)

    def _x_app_bsky_notification_listNotifications(self, request):
        q = request.url.params
        limit = int(q.get("limit", 50))
        items = list(reversed(self.notifications))
        start = int(q["cursor"]) if "cursor" in q else 0
        page = items[start:start + limit]
        body = {"notifications": page}
        if start + limit < len(items):
            body["cursor"] = str(start + limit)
        return self._ok(body)

    def _x_app_bsky_feed_getPostThread(self, request):
        uri = request.url.params["uri"]
        if uri not in self.posts:
            return self._err(400, "post_not_found")
        height = int(request.url.params.get("parentHeight", 80))

        def view(u, h):
            post = self.posts[u]
            node = {"$type": "app.bsky.feed.defs#threadViewPost", "post": post}
            parent = ((post["record"].get("reply") or {}).get("parent") or {}).get("uri")
            if parent and h > 0:
                node["parent"] = view(parent, h - 1) if parent in self.posts else {
                    "$type": "app.bsky.feed.defs#notFoundPost", "uri": parent, "notFound": True}
            return node

        thread = view(uri, height)
        thread["replies"] = []
        return self._ok({"thread": thread})

    def _x_app_bsky_actor_getProfiles(self, request):
        actors = request.url.params.get_list("actors")
        assert len(actors) <= 25, "getProfiles takes at most 25 actors"
        return self._ok({"profiles": [self.profiles[a] for a in actors if a in self.profiles]})

    def _x_app_bsky_feed_getPosts(self, request):
        uris = request.url.params.get_list("uris")
        return self._ok({"posts": [self.posts[u] for u in uris if u in self.posts]})

    def _x_com_atproto_identity_resolveHandle(self, request):
        handle = request.url.params["handle"]
        for p in self.profiles.values():
            if p["handle"] == handle:
                return self._ok({"did": p["did"]})
        return self._err(400, "unresolved_handle")

    def _x_com_atproto_repo_createRecord(self, request):
        body = json.loads(request.content)
        self.create_requests.append(body)
        if body.get("repo") not in (self.session["did"], self.session["handle"]):
            return self._err(401, "auth_required")
        rkey = body.get("rkey")
        if rkey is not None and not TID.match(rkey):
            return httpx.Response(400, json={"error": "InvalidRequest", "message": f"Invalid TID: {rkey}"})
        uri = f"at://{self.session['did']}/{body['collection']}/{rkey}"
        if uri in self.posts:
            name, code = self.duplicate_error
            return httpx.Response(code, json=ERRORS.get(name, {"error": name, "message": "Record already exists"}))
        record = body["record"]
        import regex
        if len(regex.findall(r"\X", record.get("text", ""))) > 300:
            return self._err(400, "invalid_record")
        post = self.add_post(self.brand, record["text"], rkey=rkey, record=record)
        return self._ok({"uri": post["uri"], "cid": post["cid"],
                         "commit": {"cid": fake_cid("commit" + uri), "rev": self._rev()}, "validationStatus": "valid"})

    def _x_com_atproto_repo_getRecord(self, request):
        q = request.url.params
        repo = self.session["did"] if q["repo"] == self.session["handle"] else q["repo"]
        uri = f"at://{repo}/{q['collection']}/{q['rkey']}"
        if uri not in self.posts:
            return self._err(400, "record_not_found")
        post = self.posts[uri]
        return self._ok({"uri": uri, "cid": post["cid"], "value": post["record"]})

    def _x_chat_bsky_convo_listConvos(self, request):
        views = sorted((c["view"] for c in self.convos.values()), key=lambda v: v["rev"], reverse=True)
        return self._ok({"convos": copy.deepcopy(views[: int(request.url.params.get("limit", 50))])})

    def _x_chat_bsky_convo_getMessages(self, request):
        q = request.url.params
        convo = self.convos.get(q["convoId"])
        if convo is None:
            return httpx.Response(400, json={"error": "InvalidRequest", "message": "Convo not found"})
        msgs = list(reversed(convo["messages"]))[: int(q.get("limit", 50))]
        return self._ok({"messages": copy.deepcopy(msgs)})

    def _x_chat_bsky_convo_getConvoForMembers(self, request):
        members = request.url.params.get_list("members")
        return self._ok({"convo": copy.deepcopy(self._convo_with(members[0])["view"])})

    def _x_chat_bsky_convo_sendMessage(self, request):
        body = json.loads(request.content)
        self.sent_messages.append(body)
        convo = self.convos.get(body["convoId"])
        if convo is None:
            return httpx.Response(400, json={"error": "InvalidRequest", "message": "Convo not found"})
        return self._ok(self.add_message(self.brand["did"], body["message"]["text"], convo=convo))
