"""Benchmark: does the screen stall while a first sync of a real mailbox lands?

    .venv/bin/python -m bench.bench_ui_stall                      # 10,000 and 100,000 messages
    .venv/bin/python -m bench.bench_ui_stall --sizes 10000 --modes process,thread

For each size a Maildir of realistic support mail (:func:`bench.bench_imap.make_mailbox`)
is built once under ``--work`` (default /tmp/sb-bench-ui-stall/<size>, kept and reused by
later runs) and served by a private dovecot. A headless console (160x50) then starts on
an empty cache with the account configured and runs its first sync, the way an agent
opening Switchboard for the first time would; once its panes have loaded and the first
conversations are on screen (start-up is measured elsewhere: bench_ui, bench_paint_vs_neomutt;
a key in an empty inbox paints nothing) two probes watch its event loop:

- loop stall: a task sleeps 2 ms at a time and records how late it wakes up;
- key to frame: a thread types ``j`` / ``k`` every ~40 ms through the driver (as a
  terminal's input thread does) and records the time from the key to the end of the
  first frame written after the key was handled.

Then, as the control, the same probes for ``--after`` seconds once the sync is done (the
same app, cache and inbox, the account idle): on a shared machine other processes' load
shows there too, so read the figures during the sync against it. Modes: ``process`` — the engine in its own process (console.sync_process, what the
console does); ``thread`` — the engine in the console's own process, ingest + triage in
its worker thread (how the console ran it before). Prints the longest stall, p99 stall,
key-to-frame p50/p99/max, the sync's duration, the change messages the screen got and
the re-reads it did, and when the first conversations were on screen. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import statistics
import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_imap import make_mailbox  # noqa: E402
from bench.bench_imap_vs_mbsync import ACCOUNT, setup_switchboard, warm, write_maildir  # noqa: E402
from tests.support.servers.mail import start_dovecot  # noqa: E402

AGENT = "bench@example.test"
KEY_EVERY = 0.04  # s between typed keys (jittered)
STACK_AFTER = 0.04  # s without a tick before --stacks takes the loop thread's stack


def mailbox_dir(work: Path, n: int) -> Path:
    """A dovecot folder holding ``n`` messages for :data:`AGENT`, built on the first run only."""
    base = work / str(n)
    done = base / "built"
    if done.exists():
        return base
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    t = time.perf_counter()
    dv = start_dovecot(base / "dovecot")
    try:
        root = write_maildir(dv, AGENT, make_mailbox(n, AGENT))
        warm(dv, AGENT, root)
    finally:
        dv.stop()
    done.write_text("ok\n")
    print(f"  built the {n:,}-message Maildir in {base} ({time.perf_counter() - t:.0f} s; reused next time)")
    return base


def where_the_loop_is(frame) -> str:
    """The loop thread's stack, innermost last, each frame with the class of its ``self``."""
    lines = []
    while frame is not None:
        owner = frame.f_locals.get("self")
        name = f"{type(owner).__name__}." if owner is not None else ""
        path = frame.f_code.co_filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        lines.append(f"      {path}:{frame.f_lineno} {name}{frame.f_code.co_name}")
        frame = frame.f_back
    return "\n".join(reversed(lines[:30]))


