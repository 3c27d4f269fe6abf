"""Zendesk tickets, comments and users as neutral records.

Statuses: new and open are open, pending and hold wait on someone, solved and closed
are closed. Priorities are Zendesk's own four names. A requester's identities
(email, phone, Twitter, Facebook) become identities of one customer, so the core
links them to the same person's mail, chat and social history.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from providers.base import PRIORITY_BY_NAME, Attachment, Channel, Customer, Direction, Identity, Message, Status, Thread
from providers.text import clean_line, clean_text, html_to_text

STATUS_FROM_ZENDESK = {"new": Status.OPEN, "open": Status.OPEN, "pending": Status.PENDING, "hold": Status.PENDING,
                       "solved": Status.CLOSED, "closed": Status.CLOSED, "deleted": Status.CLOSED}
PRIORITY_TO_ZENDESK = {0: "low", 1: "normal", 2: "high", 3: "urgent"}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def identity_of(ident: dict, user: dict) -> Identity | None:
    """One Zendesk user identity; None for kinds that name no reachable address."""
    kind, value = ident.get("type"), clean_line(str(ident.get("value") or ""))
    name = clean_line(user.get("name") or "")
    verified = bool(ident.get("verified"))
    if not value:
        return None
    if kind == "email":
        return Identity(Channel.EMAIL, value.lower(), display_name=name, verified=verified)
    if kind == "phone_number":
        return Identity(Channel.CHAT, value, display_name=name, verified=verified, phone=value, network="phone")
    if kind == "twitter":
        handle = value if value.startswith("@") else f"@{value}"
        return Identity(Channel.SOCIAL, handle, display_name=name, verified=verified, network="twitter",
                        url=f"https://twitter.com/{handle[1:]}")
    if kind == "facebook":
        return Identity(Channel.SOCIAL, value, display_name=name, verified=verified, network="facebook")
    return None


def user_identity(user: dict) -> Identity:
    """A user's main identity: their email, else their phone, else their Zendesk user id."""
    name = clean_line(user.get("name") or "")
    if user.get("email"):
        return Identity(Channel.EMAIL, clean_line(user["email"]).lower(), display_name=name)
    if user.get("phone"):
        phone = clean_line(user["phone"])
        return Identity(Channel.CHAT, phone, display_name=name, phone=phone, network="phone")
    return Identity(Channel.HELPDESK, f"zendesk-user-{user.get('id')}", display_name=name)


def customer_of(user: dict, identities: list[dict]) -> Customer:
    main = user_identity(user)
    found = [i for i in (identity_of(x, user) for x in identities) if i is not None]
    if all(i.address != main.address for i in found):
        found.insert(0, main)
    return Customer(remote_id=f"user-{user['id']}", name=clean_line(user.get("name") or ""), identities=found,
                    tags=[clean_line(t) for t in user.get("tags") or []], note=clean_text(user.get("notes") or ""))


def thread_of(ticket: dict, requester: Identity, assignee: str | None, field_names: dict[int, str]) -> Thread:
    via = (ticket.get("via") or {}).get("channel") or ""
    meta: dict[str, Any] = {"zendesk_status": clean_line(ticket.get("status") or ""),
                            "updated_stamp": ticket.get("updated_at")}
    custom = {}
    for field in ticket.get("custom_fields") or []:
        value = field.get("value")
        if value not in (None, "", [], False):
            name = field_names.get(int(field["id"]), str(field["id"]))
            custom[clean_line(name)] = clean_line(", ".join(map(str, value)) if isinstance(value, list) else str(value))
    if custom:
        meta["custom_fields"] = custom
    priority = ticket.get("priority")
    return Thread(
        remote_id=str(ticket["id"]),
        channel=Channel.HELPDESK,
        subject=clean_line(ticket.get("subject") or ticket.get("raw_subject") or "") or f"Ticket {ticket['id']}",
        customer=requester,
        last_message_at=parse_time(ticket.get("updated_at")) or datetime.now(timezone.utc),
        channel_detail=clean_line(str(via)),
        status=STATUS_FROM_ZENDESK.get(ticket.get("status") or "", Status.OPEN),
        priority=PRIORITY_BY_NAME.get(priority) if priority else None,
        assignee=assignee,
        tags=[clean_line(t) for t in ticket.get("tags") or []],
        meta=meta,
    )


def message_of(comment: dict, ticket: dict, author: Identity, author_is_agent: bool, key: str | None) -> Message:
    """Public comments are messages (the requester's inbound, an agent's outbound); private ones notes."""
    if not comment.get("public", True):
        direction = Direction.NOTE
    elif author_is_agent:
        direction = Direction.OUTBOUND
    else:
        direction = Direction.INBOUND
    text = comment.get("plain_body") or comment.get("body") or ""
    if not text and comment.get("html_body"):
        text = html_to_text(comment["html_body"])
    files = [Attachment(name=clean_line(a.get("file_name") or "file"), content_type=clean_line(a.get("content_type")
                        or "application/octet-stream"), size=int(a.get("size") or 0), ref=str(a.get("content_url") or ""))
             for a in comment.get("attachments") or []]
    channel = ((comment.get("via") or {}).get("channel")) or ""
    return Message(
        remote_id=f"{ticket['id']}-{comment['id']}",
        thread_remote_id=str(ticket["id"]),
        direction=direction,
        author=author,
        sent_at=parse_time(comment.get("created_at")) or datetime.now(timezone.utc),
        text=clean_text(text).strip(),
        attachments=files,
        meta={"via": clean_line(str(channel))} if channel else {},
        action_key=key,
    )
