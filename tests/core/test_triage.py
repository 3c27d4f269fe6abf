"""Triage rules: every condition and effect, precedence and stop, visible follower rules,
round-robin assignment with capacity, and one-line errors that name the rule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from console.cache.ingest import apply_batch, ensure_account
from console.config import parse as parse_config
from console.errors import ConfigError
from console.service import Service
from console.triage import Facts, evaluate, parse
from providers.records import Batch, Channel, Customer, Identity, Order
from tests.support.factories import T0, conversation, load, person, thread_id


def rules(text: str):
    return parse(parse_config(text).raw).rules


def run(text: str, **facts):
    return evaluate(rules(text), Facts(**facts))


# --------------------------------------------------------------------------- conditions (pure)


@pytest.mark.parametrize("when,facts,hit", [
    ('channel = "chat"', {"channel": "chat"}, True),
    ('channel = ["email", "social"]', {"channel": "chat"}, False),
    ('account = "shop-mail"', {"account": "shop-mail"}, True),
    ('account = "shop-mail"', {"account": "other"}, False),
    ('network = "WhatsApp"', {"network": "whatsapp"}, True),
    ('network = "WhatsApp"', {"network": ""}, False),
    ('words = ["refund", "money back"]', {"body": "I want my Money  back please"}, True),
    ('words = ["refund"]', {"body": "refundable deposit"}, False),  # whole words only
    ('words = ["refund"]', {"subject": "Refund", "body": ""}, True),
    ('words = ["refund"], search_in = "body"', {"subject": "Refund", "body": "hello"}, False),
    ("regex = 'order\\s*#?\\d{4,}'", {"body": "about order #12345"}, True),
    ("regex = 'order\\s*#?\\d{4,}'", {"body": "about my order"}, False),
    ('customer_tags = ["VIP"]', {"customer_tags": ("vip", "wholesale")}, True),
    ('customer_tags = ["vip"]', {"customer_tags": ()}, False),
    ("orders_total_min = 1000", {"orders_total": 1500.0}, True),
    ("orders_total_min = 1000", {"orders_total": 999.0}, False),
    ("orders_total_max = 50", {"orders_total": 20.0}, True),
    ("latest_order_min = 500", {"latest_order": 600.0}, True),
    ("latest_order_min = 500", {"latest_order": None}, False),
    ("latest_order_max = 10", {"latest_order": 25.0}, False),
    ('tone = ["angry", "negative"]', {"tone": "angry"}, True),
    ('tone = "angry"', {"tone": "neutral"}, False),
    ('kind = "cancel"', {"kind": "cancel"}, True),
    ('language = "de"', {"language": "de"}, True),
    ('language = "de"', {"language": "en"}, False),
    ("followers_min = 10000", {"followers": 25000}, True),
    ("followers_min = 10000", {"followers": None}, False),
    ("followers_max = 100", {"followers": 5000}, False),
    ('channel = "social", followers_min = 10000', {"channel": "email", "followers": 50000}, False),  # all must hold
])
def test_each_condition(when, facts, hit):
    outcome = run(f'[[triage.rules]]\nname = "r"\nwhen = {{ {when} }}\nthen = {{ queue = "q" }}\n', **facts)
    assert (outcome.rules == ["r"]) is hit


def test_rule_without_conditions_matches_everything():
    assert run('[[triage.rules]]\nname = "all"\nthen = { queue = "general" }').effects == {"queue": "general"}


def test_all_matches_apply_later_overrides_tags_add_up_stop_ends():
    text = """
