"""UI benchmark: first paint, steps, pages, search and memory with a big cache.

    .venv/bin/python -m bench.bench_ui                       # 100k conversations / 1M messages
    .venv/bin/python -m bench.bench_ui --path /tmp/big.sqlite3 # reuse a cache (built if missing)
    .venv/bin/python -m bench.bench_ui --small               # 10k / 100k, quick
    .venv/bin/python -m bench.bench_ui --no-tmux             # headless figures only

Prints figures (it asserts nothing) to compare with shared/notes/performance.md:

- first paint: a fresh process (``python -m bench.bench_ui --child paint``) builds the
  app on the cache and reports when its first frame has been painted (headless);
  the parent times from just before spawning the process to that report. Median of
  ``--runs``.
- step / half page / jump to the bottom: inside a headless app, from calling the bound
  action to the end of the next screen refresh (``call_after_refresh``). p50 / p95.
- search: from the debounced start of a search to the frame showing the results in
  the inbox (thread worker, its own read-only connection). p50 / p95 over several
  words; the panes then follow the new cursor outside the timing (as between keystrokes).
- peak RSS: ``ru_maxrss`` of the child that did the session above.
- real terminal: ``switchboard --data-dir DIR --profile NAME`` in a tmux pane; time
  until the inbox rows appear in ``tmux capture-pane`` (a private tmux server); a step
  (``j``) and a half page (``ctrl+d``) until the program writes its next frame (seen in
  the pane's output, piped to a file), with keys 400 ms apart (the panes have followed the
  last key) and 150 ms apart (a key may land while the panes draw the last one); and the
  console's CPU while idle for 10 s (from /proc) at ``TEXTUAL_FPS=120`` (what
  `switchboard` sets) and at Textual's default 60.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PANES_SETTLED = 0.4  # s between keys: the panes have followed the last one (100 ms rest, then drawing)
KEY_GAP = 0.15  # s between keys: the next key may arrive while the panes draw the last one
SEARCH_WORDS = ["parcel", "refund", "warranty", "norway", "invoice", "tracking", "password", "titanium", "ref",
                "refu", "damaged tent", "from:Emma", "channel:chat refund", "status:closed thank", "zzzqx"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def fmt(values: list[float]) -> str:
    return f"p50 {pct(values, 50):7.2f} ms  p95 {pct(values, 95):7.2f} ms  (n={len(values)})"


# --------------------------------------------------------------------------- children (one process each)


def _config():
    from console.config import Config

    return Config(agent_name="Sam Rivera")


def child_paint(path: str) -> None:
    """Build the app; when the screen has written its first frame with inbox rows, print 'painted' and exit."""
    from widgets.app import SwitchboardApp

    class PaintOnce(SwitchboardApp):
        def on_mount(self) -> None:
            screen = self.screen
            original = screen._compositor_refresh
            reported = False

            def refresh_and_report() -> None:
                nonlocal reported
                original()
                if not reported and self.main.inbox._strip_cache:  # rows were rendered into this frame
                    reported = True
                    rows = self.main.inbox.total
                    sys.stdout.write(f"painted {rows} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
                    sys.stdout.flush()
                    self.exit(0)

            screen._compositor_refresh = refresh_and_report
            super().on_mount()

    PaintOnce(db_path=path, config=_config(), start_engine=False).run(headless=True, size=(160, 50))


def child_session(path: str, steps: int, pages: int, repeats: int) -> None:
    """Steps, pages, jumps and searches in one headless app; prints JSON figures."""
    from widgets.app import SwitchboardApp
    from widgets.search import SearchBar

    figures: dict[str, list[float]] = {k: [] for k in (
        "step", "page", "jump", "pane", "search", "step_cpu", "page_cpu", "jump_cpu", "pane_cpu", "search_cpu",
        "inbox_step", "inbox_page", "inbox_jump")}

    class Bench(SwitchboardApp):
        search_done: asyncio.Future | None = None

        def on_search_bar_results(self, event: SearchBar.Results) -> None:
            # Bubbles here after MainScreen has applied it to the inbox.
            fut = self.search_done
            if fut is not None and not fut.done():
                waiting.append(fut)

    app = Bench(db_path=path, config=_config(), start_engine=False)

    waiting: list[asyncio.Future] = []

    def watch_frames(screen) -> None:
        """Resolve waiters when the screen has written its next frame to the (headless) driver."""
        original = screen._compositor_refresh

        def refresh_and_report() -> None:
            original()
            now = (time.perf_counter(), time.process_time())
            while waiting:
                fut = waiting.pop()
                if not fut.done():
                    fut.set_result(now)

        screen._compositor_refresh = refresh_and_report

    async def next_frame() -> tuple[float, float]:
        fut = asyncio.get_running_loop().create_future()
        waiting.append(fut)
        try:
            return await asyncio.wait_for(fut, 1.0)
        except asyncio.TimeoutError:  # nothing changed on screen
            return time.perf_counter(), time.process_time()

    async def timed(name: str, fn) -> None:
        """Wall time to the end of the next frame, and the CPU time spent on it (no frame-timer wait)."""
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        t1, c1 = await next_frame()
        figures[name].append((t1 - t0) * 1000)
        figures[name + "_cpu"].append((c1 - c0) * 1000)

    async def run() -> None:
        async with app.run_test(headless=True, size=(160, 50)) as pilot:
            await pilot.pause(1.0)  # panes loaded, first suggestions fetched
            watch_frames(app.screen)
            for _ in range(steps):
                await timed("step", app.main.action_cursor_down)
            for _ in range(pages):
                await timed("page", app.main.action_half_page_down)
            for _ in range(10):
                await timed("jump", app.main.action_cursor_bottom)
                await timed("jump", app.main.action_cursor_top)
            for _ in range(20):
                app.main.action_cursor_down()
                await timed("pane", lambda: setattr(app.main, "current", app.main.inbox.current_thread_id))
            # The inbox's own work, without Textual's frame machinery: the action plus the
            # render_line calls for the lines it changed (every visible line after a page or jump).
            inbox = app.main.inbox
            height = inbox.scrollable_content_region.height

            def lines(ys) -> None:
                for y in ys:
                    inbox.render_line(y)

            inbox.go_top()
            for _ in range(steps):
                t0 = time.perf_counter()
                old = inbox.cursor - int(inbox.scroll_offset.y)
                inbox.move(1)
                new = inbox.cursor - int(inbox.scroll_offset.y)
                lines(range(height) if new == old else (old, new))
                figures["inbox_step"].append((time.perf_counter() - t0) * 1000)
            for _ in range(pages):
                t0 = time.perf_counter()
                inbox.half_page(1)
                lines(range(height))
                figures["inbox_page"].append((time.perf_counter() - t0) * 1000)
            for _ in range(10):
                for jump in (inbox.go_bottom, inbox.go_top):
                    t0 = time.perf_counter()
                    jump()
                    lines(range(height))
                    figures["inbox_jump"].append((time.perf_counter() - t0) * 1000)
            await pilot.pause(0.1)
            bar = app.main.search_bar
            bar.open()
            await pilot.pause(0.05)
            for _ in range(repeats):
                for words in SEARCH_WORDS:
                    await asyncio.sleep(0.3)  # let the panes follow the previous results outside the timing
                    app.search_done = asyncio.get_running_loop().create_future()
                    t0, c0 = time.perf_counter(), time.process_time()
                    bar.start_search(words)
                    try:
                        t1, _ = await asyncio.wait_for(app.search_done, 10)
                    except asyncio.TimeoutError:
                        continue
                    figures["search"].append((t1 - t0) * 1000)
                    figures["search_cpu"].append((time.process_time() - c0) * 1000)
            app.exit(0)

    asyncio.run(run())
    figures["rss_kb"] = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]
    figures["rows"] = [0]
    print(json.dumps(figures))


# --------------------------------------------------------------------------- parent


def child_env() -> dict[str, str]:
    """As an installed program runs: byte-code caches allowed (a dev shell may forbid writing them)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.bench_ui", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())


