"""Turning raw RFC 5322 bytes into the facts the adapter needs.

Mail is hostile and often broken: wrong charsets, missing boundaries, no
Message-ID, HTML only, nested forwards. :func:`parse_mail` never raises; whatever
it could not read is reported in ``warnings`` and the rest is kept.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.header import Header, decode_header
from email.message import Message

from providers.text import clean_line, clean_text, html_to_text

# compat32, not policy.default: the modern policy builds a structured header object on
# every header read (~0.25 ms each, ~6 ms per message here), which alone would cap a
# first sync near 150 messages/s. Headers are decoded explicitly (RFC 2047, RFC 2231).
PARSE_POLICY = policy.compat32
MAX_TEXT_CHARS = 200_000  # a message body longer than this is cut, with a warning
_MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass(slots=True)
class Address:
    address: str
    name: str = ""


@dataclass(slots=True)
class AttachmentInfo:
    name: str
    content_type: str
    size: int
    part: str  # part path in this module's numbering (see :func:`find_part`)


@dataclass(slots=True)
class ParsedMail:
    message_id: str  # without angle brackets; synthetic when the mail has none
    synthetic_id: bool
    subject: str
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str
    attachments: list[AttachmentInfo] = field(default_factory=list)
    auto_reply: bool = False
    bounce: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # a few raw-ish headers the adapter reads
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- headers


def decode_words(value) -> str:
    """A header value with RFC 2047 encoded-words decoded; raw 8-bit bytes read as UTF-8
    or, failing that, Windows-1252."""
    if value is None:
        return ""
    if isinstance(value, Header):
        value = _eight_bit_text(value)
    out = []
    try:
        chunks = decode_header(value if isinstance(value, str) else str(value))
    except Exception:
        return str(value)
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        text = None
        for candidate in ([charset] if charset and charset != "unknown-8bit" else []) + ["utf-8"]:
            try:
                text = chunk.decode(candidate)
                break
            except (LookupError, UnicodeDecodeError):
                continue
        out.append(text if text is not None else chunk.decode("windows-1252", errors="replace"))
    # decode_header drops the space between an encoded word and plain text only when RFC 2047 says so.
    return "".join(out)


def _eight_bit_text(value: Header) -> str:
    """A header holding raw 8-bit bytes (the parser wraps those in a Header), as text:
    UTF-8 when the bytes are UTF-8 (nearly always today), else Windows-1252. Encoded
    words in it are left for :func:`decode_words`."""
    raw = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8", "surrogateescape")
                   for chunk, _ in decode_header(value))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("windows-1252", errors="replace")


class _Heads:
    """A message's headers by lower-cased name, each the first of its name, read as ``Message.get``
    reads it (the policy's ``header_fetch_parse``). ``Message.get`` scans and lower-cases every
    header for each name asked; the parse asks for fifteen."""

    __slots__ = ("msg", "first")

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.first: dict[str, tuple[str, object]] = {}
        for k, v in msg._headers:
            self.first.setdefault(k.lower(), (k, v))

    def get(self, name: str):
        found = self.first.get(name.lower())
        return None if found is None else self.msg.policy.header_fetch_parse(*found)


def _raw_header(msg: Message | _Heads, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    if isinstance(value, Header):  # raw 8-bit bytes in the header
        return _eight_bit_text(value)
    return str(value)


def _header(msg: Message | _Heads, name: str, warnings: list[str]) -> str:
    try:
        return decode_words(_raw_header(msg, name))
    except Exception as exc:
        warnings.append(f"unreadable {name} header ({type(exc).__name__})")
        return ""


def message_ids(value: str) -> list[str]:
    """Every ``<id>`` in a Message-ID / In-Reply-To / References header, in order."""
    out: list[str] = []
    for mid in _MSGID.findall(value or ""):
        if mid not in out:
            out.append(mid)
    return out


_SIMPLE_ADDR = re.compile(r"^\s*(?:([^<>\",()@;:]*?)\s*<([^<>\s\",()]+@[^<>\s\",()]+)>|([^<>\s\",()]+@[^<>\s\",()]+))\s*$")


def _addresses(value: str) -> list[Address]:
    """Addresses from a raw header; display names decoded after splitting (a decoded
    name may contain commas)."""
    simple = _SIMPLE_ADDR.match(value) if value else None
    if simple:  # one plain address, the common case: skip the general parser
        name, addr = (simple.group(1) or "", simple.group(2)) if simple.group(2) else ("", simple.group(3))
        return [Address(clean_line(addr).lower(), clean_line(decode_words(name)))]
    out = []
    try:
        pairs = email.utils.getaddresses([value]) if value else []
    except Exception:
        pairs = []
    for name, addr in pairs:
        addr = clean_line(addr).lower()
        if addr and "@" in addr:
            out.append(Address(addr, clean_line(decode_words(name))))
    return out


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def synthetic_message_id(raw_head: bytes) -> str:
    """A stable id for mail without a Message-ID: a hash of its identifying headers."""
    return f"sb-synthetic-{hashlib.sha1(raw_head).hexdigest()[:24]}@switchboard.invalid"


# --------------------------------------------------------------------------- body


def _decoded_text(part: Message, warnings: list[str]) -> str:
    """A text part's content as str, whatever its declared charset and encoding."""
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:
        warnings.append(f"undecodable part ({type(exc).__name__})")
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        warnings.append(f"text in unknown or wrong charset {charset!r}; decoded leniently")
    # Mostly valid UTF-8 with a stray byte reads better as UTF-8; anything else as Windows-1252.
    lenient = payload.decode("utf-8", errors="replace")
    if lenient.count("\ufffd") <= max(1, len(lenient) // 100):
        return lenient
    return payload.decode("windows-1252", errors="replace")


def _filename(part: Message) -> str:
    ctype = part.get("content-type")
    if isinstance(ctype, str) and "name" not in ctype.lower() and part.get("content-disposition") is None:
        return ""  # no Content-Disposition and no name= in Content-Type: get_filename() finds none
    try:
        name = part.get_filename()  # RFC 2231 (filename*=) is handled here
    except Exception:
        name = None
    return clean_line(decode_words(name)) if name else ""


def _is_body_text(part: Message, ctype: str) -> bool:
    """A leaf shown as the message's text (not offered as an attachment)."""
    if ctype not in ("text/plain", "text/html", "message/delivery-status"):
        return False
    try:
        disp = (part.get_content_disposition() or "").lower()
    except Exception:
        disp = ""
    return disp != "attachment" and not _filename(part)


def _walk(part: Message, path: str, out: dict, warnings: list[str], depth: int = 0) -> None:
    """Collect text/plain, text/html and attachments, numbering parts like IMAP."""
    if depth > 20:
        warnings.append("MIME nesting deeper than 20 levels; the rest was skipped")
        return
    ctype = part.get_content_type()
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if ctype == "message/rfc822":  # the parser keeps the inner message as its one child
            for child in children:
                _walk(child, path, out, warnings, depth + 1)
            return
        for i, child in enumerate(children, 1):
            _walk(child, f"{path}.{i}" if path else str(i), out, warnings, depth + 1)
        return
    path = path or "1"
    if _is_body_text(part, ctype):
        out["html" if ctype == "text/html" else "plain"].append(_decoded_text(part, warnings))
        return
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:
        payload = b""
    name = _filename(part) or f"part-{path}.{ctype.split('/')[-1] or 'bin'}"
    out["attachments"].append(AttachmentInfo(name=name, content_type=ctype, size=len(payload), part=path))


def find_part(msg: Message, path: str) -> Message | None:
    """The part at ``path`` (as numbered by :func:`parse_mail`), or None."""
    part: Message = msg
    for step in [s for s in path.split(".") if s]:
        while part.get_content_type() == "message/rfc822" and part.is_multipart():
            part = part.get_payload()[0]
        if not part.is_multipart():
            return part if step == "1" else None
        children = part.get_payload()
        index = int(step) - 1
        if not isinstance(children, list) or not 0 <= index < len(children):
            return None
        part = children[index]
    return part


def attachment_bytes(raw: bytes, path: str) -> bytes | None:
    msg = _repair_boundary(email.message_from_bytes(raw, policy=PARSE_POLICY), [])
    part = find_part(msg, path)
    if part is None:
        return None
    return part.get_payload(decode=True) or b""


# --------------------------------------------------------------------------- classification


def _auto_reply(msg: Message | _Heads, sender: Address | None, warnings: list[str]) -> bool:
    auto = _header(msg, "Auto-Submitted", warnings).strip().lower()
    if auto and auto != "no":
        return True
    if _header(msg, "X-Autoreply", warnings) or _header(msg, "X-Autorespond", warnings):
        return True
    if _header(msg, "Precedence", warnings).strip().lower() in ("auto_reply", "bulk", "junk", "list"):
        return True
    return False


def _bounce(msg: Message, sender: Address | None) -> bool:
    ctype = msg.get_content_type()
    if ctype == "multipart/report":
        report = (msg.get_param("report-type") or "").lower()
        return report in ("delivery-status", "")
    if sender and sender.address.split("@", 1)[0] in ("mailer-daemon", "postmaster"):
        return True
    return False


_BOUNDARY_LINE = re.compile(r"^--([^\s-][^\s]{0,69}?)\s*$", re.MULTILINE)


def _repair_boundary(msg: Message, warnings: list[str]) -> Message:
    """A multipart whose declared boundary never occurs: retry with the one the body uses."""
    if not msg.get_content_maintype() == "multipart" or msg.is_multipart():
        return msg
    body = msg.get_payload()
    found = _BOUNDARY_LINE.search(body) if isinstance(body, str) else None
    if not found:
        return msg
    try:
        msg.set_param("boundary", found.group(1))
        repaired = email.message_from_bytes(msg.as_bytes(policy=PARSE_POLICY.clone(max_line_length=0)),
                                            policy=PARSE_POLICY)
    except Exception:
        return msg
    if repaired.is_multipart():
        warnings.append("MIME boundary did not match the declared one; read with the boundary the body uses")
        return repaired
    return msg


# --------------------------------------------------------------------------- entry point


def parse_mail(raw: bytes, *, fallback_date: datetime | None = None) -> ParsedMail:
    """Everything the adapter needs from one message. Never raises."""
    try:
        return _parse(raw, fallback_date)
    except Exception as exc:  # a parser bug must not stop the sync: keep what the bytes say
        whole = raw.decode("utf-8", errors="replace")
        parts = re.split(r"\r?\n\r?\n", whole, maxsplit=1)
        text = parts[1] if len(parts) == 2 else whole
        return ParsedMail(message_id=synthetic_message_id(raw[:8192]), synthetic_id=True, subject="", sender=None,
                          to=[], cc=[], reply_to=[], date=fallback_date, in_reply_to=[], references=[],
                          text=clean_text(text).strip()[:MAX_TEXT_CHARS],
                          warnings=[f"could not be parsed ({type(exc).__name__}); shown as raw text"])


def _parse(raw: bytes, fallback_date: datetime | None) -> ParsedMail:
    warnings: list[str] = []
    try:
        msg = email.message_from_bytes(raw, policy=PARSE_POLICY)
    except Exception as exc:  # pragma: no cover - the parser is lenient; be safe anyway
        warnings.append(f"unparseable message ({type(exc).__name__})")
        msg = Message()
    for defect in getattr(msg, "defects", [])[:3]:
        warnings.append(f"malformed: {type(defect).__name__}")

    heads = _Heads(msg)
    mid_list = message_ids(_header(heads, "Message-ID", warnings))
    subject = clean_line(_header(heads, "Subject", warnings))
    senders = _addresses(_raw_header(heads, "From"))
    sender = senders[0] if senders else None
    date = _date(_header(heads, "Date", warnings)) or fallback_date
    if mid_list:
        message_id, synthetic = mid_list[0], False
    else:
        head = "\n".join([_header(heads, h, warnings) for h in ("Date", "From", "To", "Subject")]).encode()
        message_id, synthetic = synthetic_message_id(head + raw[:4096]), True

    repaired = _repair_boundary(msg, warnings)
    if repaired is not msg:
        msg, heads = repaired, _Heads(repaired)
    parts = {"plain": [], "html": [], "attachments": []}
    try:
        _walk(msg, "", parts, warnings)
    except Exception as exc:
        warnings.append(f"body could not be read fully ({type(exc).__name__})")
    if parts["plain"]:
        text = "\n\n".join(clean_text(p).strip() for p in parts["plain"] if p.strip())
    elif parts["html"]:
        text = "\n\n".join(html_to_text(h) for h in parts["html"])
    else:
        text = ""
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        warnings.append(f"text cut at {MAX_TEXT_CHARS} characters")
    if not mid_list:
        warnings.append("no Message-ID; a synthetic id was made from the headers")

    for defect in [d for p in msg.walk() for d in getattr(p, "defects", [])][:3]:
        note = f"malformed: {type(defect).__name__}"
        if note not in warnings:
            warnings.append(note)

    return ParsedMail(
        message_id=message_id,
        synthetic_id=synthetic,
        subject=subject,
        sender=sender,
        to=_addresses(_raw_header(heads, "To")),
        cc=_addresses(_raw_header(heads, "Cc")),
        reply_to=_addresses(_raw_header(heads, "Reply-To")),
        date=date,
        in_reply_to=message_ids(_header(heads, "In-Reply-To", warnings)),
        references=message_ids(_header(heads, "References", warnings)),
        text=text.strip(),
        attachments=parts["attachments"],
        auto_reply=_auto_reply(heads, sender, warnings),
        bounce=_bounce(msg, sender),
        headers={"x-switchboard-thread": clean_line(_header(heads, "X-Switchboard-Thread", warnings))},
        warnings=warnings,
    )
