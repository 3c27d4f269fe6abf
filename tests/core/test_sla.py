"""Service-level targets: business hours across days, holidays, time zones and DST;
countdown states; policy choice; config errors; and the Service keeping due times current."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from console import sla
from console.actions import Context, perform
from console.config import parse as parse_config
from console.errors import ConfigError
from console.service import Service
from providers.records import Channel, Direction, Message
from tests.support.factories import conversation, load, person, thread_id

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = {"business_hours": {"timezone": "Europe/Berlin", "days": ["mon", "tue", "wed", "thu", "fri"],
                            "start": "09:00", "end": "17:00", "holidays": ["2026-12-25"]}}


def bh(raw=None):
    return sla.parse_business_hours((raw or HOURS)["business_hours"], "config.toml")


def at(y, mo, d, h, mi=0, tz=BERLIN) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=tz).timestamp()


def local(ts: float, tz=BERLIN) -> datetime:
    return datetime.fromtimestamp(ts, tz).replace(tzinfo=None)


def test_friday_afternoon_plus_24_business_hours_is_wednesday_afternoon():
    # Fri 16:30 -> 0.5 h Friday, 8 h Monday, 8 h Tuesday, 7.5 h Wednesday.
    due = bh().add(at(2026, 11, 20, 16, 30), 24 * 3600)
    assert local(due) == datetime(2026, 11, 25, 16, 30)


def test_message_at_night_starts_the_clock_at_opening():
    due = bh().add(at(2026, 11, 24, 22, 15), 2 * 3600)
    assert local(due) == datetime(2026, 11, 25, 11, 0)


def test_weekend_message_waits_for_monday():
    due = bh().add(at(2026, 11, 21, 10, 0), 3600)  # Saturday
    assert local(due) == datetime(2026, 11, 23, 10, 0)


def test_holiday_is_skipped():
    due = bh().add(at(2026, 12, 24, 16, 0), 2 * 3600)  # Thu 24th, Fri 25th is a holiday
    assert local(due) == datetime(2026, 12, 28, 10, 0)


def test_dst_change_keeps_wall_clock_hours():
    # Clocks go back on Sunday 25 October 2026; business hours stay 09:00-17:00 local.
    due = bh().add(at(2026, 10, 23, 16, 0), 3 * 3600)
    assert local(due) == datetime(2026, 10, 26, 11, 0)


def test_other_time_zone():
    raw = {"business_hours": {"timezone": "America/New_York", "start": "08:00", "end": "18:00"}}
    ny = ZoneInfo("America/New_York")
    due = bh(raw).add(at(2026, 11, 20, 17, 0, tz=ny), 4 * 3600)  # Friday 17:00 New York
    assert local(due, ny) == datetime(2026, 11, 23, 11, 0)


def test_business_seconds_between():
    hours = bh()
    assert hours.between(at(2026, 11, 20, 16, 30), at(2026, 11, 23, 10, 0)) == 1.5 * 3600
    assert hours.between(at(2026, 11, 23, 10, 0), at(2026, 11, 20, 16, 30)) == -1.5 * 3600


def test_durations():
    assert sla.parse_duration("2m") == 120
    assert sla.parse_duration("1h30m") == 5400
    assert sla.parse_duration("24h") == 86400
    assert sla.parse_duration(90) == 90
    with pytest.raises(ValueError):
        sla.parse_duration("2 weeks")
    assert sla.human_duration(86400) == "24 hours"
    assert sla.human_duration(3 * 86400) == "3 days"
    assert sla.human_duration(120) == "2 minutes"
    assert sla.short_duration(3 * 3600 + 5 * 60) == "3h05m"


POLICIES = {
    **HOURS,
    "sla": {"warning": 0.75, "policies": [
        {"name": "chat-fast", "channel": "chat", "priority": ["high", "urgent"], "first_response": "2m"},
        {"name": "chat", "channel": "chat", "first_response": "5m", "next_response": "10m"},
        {"name": "social", "channel": "social", "first_response": "1h"},
        {"name": "email", "channel": "email", "first_response": "24h", "business_hours": True},
        {"name": "vip", "first_response": "1h"},
    ]},
}


def test_first_matching_policy_applies():
    s = sla.parse(POLICIES)
    assert s.policy_for("chat", 3).name == "chat-fast"
    assert s.policy_for("chat", 1).name == "chat"
    assert s.policy_for("email", 1).name == "email"
    assert s.policy_for("commerce", 1).name == "vip"  # no channel: matches any
    s.overrides[7] = "vip"
    assert s.policy_for("email", 1, thread_id=7).name == "vip"


def test_defaults_without_a_section():
    s = sla.parse({})
    assert s.policy_for("chat", 1).first_response == 120
    assert s.policy_for("email", 1).first_response == 86400
    assert s.policy_for("social", 1).first_response == 3600
    assert sla.parse({"sla": {"enabled": False}}).policy_for("chat", 1) is None


def test_state_countdown():
    s = sla.parse(POLICIES)
    now = 1_800_000_000.0
    row = {"id": 1, "channel": "chat", "priority": 1, "sla_due_at": now + 200, "first_response_at": None}
    assert sla.state(row, now, s) == ("ok", 200)  # 5 min target, 200 s left of 300: ok
    row["sla_due_at"] = now + 60  # 60 s left = 80% used
    assert sla.state(row, now, s) == ("warning", 60)
    row["sla_due_at"] = now - 5
    assert sla.state(row, now, s) == ("breached", -5)
    row["sla_due_at"] = None
    assert sla.state(row, now, s) == ("none", 0.0)


def test_state_counts_business_time_for_the_warning():
    s = sla.parse(POLICIES)
    now = at(2026, 11, 20, 16, 0)  # Friday 16:00; due Monday 14:00 = 6 business hours left of 24
    row = {"id": 1, "channel": "email", "priority": 1, "sla_due_at": at(2026, 11, 23, 14, 0), "first_response_at": None}
    assert sla.state(row, now, s)[0] == "warning"
    row["sla_due_at"] = at(2026, 11, 25, 14, 0)  # 22 business hours left: ok
    assert sla.state(row, now, s)[0] == "ok"


@pytest.mark.parametrize("raw,message", [
    ({"sla": {"policies": [{"name": "a", "channel": "email", "first_response": "2 mins"}]}},
     "[[sla.policies]] #1 \"a\": '2 mins' is not a duration"),
    ({"sla": {"policies": [{"name": "a", "first_response": "2m"}, {"name": "b", "channel": "fax", "first_response": "1h"}]}},
     "[[sla.policies]] #2 \"b\": unknown channel 'fax'"),
    ({"sla": {"policies": [{"name": "a", "first_response": "2m", "business_hours": True}]}},
     "there is no [business_hours] section"),
    ({"sla": {"policies": [{"name": "a", "first_response": "2m", "priority": "asap"}]}}, "unknown priority 'asap'"),
    ({"sla": {"warning": 1.5}}, "[sla] warning = 1.5"),
    ({"business_hours": {"timezone": "Mars/Olympus"}}, "unknown time zone 'Mars/Olympus'"),
    ({"business_hours": {"start": "17:00", "end": "09:00"}}, "end 09:00 is not after start 17:00"),
])
def test_config_errors_name_the_position(raw, message):
    with pytest.raises(ConfigError) as err:
        sla.parse(raw)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_promises_text():
    cfg = parse_config("""