[[triage.rules]]
name = "refunds"
when = { words = ["refund"] }
then = { queue = "billing", priority = "high", tags = ["refund"] }
[[triage.rules]]
name = "angry"
when = { tone = "angry" }
then = { priority = "urgent", tags = ["angry"] }
[[triage.rules]]
name = "vip-stop"
when = { customer_tags = ["vip"] }
then = { queue = "vip", assignee = "Priya Natarajan", sla = "vip" }
stop = true
[[triage.rules]]
name = "never-after-stop"
then = { queue = "general" }
"""
    out = run(text, body="refund now", tone="angry")
    assert out.rules == ["refunds", "angry", "never-after-stop"]
    assert out.effects == {"queue": "general", "priority": 3, "tags": ["angry", "refund"]}
    out = run(text, body="refund now", tone="angry", customer_tags=("vip",))
    assert out.rules == ["refunds", "angry", "vip-stop"]
    assert out.effects["queue"] == "vip" and out.effects["assignee"] == "Priya Natarajan" and out.effects["sla"] == "vip"
    assert [name for name, _ in out.log] == out.rules


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("rule,message", [
    ('name = "vip"\nwhen = { folowers = 5 }\nthen = { queue = "q" }',
     "config.toml: [[triage.rules]] #3 \"vip\": unknown condition 'folowers' — use one of: channel, account"),
    ('name = "vip"\nwhen = { tone = "furious" }\nthen = { queue = "q" }', "#3 \"vip\": tone 'furious' is unknown"),
    ('name = "vip"\nthen = { colour = "red" }', "#3 \"vip\": unknown effect 'colour'"),
    ('name = "vip"\nwhen = { words = ["x"] }', "#3 \"vip\" has no effects"),
    ('name = "vip"\nthen = { priority = "asap" }', "#3 \"vip\": priority = 'asap'"),
    ("name = \"vip\"\nwhen = { regex = '([' }\nthen = { queue = \"q\" }", "#3 \"vip\": regex '([' does not compile"),
    ('name = "vip"\nwords = ["x"]\nthen = { queue = "q" }', "#3 \"vip\": unknown key 'words' — conditions go in when"),
    ('name = "vip"\nwhen = { followers_min = "lots" }\nthen = { queue = "q" }', "#3 \"vip\": followers_min must be a number"),
    ('name = "vip"\nthen = { sla = "platinum" }', "#3 \"vip\": sla policy 'platinum' is not in [[sla.policies]]"),
    ('name = "a"\nthen = { queue = "q" }', "#3 \"a\": the name is used twice"),
    ('when = { tone = "angry" }\nthen = { queue = "q" }', "[[triage.rules]] #3 has no name"),
])
def test_bad_rule_names_its_position(rule, message):
    text = ('[[triage.rules]]\nname = "a"\nthen = { queue = "q" }\n'
            '[[triage.rules]]\nname = "b"\nthen = { queue = "q" }\n'
            f"[[triage.rules]]\n{rule}\n")
    with pytest.raises(ConfigError) as err:
        Service(parse_config(text))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text,message", [
    ('[[triage.queues]]\nname = "billing"\nagents = ["Nobody"]', "[[triage.queues]] #1 \"billing\": 'Nobody' is not in [[agents]]"),
    ('[[agents]]\nname = "Sam"\ncapacity = -1', "[[agents]] #1 \"Sam\": capacity = -1"),
    ('[[triage.queues]]\nname = "billing"\nauto_assign = true', "auto_assign needs agents"),
    ('[triage]\nfirst_match = true', "[triage]: unknown setting 'first_match'"),
    ('[[agents]]\nname = "Sam"\n[[triage.rules]]\nname = "x"\nthen = { assignee = "Sma" }',
     "[[triage.rules]] #1 \"x\": assignee 'Sma' is not in [[agents]] — use one of: Sam"),
])
def test_bad_queue_or_agent(text, message):
    with pytest.raises(ConfigError) as err:
        Service(parse_config(text))
    assert message in str(err.value)


# --------------------------------------------------------------------------- on the cache

CONFIG = """
[[agents]]
name = "Sam Rivera"
capacity = 2
[[agents]]
name = "Priya Natarajan"
capacity = 1
[[agents]]
name = "Tom Becker"
capacity = 3

[[sla.policies]]
name = "vip"
first_response = "30m"
[[sla.policies]]
name = "email"
channel = "email"
first_response = "24h"
[[sla.policies]]
name = "social"
channel = "social"
first_response = "1h"

[triage]
default_queue = "general"

[[triage.queues]]
name = "billing"
auto_assign = true
agents = ["Sam Rivera", "Priya Natarajan"]

[[triage.queues]]
name = "general"
auto_assign = false

[[triage.rules]]
name = "refunds"
when = { kind = ["refund", "cancel"] }
then = { queue = "billing", tags = ["refund"] }

[[triage.rules]]
name = "big-spender"
when = { orders_total_min = 1000 }
then = { priority = "high", sla = "vip" }

