""""Anything newer?" — asked of the shared mailbox just before a reply goes out.

A message is news for a reply whose draft began at ``since`` when it arrived after
``since`` (its INTERNALDATE: when the server took it in — delivered to the inbox, or
appended to Sent; whole seconds, so in the draft's own second only what this console has
not pulled yet counts), belongs to the conversation, and is not one of this console's own
replies (Message-ID ``<sb-KEY@…>`` with one of its outbox keys). It belongs to the
conversation when it is one of the conversation's known messages, refers to one of them
(``References`` / ``In-Reply-To``), names the conversation in the ``X-Switchboard-Thread``
header every console's replies carry, or — as threading joins a fresh mail — has the
conversation's subject and comes from its customer.

Per folder read (the inbox folders and Sent): one ``UID SEARCH`` for what arrived since
(``YOUNGER`` with the WITHIN extension, else ``SINCE`` the day before and the arrival
times read from the index), then, for those this console has already pulled, the
sync state says which conversation they are in; only the rest (not pulled yet) have their
few headers read and matched here, so the server never scans headers. In the inbox it is the
customer writing again; in Sent, or from the mailbox's own address, another agent's reply.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from imapclient import IMAPClient

from providers.base import Newer, normalise_subject
from providers.imap.parse import parse_mail

HEADERS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT REFERENCES IN-REPLY-TO X-SWITCHBOARD-THREAD)]"
CHUNK = 500


class Conversation:
    """What tells this conversation's mail from the rest."""

    def __init__(self, thread_id: str, message_ids: set[str], uids: set[int], subject: str, customer: str) -> None:
        self.thread_id = thread_id
        self.message_ids = message_ids
        self.uids = uids
        self.subject = normalise_subject(subject) if subject and subject != "(no subject)" else ""
        self.customer = customer.lower()

    def holds(self, uid: int, mail) -> bool:
        if uid in self.uids or mail.message_id in self.message_ids:
            return True
        if self.message_ids & {*mail.references, *mail.in_reply_to}:
            return True
        if mail.headers.get("x-switchboard-thread") == self.thread_id:
            return True
        sender = mail.sender.address.lower() if mail.sender is not None else ""
        return bool(self.subject) and sender == self.customer and normalise_subject(mail.subject) == self.subject


def arrived_since(client: IMAPClient, since: datetime, within: bool) -> dict[int, datetime]:
    """UID -> INTERNALDATE (UTC) of the selected folder's mail from ``since``'s second on."""
    floor = since.astimezone(timezone.utc).replace(microsecond=0)
    if within:
        seconds = max(1, int((datetime.now(timezone.utc) - floor).total_seconds()) + 2)
        uids = client.search(["YOUNGER", seconds])
    else:
        uids = client.search(["SINCE", (floor - timedelta(days=1)).date()])  # by day, in the server's time
    out: dict[int, datetime] = {}
    ordered = sorted(uids)
    for i in range(0, len(ordered), CHUNK):
        for uid, data in client.fetch(ordered[i:i + CHUNK], ["INTERNALDATE"]).items():
            at = data.get(b"INTERNALDATE")
            if at is None:
                continue
            at = (at if at.tzinfo is not None else at.astimezone()).astimezone(timezone.utc)  # naive: local time
            if at >= floor:
                out[uid] = at
    return out


def scan(client: IMAPClient, conversation: Conversation, *, outbound_folder: bool, since: datetime, within: bool,
         not_news: set[str], our_addresses: set[str], pulled: Callable[[int], tuple | None], thread_of) -> list[Newer]:
    """What in the selected folder is news for the conversation: one Newer per message.

    ``pulled`` reads the folder's UID map in the sync state (uid -> (Message-ID, time, inbound) or None):
    a message this console has pulled is placed from it; only the rest have their headers read."""
    recent = arrived_since(client, since, within)
    if not recent:
        return []
    floor = since.astimezone(timezone.utc).replace(microsecond=0)
    out = []
    unknown = []
    for uid, at in recent.items():
        entry = pulled(uid)
        if entry is None:
            unknown.append(uid)
            continue
        mid, inbound = entry[0], bool(entry[2])
        if thread_of.get(mid) != conversation.thread_id or mid in not_news or at == floor:
            continue  # another conversation, ours, or in the draft's own second and already here
        out.append(Newer(kind="agent" if outbound_folder or not inbound else "customer", at=at))
    for i in range(0, len(unknown), CHUNK):
        for uid, data in client.fetch(sorted(unknown[i:i + CHUNK]), [HEADERS]).items():
            head = next((v for k, v in data.items() if isinstance(k, bytes) and k.startswith(b"BODY[HEADER")), b"")
            mail = parse_mail(head or b"")
            if not conversation.holds(uid, mail) or mail.message_id in not_news:
                continue
            sender = mail.sender
            ours = outbound_folder or (sender is not None and sender.address in our_addresses)
            # Every agent sends as the shared mailbox: its From names the team, not the person.
            who = "" if ours or sender is None else (sender.name or sender.address)
            out.append(Newer(kind="agent" if ours else "customer", at=recent[uid], who=who))
    return out


def newest(found: list[Newer]) -> Newer | None:
    """The newest event, counting how many of its kind there were (the customer comes first)."""
    if not found:
        return None
    pool = [n for n in found if n.kind == "customer"] or found
    last = max(pool, key=lambda n: n.at or datetime.min.replace(tzinfo=timezone.utc))
    return Newer(kind=last.kind, at=last.at, who=last.who, count=len(pool))


def look(adapter, action, since: datetime, own_keys: frozenset[str],
         known: frozenset[str] = frozenset()) -> Newer | None:
    """The adapter's ``newer_activity`` (in its worker thread, the connection held)."""
    from providers.imap import send

    state = adapter._state
    thread = action.thread_remote_id
    message_ids = state.message_ids_of(thread)
    if action.reply_to_remote_id:
        message_ids.add(action.reply_to_remote_id)
    message_ids = {m for m in message_ids if not m.startswith("sb-synthetic-")}
    info = state.threads.get(thread)
    domain = adapter.from_addr.rsplit("@", 1)[-1] if adapter.from_addr else ""
    not_news = {send.message_id_for_key(k, domain) for k in own_keys} if domain else set()
    not_news |= known  # already in the cache: the stale-reply guard's, not news
    within = "WITHIN" in adapter._caps
    found: list[Newer] = []
    for folder in adapter._read_folders():
        adapter._select(folder)
        conversation = Conversation(thread, message_ids, set(),
                                    info.subject if info else "", info.address if info else "")
        known = folder in state.folders
        found += scan(adapter._client, conversation, outbound_folder=folder == adapter.sent_folder, since=since,
                      within=within, not_news=not_news, our_addresses=adapter.our_addresses,
                      pulled=(lambda uid, f=folder: state.uid_entry(f, uid)) if known else (lambda uid: None),
                      thread_of=state.thread_of)
    return newest(found)
