"""Benchmark: first paint in tmux, Switchboard on a 100k-conversation cache beside neomutt on a Maildir.

    .venv/bin/python -m bench.bench_paint_vs_neomutt [--messages 100000] [--cache /tmp/big.sqlite3] [--runs 3]

In the same run: neomutt (Debian, installed by bench/install_peers.sh) opening a Maildir of
``--messages`` support mails (``bench_imap.make_mailbox``), from process start until its
index shows the message count, first with an empty header cache, then warm; and
``switchboard`` on a cache of 100,000 conversations (``bench.bigcache``, built if missing)
until its inbox rows appear (``bench_ui.tmux_figures``); and, as the floor under any Textual
program, a bare Textual app showing one line of text, from process start until that text
appears. Prints medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_imap import make_mailbox  # noqa: E402
from bench.bench_ui import Tmux, fmt, tmux_figures  # noqa: E402


def write_maildir(root: Path, n: int) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, (raw, when) in enumerate(make_mailbox(n, "support@example.test")):
        stamp = int(when.timestamp())
        path = root / "cur" / f"{stamp}.M{i:07d}P1.bench:2,S"
        path.write_bytes(raw)
        os.utime(path, (stamp, stamp))


def neomutt_paint(tmux: Tmux, maildir: Path, work: Path, n: int) -> float | None:
    rc = work / "neomuttrc"
    rc.write_text(f"set mbox_type=Maildir\nset folder={maildir}\nset spoolfile={maildir}\n"
                  f"set header_cache={work / 'hcache'}\nset sort=date\nset mail_check=0\n")
    session = "neomutt"
    t0 = time.perf_counter()
    tmux.run("new-session", "-d", "-s", session, "-x", "160", "-y", "50", f"neomutt -n -F {rc} -f {maildir}; sleep 30")
    try:
        while time.perf_counter() - t0 < 120:
            screen = tmux.capture(session)
            if f"Msgs:{n}" in screen.replace(",", ""):
                return (time.perf_counter() - t0) * 1000
            time.sleep(0.005)
        print("neomutt: no status line within 120 s:\n" + screen[-600:])
        return None
    finally:
        tmux.run("kill-session", "-t", session, check=False)
        time.sleep(0.3)


BARE_TEXTUAL = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("bare textual app painted")

Bare().run()
"""


def bare_textual_paint(tmux: Tmux, work: Path, runs: int) -> list[float]:
    """Process start -> first frame of a Textual app with one Static: what Textual itself costs here."""
    script = work / "bare_textual.py"
    script.write_text(BARE_TEXTUAL)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        tmux.run("new-session", "-d", "-s", "bare", "-x", "160", "-y", "50", f"{sys.executable} {script}; sleep 30")
        try:
            while time.perf_counter() - t0 < 20:
                if "bare textual app painted" in tmux.capture("bare"):
                    times.append((time.perf_counter() - t0) * 1000)
                    break
                time.sleep(0.002)
        finally:
            tmux.run("kill-session", "-t", "bare", check=False)
            time.sleep(0.3)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "sb-bench-big.sqlite3",
                    help="switchboard cache of 100k conversations (built with bench.bigcache if missing)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    subprocess.run(["bash", str(ROOT / "bench" / "install_peers.sh")], check=True)
    if not args.cache.exists():
        from bench.bigcache import build
        build(args.cache, conversations=100_000, messages=1_000_000, seed=1)
    work = Path(tempfile.mkdtemp(prefix="sb-bench-neomutt-"))
    try:
        maildir = work / "Maildir"
        write_maildir(maildir, args.messages)
        tmux = Tmux()  # a private tmux server, as for switchboard below
        try:
            cold = neomutt_paint(tmux, maildir, work, args.messages)
            warm = [t for t in (neomutt_paint(tmux, maildir, work, args.messages) for _ in range(args.runs)) if t]
            bare = bare_textual_paint(tmux, work, max(5, args.runs))
        finally:
            tmux.close()
        ours = tmux_figures(args.cache, args.runs, fps=("120",)) or {"paint": []}
        with sqlite3.connect(args.cache) as db:
            conversations = db.execute("SELECT COUNT(*) FROM threads").fetchone()[0]
        print(f"neomutt, {args.messages:,} messages in a Maildir: {cold:,.0f} ms cold header cache; "
              f"warm median {statistics.median(warm):,.0f} ms (runs {len(warm)})" if cold and warm else
              "neomutt: no figure")
        if ours["paint"]:
            print(f"switchboard, cache of {conversations:,} conversations: start -> inbox rows median "
                  f"{statistics.median(ours['paint']):,.0f} ms (min {min(ours['paint']):,.0f}, runs {len(ours['paint'])})")
        if bare:
            print(f"a bare Textual app (one Static), start -> its text: median {statistics.median(bare):,.0f} ms "
                  f"(min {min(bare):,.0f}, runs {len(bare)})")
        for name, label in (("step", "j"), ("page", "ctrl+d"), ("step_busy", "j, keys 150 ms apart"),
                            ("page_busy", "ctrl+d, keys 150 ms apart")):
            if ours.get(name):
                print(f"switchboard: {label} -> next frame written: {fmt(ours[name])}")
        if ours.get("floor"):
            print(f"the measuring floor (a program echoing the key, same tmux): {fmt(ours['floor'])}")
        for rate, pct in ours.get("idle_cpu", {}).items():
            print(f"switchboard: idle CPU at TEXTUAL_FPS={rate}: {pct:.2f} % of one core over 10 s")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
