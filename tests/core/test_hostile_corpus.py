"""A hostile corpus through the real dovecot: what a customer can put in headers and
bodies (zero-width and bidi characters, tag characters, ESC sequences, OSC 52, Rich
markup, entities that decode to controls, HTML nested 600 deep) is synced by
`switchboard sync --once`, and nothing invisible or escape-like is in what the cache
stores or what the CLI prints; markup arrives as literal text."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
import uuid
from email.header import Header

import pytest

from tests.core.test_sync_failures import Run, h, imap_options  # noqa: F401  (fixture and helpers)
from tests.support.servers.mail import dovecot, smtp_server  # noqa: F401

pytestmark = pytest.mark.timeout(300)

MARKUP = "[@click=app.quit]x[/] [/bold] [red]"
ZW = "\u200b\u200c\u200d\u2060\ufeff\u061c"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
TAGS = "\U000e0001\U000e0053\U000e0075\U000e007f"
ESCAPES = "\x1b]52;c;ZXZpbA==\x07\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[31m\x9b2J\x07\x08"


def _encoded(text: str) -> str:
    return Header(text, "utf-8").encode()


def corpus(customer: str, agent: str) -> list[bytes]:
    def mail(subject_header: str, from_header: str, body: str, content_type: str = "text/plain",
             extra: str = "") -> bytes:
        head = (f"From: {from_header}\r\nTo: {agent}\r\nSubject: {subject_header}\r\n"
                f"Message-ID: <{uuid.uuid4().hex}@customer.example>\r\n{extra}MIME-Version: 1.0\r\n"
                f"Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
        return head.encode("utf-8", "surrogateescape") + body.encode("utf-8") + b"\r\n"

    deep = "<div>" * 600 + f"Deep{ZW}text{BIDI} &#27;]52;c;eA==&#7; &#x200b;{MARKUP}" + "</div>" * 600
    return [
        mail(_encoded(f"Sup{ZW}port ticket"), f"{_encoded('Sup' + ZW + 'port')} <{customer}>", f"zero{ZW}width"),
        mail(_encoded(f"{BIDI}gpj.exe"), f"{_encoded(chr(0x202e) + 'troppuS')} <{customer}>", f"bidi{BIDI}body"),
        mail(f"raw esc \x1b]52;c;ZXZpbA==\x07 subject", f"Casey <{customer}>", f"body {ESCAPES} end",
             extra="References: <a\x1b[2J@x> <b@y>\r\n"),
        mail(_encoded(f"encoded esc {ESCAPES} subject"), f"{_encoded('Tag' + TAGS + 'ged')} <{customer}>",
             f"tags{TAGS}body"),
        mail(MARKUP, f"{_encoded(MARKUP)} <{customer}>", f"markup {MARKUP} body"),
        mail("deep html", f"Casey <{customer}>", deep, content_type="text/html"),
        mail(_encoded("filler \u3164\u115f\u00ad name"), f"{_encoded(chr(0x3164))} <{customer}>",
             "soft\u00adhyphen \u2028line"),
    ]


def invisible(text: str) -> list[str]:
    """Characters a terminal would act on or a reader cannot see (newline and tab are text)."""
    return [c for c in text if c not in "\n\t" and (unicodedata.category(c) in ("Cc", "Cf")
                                                    or c in "\u3164\u115f\u1160\uffa0\u034f")]


def stored_strings(db: sqlite3.Connection):
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
        for row in db.execute(f'SELECT * FROM "{table}"'):
            for value in row:
                if isinstance(value, str):
                    yield table, value


def test_nothing_invisible_or_escape_like_reaches_the_cache_or_the_cli(h, tmp_path):
    for raw in corpus(h.customer, h.agent):
        h.append(raw)
    run = Run(tmp_path)
    run.account("mail", **imap_options(h))
    synced = run("sync", "--once")
    assert synced.returncode == 0, synced.stderr
    db = sqlite3.connect(run.data / "default.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 7
    bad = [(table, value[:80]) for table, value in stored_strings(db) if invisible(value)]
    assert bad == []

    exported = run("export")
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    strings = [s for r in rows for s in _strings(r)]
    assert [s for s in strings if invisible(s)] == []
    assert not invisible(exported.stdout + exported.stderr)
    subjects = {r["subject"] for r in rows}
    assert "Support ticket" in subjects, "zero-width characters cannot split a word"
    assert MARKUP in subjects, "markup is kept as literal text"
    names = {r["customer"]["name"] for r in rows} | {m["author"] for r in rows for m in r["messages"]}
    assert "Support" in names and "troppuS" in names, "what the sender wrote is shown as it reads"
    deep = next(r for r in rows if r["subject"] == "deep html")
    assert "Deeptext" in deep["messages"][0]["text"] and MARKUP in deep["messages"][0]["text"]

    for command in (["report"], ["accounts", "list"], ["do", "--list"]):
        out = run(*command)
        assert not invisible(out.stdout + out.stderr), command


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
