""""Anything newer?" — asked of the shared mailbox just before a reply goes out.

A message is news for a reply whose draft began at ``since`` when it belongs to the
conversation, arrived after ``since`` (its INTERNALDATE: when the server took it in —
delivered to the inbox, or appended to Sent; whole seconds, so in the draft's own second
only what this console has not pulled yet counts) and is not one of this console's own
replies (Message-ID ``<sb-KEY@…>`` with one of its outbox keys). It belongs to the
conversation when it is one of the conversation's messages already known, or refers to
one of them (``References`` / ``In-Reply-To``), or names the conversation in the
``X-Switchboard-Thread`` header every console's replies carry. Each folder read (the
inbox folders and Sent) costs one ``UID SEARCH`` and, for hits, one small ``FETCH``.

In the inbox it is the customer writing again; in Sent, or from the mailbox's own
address, another agent's reply.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from imapclient import IMAPClient

from providers.base import Newer
from providers.imap.parse import parse_mail

MAX_IDS = 20  # the conversation's newest Message-IDs a search refers to
HEADERS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM)]"


def criteria(thread_id: str, message_ids: list[str], uids: list[int], since: datetime,
             subject: str = "", customer: str = "") -> list:
    """``SINCE day (OR … )`` for one folder: known UIDs, a header naming the conversation, or
    (as threading joins a fresh mail) the conversation's subject from its customer."""
    alternatives: list[list] = [["HEADER", "X-Switchboard-Thread", thread_id]]
    if subject and customer and subject != "(no subject)":
        alternatives.append([["SUBJECT", subject, "FROM", customer]])
    for mid in message_ids[-MAX_IDS:]:
        alternatives += [["HEADER", "References", f"<{mid}>"], ["HEADER", "In-Reply-To", f"<{mid}>"]]
    if uids:
        alternatives.append(["UID", ",".join(str(u) for u in sorted(uids))])
    tree = alternatives[-1]
    for alt in reversed(alternatives[:-1]):
        tree = ["OR", *alt, *tree]
    day = (since.astimezone(timezone.utc) - timedelta(days=1)).date()  # SEARCH SINCE is by day, in server time
    return ["SINCE", day, *tree]


def scan(client: IMAPClient, folder: str, *, outbound_folder: bool, crit: list, since: datetime,
         own_ids: set[str], our_addresses: set[str], pulled: set[str] | frozenset[str] = frozenset()) -> list[Newer]:
    """What in ``folder`` (selected) is news: one Newer per message.

    INTERNALDATE has whole seconds: a message of the very second the draft began is news
    unless this console had already pulled it (``pulled``: Message-IDs it has)."""
    floor = since.astimezone(timezone.utc).replace(microsecond=0)
    wide = any(isinstance(c, str) and not c.isascii() for c in _flat(crit))
    hits = client.search(crit, charset="UTF-8") if wide else client.search(crit)
    if not hits:
        return []
    out = []
    for uid, data in client.fetch(sorted(hits), ["INTERNALDATE", HEADERS]).items():
        arrived = data.get(b"INTERNALDATE")
        if arrived is None:
            continue
        if arrived.tzinfo is None:
            arrived = arrived.astimezone()  # imapclient gives local time when it normalises
        arrived = arrived.astimezone(timezone.utc)
        if arrived < floor:
            continue
        head = next((v for k, v in data.items() if isinstance(k, bytes) and k.startswith(b"BODY[HEADER")), b"")
        mail = parse_mail(head or b"")
        if mail.message_id in own_ids or (arrived == floor and mail.message_id in pulled):
            continue
        sender = mail.sender
        ours = outbound_folder or (sender is not None and sender.address in our_addresses)
        # Every agent sends as the shared mailbox: its From names the team, not the person.
        who = "" if ours or sender is None else (sender.name or sender.address)
        out.append(Newer(kind="agent" if ours else "customer", at=arrived, who=who))
    return out


def _flat(items):
    for item in items:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def newest(found: list[Newer]) -> Newer | None:
    """The newest event, counting how many of its kind there were (a customer message wins a tie)."""
    if not found:
        return None
    customer = [n for n in found if n.kind == "customer"]
    pool = customer or found
    last = max(pool, key=lambda n: n.at or datetime.min.replace(tzinfo=timezone.utc))
    return Newer(kind=last.kind, at=last.at, who=last.who, count=len(pool))


def look(adapter, action, since: datetime, own_keys: frozenset[str]) -> Newer | None:
    """The adapter's ``newer_activity`` (in its worker thread, the connection held)."""
    from providers.imap import send

    state = adapter._state
    thread = action.thread_remote_id
    known = sorted(((e[1], e[0]) for fs in state.folders.values() for e in fs.uids.values()
                    if state.thread_of.get(e[0]) == thread))
    message_ids = list(dict.fromkeys(mid for _, mid in known))
    if action.reply_to_remote_id and action.reply_to_remote_id not in message_ids:
        message_ids.append(action.reply_to_remote_id)
    message_ids = [m for m in message_ids if not m.startswith("sb-synthetic-")]
    domain = adapter.from_addr.rsplit("@", 1)[-1] if adapter.from_addr else ""
    own_ids = {send.message_id_for_key(k, domain) for k in own_keys} if domain else set()
    where = state.uids_of_thread(thread)
    found: list[Newer] = []
    for folder in adapter._read_folders():
        adapter._select(folder)
        info = state.threads.get(thread)
        crit = criteria(thread, message_ids, where.get(folder, []), since, info.subject if info else "",
                        info.address if info else "")
        found += scan(adapter._client, folder, outbound_folder=folder == adapter.sent_folder, crit=crit, since=since,
                      own_ids=own_ids, our_addresses=adapter.our_addresses, pulled=state.thread_of.keys())
    return newest(found)
