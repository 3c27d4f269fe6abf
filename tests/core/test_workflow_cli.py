"""`switchboard do` for the agent's day, as a user runs it on the embedded demo: a macro
waits in the draft until `do reply` sends it, bulk with --threads, snooze until reply,
undo, and close asking first when a draft is unsent."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.core.test_cli import sb


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("workflow-demo")
    proc = sb(data_dir, "--demo", "export")
    assert proc.returncode == 0, proc.stderr
    convs = [json.loads(line) for line in proc.stdout.splitlines()]
    return data_dir, [c for c in convs if c["status"] == "open"]


def thread(data_dir, tid):
    db = sqlite3.connect(data_dir / "demo.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT status, tags, (SELECT text FROM drafts WHERE thread_id=t.id) AS draft "
                          "FROM threads t WHERE id=?", (tid,)).fetchone()
    finally:
        db.close()


def test_apply_macro_saves_the_draft_and_reply_sends_it_with_its_effects(demo):
    data_dir, open_convs = demo
    for conv in open_convs:  # the macro needs a customer with an order
        applied = sb(data_dir, "--demo", "do", "apply_macro", str(conv["id"]), "--name", "refund-approved")
        if applied.returncode == 0:
            break
        assert "has no orders" in applied.stderr, applied.stderr
    assert applied.stdout.strip() == "ok: macro 'refund-approved' is in the draft · on send: tag refund, close"
    row = thread(data_dir, conv["id"])
    assert row["status"] == "open" and row["draft"].startswith("Hi ")
    sent = sb(data_dir, "--demo", "do", "reply", str(conv["id"]))
    assert sent.returncode == 0 and sent.stdout.startswith("ok: reply queued;"), sent.stderr
    row = thread(data_dir, conv["id"])
    assert row["status"] == "closed" and "refund" in json.loads(row["tags"]) and row["draft"] is None


def test_bulk_with_threads_then_undo(demo):
    data_dir, open_convs = demo
    ids = [str(c["id"]) for c in open_convs[-3:]]
    done = sb(data_dir, "--demo", "do", "tag", "--threads", ",".join(ids), "--add", "recall")
    assert done.returncode == 0 and done.stdout.strip() == "ok: 3 of 3 conversations tagged", done.stderr
    assert all("recall" in json.loads(thread(data_dir, int(i))["tags"]) for i in ids)
    undone = sb(data_dir, "--demo", "do", "undo")
    assert undone.returncode == 0 and "undone: the change to 3 conversations" in undone.stdout, undone.stderr
    assert not any("recall" in json.loads(thread(data_dir, int(i))["tags"]) for i in ids)
    refused = sb(data_dir, "--demo", "--read-only", "do", "close", "--threads", ",".join(ids))
    assert refused.returncode == 1 and "read-only" in refused.stderr


def test_snooze_until_reply_and_close_asks_about_a_draft(demo):
    data_dir, open_convs = demo
    tid = str(open_convs[1]["id"])
    snoozed = sb(data_dir, "--demo", "do", "snooze", tid, "--until", "reply")
    assert snoozed.stdout.strip() == "ok: snoozed until the customer replies", snoozed.stderr
    assert thread(data_dir, int(tid))["status"] == "snoozed"
    other = str(open_convs[2]["id"])
    sb(data_dir, "--demo", "do", "save_draft", other, "--text", "Still checking")
    asked = sb(data_dir, "--demo", "do", "close", other)
    assert asked.returncode == 1 and "has an unsent draft" in asked.stderr and "Traceback" not in asked.stderr
    forced = sb(data_dir, "--demo", "do", "close", other, "--yes")
    assert forced.returncode == 0 and thread(data_dir, int(other))["status"] == "closed"
