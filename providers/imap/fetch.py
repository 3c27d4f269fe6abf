"""Fetching message bodies in bulk, read straight from imaplib's response.

IMAPClient lexes every FETCH response token by token in Python, literals included,
which alone capped a first sync at a few hundred messages a second. Here the one
literal of each response (the message) is handed over as the bytes imaplib read,
and the few items around it (UID, RFC822.SIZE, INTERNALDATE) are read with regular
expressions, wherever in the response the server put them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

_START = re.compile(rb"^\d+ \(")  # "12 (" opens a FETCH response; anything else continues the last one
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE = re.compile(rb'\bINTERNALDATE "\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"')
_MONTHS = {m: i for i, m in enumerate((b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep",
                                       b"oct", b"nov", b"dec"), 1)}


@dataclass(slots=True)
class Fetched:
    raw: bytes  # the message, or its first ``limit`` bytes
    size: int  # RFC822.SIZE: the whole message's size
    internal: datetime | None  # INTERNALDATE (arrival), UTC


def internal_date(items: bytes) -> datetime | None:
    m = _DATE.search(items)
    if not m:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == b"-" else 1)
    try:
        return datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=timezone(offset)
                        ).astimezone(timezone.utc)
    except ValueError:
        return None


def parse_fetch_data(data: list) -> dict[int, Fetched]:
    """imaplib's untagged FETCH data -> {uid: Fetched}. Responses without a UID (unsolicited
    flag updates) are skipped."""
    records: list[list] = []  # [item text, literal]
    for entry in data:
        if isinstance(entry, tuple):
            records.append([entry[0], entry[1]])
        elif isinstance(entry, bytes):
            if _START.match(entry) or not records:
                records.append([entry, None])
            else:
                records[-1][0] += b" " + entry  # the items after the literal
    out: dict[int, Fetched] = {}
    for items, literal in records:
        uid = _UID.search(items)
        if uid is None:
            continue
        key = int(uid.group(1))
        if literal is None and key in out:
            continue  # an unsolicited flag update for a message already read
        size = _SIZE.search(items)
        out[key] = Fetched(raw=literal or b"", size=int(size.group(1)) if size else len(literal or b""),
                                         internal=internal_date(items))
    return out


def fetch_bodies(client: IMAPClient, uids: list[int], limit: int) -> dict[int, Fetched]:
    """UID FETCH the messages ``uids`` of the selected folder (at most ``limit`` bytes of each,
    BODY.PEEK: nothing is marked read). Server refusals raise IMAPClientError; lost
    connections raise what imaplib raised."""
    if not uids:
        return {}
    imap = client._imap  # the imaplib connection IMAPClient drives
    spec = ",".join(str(u) for u in uids)
    tag = imap._command("UID", "FETCH", spec, f"(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.{limit}>)")
    typ, data = imap._command_complete("FETCH", tag)
    if typ != "OK":
        raise IMAPClientError(f"FETCH failed: {data[0].decode('utf-8', 'replace') if data and data[0] else typ}")
    typ, data = imap._untagged_response(typ, data, "FETCH")
    wanted = set(uids)
    return {uid: f for uid, f in parse_fetch_data([d for d in data if d is not None]).items() if uid in wanted}


_VANISHED = re.compile(rb"^(?:\(EARLIER\)\s*)?([\d:,]+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")


def fetch_flags(client: IMAPClient, uids: list[int]) -> dict[int, tuple[bytes, ...]]:
    """UID FETCH the FLAGS of ``uids`` of the selected folder: {uid: flags as IMAPClient gives them}.
    Flags are atoms (no spaces, parentheses or quotes), so each response is read with a regular
    expression, not IMAPClient's lexer. Messages expunged meanwhile are missing."""
    if not uids:
        return {}
    imap = client._imap
    imap.untagged_responses.pop("FETCH", None)  # only this command's answer counts
    tag = imap._command("UID", "FETCH", ",".join(str(u) for u in uids), "(UID FLAGS)")
    typ, data = imap._command_complete("FETCH", tag)
    if typ != "OK":
        raise IMAPClientError(f"FETCH FLAGS failed: {data[0].decode('utf-8', 'replace') if data and data[0] else typ}")
    _, fetched = imap._untagged_response(typ, data, "FETCH")
    wanted = set(uids)
    out: dict[int, tuple[bytes, ...]] = {}
    for line in fetched or []:
        if isinstance(line, tuple):  # a literal (none is asked for): its item text only
            line = line[0]
        uid, flags = _UID.search(line or b""), _FLAGS.search(line or b"")
        if uid and flags and int(uid.group(1)) in wanted:
            out[int(uid.group(1))] = tuple(flags.group(1).split())
    return out


def uid_set(text: bytes) -> list[tuple[int, int]]:
    """An IMAP sequence set ("3:5,9") as inclusive ranges."""
    out = []
    for part in text.split(b","):
        if not part:
            continue
        lo, _, hi = part.partition(b":")
        a, b = int(lo), int(hi or lo)
        out.append((min(a, b), max(a, b)))
    return out


def changes_since(client: IMAPClient, last_uid: int, modseq: int) -> tuple[list[tuple[int, int]], dict[int, bytes]]:
    """QRESYNC (RFC 7162): what happened to UIDs 1..``last_uid`` since ``modseq``, in one command:
    the UIDs expunged (VANISHED (EARLIER), as ranges) and the UIDs whose flags changed, with
    their flags. Needs QRESYNC enabled and the folder selected."""
    imap = client._imap
    imap.untagged_responses.pop("VANISHED", None)  # only this command's answer counts
    imap.untagged_responses.pop("FETCH", None)
    tag = imap._command("UID", "FETCH", f"1:{max(1, last_uid)}", "(UID FLAGS)", f"(CHANGEDSINCE {modseq} VANISHED)")
    typ, data = imap._command_complete("FETCH", tag)
    if typ != "OK":
        raise IMAPClientError(f"FETCH CHANGEDSINCE failed: {data[0].decode('utf-8', 'replace') if data and data[0] else typ}")
    _, vanished = imap._untagged_response(typ, data, "VANISHED")
    _, fetched = imap._untagged_response(typ, data, "FETCH")
    gone: list[tuple[int, int]] = []
    for line in vanished or []:
        m = _VANISHED.match(line or b"")
        if m:
            gone.extend(uid_set(m.group(1)))
    changed: dict[int, bytes] = {}
    for line in fetched or []:
        if isinstance(line, tuple):
            line = line[0]
        uid, flags = _UID.search(line or b""), _FLAGS.search(line or b"")
        if uid:
            changed[int(uid.group(1))] = flags.group(1) if flags else b""
    return gone, changed
