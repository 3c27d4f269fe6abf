"""Knowledge base: articles from a folder of Markdown files (and from adapters), ranked
(``console/relevance.py``) to suggest answers to the customer's question; poor fits are
not shown.

Suggestions are offered to the agent, who edits and sends; nothing here sends.

A folder article is one ``.md`` file; its title comes from front matter
(``title: …``) or the first ``# heading``, else the file name; ``tags:``,
``url:`` and ``questions:`` (other ways customers ask what it answers, one per
line; they count as the article's own words) may be given in the front matter::

    ---
    title: How refunds work
    tags: [billing, refund]
    url: https://help.example.com/refunds
    questions:
      - still no money back, it's been a week
      - when does the cash hit my card?
    ---
    Body in Markdown …
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from console import meaning, relevance, sections
from console.cache.db import open_existing, transaction
from console.cache.ingest import upsert_article
from console.errors import ConfigError
from console.quotes import strip_quoted  # quoted history and signatures are noise for the search

DEFAULT_FOOTER = "Did this answer your question? Reply and a person will help."
FOLDER_SOURCE = "folder"

# Words that say nothing about a problem (the dashboard's complaint words leave them out).
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
for from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself
him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most
mustn't my myself no nor not now of off on once only or other ought our ours ourselves out over own same shan't
she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then there
there's these they they'd they'll they're they've this those through to too under until up very was wasn't we
we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom why why's
will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
hi hello hey dear thanks thank please regards best kind cheers sincerely team support hope help
im ive dont cant wont didnt doesnt isnt wasnt youre thats whats theres still yet already would like want need
know think just really also one two get got getting make made way back today yesterday tomorrow week day days
thing things anything something everything someone anyone everyone ok okay yes yeah sure via
ago since tell told said say says ask asked lot much many even ever every monday tuesday wednesday thursday
friday saturday sunday january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
""".split())


# --------------------------------------------------------------------------- settings


@dataclass
class Settings:
    folder: Path | None = None
    footer: bool = True  # offer the footer line when inserting an article
    footer_text: str = DEFAULT_FOOTER
    suggestions: int = 3


def parse(raw: dict, where: str = "config.toml", base: Path | None = None) -> Settings:
    section = sections.table(raw, "knowledge", where, ("folder", "footer", "footer_text", "suggestions"),
                             write='write [knowledge] with folder = "…"',
                             use="use folder, footer, footer_text, suggestions") or {}
    s = Settings()
    folder = section.get("folder")
    if folder is not None:
        path = sections.folder_path(folder, f"{where}: knowledge.folder", base, example='folder = "~/help-articles"')
        if not path.is_dir():
            raise ConfigError(f"{where}: knowledge.folder {str(path)!r} is not a folder",
                              fix="create it, fix the path (relative paths start at the config file), or remove the line")
        s.folder = path
    footer = section.get("footer", True)
    if not isinstance(footer, bool):
        raise ConfigError(f"{where}: knowledge.footer must be true or false", fix="write footer = true")
    s.footer = footer
    text = section.get("footer_text", DEFAULT_FOOTER)
    if not isinstance(text, str):
        raise ConfigError(f"{where}: knowledge.footer_text must be a string", fix=f'e.g. footer_text = "{DEFAULT_FOOTER}"')
    s.footer_text = text
    n = section.get("suggestions", 3)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 20:
        raise ConfigError(f"{where}: knowledge.suggestions = {n!r}", fix="use a number from 1 to 20")
    s.suggestions = n
    return s


# --------------------------------------------------------------------------- the folder


def read_article(path: Path) -> dict[str, Any]:
    """title, tags, url, questions, body of one Markdown file."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    meta: dict[str, Any] = {}
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            meta = front_matter(text[4:end])
            text = text[end + 4:].lstrip("-").lstrip("\n")
    title = str(meta.get("title", "")).strip()
    if not title:
        m = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.M)
        if m:
            title = m.group(1).strip()
            text = (text[:m.start()] + text[m.end():]).strip("\n")
    if not title:
        title = path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    questions = meta.get("questions", [])
    if isinstance(questions, str):
        questions = [questions] if questions.strip() else []
    return {"title": title, "tags": [str(t) for t in tags], "url": str(meta.get("url", "")), "body": text.strip(),
            "questions": [str(q) for q in questions], "meta": meta}


def front_matter(block: str) -> dict[str, Any]:
    """A small subset of YAML: ``key: value`` lines; ``[a, b]`` lists and ``- item`` lines under
    ``key:``; true/false; quoted strings."""
    out: dict[str, Any] = {}
    listing: list | None = None  # the list that ``- item`` lines add to
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("- ") and listing is not None:
            listing.append(line.lstrip()[2:].strip().strip("'\""))
            continue
        listing = None
        if ":" not in line:
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if not value:
            listing = out[key.strip()] = []
        elif value.startswith("[") and value.endswith("]"):
            out[key.strip()] = [v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip()]
        elif value.lower() in ("true", "false"):
            out[key.strip()] = value.lower() == "true"
        else:
            out[key.strip()] = value.strip("'\"")
    return out


def index_folder(db: sqlite3.Connection, folder: Path) -> int:
    """(Re)index every ``*.md`` under ``folder`` as source "folder"; drop articles whose file is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"knowledge folder {folder} does not exist", fix="create it or fix [knowledge] folder")
    seen = []
    with transaction(db):
        for path in sorted(folder.rglob("*.md")):
            art = read_article(path)
            rel = path.relative_to(folder).as_posix()
            seen.append(rel)
            upsert_article(db, FOLDER_SOURCE, rel, art["title"], art["body"], art["tags"], art["url"], art["questions"])
        db.execute("DELETE FROM articles WHERE source=? AND remote_id NOT IN (SELECT value FROM json_each(?))",
                   (FOLDER_SOURCE, json.dumps(seen)))
    return len(seen)


