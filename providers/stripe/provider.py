"""``StripeProvider``: the payments side of a customer, and refunds from the console.

Pull walks Stripe's lists one page per call (cursor: which list, where in it, and
the newest ``created`` seen in each). The first pull reads customers, the last
``window_days`` of charges and refunds, disputes and subscriptions; later pulls read
new charges (``created[gt]``), new refunds (newest first, down to the last one seen)
and the events list, which carries updates to older objects (a dispute won, a
subscription cancelled). A server without a list (a test server has no disputes)
answers 404 and that list is skipped.

Push knows one kind, ``refund``. Its outbox key is sent as Stripe's Idempotency-Key
and stored in the refund's metadata; before creating a refund the charge's refunds
are looked up for that key, so a push retried after a crash finds the first refund
instead of making a second (this holds even where the server ignores the header).
Opened read-only, the adapter only ever sends GET requests.
"""

from __future__ import annotations

import json
import time
from typing import ClassVar

from providers.base import (
    Batch,
    Capability,
    Channel,
    Identity,
    Option,
    OptionError,
    PermanentError,
    Provider,
    PushAction,
    Receipt,
    Unsupported,
)
from providers.stripe import convert
from providers.stripe.client import StripeClient

INIT_STEPS = ("customers", "charges", "refunds", "disputes", "subscriptions")
LIVE_STEPS = ("charges", "refunds", "events")


