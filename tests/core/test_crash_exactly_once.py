"""kill -9 at any point of a send loses nothing and never sends twice.

Real processes, a real cache file, and the demo provider's journal as the remote
side (it persists pushed keys with fsync, like a server remembering a txnId).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers.demo.remote import DemoRemote

ROOT = Path(__file__).resolve().parents[2]


def worker(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.support.crash.worker", *args], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kill_after", [0.0, 0.15, 0.35, 0.6, 0.9])
def test_kill_9_during_a_send_then_restart_sends_exactly_once(tmp_path, kill_after):
    cache, state = str(tmp_path / "cache.sqlite3"), str(tmp_path / "remote")
    marker = f"crash-{int(kill_after * 100)}"
    q = worker("queue", cache, state, marker)
    assert q.wait(timeout=60) == 0
    # The send takes ~0.5 s on the wire; the process is killed somewhere before, during or after it.
    s = worker("send", cache, state, "0.5")
    assert s.stdout.readline().strip() == "pushing"
    time.sleep(kill_after)
    s.send_signal(signal.SIGKILL)
    s.wait(timeout=30)
    # Restart: the outbox is pushed again with the same key.
    again = worker("send", cache, state, "0")
    out, _ = again.communicate(timeout=60)
    assert again.returncode == 0 and "done" in out
    assert DemoRemote(state, "support-mail", "email").delivered(marker) == 1
    db = sqlite3.connect(cache)
    assert db.execute("SELECT state FROM outbox").fetchall() == [("sent",)]
    assert db.execute("SELECT COUNT(*) FROM messages WHERE text LIKE ?", (f"%{marker}%",)).fetchone()[0] == 1