# --------------------------------------------------------------------------- suggestions


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    title: str
    snippet: str  # plain text around the match; highlight ``terms`` with Text.highlight_words
    url: str
    score: float  # higher is better
    terms: tuple[str, ...] = ()  # the customer's words that matched
    confidence: float = 0.0  # share of the question's weight the article matches, 0 … 1


# Suggestions below this confidence (share of the question's weight an article matches) are not shown.
MIN_CONFIDENCE = 0.1
# Once one article fits, one that ranks close to it (this share of its score) is shown after it: the agent
# sees the near alternatives, and a question nothing fits still shows nothing.
RUNNER_UP = 0.8
LATEST, SUBJECT, EARLIER = 1.0, 0.6, 0.4  # how much each part of a conversation counts in its question


_index_cache: dict[tuple, relevance.Index] = {}


LEARN_FROM = 50  # the latest insertions of each article whose questions teach the ranking


def articles_version(db: sqlite3.Connection) -> tuple:
    """Changes whenever an article is added, removed or edited (what the caches of articles are keyed on)."""
    return tuple(db.execute(
        "SELECT COUNT(*), COALESCE(MAX(id), 0), "
        "TOTAL(LENGTH(title) + LENGTH(body) + LENGTH(tags) + LENGTH(url) + LENGTH(questions)), "
        "TOTAL(id * (LENGTH(title) + LENGTH(body) + LENGTH(tags) + LENGTH(url) + LENGTH(questions))) "
        "FROM articles").fetchone())


def _index(db: sqlite3.Connection) -> relevance.Index:
    """The ranking index of every article, rebuilt only when the articles or their insertions change."""
    key = articles_version(db) + tuple(db.execute("SELECT COALESCE(MAX(id), 0) FROM article_uses").fetchone())
    index = _index_cache.get(key)
    if index is None:
        rows = db.execute("SELECT id, title, body, tags, questions FROM articles ORDER BY id").fetchall()
        index = relevance.Index.build([(r[0], r[1], r[2], _strings(r[3]), _strings(r[4])) for r in rows], _asked(db))
        _index_cache.clear()
        _index_cache[key] = index
    return index


_prepared = threading.Event()


def prepare(path: Path | None) -> None:
    """Load the ranking's models and build its index from a connection of its own (a worker's, off the
    screen's loop): ~0.7 s the first time, a stall if the first conversation to open waited for it.
    Once it has run (or failed), ``prepared`` is true and suggestions are worked out where they are asked."""
    try:
        relevance.preload()
        db = open_existing(path) if path is not None else None
        if db is not None:
            try:
                _index(db)
            finally:
                db.close()
    finally:
        _prepared.set()


def prepared() -> bool:
    return _prepared.is_set()


def _asked(db: sqlite3.Connection) -> dict[int, list[str]]:
    """Per article, the customer's first message in each conversation an agent inserted it into."""

    out: dict[int, list[str]] = {}
    for r in db.execute(
            """SELECT article_id, (SELECT m.text FROM messages m WHERE m.thread_id = u.thread_id
                                   AND m.direction = 'inbound' ORDER BY m.sent_at, m.id LIMIT 1) AS question
               FROM (SELECT article_id, thread_id, ROW_NUMBER() OVER (PARTITION BY article_id ORDER BY id DESC) AS n
                     FROM article_uses WHERE thread_id IS NOT NULL) u
               WHERE n <= ?""", (LEARN_FROM,)):
        if r["question"]:
            out.setdefault(r["article_id"], []).append(strip_quoted(r["question"]))
    return out


def _strings(text: str) -> list[str]:
    """A JSON list of strings from the cache (tags, questions); anything else reads as none."""
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(t) for t in value] if isinstance(value, list) else []


