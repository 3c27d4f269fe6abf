"""Cache benchmark: prints figures for the screens' queries on a big cache.

    python -m bench.bench_cache            # 100k conversations / 1M messages
    python -m bench.bench_cache --small    # 10k / 100k, a quick run
    python -m bench.bench_cache --path big.sqlite3 --keep   # reuse / keep the file

Figures are medians and 95th percentiles over ``--repeats`` runs on a warm
connection, plus the first run on a fresh connection ("first"). Nothing is asserted:
compare with the targets in shared/notes/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bigcache import build
from console.cache import connect
from console.cache.queries import ALL_STATES, Filter, inbox_at, inbox_count, inbox_page, search_threads


def measure(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """(first, p50, p95) in milliseconds; ``first`` is the call before any repeat."""
    t = time.perf_counter()
    fn()
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return first, statistics.median(times), p95


def row(label: str, figures: tuple[float, float, float], note: str = "") -> None:
    first, p50, p95 = figures
    print(f"  {label:<44} first {first:9.3f} ms   p50 {p50:9.3f} ms   p95 {p95:9.3f} ms  {note}")


def disk_size(path: Path) -> int:
    return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())


def run(path: Path, conversations: int, messages: int, repeats: int, reuse: bool, what_if: bool = False) -> None:
    print(f"Switchboard cache benchmark: {conversations:,} conversations, {messages:,} messages")
    print(f"  cache file: {path}")
    if reuse and path.exists():
        print("  (reusing the existing file; generation not timed)")
    else:
        t = time.perf_counter()
        stats = build(path, conversations, messages, seed=1, overwrite=True)
        total = time.perf_counter() - t
        print(f"  generate + load rows (one transaction):    {stats['load_seconds']:8.2f} s")
        print(f"  FTS5 rebuild after the load:               {stats['fts_seconds']:8.2f} s")
        print(f"  total build:                               {total:8.2f} s")
    size = disk_size(path)
    db = connect(path)
    fts_pages = db.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'messages_fts%'").fetchone()[0] \
        if _has_dbstat(db) else None
    print(f"  cache size on disk:                        {size / 1e6:8.0f} MB"
          + (f"  (FTS5 {fts_pages / 1e6:.0f} MB)" if fts_pages else ""))
    print()

    due = Filter()  # the default view: open + pending, by SLA due time (fair order)
    recent = Filter(statuses=ALL_STATES, order="recent")
    n_due, n_all = inbox_count(db, due), inbox_count(db, recent)
    print(f"Inbox ({n_due:,} open+pending by due time; {n_all:,} in 'all, newest first'), pages of 50 rows")
    row("first page, due order", measure(lambda: inbox_page(db, due, limit=50), repeats))
    row("first page, newest first (all)", measure(lambda: inbox_page(db, recent, limit=50), repeats))
    for f, n, label in ((due, n_due, "due"), (recent, n_all, "all")):
        depth = max(0, min(n - 50, n // 2))
        anchor = inbox_at(db, f, depth - 1, limit=1)[0].key if depth > 0 else None
        row(f"page at row {depth:,} ({label}) by keyset", measure(lambda: inbox_page(db, f, after=anchor, limit=50),
                                                                   repeats))
        row(f"page at row {depth:,} ({label}) by OFFSET (inbox_at)",
            measure(lambda: inbox_at(db, f, depth, limit=50), repeats))
        assert [r.id for r in inbox_page(db, f, after=anchor, limit=50)] == [r.id for r in inbox_at(db, f, depth, 50)]
    a = inbox_page(db, recent, limit=50)[-1].key
    row("page backwards (before=key), all", measure(lambda: inbox_page(db, recent, before=a, limit=50), repeats))
    print()
    print("Counts")
    row("inbox_count, open+pending", measure(lambda: inbox_count(db, due), repeats))
    row("inbox_count, all", measure(lambda: inbox_count(db, recent), repeats))
    row("GROUP BY status, channel (dashboard)", measure(
        lambda: db.execute("SELECT status, channel, COUNT(*) FROM threads GROUP BY status, channel").fetchall(),
        repeats))
    print()
    rare = db.execute("SELECT 'NW-' || (200000 + id) FROM threads WHERE id = ?",
                      (max(1, conversations // 3),)).fetchone()[0]
    print(f"Search (search_threads, newest first, up to 200 threads); rare word {rare!r}")
    for word, note in ((rare, "one conversation"), ("refund", "common"), ("order", "very common"),
                       ("tracking depot", "two words"), ("zzzunknown", "no match")):
        hits = len(search_threads(db, word))
        row(f"{word!r}", measure(lambda: search_threads(db, word), repeats), f"{hits} threads ({note})")
    if what_if:
        print()
        print("What if: indexes on threads(sort_due, id) and threads(last_message_at, id), then ANALYZE")
        t = time.perf_counter()
        db.execute("CREATE INDEX IF NOT EXISTS whatif_due ON threads(sort_due, id)")
        db.execute("CREATE INDEX IF NOT EXISTS whatif_recent ON threads(last_message_at, id)")
        db.execute("ANALYZE")
        print(f"  (indexes + ANALYZE took {time.perf_counter() - t:.2f} s)")
        row("first page, due order", measure(lambda: inbox_page(db, due, limit=50), repeats))
        row("first page, newest first (all)", measure(lambda: inbox_page(db, recent, limit=50), repeats))
    db.close()


def _has_dbstat(db) -> bool:
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1").fetchall()
        return True
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_cache", description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="10k conversations / 100k messages")
    ap.add_argument("--path", help="cache file to use (default: a temporary file, deleted afterwards)")
    ap.add_argument("--keep", action="store_true", help="reuse the file at --path if it exists and keep it")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--what-if-indexes", action="store_true",
                    help="afterwards add two ordering indexes + ANALYZE to the file and time the first pages again")
    a = ap.parse_args(argv)
    conversations, messages = (10_000, 100_000) if a.small else (100_000, 1_000_000)
    if a.path:
        run(Path(a.path), conversations, messages, a.repeats, reuse=a.keep, what_if=a.what_if_indexes)
        return 0
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        run(Path(tmp) / "bench.sqlite3", conversations, messages, a.repeats, reuse=False, what_if=a.what_if_indexes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
