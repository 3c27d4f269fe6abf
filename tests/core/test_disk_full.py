"""A full disk during `switchboard sync --once`, at several fill levels, on a real tmpfs
mounted by the test (the machine runs tests as root): one plain line per problem naming
the fix — no traceback, no "--- Logging error ---", no "retry in 1 s" from a command that
is exiting — the cache stays intact, and once space is freed the next run has every
message and sends the queued reply exactly once."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.core.test_sync_failures import Run, h, imap_options  # noqa: F401  (fixture and helpers)
from tests.support.servers.mail import dovecot, smtp_server  # noqa: F401

pytestmark = pytest.mark.timeout(600)
MESSAGES = 200
TMPFS_SIZE = 6 * 1024 * 1024
FILL_LEVELS = (0.0, 0.05, 0.3, 0.6, 0.9)  # room left when the sync starts, as a share of what the sync needs


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"this machine forbids mounting a tmpfs ({proc.stderr.strip() or proc.returncode}): "
                    "the disk-full test needs root or CAP_SYS_ADMIN")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path, leave_kb: int) -> Path:
    """A filler file that leaves ``leave_kb`` KiB free on ``disk``."""
    filler = disk / "filler"
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with filler.open("wb") as f:
        f.write(b"\0" * max(0, free - leave_kb * 1024))
    return filler


def intact(path: Path) -> bool:
    if not path.exists():
        return True
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()


def test_a_full_disk_is_one_line_loses_nothing_and_keeps_the_cache_intact(h, tmp_path, small_disk):
    rng = random.Random(7)
    words = "order parcel refund late broken thanks please help invoice address".split()
    client = h.agent_imap()
    try:
        for n in range(MESSAGES):
            msg = EmailMessage()
            msg["From"], msg["To"] = f"Customer {n} <c{n}@customer.example>", h.agent
            msg["Subject"], msg["Message-ID"] = f"Question {n}", f"<{uuid.uuid4().hex}@customer.example>"
            msg.set_content(" ".join(rng.choice(words) for _ in range(400)))
            client.append("INBOX", bytes(msg))
    finally:
        client.logout()

    # What a whole sync needs on this disk, measured with room to spare.
    measure = Run(tmp_path / "measure")
    measure.config.parent.mkdir()
    measure.data = small_disk / "measure"
    measure.account("mail", **imap_options(h))
    assert measure("sync", "--once").returncode == 0
    need_kb = sum(p.stat().st_blocks * 512 for p in measure.data.rglob("*") if p.is_file()) // 1024
    shutil.rmtree(measure.data)
    assert need_kb * 1024 < TMPFS_SIZE / 2, need_kb

    for leave_kb in (int(need_kb * share) for share in FILL_LEVELS):
        run = Run(tmp_path / f"level-{leave_kb}")
        run.config.parent.mkdir()
        run.data = small_disk / f"data-{leave_kb}"
        run.account("mail", **imap_options(h))
        filler = fill(small_disk, leave_kb)
        proc = run("sync", "--once")
        out = proc.stdout + proc.stderr
        assert proc.returncode in (1, 2), (leave_kb, out)
        assert "Traceback" not in out and "Logging error" not in out and "retry in" not in out, (leave_kb, out)
        lines = proc.stderr.splitlines()
        assert 1 <= len(lines) <= 2 and "disk is full" in proc.stderr and "free some space" in proc.stderr, \
            (leave_kb, out)
        filler.unlink()
        cache = run.data / "default.sqlite3"
        assert intact(cache), leave_kb  # as the failed run left it (checked with room to open it)
        again = run("sync", "--once")
        assert again.returncode == 0, (leave_kb, again.stderr)
        db = sqlite3.connect(cache)
        assert db.execute("SELECT COUNT(*) FROM messages WHERE direction='inbound'").fetchone()[0] == MESSAGES
        db.close()
        assert intact(cache), leave_kb
        shutil.rmtree(run.data)


def test_a_reply_queued_before_the_disk_filled_is_sent_once_after(h, tmp_path, small_disk):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Casey <{h.customer}>", h.agent, "Where is my parcel?"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
    msg.set_content("It has been two weeks.")
    h.append(bytes(msg))
    run = Run(tmp_path)
    run.data = small_disk / "data"
    run.account("mail", **imap_options(h))
    assert run("sync", "--once").returncode == 0
    text = f"Sent once despite a full disk {uuid.uuid4().hex[:8]}"
    assert run("do", "reply", "1", "--text", text).returncode == 0
    filler = fill(small_disk, 0)
    full = run("sync", "--once")
    assert full.returncode in (1, 2) and "disk is full" in full.stderr, full.stderr
    assert "Traceback" not in full.stderr and "Logging error" not in full.stderr
    filler.unlink()
    assert run("sync", "--once").returncode == 0
    import asyncio

    assert asyncio.run(h.delivered(text)) == 1
    db = sqlite3.connect(run.data / "default.sqlite3")
    assert db.execute("SELECT state FROM outbox WHERE kind='reply'").fetchall() == [("sent",)]
    assert {state for (state,) in db.execute("SELECT state FROM outbox")} == {"sent"}, "the Sent copy too"
