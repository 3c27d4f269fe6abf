"""A batch is stored and triaged in one transaction, in the sync process: a kill -9 leaves nothing half-done.

Real dovecot, a real cache file and the real sync process (console.sync_process), killed
with SIGKILL at several moments of a first sync. After each kill the cache holds whole
batches only: every message in it has been read for tone and every refund request sits
in the billing queue. Syncing again finishes the job: every message once, all triaged.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import keyring
import pytest

from console.config import AccountSettings, Config
from console.cache import connect
from console.engine import Engine, build_provider
from console.sync_process import SyncProcess
from providers.imap import ImapProvider
from tests.support.servers.mail import PASSWORD, dovecot  # noqa: F401

pytestmark = pytest.mark.server

MESSAGES = 8000
RULES = {"triage": {"rules": [{"name": "refunds", "when": {"words": ["refund"]}, "then": {"queue": "billing"}}]}}


def mailbox(n: int, agent: str):
    """``n`` customer mails in INBOX, one conversation each, every third asking for a refund."""
    now = datetime.now(timezone.utc)
    for i in range(n):
        when = now - timedelta(minutes=3 * (n - i))
        words = "I would like a refund for order" if i % 3 == 0 else "Where is my parcel, order"
        raw = (f"From: Customer {i} <c{i}@example.org>\r\nTo: {agent}\r\nSubject: Order {10000 + i}\r\n"
               f"Message-ID: <t{i}@example.org>\r\nDate: {format_datetime(when)}\r\n"
               f"Content-Type: text/plain; charset=utf-8\r\n\r\n{words} {10000 + i}, please.\r\n").encode()
        yield "INBOX", raw, when, False


def config_for(dv, messages: int) -> Config:
    """A fresh mailbox of ``messages`` mails and the console's config for it, with a triage rule."""
    agent = dv.add_user("agent")
    dv.write_maildir(agent, mailbox(messages, agent))
    name = "support-mail"
    keyring.set_password("switchboard", name, PASSWORD)
    options = {"host": "127.0.0.1", "port": dv.imap_port, "security": "none", "username": agent,
               "from": f"Support <{agent}>", "timeout": 10.0}
    return Config(agent_name="Sam Rivera", accounts=[AccountSettings(name, "imap", options)], raw=RULES)


def half_done(path) -> list[str]:
    """What a torn batch would leave: messages not read for tone, refunds outside billing."""
    db = sqlite3.connect(path)
    try:
        problems = []
        untoned = db.execute("SELECT COUNT(*) FROM messages WHERE direction='inbound' AND tone=''").fetchone()[0]
        if untoned:
            problems.append(f"{untoned} messages stored without their tone")
        misfiled = db.execute(
            """SELECT COUNT(*) FROM threads t WHERE t.queue != 'billing' AND EXISTS
               (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.text LIKE '%refund%')""").fetchone()[0]
        if misfiled:
            problems.append(f"{misfiled} refund requests stored but not triaged to billing")
        return problems
    finally:
        db.close()


def counts(path) -> tuple[int, int]:
    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
                db.execute("SELECT COUNT(DISTINCT remote_id) FROM messages").fetchone()[0])
    finally:
        db.close()


async def sync_then_kill(config: Config, path, data_dir, fraction: float) -> None:
    """Start the sync process; time the step from one stored batch to the next, then kill -9
    it ``fraction`` of such a step after the next batch (storing and triaging a page is most
    of a step)."""
    told: list[float] = []
    proc = SyncProcess(path, config, data_dir=data_dir, on_change=lambda ids: ids and told.append(time.monotonic()))
    await proc.start()
    try:
        for _ in range(2400):
            if len(told) >= 2:
                break
            await asyncio.sleep(0.01)
        assert len(told) >= 2, "the sync process stored too little"
        step = told[1] - told[0]
        await asyncio.sleep(fraction * step)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        await proc.stop()


async def sync_to_the_end(config: Config, path, data_dir) -> None:
    proc = SyncProcess(path, config, data_dir=data_dir)
    await proc.start()
    try:
        for _ in range(2400):
            state = proc.states["support-mail"]
            if state.state == "online":
                return
            assert state.state not in ("error", "auth_failed", "offline"), state.line()
            await asyncio.sleep(0.05)
        raise AssertionError("the sync did not finish")
    finally:
        await proc.stop()


def test_a_sync_process_killed_mid_sync_leaves_every_stored_message_triaged(dovecot, tmp_path):  # noqa: F811
    account = config_for(dovecot, MESSAGES)
    path, data = tmp_path / "cache.sqlite3", tmp_path / "data"
    stored = 0
    for fraction in (0.4, 0.7, 0.9):  # storing a page, triaging it, about to commit
        asyncio.run(sync_then_kill(account, path, data, fraction))
        now = counts(path)[0]
        assert stored < now < MESSAGES  # killed mid-sync, every time after more was stored
        assert half_done(path) == [], f"killed {fraction:.0%} of a step after a stored batch"
        stored = now
    asyncio.run(sync_to_the_end(account, path, data))
    assert counts(path) == (MESSAGES, MESSAGES)  # every message once: a killed batch was pulled again
    assert half_done(path) == []


def test_the_engine_tells_the_screen_once_per_stored_batch(dovecot, tmp_path):  # noqa: F811
    """One change message per batch the engine stored, naming that batch's conversations."""
    account = config_for(dovecot, 1500)
    db = connect(tmp_path / "cache.sqlite3")
    acc = account.accounts[0]
    provider = build_provider(acc, tmp_path)
    pulled: list[int] = []
    original = provider.pull

    async def pull(cursor):
        batch = await original(cursor)
        if batch.messages or batch.threads:
            pulled.append(len(batch.messages))
        return batch

    provider.pull = pull
    changed: list[set[int]] = []
    engine = Engine(db, account, providers={acc.name: provider}, on_change=changed.append, data_dir=tmp_path)
    asyncio.run(engine.run_once())
    assert isinstance(provider, ImapProvider)
    assert len(pulled) >= 2  # a first sync in several pages
    told = [ids for ids in changed if ids]
    assert len(told) == len(pulled)
    every = {r[0] for r in db.execute("SELECT id FROM threads")}
    assert set().union(*told) == every
    db.close()
