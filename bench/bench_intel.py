"""Service-intelligence benchmark: what reading one customer message costs.

    python -m bench.bench_intel

Prints milliseconds per message (first call, p50, p95) for tone (``tone.classify``),
suggestion ranking against the demo's help centre (``knowledge.search``), and the whole
``explain`` (scratch cache, ingest, service, suggestions) on the hand-labelled messages in
tests/core/data. Nothing is asserted.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from console import knowledge, tone
from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.config import parse as parse_config
from console.explain import explain
from providers.demo import content
from providers.records import Batch

DATA = Path(__file__).resolve().parents[1] / "tests" / "core" / "data"
DEMO_CONFIG = Path(__file__).resolve().parents[1] / "console" / "demo_config.toml"


def messages() -> list[str]:
    out = []
    for name in ("tone_tuning.tsv", "tone_heldout.tsv"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                out.append(line.split("\t")[2].replace("\\n", "\n"))
    return out


def per_message(label: str, fn, texts: list[str]) -> None:
    t = time.perf_counter()
    fn(texts[0])
    first = (time.perf_counter() - t) * 1000
    times = []
    for text in texts:
        t = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(f"{label:34} first {first:7.2f} ms   p50 {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms"
          f"   ({len(texts)} messages)")


def main() -> None:
    texts = messages()
    db = connect(":memory:")
    acc = ensure_account(db, "help-center", "demo", "knowledge")
    apply_batch(db, acc, Batch(cursor="k", articles=content.help_centre()))
    config = parse_config(DEMO_CONFIG.read_text(encoding="utf-8"), "demo_config.toml")
    per_message("tone.classify", tone.classify, texts)
    per_message("knowledge.search (26 articles)", lambda text: knowledge.search(db, text, 3), texts)
    per_message("explain (demo config and help centre)",
                lambda text: explain(config, text, channel="email", knowledge_from=db), texts)


if __name__ == "__main__":
    main()