def ranked(db: sqlite3.Connection, parts: list[tuple[str, float]], limit: int = 3,
           min_confidence: float = MIN_CONFIDENCE) -> list[Suggestion]:
    """Articles for weighted texts ((text, weight), …), best first; poor fits are left out."""
    query = [(term, word, weight) for text, weight in parts for term, word in relevance.analyse(text)]
    candidates = _index(db).rank(query, limit * 4, meaning.vector(parts))
    words = sum(weight * len(relevance.words(text)) for text, weight in parts)
    fitting = [m for m in candidates if m.fits(min_confidence, words)]
    close = [m for m in candidates if fitting and m not in fitting and m.score >= RUNNER_UP * fitting[0].score]
    matches = (fitting + close)[:limit]
    if not matches:
        return []
    rows = {r["id"]: r for r in db.execute(
        "SELECT id, title, body, url FROM articles WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps([m.key for m in matches]),))}
    return [Suggestion(article_id=m.key, title=rows[m.key]["title"], snippet=_snippet(rows[m.key]["body"], m.terms),
                       url=rows[m.key]["url"], score=m.score, terms=m.terms, confidence=m.confidence)
            for m in matches]


def search(db: sqlite3.Connection, text: str, limit: int = 3) -> list[Suggestion]:
    return ranked(db, [(text, LATEST)], limit)


def _snippet(body: str, words: tuple[str, ...], width: int = 160) -> str:
    """The body's sentence sharing most terms with the question, cut to ``width``."""
    wanted = {t for w in words for t, _ in relevance.analyse(w)}
    sentences = _sentences(body)
    if not sentences:
        return ""
    best = max(sentences, key=lambda s: len(wanted & s[1]))[0]
    return best if len(best) <= width else best[:width - 1].rsplit(" ", 1)[0] + "…"


@lru_cache(maxsize=1024)
def _sentences(body: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """An article's sentences with their terms (read once per body, not once per suggestion)."""
    return tuple((s, frozenset(t for t, _ in relevance.analyse(s)))
                 for s in (s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(body.split()))) if s)


def conversation_parts(db: sqlite3.Connection, thread_id: int) -> list[tuple[str, float]]:
    """The conversation's question as weighted texts: the customer's latest message, the subject, earlier ones."""

    rows = db.execute(
        """SELECT text FROM messages WHERE thread_id=? AND direction='inbound' AND text != ''
           ORDER BY sent_at DESC, id DESC LIMIT 5""", (thread_id,)).fetchall()
    if not rows:
        return []
    subject_row = db.execute("SELECT subject FROM threads WHERE id=?", (thread_id,)).fetchone()
    parts = [(strip_quoted(rows[0]["text"]), LATEST)]
    if subject_row and subject_row[0]:
        parts.append((subject_row[0], SUBJECT))
    parts += [(strip_quoted(r["text"]), EARLIER) for r in rows[1:]]
    return parts


def suggest(db: sqlite3.Connection, thread_id: int, limit: int = 3) -> list[Suggestion]:
    """Articles for the customer's latest inbound message, helped by the subject and earlier messages.

    When the latest message says nothing searchable ("Still waiting!"), the subject and
    the earlier messages carry the question.
    """
    parts = conversation_parts(db, thread_id)
    return ranked(db, parts, limit) if parts else []


def record_use(db: sqlite3.Connection, article_id: int, thread_id: int | None, at: float | None = None) -> None:
    """Count one insertion of an article into a reply (the leaders' "articles inserted" figure)."""
    with transaction(db):
        db.execute("INSERT INTO article_uses(article_id, thread_id, at) VALUES (?,?,?)",
                   (article_id, thread_id, time.time() if at is None else at))


def insert_text(db: sqlite3.Connection, article_id: int, footer: bool, footer_text: str | None = None,
                thread_id: int | None = None) -> str:
    """A block the agent edits before sending: title, the article's opening, its link, and the optional footer.

    With ``thread_id`` (the conversation it goes into) the insertion is counted.
    """
    row = db.execute("SELECT title, body, url FROM articles WHERE id=?", (article_id,)).fetchone()
    if row is None:
        raise LookupError(f"no article {article_id}")
    if thread_id is not None:
        record_use(db, article_id, thread_id)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", row["body"]) if p.strip()]
    excerpt, used = [], 0
    for p in paragraphs:
        if used and used + len(p) > 600:
            break
        excerpt.append(p)
        used += len(p)
    lines = [f"From our help centre — {row['title']}:", ""]
    quoted = "\n>\n".join("\n".join("> " + line if line.strip() else ">" for line in p.splitlines())
                           for p in excerpt[:3])
    if quoted:
        lines.append(quoted)
    if row["url"]:
        lines += ["", f"Full article: {row['url']}"]
    if footer:
        lines += ["", footer_text if footer_text is not None else DEFAULT_FOOTER]
    return "\n".join(lines).strip() + "\n"
