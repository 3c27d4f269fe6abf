"""Macros: variables, folder macros, side effects through the core actions, and errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from console import macros
from console.actions import Context, perform
from console.cache.ingest import apply_batch, ensure_account
from console.config import parse as parse_config
from console.errors import ConfigError, UserError
from console.service import Service
from providers.records import Batch, Channel, Identity, Order
from tests.support.factories import T0, conversation, load, person, thread_id

CONFIG = '''
[[agents]]
name = "Priya Natarajan"

[[macros]]
name = "refund-approved"
description = "Refund is on its way"
text = """Hi {customer.first_name},

your refund for order {order.number} ("{thread.subject}") is on its way.
Reference: SB-{thread.id}. Braces stay: {{literal}}.

{agent.first_name} ({agent.name})"""
tags = ["refund", "resolved"]
close = true

[[macros]]
name = "waiting-on-carrier"
text = "Hello {customer.name}, we asked the carrier and will write again soon."
snooze = "2d"
priority = "high"
'''


@pytest.fixture
def world(db):
    alice = Identity(Channel.EMAIL, "alice@example.com", "Alice Moreau")
    acc = ensure_account(db, "shop", "demo", "commerce")
    apply_batch(db, acc, Batch(cursor="o", orders=[
        Order("o1", "#1001", alice, T0 - timedelta(days=30), 80.0),
        Order("o2", "#1042", alice, T0 - timedelta(days=2), 40.0)]))
    load(db, [conversation(1, who=alice, subject="Where is my refund?", text="Where is my refund?")])
    return db, thread_id(db, "t1")


def test_names_in_order():
    assert macros.names(parse_config(CONFIG)) == ["refund-approved", "waiting-on-carrier"]


def test_render_fills_every_variable(world):
    db, tid = world
    text = macros.render(db, parse_config(CONFIG), tid, "refund-approved", "Priya Natarajan")
    assert text == (
        "Hi Alice,\n\nyour refund for order #1042 (\"Where is my refund?\") is on its way.\n"
        f"Reference: SB-{tid}. Braces stay: {{literal}}.\n\nPriya (Priya Natarajan)")


def test_apply_macro_fills_the_draft_and_changes_nothing_until_send(world):
    db, tid = world
    ctx = Context(db, agent="Priya Natarajan", config=parse_config(CONFIG))
    perform(ctx, "save_draft", tid, text="Sorry for the wait.")
    result = perform(ctx, "apply_macro", tid, name="refund-approved")
    assert result.ok, result.message
    assert result.message == "macro 'refund-approved' is in the draft · on send: tag refund, resolved, close"
    draft = db.execute("SELECT text FROM drafts WHERE thread_id=?", (tid,)).fetchone()[0]
    assert draft.startswith("Sorry for the wait.\n\nHi Alice,")
    row = db.execute("SELECT status, tags FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["status"] == "open" and json.loads(row["tags"]) == []
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert macros.pending_effects(db, tid) == ["tag refund, resolved", "close"]
    assert db.execute("SELECT result FROM audit WHERE action='apply_macro'").fetchone()[0] == "ok"


def test_sending_the_draft_runs_its_effects_with_the_reply(world):
    db, tid = world
    ctx = Context(db, agent="Priya Natarajan", config=parse_config(CONFIG))
    perform(ctx, "apply_macro", tid, name="refund-approved")
    result = perform(ctx, "reply", tid)  # no text: the saved draft goes out
    assert result.ok, result.message
    assert result.message.startswith("reply queued; tags: refund, resolved; conversation closed")
    row = db.execute("SELECT status, tags FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["status"] == "closed" and json.loads(row["tags"]) == ["refund", "resolved"]
    kinds = [r[0] for r in db.execute("SELECT kind FROM outbox WHERE thread_id=? ORDER BY id", (tid,))]
    assert kinds == ["reply", "tag", "close"]
    sent = db.execute("SELECT text FROM messages WHERE direction='outbound'").fetchone()[0]
    assert sent.startswith("Hi Alice,")
    assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0


def test_effects_and_reply_are_one_transaction(world):
    db, tid = world
    ctx = Context(db, agent="Sam Rivera", config=parse_config(CONFIG))
    perform(ctx, "apply_macro", tid, name="refund-approved")
    db.execute("UPDATE drafts SET effects=json_insert(effects, '$[#]', json('{\"action\": \"priority\", "
               "\"args\": {\"level\": \"asap\"}, \"say\": \"priority asap\"}'))")
    result = perform(ctx, "reply", tid)
    assert not result.ok and "unknown priority 'asap'" in result.message
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0  # nothing queued: all or nothing
    assert db.execute("SELECT status FROM threads WHERE id=?", (tid,)).fetchone()[0] == "open"
    assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 1  # the draft is kept


def test_discarding_the_draft_drops_its_effects(world):
    db, tid = world
    ctx = Context(db, agent="Sam Rivera", config=parse_config(CONFIG))
    perform(ctx, "apply_macro", tid, name="waiting-on-carrier")
    assert perform(ctx, "discard_draft", tid).ok
    assert macros.pending_effects(db, tid) == []
    assert perform(ctx, "reply", tid, text="Written by hand.").ok
    row = db.execute("SELECT status, priority, snoozed_until FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["status"] == "pending" and row["priority"] == 1 and row["snoozed_until"] is None


def test_snooze_and_priority_effects_on_send(world):
    db, tid = world
    ctx = Context(db, agent="Sam Rivera", config=parse_config(CONFIG))
    assert perform(ctx, "apply_macro", tid, name="waiting-on-carrier").ok
    draft = db.execute("SELECT text FROM drafts WHERE thread_id=?", (tid,)).fetchone()[0]
    assert draft == "Hello Alice Moreau, we asked the carrier and will write again soon."
    assert perform(ctx, "reply", tid).ok
    row = db.execute("SELECT status, priority, snoozed_until FROM threads WHERE id=?", (tid,)).fetchone()
    assert row["status"] == "snoozed" and row["priority"] == 2 and row["snoozed_until"] is not None


def test_preview_renders_text_and_effects_without_changing_anything(world):
    db, tid = world
    shown = macros.preview(db, parse_config(CONFIG), tid, "refund-approved", "Priya Natarajan")
    assert shown.text.startswith("Hi Alice,\n\nyour refund for order #1042")
    assert shown.on_send == "on send: tag refund, resolved, close"
    assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0


def test_read_only_cannot_apply(world):
    db, tid = world
    ctx = Context(db, agent="boss", role="supervisor", config=parse_config(CONFIG))
    result = perform(ctx, "apply_macro", tid, name="refund-approved")
    assert not result.ok and "read-only" in result.message
    assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0


def test_unknown_macro_and_missing_order_are_clear_errors(db):
    load(db, [conversation(1, who=person(9), text="hi")])
    tid = thread_id(db, "t1")
    cfg = parse_config(CONFIG)
    result = perform(Context(db, agent="Sam", config=cfg), "apply_macro", tid, name="nope")
    assert not result.ok and "no macro named 'nope'" in result.message and "refund-approved" in result.message
    with pytest.raises(UserError, match=r"uses \{order.number\}, but this customer has no orders"):
        macros.render(db, cfg, tid, "refund-approved", "Sam")
    assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0


def test_handle_instead_of_name_greets_politely(db):
    who = Identity(Channel.SOCIAL, "@x@social.example", "")
    load(db, [conversation(1, channel=Channel.SOCIAL, who=who, text="hi")], account="social", channel="social")
    cfg = parse_config('[[macros]]\nname = "hi"\ntext = "Hi {customer.first_name}!"')
    assert macros.render(db, cfg, thread_id(db, "t1"), "hi", "Sam") == "Hi there!"


def test_unknown_variable_names_it_at_config_time():
    cfg = parse_config('[[macros]]\nname = "a"\ntext = "x"\n[[macros]]\nname = "b"\ntext = "Hi {customer.age}"')
    with pytest.raises(ConfigError) as err:
        Service(cfg)
    assert 'config.toml: [[macros]] #2 "b": unknown variable {customer.age}' in str(err.value)
    assert "{customer.first_name}" in str(err.value)


def test_unknown_variable_at_render_time():
    with pytest.raises(UserError, match=r"unknown variable \{agent.email\}"):
        macros.fill("Hi {agent.email}", {"agent.name": "x"}, "m")


@pytest.mark.parametrize("entry,message", [
    ('name = "a"\ntext = "x"\nsnooze = "someday"', "snooze = 'someday' is not a time"),
    ('name = "a"\ntext = "x"\nclose = true\nsnooze = "2d"', "both close and snooze"),
    ('name = "a"\ntext = "x"\npriority = "asap"', "priority = 'asap'"),
    ('name = "a"\ntext = "x"\ncolour = "red"', "unknown setting 'colour'"),
    ('name = "a"', '"a" has no text'),
])
def test_macro_config_errors(entry, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        macros.parse(parse_config(f"[[macros]]\n{entry}").raw)


def test_folder_macros(db, tmp_path):
    folder = tmp_path / "macros"
    folder.mkdir()
    (folder / "thanks.md").write_text("Thank you, {customer.first_name}!\n")
    (folder / "tracking.txt").write_text("---\nname: send-tracking\ntags: [shipping]\n---\n"
                                         "Your parcel for {order.number} is on its way.\n")
    (folder / "notes.json").write_text("{}")  # ignored
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text('[[macros]]\ndir = "macros"\n')
    from console.config import load as load_config

    cfg = load_config(cfg_path)
    assert macros.names(cfg) == ["thanks", "send-tracking"]
    load(db, [conversation(1, who=person(2), text="hi")])
    tid = thread_id(db, "t1")
    assert macros.render(db, cfg, tid, "thanks", "Sam") == "Thank you, Customer!"
    assert macros.get(cfg, "send-tracking").tags == ("shipping",)
    cfg_path.write_text('[[macros]]\ndir = "missing"\n')
    with pytest.raises(ConfigError, match="macro folder .*missing does not exist"):
        macros.names(load_config(cfg_path))
