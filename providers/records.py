"""Neutral records that cross the provider boundary.

Adapters build these; the core stores them. Nothing here knows about SQLite or
Textual. Times are timezone-aware UTC ``datetime`` objects. Ids that cross the
boundary are the adapter's own ``remote_id`` strings; the core pairs them with the
account name, so they only need to be unique within one account.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Channel(str, enum.Enum):
    EMAIL = "email"
    CHAT = "chat"
    SOCIAL = "social"
    HELPDESK = "helpdesk"
    COMMERCE = "commerce"
    KNOWLEDGE = "knowledge"


# The channels conversations arrive on (commerce and knowledge feed the side panes).
CONVERSATION_CHANNELS = (Channel.EMAIL.value, Channel.CHAT.value, Channel.SOCIAL.value, Channel.HELPDESK.value)


class Direction(str, enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"


class Status(str, enum.Enum):
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    SNOOZED = "snoozed"
    CLOSED = "closed"


# Priorities are small integers so they sort; names are for people.
PRIORITIES = {0: "low", 1: "normal", 2: "high", 3: "urgent"}
PRIORITY_BY_NAME = {v: k for k, v in PRIORITIES.items()}


class Capability(str, enum.Enum):
    """What an adapter can do remotely. The core refuses pushes it cannot do."""

    REPLY = "reply"
    NOTE = "note"  # the remote side can store internal notes
    CLOSE = "close"
    REOPEN = "reopen"
    TAG = "tag"
    ASSIGN = "assign"
    SNOOZE = "snooze"
    MARK_READ = "mark_read"
    PRIORITY = "priority"
    MOVE_PRIVATE = "move_private"  # answer a public post privately
    WATCH = "watch"
    REFUND = "refund"  # give money back on a payment (a payments adapter)
    # Take ownership atomically in the system of record: of two agents claiming at once exactly
    # one wins (IMAP: a conditional STORE, RFC 7162; RT: the Owner field under If-Match). An
    # adapter without it (chat, social) keeps "assign" a local (or plain remote) assignment.
    CLAIM = "claim"


class PushKind(str, enum.Enum):
    """What the outbox asks an adapter to do remotely, each with the capability it needs."""

    REPLY = "reply"
    MOVE_PRIVATE = "move_private"
    NOTE = "note"
    CLOSE = "close"
    REOPEN = "reopen"
    TAG = "tag"
    ASSIGN = "assign"
    SNOOZE = "snooze"
    MARK_READ = "mark_read"
    MARK_UNREAD = "mark_unread"
    PRIORITY = "priority"
    REFUND = "refund"
    SAVE_COPY = "save_copy"  # a follow-up of a sent reply (the copy in Sent)
    CLAIM = "claim"  # "assign to me" as a compare-and-set on the owner: won, or lost to whoever holds it

    @property
    def capability(self) -> Capability:
        follows = {PushKind.MARK_UNREAD: Capability.MARK_READ, PushKind.SAVE_COPY: Capability.REPLY}
        return follows.get(self) or Capability(self.value)

    @property
    def carries_text(self) -> bool:
        return self in (PushKind.REPLY, PushKind.MOVE_PRIVATE, PushKind.NOTE)


@dataclass(slots=True)
class Identity:
    """A person's address on one channel: an email address, a Matrix id, a handle."""

    channel: Channel
    address: str
    display_name: str = ""
    followers: int | None = None
    verified: bool = False
    url: str = ""
    phone: str = ""
    network: str = ""  # e.g. "WhatsApp" for a bridged chat, "mastodon.social"


@dataclass(slots=True)
class Attachment:
    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    ref: str = ""  # adapter's handle to fetch the bytes later, never fetched eagerly


@dataclass(slots=True)
class Message:
    remote_id: str
    thread_remote_id: str
    direction: Direction
    author: Identity
    sent_at: datetime
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    # Free-form facts shown beside the message: visibility, edited, encrypted,
    # parse_warning, auto_reply, bounce, in_reply_to, ...
    meta: dict[str, Any] = field(default_factory=dict)
    # Set when this outbound message is the confirmation of an outbox action.
    action_key: str | None = None


@dataclass(slots=True)
class Thread:
    """A conversation as the remote side sees it.

    Fields left as ``None`` are not known remotely and keep their local value; this
    is how local triage (queue, priority, tags, assignee) survives a re-pull.
    """

    remote_id: str
    channel: Channel
    subject: str
    customer: Identity
    last_message_at: datetime
    channel_detail: str = ""  # "WhatsApp", "mention", "direct", ...
    status: Status | None = None
    priority: int | None = None
    queue: str | None = None
    assignee: str | None = None
    tags: list[str] | None = None
    unread: bool | None = None
    snoozed_until: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"encrypted": True}


@dataclass(slots=True)
class Customer:
    """What a commerce or helpdesk system knows about a person."""

    remote_id: str
    name: str
    identities: list[Identity] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    note: str = ""


