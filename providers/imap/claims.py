"""Claims on a shared mailbox: "assign to me" that only one agent can win.

The owner of a conversation is the ``$Assigned-<name>`` keyword (keywords.py) on its
messages. A claim is a compare-and-set on one message, the conversation's **anchor** —
its lowest UID in the first folder read that holds it, the same message for every
console on the mailbox:

1. ``UID FETCH anchor (FLAGS MODSEQ)``: who owns it now, and the message's mod-sequence;
2. already ours: won (a retried claim changes nothing); someone else's, and not the owner
   the agent saw when they pressed the key: lost to them;
3. ``UID STORE anchor (UNCHANGEDSINCE modseq) FLAGS.SILENT (… $Assigned-me)`` (RFC 7162):
   the server refuses it with ``[MODIFIED anchor]`` if anything changed the message's flags
   since step 1 — another console's claim among them — and this claim reads the anchor
   again (step 1). Of two consoles that read the same mod-sequence, the server lets exactly
   one store; the other sees the winner's keyword.
4. won: the keyword goes on the conversation's other messages too (every console and mail
   client reads the owner from them), and the anchor is read back — a server that does not
   keep custom keywords makes the claim fail, never pretend to have won.

The caller holds the sync connection (CONDSTORE enabled) and passes its IMAPClient.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from imapclient import IMAPClient

from providers.base import PermanentError, TransientError
from providers.imap import keywords

log = logging.getLogger("switchboard.imap.claims")

TRIES = 6  # reads of the anchor before giving up on a message whose flags keep changing
RECENT = "\\recent"


@dataclass(slots=True)
class Outcome:
    won: bool
    owner: str  # the owner's name as decoded from their keyword
    how: str  # "stored" (our conditional STORE went in) | "already" (ours before) | "taken" | "modified"


def anchor(where: dict[str, list[int]], folders: list[str]) -> tuple[str, int] | None:
    """(folder, uid) of the conversation's anchor: its lowest UID in the first folder that has one."""
    for folder in folders:
        uids = where.get(folder)
        if uids:
            return folder, min(uids)
    return None


def read_anchor(client: IMAPClient, uid: int) -> tuple[tuple[str, ...], int]:
    """The anchor's flags and mod-sequence (the folder is selected)."""
    data = client.fetch([uid], ["FLAGS", "MODSEQ"]).get(uid)
    if data is None:
        raise TransientError("the conversation's first message just left the folder", fix="it will be retried")
    modseq = data.get(b"MODSEQ") or (0,)
    return keywords.normalise(data.get(b"FLAGS", ())), int(modseq[0])


def store_unchanged_since(client: IMAPClient, uid: int, modseq: int, flags: list[str]) -> bool:
    """``UID STORE uid (UNCHANGEDSINCE modseq) FLAGS.SILENT (flags)``: True if the server stored
    it, False if it answered ``[MODIFIED uid]`` (the flags changed after ``modseq``)."""
    imap = client._imap  # imapclient has no UNCHANGEDSINCE; imaplib sends the command as written
    imap.untagged_responses.pop("MODIFIED", None)
    typ, data = imap.uid("STORE", str(uid), f"(UNCHANGEDSINCE {int(modseq)})", "FLAGS.SILENT",
                         "(" + " ".join(flags) + ")")
    modified = imap.untagged_responses.pop("MODIFIED", None)
    imap.untagged_responses.pop("FETCH", None)
    if typ != "OK":
        text = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise PermanentError(f"the server refused to store the owner keyword ({' '.join(text.split())[:160]})",
                             fix="check that the mailbox allows custom keywords (PERMANENTFLAGS \\*)")
    return not modified


def claim(client: IMAPClient, uid: int, agent: str, expect: str | None) -> Outcome:
    """Make ``agent`` the owner of the anchor ``uid`` (its folder selected writable) unless
    someone other than ``expect`` (the owner the agent saw; None: nobody) holds it."""
    mine = keywords.assigned(agent)
    allowed = keywords.assigned(expect) if expect else None
    how = "stored"
    for _ in range(TRIES):
        flags, modseq = read_anchor(client, uid)
        held = keywords.owners(flags)
        if any(keywords.same_owner(k, mine) for k in held) and len(held) == 1:
            return Outcome(True, agent, "already" if how == "stored" else how)
        others = [k for k in held if not keywords.same_owner(k, mine)]
        if others and not (allowed and all(keywords.same_owner(k, allowed) for k in others)):
            winner = keywords.owner_name(sorted(others)[0][len(keywords.ASSIGNED):])
            return Outcome(False, winner, "taken" if how == "stored" else how)
        keep = [f for f in flags if f.lower() != RECENT and f not in held]
        if store_unchanged_since(client, uid, modseq, [*keep, mine]):
            return Outcome(True, agent, "stored")
        how = "modified"  # someone changed it between our read and our store: read again
    raise TransientError("the conversation's flags kept changing while claiming it", fix="it will be retried")


def spread(client: IMAPClient, uids: list[int], agent: str) -> None:
    """The winner's keyword on the other messages (in the selected folder), no other owner's."""
    mine = keywords.assigned(agent)
    current = client.get_flags(uids)
    stale = sorted({k for fl in current.values() for k in keywords.owners(fl) if not keywords.same_owner(k, mine)})
    if stale:
        client.remove_flags(uids, stale, silent=True)
    client.add_flags(uids, [mine], silent=True)


def confirm(client: IMAPClient, uid: int, agent: str) -> None:
    """The anchor holds the winner's keyword, or the server does not keep custom keywords."""
    flags, _ = read_anchor(client, uid)
    if not any(keywords.same_owner(k, keywords.assigned(agent)) for k in keywords.owners(flags)):
        raise PermanentError("the server did not keep the owner keyword, so this claim cannot be made there",
                             fix="use a mailbox whose PERMANENTFLAGS include \\* (custom keywords)")


def push_claim(adapter, action) -> "Receipt":
    """The adapter's ``push`` of a ``claim`` (in its worker thread, the connection held).

    ``action.args``: ``agent`` (who claims), ``expect`` (the owner the agent saw, or None).
    Returns a Receipt naming the owner; raises ClaimLost naming the other one."""
    from datetime import datetime, timezone

    from providers.base import ClaimLost, Receipt

    agent = str(action.args.get("agent") or "").strip()
    if not agent:
        raise PermanentError("a claim needs the agent's name", fix="set [agent] name in config.toml")
    expect = action.args.get("expect") or None
    where = adapter._thread_uids(action)
    spot = anchor(where, adapter._read_folders())
    if spot is None:
        raise TransientError("none of this conversation's messages is on the server yet",
                             fix="it will be retried after the next sync")
    folder, uid = spot
    adapter._select(folder, writable=True)
    outcome = claim(adapter._client, uid, agent, expect)
    log.debug("claim of %s by %r: %s (%s)", action.thread_remote_id, agent, "won" if outcome.won else "lost",
              outcome.how)
    if not outcome.won:
        raise ClaimLost(f"{outcome.owner} holds this conversation", owner=outcome.owner,
                        at=datetime.now(timezone.utc))
    for name, uids in where.items():
        adapter._select(name, writable=True)
        spread(adapter._client, uids, agent)
    adapter._select(folder, writable=True)
    confirm(adapter._client, uid, agent)
    return Receipt(owner=agent, sent_at=datetime.now(timezone.utc),
                   detail=f"claimed on the server ({outcome.how})")
