"""Turning Matrix room events into neutral messages.

Handles the message types a support chat sees (text, notice, emote, files and
media), HTML bodies (as clean text), rich-reply fallbacks (dropped: the quoted
message is already in the thread), edits (``m.replace``: new text for the
original's remote id), redactions, and encrypted events: opened with the
converter's ``decrypt`` and then read like plain ones, or, where our keys cannot
open them (yet), kept as a notice that says so, never dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from providers.base import Attachment, Direction, Message
from providers.matrix.rooms import Room
from providers.text import html_to_text

ENCRYPTED_NOTICE = (
    "This conversation is end-to-end encrypted and cannot be read here yet. "
    "Ask the customer to write in an unencrypted support room, or connect their network through a bridge."
)
E2EE_NOTICE = "This conversation is end-to-end encrypted: Switchboard reads and answers it with its own device keys."
UNDECRYPTABLE = ("Encrypted message that cannot be decrypted (yet): the sender's device has not shared its key "
                 "with this device. It is tried again when the key arrives.")
MEDIA_TYPES = {"m.image", "m.file", "m.video", "m.audio"}
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)


ENCRYPTED_FILE = "mxc-encrypted:"  # ref prefix: the file's address with the key that opens it


def encrypted_file_ref(file: dict) -> str:
    """A fetchable ref for an encrypted attachment (``EncryptedFile``: url, key, iv, hash).

    The key goes into the ref, and so into the cache, next to the decrypted message it
    belongs to: whoever can read one can read the other."""
    key = file.get("key") if isinstance(file.get("key"), dict) else {}
    hashes = file.get("hashes") if isinstance(file.get("hashes"), dict) else {}
    parts = {"url": file.get("url"), "k": key.get("k"), "iv": file.get("iv"), "sha256": hashes.get("sha256")}
    if not all(isinstance(v, str) and v for v in parts.values()):
        return ""
    return ENCRYPTED_FILE + json.dumps(parts, separators=(",", ":"))


def when(ts: object) -> datetime:
    if isinstance(ts, (int, float)) and not isinstance(ts, bool) and ts > 0:
        return datetime.fromtimestamp(ts / 1000.0, tz=UTC)
    return datetime.now(UTC)


def redacted_id(event: dict) -> str | None:
    """The event a redaction removes (top level before room v11, in content since)."""
    target = event.get("redacts")
    if not isinstance(target, str):
        content = event.get("content")
        target = content.get("redacts") if isinstance(content, dict) else None
    return target if isinstance(target, str) else None


def relation(content: dict) -> dict:
    rel = content.get("m.relates_to")
    return rel if isinstance(rel, dict) else {}


def _strip_reply_fallback(body: str) -> str:
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and lines[i] == "":
        return "\n".join(lines[i + 1:])
    return body


def render(content: dict) -> tuple[str, list[Attachment], dict]:
    """Text, attachments and meta facts of an ``m.room.message`` content."""
    msgtype = content.get("msgtype") if isinstance(content.get("msgtype"), str) else ""
    body = content.get("body") if isinstance(content.get("body"), str) else ""
    meta: dict = {}
    in_reply_to = relation(content).get("m.in_reply_to")
    if isinstance(in_reply_to, dict) and isinstance(in_reply_to.get("event_id"), str):
        meta["in_reply_to"] = in_reply_to["event_id"]
        body = _strip_reply_fallback(body)
    if msgtype in MEDIA_TYPES:
        info = content.get("info") if isinstance(content.get("info"), dict) else {}
        filename = content.get("filename") if isinstance(content.get("filename"), str) else ""
        name = filename or body or msgtype.removeprefix("m.")
        size = info.get("size")
        url = content.get("url") if isinstance(content.get("url"), str) else ""
        if not url and isinstance(content.get("file"), dict):  # encrypted attachment
            meta["encrypted"] = True
            url = encrypted_file_ref(content["file"])
        att = Attachment(name=name,
                         content_type=info.get("mimetype") if isinstance(info.get("mimetype"), str)
                         else "application/octet-stream",
                         size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0,
                         ref=url)
        caption = body if filename and body and body != filename else ""
        meta["msgtype"] = msgtype
        return caption, [att], meta
    text = body
    html = content.get("formatted_body")
    if content.get("format") == "org.matrix.custom.html" and isinstance(html, str) and html.strip():
        converted = html_to_text(_MX_REPLY.sub("", html))
        if converted:
            text = converted
    if msgtype == "m.emote":
        meta["msgtype"] = msgtype
    elif msgtype == "m.notice":
        meta["msgtype"] = msgtype
    elif msgtype == "m.location":
        geo = content.get("geo_uri")
        if isinstance(geo, str) and geo:
            text = f"{text}\n{geo}".strip()
        meta["msgtype"] = msgtype
    return text, [], meta


@dataclass(slots=True)
class Edit:
    """An ``m.replace`` event waiting to be applied to its original."""

    original_id: str
    sender: str
    ts: int
    content: dict


@dataclass(slots=True)
class Converted:
    """What one room's events said, ready to go into a Batch."""

    messages: dict[str, Message] = field(default_factory=dict)  # by remote id, in order
    edits: list[Edit] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    senders: dict[str, str] = field(default_factory=dict)  # remote id -> sender, to check edits
    last_ts: int = 0


