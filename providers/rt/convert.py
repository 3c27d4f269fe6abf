"""RT's tickets and transactions as neutral records, and our text as RT content.

Statuses map by RT's default lifecycle (custom statuses count as open); priorities
by RT's default names (Low 0, Medium 50, High 100): below 25 is low, below 75 normal,
up to 100 high, above 100 urgent. A reply or note goes to RT as HTML carrying the
outbox key in a comment (``<!-- switchboard-key: KEY -->``), invisible to the
customer and to the web UI, so a retry after a crash can find what was sent.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import Any

from providers.base import Attachment, Channel, Direction, Identity, Message, Status, Thread
from providers.text import clean_line, clean_text, html_to_text

STATUS_FROM_RT = {"new": Status.OPEN, "open": Status.OPEN, "stalled": Status.PENDING, "resolved": Status.CLOSED,
                  "rejected": Status.CLOSED, "deleted": Status.CLOSED}
PRIORITY_TO_RT = {0: 0, 1: 50, 2: 100, 3: 150}
MESSAGE_TYPES = ("Create", "Correspond", "Comment")
KEY_MARK = re.compile(r"<!--\s*switchboard-key:\s*([A-Za-z0-9_.:-]{1,100})\s*-->")
NOBODY = "Nobody"


def parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("1970-01-01"):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def priority_from_rt(value: Any) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return 1
    return 0 if n < 25 else 1 if n < 75 else 2 if n <= 100 else 3


def status_from_rt(value: str) -> Status:
    return STATUS_FROM_RT.get((value or "").lower(), Status.OPEN)


def person(user: dict | None) -> Identity:
    """An RT user as an identity: their email address (how customers are linked across channels)."""
    user = user or {}
    address = clean_line(user.get("EmailAddress") or "") or clean_line(user.get("Name") or user.get("id") or "")
    return Identity(channel=Channel.EMAIL, address=address.lower() if "@" in address else address,
                    display_name=clean_line(user.get("RealName") or ""))


def requestors(ticket: dict) -> list[Identity]:
    people = ticket.get("Requestor") or []
    return [person(p) for p in (people if isinstance(people, list) else [people])]


def custom_fields(ticket: dict) -> dict[str, str]:
    out = {}
    for cf in ticket.get("CustomFields") or []:
        if isinstance(cf, dict) and cf.get("name"):
            values = [clean_line(str(v)) for v in cf.get("values") or [] if str(v).strip()]
            if values:
                out[clean_line(cf["name"])] = ", ".join(values)
    return out


def thread_of(ticket: dict, last_at: datetime) -> Thread:
    people = requestors(ticket)
    queue = ticket.get("Queue") or {}
    owner = ticket.get("Owner") or {}
    owner_name = clean_line(owner.get("Name") or owner.get("id") or "") if isinstance(owner, dict) else ""
    meta: dict[str, Any] = {"rt_status": clean_line(ticket.get("Status") or "")}
    fields = custom_fields(ticket)
    if fields:
        meta["custom_fields"] = fields
    if len(people) > 1:
        meta["requestors"] = [p.address for p in people]
    return Thread(
        remote_id=str(ticket["id"]),
        channel=Channel.HELPDESK,
        subject=clean_line(ticket.get("Subject") or "") or f"Ticket {ticket['id']}",
        customer=people[0] if people else Identity(channel=Channel.EMAIL, address=f"rt-ticket-{ticket['id']}"),
        last_message_at=parse_time(ticket.get("LastUpdated")) or last_at,
        channel_detail=clean_line(queue.get("Name") or str(queue.get("id") or "")) if isinstance(queue, dict) else "",
        status=status_from_rt(ticket.get("Status") or ""),
        priority=priority_from_rt(ticket.get("Priority")),
        queue=clean_line(queue.get("Name") or "") if isinstance(queue, dict) else None,
        assignee=None if owner_name in ("", NOBODY) else owner_name,
        meta=meta,
    )


def is_requestor(txn: dict, ticket: dict) -> bool:
    return person(txn.get("Creator")).address in {p.address for p in requestors(ticket)}


def direction_of(txn: dict, ticket: dict, privileged: bool) -> Direction:
    """Comments are notes; a message is inbound when a requestor or an unprivileged user wrote it."""
    if txn["Type"] == "Comment":
        return Direction.NOTE
    return Direction.INBOUND if is_requestor(txn, ticket) or not privileged else Direction.OUTBOUND


def message_of(txn: dict, ticket: dict, parts: list[dict], privileged: bool) -> Message:
    """One Create/Correspond/Comment transaction with its attachments (REST2 collection rows)."""
    body_plain = next((p for p in parts if p["ContentType"] == "text/plain" and not p.get("Filename")), None)
    body_html = next((p for p in parts if p["ContentType"] == "text/html" and not p.get("Filename")), None)
    key = None
    if body_html is not None:
        found = KEY_MARK.search(body_html.get("Content") or "")
        key = found.group(1) if found else None
    if body_plain is not None and body_plain.get("Content"):
        text = clean_text(body_plain["Content"])
    elif body_html is not None:
        text = html_to_text(body_html.get("Content") or "")
    else:
        text = ""
    files = [Attachment(name=clean_line(p["Filename"]), content_type=clean_line(p["ContentType"]),
                        size=int(p.get("ContentLength") or 0), ref=str(p["id"]))
             for p in parts if p.get("Filename")]
    meta: dict[str, Any] = {"rt_type": txn["Type"]}
    return Message(
        remote_id=str(txn["id"]),
        thread_remote_id=str(txn["ObjectId"]),
        direction=direction_of(txn, ticket, privileged),
        author=person(txn.get("Creator")),
        sent_at=parse_time(txn.get("Created")) or datetime.now(timezone.utc),
        text=text.strip(),
        attachments=files,
        meta=meta,
        action_key=key,
    )


def content_of(text: str, key: str) -> str:
    """Our text as RT HTML content: escaped, line breaks kept, the outbox key in a comment."""
    lines = html.escape(text.strip(), quote=False).split("\n")
    return "<p>" + "<br>\n".join(lines) + f"</p>\n<!-- switchboard-key: {key} -->"
