"""`switchboard sync --once` against real servers that fail the way real ones do: a wrong
password, a server that hangs, a server that answers nonsense full of Rich markup and
escapes, a reply the SMTP server cannot take, a folder named ``[``. Each failure is one
plain line per account or send, naming the fix, the exit code is 1, and the account's
last error and fix stay in the cache for `switchboard accounts list`.

dovecot and the SMTP relay are the real servers of tests/support/servers/mail.py; the
hanging and the nonsense server are plain sockets on 127.0.0.1 (no IMAP server can be
made to misbehave on purpose)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.servers.common import free_port
from tests.support.servers.mail import PASSWORD, ImapHarness, dovecot, smtp_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def h(dovecot, smtp_server):
    return ImapHarness(dovecot, smtp_server)


class Run:
    """The CLI on one config and one data folder, as a cron job runs it."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = tmp_path / "config.toml"
        self.data = tmp_path / "data"

    def account(self, name: str, secret: str = PASSWORD, **options) -> None:
        lines = [f'[[accounts]]\nname = "{name}"\nprovider = "imap"\nsecurity = "none"\nsmtp_security = "none"']
        for key, value in options.items():
            lines.append(f"{key} = {value!r}" if not isinstance(value, list) else
                         f"{key} = [{', '.join(repr(v) for v in value)}]")
        with self.config.open("a", encoding="utf-8") as f:
            f.write("\n".join(lines).replace("'", '"') + "\n\n")
        added = self("accounts", "add", name, stdin=secret + "\n")
        assert added.returncode == 0, added.stderr

    def __call__(self, *args, stdin: str = ""):
        return subprocess.run(
            [sys.executable, "-m", "console", "--config", str(self.config), "--data-dir", str(self.data), *args],
            input=stdin, capture_output=True, text=True, timeout=240, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="60"))


def imap_options(h, **extra) -> dict:
    return {"host": "127.0.0.1", "port": h.dv.imap_port, "username": h.agent, "smtp_host": "127.0.0.1",
            "smtp_port": h.smtp.port, "from": f"Support <{h.agent}>", "timeout": 5.0, **extra}


def assert_plain(text: str) -> None:
    assert "Traceback" not in text and "Logging error" not in text
    assert not any(c in text for c in "\x1b\x07\x9b\x9d"), repr(text)


def line_of(proc, name: str) -> str:
    found = [line for line in proc.stderr.splitlines()
             if line.startswith(f"{name}: ") and not line.startswith(f"{name}: outbox ")]
    assert len(found) == 1, proc.stderr
    return found[0]


def test_a_wrong_password_is_one_line_with_the_fix_and_stays_known(h, tmp_path):
    run = Run(tmp_path)
    run.account("mail", secret="not-the-password", **imap_options(h))
    proc = run("sync", "--once")
    assert proc.returncode == 1
    assert_plain(proc.stderr)
    line = line_of(proc, "mail")
    assert line.startswith("mail: auth failed") and "retry in" not in line
    assert "switchboard accounts add mail" in line
    for listing in (["accounts"], ["accounts", "list"]):
        listed = run(*listing)
        assert listed.returncode == 0
        assert "last sync failed" in listed.stdout and "switchboard accounts add mail" in listed.stdout
    # The right password clears it.
    run("accounts", "add", "mail", stdin=PASSWORD + "\n")
    assert run("sync", "--once").returncode == 0
    assert "last sync failed" not in run("accounts", "list").stdout


