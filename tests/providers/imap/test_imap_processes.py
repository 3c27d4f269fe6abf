"""Several `switchboard` processes on one data folder, against real dovecot + SMTP.

The probe behind issue 10 found 17 of 20 replies delivered twice when the console ran
while a cron-style `sync --once` pushed the same outbox. Here a continuous `sync` (the
console's engine, headless) and two `sync --once` run at once on one data folder, with
the SMTP server slowed so their sends overlap; every reply must reach the customer
exactly once (counted in the customer's mailbox) with one copy in Sent.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import keyring
import pytest

from console.actions import perform
from console.actions.gate import Context
from console.cache import connect
from tests.support.servers.common import free_port
from tests.support.servers.mail import PASSWORD, ImapHarness, dovecot, smtp_server, start_smtp, stop_smtp  # noqa: F401

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[3]


def switchboard(cfg: Path, data: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "console", "--config", str(cfg), "--data-dir", str(data), *args],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def write_config(h: ImapHarness, folder: Path, smtp_port: int) -> Path:
    o = h.account().options
    cfg = folder / "config.toml"
    cfg.write_text(f'''[[accounts]]
name = "{h.name}"
provider = "imap"
host = "127.0.0.1"
port = {o["port"]}
security = "none"
username = "{h.agent}"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_security = "none"
from = "Support Team <{h.agent}>"
timeout = 10.0
''')
    keyring.set_password("switchboard", h.name, PASSWORD)
    return cfg


def pull_conversations(h: ImapHarness, cfg: Path, data: Path, count: int) -> list[int]:
    for n in range(count):
        mail = h.customer_mail(f"Order {n} is late", subject=f"Order {n} {uuid.uuid4().hex[:6]}")
        h.dv.deliver(h.customer, [h.agent], mail.as_bytes())
    first = switchboard(cfg, data, "sync", "--once")
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    db = sqlite3.connect(data / "default.sqlite3")
    return [r[0] for r in db.execute("SELECT id FROM threads ORDER BY id")]



async def test_console_and_two_sync_once_on_one_data_folder_deliver_every_reply_once(dovecot, tmp_path):  # noqa: F811
    smtp = start_smtp(dovecot, slow={"data": "0.3"})  # every send takes a while: the processes overlap
    console = None
    try:
        h = ImapHarness(dovecot, smtp)
        data = tmp_path / "data"
        cfg = write_config(h, tmp_path, smtp.port)
        threads = pull_conversations(h, cfg, data, 3)
        assert len(threads) == 3
        db = connect(data / "default.sqlite3")
        answers = []
        for tid in [*threads, *threads]:
            answers.append(f"answer-{uuid.uuid4().hex[:8]}")
            assert perform(Context(db=db, agent="Sam"), "reply", tid, text=f"On its way ({answers[-1]}).").ok
        console = switchboard(cfg, data, "sync")
        crons = [switchboard(cfg, data, "sync", "--once") for _ in range(2)]
        for cron in crons:
            _, err = cron.communicate(timeout=120)
            assert cron.returncode == 0, err
        deadline = time.monotonic() + 90
        while db.execute("SELECT COUNT(*) FROM outbox WHERE state != 'sent'").fetchone()[0]:
            assert time.monotonic() < deadline, db.execute("SELECT kind, state, last_error FROM outbox").fetchall()
            time.sleep(0.2)
        assert [await h.delivered(a) for a in answers] == [1] * 6, "counted in the customer's mailbox"
        assert [h.sent_copies(a) for a in answers] == [1] * 6
    finally:
        if console is not None:
            console.send_signal(signal.SIGTERM)
            console.wait(timeout=30)
        stop_smtp(smtp)


async def test_sync_once_exits_non_zero_and_names_the_reply_it_could_not_send(dovecot, smtp_server, tmp_path):  # noqa: F811
    h = ImapHarness(dovecot, smtp_server)
    data = tmp_path / "data"
    cfg = write_config(h, tmp_path, smtp_server.port)
    (tid,) = pull_conversations(h, cfg, data, 1)
    db = connect(data / "default.sqlite3")
    assert perform(Context(db=db, agent="Sam"), "reply", tid, text="We are on it.").ok
    outbox_id = db.execute("SELECT id FROM outbox WHERE kind='reply'").fetchone()[0]  # after its claim
    write_config(h, tmp_path, free_port())  # SMTP is down: nothing listens there
    run = switchboard(cfg, data, "sync", "--once")
    _, err = run.communicate(timeout=120)
    assert run.returncode == 1, err
    line = next(ln for ln in err.splitlines() if f"outbox {outbox_id}" in ln)
    assert "will retry" in line and "refused the connection" in line, line
    assert db.execute("SELECT state FROM outbox WHERE kind='reply'").fetchone()[0] == "queued", "kept for the next try"
