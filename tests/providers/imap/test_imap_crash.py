"""kill -9 at every step of an SMTP send: real processes, a real cache file, a real
dovecot and an SMTP server made slow at one step per case (the kill lands there).

What must hold, by where the kill lands:
- ehlo, mail, rcpt, data (the message is not delivered yet): the restart sends it —
  delivered exactly once, one copy in Sent;
- quit (the server accepted the DATA; the reply is recorded as delivered and the
  session is being ended): the restart never sends it again and saves its Sent copy —
  delivered exactly once, one copy in Sent;
- accepted (the server delivered it, its 250 reply has not reached us): the window no
  SMTP client can close (see README, "Exactly once"): the restart cannot know and sends
  again — never lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.actions import perform
from console.actions.gate import Context
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from tests.support.contract import pull_all
from tests.support.servers.mail import PASSWORD, ImapHarness, dovecot, start_smtp, stop_smtp  # noqa: F401

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[3]


def worker(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.support.crash.worker", *args], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)


def wait_for_line(path: Path, line: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and line in path.read_text().split():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the sender exited ({proc.returncode}) before the server reached {line!r}")
        time.sleep(0.02)
    raise AssertionError(f"the SMTP server never reached step {line!r}")


async def queued_reply(h: ImapHarness, cache: Path, marker: str) -> None:
    """The customer writes, the cache pulls it, an agent answers (queued in the outbox)."""
    mail = h.customer_mail(f"Where is my refund? ({marker})")
    h.dv.deliver(h.customer, [h.agent], mail.as_bytes())  # over LMTP: the slow SMTP server is for our reply
    db = connect(cache)
    p = await h.make()
    await p.open(read_only=False)
    try:
        account_id = ensure_account(db, h.name, "imap", "email")
        for _ in range(50):
            batches, _ = await pull_all(p, None)
            for batch in batches:
                apply_batch(db, account_id, batch)
            if db.execute("SELECT 1 FROM messages WHERE text LIKE ?", (f"%{marker}%",)).fetchone():
                break
            await asyncio.sleep(0.1)
    finally:
        await p.close()
    tid = db.execute("SELECT thread_id FROM messages WHERE text LIKE ?", (f"%{marker}%",)).fetchone()[0]
    assert perform(Context(db=db, agent="Sam"), "reply", tid, text=f"Refunded today ({marker}-answer).").ok
    db.close()



async def kill_at(step: str, dv, tmp_path: Path) -> tuple[ImapHarness, Path, str]:
    """Queue a reply, start a sender, kill -9 it while the server waits at ``step``, restart it."""
    trace = tmp_path / "smtp-trace"
    smtp = start_smtp(dv, slow={step: "20:once"}, trace=trace)
    try:
        h = ImapHarness(dv, smtp)
        cache, marker = tmp_path / "cache.sqlite3", f"kill-{step}"
        await queued_reply(h, cache, marker)
        account = json.dumps({"name": h.name, "options": h.account().options, "password": PASSWORD})
        first = worker("send-mail", str(cache), account)
        assert first.stdout.readline().strip() == "pushing"
        await asyncio.to_thread(wait_for_line, trace, step, first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        again = worker("send-mail", str(cache), account)  # the restart; the server is fast now
        out, _ = again.communicate(timeout=120)
        assert again.returncode == 0 and out.strip().endswith("done"), out
        states = connect(cache).execute("SELECT kind, state FROM outbox ORDER BY id").fetchall()
        assert [tuple(r) for r in states] == [("reply", "sent"), ("save_copy", "sent")], out
        return h, cache, f"{marker}-answer"
    finally:
        stop_smtp(smtp)


@pytest.mark.parametrize("step", ["ehlo", "mail", "rcpt", "data", "quit"])
async def test_kill_9_at_a_step_of_the_smtp_send_then_restart_delivers_exactly_once(dovecot, tmp_path, step):  # noqa: F811
    h, _, answer = await kill_at(step, dovecot, tmp_path)
    assert await h.delivered(answer) == 1, f"killed at {step}: the customer must get the reply exactly once"
    assert h.sent_copies(answer) == 1, "and one copy of it in Sent"


async def test_kill_9_between_delivery_and_the_servers_250_never_loses_the_reply(dovecot, tmp_path):  # noqa: F811
    h, _, answer = await kill_at("accepted", dovecot, tmp_path)
    assert await h.delivered(answer) >= 1, "never lost (a second copy here is the window SMTP cannot close)"
    assert h.sent_copies(answer) == 1