def _serve(listener: socket.socket, greeting: bytes | None, answer: bytes | None, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    conns = []
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        conns.append(conn)
        if greeting is not None:
            conn.sendall(greeting)
        if answer is not None:
            conn.settimeout(5)
            try:
                data = conn.recv(4096)
                tag = data.split(b" ", 1)[0] if data else b"a1"
                conn.sendall(answer.replace(b"TAG", tag))
            except OSError:
                pass
    for c in conns:
        c.close()


@pytest.fixture
def fake_server():
    """A socket on 127.0.0.1 that greets (or not) and answers (or not) as told."""
    servers = []

    def start(greeting: bytes | None, answer: bytes | None) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        stop = threading.Event()
        t = threading.Thread(target=_serve, args=(listener, greeting, answer, stop), daemon=True)
        t.start()
        servers.append((listener, stop, t))
        return listener.getsockname()[1]

    yield start
    for listener, stop, t in servers:
        stop.set()
        t.join(timeout=5)
        listener.close()


HOSTILE = b"[/bold] [@click=app.quit]x[/] \x1b]0;pwned\x07\x1b[2J\xe2\x80\x8bSupport"


def test_a_server_that_hangs_or_talks_nonsense_is_one_line_each(h, tmp_path, fake_server):
    run = Run(tmp_path)
    silent = fake_server(None, None)
    nonsense = fake_server(b"* OK " + HOSTILE + b"\r\n", b"TAG BAD " + HOSTILE + b"\r\n* BYE " + HOSTILE + b"\r\n")
    run.account("silent", host="127.0.0.1", port=silent, username="u", timeout=1.0)
    run.account("nonsense", host="127.0.0.1", port=nonsense, username="u", timeout=2.0)
    run.account("good", **imap_options(h))
    proc = run("sync", "--once")
    assert proc.returncode == 1, proc.stderr
    assert_plain(proc.stderr)
    assert len(proc.stderr.splitlines()) == 3, proc.stderr
    assert line_of(proc, "good").startswith("good: online")
    silent_line = line_of(proc, "silent")
    assert silent_line.startswith("silent: offline") and "did not answer within 1 s" in silent_line
    nonsense_line = line_of(proc, "nonsense")
    assert nonsense_line.startswith("nonsense: ") and "online" not in nonsense_line
    assert " — " in nonsense_line and "retry in" not in nonsense_line
    if "[/bold]" in nonsense_line:  # server text, when quoted, is quoted literally
        assert "[@click=app.quit]x[/]" in nonsense_line and "\u200b" not in nonsense_line


def test_a_queued_reply_that_cannot_be_sent_makes_sync_once_fail_and_say_which(h, tmp_path):
    run = Run(tmp_path)
    closed = free_port()
    run.account("mail", **imap_options(h, smtp_port=closed))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Casey <{h.customer}>", h.agent, "Where is my parcel?"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
    msg.set_content("It has been two weeks.")
    h.append(bytes(msg))
    assert run("sync", "--once").returncode == 0
    db = sqlite3.connect(run.data / "default.sqlite3")
    (thread_id,) = db.execute("SELECT id FROM threads").fetchone()
    queued = run("do", "reply", str(thread_id), "--text", "-", stdin="On its way today.\n")
    assert queued.returncode == 0, queued.stderr
    proc = run("sync", "--once")
    assert proc.returncode == 1, proc.stderr
    assert_plain(proc.stderr)
    assert line_of(proc, "mail").startswith("mail: online"), "the account synced; the send did not"
    sends = [line for line in proc.stderr.splitlines() if f"conversation {thread_id})" in line]
    assert len(sends) == 1 and sends[0].startswith("mail: outbox "), proc.stderr
    assert "will retry" in sends[0] and "refused" in sends[0], sends[0]


def test_a_folder_named_bracket_does_not_stop_the_account(h, tmp_path):
    client = h.agent_imap()
    try:
        client.create_folder("[")  # dovecot lists it unquoted; imapclient cannot parse that listing
        for folder, subject in (("INBOX", "in the inbox"), ("[", "in the bracket folder")):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = h.customer, h.agent, subject
            msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
            msg.set_content("hello")
            client.append(folder, bytes(msg))
    finally:
        client.logout()
    run = Run(tmp_path)
    run.account("inbox-only", **imap_options(h))
    run.account("both", **imap_options(h, folders=["INBOX", "["]))
    proc = run("sync", "--once")
    assert proc.returncode == 0, proc.stderr
    db = sqlite3.connect(run.data / "default.sqlite3")
    subjects = {r for r in db.execute(
        "SELECT a.name, t.subject FROM threads t JOIN accounts a ON a.id=t.account_id")}
    assert ("inbox-only", "in the inbox") in subjects and ("both", "in the bracket folder") in subjects


def test_continuous_sync_prints_each_change_of_state_as_one_literal_line(h, tmp_path, fake_server):
    """`switchboard sync` (no --once) keeps running and reports each account as its state
    changes; server text full of markup is printed as it is, never interpreted."""
    run = Run(tmp_path)
    nonsense = fake_server(b"* OK " + HOSTILE + b"\r\n", b"TAG BAD " + HOSTILE + b"\r\n")
    run.account("nonsense", host="127.0.0.1", port=nonsense, username="u", timeout=2.0)
    run.account("good", **imap_options(h))
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "--config", str(run.config), "--data-dir", str(run.data), "sync"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    lines: list[str] = []
    try:
        while not (any(x.startswith("good: online") for x in lines)
                   and any(x.startswith("nonsense: offline") for x in lines)):
            line = proc.stderr.readline()
            assert line, f"sync stopped: {lines}"
            lines.append(line.rstrip("\n"))
        assert proc.poll() is None, "a hostile server does not stop the sync"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = "\n".join(lines)
    assert_plain(text)
    offline = next(x for x in lines if x.startswith("nonsense: offline"))
    assert "[/bold]" in offline and "[@click=app.quit]x[/]" in offline, offline
    log = (run.data / "switchboard.log").read_text(encoding="utf-8") if (run.data / "switchboard.log").exists() else ""
    assert_plain(log)
