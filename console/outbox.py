"""The outbox dispatcher: pushes queued actions to providers, in order, exactly once.

States of an outbox row::

    queued ──push──▶ sending ──receipt──▶ sent
       ▲               │  transient error: back to queued with next_try_at
       │               └─ permanent error: failed (reason kept, text kept)
       └── retry_send ◀── failed / held (stale-reply guard)
    local: nothing remote to do (the adapter lacks the capability, e.g. notes)

The row is marked ``sending`` and committed *before* the push. After a crash
(kill -9 anywhere) a ``sending`` row is pushed again with the same key; adapters
are idempotent by key, so the customer still gets one reply.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timezone

from console.backoff import backoff_delay
from console.cache.db import transaction
from providers.base import (
    AuthError,
    Capability,
    Identity,
    PermanentError,
    Provider,
    ProviderError,
    PushAction,
    TransientError,
)

log = logging.getLogger("switchboard.outbox")

# The capability an outbox kind needs on the adapter; kinds missing here stay local.
NEEDS = {
    "reply": Capability.REPLY,
    "move_private": Capability.MOVE_PRIVATE,
    "note": Capability.NOTE,
    "close": Capability.CLOSE,
    "reopen": Capability.REOPEN,
    "tag": Capability.TAG,
    "assign": Capability.ASSIGN,
    "snooze": Capability.SNOOZE,
    "mark_read": Capability.MARK_READ,
    "mark_unread": Capability.MARK_READ,
    "priority": Capability.PRIORITY,
}
CARRIES_TEXT = ("reply", "move_private", "note")
MAX_UNEXPECTED = 5  # an adapter bug gets this many tries before the row is failed
STALE_REASON = "held: the customer wrote again after this reply was started — read it, then send again (R) or cancel"


class Dispatcher:
    def __init__(self, db: sqlite3.Connection, notify: Callable[[set[int]], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.notify = notify or (lambda ids: None)
        self.clock = clock

    def recover(self) -> int:
        """Rows left ``sending`` by a crash go back to ``queued`` (same key: no double send)."""
        with transaction(self.db):
            return self.db.execute("UPDATE outbox SET state='queued', next_try_at=0 WHERE state='sending'").rowcount

    def next_due(self, account: str | None = None) -> float | None:
        sql = "SELECT MIN(o.next_try_at) FROM outbox o"
        params: tuple = ()
        if account is not None:
            sql += " JOIN accounts a ON a.id=o.account_id AND a.name=?"
            params = (account,)
        sql += " WHERE o.state IN ('queued','sending')"
        return self.db.execute(sql, params).fetchone()[0]

    async def flush(self, account: str, provider: Provider) -> int:
        """Push every due row of one account, in order per conversation. Returns rows finished."""
        now = self.clock()
        rows = self.db.execute(
            """SELECT o.* FROM outbox o JOIN accounts a ON a.id = o.account_id
               WHERE a.name=? AND o.state IN ('queued','sending') ORDER BY o.id""",
            (account,),
        ).fetchall()
        blocked: set[int] = set()
        finished = 0
        for row in rows:
            if row["thread_id"] in blocked:
                continue
            if row["next_try_at"] > now:
                blocked.add(row["thread_id"])  # later rows of this conversation wait for it
                continue
            outcome = await self._push_one(row, provider)
            if outcome == "auth":
                break
            if outcome in ("retry", "held"):
                blocked.add(row["thread_id"])
            else:
                finished += 1
        return finished

    async def _push_one(self, row: sqlite3.Row, provider: Provider) -> str:
        kind, thread_id, outbox_id = row["kind"], row["thread_id"], row["id"]
        need = NEEDS.get(kind)
        if need is None or need not in provider.capabilities:
            self._finish(outbox_id, thread_id, "local")
            return "local"
        args = json.loads(row["args"] or "{}")
        thread = self.db.execute("SELECT * FROM threads WHERE id=?", (thread_id,)).fetchone()
        if kind in ("reply", "move_private") and not args.get("force") and self._customer_wrote_since(row, thread):
            with transaction(self.db):
                self.db.execute("UPDATE outbox SET state='held', last_error=? WHERE id=?", (STALE_REASON, outbox_id))
                self.db.execute("UPDATE messages SET state='held' WHERE outbox_id=?", (outbox_id,))
            self.notify({thread_id})
            return "held"
        with transaction(self.db):  # committed before the push: a crash from here on retries with the same key
            self.db.execute("UPDATE outbox SET state='sending', attempts=attempts+1 WHERE id=?", (outbox_id,))
            if kind in CARRIES_TEXT:
                self.db.execute("UPDATE messages SET state='sending' WHERE outbox_id=? AND state!='sent'", (outbox_id,))
        self.notify({thread_id})
        action = self._action(row, thread, args)
        try:
            receipt = await provider.push(action)
        except AuthError as exc:
            self._requeue(row, str(exc), delay=60.0)
            raise
        except TransientError as exc:
            self._requeue(row, str(exc), delay=exc.retry_after or backoff_delay(row["attempts"]))
            return "retry"
        except (PermanentError, ProviderError) as exc:
            self._fail(row, str(exc))
            return "failed"
        except (OSError, TimeoutError) as exc:
            self._requeue(row, f"network: {exc}", delay=backoff_delay(row["attempts"]))
            return "retry"
        except Exception as exc:  # adapter bug: retry a few times, then give the agent the reason
            log.exception("push of outbox %s failed unexpectedly", outbox_id)
            if row["attempts"] + 1 >= MAX_UNEXPECTED:
                self._fail(row, f"{type(exc).__name__}: {exc}")
                return "failed"
            self._requeue(row, f"{type(exc).__name__}: {exc}", delay=backoff_delay(row["attempts"]))
            return "retry"
        self._sent(row, receipt)
        return "sent"

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

    def _sent(self, row: sqlite3.Row, receipt) -> None:
        sent_at = receipt.sent_at.timestamp() if receipt.sent_at else self.clock()
        remote_id = receipt.remote_id
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state='sent', sent_at=?, remote_id=COALESCE(remote_id, ?), last_error='' "
                            "WHERE id=?", (sent_at, remote_id, row["id"]))
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
        self.notify({row["thread_id"]})

    def _requeue(self, row: sqlite3.Row, reason: str, *, delay: float) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state='queued', next_try_at=?, last_error=? WHERE id=?",
                            (self.clock() + delay, " ".join(reason.split())[:300], row["id"]))
            self.db.execute("UPDATE messages SET state='queued' WHERE outbox_id=? AND state='sending'", (row["id"],))
        self.notify({row["thread_id"]})

    def _fail(self, row: sqlite3.Row, reason: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state='failed', last_error=? WHERE id=?",
                            (" ".join(reason.split())[:500], row["id"]))
            self.db.execute("UPDATE messages SET state='failed' WHERE outbox_id=? AND direction!='note'", (row["id"],))
        self.notify({row["thread_id"]})

    def _finish(self, outbox_id: int, thread_id: int, state: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE outbox SET state=?, sent_at=? WHERE id=?", (state, self.clock(), outbox_id))