def first_paint(path: Path, runs: int) -> tuple[list[float], int, int]:
    times, rows, rss = [], 0, 0
    for n in range(runs + 1):  # run 0 warms the OS file cache and writes byte-code caches; not counted
        t0 = time.perf_counter()
        proc = spawn(["--child", "paint", "--path", str(path)])
        line = proc.stdout.readline()
        t1 = time.perf_counter()
        proc.wait(timeout=60)
        if not line.startswith("painted"):
            raise SystemExit(f"the paint child failed: {line!r} {proc.stderr.read()[-2000:]}")
        _, count, kb = line.split()
        if n == 0:
            continue
        rows, rss = int(count), max(rss, int(kb))
        times.append((t1 - t0) * 1000)
    return times, rows, rss


def session(path: Path, repeats: int) -> dict:
    proc = spawn(["--child", "session", "--path", str(path), "--repeats", str(repeats)])
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"the session child failed: {err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


class Tmux:
    """A private tmux server (its own socket, no user config), so the panes run with this
    process's environment and other tmux users on the machine neither slow nor change it.
    A pane's output can be piped to a file: a frame written to the terminal is seen there
    by a stat, far cheaper and finer than polling ``capture-pane``."""

    _made = itertools.count()  # one server per instance, even within one process

    def __init__(self) -> None:
        self.socket = f"sbbench{os.getpid()}-{next(Tmux._made)}"
        self.run("new-session", "-d", "-s", "keeper", "sleep 3600")  # the server is up before anything is timed

    def run(self, *args: str, check: bool = True, env: dict | None = None) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                              check=check, env=env or child_env()).stdout

    def capture(self, session: str, color: bool = False) -> str:
        return self.run("capture-pane", "-p", "-t", session, *(["-e"] if color else []), check=False)

    def pane_pid(self, session: str) -> int:
        return int(self.run("list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])

    def close(self) -> None:
        self.run("kill-server", check=False)


def _python_child(pid: int) -> int | None:
    """The process the pane's shell started (``env`` execs the program itself)."""
    for _ in range(200):
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        if kids:
            return int(kids[0])
        time.sleep(0.01)
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def key_to_frame(tmux: Tmux, session: str, out: Path, key: str) -> float | None:
    """Milliseconds from sending ``key`` until the program writes to the terminal (its next frame)."""
    before = out.stat().st_size
    t1 = time.perf_counter()
    tmux.run("send-keys", "-t", session, key)
    while time.perf_counter() - t1 < 2:
        if out.stat().st_size != before:
            return (time.perf_counter() - t1) * 1000
        time.sleep(0.0002)
    return None


# The measuring floor: a program that writes one byte for each key, in the same tmux. A key's way
# through `tmux send-keys`, the pane and pipe-pane costs this much before any program does anything.
ECHO_PROGRAM = ("import os, tty; tty.setraw(0)\n"
                "while os.read(0, 64) != b'q': os.write(1, b'\\x1b[1;1Hx')")


def tmux_floor(tmux: Tmux, out: Path, keys: int = 20) -> list[float]:
    """Key -> byte written for :data:`ECHO_PROGRAM`: what ``key_to_frame`` measures of itself."""
    tmux.run("new-session", "-d", "-s", "floor", "-x", "160", "-y", "50", f"{sys.executable} -c \"{ECHO_PROGRAM}\"")
    try:
        time.sleep(0.5)
        out.write_bytes(b"")
        tmux.run("pipe-pane", "-t", "floor", f"cat >> {out}")
        time.sleep(0.3)
        figures = []
        for _ in range(keys):
            ms = key_to_frame(tmux, "floor", out, "j")
            if ms is not None:
                figures.append(ms)
            time.sleep(0.1)
        return figures
    finally:
        tmux.run("kill-session", "-t", "floor", check=False)


def tmux_figures(path: Path, runs: int, idle_seconds: float = 10.0, fps: tuple[str, ...] = ("120", "60")) -> dict | None:
    """In a real terminal (tmux): process start -> inbox rows visible; ``j`` and ``ctrl+d`` -> the next
    frame written; and the console's CPU while idle for ``idle_seconds`` at each frame rate in ``fps``
    (the first is what `switchboard` sets)."""
    if shutil.which("tmux") is None:
        print("tmux: not installed (apt-get install -y tmux) — real-terminal figures skipped")
        return None
    exe = ROOT / ".venv" / "bin" / "switchboard"
    if not exe.exists():
        exe = Path(shutil.which("switchboard") or "switchboard")
    data_dir, profile = path.parent, path.name.removesuffix(".sqlite3")
    xdg = tempfile.mkdtemp(prefix="sb-bench-xdg-")
    out = Path(xdg) / "pane.out"
    session_name = "bench"
    figures: dict = {"paint": [], "step": [], "page": [], "step_busy": [], "page_busy": [], "idle_cpu": {}}
    tmux = Tmux()
    try:
        figures["floor"] = tmux_floor(tmux, out)
        for run, rate in enumerate([fps[0]] * runs + list(fps[1:])):  # timed runs, then one per other rate
            idle_run = run == 0 or run >= runs
            # This checkout's code (the venv's `switchboard` may be an editable install of another one).
            env = f"XDG_CONFIG_HOME={xdg} SWITCHBOARD_DATA_DIR={data_dir} TEXTUAL_FPS={rate} PYTHONPATH={ROOT}"
            t0 = time.perf_counter()
            tmux.run("new-session", "-d", "-s", session_name, "-x", "160", "-y", "50",
                     f"env {env} {exe} --data-dir {data_dir} --profile {profile}; echo exit=$?; sleep 30")
            seen = None
            while time.perf_counter() - t0 < 20:
                screen = tmux.capture(session_name)
                if "outbox" in screen and ("●" in screen or "mail " in screen or "chat " in screen):
                    seen = time.perf_counter()
                    break
                time.sleep(0.002)
            if seen is None:
                print("tmux: the inbox did not appear within 20 s:\n" + tmux.capture(session_name)[-800:])
            else:
                if run < runs:
                    figures["paint"].append((seen - t0) * 1000)
                pid = _python_child(tmux.pane_pid(session_name))
                time.sleep(5 if idle_run else 1.5)  # panes mounted and filled, the status line settled
                if idle_run and pid is not None:
                    c0, w0 = cpu_seconds(pid), time.perf_counter()
                    time.sleep(idle_seconds)
                    figures["idle_cpu"][rate] = (cpu_seconds(pid) - c0) / (time.perf_counter() - w0) * 100
                if run < runs:
                    out.write_bytes(b"")
                    tmux.run("pipe-pane", "-t", session_name, f"cat >> {out}")
                    time.sleep(0.3)
                    for gap, suffix in ((PANES_SETTLED, ""), (KEY_GAP, "_busy")):
                        for key, name in (("j", "step"), ("C-d", "page")) * 10:
                            if "exit=" in tmux.capture(session_name):
                                print("tmux: switchboard exited:\n" + tmux.capture(session_name)[-1500:])
                                break
                            ms = key_to_frame(tmux, session_name, out, key)
                            if ms is not None:
                                figures[name + suffix].append(ms)
                            time.sleep(gap)
                    tmux.run("pipe-pane", "-t", session_name, check=False)
            tmux.run("kill-session", "-t", session_name, check=False)
            time.sleep(0.3)
    finally:
        tmux.close()
        shutil.rmtree(xdg, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", type=Path, help="cache file to use (built if missing)")
    ap.add_argument("--small", action="store_true", help="10k conversations / 100k messages")
    ap.add_argument("--runs", type=int, default=7, help="first-paint runs (median)")
    ap.add_argument("--repeats", type=int, default=5, help="search repeats over the word list")
    ap.add_argument("--no-tmux", action="store_true")
    ap.add_argument("--child", choices=["paint", "session"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child == "paint":
        child_paint(str(args.path))
        return 0
    if args.child == "session":
        child_session(str(args.path), steps=200, pages=60, repeats=args.repeats)
        return 0

    conversations, messages = (10_000, 100_000) if args.small else (100_000, 1_000_000)
    path = args.path or Path(tempfile.gettempdir()) / f"switchboard-bench-{conversations}.sqlite3"
    if not path.exists():
        from bench.bigcache import build

        print(f"building {path} ({conversations:,} conversations / {messages:,} messages)…", flush=True)
        stats = build(path, conversations=conversations, messages=messages)
        print(f"  rows {stats['load_seconds']:.1f} s, FTS {stats['fts_seconds']:.1f} s")
    import sqlite3

    with sqlite3.connect(path) as db:
        n_threads = db.execute("SELECT COUNT(*) FROM threads").fetchone()[0]
        n_messages = db.execute("SELECT MAX(id) FROM messages").fetchone()[0]
    print(f"cache {path}: {n_threads:,} conversations, ~{n_messages:,} messages, "
          f"{path.stat().st_size / 1e6:.0f} MB")

    paint, rows, paint_rss = first_paint(path, args.runs)
    print(f"first paint (headless, process start → first frame): median {statistics.median(paint):.0f} ms "
          f"(min {min(paint):.0f}, max {max(paint):.0f}, runs {len(paint)}); inbox view holds {rows:,} rows; "
          f"peak RSS {paint_rss / 1024:.0f} MB")
    figs = session(path, args.repeats)
    print(f"inbox widget only — step:      {fmt(figs['inbox_step'])}")
    print(f"inbox widget only — half page: {fmt(figs['inbox_page'])}")
    print(f"inbox widget only — G / g g:   {fmt(figs['inbox_jump'])}")
    print("whole app, through Textual's frame:")
    print("(work = CPU time of the action and the frame it causes; wall = until that frame is written,")
    print(" which includes waiting for Textual's 60 Hz frame timer)")
    for key, label in (("step", "step down (j)"), ("page", "half page (ctrl+d)"), ("jump", "jump G / g g"),
                       ("pane", "panes follow the cursor"), ("search", "search first results")):
        print(f"{label:26} work {fmt(figs[key + '_cpu'])}")
        print(f"{'':26} wall {fmt(figs[key])}")
    print(f"peak RSS of the session process:    {figs['rss_kb'][0] / 1024:.0f} MB")
    if not args.no_tmux:
        t = tmux_figures(path, max(3, args.runs // 2))
        if t:
            if t["paint"]:
                print(f"tmux: start → inbox rows visible:   median {statistics.median(t['paint']):.0f} ms "
                      f"(min {min(t['paint']):.0f}, max {max(t['paint']):.0f}, runs {len(t['paint'])})")
            for suffix, when in (("", f"keys {PANES_SETTLED * 1000:.0f} ms apart, the panes settled"),
                                 ("_busy", f"keys {KEY_GAP * 1000:.0f} ms apart, the panes may still be drawing")):
                print(f"tmux, {when}:")
                if t["step" + suffix]:
                    print(f"  j → next frame written:       {fmt(t['step' + suffix])}")
                if t["page" + suffix]:
                    print(f"  ctrl+d → next frame written:  {fmt(t['page' + suffix])}")
            if t["floor"]:
                print(f"tmux: floor (a program echoing the key): {fmt(t['floor'])}")
            for rate, pct in t["idle_cpu"].items():
                print(f"tmux: idle CPU at TEXTUAL_FPS={rate}:     {pct:.2f} % of one core over 10 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