class StripeProvider(Provider):
    kind: ClassVar[str] = "stripe"
    channel = Channel.COMMERCE
    capabilities = frozenset({Capability.REFUND})
    secret_label = "secret key (a restricted rk_… key is best)"
    options = (
        Option("api_base", str, "https://api.stripe.com", help="Stripe's API; a test server's URL in tests"),
        Option("page_size", int, 100, help="objects per list request (1-100)"),
    )

    def __init__(self, account) -> None:
        super().__init__(account)
        if not 1 <= self.opts["page_size"] <= 100:
            raise OptionError(f"account {self.name!r}: page_size is {self.opts['page_size']}",
                              fix="use a whole number from 1 to 100")
        if not self.opts["api_base"].startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise OptionError(f"account {self.name!r}: api_base {self.opts['api_base']!r} is not an https URL",
                              fix='use https://api.stripe.com (plain http only for a test server on this machine)')
        self.client: StripeClient | None = None
        self._people: dict[str, Identity] = {}  # customer id -> identity, for charges and subscriptions

    # -- life cycle

    async def open(self, read_only: bool) -> None:
        self.read_only = read_only
        if self.client is None:
            self.client = StripeClient(self.opts["api_base"], self.secret(), self.name)
        await self.client.get("/v1/charges", {"limit": 1})  # a bad key fails here, once

    async def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.close()

    def _http(self) -> StripeClient:
        if self.client is None:
            raise PermanentError(f"account {self.name!r}: not open", fix="call open() first")
        return self.client

    async def reachable(self) -> str:
        return "Stripe answered; the key can read charges"

    # -- reading

    async def pull(self, cursor: str | None) -> Batch:
        state = _read_cursor(cursor, time.time() - self.account.window_days * 86400)
        steps = LIVE_STEPS if state["live"] else INIT_STEPS
        step = steps[state["i"]]
        batch = Batch(cursor=None)
        after = await getattr(self, f"_pull_{step}")(state, batch)
        if after:
            state["after"] = after
        else:
            state["after"] = None
            state["i"] += 1
            if state["i"] >= len(steps):
                state["i"], state["live"] = 0, True
        batch.cursor = json.dumps(state)
        batch.more = not (state["live"] and state["i"] == 0 and not state["after"])
        return batch

    async def _page(self, path: str, state: dict, params: dict, *, missing_ok: bool = False) -> tuple[list, str | None]:
        """One list page; the id to continue after when Stripe says there is more."""
        query = {"limit": self.opts["page_size"], **params}
        if state["after"]:
            query["starting_after"] = state["after"]
        page = await self._http().get(path, query, missing_ok=missing_ok)
        if page is None:
            return [], None
        data = page.get("data") or []
        return data, (data[-1]["id"] if data and page.get("has_more") else None)

    def _mark(self, state: dict, name: str, objects: list) -> None:
        for obj in objects:
            state["marks"][name] = max(state["marks"].get(name, 0), int(obj.get("created") or 0))

    async def _pull_customers(self, state: dict, batch: Batch) -> str | None:
        data, after = await self._page("/v1/customers", state, {})
        for cus in data:
            self._remember(cus, batch)
        return after

    async def _pull_charges(self, state: dict, batch: Batch) -> str | None:
        since = state["marks"].get("charges", state["window"])
        data, after = await self._page("/v1/charges", state, {"created": {"gt": int(since) - 1}})
        self._mark(state, "charges", data)
        for ch in data:
            await self._add_payment(ch, batch)
        return after

    async def _pull_refunds(self, state: dict, batch: Batch) -> str | None:
        """Refunds come newest first: read down to the newest one seen before (or the window)."""
        floor = state["marks"].get("refunds", state["window"]) - 1
        data, after = await self._page("/v1/refunds", state, {})
        fresh = [r for r in data if int(r.get("created") or 0) >= floor]
        batch.refunds.extend(convert.refund(r) for r in fresh)
        newest = max((int(r.get("created") or 0) for r in fresh), default=0)
        state["walk"] = max(state.get("walk", 0), newest)
        if len(fresh) < len(data):
            after = None  # reached refunds already seen
        if after is None:  # the mark moves once the walk is done: pages shift while we read
            state["marks"]["refunds"] = max(state["marks"].get("refunds", 0), state.pop("walk"))
        return after

    async def _pull_disputes(self, state: dict, batch: Batch) -> str | None:
        data, after = await self._page("/v1/disputes", state, {}, missing_ok=True)
        batch.disputes.extend(convert.dispute(d) for d in data)
        return after

    async def _pull_subscriptions(self, state: dict, batch: Batch) -> str | None:
        data, after = await self._page("/v1/subscriptions", state, {"status": "all"})
        for sub in data:
            who = await self._person(_id(sub.get("customer")), batch)
            if who is not None:
                batch.subscriptions.append(convert.subscription(sub, who))
        return after

    async def _pull_events(self, state: dict, batch: Batch) -> str | None:
        since = state["marks"].get("events", state["started"])
        data, after = await self._page("/v1/events", state, {"created": {"gt": int(since) - 1}})
        self._mark(state, "events", data)
        for ev in sorted(data, key=lambda e: int(e.get("created") or 0)):
            await self._apply_event(ev, batch)
        return after

    async def _apply_event(self, ev: dict, batch: Batch) -> None:
        kind = ev.get("type") or ""
        obj = (ev.get("data") or {}).get("object") or {}
        if not obj.get("id"):
            return
        if kind.startswith("customer.subscription."):
            who = await self._person(_id(obj.get("customer")), batch)
            if who is not None:
                batch.subscriptions.append(convert.subscription(obj, who))
        elif kind in ("customer.created", "customer.updated"):
            self._remember(obj, batch)
        elif kind.startswith("charge.dispute."):
            batch.disputes.append(convert.dispute(obj))
        elif kind.startswith(("charge.refund.", "refund.")):
            batch.refunds.append(convert.refund(obj))
        elif kind.startswith("charge.") and obj.get("object") == "charge":
            await self._add_payment(obj, batch)

    async def _add_payment(self, ch: dict, batch: Batch) -> None:
        who = await self._person(_id(ch.get("customer")), batch)
        if who is None:
            email = ((ch.get("billing_details") or {}).get("email") or ch.get("receipt_email") or "").strip()
            if not email:
                return  # a guest payment with no one to link it to
            who = Identity(Channel.EMAIL, email, display_name=(ch.get("billing_details") or {}).get("name") or "")
        batch.payments.append(convert.payment(ch, who))

    def _remember(self, cus: dict, batch: Batch) -> Identity:
        record = convert.customer(cus)
        self._people[cus["id"]] = record.identities[0]
        batch.customers.append(record)
        return record.identities[0]

    async def _person(self, customer_id: str, batch: Batch) -> Identity | None:
        if not customer_id:
            return None
        if customer_id not in self._people:
            cus = await self._http().get(f"/v1/customers/{customer_id}", missing_ok=True)
            if cus is None or cus.get("deleted"):
                return None
            return self._remember(cus, batch)
        return self._people[customer_id]

    # -- writing

    async def find_delivery(self, action: PushAction) -> Receipt | None:
        """The refund this action already made, if any: the charge's refunds carry the outbox key.

        The contract's "was this already delivered?" hook (the outbox asks it before
        retrying a row whose push may have reached Stripe); ``push`` asks it too, so a
        retried push never refunds twice even on a server that ignores Idempotency-Key.
        """
        charge = str(action.args.get("charge") or "")
        after = None
        while True:
            query = {"charge": charge, "limit": 100, **({"starting_after": after} if after else {})}
            page = await self._http().get("/v1/refunds", query)
            for re in page.get("data") or []:
                if (re.get("metadata") or {}).get(convert.KEY_FIELD) == action.key:
                    return Receipt(remote_id=re["id"], sent_at=convert.when(re.get("created")),
                                   detail=f"refund {re['id']} was already made with this key; nothing new was sent",
                                   duplicate=True)
            data = page.get("data") or []
            if not page.get("has_more") or not data:
                return None
            after = data[-1]["id"]

    async def push(self, action: PushAction) -> Receipt:
        self.require_writable(f"{action.kind} on {action.args.get('charge') or action.thread_remote_id!r}")
        if action.kind != "refund":
            raise Unsupported(f"{self.name}: a Stripe account can only refund, not {action.kind}")
        charge, currency = str(action.args.get("charge") or ""), str(action.args.get("currency") or "")
        if not charge.startswith(("ch_", "py_")) or not currency:
            raise PermanentError(f"{self.name}: the refund names no charge (got {charge!r})",
                                 fix="cancel it and refund again from the customer pane")
        earlier = await self.find_delivery(action)
        if earlier is not None:
            return earlier
        data = {"charge": charge, "amount": convert.minor(float(action.args["amount"]), currency),
                "metadata": {convert.KEY_FIELD: action.key, convert.REASON_FIELD: action.args.get("reason") or None}}
        re = await self._http().post("/v1/refunds", data, idempotency_key=action.key)
        return Receipt(remote_id=re["id"], sent_at=convert.when(re.get("created")), detail=f"refund {re['id']}")


def _id(value) -> str:
    return str(value.get("id") or "") if isinstance(value, dict) else str(value or "")


def _read_cursor(cursor: str | None, window_start: float) -> dict:
    """Our own cursor; anything unreadable starts the first pull again (ingest is idempotent)."""
    if cursor:
        try:
            state = json.loads(cursor)
            if state.get("v") == 1 and isinstance(state.get("marks"), dict):
                return state
        except (ValueError, TypeError, AttributeError):
            pass
    now = int(time.time())
    return {"v": 1, "live": False, "i": 0, "after": None, "window": int(window_start), "started": now, "marks": {}}
