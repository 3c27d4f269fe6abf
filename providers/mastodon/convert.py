"""Mastodon entities (Account, Status) → neutral records."""

from __future__ import annotations

from datetime import datetime, timezone
import re
from typing import Any
from urllib.parse import urlsplit

from providers.base import Attachment, Channel, Direction, Identity, Message
from providers.text import clean_line, html_to_text

# Narrowest first: a reply is never wider than the message it answers.
VISIBILITY_ORDER = ("direct", "private", "unlisted", "public")


def narrowest(*values: str) -> str:
    known = [v for v in values if v in VISIBILITY_ORDER]
    if not known:
        return "direct"
    return min(known, key=VISIBILITY_ORDER.index)


def parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def qualified_acct(acct: str, instance_host: str) -> str:
    """``user`` (local) becomes ``user@instance``; ``user@other`` stays."""
    acct = (acct or "").lstrip("@")
    return acct if "@" in acct else f"{acct}@{instance_host}"


def identity_of(account: dict[str, Any], instance_host: str) -> Identity:
    address = qualified_acct(account.get("acct") or account.get("username") or "", instance_host)
    return Identity(
        channel=Channel.SOCIAL,
        address=address,
        display_name=clean_line(account.get("display_name") or account.get("username") or ""),
        followers=account.get("followers_count"),
        verified=any(f.get("verified_at") for f in account.get("fields") or [] if isinstance(f, dict)),
        url=clean_line(account.get("url") or ""),
        network=address.rsplit("@", 1)[-1] or instance_host,
    )


_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def _plain_anchor(match: re.Match) -> str:
    """Mastodon wraps mentions, hashtags and links in nested spans: keep ``@user``,
    ``#tag`` as written and show other links as their full address."""
    attrs, inner = match.group(1), match.group(2)
    cls = _CLASS.search(attrs)
    classes = (cls.group(1) or cls.group(2) or "") if cls else ""
    label = _TAG.sub("", inner).strip()
    if "mention" in classes or "hashtag" in classes or label.startswith(("@", "#")):
        return label
    href = _HREF.search(attrs)
    url = (href.group(1) or href.group(2) or "") if href else ""
    return url if url.startswith(("http://", "https://")) else label


def status_text(status: dict[str, Any]) -> str:
    """Readable text of a status: content warning first, HTML turned into inert text."""
    text = html_to_text(_ANCHOR.sub(_plain_anchor, status.get("content") or ""))
    spoiler = clean_line(status.get("spoiler_text") or "")
    if spoiler:
        text = f"CW: {spoiler}\n{text}"
    return text


def attachments_of(status: dict[str, Any]) -> list[Attachment]:
    out = []
    for media in status.get("media_attachments") or []:
        url = media.get("url") or media.get("remote_url") or ""
        name = clean_line(media.get("description") or "") or (urlsplit(url).path.rsplit("/", 1)[-1] or "media")
        kind = media.get("type") or "unknown"
        out.append(Attachment(name=name[:120], content_type=f"{kind}/*" if kind != "unknown" else
                              "application/octet-stream", ref=url))
    return out


def message_of(status: dict[str, Any], thread_id: str, own_account_id: str, instance_host: str,
               action_key: str | None = None) -> Message:
    account = status.get("account") or {}
    outbound = str(account.get("id")) == str(own_account_id)
    meta: dict[str, Any] = {"visibility": status.get("visibility") or "public"}
    if status.get("in_reply_to_id"):
        meta["in_reply_to"] = str(status["in_reply_to_id"])
    if status.get("url"):
        meta["url"] = clean_line(status["url"])
    if status.get("edited_at"):
        meta["edited"] = True
    if status.get("sensitive"):
        meta["sensitive"] = True
    return Message(
        remote_id=str(status["id"]),
        thread_remote_id=thread_id,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        author=identity_of(account, instance_host),
        sent_at=parse_time(status.get("created_at")),
        text=status_text(status),
        attachments=attachments_of(status),
        meta=meta,
        action_key=action_key if outbound else None,
    )


def id_key(status_id: str) -> tuple[int, str]:
    """Sort key for Mastodon ids (numeric strings of varying length)."""
    s = str(status_id)
    return (len(s), s)
