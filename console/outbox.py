"""The outbox dispatcher: pushes queued actions to providers, in order, exactly once.

States of an outbox row::

    queued ──claim──▶ sending ──receipt──▶ sent ──▶ (follow-up row, e.g. save the Sent copy)
       ▲                │  transient error: back to queued with next_try_at
       │                └─ permanent error: failed (reason kept, text kept)
       └── retry_send ◀── failed / held (stale-reply guard)
    local: nothing remote to do (the adapter lacks the capability, e.g. notes)
    lost: a claim another agent won first (console/claims.py): its reason names them

Just before a reply is pushed the adapter is asked whether anything newer happened in the
conversation since the draft began (:meth:`Provider.newer_activity`: a customer message,
another agent's reply); if so the reply is held, with what happened, like a stale reply.

Any number of processes may push one cache's outbox (the console, `sync`, `sync
--once`, `do`). A process pushes a row only after claiming it with one conditional
UPDATE (``state='queued'``, or ``sending`` with an expired lease) whose rowcount says
who won; the owner renews its lease while the push runs, so a row claimed by a live
process is left alone. A row whose owner died (its lease ran out, or its pid is gone
on this host) may have reached the remote already: before pushing it again the
dispatcher asks the adapter (:meth:`Provider.find_delivery`), and a delivery found
there is recorded instead of sent twice.

Undo send: a reply on an email account waits the account's ``undo_send`` seconds
(``[[accounts]]`` setting, 0 — off — unless set; chat and social always send at once)
before it may be claimed; ``cancel_send`` within that window withdraws it, never sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from console import claims
from console.backoff import backoff_delay
from console.cache.db import transaction
from providers.base import (
    AuthError,
    ClaimLost,
    Identity,
    PermanentError,
    Provider,
    ProviderError,
    RemoteChanged,
    PushAction,
    PushKind,
    Receipt,
    TransientError,
)
from providers.text import clean_line

log = logging.getLogger("switchboard.outbox")

# The capability an outbox kind needs on the adapter; kinds missing here stay local.
NEEDS = {k.value: k.capability for k in PushKind}
CARRIES_TEXT = tuple(k.value for k in PushKind if k.carries_text)
FOLLOW_UPS = ("save_copy",)  # steps after a delivery: they never hold up later rows of a conversation
MAX_UNEXPECTED = 5  # an adapter bug gets this many tries before the row is failed
LEASE = 30.0  # seconds a claim lasts unless its owner renews it
UNDO_SEND_CHANNELS = ("email",)  # a chat message is expected at once: no window there
STALE_REASON = "held: the customer wrote again after this reply was started — read it, then send again (R) or cancel"
NEWER_REASON = "held: {what} after this reply was started — read it, then send again (R) or cancel"


def process_identity() -> str:
    """``host:pid:token`` — the token tells apart two dispatchers of one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when ``owner`` ran on this host and its process is gone."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process (or unknown): only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def send_delay(config, account: str, channel: str) -> float:
    """Seconds a new reply on ``account`` waits before it may be sent (the undo-send window)."""
    if channel not in UNDO_SEND_CHANNELS:
        return 0.0
    return next((acc.undo_send for acc in getattr(config, "accounts", None) or [] if acc.name == account), 0.0)


@dataclass(slots=True)
class SendProblem:
    """One outbox row this pass could not push."""

    outbox_id: int
    thread_id: int
    kind: str
    reason: str
    retrying: bool  # True: queued again for later; False: failed, the agent must act

    def line(self) -> str:
        what = "will retry" if self.retrying else "failed"
        return f"outbox {self.outbox_id} ({self.kind}, conversation {self.thread_id}) {what}: {clean_line(self.reason)}"


@dataclass(slots=True)
class FlushResult:
    """What one :meth:`Dispatcher.flush` did: rows finished, rows it could not push,
    rows left alone because another live process is pushing them."""

    finished: int = 0
    problems: list[SendProblem] = field(default_factory=list)
    busy: int = 0


