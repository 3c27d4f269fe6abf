"""What ``switchboard explain`` costs per message, against its budget of 20 ms.

    python -m bench.bench_explain [--repeats 3]

Runs the real ``explain`` (scratch cache, ingest, the service's tone and triage, SLA,
suggestions) with the demo's config and 26-article help centre on every hand-labelled
message and question in tests/core/data — the held-out ones too, which the rules never saw —
and prints milliseconds per message: the first call (it loads VADER and builds the ranking
index), p50, p95, the slowest, how many went over 20 ms, and the CPU time's p50 (on a shared
machine wall-clock outliers are mostly waiting for a core; the load average is printed).
``tone.classify`` alone is printed beside it. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from console import tone
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.config import parse as parse_config
from console.explain import explain
from providers.demo import content
from providers.records import Batch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "core" / "data"
BUDGET_MS = 20.0


def texts() -> list[str]:
    out = []
    for name, column in (("tone_tuning.tsv", 2), ("tone_heldout.tsv", 2), ("kb_questions.tsv", 2)):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                out.append(line.split("\t")[column].replace("\\n", "\n"))
    return out


def report(label: str, fn, items: list[str], repeats: int) -> None:
    t = time.perf_counter()
    fn(items[0])
    first = (time.perf_counter() - t) * 1000
    times, cpu = [], []
    for _ in range(repeats):
        for text in items:
            t, c = time.perf_counter(), time.process_time()
            fn(text)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    over = sum(1 for ms in times if ms > BUDGET_MS)
    print(f"{label:28} first {first:7.2f} ms  p50 {statistics.median(times):6.2f} ms  p95 {p95:6.2f} ms  "
          f"max {times[-1]:6.2f} ms  over {BUDGET_MS:.0f} ms: {over} of {len(times)}  (CPU p50 {statistics.median(cpu):.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes over the messages (default 3)")
    args = parser.parse_args()
    items = texts()
    kb = connect(":memory:")
    acc = ensure_account(kb, "help-center", "demo", "knowledge")
    apply_batch(kb, acc, Batch(cursor="k", articles=content.help_centre()))
    config = parse_config((ROOT / "console" / "demo_config.toml").read_text(encoding="utf-8"), "demo_config.toml")
    print(f"{len(items)} messages and questions from tests/core/data, {args.repeats} passes, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    report("tone.classify", tone.classify, items, args.repeats)
    report("explain (demo config)", lambda text: explain(config, text, channel="email", knowledge_from=kb),
           items, args.repeats)


if __name__ == "__main__":
    main()
