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
