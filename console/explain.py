"""``switchboard explain``: what ingest would make of one customer message, as JSON.

Nothing is imitated: the message goes through the real ingest (``apply_batch``) and the
real service (``Service.start`` and ``Service.process``: tone, triage, queue, SLA) in a
scratch in-memory cache that holds a copy of the profile's knowledge base, and the
suggestions come from the same ``knowledge.suggest`` the agent sees. The profile's own
cache is only read.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone
from typing import Any

from console import knowledge, tone
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account, upsert_article
from console.errors import UserError
from console.quotes import strip_quoted
from providers.records import PRIORITIES, Batch, Channel, Direction, Identity, Message, Status, Thread

CONVERSATION_CHANNELS = ("email", "chat", "social", "helpdesk")
REMOTE_ID = "explain"


def explain(config: Any, text: str, *, subject: str = "", channel: str | None = None, account: str | None = None,
            knowledge_from: sqlite3.Connection | None = None, now: float | None = None) -> dict[str, Any]:
    """The JSON-ready explanation of ``text`` as a new conversation's first inbound message."""
    from console.service import Service  # the service features are optional in a build

    if not text.strip():
        raise UserError("the message is empty: nothing to explain", fix="give --text TEXT, or --text - and pipe it in")
    channel, account = _where(config, channel, account)
    db = _scratch(knowledge_from)
    try:
        service = Service(config)
        service.start(db)
        at = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
        customer = Identity(Channel(channel), "customer@explain.invalid", display_name="Customer")
        thread = Thread(remote_id=REMOTE_ID, channel=Channel(channel), subject=subject, customer=customer,
                        last_message_at=at, status=Status.OPEN, unread=True)
        message = Message(remote_id=f"{REMOTE_ID}.1", thread_remote_id=REMOTE_ID, direction=Direction.INBOUND,
                          author=customer, sent_at=at, text=text)
        acc = ensure_account(db, account, "explain", channel)
        result = apply_batch(db, acc, Batch(cursor="", threads=[thread], messages=[message]))
        service.process(db, result)
        return _report(db, service, text)
    finally:
        db.close()


def _where(config: Any, channel: str | None, account: str | None) -> tuple[str, str]:
    """The channel and account name the message arrives on (an account implies its channel)."""
    accounts = {a.name: a for a in getattr(config, "accounts", [])}
    if account is not None:
        acc = accounts.get(account)
        if acc is None:
            raise UserError(f"no account named {account!r} in the config",
                            fix="use one of: " + (", ".join(accounts) or "(none configured)"))
        acc_channel = _channel_of(acc)
        if channel is None and acc_channel in CONVERSATION_CHANNELS:
            channel = acc_channel
    channel = channel or "email"
    if channel not in CONVERSATION_CHANNELS:
        raise UserError(f"unknown channel {channel!r}", fix="use one of: " + ", ".join(CONVERSATION_CHANNELS))
    return channel, account or f"{channel}-explain"


def _channel_of(acc: Any) -> str:
    """An account's channel: its ``channel`` option (the demo), else what its adapter declares."""
    if acc.options.get("channel"):
        return str(acc.options["channel"])
    from providers.base import OptionError, load

    try:
        channel = load(acc.provider).channel
    except OptionError:
        return ""
    return getattr(channel, "value", str(channel))


_template: tuple[tuple, sqlite3.Connection] | None = None


def _scratch(knowledge_from: sqlite3.Connection | None) -> sqlite3.Connection:
    """A new in-memory cache holding a copy of the knowledge base.

    Migrating a cache from nothing and copying the articles cost more than the rest of an
    explanation, so both are done once per process into a template (again when the source's
    articles change), and each explanation starts from a byte copy of it (SQLite's backup).
    """
    global _template
    key = _articles_key(knowledge_from)
    if _template is None or _template[0] != key:
        template = connect(":memory:")
        if knowledge_from is not None:
            _copy_articles(knowledge_from, template)
        if _template is not None:
            _template[1].close()
        _template = (key, template)
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    _template[1].backup(db)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys=ON")  # per connection, as connect() sets them
    db.execute("PRAGMA temp_store=MEMORY")
    return db


def _articles_key(source: sqlite3.Connection | None) -> tuple:
    if source is None:
        return ()
    file = next((r[2] for r in source.execute("PRAGMA database_list") if r[1] == "main"), "")
    return (id(source) if not file else file,) + knowledge.articles_version(source)


def _copy_articles(source: sqlite3.Connection, db: sqlite3.Connection) -> None:
    rows = source.execute("SELECT source, remote_id, title, body, tags, url, questions FROM articles").fetchall()
    for r in rows:
        upsert_article(db, r["source"], r["remote_id"], r["title"], r["body"], json.loads(r["tags"] or "[]"), r["url"],
                       json.loads(r["questions"] or "[]"))
    db.commit()


def _report(db: sqlite3.Connection, service: Any, text: str) -> dict[str, Any]:
    t = db.execute("SELECT id, channel, queue, priority, tags, assignee FROM threads WHERE remote_id=?",
                   (REMOTE_ID,)).fetchone()
    m = db.execute("SELECT tone, kind FROM messages WHERE thread_id=?", (t["id"],)).fetchone()
    rules = [{"rule": r["rule"], "set": _readable(json.loads(r["effects"]))} for r in db.execute(
        "SELECT rule, effects FROM triage_log WHERE thread_id=? ORDER BY id", (t["id"],))]
    policy = service.sla.policy_for(t["channel"], t["priority"], t["id"])
    s = tone.signals(strip_quoted(text))
    return {
        "tone": m["tone"],
        "type": m["kind"],
        "signals": {"problem": list(s.problem), "anger": list(s.strong_anger), "mild_anger": list(s.weak_anger)},
        "rules": rules,
        "queue": t["queue"],
        "priority": PRIORITIES.get(t["priority"], str(t["priority"])),
        "tags": json.loads(t["tags"] or "[]"),
        "assignee": t["assignee"],
        "sla_policy": policy.name if policy else None,
        "suggestions": [{"title": x.title, "score": x.score, "url": x.url}
                        for x in knowledge.suggest(db, t["id"], service.knowledge.suggestions)],
    }


def _readable(effects: dict[str, Any]) -> dict[str, Any]:
    """A rule's effects as written in config.toml (priority by name)."""
    if isinstance(effects.get("priority"), int):
        effects["priority"] = PRIORITIES.get(effects["priority"], effects["priority"])
    return effects