class Dispatcher:
    def __init__(self, db: sqlite3.Connection, notify: Callable[[set[int]], None] | None = None,
                 clock: Callable[[], float] = time.time, lease: float = LEASE) -> None:
        self.db = db
        self.notify = notify or (lambda ids: None)
        self.clock = clock
        self.lease = lease
        self.owner = process_identity()

    def next_due(self, account: str | None = None) -> float | None:
        """When the next row may be pushed: the first pending row of each conversation counts
        (a row another process holds: when its lease ends)."""
        sql = "SELECT MIN(CASE o.state WHEN 'sending' THEN o.lease_until ELSE o.next_try_at END) FROM outbox o"
        params: tuple = ()
        if account is not None:
            sql += " JOIN accounts a ON a.id=o.account_id AND a.name=?"
            params = (account,)
        sql += f""" WHERE o.state IN ('queued','sending') AND NOT EXISTS (
                      SELECT 1 FROM outbox p WHERE p.thread_id=o.thread_id AND p.id<o.id
                      AND p.state IN ('queued','sending') AND p.kind NOT IN ({",".join("?" * len(FOLLOW_UPS))}))"""
        return self.db.execute(sql, (*params, *FOLLOW_UPS)).fetchone()[0]

    async def flush(self, account: str, provider: Provider) -> FlushResult:
        """Push every due row of one account, in order per conversation."""
        result = FlushResult()
        now = self.clock()
        rows = self.db.execute(
            """SELECT o.* FROM outbox o JOIN accounts a ON a.id = o.account_id
               WHERE a.name=? AND o.state IN ('queued','sending') ORDER BY o.id""",
            (account,),
        ).fetchall()
        blocked: set[int] = set()
        for row in rows:
            if row["thread_id"] in blocked:
                continue
            if row["state"] == "queued" and row["next_try_at"] > now:
                if row["kind"] not in FOLLOW_UPS:
                    blocked.add(row["thread_id"])  # later rows of this conversation wait for it
                continue
            outcome = await self._push_one(row, provider, result)
            if outcome in ("retry", "held", "busy") and row["kind"] not in FOLLOW_UPS:
                blocked.add(row["thread_id"])
        return result

    # ------------------------------------------------------------------ one row

    async def _push_one(self, row: sqlite3.Row, provider: Provider, result: FlushResult) -> str:
        kind, thread_id, outbox_id = row["kind"], row["thread_id"], row["id"]
        need = NEEDS.get(kind)
        if need is None or need not in provider.capabilities:
            self._finish(outbox_id, "local")
            if kind == "claim":  # nothing to claim there: today's local assignment
                claims.record_won(self.db, row, None)
            result.finished += 1
            return "local"
        claimed = self._claim(row)
        if claimed is None:
            result.busy += 1
            return "busy"
        args = json.loads(claimed["args"] or "{}")
        thread = self.db.execute("SELECT * FROM threads WHERE id=?", (thread_id,)).fetchone()
        if kind in ("reply", "move_private") and not args.get("force") and self._customer_wrote_since(claimed, thread):
            return self._hold(outbox_id, thread_id, STALE_REASON)
        self.notify({thread_id})
        action = self._action(claimed, thread, args)
        try:
            receipt = None
            if row["state"] == "sending" or claimed["attempts"] > 1:  # pushed before: the remote may have it
                receipt = await self._leased(outbox_id, provider.find_delivery(action))
            if receipt is None and kind in ("reply", "move_private") and not args.get("force"):
                # Just before it goes out: did the system of record see anything newer (no double replies)?
                news = await self._leased(outbox_id, self._newer(provider, claimed, action))
                if news is not None:
                    return self._hold(outbox_id, thread_id, NEWER_REASON.format(what=news.line()))
            if receipt is None:
                receipt = await self._leased(outbox_id, provider.push(action))
        except AuthError as exc:
            self._requeue(claimed, str(exc), delay=60.0, result=result)
            raise
        except TransientError as exc:
            self._requeue(claimed, str(exc), delay=exc.retry_after or backoff_delay(claimed["attempts"] - 1),
                          result=result)
            return "retry"
        except ClaimLost as exc:  # another agent holds the conversation: say who; our replies there wait
            claims.record_lost(self.db, claimed, exc.owner, exc.at)
            self.notify({thread_id})
            return "held"
        except RemoteChanged as exc:  # the system of record moved since the agent looked: the agent decides
            return self._hold(outbox_id, thread_id, str(exc))
        except (PermanentError, ProviderError) as exc:
            self._fail(claimed, str(exc), result)
            return "failed"
        except (OSError, TimeoutError) as exc:
            self._requeue(claimed, f"network: {exc}", delay=backoff_delay(claimed["attempts"] - 1), result=result)
            return "retry"
        except Exception as exc:  # adapter bug: retry a few times, then give the agent the reason
            log.exception("push of outbox %s failed unexpectedly", outbox_id)
            if claimed["attempts"] >= MAX_UNEXPECTED:
                self._fail(claimed, f"{type(exc).__name__}: {exc}", result)
                return "failed"
            self._requeue(claimed, f"{type(exc).__name__}: {exc}", delay=backoff_delay(claimed["attempts"] - 1),
                          result=result)
            return "retry"
        follow_up = self._sent(claimed, receipt)
        if kind == "claim":
            claims.record_won(self.db, claimed, receipt.owner)
        result.finished += 1
        if follow_up is not None:  # e.g. the Sent copy of a mail: its own step, right away
            await self._push_one(follow_up, provider, result)
        return "sent"

    def _hold(self, outbox_id: int, thread_id: int, reason: str) -> str:
        """Keep the row (and its text) for the agent, who sends again (R) or cancels."""
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state='held', last_error=?, claimed_by=NULL, lease_until=0 "
                            "WHERE id=?", (clean_line(reason), outbox_id))
            self.db.execute("UPDATE messages SET state='held' WHERE outbox_id=?", (outbox_id,))
        self.notify({thread_id})
        return "held"

    def _claim(self, row: sqlite3.Row) -> sqlite3.Row | None:
        """Take the row for this process, or None if another live process holds it."""
        now = self.clock()
        if row["state"] == "sending" and row["lease_until"] >= now and owner_is_dead(row["claimed_by"]):
            # Its owner was killed on this machine: no need to wait for the lease to run out.
            with transaction(self.db):
                self.db.execute("UPDATE outbox SET lease_until=0 WHERE id=? AND state='sending' AND claimed_by=?",
                                (row["id"], row["claimed_by"]))
        with transaction(self.db):
            won = self.db.execute(
                """UPDATE outbox SET state='sending', claimed_by=?, lease_until=?, attempts=attempts+1
                   WHERE id=? AND ((state='queued' AND next_try_at <= ?) OR (state='sending' AND lease_until < ?))""",
                (self.owner, now + self.lease, row["id"], now, now)).rowcount
            if won != 1:
                return None
            if row["kind"] in CARRIES_TEXT:
                self.db.execute("UPDATE messages SET state='sending' WHERE outbox_id=? AND state!='sent'", (row["id"],))
            return self.db.execute("SELECT * FROM outbox WHERE id=?", (row["id"],)).fetchone()

    async def _leased(self, outbox_id: int, call):
        """Await ``call`` while renewing this process's lease on the row."""
        task = asyncio.ensure_future(call)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.lease / 3)
                if done:
                    return task.result()
                with transaction(self.db):
                    kept = self.db.execute("UPDATE outbox SET lease_until=? WHERE id=? AND claimed_by=?",
                                           (self.clock() + self.lease, outbox_id, self.owner)).rowcount
                if not kept:
                    log.warning("outbox %s: lease lost while its push was still running", outbox_id)
        finally:
            if not task.done():
                task.cancel()

    async def _newer(self, provider: Provider, row: sqlite3.Row, action: PushAction):
        """What the system of record saw in the conversation since the draft began (None: nothing)."""
        started = row["draft_started_at"] or row["created_at"]
        since = datetime.fromtimestamp(started, timezone.utc)
        known = frozenset(r[0] for r in self.db.execute(
            "SELECT remote_id FROM messages WHERE thread_id=? AND remote_id IS NOT NULL", (row["thread_id"],)))
        return await provider.newer_activity(action, since, claims.own_keys(self.db, row["thread_id"]), known)

    def _customer_wrote_since(self, row: sqlite3.Row, thread: sqlite3.Row) -> bool:
        started = row["draft_started_at"]
        last_in = thread["last_inbound_at"] if thread is not None else None
        return bool(started and last_in and last_in > started)

    def _action(self, row: sqlite3.Row, thread: sqlite3.Row, args: dict) -> PushAction:
        last_in = self.db.execute(
            """SELECT remote_id FROM messages WHERE thread_id=? AND direction='inbound' AND remote_id IS NOT NULL
               ORDER BY sent_at DESC, id DESC LIMIT 1""", (thread["id"],)).fetchone()
        ident = self.db.execute("SELECT * FROM identities WHERE id=?", (thread["identity_id"],)).fetchone()
        customer = None
        if ident is not None:
            customer = Identity(channel=ident["channel"], address=ident["address"], display_name=ident["display_name"],
                                followers=ident["followers"], network=ident["network"])
        return PushAction(
            key=row["key"], kind=row["kind"], thread_remote_id=thread["remote_id"], text=row["text"], args=args,
            subject=thread["subject"], reply_to_remote_id=last_in[0] if last_in else None, customer=customer,
            created_at=datetime.fromtimestamp(row["created_at"], timezone.utc),
        )

    # ------------------------------------------------------------------ outcomes

    def _sent(self, row: sqlite3.Row, receipt: Receipt) -> sqlite3.Row | None:
        """Record the delivery (and queue its follow-up step, in the same transaction)."""
        sent_at = receipt.sent_at.timestamp() if receipt.sent_at else self.clock()
        remote_id = receipt.remote_id
        follow_up = None
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state='sent', sent_at=?, remote_id=COALESCE(remote_id, ?), last_error='', "
                            "claimed_by=NULL, lease_until=0 WHERE id=?", (sent_at, remote_id, row["id"]))
            if row["kind"] in CARRIES_TEXT:
                msg = self.db.execute("SELECT id, remote_id FROM messages WHERE outbox_id=?", (row["id"],)).fetchone()
                if msg is not None and msg["remote_id"] is None and remote_id:
                    twin = self.db.execute("SELECT id FROM messages WHERE account_id=? AND remote_id=?",
                                           (row["account_id"], remote_id)).fetchone()
                    if twin is not None:  # the pull already brought our message back: keep one copy
                        self.db.execute("DELETE FROM messages WHERE id=?", (msg["id"],))
                        self.db.execute("UPDATE messages SET outbox_id=?, state='sent' WHERE id=?",
                                        (row["id"], twin["id"]))
                        msg = None
                    else:
                        self.db.execute("UPDATE messages SET remote_id=? WHERE id=?", (remote_id, msg["id"]))
                if msg is not None:
                    new_state = "local" if row["kind"] == "note" else "sent"
                    self.db.execute("UPDATE messages SET state=? WHERE id=?", (new_state, msg["id"]))
            step = receipt.follow_up
            if step is not None and not receipt.duplicate:
                key = f"{row['key']}/{step.kind}"
                self.db.execute(
                    """INSERT OR IGNORE INTO outbox(key, thread_id, account_id, kind, args, created_at, author)
                       VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    (key, row["thread_id"], row["account_id"], step.kind, json.dumps(step.args), self.clock(),
                     row["author"]))
                follow_up = self.db.execute("SELECT * FROM outbox WHERE key=? AND state='queued'", (key,)).fetchone()
        self.notify({row["thread_id"]})
        return follow_up

    def _requeue(self, row: sqlite3.Row, reason: str, *, delay: float, result: FlushResult) -> None:
        reason = " ".join(reason.split())[:300]
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state='queued', next_try_at=?, last_error=?, claimed_by=NULL, "
                            "lease_until=0 WHERE id=? AND claimed_by=?",
                            (self.clock() + delay, reason, row["id"], self.owner))
            self.db.execute("UPDATE messages SET state='queued' WHERE outbox_id=? AND state='sending'", (row["id"],))
        result.problems.append(SendProblem(row["id"], row["thread_id"], row["kind"], reason, retrying=True))
        self.notify({row["thread_id"]})

    def _fail(self, row: sqlite3.Row, reason: str, result: FlushResult) -> None:
        reason = " ".join(reason.split())[:500]
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state='failed', last_error=?, claimed_by=NULL, lease_until=0 "
                            "WHERE id=? AND claimed_by=?", (reason, row["id"], self.owner))
            self.db.execute("UPDATE messages SET state='failed' WHERE outbox_id=? AND direction!='note'", (row["id"],))
        result.problems.append(SendProblem(row["id"], row["thread_id"], row["kind"], reason, retrying=False))
        self.notify({row["thread_id"]})

    def _finish(self, outbox_id: int, state: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state=?, sent_at=? WHERE id=? AND state='queued'",
                            (state, self.clock(), outbox_id))
