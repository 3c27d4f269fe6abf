"""A large batch's tone is read in worker processes while it is stored; every message gets the
tone reading it in place gives, whether the workers finish, die, or never start."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from console import tone
from console.cache.ingest import BatchWriter, ensure_account
from console.config import parse as parse_config
from console.service import Service
from console import tone_pool
from providers.records import Batch
from tests.support.factories import T0, conversation

TEXTS = [line.split("\t")[-1].replace("\\n", "\n") for line in
         (Path(__file__).parent / "data" / "tone_tuning.tsv").read_text().splitlines() if not line.startswith("#")]


def batch(count: int, start: int = 0) -> Batch:
    pairs = []
    for n in range(start, start + count):
        text = TEXTS[n % len(TEXTS)]
        if n % 7 == 0:
            text = f"\x1b[31m{text}\u200b [b]now[/b]"  # hostile: stored cleaned, and read as stored
        t, m = conversation(n, text=text, at=T0 + timedelta(seconds=n))
        if n % 11 == 0:
            m.meta["auto_reply"] = True
        pairs.append((t, m))
    return Batch(cursor=f"c{start}", threads=[t for t, _ in pairs], messages=[m for _, m in pairs])


def stored_tones(db) -> tuple[list, list]:
    """(text, tone, kind) as stored, and as reading each stored message in place gives."""
    rows = db.execute("SELECT text, meta, tone, kind FROM messages ORDER BY id").fetchall()
    return [(r["text"], r["tone"], r["kind"]) for r in rows], [
        (r["text"], t.tone, t.kind) for r in rows for t in [tone.classify(r["text"], json.loads(r["meta"]))]]


def store(db, service: Service, *batches: Batch, before=None) -> None:
    async def go():
        writer = BatchWriter(db, triage=service.process, foresee=service.foresee)
        account = ensure_account(db, "mail", "demo", "email")
        for b in batches:
            if before:
                before(service)
            await writer.apply(account, b)
        writer.close()
    asyncio.run(go())
    service.close()


@pytest.fixture
def service():
    return Service(parse_config(""))


def test_a_large_batch_is_read_in_the_workers_with_the_same_tones(db, service, monkeypatch):
    in_place = []
    real = tone.classify
    monkeypatch.setattr(tone, "classify", lambda *a: in_place.append(a) or real(*a))
    store(db, service, batch(150))
    assert in_place == []  # every one came from a worker
    got, expected = stored_tones(db)
    assert len(got) == 150 and got == expected


def test_workers_killed_mid_batch_lose_no_tone_and_the_sync_goes_on(db, service):
    def kill_workers(svc: Service):
        pool = svc._tones()._pool
        for pid in list(pool._processes) if pool is not None else []:
            os.kill(pid, signal.SIGKILL)

    store(db, service, batch(100), batch(100, start=100), before=kill_workers)
    got, expected = stored_tones(db)
    assert len(got) == 200 and got == expected


def test_a_small_batch_starts_no_worker(db, service):
    store(db, service, batch(tone_pool.BATCH - 1))
    got, expected = stored_tones(db)
    assert len(got) == tone_pool.BATCH - 1 and got == expected
    assert service._tone_pool is None or service._tone_pool._pool is None


OWNER = """
import sys, time
from console.tone_pool import TonePool

if __name__ == "__main__":
    pool = TonePool()
    ahead = pool.ahead({(f"order {n} never came, awful", "{}"): {} for n in range(100)})
    ahead.get(("order 1 never came, awful", "{}"))
    print(" ".join(str(pid) for pid in pool._pool._processes), flush=True)
    time.sleep(120)
"""


def test_a_sync_process_killed_with_minus_9_leaves_no_tone_worker_behind(tmp_path):
    import subprocess
    import sys
    import time

    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    root = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=root,
                             env={**os.environ, "PYTHONPATH": str(root)})
    try:
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(workers) == tone_pool.MAX_WORKERS
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 10  # a worker looks at its owner every second
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "tone workers outlived the process that started them"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
