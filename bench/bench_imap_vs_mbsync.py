"""Benchmark: `switchboard sync --once` beside mbsync, on the same mailbox from the same dovecot.

    .venv/bin/python -m bench.bench_imap_vs_mbsync [--sizes 10000,100000] [--keep DIR]

For each size: writes a Maildir of realistic support mail straight into a private
dovecot (inbox plus Sent, as :func:`bench.bench_imap.make_mailbox` makes it), lets
dovecot index it and warms the page cache, then times, whole process each:

- ``mbsync -a`` pulling every folder into an empty local Maildir (Debian ``isync``);
- ``switchboard sync --once`` into an empty cache (tone, triage, SLA and the search
  index included, as a user runs it);
- then one new message, and ``mbsync -a`` and ``switchboard sync --once`` again (the
  incremental pull each peer makes), the figures of every size side by side at the end.

Prints both rates and the ratio, and each peer's CPU seconds: for switchboard the whole
process tree's, its tone workers included (they are the forkserver's children, which
``getrusage`` never counts). ``--runs N`` times the first sync of each peer N times, one
after the other, and prints the median ratio beside every run's (the machine is shared:
compare within a run). Installs its peers with bench/install_peers.sh.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_imap import make_mailbox  # noqa: E402
from tests.support.servers.mail import PASSWORD, Dovecot, start_dovecot  # noqa: E402

ACCOUNT = "bench-mail"


def write_maildir(dv: Dovecot, agent: str, mailbox: list[tuple[bytes, datetime]]) -> Path:
    """The mailbox as files in the user's Maildir: customers' mail in INBOX, ours in Sent."""
    dv.write_maildir(agent, ((("Sent", raw, when, True) if b"From: Support" in raw[:300] else ("INBOX", raw, when, False))
                             for raw, when in mailbox))
    local, domain = agent.split("@")
    return dv.dir / "mail" / domain / local / "Maildir"


def warm(dv: Dovecot, agent: str, root: Path) -> None:
    """Let dovecot index both folders and read every file once, so neither peer pays for it."""
    for p in root.rglob("*"):
        if p.is_file():
            p.read_bytes()
    client = dv.imap(agent)
    try:
        for folder in ("INBOX", "Sent"):
            client.select_folder(folder, readonly=True)
            client._imap.fetch("1:*", "(FLAGS INTERNALDATE RFC822.SIZE)")  # imaplib's own call takes a range
    finally:
        client.logout()


def run_mbsync(dv: Dovecot, agent: str, work: Path, fresh: bool = True) -> tuple[float, int, float]:
    """Wall seconds of ``mbsync -a``, the messages it holds and its CPU seconds; ``fresh``: into an
    empty Maildir, else on top of the last run (its own incremental sync)."""
    local = work / "mbsync-local"
    if fresh and local.exists():
        shutil.rmtree(local)
    local.mkdir(parents=True, exist_ok=True)
    conf = work / "mbsyncrc"
    conf.write_text(f"""IMAPAccount bench
Host 127.0.0.1
Port {dv.imap_port}
User {agent}
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel bench
Far :bench-far:
Near :bench-near:
Patterns INBOX Sent
Create Near
Sync Pull
SyncState *
""")
    cpu = child_cpu()
    start = time.perf_counter()
    proc = subprocess.run(["mbsync", "-q", "-c", str(conf), "-a"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"mbsync failed ({proc.returncode}): {proc.stderr.strip()[:400]}")
    count = sum(1 for p in local.rglob("*") if p.is_file() and p.parent.name in ("cur", "new"))
    return elapsed, count, child_cpu() - cpu


def switchboard_env(work: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="tests.support.keyring_backend.FileKeyring",
               SWITCHBOARD_TEST_KEYRING=str(work / "keyring.json"))
    env.pop("CI", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules are cached after the first run
    return env


def setup_switchboard(dv: Dovecot, agent: str, work: Path) -> tuple[Path, Path]:
    conf = work / "config.toml"
    conf.write_text(f"""[agent]
name = "Bench Agent"

[sync]
window_days = 90

[[accounts]]
name = "{ACCOUNT}"
provider = "imap"
host = "127.0.0.1"
port = {dv.imap_port}
security = "none"
username = "{agent}"
from = "Support <{agent}>"
""")
    (work / "keyring.json").write_text('{"switchboard\\u0000%s": "%s"}' % (ACCOUNT, PASSWORD))
    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    return conf, data


def child_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _tree_cpu(root: int, seen: dict[int, float]) -> None:
    """The CPU seconds so far of ``root`` and every process under it (Linux /proc), kept in ``seen``."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            procs[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    mine, grew = {root}, True
    while grew:
        grew = False
        for pid, (parent, _) in procs.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    for pid in mine & procs.keys():
        seen[pid] = max(seen.get(pid, 0.0), procs[pid][1])


