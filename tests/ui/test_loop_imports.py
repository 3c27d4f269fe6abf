"""What the screen must never load on its event loop: compiling the tone lexicon takes
~170 ms, a visible stall, and the screen has no use for it (the sync process reads tone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, sys
from console.cache import connect
from tests.ui.conftest import CONFIG_TOML, Clock, PanesReadyApp, fill_cache, parse_config

path = sys.argv[1]
db = connect(path)
fill_cache(db)
ids = [r[0] for r in db.execute("SELECT id FROM threads ORDER BY id")]
db.close()

async def main():
    app = PanesReadyApp(db_path=path, config=parse_config(CONFIG_TOML, "config.toml"), read_only=False,
                        start_engine=False, clock=Clock())
    async with app.run_test(size=(160, 45)) as pilot:
        for tid in ids[:6]:
            app.open_thread(tid, focus=False)
            for _ in range(100):
                await pilot.pause(0.02)
                if app.main.conversation.thread_id == tid:
                    break
        opened = app.main.conversation.thread_id
        await pilot.press("j", "j", "k")
        await pilot.pause(0.3)
    print("opened:", opened == ids[5])
    print("loaded:", " ".join(sorted(m for m in sys.modules if m in ("console.tone", "console.phrases"))))

asyncio.run(main())
"""


def test_opening_conversations_never_loads_the_tone_lexicon(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "cache.sqlite3")], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = dict(line.partition(":")[::2] for line in proc.stdout.splitlines() if ":" in line)
    assert said.get("opened", "").strip() == "True", proc.stdout
    assert said.get("loaded", "?").strip() == "", f"the screen loaded {said.get('loaded')} on its loop"
