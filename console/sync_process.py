"""The sync engine in a process of its own, so the screen never shares an interpreter with it.

Parsing mail, cleaning text, ingest, tone and triage are Python code that holds the GIL;
run in a thread beside the UI they made the screen's loop wait for it (80–180 ms stalls
during a first sync). Here the whole engine — adapters, ingest + triage, the outbox
dispatcher, the service ticks — runs in a child process that writes the cache itself
(WAL lets the screen read meanwhile; outbox claims make a second writer safe) and tells
the screen what changed.

:class:`SyncProcess` is the parent's side, with the surface the console uses
(``start``, ``stop``, ``states``, ``wake_outbox``, ``announce``). The child is
``python -m console.sync_process``. The two talk in JSON lines:

    parent → child   (stdin)    the job (first line), then {"wake": account | null} and
                                {"presence": [thread id | null, replying]} ([team]); EOF = stop
    child → parent   (its own pipe)
                                {"changed": [thread ids] | null, "states": [...]}   one per stored batch
                                {"states": [...]}                                   when a state moves
                                {"notice": "one line"}                              e.g. a config problem

The child's stdout and stderr are not the protocol (a library printing cannot corrupt
it); its log goes to ``switchboard.log`` in the data folder. When the parent goes away
the child sees EOF on its stdin and stops.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path

from console.engine import AccountState

log = logging.getLogger("switchboard.sync")

STOP_WAIT = 8.0  # s the child gets to close its accounts before it is terminated
STATE_EVERY = 0.25  # s between looks at the accounts' states in the child
NICENESS = 5  # the sync is background work: when both want the CPU, the screen goes first
_STATE_FIELDS = {f.name for f in fields(AccountState)}


def _states_out(states: dict[str, AccountState]) -> list[dict]:
    return [asdict(s) for s in states.values()]


def _states_in(rows: list[dict]) -> dict[str, AccountState]:
    return {r["name"]: AccountState(**{k: v for k, v in r.items() if k in _STATE_FIELDS}) for r in rows}


class SyncProcess:
    """The sync engine, run as a child process. Callbacks run on the caller's event loop.

    ``on_change(ids)`` gets the conversations one stored batch touched (an empty set: only
    account states moved); ``on_notice(line)`` a one-line message for the agent;
    ``on_exit(line)`` why the child ended when nobody asked it to.
    """

    def __init__(self, db_path: Path | str, config, *, read_only: bool = False, data_dir: Path | None = None,
                 on_change: Callable[[set[int]], None] | None = None,
                 on_notice: Callable[[str], None] | None = None,
                 on_exit: Callable[[str], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self.config = config
        self.read_only = bool(read_only or config.read_only)
        self.data_dir = data_dir
        self.on_change = on_change
        self.on_notice = on_notice
        self.on_exit = on_exit
        self.states: dict[str, AccountState] = {
            a.name: AccountState(a.name, a.provider, state="starting" if a.enabled else "disabled")
            for a in config.accounts}
        self.messages = 0  # change messages received (for tests and the bench)
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Spawn the child and hand it the job; returns at once (the child opens its accounts)."""
        job = {"db_path": str(self.db_path), "read_only": self.read_only,
               "data_dir": str(self.data_dir) if self.data_dir is not None else None,
               "config": base64.b64encode(pickle.dumps(self.config)).decode("ascii")}
        read_end, write_end = os.pipe()
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "console.sync_process", str(write_end),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, pass_fds=(write_end,), env=env)
        finally:
            os.close(write_end)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb", 0))
        self._send(job)
        self._reader = asyncio.create_task(self._read(reader), name="sync-process-reader")

    def wake_outbox(self, account: str | None = None) -> None:
        """Tell the child there is outbox work (after ``perform`` queued something)."""
        self._send({"wake": account})

    def announce(self, thread_id: int | None, replying: bool) -> None:
        """What this agent is on, for the child's presence client ([team]; it rate-limits)."""
        self._send({"presence": [thread_id, bool(replying)]})

    async def stop(self) -> None:
        """Close the child's stdin (it stops its accounts and exits); terminate it if it lingers."""
        self._stopping = True
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_WAIT)
        except asyncio.TimeoutError:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 2.0)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 1.0)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                self._reader.cancel()

    def _send(self, obj: dict) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return
        proc.stdin.write((json.dumps(obj) + "\n").encode())

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not line:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self._handle(event)
        if not self._stopping and self.on_exit is not None:
            proc = self._proc
            code = await proc.wait() if proc is not None else None
            self.on_exit(f"sync stopped (exit {code}); switchboard.log in the data folder says why")

    def _handle(self, event: dict) -> None:
        if "states" in event:
            self.states = _states_in(event["states"])
        if "notice" in event and self.on_notice is not None:
            self.on_notice(str(event["notice"]))
        if "changed" in event:
            self.messages += 1
            ids = event["changed"]
            if self.on_change is not None:
                self.on_change(set(ids) if ids is not None else None)


# --------------------------------------------------------------------------- the child


class _Out:
    """The protocol pipe; lines are written whole, from whichever thread reports."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = threading.Lock()
        self.broken = False

    def send(self, obj: dict) -> None:
        data = (json.dumps(obj) + "\n").encode()
        with self.lock:
            if self.broken:
                return
            try:
                while data:
                    data = data[os.write(self.fd, data):]
            except OSError:  # the console is gone; stdin's EOF stops us next
                self.broken = True


async def _child(out: _Out) -> None:
    from console.cache.db import connect
    from console.engine import Engine
    from console.errors import UserError

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    job = json.loads(await stdin.readline())
    config = pickle.loads(base64.b64decode(job["config"]))
    data_dir = Path(job["data_dir"]) if job.get("data_dir") else None
    if data_dir is not None:
        from console.cli import _setup_logging

        _setup_logging(data_dir)
    service = None
    try:
        from console.service import Service

        service = Service(config)
    except UserError as exc:
        out.send({"notice": str(exc)})
    db = connect(job["db_path"])
    engine: Engine

    def changed(ids: set[int] | None) -> None:
        out.send({"changed": sorted(ids) if ids is not None else None, "states": _states_out(engine.states)})

    engine = Engine(db, config, read_only=job["read_only"], service=service, on_change=changed, data_dir=data_dir)

    async def report_states() -> None:
        last = None
        while True:
            now = _states_out(engine.states)
            if now != last:
                out.send({"states": now})
                last = now
            await asyncio.sleep(STATE_EVERY)

    await engine.start()
    reporter = asyncio.create_task(report_states())
    try:
        while True:
            line = await stdin.readline()
            if not line:
                break
            try:
                order = json.loads(line)
                wake, presence = order.get("wake", ""), order.get("presence")
            except (ValueError, AttributeError):
                continue
            if wake != "":
                engine.wake_outbox(wake)
            if isinstance(presence, list) and len(presence) == 2 and engine.team is not None:
                thread_id, replying = presence
                engine.team.set_local(thread_id if isinstance(thread_id, int) else None, bool(replying))
    finally:
        reporter.cancel()
        await engine.stop()
        db.close()


def main(argv: list[str]) -> int:
    out = _Out(int(argv[1]))
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    try:
        asyncio.run(_child(out))
    except KeyboardInterrupt:
        return 0
    except Exception:  # noqa: BLE001 - the console says "sync stopped"; the log says why
        log.exception("the sync process failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