def run_switchboard(conf: Path, data: Path, work: Path, profile: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one whole `switchboard sync --once`: the CPU of the whole process tree
    where /proc can be read (every 0.1 s: a worker's last tenth of a second may be missed), else of the
    processes getrusage counts."""
    python = ROOT / ".venv" / "bin" / "python"
    command = [str(python), "-m", "console"]
    if profile:  # py-spy samples every thread (the adapter's worker too), with native code
        command = [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--threads", "--format", "raw", "-r", "200",
                   "-o", str(profile), "--", *command]
    cpu = child_cpu()
    seen: dict[int, float] = {}
    start = time.perf_counter()
    # cwd: `python -m` puts the current folder first on sys.path, ahead of PYTHONPATH (this checkout).
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([*command, "--config", str(conf), "--data-dir", str(data), "sync", "--once"], cwd=ROOT,
                                env=switchboard_env(work), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, text=True)
        while proc.poll() is None:
            if os.path.isdir("/proc"):
                _tree_cpu(proc.pid, seen)
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"switchboard sync failed ({proc.returncode}): {err.read().strip()[-600:]}")
    return elapsed, max(child_cpu() - cpu, sum(seen.values()))


def cache_counts(data: Path) -> tuple[int, int]:
    path = next(data.rglob("*.sqlite3"))
    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM threads").fetchone()[0])
    finally:
        db.close()


def one_new(dv: Dovecot, agent: str) -> None:
    raw = (f"From: Late Customer <late@example.org>\r\nTo: {agent}\r\nSubject: One more question\r\n"
           f"Message-ID: <late-{time.time_ns()}@example.org>\r\nDate: {format_datetime(datetime.now(timezone.utc))}"
           "\r\n\r\nIs my parcel on its way?\r\n").encode()
    client = dv.imap(agent)
    try:
        client.append("INBOX", raw)
    finally:
        client.logout()


def bench_size(n: int, work: Path, profile: Path | None, runs: int = 1) -> dict:
    dv = start_dovecot(work / "dovecot")
    try:
        agent = dv.add_user("bench")
        t = time.perf_counter()
        mailbox = make_mailbox(n, agent)
        root = write_maildir(dv, agent, mailbox)
        warm(dv, agent, root)
        size_mb = sum(len(r) for r, _ in mailbox) / 1e6
        print(f"\n{n:,} messages ({size_mb:.1f} MB): Maildir written and indexed in {time.perf_counter() - t:.1f} s")
        ratios = []
        for run in range(runs):
            mb_s, mb_n, mb_cpu = run_mbsync(dv, agent, work)
            conf, data = setup_switchboard(dv, agent, work)
            sb_s, sb_cpu = run_switchboard(conf, data, work, profile if run == 0 else None)
            sb_n, threads = cache_counts(data)
            mb_rate, sb_rate = mb_n / mb_s, sb_n / sb_s
            ratios.append(sb_rate / mb_rate)
            if runs > 1:
                print(f"  run {run + 1} of {runs}:")
            print(f"  mbsync -a:                 {mb_n:>7,} messages in {mb_s:6.2f} s = {mb_rate:7,.0f} msg/s "
                  f"({mb_cpu:.2f} s CPU)")
            print(f"  switchboard sync --once:   {sb_n:>7,} messages in {sb_s:6.2f} s = {sb_rate:7,.0f} msg/s "
                  f"({threads:,} conversations; tone, triage, SLA, search index included; {sb_cpu:.2f} s CPU)")
            print(f"  ratio switchboard/mbsync:  {ratios[-1]:.2f}")
        if runs > 1:
            print(f"  median ratio of {runs} runs: {statistics.median(ratios):.2f} "
                  f"(each: {', '.join(f'{r:.2f}' for r in ratios)})")
        runs = []
        for _ in range(3):  # the median of three: one new message each time
            one_new(dv, agent)
            mb_inc, _, _ = run_mbsync(dv, agent, work, fresh=False)
            one_new(dv, agent)
            runs.append((*run_switchboard(conf, data, work), mb_inc))
        inc_s, inc_cpu, mb_inc = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"  then one new message:      switchboard sync --once {inc_s:.2f} s (whole command, {inc_cpu:.2f} s CPU); "
              f"mbsync -a {mb_inc:.2f} s (median of {len(runs)})")
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        return {"n": n, "inc": inc_s, "inc_cpu": inc_cpu, "mbsync_inc": mb_inc, "ratio": statistics.median(ratios)}
    finally:
        dv.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated mailbox sizes")
    ap.add_argument("--profile", metavar="FILE", type=Path,
                    help="run the first switchboard sync under py-spy (pip install py-spy), writing collapsed stacks to FILE")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder, removed)")
    ap.add_argument("--runs", type=int, default=1, metavar="N", help="time each first sync N times (default 1)")
    args = ap.parse_args()
    subprocess.run(["bash", str(ROOT / "bench" / "install_peers.sh")], check=True)
    done = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        work = Path(args.keep) / str(n) if args.keep else Path(tempfile.mkdtemp(prefix="sb-bench-mbsync-"))
        work.mkdir(parents=True, exist_ok=True)
        try:
            done.append(bench_size(n, work, args.profile, max(1, args.runs)))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    print("\nfirst sync, ratio switchboard/mbsync: " + "; ".join(f"{d['n']:,}: {d['ratio']:.2f}" for d in done))
    print("one new message, whole command (median of 3): " + "; ".join(
        f"{d['n']:,}: switchboard {d['inc']:.2f} s ({d['inc_cpu']:.2f} s CPU) vs mbsync {d['mbsync_inc']:.2f} s"
        for d in done))


if __name__ == "__main__":
    main()
