"""`switchboard do refund` on the embedded demo shop, as a user runs it: queue, refuse, send, see it."""

from __future__ import annotations

import json

from tests.core.test_cli import sb


def export(data_dir) -> list[dict]:
    proc = sb(data_dir, "--demo", "export")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_refund_from_the_command_line_goes_out_once_and_shows_in_the_conversation(tmp_path):
    data_dir = tmp_path / "data"
    convs = export(data_dir)
    conv, pay = next((c, p) for c in convs if c["customer"] for p in c["customer"]["payments"]
                     if p["status"] == "succeeded" and p["amount"] - p["refunded"] > 2)
    assert pay["source"] == "shop" and pay["id"].startswith("ch_demo_")
    missing = sb(data_dir, "--demo", "do", "refund", str(conv["id"]))
    assert missing.returncode == 1 and "name the charge" in missing.stderr and "Traceback" not in missing.stderr
    refused = sb(data_dir, "--demo", "--read-only", "do", "refund", str(conv["id"]), "--charge", pay["id"])
    assert refused.returncode == 1 and "read-only" in refused.stderr
    ok = sb(data_dir, "--demo", "do", "refund", str(conv["id"]), "--charge", pay["id"], "--amount", "1.50",
            "--reason", "late parcel", "--send")
    assert ok.returncode == 0 and "ok: refund of" in ok.stdout and "outbox: sent" in ok.stdout, ok.stdout + ok.stderr
    sync = sb(data_dir, "--demo", "sync", "--once")
    assert sync.returncode == 0, sync.stderr
    after = next(c for c in export(data_dir) if c["id"] == conv["id"])
    paid = next(p for p in after["customer"]["payments"] if p["id"] == pay["id"])
    assert round(paid["refunded"] - pay["refunded"], 2) == 1.5
    assert after["messages"][-1]["direction"] == "note"
    assert after["messages"][-1]["text"].startswith("Sam Rivera refunded ")
    assert f"on {pay['id']} (re_demo_" in after["messages"][-1]["text"]
    assert after["messages"][-1]["text"].endswith("— reason: late parcel")
