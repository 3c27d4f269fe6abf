"""The console's sync process keeps the read-only promise, and says when it is gone.

Real dovecot and SMTP: a reply queued in the cache stays queued while a read-only
console syncs (nothing is sent, the row is not even tried), and goes out once a
writable console runs, seen at once by every reader of the cache. A sync process that dies says so, instead of the console waiting.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3

import keyring
import pytest

from console.actions import perform
from console.actions.gate import Context
from console.cache import connect
from console.config import AccountSettings, Config
from console.sync_process import SyncProcess
from tests.support.servers.mail import PASSWORD, dovecot, smtp_server  # noqa: F401

pytestmark = pytest.mark.server


def mail(agent: str) -> bytes:
    return (f"From: Ann Customer <ann@example.org>\r\nTo: {agent}\r\nSubject: Broken zip\r\n"
            "Message-ID: <ro-1@example.org>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n"
            "The zip on my tent broke.\r\n").encode()


@pytest.fixture
def config(dovecot, smtp_server):  # noqa: F811
    agent = dovecot.add_user("agent")
    client = dovecot.imap(agent)
    try:
        client.append("INBOX", mail(agent))
    finally:
        client.logout()
    keyring.set_password("switchboard", "support-mail", PASSWORD)
    options = {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "none", "username": agent,
               "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_security": "none",
               "from": f"Support <{agent}>", "timeout": 10.0}
    return Config(agent_name="Sam Rivera", accounts=[AccountSettings("support-mail", "imap", options)])


async def run_until(proc: SyncProcess, done) -> None:
    await proc.start()
    try:
        for _ in range(1200):
            state = proc.states["support-mail"]
            assert state.state not in ("error", "auth_failed"), state.line()
            if done(state):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the sync process did not get there: {proc.states['support-mail'].line()}, "
                             f"outbox {outbox(proc.db_path)}")
    finally:
        await proc.stop()


def outbox(path) -> tuple:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT state, attempts FROM outbox").fetchone()
    finally:
        db.close()


def test_a_read_only_console_syncs_but_sends_nothing(config, tmp_path):
    path, data = tmp_path / "cache.sqlite3", tmp_path / "data"
    asyncio.run(run_until(SyncProcess(path, config, data_dir=data), lambda s: s.state == "online"))
    db = connect(path)
    tid = db.execute("SELECT id FROM threads").fetchone()[0]
    assert perform(Context(db=db, agent="Sam Rivera"), "reply", tid, text="A new zip is on its way.").ok
    db.close()
    assert outbox(path) == ("queued", 0)

    asyncio.run(run_until(SyncProcess(path, config, read_only=True, data_dir=data),
                          lambda s: s.state == "online" and s.last_sync_at is not None))
    assert outbox(path) == ("queued", 0)  # not sent, not even tried

    # The row was sendable all along: a writable console sends it, and the cache shows it at once
    # to every reader (the sync process's two connections keep their locks: the WAL stays shared).
    asyncio.run(run_until(SyncProcess(path, config, data_dir=data), lambda s: outbox(path)[0] == "sent"))
    assert outbox(path)[0] == "sent"


def test_a_sync_process_that_dies_says_so(config, tmp_path):
    said: list[str] = []

    async def scenario() -> None:
        proc = SyncProcess(tmp_path / "cache.sqlite3", config, data_dir=tmp_path / "data", on_exit=said.append)
        await proc.start()
        try:
            for _ in range(600):
                if proc.states["support-mail"].state == "online":
                    break
                await asyncio.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            for _ in range(200):
                if said:
                    break
                await asyncio.sleep(0.05)
        finally:
            await proc.stop()

    asyncio.run(scenario())
    assert len(said) == 1 and said[0].startswith("sync stopped") and "switchboard.log" in said[0]