class EventConverter:
    """Converts one room's timeline events; ``own_user_id`` marks outbound ones.

    ``decrypt`` opens an ``m.room.encrypted`` event (None: cannot); without it the
    room cannot be read here. ``undecryptable`` hears of each event left closed."""

    def __init__(self, room: Room, own_user_id: str, decrypt: Callable[[dict], dict | None] | None = None,
                 undecryptable: Callable[[dict], None] | None = None) -> None:
        self.room = room
        self.own = own_user_id
        self.decrypt = decrypt
        self.undecryptable = undecryptable

    def encryption_notice(self, event: dict, trust: str = "") -> Message:
        """The system line that opens an encrypted conversation (with the devices' trust)."""
        text = (E2EE_NOTICE if self.decrypt else ENCRYPTED_NOTICE) + (f"\n{trust}" if trust else "")
        return self.message(event, text, [], {"encrypted": True, "system": True})

    def message(self, event: dict, text: str, attachments: list[Attachment], meta: dict) -> Message:
        sender = event.get("sender", "")
        outbound = sender == self.own
        unsigned = event.get("unsigned") if isinstance(event.get("unsigned"), dict) else {}
        txn = unsigned.get("transaction_id") if outbound else None
        if meta.get("msgtype") == "m.emote":
            text = f"* {self.room.display_name(sender) or sender} {text}"
        return Message(
            remote_id=event["event_id"], thread_remote_id=self.room.room_id,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            author=self.room.identity(sender), sent_at=when(event.get("origin_server_ts")), text=text,
            attachments=attachments, meta=meta, action_key=txn if isinstance(txn, str) and txn else None,
        )

    def convert(self, events: list[dict], out: Converted) -> None:
        for event in events:
            if not isinstance(event, dict) or not isinstance(event.get("event_id"), str):
                continue
            ts = event.get("origin_server_ts")
            if isinstance(ts, int):
                out.last_ts = max(out.last_ts, ts)
            if "state_key" in event:
                self.room.apply(event, self.own)
            etype = event.get("type")
            content = event.get("content") if isinstance(event.get("content"), dict) else {}
            unsigned = event.get("unsigned") if isinstance(event.get("unsigned"), dict) else {}
            if etype == "m.room.redaction":
                target = redacted_id(event)
                if target:
                    out.messages.pop(target, None)
                    out.deleted.append(target)
                continue
            if "redacted_because" in unsigned:
                if etype in ("m.room.message", "m.room.encrypted"):
                    out.deleted.append(event["event_id"])
                continue
            encrypted = False
            if etype == "m.room.encrypted":
                plain = self.decrypt(event) if self.decrypt else None
                if plain is None:
                    if self.undecryptable:
                        self.undecryptable(event)
                    if relation(content).get("rel_type") == "m.replace":
                        continue  # a closed edit: the original keeps its text until the key comes
                    closed = self.message(event, UNDECRYPTABLE if self.decrypt else ENCRYPTED_NOTICE, [],
                                          {"encrypted": True, "undecryptable": True})
                    out.messages[event["event_id"]] = closed
                    out.senders[event["event_id"]] = event.get("sender", "")
                    continue
                event, encrypted = plain, True
                etype = event.get("type")
                content = event.get("content") if isinstance(event.get("content"), dict) else {}
            if etype == "m.room.encryption" and content.get("algorithm"):
                out.messages[event["event_id"]] = self.encryption_notice(event)
            elif etype == "m.room.message":
                rel = relation(content)
                if rel.get("rel_type") == "m.replace" and isinstance(rel.get("event_id"), str):
                    new = content.get("m.new_content")
                    if isinstance(new, dict):
                        out.edits.append(Edit(rel["event_id"], event.get("sender", ""),
                                              ts if isinstance(ts, int) else 0, new))
                    continue
                text, attachments, meta = render(content)
                if encrypted:
                    meta["encrypted"] = True
                out.messages[event["event_id"]] = self.message(event, text, attachments, meta)
                out.senders[event["event_id"]] = event.get("sender", "")
                # Servers bundle the latest edit with the original: apply it too.
                bundled = (unsigned.get("m.relations") or {}).get("m.replace") if isinstance(
                    unsigned.get("m.relations"), dict) else None
                if isinstance(bundled, dict) and isinstance(bundled.get("content"), dict):
                    new = bundled["content"].get("m.new_content")
                    if isinstance(new, dict) and bundled.get("sender") == event.get("sender"):
                        out.edits.append(Edit(event["event_id"], event.get("sender", ""),
                                              bundled.get("origin_server_ts", 0) or 0, new))

    def apply_edit(self, original: Message, edit: Edit) -> None:
        """Give ``original`` the edited text; an edit by anyone but the author is ignored."""
        text, attachments, meta = render(edit.content)
        if original.meta.get("msgtype") == "m.emote" or meta.get("msgtype") == "m.emote":
            text = f"* {self.room.display_name(edit.sender) or edit.sender} {text}"
        original.text = text
        if attachments:
            original.attachments = attachments
        original.meta = {**original.meta, **meta, "edited": True}
