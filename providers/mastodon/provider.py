"""The Mastodon adapter: mentions and direct conversations of the brand account.

Pull reads mention notifications (paged forward with ``min_id``; the first pull
pages back through the configured window with ``max_id`` from the Link header) and
direct conversations, then assembles each status into one conversation keyed by
the root of its ``in_reply_to_id`` chain (``/statuses/:id/context`` back-fills).
Push posts replies with an ``Idempotency-Key`` equal to the action key, never
wider than the message answered. Read-only opens never post and never dismiss.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from providers.base import (
    Batch,
    Capability,
    Channel,
    Identity,
    Message,
    Newer,
    OpenClient,
    Option,
    OptionError,
    PermanentError,
    PushAction,
    Receipt,
    Thread,
    Unsupported,
)
from providers.http import HttpProvider
from providers.mastodon import newer, oauth
from providers.mastodon.client import MastodonClient, parse_link_header
from providers.mastodon.convert import (
    id_key,
    identity_of,
    message_of,
    narrowest,
    parse_time,
    qualified_acct,
)
from providers.mastodon.counting import DEFAULT_LIMIT, URL_LENGTH, count_characters
from providers.text import clean_line

PAGE = 40  # the API's maximum page size for notifications and conversations
MAX_CONTEXT_FETCHES = 40  # per pull, so one pull stays bounded
MAX_CONVERSATION_PAGES = 5


class MastodonProvider(HttpProvider):
    kind = "mastodon"
    channel = Channel.SOCIAL
    capabilities = frozenset({Capability.REPLY, Capability.MOVE_PRIVATE, Capability.WATCH})
    identity_options = ("instance",)  # who the account is remotely (team presence keys)
    options = (
        Option("instance", str, required=True, help='base URL of the instance, e.g. "https://mastodon.social"'),
        Option("timeout", float, 30.0, help="seconds to wait for the instance"),
    )
    secret_label = "access token"
    default_reply_limits = {"public": DEFAULT_LIMIT, "direct": DEFAULT_LIMIT}

    def __init__(self, account) -> None:
        super().__init__(account)
        self.instance = self.url_option("instance", 'write it as instance = "https://mastodon.example"')
        self.check_timeout()
        self.host = urlsplit(self.instance).hostname
        self._me: dict[str, Any] = {}
        self._limit = DEFAULT_LIMIT
        self._url_length = URL_LENGTH
        self._streaming_url: str | None = None
        self._streaming_ok = True
        self._root_of: dict[str, str] = {}  # status id -> root status id
        self._roots: dict[str, dict[str, Any]] = {}  # root id -> root status
        self._key_of: dict[str, str] = {}  # status id we posted -> action key
        self._posted: list[dict[str, Any]] = []  # our statuses not yet handed to the core

    # ------------------------------------------------------------------ life cycle

    def connect(self, read_only: bool) -> MastodonClient:
        return MastodonClient(self.instance, self.secret(), timeout=self.opts["timeout"], account=self.name,
                              read_only=read_only)

    async def greet(self) -> None:
        self._me = await self.client.get("/api/v1/accounts/verify_credentials")
        resp = await self.client.request("GET", "/api/v2/instance", not_found_ok=True)
        config = (resp.json() if resp.status_code == 200 else {}).get("configuration") or {}
        statuses = config.get("statuses") or {}
        self._limit = int(statuses.get("max_characters") or DEFAULT_LIMIT)
        self._url_length = int(statuses.get("characters_reserved_per_url") or URL_LENGTH)
        streaming = (config.get("urls") or {}).get("streaming") or self.instance
        self._streaming_url = streaming.replace("wss://", "https://", 1).replace("ws://", "http://", 1).rstrip("/")

    client = OpenClient[MastodonClient]("_client")

    async def reachable(self) -> str:
        return f"reachable as @{self._me.get('acct', '?')} on {self.host} (limit {self._limit} characters)"

    # ------------------------------------------------------------------ limits

    @classmethod
    async def authorize(cls, options, ask) -> str:
        """OAuth out-of-band: register the app, let the person sign in, trade the pasted code for a token."""
        instance = str(options.get("instance") or "")
        if not instance:
            raise OptionError("--oauth needs the account's instance",
                              fix='add instance = "https://mastodon.example" to its [[accounts]]')
        client_id, client_secret = await oauth.register_app(instance)
        code = await ask(oauth.authorize_url(instance, client_id))
        return await oauth.exchange_code(instance, client_id, client_secret, code)

    def reply_limits(self) -> dict[str, int]:
        """The instance's own status limit (learned from /api/v2/instance on open), for every kind."""
        return {"public": self._limit, "direct": self._limit}

    @staticmethod
    def count_reply(text: str) -> int:
        return count_characters(text)

    def count(self, text: str) -> int:
        return count_characters(text, self._url_length)

    # ------------------------------------------------------------------ pull

    async def pull(self, cursor: str | None) -> Batch:
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        window_start = datetime.now(timezone.utc) - timedelta(days=self.account.window_days)
        statuses: dict[str, dict[str, Any]] = {}
        unread_roots: set[str] = set()
        more = False
        self._conv_unread: dict[str, bool] = {}

        # Mentions: either keep paging back through the first window, or forward from the newest seen.
        params: dict[str, Any] = {"types[]": "mention", "limit": PAGE}
        backfilling = bool(state.get("back"))
        first = "n" not in state
        if backfilling:
            params["max_id"] = state["back"]
        elif not first:
            params["min_id"] = state["n"]
        resp = await self.client.request("GET", "/api/v1/notifications", params=params)
        page = [n for n in resp.json() if n.get("type") == "mention" and n.get("status")]
        links = parse_link_header(resp.headers.get("Link"))
        in_window = [n for n in page if parse_time(n.get("created_at")) >= window_start]
        for note in in_window if (first or backfilling) else page:
            statuses[str(note["status"]["id"])] = note["status"]
        ids = [str(n["id"]) for n in resp.json()]
        if not backfilling and ids:
            state["n"] = max(ids + ([state["n"]] if state.get("n") else []), key=id_key)
        elif first:
            state["n"] = state.get("n") or "0"
        if first or backfilling:
            older = links.get("next", {}).get("max_id")
            if older and len(resp.json()) >= PAGE and len(in_window) == len(page):
                state["back"] = older
                more = True
            else:
                state.pop("back", None)
        elif len(resp.json()) >= PAGE:
            more = True

        # Direct conversations: new last statuses since the newest we saw.
        if not backfilling:
            await self._pull_conversations(state, statuses, unread_roots, window_start if first else None)

        # Statuses we posted since the last pull come back as outbound messages.
        for own in self._posted:
            statuses.setdefault(str(own["id"]), own)
        self._posted = []

        batch = Batch(cursor=json.dumps(state, sort_keys=True), more=more)
        await self._assemble(statuses, unread_roots, batch)
        return batch

    async def _pull_conversations(self, state, statuses, unread_roots, window_start) -> None:
        newest_seen = state.get("c")
        newest = newest_seen
        params: dict[str, Any] = {"limit": PAGE}
        conv_unread: dict[str, bool] = {}
        for _ in range(MAX_CONVERSATION_PAGES):
            resp = await self.client.request("GET", "/api/v1/conversations", params=params)
            convs = resp.json()
            fresh = 0
            for conv in convs:
                last = conv.get("last_status")
                if not last:
                    continue
                sid = str(last["id"])
                if newest_seen is not None and id_key(sid) <= id_key(newest_seen):
                    continue
                if window_start is not None and parse_time(last.get("created_at")) < window_start:
                    continue
                fresh += 1
                statuses[sid] = last
                conv_unread[sid] = bool(conv.get("unread"))
                if newest is None or id_key(sid) > id_key(newest):
                    newest = sid
            older = parse_link_header(resp.headers.get("Link")).get("next", {}).get("max_id")
            if not older or fresh < len(convs) or len(convs) < PAGE:
                break
            params = {"limit": PAGE, "max_id": older}
        state["c"] = newest or "0"
        self._conv_unread = conv_unread

    async def _assemble(self, statuses: dict[str, dict[str, Any]], unread_roots: set[str], batch: Batch) -> None:
        """Group statuses into conversations by the root of their reply chain."""
        own_id = str(self._me.get("id", ""))
        emitted: dict[str, dict[str, Any]] = {}
        by_root: dict[str, list[dict[str, Any]]] = {}
        fetches = 0
        for sid in sorted(statuses, key=id_key):
            status = statuses[sid]
            if sid in emitted:
                continue
            chain = [status]
            parent = status.get("in_reply_to_id")
            if not parent:
                root = sid
                self._roots[root] = status
            elif str(parent) in self._root_of:
                root = self._root_of[str(parent)]
            elif fetches < MAX_CONTEXT_FETCHES:
                fetches += 1
                resp = await self.client.request("GET", f"/api/v1/statuses/{sid}/context", not_found_ok=True)
                ctx = resp.json() if resp.status_code == 200 else {}
                ancestors = ctx.get("ancestors") or []
                root = str(ancestors[0]["id"]) if ancestors else sid
                self._roots[root] = ancestors[0] if ancestors else status
                chain = [*ancestors, status, *(ctx.get("descendants") or [])]
            else:
                root = str(parent)  # bounded: the next pull's context fetch will not be needed to show it
            for item in chain:
                iid = str(item["id"])
                self._root_of[iid] = root
                if iid not in emitted:
                    emitted[iid] = item
                    by_root.setdefault(root, []).append(item)
            if self._conv_unread.get(sid) or str((status.get("account") or {}).get("id")) != own_id:
                unread_roots.add(root)
        for root in by_root:
            if root not in self._roots and fetches < MAX_CONTEXT_FETCHES:  # for the subject and the customer
                fetches += 1
                resp = await self.client.request("GET", f"/api/v1/statuses/{root}", not_found_ok=True)
                if resp.status_code == 200:
                    self._roots[root] = resp.json()
        for root, items in by_root.items():
            messages = [message_of(s, root, own_id, self.host, self._key_of.get(str(s["id"]))) for s in items]
            batch.messages.extend(messages)
            batch.threads.append(self._thread_of(root, items, messages, root in unread_roots))

    def _thread_of(self, root: str, items: list[dict[str, Any]], messages: list[Message], unread: bool) -> Thread:
        own_id = str(self._me.get("id", ""))
        root_status = self._roots.get(root) or items[0]
        customer = self._customer_of(root_status, items, own_id)
        visibility = root_status.get("visibility") or "public"
        first_line = next((line for line in messages[0].text.splitlines() if line.strip()), "") if messages else ""
        if root_status is not items[0]:
            first_line = next((line for line in message_of(root_status, root, own_id, self.host).text.splitlines()
                               if line.strip()), first_line)
        return Thread(
            remote_id=root,
            channel=Channel.SOCIAL,
            subject=clean_line(first_line)[:80],
            customer=customer,
            last_message_at=max(m.sent_at for m in messages),
            channel_detail="direct" if visibility == "direct" else "mention",
            unread=True if unread else None,
            meta={"visibility": visibility, "network": "mastodon"},
        )

    def _customer_of(self, root_status, items, own_id) -> Identity:
        for status in [root_status, *items]:
            account = status.get("account") or {}
            if str(account.get("id")) != own_id:
                return identity_of(account, self.host)
        for mention in root_status.get("mentions") or []:
            if str(mention.get("id")) != own_id:
                return identity_of({"acct": mention.get("acct"), "username": mention.get("username"),
                                    "url": mention.get("url")}, self.host)
        return identity_of(self._me, self.host)

    # ------------------------------------------------------------------ watch

    async def watch(self, timeout: float) -> bool:
        """Wait on the user stream (server-sent events) for a mention or a direct message."""
        if not self._streaming_ok or self._client is None or not self._streaming_url:
            return await super().watch(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                if await self._wait_for_stream_event():
                    return True
        except TimeoutError:
            return False
        except (httpx.HTTPError, PermanentError):
            # The instance does not offer streaming to us: poll instead from now on.
            self._streaming_ok = False
        # The stream ended without news (a restart, a proxy cut it): wait out the rest like polling.
        return await super().watch(max(0.0, deadline - loop.time()))

    async def _wait_for_stream_event(self) -> bool:
        url = f"{self._streaming_url}/api/v1/streaming/user"
        async with self.client.http.stream("GET", url, headers={"Accept": "text/event-stream"},
                                           timeout=httpx.Timeout(None, connect=self.opts["timeout"])) as resp:
            if resp.status_code != 200:
                raise PermanentError(f"streaming answered {resp.status_code}")
            event = ""
            async for line in resp.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("notification", "conversation"):
                    if event == "conversation":
                        return True
                    try:
                        data = json.loads(line[5:].strip())
                    except ValueError:
                        continue
                    if isinstance(data, dict) and data.get("type") == "mention":
                        return True
                elif not line:
                    event = ""
        return False

    # ------------------------------------------------------------------ push

    async def push(self, action: PushAction) -> Receipt:
        if action.kind not in ("reply", "move_private"):
            raise Unsupported(f"{self.name}: Mastodon cannot {action.kind.replace('_', ' ')}")
        self.require_writable("post on Mastodon")
        target_id = action.reply_to_remote_id or action.thread_remote_id
        target = await self.client.get(f"/api/v1/statuses/{target_id}")
        own_id = str(self._me.get("id", ""))
        visibility = "direct" if action.kind == "move_private" else narrowest(target.get("visibility") or "direct")
        text = self._with_mention(action, target, own_id)
        used = self.count(text)
        if used > self._limit:
            raise PermanentError(f"{self.name}: the reply is {used} characters; {self.host} allows {self._limit}",
                                 fix=f"shorten it by {used - self._limit}")
        resp = await self.client.request(
            "POST", "/api/v1/statuses",
            json={"status": text, "in_reply_to_id": str(target_id), "visibility": visibility},
            headers={"Idempotency-Key": action.key},
        )
        status = resp.json()
        sid = str(status["id"])
        duplicate = sid in self._key_of
        self._key_of[sid] = action.key
        self._root_of[sid] = self._root_of.get(str(target_id), action.thread_remote_id)
        if not duplicate:
            self._posted.append(status)
        return Receipt(remote_id=sid, sent_at=parse_time(status.get("created_at")), duplicate=duplicate,
                       detail=f"{visibility} reply on {self.host}")

    async def newer_activity(self, action: PushAction, since: datetime, own_keys: frozenset[str] = frozenset(),
                             known: frozenset[str] = frozenset()) -> Newer | None:
        """Posts in the conversation's reply chain since ``since`` that this console did not make."""
        return await newer.look(self, action, since, own_keys, known)

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """A reply is delivered if the post it answers has a reply from us with this text
        (Mastodon forgets an Idempotency-Key after an hour; the post list does not)."""
        for sid, key in self._key_of.items():
            if key == action.key:
                return Receipt(remote_id=sid, duplicate=True, detail="already posted")
        target_id = str(action.reply_to_remote_id or action.thread_remote_id)
        target = await self.client.get(f"/api/v1/statuses/{target_id}")
        own_id = str(self._me.get("id", ""))
        text = self._with_mention(action, target, own_id)
        context = await self.client.get(f"/api/v1/statuses/{target_id}/context")
        for status in context.get("descendants") or []:
            if str((status.get("account") or {}).get("id")) != own_id or str(status.get("in_reply_to_id")) != target_id:
                continue
            source = await self.client.get(f"/api/v1/statuses/{status['id']}/source")
            if (source.get("text") or "").strip() == text:
                self._key_of[str(status["id"])] = action.key
                return Receipt(remote_id=str(status["id"]), sent_at=parse_time(status.get("created_at")),
                               duplicate=True, detail="already posted")
        return None

    def _with_mention(self, action: PushAction, target: dict[str, Any], own_id: str) -> str:
        """The reply text with ``@acct`` of the person answered in front, unless already there."""
        account = target.get("account") or {}
        if str(account.get("id")) != own_id and account.get("acct"):
            acct = account["acct"]
        elif action.customer is not None and action.customer.address:
            acct = action.customer.address
            if acct.endswith("@" + self.host):
                acct = acct[: -len(self.host) - 1]
        else:
            acct = ""
        text = action.text.strip()
        if acct and f"@{acct}".lower() not in text.lower():
            text = f"@{acct} {text}"
        return text


__all__ = ["MastodonProvider", "count_characters", "qualified_acct"]