[business_hours]
timezone = "Europe/Berlin"
[[sla.policies]]
name = "email"
channel = "email"
first_response = "24h"
business_hours = true
[[sla.policies]]
name = "chat"
channel = "chat"
first_response = "2m"
[[sla.policies]]
name = "social"
channel = "social"
first_response = "1h"
""")
    text = sla.promises_text(cfg)
    assert text == ("We answer email within 24 business hours, chat within 2 minutes and social media "
                    "messages within 1 hour. Our business hours: Monday to Friday, 09:00–17:00 (Europe/Berlin).")
    assert sla.promises_text(parse_config('[sla]\npromise = "Fast."')) == "Fast."


# --------------------------------------------------------------------------- the Service keeps due times


CHAT_CONFIG = """
[[sla.policies]]
name = "chat-urgent"
channel = "chat"
priority = "urgent"
first_response = "1m"
[[sla.policies]]
name = "chat"
channel = "chat"
first_response = "5m"
next_response = "10m"
"""


def _chat(db, n=1, text="Hello, is anyone there?", when=None):
    t, m = conversation(n, channel=Channel.CHAT, text=text, at=when)
    return load(db, [(t, m)], account="chat", channel="chat")


def test_first_response_due_and_nothing_due_after_our_reply(db):
    service = Service(parse_config(CHAT_CONFIG))
    _, result = _chat(db)
    service.process(db, result)
    tid = thread_id(db, "t1")
    row = db.execute("SELECT sla_due_at, sort_due, last_inbound_at FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["sla_due_at"] == row["last_inbound_at"] + 300
    assert row["sort_due"] == row["sla_due_at"]
    assert perform(Context(db, agent="Sam"), "reply", tid, text="Yes, hello!").ok
    service.tick(db, row["last_inbound_at"] + 10)
    row = db.execute("SELECT sla_due_at, sort_due FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["sla_due_at"] is None and row["sort_due"] == sla.FAR


def test_next_response_uses_the_next_target(db):
    service = Service(parse_config(CHAT_CONFIG))
    acc, result = _chat(db)
    service.process(db, result)
    tid = thread_id(db, "t1")
    perform(Context(db, agent="Sam"), "reply", tid, text="Checking…")
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    from console.cache.ingest import apply_batch
    from providers.records import Batch
    result = apply_batch(db, acc, Batch(cursor="c2", messages=[
        Message("m1b", "t1", Direction.INBOUND, person(1, Channel.CHAT), later, "Any news?")]))
    service.process(db, result)
    row = db.execute("SELECT status, sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["status"] == "open"
    assert row["sla_due_at"] == pytest.approx(later.timestamp() + 600)


def test_priority_changes_the_policy_on_the_next_tick(db):
    service = Service(parse_config(CHAT_CONFIG))
    _, result = _chat(db)
    service.process(db, result)
    tid = thread_id(db, "t1")
    start = db.execute("SELECT last_inbound_at FROM threads WHERE id=?", (tid,)).fetchone()[0]
    perform(Context(db, agent="Sam"), "priority", tid, level="urgent")
    service.tick(db, start + 1)
    assert db.execute("SELECT sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()[0] == start + 60


def test_tick_records_breach_once(db):
    service = Service(parse_config(CHAT_CONFIG))
    _, result = _chat(db)
    service.process(db, result)
    tid = thread_id(db, "t1")
    due = db.execute("SELECT sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()[0]
    service.tick(db, due - 1)
    assert db.execute("SELECT COUNT(*) FROM breaches").fetchone()[0] == 0
    service.tick(db, due + 1)
    service.tick(db, due + 20)
    rows = db.execute("SELECT thread_id, kind, due_at FROM breaches").fetchall()
    assert [tuple(r) for r in rows] == [(tid, "first_response", due)]


def test_auto_reply_does_not_start_the_clock(db):
    service = Service(parse_config(CHAT_CONFIG))
    t, m = conversation(1, channel=Channel.CHAT, text="I am away until Monday")
    m.meta = {"auto_reply": True}
    _, result = load(db, [(t, m)], account="chat", channel="chat")
    service.process(db, result)
    assert db.execute("SELECT sla_due_at FROM threads").fetchone()[0] is None


def test_snoozed_conversation_comes_back_open_with_a_due_time(db):
    service = Service(parse_config(CHAT_CONFIG))
    _, result = _chat(db)
    service.process(db, result)
    tid = thread_id(db, "t1")
    ctx = Context(db, agent="Sam")
    perform(ctx, "reply", tid, text="I will check with the warehouse.")
    perform(ctx, "snooze", tid, until="2h")
    until = db.execute("SELECT snoozed_until FROM threads WHERE id=?", (tid,)).fetchone()[0]
    service.tick(db, until - 5)
    assert db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "snoozed"
    service.tick(db, until + 5)
    row = db.execute("SELECT status, sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["status"] == "open"
    assert row["sla_due_at"] == pytest.approx(until + 5 + 600)  # a next response is due from the wake-up
    assert db.execute("SELECT rule FROM triage_log WHERE thread_id=?", (tid,)).fetchone()[0] == "snooze ended"


def test_closed_and_reopened(db):
    service = Service(parse_config(CHAT_CONFIG))
    _, result = _chat(db)
    service.process(db, result)
    tid = thread_id(db, "t1")
    ctx = Context(db, agent="Sam")
    perform(ctx, "close", tid)
    service.tick(db, 0)
    assert db.execute("SELECT sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()[0] is None
    perform(ctx, "reopen", tid)
    service.tick(db, 0)
    start = db.execute("SELECT last_inbound_at FROM threads WHERE id=?", (tid,)).fetchone()[0]
    assert db.execute("SELECT sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()[0] == start + 300


def test_start_recomputes_after_a_config_change(db):
    Service(parse_config(CHAT_CONFIG)).process(db, _chat(db)[1])
    tid = thread_id(db, "t1")
    start = db.execute("SELECT last_inbound_at FROM threads WHERE id=?", (tid,)).fetchone()[0]
    faster = Service(parse_config(CHAT_CONFIG.replace('"5m"', '"3m"')))
    faster.start(db)
    assert db.execute("SELECT sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()[0] == start + 180


def test_due_time_already_past_when_computed_is_a_breach(db):
    service = Service(parse_config(CHAT_CONFIG))
    now = datetime.now(timezone.utc).timestamp()
    service.tick(db, now)  # the ticker is running
    old = datetime.now(timezone.utc) - timedelta(hours=2)  # a late-synced message: its 5 min passed long ago
    _, result = _chat(db, when=old)
    service.process(db, result)
    rows = db.execute("SELECT kind, due_at FROM breaches").fetchall()
    assert [(r["kind"], r["due_at"]) for r in rows] == [("first_response", pytest.approx(old.timestamp() + 300))]
    service.tick(db, now + 30)
    assert db.execute("SELECT COUNT(*) FROM breaches").fetchone()[0] == 1


def test_a_restart_recomputes_only_the_conversations_that_changed(db):
    service = Service(parse_config(CHAT_CONFIG))
    service.start(db)  # as the engine does
    _, result = load(db, [conversation(n, channel=Channel.CHAT) for n in range(1, 401)], account="chat",
                     channel="chat")
    service.process(db, result)
    now = datetime.now(timezone.utc).timestamp()
    service.tick(db, now)
    tid = thread_id(db, "t7")
    start = db.execute("SELECT last_inbound_at FROM threads WHERE id=?", (tid,)).fetchone()[0]
    perform(Context(db, agent="Sam"), "priority", tid, level="urgent")  # e.g. in the console, between two syncs

    statements: list[str] = []
    db.set_trace_callback(statements.append)
    again = Service(parse_config(CHAT_CONFIG))  # the next `switchboard sync --once`
    again.start(db)
    again.tick(db, now + 1)
    db.set_trace_callback(None)
    assert db.execute("SELECT sla_due_at FROM threads WHERE id=?", (tid,)).fetchone()[0] == start + 60
    assert len(statements) < 60, f"a restart ran {len(statements)} statements for 400 open conversations"
    assert db.execute("SELECT COUNT(*) FROM breaches").fetchone()[0] == 400, "each breach recorded once"
