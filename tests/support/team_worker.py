"""An agent's console as a process of its own, for the kill -9 test: it syncs the shared
mailbox, opens one conversation, starts a reply (presence: replying) and waits to be killed.

    python -m tests.support.team_worker CONFIG DATA_DIR SUBJECT

Its [team] secret comes from the keyring (SWITCHBOARD_TEST_KEYRING), as a real console's.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from console.cache import connect
from console.config import load
from console.engine import Engine
from console.team.presence import build


async def main(config_path: str, data_dir: str, subject: str) -> None:
    config = load(config_path)
    db = connect(Path(data_dir) / "default.sqlite3")
    engine = Engine(db, config, data_dir=Path(data_dir))
    await engine.run_once()
    thread_id = db.execute("SELECT id FROM threads WHERE subject=?", (subject,)).fetchone()[0]
    client = build(config, db, read_only=False, data_dir=Path(data_dir), run=engine.writer.run,
                   on_change=lambda ids: None)
    client.start()
    client.set_local(thread_id, replying=True)
    while client.writes < 1:
        await asyncio.sleep(0.05)
    print("announced", flush=True)
    await asyncio.sleep(3600)  # killed here: no clear is ever written


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