def figures(stalls: list[float], keys: list[float]) -> dict:
    return {"stall_max": max(stalls, default=float("nan")), "stall_p99": pct(stalls, 99),
            "over_50": sum(1 for s in stalls if s > 0.05), "key_p50": pct(keys, 50),
            "key_p99": pct(keys, 99), "key_max": max(keys, default=float("nan")), "keys": len(keys)}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def one_run(base: Path, n: int, mode: str, after: float = 15.0, show_stacks: bool = False) -> dict:
    from console.config import load
    from widgets.app import SwitchboardApp

    dv = start_dovecot(base / "dovecot")
    try:
        warm(dv, AGENT, dv.dir / "mail" / "example.test" / "bench" / "Maildir")
        conf, data = setup_switchboard(dv, AGENT, base)
        os.environ.update(PYTHON_KEYRING_BACKEND="tests.support.keyring_backend.FileKeyring",
                          SWITCHBOARD_TEST_KEYRING=str(base / "keyring.json"))
        config = load(conf)

        class Console(SwitchboardApp):
            async def _start_engine(self) -> None:
                if mode == "process":
                    await super()._start_engine()
                    return
                from console.engine import Engine
                from console.service import Service

                self.engine = Engine(self.db, self.config, service=Service(self.config), data_dir=self.data_dir,
                                     on_change=self._synced)
                await self.engine.start()
                self.engine_note = ""

        app = Console(db_path=data / "default.sqlite3", config=config, data_dir=data)
        stalls: list[float] = []
        keys: list[float] = []
        stacks: list[tuple[float | None, str]] = []  # (how late, the loop thread's stack) with --stacks
        handled: list[float] = []  # arrival times of keys handled since the last frame
        result: dict = {}
        async with app.run_test(headless=True, size=(160, 50)) as pilot:
            loop = asyncio.get_running_loop()
            main = app.main
            from textual import events

            for name in ("action_cursor_down", "action_cursor_up"):
                action = getattr(main, name)

                def wrapped(action=action) -> None:
                    handled.append(pending[0])
                    action()

                setattr(main, name, wrapped)
            pending = [0.0]
            screen = app.screen
            original = screen._compositor_refresh

            def frame() -> None:
                original()
                end = time.perf_counter()
                while handled:
                    keys.append(end - handled.pop())

            screen._compositor_refresh = frame
            stop = threading.Event()

            def typist() -> None:
                rng, down = random.Random(1), True
                while not stop.is_set():
                    time.sleep(KEY_EVERY * rng.uniform(0.5, 1.5))
                    pending[0] = time.perf_counter()
                    key = "j" if down else "k"
                    down = not down
                    app._driver.process_message(events.Key(key, key))

            beat = [time.perf_counter()]
            gc_running: list[int] = []  # the generation being collected, while a collection runs

            def collector(phase: str, info: dict) -> None:
                gc_running[:] = [info["generation"]] if phase == "start" else []

            if show_stacks:
                gc.callbacks.append(collector)

            async def probe() -> None:
                while not stop.is_set():
                    t = time.perf_counter()
                    await asyncio.sleep(0.002)
                    beat[0] = time.perf_counter()
                    stalls.append(beat[0] - t - 0.002)

            def watchdog() -> None:
                """With --stacks: where the loop's thread is when it has not ticked for STACK_AFTER s."""
                loop_thread, caught = threading.main_thread().ident, 0.0
                while not stop.is_set():
                    time.sleep(0.005)
                    if stacks and stacks[-1][0] is None and beat[0] != caught:  # that stall is over: how long
                        stacks[-1] = (beat[0] - caught, stacks[-1][1])
                    late = time.perf_counter() - beat[0]
                    if late > STACK_AFTER and beat[0] != caught:
                        caught = beat[0]
                        frame = sys._current_frames().get(loop_thread)
                        collecting = f"      (collecting garbage, generation {gc_running[0]})\n" if gc_running else ""
                        stacks.append((None, collecting + where_the_loop_is(frame)))

            started = time.perf_counter()
            first_rows = None
            # The panes load after the first frame (start-up, not the sync); a key in an empty inbox
            # moves nothing and paints nothing: type once the first conversations are there.
            while not (main.panes_ready and main.inbox.total):
                await asyncio.sleep(0.01)
            first_rows = time.perf_counter() - started
            beat[0] = time.perf_counter()
            probe_task = loop.create_task(probe())
            typing = threading.Thread(target=typist, daemon=True)
            typing.start()
            if show_stacks:
                threading.Thread(target=watchdog, daemon=True).start()
            while True:
                await asyncio.sleep(0.1)
                if first_rows is None and main.inbox.total:
                    first_rows = time.perf_counter() - started
                engine = app.engine
                states = list(engine.states.values()) if engine is not None else []
                if states and all(s.state in ("online", "error", "auth_failed") for s in states) and \
                        time.perf_counter() - started > 2:
                    break
                if time.perf_counter() - started > 3600:
                    break
            elapsed = time.perf_counter() - started
            during = figures(stalls, keys)
            stalls.clear()
            keys.clear()
            await asyncio.sleep(after)
            control = figures(stalls, keys)
            stop.set()
            typing.join()
            await probe_task
            await pilot.pause(0.2)  # the last keys handled before the app closes
            result = {"during": during, "after": control, "elapsed": elapsed, "rereads": main.rereads,
                      "messages": getattr(app.engine, "messages", None), "first_rows": first_rows, "stacks": stacks,
                      "state": ", ".join(s.line(retrying=False) for s in states)}
            await app._stop_engine()
        count = app.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        result["stored"] = count
        app.db.close()
        return result
    finally:
        dv.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated mailbox sizes")
    ap.add_argument("--modes", default="process,thread",
                    help="process (the console), thread (the engine in the UI's process)")
    ap.add_argument("--after", type=float, default=15.0, help="seconds of the control once the sync is done")
    ap.add_argument("--stacks", action="store_true",
                    help=f"print where the UI loop was each time it had not ticked for {STACK_AFTER * 1000:.0f} ms")
    ap.add_argument("--work", type=Path, default=Path("/tmp/sb-bench-ui-stall"),
                    help="where the Maildirs are built once and kept")
    args = ap.parse_args()
    for n in [int(s) for s in args.sizes.split(",") if s]:
        print(f"\nfirst sync of {n:,} messages from dovecot, keys typed every ~{KEY_EVERY * 1000:.0f} ms")
        base = mailbox_dir(args.work, n)
        for mode in args.modes.split(","):
            r = asyncio.run(one_run(base, n, mode, args.after, args.stacks))
            batches = f"{r['messages']} change messages, " if r["messages"] is not None else ""
            print(f"  {mode}: sync {r['elapsed']:.1f} s, {r['stored']:,} messages stored, {batches}"
                  f"{r['rereads']} re-reads; first conversations on screen after {r['first_rows'] or 0:.1f} s; "
                  f"{r['state']}")
            for phase, label in (("during", "during the sync"), ("after", f"then {args.after:.0f} s idle")):
                f = r[phase]
                ms = {k: f[k] * 1000 for k in ("stall_max", "stall_p99", "key_p50", "key_p99", "key_max")}
                print(f"    {label:>16}: longest UI-loop stall {ms['stall_max']:6.1f} ms (p99 {ms['stall_p99']:5.1f}, "
                      f"{f['over_50']} over 50 ms); "
                      f"key to frame p50 {ms['key_p50']:5.1f} ms, p99 {ms['key_p99']:6.1f}, max {ms['key_max']:6.1f} "
                      f"({f['keys']} keys)")
            for late, stack in r["stacks"]:
                print(f"    a stall of {late * 1000 if late else float('nan'):.0f} ms; {STACK_AFTER * 1000:.0f} ms in, "
                      f"the loop was here:\n{stack}")
        print(f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
