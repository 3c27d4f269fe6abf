"""How long making provider text inert takes, per message, for the ingest path.

    .venv/bin/python -m bench.bench_text [--messages 20000]

Prints the median time of ``clean_text`` over a corpus of message bodies (English and
German words; one in ten with a Persian ZWNJ or an emoji ZWJ sequence, one in ten with a
hostile payload of escapes or invisible characters), of ``clean_line`` on subjects, and
of ``html_to_text`` on ordinary and 600-deep HTML. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from providers.text import clean_line, clean_text, html_to_text

WORDS = ("order parcel refund late broken thanks please help invoice address Grüße aus Köln Straße "
         "❤️ https://shop.example/o/42").split()
JOINED = ("می\u200cخواهم", "👨\u200d👩\u200d👧", "👍🏽")  # joiners real text needs
HOSTILE = ("\x1b]52;c;ZXZpbA==\x07", "\u200b", "\u202e", "\U000e0041", "\x1b[2J", "[@click=app.quit]x[/]")


def corpus(n: int, rng: random.Random) -> list[str]:
    """Bodies of 20-300 words; one in ten carries a joined word, one in ten a hostile payload."""
    out = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(20, 300))]
        for every, extra in ((10, JOINED), (10, HOSTILE)):
            if rng.randrange(every) == 0:
                words.insert(rng.randrange(len(words)), rng.choice(extra))
        out.append(" ".join(words) + "\n\n-- \nCasey")
    return out


def timed(fn, items, repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for item in items:
            fn(item)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20000)
    args = ap.parse_args()
    rng = random.Random(1)
    bodies = corpus(args.messages, rng)
    chars = sum(map(len, bodies))
    subjects = [" ".join(rng.choice(WORDS) for _ in range(6)) for _ in range(args.messages)]
    t = timed(clean_text, bodies)
    print(f"clean_text   {args.messages} bodies, {chars / 1e6:.1f} M chars: {t * 1e3:.0f} ms "
          f"({t / args.messages * 1e6:.1f} µs/message, {t / chars * 1e9:.0f} ns/char)")
    t = timed(clean_line, subjects)
    print(f"clean_line   {args.messages} subjects: {t * 1e3:.0f} ms ({t / args.messages * 1e6:.1f} µs/subject)")
    html = ["<html><body><p>" + b.replace("\n", "<br>") + "</p><table><tr><td>a</td></tr></table></body></html>"
            for b in bodies[:2000]]
    t = timed(html_to_text, html, repeats=3)
    print(f"html_to_text 2000 ordinary bodies: {t * 1e3:.0f} ms ({t / 2000 * 1e3:.2f} ms/message)")
    deep = ["<div>" * 600 + b + "</div>" * 600 for b in bodies[:200]]
    t = timed(html_to_text, deep, repeats=3)
    print(f"html_to_text 200 bodies nested 600 deep: {t * 1e3:.0f} ms ({t / 200 * 1e3:.2f} ms/message)")


if __name__ == "__main__":
    main()