[[triage.rules]]
name = "big-audience"
when = { channel = "social", followers_min = 10000 }
then = { queue = "social-escalations", priority = "high" }
"""


def test_rules_on_ingest_record_what_they_set(db):
    service = Service(parse_config(CONFIG))
    alice = person(1)
    acc = ensure_account(db, "shop", "demo", "commerce")
    apply_batch(db, acc, Batch(cursor="o", orders=[
        Order("o1", "#1001", alice, T0 - timedelta(days=30), 800.0),
        Order("o2", "#1002", alice, T0 - timedelta(days=3), 400.0)]))
    t, m = conversation(1, who=alice, text="I would like a refund for order #1002, please.")
    _, result = load(db, [(t, m)])
    service.process(db, result)
    row = db.execute("SELECT * FROM threads WHERE id=?", (thread_id(db, "t1"),)).fetchone()
    assert row["queue"] == "billing" and row["priority"] == 2 and json.loads(row["tags"]) == ["refund"]
    assert row["rule"] == "refunds, big-spender"
    log = [(r["rule"], json.loads(r["effects"])) for r in db.execute(
        "SELECT rule, effects FROM triage_log WHERE thread_id=? ORDER BY id", (row["id"],))]
    assert log[:2] == [("refunds", {"queue": "billing", "tags": ["refund"]}),
                       ("big-spender", {"priority": 2, "sla": "vip"})]
    # The rule's SLA policy (30 min) applies, not the email one.
    assert row["sla_due_at"] == pytest.approx(row["last_inbound_at"] + 1800)
    msg = db.execute("SELECT tone, kind FROM messages WHERE thread_id=?", (row["id"],)).fetchone()
    assert msg["kind"] == "refund"


def test_followers_move_a_conversation_only_through_a_visible_rule(db):
    service = Service(parse_config(CONFIG))
    star = Identity(Channel.SOCIAL, "@star@social.example", "Star", followers=250_000)
    nobody = Identity(Channel.SOCIAL, "@quiet@social.example", "Quiet", followers=12)
    pairs = [conversation(1, channel=Channel.SOCIAL, who=nobody, text="my order is late"),
             conversation(2, channel=Channel.SOCIAL, who=star, text="my order is late")]
    _, result = load(db, pairs, account="social", channel="social")
    service.process(db, result)
    quiet = db.execute("SELECT queue, priority, rule, sla_due_at FROM threads WHERE remote_id='t1'").fetchone()
    loud = db.execute("SELECT queue, priority, rule, sla_due_at FROM threads WHERE remote_id='t2'").fetchone()
    assert (quiet["queue"], quiet["priority"], quiet["rule"]) == ("general", 1, "")
    assert (loud["queue"], loud["priority"], loud["rule"]) == ("social-escalations", 2, "big-audience")
    # Without the rule, the same audience changes nothing.
    db2_service = Service(parse_config(CONFIG.split("[[triage.rules]]\nname = \"big-audience\"")[0]))
    assert all(r.name != "big-audience" for r in db2_service.triage.rules)


def test_later_message_adds_rules_and_keeps_earlier_ones_visible(db):
    service = Service(parse_config(CONFIG))
    alice = person(1)
    t, m = conversation(1, who=alice, text="Hello, question about sizes")
    acc, result = load(db, [(t, m)])
    service.process(db, result)
    assert db.execute("SELECT queue, rule FROM threads").fetchone()[:] == ("general", "")
    t2, m2 = conversation(1, who=alice, text="Actually, please cancel my order", at=T0 + timedelta(hours=1))
    m2.remote_id = "m1-second"
    result = apply_batch(db, acc, Batch(cursor="c2", messages=[m2]))
    service.process(db, result)
    assert db.execute("SELECT queue, rule FROM threads").fetchone()[:] == ("billing", "refunds")


def test_round_robin_skips_agents_at_capacity_and_continues_after_restart(db):
    service = Service(parse_config(CONFIG))
    pairs = [conversation(n, text=f"Please refund order {n}") for n in range(1, 5)]
    _, result = load(db, pairs)
    service.process(db, result)
    got = [r[0] for r in db.execute("SELECT assignee FROM threads ORDER BY id")]
    # Sam (cap 2), Priya (cap 1), Sam, then both full: the fourth waits unassigned.
    assert got == ["Sam Rivera", "Priya Natarajan", "Sam Rivera", None]
    db.execute("UPDATE threads SET status='closed' WHERE id=1")  # Sam has room again
    later = Service(parse_config(CONFIG))
    later.start(db)  # remembers Sam had the last one: Priya is next, but she is full
    _, result = load(db, [conversation(5, text="refund please")], cursor="c2")
    later.process(db, result)
    assert db.execute("SELECT assignee FROM threads WHERE remote_id='t5'").fetchone()[0] == "Sam Rivera"
    log = db.execute("SELECT rule, effects FROM triage_log WHERE rule LIKE 'round-robin%' ORDER BY id").fetchall()
    assert log[0][0] == "round-robin billing" and json.loads(log[0][1]) == {"assignee": "Sam Rivera"}


def test_customer_tags_from_commerce_records(db):
    text = CONFIG + '\n[[triage.rules]]\nname = "vip"\nwhen = { customer_tags = ["vip"] }\nthen = { tags = ["vip"] }\n'
    service = Service(parse_config(text))
    alice = person(1)
    acc = ensure_account(db, "shop", "demo", "commerce")
    apply_batch(db, acc, Batch(cursor="o", customers=[Customer("c1", "Alice", [alice], tags=["VIP"])]))
    _, result = load(db, [conversation(1, who=alice, text="Hi there")])
    service.process(db, result)
    assert json.loads(db.execute("SELECT tags FROM threads").fetchone()[0]) == ["vip"]


# --------------------------------------------------------------------------- the demo profile, end to end


async def test_demo_profile_triage_is_visible_and_fair(db, tmp_path):
    """The embedded demo world through the real engine and the demo config's rules."""
    pytest.importorskip("providers.demo")
    from importlib import resources

    from console.engine import Engine

    cfg = parse_config(resources.files("console").joinpath("demo_config.toml").read_text(encoding="utf-8"),
                       "demo_config.toml")
    service = Service(cfg)
    engine = Engine(db, cfg, read_only=False, service=service, data_dir=tmp_path)
    await engine.run_once()
    assert db.execute("SELECT COUNT(*) FROM messages WHERE direction='inbound' AND tone=''").fetchone()[0] == 0
    # Followers move a conversation only through the visible rule.
    escalated = db.execute(
        """SELECT t.rule, i.followers FROM threads t JOIN identities i ON i.id = t.identity_id
           WHERE t.queue='social-escalations'""").fetchall()
    assert escalated, "the demo has big accounts on social"
    assert all("big-audience" in r["rule"] and r["followers"] >= 10000 for r in escalated)
    # Every rule named on a row is one the config defines, and the log says what it set.
    names = {r.name for r in service.triage.rules}
    for (rule,) in db.execute("SELECT DISTINCT rule FROM threads WHERE rule != ''"):
        assert set(rule.split(", ")) <= names
    assert db.execute("SELECT COUNT(*) FROM triage_log WHERE rule='whatsapp'").fetchone()[0] > 0
    whatsapp = db.execute(
        """SELECT DISTINCT i.network FROM triage_log l JOIN threads t ON t.id = l.thread_id
           JOIN messages m ON m.id = l.message_id JOIN identities i ON i.id = m.author_identity_id
           WHERE l.rule='whatsapp'""").fetchall()
    assert [r[0] for r in whatsapp] == ["WhatsApp"]
    # Open conversations waiting for us have a due time; the default order follows it.
    open_due = db.execute("SELECT COUNT(*) FROM threads WHERE status='open' AND sla_due_at IS NOT NULL").fetchone()[0]
    assert open_due > 0
    assert db.execute("SELECT COUNT(*) FROM threads WHERE status!='open' AND sla_due_at IS NOT NULL").fetchone()[0] == 0


def test_language_rule_on_the_cache(db):
    service = Service(parse_config('[[triage.rules]]\nname = "german"\nwhen = { language = "de" }\n'
                                   'then = { queue = "dach" }\n'))
    pairs = [conversation(1, text="Hallo, ich habe meine Bestellung noch nicht bekommen. Wann kommt sie?"),
             conversation(2, text="Hello, I have not received my order yet. When will it arrive?")]
    _, result = load(db, pairs)
    service.process(db, result)
    assert [tuple(r) for r in db.execute("SELECT remote_id, queue, rule FROM threads ORDER BY id")] == [
        ("t1", "dach", "german"), ("t2", "", "")]
