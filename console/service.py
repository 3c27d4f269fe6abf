"""The service features wired to the cache: tone, triage, SLA, auto-assignment, knowledge.

The sync engine builds one :class:`Service` from the config, calls ``start`` once,
``process`` after each applied batch and ``tick`` every ~15 s. All changes go to
the cache with plain SQL in one transaction each; triage state is local (no
outbox rows): the agent sees it on the conversation, the remote side does not.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from console import sla, triage
from console.cache import tags as tag_origins
from console.cache.db import transaction
from console.cache.ingest import stored_form
from console.config import Config
from providers.records import Batch, Direction

if TYPE_CHECKING:  # tone's lexicon and patterns are read only when there is a message to read
    from console.tone_pool import Ahead, TonePool

WAKE_RULE = "snooze ended"
RR_PREFIX = "round-robin "
MAX_RULE_NAMES = 4  # the row's rule column keeps the latest few


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.sla = config.sla
        self.triage = config.triage
        self.knowledge = config.knowledge
        config.macros  # checked now so a mistake shows at start-up
        self._needs_language = self.triage.needs("language")
        self._needs_orders = self.triage.needs("orders_total_min", "orders_total_max", "latest_order_min",
                                               "latest_order_max")
        self._last_agent: dict[str, str] = {}  # queue -> agent who got the latest auto-assignment
        self._breaches_checked_to = -1e18  # due times up to here have been checked for breaches (kept in the cache)
        self._tone_pool: TonePool | None = None  # made by the first batch with inbound messages

    # ------------------------------------------------------------------ engine hooks

    def start(self, db: sqlite3.Connection) -> None:
        """Index the knowledge folder, reload rule-set SLA policies, recompute the due times that
        are stale: every open one when the SLA settings changed since the last run, else only
        those whose facts changed (by index: a start costs what changed, not the cache's size)."""
        if self.knowledge.folder is not None:
            from console import knowledge  # only when there is a folder to index

            knowledge.index_folder(db, self.knowledge.folder)
        self.sla.overrides.clear()
        for thread_id, effects in db.execute(  # by the partial index triage_log_sla: only rule-set policies
                "SELECT thread_id, effects FROM triage_log WHERE effects LIKE '%\"sla\"%' ORDER BY id"):
            policy = json.loads(effects).get("sla")
            if policy:
                self.sla.overrides[thread_id] = policy
        for queue in self.triage.queues:
            row = db.execute("SELECT effects FROM triage_log WHERE rule=? ORDER BY id DESC LIMIT 1",
                             (RR_PREFIX + queue.name,)).fetchone()
            if row is not None:
                self._last_agent[queue.name] = json.loads(row[0]).get("assignee", "")
        with transaction(db):
            settings = self._settings_key()
            if _state(db, "sla_settings") != settings:
                db.execute("UPDATE threads SET sla_fresh=0 WHERE sla_fresh=1 AND "
                           "(status='open' OR sla_due_at IS NOT NULL OR sort_due < ?)", (sla.FAR,))
                _set_state(db, "sla_settings", settings)
            checked = _state(db, "breaches_checked_to")
            if checked is not None:
                self._breaches_checked_to = float(checked)
            self._recompute(db, self._stale(db))

    def _settings_key(self) -> str:
        """What due times were computed with: when it differs from the last run's, every one is stale."""
        return repr((self.sla.policies, self.sla.business_hours))

    @staticmethod
    def _stale(db: sqlite3.Connection) -> list[int]:
        """Conversations whose due time no longer holds (by the partial index threads_sla_stale)."""
        return [r[0] for r in db.execute("SELECT id FROM threads WHERE sla_fresh=0")]

    def foresee(self, batch: Batch) -> Ahead | None:
        """Start reading the tone of a large batch's inbound messages on other cores, before it is stored."""
        inbound = [m for m in batch.messages if m.direction == Direction.INBOUND]
        if not inbound:
            return None
        pool = self._tones()
        if not pool.worth(len(inbound)):
            return None  # read in place: no need to clean the texts twice
        stored = {}
        for m in inbound:
            text, meta = stored_form(m)
            stored[(text, meta)] = _json(meta)
        return pool.ahead(stored)

    def process(self, db: sqlite3.Connection, result: Any, ahead: Ahead | None = None) -> None:
        """Tone, kind and triage for new and edited inbound messages; queue, assignment and due times for their
        threads. ``ahead``: the tones :meth:`foresee` started reading for this batch."""
        now = time.time()
        with transaction(db):
            msgs = []
            read = list(result.new_inbound) + list(getattr(result, "edited_inbound", ()))
            if read:
                msgs = db.execute(
                    """SELECT id, thread_id, text, meta FROM messages WHERE id IN (SELECT value FROM json_each(?))
                       ORDER BY sent_at, id""", (json.dumps(read),)).fetchall()
            if msgs:
                from console import tone  # its lexicon is read only when there is something to read
            for m in msgs:
                t = (ahead and ahead.get((m["text"], m["meta"]))) or tone.classify(m["text"], _json(m["meta"]))
                db.execute("UPDATE messages SET tone=?, kind=? WHERE id=?", (t.tone, t.kind, m["id"]))
            if ahead is not None:
                ahead.cancel()  # what the cache already had
            for thread_id in {m["thread_id"] for m in msgs}:
                db.execute(
                    """UPDATE threads SET tone=COALESCE((SELECT tone FROM messages WHERE thread_id=?1 AND
                         direction='inbound' ORDER BY sent_at DESC, id DESC LIMIT 1), tone) WHERE id=?1""",
                    (thread_id,))
            for m in msgs:
                self._triage(db, m["id"], now)
            new = sorted(result.new_threads)
            if new and self.triage.default_queue:
                db.execute("UPDATE threads SET queue=? WHERE queue='' AND id IN (SELECT value FROM json_each(?))",
                           (self.triage.default_queue, json.dumps(new)))
            for thread_id in new:
                self._auto_assign(db, thread_id, now)
            touched = set(result.touched_threads) | set(result.new_threads) | {m["thread_id"] for m in msgs}
            self._recompute(db, sorted(touched), now)

    def _tones(self) -> TonePool:
        if self._tone_pool is None:
            from console.tone_pool import TonePool

            self._tone_pool = TonePool()
        return self._tone_pool

    def close(self) -> None:
        """Stop the tone workers, if a large batch started any."""
        if self._tone_pool is not None:
            self._tone_pool.close()
            self._tone_pool = None

    def tick(self, db: sqlite3.Connection, now: float) -> None:
        """Wake snoozed conversations, record breaches, recompute due times of conversations that changed."""
        with transaction(db):
            woken = [r[0] for r in db.execute(
                "SELECT id FROM threads WHERE status='snoozed' AND snoozed_until IS NOT NULL AND snoozed_until <= ?",
                (now,))]
            for thread_id in woken:
                db.execute("UPDATE threads SET status='open', snoozed_until=NULL WHERE id=?", (thread_id,))
                db.execute("INSERT INTO triage_log(thread_id, message_id, rule, effects, at) VALUES (?,?,?,?,?)",
                           (thread_id, None, WAKE_RULE, json.dumps({"status": "open"}), now))
            changed = set(woken)
            # Due times that no longer hold: not open any more, or changed since computed (marked by a trigger).
            changed.update(r[0] for r in db.execute(
                "SELECT id FROM threads WHERE status IN ('pending','snoozed','closed') AND sort_due < ?", (sla.FAR,)))
            changed.update(self._stale(db))
            self._recompute(db, sorted(changed), now)
            # Due times that passed since the last tick (recomputed ones already past were recorded above).
            for r in db.execute(
                    """SELECT id, sla_due_at, first_response_at FROM threads
                       WHERE status='open' AND sort_due > ? AND sort_due <= ?""", (self._breaches_checked_to, now)):
                self._record_breach(db, r, now)
            self._breaches_checked_to = max(self._breaches_checked_to, now)
            _set_state(db, "breaches_checked_to", repr(self._breaches_checked_to))

    @staticmethod
    def _record_breach(db: sqlite3.Connection, row: Any, now: float) -> None:
        kind = "first_response" if row["first_response_at"] is None else "next_response"
        db.execute("INSERT OR IGNORE INTO breaches(thread_id, kind, due_at, breached_at) VALUES (?,?,?,?)",
                   (row["id"], kind, row["sla_due_at"], now))

    # ------------------------------------------------------------------ triage

    def _triage(self, db: sqlite3.Connection, message_id: int, now: float) -> None:
        if not self.triage.rules:
            return
        found = triage.facts_for(db, message_id, with_language=self._needs_language, with_orders=self._needs_orders)
        if found is None:
            return
        thread_id, facts = found
        outcome = triage.evaluate(self.triage.rules, facts)
        if not outcome.rules:
            return
        row = db.execute("SELECT tags, tag_origins, rule FROM threads WHERE id=?", (thread_id,)).fetchone()
        sets, params = [], []
        e = outcome.effects
        for key in ("queue", "priority", "assignee"):
            if key in e:
                sets.append(f"{key}=?")
                params.append(e[key])
        if "tags" in e:
            merged = tag_origins.add(*tag_origins.load(row["tags"], row["tag_origins"]), e["tags"], tag_origins.TRIAGE)
            sets.append("tags=?, tag_origins=?")
            params.extend(tag_origins.dump(*merged))
        names = [n for n in (row["rule"] or "").split(", ") if n and n not in outcome.rules] + outcome.rules
        sets.append("rule=?")
        params.append(", ".join(names[-MAX_RULE_NAMES:]))
        db.execute(f"UPDATE threads SET {', '.join(sets)} WHERE id=?", (*params, thread_id))
        if "sla" in e:
            self.sla.overrides[thread_id] = e["sla"]
        for name, effects in outcome.log:
            db.execute("INSERT INTO triage_log(thread_id, message_id, rule, effects, at) VALUES (?,?,?,?,?)",
                       (thread_id, message_id, name, json.dumps(effects), now))

    def _auto_assign(self, db: sqlite3.Connection, thread_id: int, now: float) -> str | None:
        row = db.execute("SELECT status, queue, assignee FROM threads WHERE id=?", (thread_id,)).fetchone()
        if row is None or row["assignee"] or row["status"] != "open":
            return None
        queue = self.triage.queue(row["queue"])
        if queue is None or not queue.auto_assign:
            return None
        pool = list(queue.agents) or [a.name for a in self.triage.agents]
        last = self._last_agent.get(queue.name)
        start = pool.index(last) + 1 if last in pool else 0
        load = dict(db.execute(
            "SELECT assignee, COUNT(*) FROM threads WHERE status IN ('open','pending') AND assignee IS NOT NULL "
            "GROUP BY assignee").fetchall())
        for i in range(len(pool)):
            name = pool[(start + i) % len(pool)]
            agent = self.triage.agent(name)
            if agent and agent.capacity and load.get(name, 0) >= agent.capacity:
                continue  # at capacity: the next one gets it
            db.execute("UPDATE threads SET assignee=? WHERE id=?", (name, thread_id))
            db.execute("INSERT INTO triage_log(thread_id, message_id, rule, effects, at) VALUES (?,?,?,?,?)",
                       (thread_id, None, RR_PREFIX + queue.name, json.dumps({"assignee": name}), now))
            self._last_agent[queue.name] = name
            return name
        return None  # everyone is at capacity: it waits in the queue

    # ------------------------------------------------------------------ SLA

    def due_at(self, db: sqlite3.Connection, thread_id: int) -> float | None:
        """When the next answer is due for one conversation, or None when nothing is due."""
        t = db.execute("SELECT id, status, channel, priority FROM threads WHERE id=?", (thread_id,)).fetchone()
        if t is None or t["status"] != "open":
            return None
        policy = self.sla.policy_for(t["channel"], t["priority"], thread_id)
        if policy is None:
            return None
        last_out = db.execute("SELECT MAX(sent_at) FROM messages WHERE thread_id=? AND direction='outbound'",
                              (thread_id,)).fetchone()[0]
        start = db.execute(
            """SELECT MIN(sent_at) FROM messages WHERE thread_id=? AND direction='inbound'
                 AND kind NOT IN ('auto_reply', 'bounce') AND sent_at > ?""",
            (thread_id, -1e18 if last_out is None else last_out)).fetchone()[0]
        if start is None:
            woke = db.execute("SELECT MAX(at) FROM triage_log WHERE thread_id=? AND rule=?",
                              (thread_id, WAKE_RULE)).fetchone()[0]
            if woke is None or (last_out is not None and woke <= last_out):
                return None  # the last word is ours
            start = woke
        return policy.due(start, first=last_out is None)

    def _recompute(self, db: sqlite3.Connection, thread_ids: list[int], now: float | None = None) -> None:
        """New due times for these conversations. One already past at ``now`` and older than the
        last tick's check is recorded as a breach here (the next tick would not look that far back)."""
        for thread_id in thread_ids:
            due = self.due_at(db, thread_id)
            db.execute("UPDATE threads SET sla_due_at=?, sort_due=?, sla_fresh=1 WHERE id=?",
                       (due, sla.FAR if due is None else due, thread_id))
            if now is not None and due is not None and due <= now and due <= self._breaches_checked_to:
                row = db.execute("SELECT id, sla_due_at, first_response_at FROM threads WHERE id=?",
                                 (thread_id,)).fetchone()
                if row is not None:
                    self._record_breach(db, row, now)


def _state(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM service_state WHERE key=?", (key,)).fetchone()
    return None if row is None else row[0]


def _set_state(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT INTO service_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
               (key, value))


def _json(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
