"""Knowledge base: articles from a folder of Markdown files (and from adapters),
searched with FTS5 to suggest answers to the customer's latest question.

Suggestions are offered to the agent, who edits and sends; nothing here sends.

A folder article is one ``.md`` file; its title comes from front matter
(``title: …``) or the first ``# heading``, else the file name; ``tags:`` and
``url:`` may be given in the front matter::

    ---
    title: How refunds work
    tags: [billing, refund]
    url: https://help.example.com/refunds
    ---
    Body in Markdown …
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.cache.db import transaction
from console.cache.ingest import upsert_article
from console.errors import ConfigError

DEFAULT_FOOTER = "Did this answer your question? Reply and a person will help."
FOLDER_SOURCE = "folder"
# bm25 column weights: a word in the title counts far more than one in the body.
WEIGHTS = (10.0, 1.0, 4.0)  # title, body, tags

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

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def terms(text: str, limit: int = 12) -> list[str]:
    """Key words of a text: lower-cased, stop-words and numbers dropped, most frequent first, then first seen."""
    counts: dict[str, int] = {}
    for raw in _TOKEN.findall(text.lower()):
        word = raw.replace("'", "")
        if len(word) < 3 or word in STOP_WORDS or raw in STOP_WORDS or word.isdigit():
            continue
        counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda w: -counts[w])  # stable: ties keep first-seen order
    return ranked[:limit]


# --------------------------------------------------------------------------- settings


@dataclass
class Settings:
    folder: Path | None = None
    footer: bool = True  # offer the footer line when inserting an article
    footer_text: str = DEFAULT_FOOTER
    suggestions: int = 3


def parse(raw: dict, where: str = "config.toml", base: Path | None = None) -> Settings:
    section = raw.get("knowledge", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [knowledge] must be a table", fix='write [knowledge] with folder = "…"')
    unknown = set(section) - {"folder", "footer", "footer_text", "suggestions"}
    if unknown:
        raise ConfigError(f"{where}: [knowledge]: unknown setting {sorted(unknown)[0]!r}",
                          fix="use folder, footer, footer_text, suggestions")
    s = Settings()
    folder = section.get("folder")
    if folder is not None:
        if not isinstance(folder, str) or not folder:
            raise ConfigError(f"{where}: knowledge.folder must be a path", fix='e.g. folder = "~/help-articles"')
        path = Path(folder).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
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
    """title, tags, url, body of one Markdown file."""
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
    return {"title": title, "tags": [str(t) for t in tags], "url": str(meta.get("url", "")), "body": text.strip(),
            "meta": meta}


def front_matter(block: str) -> dict[str, Any]:
    """A small subset of YAML: ``key: value`` lines; ``[a, b]`` lists; true/false; quoted strings."""
    out: dict[str, Any] = {}
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
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
            upsert_article(db, FOLDER_SOURCE, rel, art["title"], art["body"], art["tags"], art["url"])
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
    terms: tuple[str, ...] = ()


def query_for(text: str) -> tuple[list[str], str]:
    """(key terms, FTS5 MATCH expression): each term quoted (no syntax injection), OR-ed."""
    words = terms(text)
    return words, " OR ".join(f'"{w}"' for w in words)


def search(db: sqlite3.Connection, text: str, limit: int = 3) -> list[Suggestion]:
    words, match = query_for(text)
    if not match:
        return []
    rows = db.execute(
        f"""SELECT a.id, a.title, a.url, bm25(articles_fts, {', '.join(map(str, WEIGHTS))}) AS rank,
                   snippet(articles_fts, 1, '', '', '…', 16) AS snip
            FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
            WHERE articles_fts MATCH ? ORDER BY rank, a.id LIMIT ?""", (match, limit)).fetchall()
    return [Suggestion(article_id=r["id"], title=r["title"], snippet=" ".join(r["snip"].split()), url=r["url"],
                       score=round(-r["rank"], 4), terms=tuple(words)) for r in rows]


def suggest(db: sqlite3.Connection, thread_id: int, limit: int = 3) -> list[Suggestion]:
    """Articles for the conversation's subject and the customer's latest inbound message.

    When the latest message says nothing searchable ("Still waiting!"), the subject and
    the customer's earlier messages are searched instead.
    """
    from console.tone import strip_quoted  # quoted history and signatures are noise for the search

    rows = db.execute(
        """SELECT text FROM messages WHERE thread_id=? AND direction='inbound' AND text != ''
           ORDER BY sent_at DESC, id DESC LIMIT 5""", (thread_id,)).fetchall()
    if not rows:
        return []
    subject_row = db.execute("SELECT subject FROM threads WHERE id=?", (thread_id,)).fetchone()
    subject = subject_row[0] if subject_row else ""
    latest = strip_quoted(rows[0]["text"])
    found = search(db, f"{subject}\n{latest}", limit)
    if found or len(rows) == 1:
        return found
    earlier = "\n".join(strip_quoted(r["text"]) for r in rows)
    return search(db, f"{subject}\n{earlier}", limit)


def insert_text(db: sqlite3.Connection, article_id: int, footer: bool, footer_text: str | None = None) -> str:
    """A block the agent edits before sending: title, the article's opening, its link, and the optional footer."""
    row = db.execute("SELECT title, body, url FROM articles WHERE id=?", (article_id,)).fetchone()
    if row is None:
        raise LookupError(f"no article {article_id}")
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
