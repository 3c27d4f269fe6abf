"""Team presence in the core: [team] parsing, the conversation key, hostile entries, the
write schedule, the bounded table, `switchboard team`, and a console without [team]."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.cache import team as store
from console.cache.ingest import apply_batch, ensure_account
from console.config import parse
from console.errors import ConfigError
from console.team.content import decode, encode
from console.team.keys import conversation_key, identities
from console.team.presence import PresenceClient, Shown, Written
from providers.records import Batch, Channel, Direction, Identity, Message, Thread

ROOT = Path(__file__).resolve().parents[2]
TEAM = '[team]\nhomeserver = "https://matrix.example.com"\nuser_id = "@ana:example.com"\nrooms = ["#team:example.com"]\n'
MAIL = ('[[accounts]]\nname = "{name}"\nprovider = "imap"\nhost = "{host}"\nusername = "support@example.com"\n')


def sb(*args, config: Path, stdin: str = ""):
    return subprocess.run([sys.executable, "-m", "console", "--config", str(config), *args], input=stdin,
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


# --------------------------------------------------------------------------- [team]


def test_a_team_section_is_read_with_its_defaults_and_routes():
    cfg = parse(TEAM.replace('["#team:example.com"]', '["#team:example.com", "#billing:example.com"]')
                + '[team.queues]\nbilling = "#billing:example.com"\n')
    t = cfg.team
    assert (t.ttl, t.heartbeat, t.min_interval) == (180.0, 60.0, 5.0)
    assert t.room_for("billing", "mail") == "#billing:example.com"
    assert t.room_for("general", "mail") == "#team:example.com"  # the first room by default


def test_without_a_team_section_there_is_no_team():
    assert parse('[agent]\nname = "Ana"\n').team is None


@pytest.mark.parametrize("text, words", [
    (TEAM.replace("https://matrix.example.com", "matrix.example.com"), "team.homeserver"),
    (TEAM.replace('"@ana:example.com"', '"ana"'), "team.user_id"),
    (TEAM.replace('["#team:example.com"]', "[]"), "team.rooms"),
    (TEAM + 'password = "hunter2"\n', "secrets never go in config.toml"),
    (TEAM + "ttl = 10\nheartbeat = 20\n", "must be shorter than team.ttl"),
    (TEAM + '[team.queues]\nbilling = "#elsewhere:example.com"\n', "is not in team.rooms"),
    (TEAM + "ttll = 3\n", "did you mean 'ttl'"),
])
def test_a_wrong_team_section_is_one_line_with_the_fix(text, words):
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert words in str(err.value) and "\n" not in str(err.value)


# --------------------------------------------------------------------------- the key


def test_the_key_is_a_truncated_sha256_of_the_remote_identity_and_the_thread_id():
    import hashlib

    expected = hashlib.sha256(b"switchboard-presence-v1\0imap|username=a@b\0<root@x>").hexdigest()[:32]
    assert conversation_key("imap|username=a@b", "<root@x>") == expected


def test_two_consoles_naming_the_same_mailbox_differently_derive_the_same_keys():
    one = identities(parse(MAIL.format(name="shared-mail", host="Mail.Example.com")))
    two = identities(parse(MAIL.format(name="support", host="mail.example.com")))
    other = identities(parse(MAIL.format(name="support", host="mail.elsewhere.com")))
    assert one["shared-mail"] == two["support"] != other["support"]
    assert conversation_key(one["shared-mail"], "t1") == conversation_key(two["support"], "t1")


# --------------------------------------------------------------------------- entries are hostile


def test_a_hostile_entry_is_cleaned_or_dropped():
    key = conversation_key("x", "y")
    now = time.time()
    good = encode(name="Pri\x1b]0;pwned\x07ya [@click=app.quit]", mode="replying", key=key, since=now, now=now,
                  ttl=60)
    entry = decode("!r", "@p:x", good, now, ttl=30)
    assert entry.name == "Priya [@click=app.quit]" and entry.mode == "replying"
    assert entry.expires_at == pytest.approx(now + 30)  # the reader's TTL wins when it is shorter
    assert decode("!r", "@p:x", {**good, "mode": "hacking"}, now, 30) is None
    assert decode("!r", "@p:x", {**good, "conversation": "'; DROP TABLE threads"}, now, 30) is None
    assert decode("!r", "@p:x", {}, now, 30) is None  # cleared
    assert decode("!r", "@p:x", {**good, "since": "soon", "expires_at": True}, now, 30).since is None


# --------------------------------------------------------------------------- the write schedule


def schedule(**team):
    cfg = parse(TEAM + "".join(f"{k} = {v}\n" for k, v in team.items()))
    client = PresenceClient(cfg.team, transport=None, db=None, agent_name="Ana", read_only=False, identities={},
                            run=None)
    client.rooms = ["!room"]
    return client


def test_moves_wait_for_the_rate_limit_but_replying_and_leaving_go_at_once():
    c = schedule(min_interval=5, heartbeat=60, ttl=180)
    now = 1000.0
    assert c.next_write(now) == now  # never written: at once
    c._written = Written(Shown("!room", "k1", "viewing", now), now)
    c._shown = Shown("!room", "k1", "viewing", now)
    assert c.next_write(now + 1) == now + 60  # nothing changed: the heartbeat
    c._shown = Shown("!room", "k2", "viewing", now + 1)
    assert c.next_write(now + 1) == now + 5  # another conversation: coalesced, at most one per 5 s
    c._shown = Shown("!room", "k1", "replying", now + 1)
    assert c.next_write(now + 1) == now + 1  # starts replying: at once
    c._shown = Shown("!room", "", "online", now + 1)
    assert c.next_write(now + 1) == now + 1  # left the conversation: at once
    c._shown = Shown("!other", "k1", "viewing", now + 1)
    assert c.next_write(now + 1) == now + 1  # another queue's room: the old entry is cleared at once


def test_a_read_only_console_never_records_what_it_shows(db):
    cfg = parse('role = "supervisor"\n' + TEAM)
    client = PresenceClient(cfg.team, transport=None, db=db, agent_name="Sue", read_only=True, identities={},
                            run=None)
    client.set_local(1, replying=True)
    assert client._shown is None and client._local is None


# --------------------------------------------------------------------------- the table stays bounded


def fill(db, n: int = 3) -> tuple[int, dict[str, str]]:
    account_id = ensure_account(db, "support", "imap", "email")
    who = Identity(Channel.EMAIL, "casey@example.com", display_name="Casey")
    from datetime import datetime, timezone

    at = datetime.now(timezone.utc)
    batch = Batch(cursor="c1", threads=[Thread(f"t{i}", Channel.EMAIL, f"Subject {i}", customer=who, last_message_at=at)
                                        for i in range(n)],
                  messages=[Message(f"m{i}", f"t{i}", Direction.INBOUND, who, at, "hello") for i in range(n)])
    apply_batch(db, account_id, batch)
    return account_id, {"support": "imap|username=support@example.com|host=mail.example.com"}


def test_the_presence_table_holds_one_row_per_agent_per_room_and_drops_expired_ones(db):
    _, ids = fill(db)
    key = conversation_key(ids["support"], "t1")
    now = time.time()
    for round_ in range(5):  # every agent writes five times: still one row each
        entries = [("!room", f"@agent{n}:x", decode("!room", f"@agent{n}:x",
                    encode(name=f"Agent {n}", mode="viewing", key=key, since=now, now=now, ttl=30), now, 30))
                   for n in range(1000)]
        store.store(db, entries, now, ids)
    assert db.execute("SELECT COUNT(*) FROM team_presence").fetchone()[0] == 1000
    thread_id = db.execute("SELECT id FROM threads WHERE remote_id='t1'").fetchone()[0]
    assert len(store.for_thread(db, thread_id, now)) == 1000
    gone, touched = store.expire(db, now + 31)
    assert gone and touched == {thread_id}
    assert db.execute("SELECT COUNT(*) FROM team_presence").fetchone()[0] == 0


def test_an_entry_for_a_conversation_synced_later_is_resolved_then(db):
    _, ids = fill(db, n=1)
    later = conversation_key(ids["support"], "t-later")
    now = time.time()
    store.store(db, [("!room", "@p:x", decode("!room", "@p:x", encode(name="Priya", mode="viewing", key=later,
                                                                        since=now, now=now, ttl=60), now, 60))],
                now, ids)
    assert store.entries(db, now)[0]["thread_id"] is None
    account_id = db.execute("SELECT id FROM accounts").fetchone()[0]
    who = Identity(Channel.EMAIL, "casey@example.com")
    from datetime import datetime, timezone

    apply_batch(db, account_id, Batch(cursor="c2", threads=[Thread("t-later", Channel.EMAIL, "Later", customer=who,
                                                                   last_message_at=datetime.now(timezone.utc))]))
    touched = store.resolve_pending(db, ids)
    row = store.entries(db, now)[0]
    assert row["subject"] == "Later" and touched == {row["thread_id"]}


# --------------------------------------------------------------------------- the command line


def test_switchboard_team_prints_every_agent_online_or_not_even_when_the_room_cannot_be_reached(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[agent]\nname = "Sue"\n' + MAIL.format(name="support", host="mail.example.com")
                   + '[[agents]]\nname = "Priya Natarajan"\n[[agents]]\nname = "Sam Rivera"\n'
                   + TEAM.replace("https://matrix.example.com", "http://127.0.0.1:9") + "timeout = 2\n")
    from console.cache import connect

    data = Path(os.environ["SWITCHBOARD_DATA_DIR"])
    db = connect(data / "default.sqlite3")
    _, ids = fill(db)
    ids = identities(parse(cfg.read_text()))
    now = time.time()
    key = conversation_key(ids["support"], "t2")
    store.store(db, [("#team:example.com", "@priya:x", decode("#team:example.com", "@priya:x", encode(
        name="Priya Natarajan", mode="replying", key=key, since=now, now=now, ttl=600), now, 600))], now, ids)
    db.execute("UPDATE threads SET assignee='Sam Rivera' WHERE remote_id='t0'")
    db.close()
    sb("accounts", "add", "team", config=cfg, stdin="pw\n")
    out = sb("team", "--json", config=cfg)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("\n") == 1 and "team room not read" in out.stderr and "Traceback" not in out.stderr
    team = {m["name"]: m for m in json.loads(out.stdout)}
    assert team["Priya Natarajan"]["online"] and team["Priya Natarajan"]["mode"] == "replying"
    assert team["Priya Natarajan"]["subject"] == "Subject 2"
    assert team["Sam Rivera"]["online"] is False and len(team["Sam Rivera"]["claims"]) == 1
    text = sb("team", config=cfg).stdout
    assert 'replying to #' in text and '"Subject 2"' in text and "offline" in text


def test_accounts_add_team_keeps_the_team_secret_in_the_keyring_and_doctor_asks_for_it(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(TEAM.replace("https://matrix.example.com", "http://127.0.0.1:9") + "timeout = 2\n")
    doctor = sb("doctor", config=cfg)
    assert "FAIL  team (@ana:example.com, 1 room(s)): no password or token in the keyring — run: " \
           "switchboard accounts add team" in doctor.stdout
    added = sb("accounts", "add", "team", config=cfg, stdin="s3cret\n")
    assert added.returncode == 0 and "not in the config" not in added.stderr
    stored = json.loads(Path(os.environ["SWITCHBOARD_TEST_KEYRING"]).read_text())
    assert stored["switchboard\x00team"] == "s3cret" and "s3cret" not in cfg.read_text()
    assert "team" in sb("accounts", "list", config=cfg).stdout


def test_without_team_the_engine_runs_as_before_and_the_command_says_why_there_is_nothing(tmp_path, db):
    from console.engine import Engine

    cfg = parse('[[accounts]]\nname = "demo-mail"\nprovider = "demo"\nchannel = "email"\nconversations = 5\n')

    async def run():
        engine = Engine(db, cfg, data_dir=tmp_path)
        await engine.start()
        try:
            for _ in range(200):
                if engine.states["demo-mail"].state == "online":
                    break
                await asyncio.sleep(0.05)
        finally:
            await engine.stop()
        return engine

    engine = asyncio.run(run())
    assert engine.team is None and "team" not in engine.states
    assert engine.states["demo-mail"].state == "online"
    assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] > 0
    assert db.execute("SELECT COUNT(*) FROM team_presence").fetchone()[0] == 0
    config = tmp_path / "config.toml"
    config.write_text("")
    out = sb("team", config=config)
    assert out.returncode == 2 and "no [team] section" in out.stderr and out.stderr.count("\n") == 1
