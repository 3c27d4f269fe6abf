"""The agent's-day benchmark: people search, the Drafts view, merged conversations and
bulk actions on a big cache. Prints figures; asserts nothing.

    python -m bench.bench_workflow             # 100k conversations / 1M messages
    python -m bench.bench_workflow --small     # 10k / 100k
    python -m bench.bench_workflow --path big.sqlite3 --keep   # reuse / keep the file

Each search line is a view's first page (``inbox_page``, 100 rows) for the query as the
search bar parses it: first call on the connection, then p50/p95 over ``--repeats``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.bench_cache import measure, row
from bench.bigcache import build
from console.actions import Context, perform
from console.cache import connect, queries
from console.views import builtin_views, jump_letters, parse_query

QUERIES = (
    ("from: a whole email address", "from:{email}"),
    ("from: an email prefix shared by many", "from:emma."),
    ("a bare fediverse handle", "@{slug}@social.example"),
    ("from: phone digits (prefix)", "from:+1555000"),
    ("assignee: first name", "assignee:Tom"),
    ("person and a word", "refund from:emma."),
    ("from: a plain word (author name or address prefix)", "from:emma"),
    ("a plain from: word and a word", "refund from:emma"),
)


def run(path: Path, conversations: int, messages: int, repeats: int, reuse: bool) -> None:
    print(f"Switchboard workflow benchmark: {conversations:,} conversations, {messages:,} messages")
    if not (reuse and path.exists()):
        build(path, conversations, messages, seed=1, overwrite=True)
    db = connect(path)
    email = db.execute("SELECT address FROM identities WHERE channel='email' ORDER BY id DESC LIMIT 1").fetchone()[0]
    slug = email.split("@")[0]
    print("  search, first page of the view:")
    for label, text in QUERIES:
        query = text.format(email=email, slug=slug)
        words, flt, author = parse_query(query, agent="Sam Rivera")

        def page(words=words, flt=flt, author=author):
            if words or author:
                ids = queries.search_threads(db, words, author=author)
                return queries.inbox_by_ids(db, flt.with_(thread_ids=tuple(ids)))
            return queries.inbox_page(db, flt)

        n = len(page())
        row(f"{query[:40]}", measure(page, repeats), f"{n} rows · {label}")

    ctx = Context(db, agent="Sam Rivera")
    ids = [r[0] for r in db.execute("SELECT id FROM threads WHERE status='open' ORDER BY id LIMIT 200")]
    for tid in ids:
        perform(ctx, "save_draft", tid, text="half a reply")
    drafts = jump_letters(builtin_views("Sam Rivera"))["d"].filter
    row("Drafts view, 200 drafts", measure(lambda: queries.inbox_page(db, drafts), repeats),
        f"{len(queries.inbox_page(db, drafts))} rows")
    row("conversations_with_drafts (quit question)", measure(lambda: queries.conversations_with_drafts(db), repeats))
    for tid in ids:
        perform(ctx, "discard_draft", tid)

    big = db.execute("SELECT thread_id FROM messages GROUP BY thread_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    row("messages_tail(50), the largest conversation", measure(lambda: queries.messages_tail(db, big, 50), repeats))
    other = db.execute("SELECT t.id FROM threads t JOIN threads b ON b.id=? WHERE t.customer_id=b.customer_id "
                       "AND t.id != b.id LIMIT 1", (big,)).fetchone()
    if other:
        perform(ctx, "merge_conversations", big, other=other[0])
        row("  … the same with a conversation merged in", measure(lambda: queries.messages_tail(db, big, 50), repeats))
        perform(ctx, "unmerge_conversation", big)

    for n in (10, 100, 1000):
        batch = [r[0] for r in db.execute("SELECT id FROM threads WHERE status='open' ORDER BY id LIMIT ?", (n,))]
        t = time.perf_counter()
        result = perform(ctx, "bulk", action="close", threads=batch)
        closed = time.perf_counter() - t
        t = time.perf_counter()
        perform(ctx, "undo")
        undone = time.perf_counter() - t
        print(f"  bulk close of {n:>5} conversations   {closed * 1000:9.1f} ms   undo {undone * 1000:9.1f} ms"
              f"   ({result.message.split(';')[0]})")
    db.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="10k conversations / 100k messages")
    p.add_argument("--path", type=Path, help="cache file to build (or reuse with --keep)")
    p.add_argument("--keep", action="store_true", help="reuse the file if it exists and keep it afterwards")
    p.add_argument("--repeats", type=int, default=30)
    a = p.parse_args()
    conversations, messages = (10_000, 100_000) if a.small else (100_000, 1_000_000)
    if a.path:
        run(a.path, conversations, messages, a.repeats, a.keep)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp) / "workflow.sqlite3", conversations, messages, a.repeats, False)


if __name__ == "__main__":
    main()
