"""The command line on the embedded demo: export, do, sync, doctor, report — as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-data")


def sb(data_dir, *args, stdin: str = ""):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    return subprocess.run([sys.executable, "-m", "console", "--data-dir", str(data_dir), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def exported(data_dir):
    proc = sb(data_dir, "--demo", "export")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_demo_export_is_one_conversation_per_line_in_the_documented_shape(exported):
    assert len(exported) >= 1000
    conv = exported[0]
    assert set(conv) >= {"id", "channel", "account", "subject", "status", "priority", "queue", "assignee", "tags",
                         "tone", "sla_due_at", "customer", "messages"}
    assert {c["channel"] for c in exported} == {"email", "chat", "social"}
    assert {c["status"] for c in exported} == {"open", "pending", "snoozed", "closed"}
    assert set(conv["customer"]) == {"id", "name", "identities", "orders", "payments"}
    assert set(conv["customer"]["identities"][0]) == {"channel", "address", "followers"}
    assert set(conv["messages"][0]) == {"id", "direction", "author", "sent_at", "text"}
    assert all(m["direction"] in ("inbound", "outbound", "note") for c in exported for m in c["messages"])
    assert any(len({i["channel"] for i in c["customer"]["identities"]}) >= 2 for c in exported), \
        "customers appear on several channels"
    assert not any("\x1b" in m["text"] for c in exported for m in c["messages"])


def test_export_filters_by_channel_and_date(data_dir, exported):
    chats = sb(data_dir, "--demo", "export", "--channel", "chat")
    rows = [json.loads(x) for x in chats.stdout.splitlines()]
    assert rows and all(r["channel"] == "chat" for r in rows)
    newest = max(m["sent_at"] for c in exported for m in c["messages"])
    day = newest[:10]
    recent = [json.loads(x) for x in sb(data_dir, "--demo", "export", "--since", day).stdout.splitlines()]
    assert 0 < len(recent) < len(exported)
    bad = sb(data_dir, "--demo", "export", "--since", "last tuesday")
    assert bad.returncode == 2 and "cannot read the time" in bad.stderr and "Traceback" not in bad.stderr
    assert "yesterday" in bad.stderr, "the fix names the forms it understands"


def test_do_reply_reads_stdin_and_read_only_refuses(data_dir, exported):
    open_conv = next(c for c in exported if c["status"] == "open")
    ok = sb(data_dir, "--demo", "do", "reply", str(open_conv["id"]), "--text", "-",
            stdin="Thanks for waiting — your refund is on its way.\n")
    assert ok.returncode == 0 and "queued" in ok.stdout, ok.stderr
    refused = sb(data_dir, "--demo", "--read-only", "do", "close", str(open_conv["id"]))
    assert refused.returncode == 1 and "read-only" in refused.stderr
    after = [json.loads(x) for x in sb(data_dir, "--demo", "export").stdout.splitlines()]
    conv = next(c for c in after if c["id"] == open_conv["id"])
    assert conv["status"] != "closed"
    assert conv["messages"][-1]["text"] == "Thanks for waiting — your refund is on its way."
    unknown = sb(data_dir, "--demo", "do", "explode", "1")
    assert unknown.returncode == 2 and "do --list" in unknown.stderr


def test_sync_once_sends_the_queued_reply_and_reports_each_account(data_dir, exported):
    proc = sb(data_dir, "--demo", "sync", "--once")
    assert proc.returncode == 0, proc.stderr
    for name in ("support-mail", "live-chat", "social", "shop", "help-center"):
        assert f"{name}: online" in proc.stderr
    import sqlite3

    db = sqlite3.connect(data_dir / "demo.sqlite3")
    assert db.execute("SELECT state FROM outbox WHERE kind='reply'").fetchall() == [("sent",)]


def test_doctor_checks_everything_and_names_the_keyring_fix(data_dir):
    proc = sb(data_dir, "--demo", "doctor")
    assert "ok    config" in proc.stdout and "ok    cache" in proc.stdout
    assert "FAIL  keyring" in proc.stdout and "PYTHON_KEYRING_BACKEND" in proc.stdout
    assert "ok    account support-mail (demo)" in proc.stdout
    assert proc.returncode == 1


def test_help_on_every_command():
    for cmd in ([], ["sync"], ["export"], ["do"], ["accounts"], ["accounts", "add"], ["doctor"], ["report"]):
        proc = subprocess.run([sys.executable, "-m", "console", *cmd, "--help"], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
        assert proc.returncode == 0 and "usage: switchboard" in proc.stdout, cmd


def test_version_prints_the_installed_version_on_stdout(capsys):
    from console.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("switchboard ") and len(out.split()) == 2, out
