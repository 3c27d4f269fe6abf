"""Bluesky views (profiles, posts, chat messages) → neutral records."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from providers.base import Channel, Direction, Identity, Message
from providers.text import clean_line

WEB = "https://bsky.app"


def parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def rkey_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def identity_of(profile: dict[str, Any]) -> Identity:
    handle = clean_line(profile.get("handle") or profile.get("did") or "")
    return Identity(
        channel=Channel.SOCIAL,
        address=handle,
        display_name=clean_line(profile.get("displayName") or ""),
        followers=profile.get("followersCount"),
        verified=bool((profile.get("verification") or {}).get("verifiedStatus") == "valid"),
        url=f"{WEB}/profile/{handle}" if handle else "",
        network="bluesky",
    )


def root_uri_of(post_uri: str, record: dict[str, Any]) -> str:
    reply = record.get("reply") or {}
    return ((reply.get("root") or {}).get("uri")) or post_uri


def post_message(uri: str, cid: str, author: dict[str, Any], record: dict[str, Any], thread_id: str,
                 own_did: str, *, indexed_at: str | None = None, reason: str = "",
                 action_key: str | None = None) -> Message:
    outbound = author.get("did") == own_did
    meta: dict[str, Any] = {"visibility": "public", "cid": cid,
                            "url": f"{WEB}/profile/{author.get('handle') or author.get('did')}/post/{rkey_of(uri)}"}
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
    if parent:
        meta["in_reply_to"] = parent
    if reason:
        meta["reason"] = reason
    if record.get("embed"):
        meta["embed"] = str((record["embed"] or {}).get("$type", "embed"))
    return Message(
        remote_id=uri,
        thread_remote_id=thread_id,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=identity_of(author),
        sent_at=parse_time(record.get("createdAt") or indexed_at),
        text=str(record.get("text") or ""),
        meta=meta,
        action_key=action_key if outbound else None,
    )


def chat_message(view: dict[str, Any], thread_id: str, own_did: str, members: dict[str, dict[str, Any]],
                 action_key: str | None = None) -> Message:
    sender = (view.get("sender") or {}).get("did", "")
    outbound = sender == own_did
    return Message(
        remote_id=f"chat:{view['id']}",
        thread_remote_id=thread_id,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=identity_of(members.get(sender) or {"did": sender}),
        sent_at=parse_time(view.get("sentAt")),
        text=str(view.get("text") or ""),
        meta={"visibility": "direct", "rev": view.get("rev", "")},
        action_key=action_key if outbound else None,
    )
