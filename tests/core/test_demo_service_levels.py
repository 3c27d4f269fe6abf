"""The demo looks like a good day at a real team: of the conversations waiting on us, most are
within target, some at risk, 5–15% breached, across channels — measured by the console's own
SLA code on the demo's own config, after the real engine synced the demo into a cache. And
"customer since" is the first order or message, not the day the cache was made."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import console
from console import sla
from console.cache import connect
from console.config import parse as parse_config
from console.dashboard import sla_settings
from console.engine import Engine
from console.service import Service
from providers.demo import team
from providers.demo import world as world_mod
from providers.records import Channel, Direction

CONFIG = Path(console.__file__).parent / "demo_config.toml"
# A Wednesday in office hours and a Saturday night: the mix must hold at both.
MOMENTS = [datetime(2026, 3, 11, 14, 0, tzinfo=timezone.utc), datetime(2026, 3, 14, 22, 0, tzinfo=timezone.utc)]


def synced(tmp_path, monkeypatch, now: datetime):
    monkeypatch.setattr(world_mod, "default_now", lambda: now)
    cfg = parse_config(CONFIG.read_text(encoding="utf-8"), "demo_config.toml")
    for acc in cfg.accounts:
        acc.options["interval"] = 0.0  # no live stream: the world as built at ``now``
    db = connect(tmp_path / "demo.sqlite3")
    asyncio.run(Engine(db, cfg, read_only=False, service=Service(cfg), data_dir=tmp_path).run_once())
    return db, cfg


@pytest.mark.parametrize("now", MOMENTS, ids=["weekday", "saturday-night"])
def test_most_waiting_conversations_are_within_target_and_a_few_breached(tmp_path, monkeypatch, now, capsys):
    db, cfg = synced(tmp_path, monkeypatch, now)
    settings = sla_settings(db, cfg)
    states: Counter = Counter()
    breached_on: Counter = Counter()
    for row in db.execute("SELECT id, channel, sla_due_at, priority, first_response_at FROM threads "
                          "WHERE status='open' AND sla_due_at IS NOT NULL"):
        state, _ = sla.state(row, now.timestamp(), settings)
        states[state] += 1
        if state == "breached":
            breached_on[row["channel"]] += 1
    waiting = sum(states.values())
    with capsys.disabled():
        print(f"\ndemo at {now:%a %H:%M} UTC: {waiting} waiting on us — {dict(states)}; breached by channel "
              f"{dict(breached_on)}")
    assert waiting >= 30
    assert states["ok"] / waiting >= 0.6
    assert states["warning"] >= 1
    assert 0.05 <= states["breached"] / waiting <= 0.15
    assert len(breached_on) >= 2  # not one channel carrying every breach


def test_customer_since_is_the_first_order_or_message(tmp_path, monkeypatch):
    now = MOMENTS[0]
    db, _ = synced(tmp_path, monkeypatch, now)
    rows = db.execute(
        """SELECT c.created_at,
                  MIN(COALESCE((SELECT MIN(placed_at) FROM orders o WHERE o.customer_id = c.id), 1e18),
                      COALESCE((SELECT MIN(m.sent_at) FROM threads t JOIN messages m ON m.thread_id = t.id
                                WHERE t.customer_id = c.id), 1e18)) AS first
           FROM customers c""").fetchall()
    known = [r for r in rows if r["first"] < 1e18]
    assert len(known) >= 300
    assert all(r["created_at"] == pytest.approx(r["first"]) for r in known)
    assert min(r["created_at"] for r in known) < (now - timedelta(days=90)).timestamp()


def test_teammates_answer_on_time_mostly_and_keep_the_clocks_of_the_policies():
    since = datetime(2026, 3, 11, 16, 30, tzinfo=timezone.utc)  # 17:30 in Berlin: the office has closed
    chats = [team.answer_at(7, f"ch-{n}", since, Channel.CHAT, "Matrix", vip=False) - since for n in range(400)]
    late = sum(1 for d in chats if d > timedelta(minutes=5))
    assert all(d >= timedelta(seconds=45) for d in chats) and 0.03 <= late / len(chats) <= 0.15
    mail = team.answer_at(7, "em-1", since, Channel.EMAIL, "", vip=False)
    assert mail.astimezone(team.OFFICE).hour >= 9 and mail.date() > since.date()  # answered in office hours
    assert team.answer_at(7, "em-1", since, Channel.EMAIL, "", vip=True) - since <= timedelta(minutes=75)


async def test_the_live_stream_has_teammates_answer_what_has_waited_long_enough(monkeypatch):
    from tests.providers.demo.test_demo_provider import opened, pull_all

    anchor = datetime.now(timezone.utc) - timedelta(minutes=80)
    monkeypatch.setattr(world_mod, "default_now", lambda: anchor)
    p = await opened("chat", interval=3600.0)
    waiting = {t.remote_id for t in p.world.threads[Channel.CHAT]
               if t.status.value == "open" and p.world.messages[t.remote_id][-1].direction == Direction.INBOUND}
    batches, _ = await pull_all(p, None)
    answered = {m.thread_remote_id: m for b in batches for m in b.messages if m.remote_id.startswith("team-")}
    assert waiting and set(answered) <= waiting
    # 80 minutes after the world was built every chat it left waiting has had its answer (targets are 2–5 minutes,
    # 30 for VIP customers; late answers take 2.5 times that), after the world was built and not in the future.
    assert set(answered) == waiting
    assert all(anchor < m.sent_at <= datetime.now(timezone.utc) and m.direction == Direction.OUTBOUND
               for m in answered.values())
