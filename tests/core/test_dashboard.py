"""Dashboard figures and the report, checked against values computed by hand on a
small cache built with direct SQL (times relative to a fixed ``NOW``)."""

from __future__ import annotations

import json

import pytest

from console import report, sla
from console.config import parse as parse_config
from console.dashboard import figures, nearest_rank

NOW = 1_800_000_000.0
SINCE = NOW - 86400
CONFIG = """
[[agents]]
name = "Sam Rivera"
capacity = 2
[[agents]]
name = "Priya Natarajan"
capacity = 3
[[agents]]
name = "Tom Becker"
capacity = 4

[sla]
warning = 0.75
[[sla.policies]]
name = "email"
channel = "email"
first_response = "24h"
[[sla.policies]]
name = "chat"
channel = "chat"
first_response = "5m"
[[sla.policies]]
name = "social"
channel = "social"
first_response = "1h"
"""


def _thread(db, tid, channel, status, *, queue="", assignee=None, tags=(), due=None, first_response=None,
            last=None, meta=None):
    account = {"email": 1, "chat": 2, "social": 3}[channel]
    db.execute(
        """INSERT INTO threads(id, account_id, remote_id, channel, status, queue, assignee, tags, sla_due_at, sort_due,
                               first_response_at, last_message_at, meta, created_at)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        (tid, account, f"r{tid}", channel, status, queue, assignee, json.dumps(sorted(tags)), due,
         sla.FAR if due is None else due, first_response, last if last is not None else NOW - 60,
         json.dumps(meta or {}), NOW - 200000))


def _msg(db, tid, direction, at, text="hello", kind="", tone=""):
    account = db.execute("SELECT account_id FROM threads WHERE id=?", (tid,)).fetchone()[0]
    db.execute("INSERT INTO messages(thread_id, account_id, direction, sent_at, text, kind, tone) VALUES (?,?,?,?,?,?,?)",
               (tid, account, direction, at, text, kind, tone))
    if direction == "inbound":
        db.execute("UPDATE threads SET last_inbound_at=MAX(COALESCE(last_inbound_at, 0), ?) WHERE id=?", (at, tid))


@pytest.fixture
def cache(db):
    for n, (name, channel) in enumerate([("mail", "email"), ("chat", "chat"), ("social", "social")], 1):
        db.execute("INSERT INTO accounts(id, name, provider, channel) VALUES (?,?,?,?)", (n, name, "demo", channel))
    _thread(db, 1, "email", "open", queue="billing", assignee="Sam Rivera", tags=["refund"], due=NOW + 3600,
            last=NOW - 7200)
    _msg(db, 1, "inbound", NOW - 7200, "The blender arrived broken, the blender lid is missing", kind="complaint")
    _thread(db, 2, "email", "open", queue="billing", tags=["refund", "damaged"], due=NOW - 600, last=NOW - 90000)
    _msg(db, 2, "inbound", NOW - 90000, "broken broken broken", kind="complaint")  # before the period
    _thread(db, 3, "chat", "open", queue="technical", assignee="Priya Natarajan", due=NOW + 250,
            first_response=NOW - 940, last=NOW - 100)
    _msg(db, 3, "inbound", NOW - 1000, "How do I pair the app?", kind="question")
    _msg(db, 3, "outbound", NOW - 940, "Open settings…")
    _msg(db, 3, "inbound", NOW - 100, "Which settings?", kind="question")
    _thread(db, 4, "social", "pending", assignee="Sam Rivera", tags=["praise"], first_response=NOW - 3200,
            last=NOW - 3200, meta={"csat": {"score": 3}})
    _msg(db, 4, "inbound", NOW - 5000, "Love it", kind="praise")
    _msg(db, 4, "outbound", NOW - 3200, "Thank you!")
    _thread(db, 5, "email", "closed", assignee="Tom Becker", tags=["refund"], first_response=NOW - 8000,
            last=NOW - 8000, meta={"csat": 5})
    _msg(db, 5, "inbound", NOW - 20000, "Broken zipper on the jacket", kind="complaint")
    _msg(db, 5, "outbound", NOW - 8000, "Sorry!")
    _thread(db, 6, "chat", "open", queue="technical", first_response=NOW - 400, last=NOW - 400)
    _msg(db, 6, "inbound", NOW - 700, "hi")
    _msg(db, 6, "outbound", NOW - 400, "hello, how can I help?")
    _thread(db, 7, "chat", "closed", first_response=NOW - 2880, last=NOW - 2880)
    _msg(db, 7, "inbound", NOW - 3000, "Are you open on Sunday?")
    _thread(db, 8, "email", "closed", first_response=NOW - 200000, last=NOW - 200000)
    _msg(db, 8, "inbound", NOW - 200100, "old")
    db.execute("INSERT INTO breaches(thread_id, kind, due_at, breached_at) VALUES (2, 'first_response', ?, ?)",
               (NOW - 600, NOW - 590))
    db.execute("INSERT INTO breaches(thread_id, kind, due_at, breached_at) VALUES (8, 'first_response', ?, ?)",
               (NOW - 100100, NOW - 100000))
    return db


def pairs(items):
    return [(f.label, f.value, f.thread_ids) for f in items]


def test_queue_channel_unassigned_and_sla(cache):
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert (f.open_total.value, f.open_total.thread_ids) == (4, [2, 3, 1, 6])  # by due time
    assert pairs(f.open_by_queue) == [("billing", 2, [2, 1]), ("technical", 2, [3, 6])]
    assert pairs(f.open_by_channel) == [("chat", 2, [3, 6]), ("email", 2, [2, 1])]
    assert (f.unassigned.value, f.unassigned.thread_ids) == (2, [2, 6])
    # Email: 1 h left of 24 h is past the 75% warning line; chat: 250 s of 300 is fine.
    assert (f.at_risk.value, f.at_risk.thread_ids) == (1, [1])
    assert (f.breached.value, f.breached.thread_ids) == (1, [2])
    assert (f.breaches_in_period.value, f.breaches_in_period.thread_ids) == (1, [2])


def test_oldest_waiting(cache):
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert (f.oldest_waiting.value, f.oldest_waiting.thread_ids) == (90000, [2])
    assert f.oldest_waiting.display == "1d01h"


def test_first_response_median_and_p90_per_channel(cache):
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    by = {x.label: x for x in f.first_response}
    # chat: 60 s (t3), 300 s (t6), 120 s (t7) -> median 120, p90 300; t8's answer is before the period.
    assert by["chat"].value == 120 and by["chat"].thread_ids == [3, 6, 7]
    assert by["chat"].display == "2m · 5m"
    assert by["social"].value == 1800 and by["email"].value == 12000
    assert by["email"].thread_ids == [5]


def test_load_against_capacity(cache):
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert [(x.label, x.display, x.thread_ids, x.detail) for x in f.agent_load] == [
        ("Sam Rivera", "2/2", [1, 4], "at capacity"),
        ("Priya Natarajan", "1/3", [3], ""),
        ("Tom Becker", "0/4", [], ""),
    ]


def test_top_tags_and_complaint_words_in_period(cache):
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert pairs(f.top_tags) == [("refund", 2, [1, 5]), ("praise", 1, [4])]  # t2 is older than the period
    assert pairs(f.complaint_words) == [
        ("broken", 2, [1, 5]), ("arrived", 1, [1]), ("blender", 1, [1]), ("jacket", 1, [5]),
        ("lid", 1, [1]), ("missing", 1, [1]), ("zipper", 1, [5])]


def test_csat(cache):
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert (f.csat.value, f.csat.thread_ids) == (4.0, [4, 5])
    assert f.csat.display == "4.00 · 50% satisfied"


def test_default_periods(cache):
    f = figures(cache, parse_config(CONFIG), NOW, None)
    assert f.week_start == NOW - 7 * 86400
    assert NOW - 86400 < f.today_start <= NOW


def test_nearest_rank():
    assert nearest_rank([5, 1, 3, 2, 4], 50) == 3
    assert nearest_rank(list(range(1, 11)), 90) == 9
    assert nearest_rank([7], 90) == 7
    assert nearest_rank([], 50) is None


def test_rule_set_policy_changes_the_risk(cache):
    cfg = parse_config(CONFIG + '[[sla.policies]]\nname = "vip"\nfirst_response = "2h"\n')
    cache.execute("INSERT INTO triage_log(thread_id, rule, effects, at) VALUES (1, 'vip', '{\"sla\": \"vip\"}', 0)")
    # 1 h left of a 2 h target is 50% used: no longer at risk.
    assert figures(cache, cfg, NOW, SINCE).at_risk.thread_ids == []


def test_report_text_and_json(cache):
    text = report.render(cache, parse_config(CONFIG), SINCE, as_json=False, now=NOW)
    assert "Service levels" in text and "Load per agent" in text
    line = next(l for l in text.splitlines() if l.strip().startswith("Unassigned"))
    assert line.split()[1] == "2" and "[conversations 2, 6]" in line
    assert next(l for l in text.splitlines() if "Sam Rivera" in l).split()[2] == "2/2"
    data = json.loads(report.render(cache, parse_config(CONFIG), SINCE, as_json=True, now=NOW))
    assert data["unassigned"]["value"] == 2 and data["unassigned"]["thread_ids"] == [2, 6]
    assert data["first_response"][0]["label"] == "chat"
    assert data["csat"]["value"] == 4.0


def test_report_keeps_hostile_labels_on_one_line(cache):
    cache.execute("UPDATE threads SET tags=? WHERE id=1", (json.dumps(["evil\x1b]52;c;Zm9v\x07\nnext"]),))
    text = report.render(cache, parse_config(CONFIG), SINCE, as_json=False, now=NOW)
    assert "\x1b" not in text and "\x07" not in text
    assert any(l.strip().startswith("evil") and "next" in l for l in text.splitlines())


def test_empty_cache(db):
    f = figures(db, parse_config(""), NOW, None)
    assert f.open_total.value == 0 and f.oldest_waiting.display == "nobody waiting" and f.csat is None
    assert "Open by queue" in report.render(db, parse_config(""), None, as_json=False, now=NOW)


def test_breaches_count_by_when_the_target_passed_not_when_noticed(cache):
    # A fresh cache notices a weeks-old breach today: it is not a breach of this period.
    cache.execute("INSERT INTO breaches(thread_id, kind, due_at, breached_at) VALUES (1, 'first_response', ?, ?)",
                  (NOW - 30 * 86400, NOW - 60))
    # One whose target passed in the period counts, however late it was recorded.
    cache.execute("INSERT INTO breaches(thread_id, kind, due_at, breached_at) VALUES (3, 'next_response', ?, ?)",
                  (SINCE + 60, NOW - 5))
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert (f.breaches_in_period.value, f.breaches_in_period.thread_ids) == (2, [2, 3])


def test_open_is_named_for_what_it_counts_and_says_where_pending_went(cache):
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert f.open_total.label == "Open, waiting for us"
    assert f.open_total.detail == "the inbox's All open also holds 1 pending"


def test_over_capacity_is_said_and_oldest_waiting_names_the_conversation(cache):
    cache.execute("UPDATE threads SET assignee='Sam Rivera', status='open' WHERE id IN (2, 6)")
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    sam = next(x for x in f.agent_load if x.label == "Sam Rivera")
    assert (sam.display, sam.detail) == ("4/2", "over capacity by 2")
    cid = cache.execute("INSERT INTO customers(name, created_at) VALUES ('Grete Becker', 0)").lastrowid
    cache.execute("UPDATE threads SET subject='Blender lid missing', customer_id=? WHERE id=2", (cid,))
    f = figures(cache, parse_config(CONFIG), NOW, SINCE)
    assert f.oldest_waiting.thread_ids == [2]
    assert f.oldest_waiting.detail == "“Blender lid missing” · Grete Becker"