@dataclass(slots=True)
class Order:
    remote_id: str
    number: str
    customer: Identity  # usually the email identity the order was placed with
    placed_at: datetime
    total: float
    currency: str = "USD"
    status: str = ""
    items: list[str] = field(default_factory=list)
    tracking_url: str = ""  # shown as text, never opened


@dataclass(slots=True)
class Payment:
    """Money taken from a customer: a card charge (a payment intent's charge).

    Amounts are in the currency's major unit (12.50 EUR), like :class:`Order`.
    """

    remote_id: str  # ch_… for Stripe
    customer: Identity
    created_at: datetime
    amount: float
    currency: str
    status: str  # succeeded | pending | failed
    refunded: float = 0.0  # what the remote side says was refunded so far
    description: str = ""
    order_number: str = ""  # the shop's order this paid for, when known
    intent: str = ""  # pi_… when the charge belongs to a payment intent


@dataclass(slots=True)
class Refund:
    remote_id: str
    payment_remote_id: str
    created_at: datetime
    amount: float
    currency: str
    status: str  # succeeded | pending | failed | canceled
    reason: str = ""
    action_key: str | None = None  # the outbox key, when the refund was made from the console


@dataclass(slots=True)
class Dispute:
    """A chargeback: the customer's bank contests a payment."""

    remote_id: str
    payment_remote_id: str
    created_at: datetime
    amount: float
    currency: str
    status: str  # needs_response | under_review | won | lost | …
    reason: str = ""


@dataclass(slots=True)
class Subscription:
    remote_id: str
    customer: Identity
    created_at: datetime
    status: str  # active | trialing | past_due | canceled | …
    plan: str = ""
    amount: float = 0.0
    currency: str = ""
    interval: str = ""  # month | year | …
    current_period_end: datetime | None = None


@dataclass(slots=True)
class Article:
    remote_id: str
    title: str
    body: str
    tags: list[str] = field(default_factory=list)
    url: str = ""
    questions: list[str] = field(default_factory=list)  # other ways customers ask what it answers


@dataclass(slots=True)
class Batch:
    """One bounded page of changes since a cursor.

    ``cursor`` is opaque to the core and handed back on the next pull. ``more`` says
    another page is waiting right now (the engine pulls again at once).
    """

    cursor: str | None
    more: bool = False
    threads: list[Thread] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    # Remote ids of messages deleted or redacted remotely: the cache blanks their
    # text and marks them removed. Remote ids must be stable across reconnects (an
    # IMAP adapter keys by Message-ID, not by UID, so UIDVALIDITY resets are harmless).
    deleted_messages: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return (len(self.threads) + len(self.messages) + len(self.customers) + len(self.orders) + len(self.articles)
                + len(self.payments) + len(self.refunds) + len(self.disputes) + len(self.subscriptions))


@dataclass(slots=True)
class PushAction:
    """A change the core asks an adapter to make remotely.

    ``key`` is the outbox row's stable idempotency key: a retried push with the
    same key must never make a second reply (SMTP Message-ID looked up in Sent,
    Matrix txnId, Mastodon Idempotency-Key).
    """

    key: str
    kind: str  # a PushKind value
    thread_remote_id: str
    text: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    # Context the adapter needs to answer in the right place.
    subject: str = ""
    reply_to_remote_id: str | None = None  # the customer's message being answered
    customer: Identity | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class Receipt:
    """What the remote side said when a push succeeded."""

    remote_id: str | None = None  # id of the created message, if any
    sent_at: datetime | None = None
    detail: str = ""
    duplicate: bool = False  # the key had already been pushed; nothing new was sent
    # A further step the core must carry out as its own outbox row, retried on its own, once
    # this push counts as done (e.g. saving the copy of a sent mail in the Sent folder).
    follow_up: PushAction | None = None
    owner: str | None = None  # a claim: the owner the system of record now holds (the agent as it names them)


@dataclass(slots=True)
class Newer:
    """Something that happened in a conversation after a reply's draft began, as the system
    of record tells it just before the reply is pushed (:meth:`Provider.newer_activity`)."""

    kind: str  # "customer" (the customer wrote), "agent" (someone else replied), "change" (owner, status …)
    at: datetime | None = None
    who: str = ""  # as the remote names them (hostile text: the core cleans it)
    count: int = 1  # how many such events there were

    def line(self) -> str:
        """'the customer wrote again at 14:05', 'Priya replied at 14:03 (2 messages)' (local time)."""
        when = f" at {self.at.astimezone().strftime('%H:%M')}" if self.at is not None else ""
        more = f" ({self.count} messages)" if self.count > 1 else ""
        if self.kind == "customer":
            return f"the customer wrote again{when}{more}"
        if self.kind == "agent":
            return f"{self.who or 'another agent'} replied{when}{more}"
        return f"{self.who or 'someone'} changed the conversation{when}"
