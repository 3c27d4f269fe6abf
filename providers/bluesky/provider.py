"""The Bluesky adapter: mentions, replies and quotes of the brand account, plus DMs.

Pull scans ``app.bsky.notification.listNotifications`` newest-first down to the
newest notification already seen (one bounded page per pull), groups posts into
one conversation per thread root (``getPostThread`` back-fills the parents),
reads follower counts with ``getProfiles``, and reads direct messages through the
chat service where the account may use it. Push writes replies as
``app.bsky.feed.post`` records with a record key derived from the action key, so
a retry can never make a second post.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from providers.base import (
    AuthError,
    Batch,
    Capability,
    Channel,
    Identity,
    Message,
    OpenClient,
    Option,
    OptionError,
    PermanentError,
    PushAction,
    Receipt,
    Thread,
    TransientError,
    Unsupported,
)
from providers.bluesky.convert import chat_message, identity_of, parse_time, post_message, root_uri_of
from providers.bluesky.richtext import DM_LIMIT, POST_LIMIT, build_facets, count_graphemes, find_mentions, tid_for
from providers.bluesky.xrpc import Session, XrpcError
from providers.http import HttpProvider
from providers.text import clean_line

PAGE = 50
REASONS = ("mention", "reply", "quote")
MAX_THREAD_FETCHES = 25  # per pull
PROFILE_CHUNK = 25  # getProfiles takes at most 25 actors
CONVO_PAGE = 20
POST_COLLECTION = "app.bsky.feed.post"


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class BlueskyProvider(HttpProvider):
    kind = "bluesky"
    channel = Channel.SOCIAL
    capabilities = frozenset({Capability.REPLY, Capability.MOVE_PRIVATE})
    default_reply_limits = {"public": POST_LIMIT, "direct": DM_LIMIT}
    identity_options = ("handle",)  # who the account is remotely (team presence keys)
    options = (
        Option("service", str, "https://bsky.social", help="the account's PDS or entryway"),
        Option("handle", str, required=True, help='the brand account, e.g. "acme.bsky.social"'),
        Option("appview", str, None, help="URL for app.bsky.* reads if not through the service"),
        Option("timeout", float, 30.0, help="seconds to wait for the service"),
    )
    secret_label = "app password"

    def __init__(self, account) -> None:
        super().__init__(account)
        for name in ("service", "appview"):
            url = self.opts[name]
            if url is not None and not str(url).startswith(("https://", "http://")):
                raise OptionError(f"account {self.name!r}: {name} {url!r} is not a URL",
                                  fix=f'write it as {name} = "https://bsky.social"')
        handle = self.opts["handle"].strip().lstrip("@")
        if "." not in handle:
            raise OptionError(f"account {self.name!r}: handle {handle!r} is not a Bluesky handle",
                              fix='write the full handle, e.g. handle = "acme.bsky.social"')
        self.handle = handle
        self.dm_status = "not checked"
        self._dms_off = False
        self._roots: dict[str, dict[str, Any]] = {}  # root uri -> {"text", "author"}
        self._profiles: dict[str, dict[str, Any]] = {}  # did -> profile view
        self._key_of: dict[str, str] = {}  # uri / chat id we created -> action key
        self._posted: list[dict[str, Any]] = []  # our posts not yet handed to the core

    # ------------------------------------------------------------------ life cycle

    def connect(self, read_only: bool) -> Session:
        self.secret()  # fail early and clearly when no app password is stored
        return Session(self.opts["service"], self.handle, self.secret, timeout=self.opts["timeout"],
                       account=self.name, appview=self.opts["appview"])

    async def greet(self) -> None:
        await self.session.login()

    session = OpenClient[Session]("_client")

    @property
    def did(self) -> str:
        return self.session.did

    async def reachable(self) -> str:
        return f"reachable as @{self.session.handle} ({self.session.did})"

    @staticmethod
    def count_reply(text: str) -> int:
        return count_graphemes(text)

    # ------------------------------------------------------------------ pull

    async def pull(self, cursor: str | None) -> Batch:
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        window_start = datetime.now(timezone.utc) - timedelta(days=self.account.window_days)
        scan = state.get("scan") or {"stop": state.get("hw") or _iso(window_start), "stop_uris": state.get("hw_uris", []),
                                     "cursor": None, "top": state.get("hw"), "top_uris": state.get("hw_uris", [])}
        starting = scan["cursor"] is None
        params: dict[str, Any] = {"limit": PAGE}
        if scan["cursor"]:
            params["cursor"] = scan["cursor"]
        page = await self.session.query("app.bsky.notification.listNotifications", params)
        notes = page.get("notifications") or []
        stop_at = parse_time(scan["stop"])
        done, wanted = False, []
        for note in notes:
            when = parse_time(note.get("indexedAt"))
            if when < stop_at:
                done = True
                break
            if when == stop_at and note["uri"] in scan["stop_uris"]:
                continue
            top = parse_time(scan["top"]) if scan["top"] else None
            if top is None or when > top:
                scan["top"], scan["top_uris"] = note["indexedAt"], [note["uri"]]
            elif when == top:
                scan["top_uris"].append(note["uri"])
            if note.get("reason") in REASONS and note.get("record"):
                wanted.append(note)
        more = False
        if done or not page.get("cursor") or len(notes) < PAGE:
            state.pop("scan", None)
            if scan["top"]:
                state["hw"], state["hw_uris"] = scan["top"], scan["top_uris"]
        else:
            scan["cursor"] = page["cursor"]
            state["scan"] = scan
            more = True

        posts = [(n["uri"], n.get("cid", ""), n["author"], n["record"], n.get("indexedAt"), n.get("reason", ""))
                 for n in reversed(wanted)]
        posts.extend((p["uri"], p["cid"], p["author"], p["record"], None, "") for p in self._posted)
        self._posted = []
        batch = Batch(cursor=None, more=more)
        chats: list[tuple[dict, list[dict]]] = []
        if starting:
            chats = await self._pull_chats(state, window_start)
        await self._load_profiles([p[2].get("did") for p in posts] +
                                  [m.get("did") for convo, _ in chats for m in convo.get("members") or []])
        await self._assemble_posts(posts, batch)
        self._assemble_chats(chats, batch)
        batch.cursor = json.dumps(state, sort_keys=True)
        return batch

    async def _assemble_posts(self, posts: list[tuple], batch: Batch) -> None:
        own = self.did
        by_root: dict[str, list[Message]] = {}
        seen: set[str] = set()
        fetches = 0
        for uri, cid, author, record, indexed_at, reason in posts:
            if uri in seen:
                continue
            seen.add(uri)
            root = root_uri_of(uri, record)
            if root == uri:
                self._roots[root] = {"text": record.get("text") or "", "author": author}
            elif root not in self._roots and fetches < MAX_THREAD_FETCHES:
                fetches += 1
                for parent in await self._parents_of(uri):
                    p_uri = parent["uri"]
                    if p_uri in seen:
                        continue
                    seen.add(p_uri)
                    p_record = parent.get("record") or {}
                    if root_uri_of(p_uri, p_record) == p_uri:
                        self._roots[p_uri] = {"text": p_record.get("text") or "", "author": parent["author"]}
                    by_root.setdefault(root, []).append(post_message(
                        p_uri, parent.get("cid", ""), self._profile(parent["author"]), p_record, root, own,
                        indexed_at=parent.get("indexedAt"), action_key=self._key_of.get(p_uri)))
            by_root.setdefault(root, []).append(post_message(
                uri, cid, self._profile(author), record, root, own, indexed_at=indexed_at, reason=reason,
                action_key=self._key_of.get(uri)))
        for root, messages in by_root.items():
            info = self._roots.get(root) or {"text": messages[0].text, "author": None}
            customer = self._customer(info.get("author"), messages)
            first_line = next((line for line in str(info["text"]).splitlines() if line.strip()), "")
            batch.messages.extend(messages)
            batch.threads.append(Thread(
                remote_id=root, channel=Channel.SOCIAL, subject=clean_line(first_line)[:80], customer=customer,
                last_message_at=max(m.sent_at for m in messages), channel_detail="mention",
                unread=True if any(m.direction.value == "inbound" for m in messages) else None,
                meta={"network": "bluesky"}))

    def _customer(self, root_author: dict | None, messages: list[Message]) -> Identity:
        if root_author and root_author.get("did") != self.did:
            return identity_of(self._profile(root_author))
        for m in messages:
            if m.direction.value == "inbound":
                return m.author
        return messages[0].author

    async def _parents_of(self, uri: str) -> list[dict[str, Any]]:
        """The post views above ``uri`` in its thread, root first."""
        try:
            res = await self.session.query("app.bsky.feed.getPostThread",
                                           {"uri": uri, "depth": 0, "parentHeight": 100})
        except XrpcError as e:
            if e.error in ("NotFound", "InvalidRequest"):
                return []
            raise
        chain = []
        view = (res.get("thread") or {}).get("parent")
        while isinstance(view, dict) and view.get("post"):
            chain.append(view["post"])
            view = view.get("parent")
        return list(reversed(chain))

    async def _load_profiles(self, dids: list[str | None]) -> None:
        missing = sorted({d for d in dids if d and d not in self._profiles})
        for i in range(0, len(missing), PROFILE_CHUNK):
            res = await self.session.query("app.bsky.actor.getProfiles", {"actors": missing[i:i + PROFILE_CHUNK]})
            for profile in res.get("profiles") or []:
                self._profiles[profile["did"]] = profile

    def _profile(self, basic: dict[str, Any]) -> dict[str, Any]:
        """The detailed profile (with followersCount) if we have it, else the basic view."""
        return {**basic, **self._profiles.get(basic.get("did", ""), {})}

    # ------------------------------------------------------------------ direct messages

    def _chat_unavailable(self, err: Exception) -> bool:
        if isinstance(err, XrpcError) and err.status in (400, 401, 403, 404, 501):
            self._dms_off = True
            self.dm_status = f"direct messages not available for this account ({err.error or err.status})"
            return True
        return False

    async def _pull_chats(self, state: dict[str, Any], window_start: datetime) -> list[tuple[dict, list[dict]]]:
        if self._dms_off:
            return []
        try:
            res = await self.session.query("chat.bsky.convo.listConvos", {"limit": CONVO_PAGE}, chat=True)
        except (XrpcError, AuthError) as e:
            if isinstance(e, XrpcError) and self._chat_unavailable(e):
                return []
            raise
        except TransientError:
            return []  # chat service busy: mentions still sync; DMs next time
        self.dm_status = "direct messages on"
        seen = state.setdefault("chat", {})
        out = []
        for convo in res.get("convos") or []:
            cid = convo["id"]
            mark = seen.get(cid) or {}
            if mark.get("rev") == convo.get("rev"):
                continue
            got = await self.session.query("chat.bsky.convo.getMessages", {"convoId": cid, "limit": 50}, chat=True)
            views = [v for v in got.get("messages") or []
                     if v.get("$type", "").endswith("#messageView") and v.get("text") is not None
                     and (not mark.get("msg") or v.get("rev", "") > mark["msg"])
                     and parse_time(v.get("sentAt")) >= window_start]
            newest = max([v.get("rev", "") for v in views] + [mark.get("msg") or ""])
            seen[cid] = {"rev": convo.get("rev"), "msg": newest}
            if views:
                out.append((convo, views))
        return out

    def _assemble_chats(self, chats: list[tuple[dict, list[dict]]], batch: Batch) -> None:
        own = self.did
        for convo, views in chats:
            members = {m["did"]: self._profile(m) for m in convo.get("members") or []}
            thread_id = f"chat:{convo['id']}"
            messages = [chat_message(v, thread_id, own, members, self._key_of.get(f"chat:{v['id']}"))
                        for v in reversed(views)]
            other = next((p for d, p in members.items() if d != own), None)
            customer = identity_of(other) if other else messages[0].author
            batch.messages.extend(messages)
            batch.threads.append(Thread(
                remote_id=thread_id, channel=Channel.SOCIAL,
                subject=clean_line(next((m.text for m in messages if m.text.strip()), ""))[:80],
                customer=customer, last_message_at=max(m.sent_at for m in messages), channel_detail="direct",
                unread=True if convo.get("unreadCount") else None, meta={"network": "bluesky", "visibility": "direct"}))

    # ------------------------------------------------------------------ push

    async def push(self, action: PushAction) -> Receipt:
        if action.kind not in ("reply", "move_private"):
            raise Unsupported(f"{self.name}: Bluesky cannot {action.kind.replace('_', ' ')}")
        self.require_writable("post on Bluesky")
        if action.thread_remote_id.startswith("chat:"):
            return await self._send_dm(action.thread_remote_id[5:], action)
        if action.kind == "move_private":
            return await self._move_private(action)
        return await self._post_reply(action)

    async def _target_post(self, action: PushAction) -> dict[str, Any]:
        """The post being answered (uri, cid, record, author), from the AppView or, where it cannot
        answer, straight from the author's repository."""
        target = action.reply_to_remote_id or action.thread_remote_id
        try:
            res = await self.session.query("app.bsky.feed.getPosts", {"uris": [target]})
            posts = res.get("posts") or []
        except (XrpcError, TransientError):
            posts = []
        if posts:
            return posts[0]
        parts = target.removeprefix("at://").split("/")
        if len(parts) == 3:
            try:
                rec = await self.session.call("GET", "com.atproto.repo.getRecord",
                                              params={"repo": parts[0], "collection": parts[1], "rkey": parts[2]})
                return {"uri": rec["uri"], "cid": rec["cid"], "record": rec.get("value") or {},
                        "author": {"did": parts[0]}}
            except XrpcError:
                pass
        raise PermanentError(f"{self.name}: the post being answered is gone", fix="it was probably deleted")

    async def _post_reply(self, action: PushAction) -> Receipt:
        text = action.text.strip()
        used = count_graphemes(text)
        if used > POST_LIMIT:
            raise PermanentError(f"{self.name}: the reply is {used} characters; Bluesky allows {POST_LIMIT}",
                                 fix=f"shorten it by {used - POST_LIMIT}")
        parent_post = await self._target_post(action)
        parent = {"uri": parent_post["uri"], "cid": parent_post["cid"]}
        root = ((parent_post.get("record") or {}).get("reply") or {}).get("root") or parent
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": _iso(action.created_at or datetime.now(timezone.utc)),
            "reply": {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent},
        }
        facets = build_facets(text, await self._resolve_handles(text))
        if facets:
            record["facets"] = facets
        rkey = tid_for(action.key, action.created_at)
        try:
            res = await self.session.procedure("com.atproto.repo.createRecord", {
                "repo": self.did, "collection": POST_COLLECTION, "rkey": rkey, "record": record})
        except (XrpcError, TransientError):
            # A retry of a post that did go through: the record key is taken (PDSes answer this with a
            # 500 or, newer ones, a named error), or the answer was lost. Either way, look.
            existing = await self._existing_record(rkey)
            if existing is None:
                raise
            self._key_of[existing["uri"]] = action.key
            return Receipt(remote_id=existing["uri"], duplicate=True, detail="reply was already posted")
        self._key_of[res["uri"]] = action.key
        self._posted.append({"uri": res["uri"], "cid": res.get("cid", ""), "record": record,
                             "author": {"did": self.did, "handle": self.session.handle}})
        return Receipt(remote_id=res["uri"], sent_at=parse_time(record["createdAt"]), detail="reply on Bluesky")

    async def _existing_record(self, rkey: str) -> dict[str, Any] | None:
        try:
            return await self.session.query("com.atproto.repo.getRecord",
                                            {"repo": self.did, "collection": POST_COLLECTION, "rkey": rkey})
        except (XrpcError, TransientError):
            return None

    async def _resolve_handles(self, text: str) -> dict[str, str]:
        dids: dict[str, str] = {}
        for handle, _ in find_mentions(text):
            if handle in dids:
                continue
            try:
                res = await self.session.query("com.atproto.identity.resolveHandle", {"handle": handle})
            except XrpcError:
                continue  # an unknown handle stays plain text
            if res.get("did"):
                dids[handle] = res["did"]
        return dids

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """A post is delivered if our repository holds its record key (derived from the
        outbox key); a direct message if the conversation has it from us."""
        if action.thread_remote_id.startswith("chat:"):
            return await self._find_dm(action.thread_remote_id[5:], action)
        if action.kind == "move_private":
            return await self._find_dm(await self._dm_convo(action), action)
        existing = await self._existing_record(tid_for(action.key, action.created_at))
        if existing is None:
            return None
        self._key_of[existing["uri"]] = action.key
        return Receipt(remote_id=existing["uri"], duplicate=True, detail="reply was already posted")

    async def _dm_convo(self, action: PushAction) -> str:
        """The direct-message conversation with the author of the post being answered."""
        post = await self._target_post(action)
        did = (post.get("author") or {}).get("did")
        if did == self.did or not did:
            handle = action.customer.address if action.customer else ""
            did = (await self._resolve_handles(f"@{handle}")).get(handle.lower()) if handle else None
        if not did:
            raise PermanentError(f"{self.name}: cannot tell whom to message privately")
        try:
            res = await self.session.query("chat.bsky.convo.getConvoForMembers", {"members": [did]}, chat=True)
        except XrpcError as e:
            if self._chat_unavailable(e) or e.status == 400:
                raise PermanentError(f"{self.name}: cannot open a direct message ({e.detail or e.error})",
                                     fix="the customer may not accept messages; answer in public") from e
            raise
        return res["convo"]["id"]

    async def _move_private(self, action: PushAction) -> Receipt:
        convo_id = await self._dm_convo(action)
        receipt = await self._send_dm(convo_id, action)
        receipt.detail = f"moved to direct messages (chat:{convo_id})"
        return receipt

    async def _find_dm(self, convo_id: str, action: PushAction) -> Receipt | None:
        for uri, key in self._key_of.items():
            if key == action.key and uri.startswith("chat:"):
                return Receipt(remote_id=uri, duplicate=True, detail="message was already sent")
        text = action.text.strip()
        recent = await self.session.query("chat.bsky.convo.getMessages", {"convoId": convo_id, "limit": 30}, chat=True)
        since = action.created_at - timedelta(minutes=1) if action.created_at else None
        for view in recent.get("messages") or []:
            if ((view.get("sender") or {}).get("did") == self.did and view.get("text") == text
                    and (since is None or parse_time(view.get("sentAt")) >= since)):
                self._key_of[f"chat:{view['id']}"] = action.key
                return Receipt(remote_id=f"chat:{view['id']}", duplicate=True, detail="message was already sent")
        return None

    async def _send_dm(self, convo_id: str, action: PushAction) -> Receipt:
        text = action.text.strip()
        used = count_graphemes(text)
        if used > DM_LIMIT:
            raise PermanentError(f"{self.name}: the message is {used} characters; Bluesky allows {DM_LIMIT}",
                                 fix=f"shorten it by {used - DM_LIMIT}")
        # Chat has no idempotency key: look for this very message from us before sending it again.
        earlier = await self._find_dm(convo_id, action)
        if earlier is not None:
            return earlier
        message: dict[str, Any] = {"text": text}
        facets = build_facets(text, await self._resolve_handles(text))
        if facets:
            message["facets"] = facets
        res = await self.session.procedure("chat.bsky.convo.sendMessage", {"convoId": convo_id, "message": message},
                                           chat=True)
        self._key_of[f"chat:{res['id']}"] = action.key
        return Receipt(remote_id=f"chat:{res['id']}", sent_at=parse_time(res.get("sentAt")), detail="direct message")
