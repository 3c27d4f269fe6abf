"""Team presence between consoles on a real Synapse and a real shared dovecot mailbox.

Two agents' consoles (two data folders, two Matrix accounts, the same mailbox, which
each names its own way) in one team room: what A does shows on B within seconds, goes
when A leaves, and expires when A is killed; a supervisor's console writes nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from console import secrets
from console.cache import team as presence
from tests.support.servers.common import ROOT
from tests.support.servers.mail import PASSWORD, dovecot  # noqa: F401
from tests.support.servers.synapse import API, synapse  # noqa: F401
from tests.support.team import (
    PRESENCE,
    HeadlessConsole,
    customer_mail,
    mail_account,
    make_team_room,
    team_section,
    until,
)

pytestmark = pytest.mark.server
SUBJECTS = ["Parcel never arrived", "Charged twice", "Cannot log in", "Wrong size", "Refund please"]


@pytest.fixture
async def team(synapse, dovecot, tmp_path):  # noqa: F811
    owner, ana, ben, sue = [await synapse.register() for _ in range(4)]
    room_id, alias = await make_team_room(owner, [ana, ben, sue])
    mailbox = dovecot.add_user("shared")
    client = dovecot.imap(mailbox)
    try:
        for subject in SUBJECTS:
            client.append("INBOX", customer_mail(mailbox, subject))
    finally:
        client.logout()
    for name in ("shared-mail", "support", "desk"):
        secrets.put(name, PASSWORD)
    made: list[HeadlessConsole] = []

    def console(who, user, account_name: str, extra: str = "", **team_opts) -> HeadlessConsole:
        folder = tmp_path / who
        folder.mkdir()
        text = (f'{extra}[agent]\nname = "{who}"\n' + mail_account(dovecot, mailbox, account_name)
                + team_section(synapse.url, user, alias, **team_opts))
        c = HeadlessConsole(folder, text, user)
        made.append(c)
        return c

    yield {"synapse": synapse, "room": room_id, "alias": alias, "ana": ana, "ben": ben, "sue": sue,
           "owner": owner, "console": console, "mailbox": mailbox, "dovecot": dovecot}
    for c in made:
        await c.close()


async def room_state(user, room_id) -> dict[str, dict]:
    events = await user.call("GET", f"{API}/rooms/{user.q(room_id)}/state")
    return {e["state_key"]: e["content"] for e in events if e["type"] == PRESENCE}


async def events_from(user, room_id, sender: str) -> list[dict]:
    page = await user.call("GET", f"{API}/rooms/{user.q(room_id)}/messages", params={"dir": "b", "limit": "500"})
    return [e["event_id"] for e in page.get("chunk", []) if e.get("sender") == sender]


async def test_what_one_agent_does_shows_on_the_other_console_and_goes_when_they_leave(team):
    a = team["console"]("Priya Natarajan", team["ana"], "shared-mail")
    b = team["console"]("Sam Rivera", team["ben"], "support")
    await asyncio.gather(a.sync(), b.sync())
    on_a, on_b = a.thread("Charged twice"), b.thread("Charged twice")
    await a.start_presence()
    await b.start_presence()
    ben = team["ben"].user_id

    a.client.set_local(on_a)
    rows = await until(lambda: presence.by_thread(b.db, time.time(), exclude=ben).get(on_b), what="B sees A viewing")
    assert [(r["name"], r["mode"]) for r in rows] == [("Priya Natarajan", "viewing")]

    a.client.set_local(on_a, replying=True)
    await until(lambda: [r["mode"] for r in presence.for_thread(b.db, on_b, time.time(), exclude=ben)] == ["replying"],
                what="B sees A replying")
    since = presence.for_thread(b.db, on_b, time.time(), exclude=ben)[0]["since"]
    assert abs(since - time.time()) < 30

    a.client.set_local(None)  # A leaves the conversation: it clears at once
    await until(lambda: not presence.for_thread(b.db, on_b, time.time(), exclude=ben), what="A's mark clears")
    online = {r["name"]: r["mode"] for r in presence.entries(b.db, time.time())}
    assert online["Priya Natarajan"] == "online"  # still online, on no conversation

    await a.client.stop()  # A quits: the entry is cleared in the room, not left to expire
    await until(lambda: "Priya Natarajan" not in {r["name"] for r in presence.entries(b.db, time.time())},
                what="A's entry goes when A quits")
    assert (await room_state(team["owner"], team["room"]))[team["ana"].user_id] == {}
    a.client = None


async def test_rapid_moves_are_coalesced_into_few_state_events(team):
    a = team["console"]("Priya Natarajan", team["ana"], "shared-mail", min_interval=2, heartbeat=5, ttl=15)
    b = team["console"]("Sam Rivera", team["ben"], "support")
    await asyncio.gather(a.sync(), b.sync())
    await a.start_presence()
    await b.start_presence()
    await until(lambda: a.client.writes >= 1, what="A's first write")
    before = len(await events_from(team["owner"], team["room"], team["ana"].user_id))
    for subject in SUBJECTS:  # the agent runs down the inbox: five conversations in a moment
        a.client.set_local(a.thread(subject))
        await asyncio.sleep(0.05)
    last = b.thread(SUBJECTS[-1])
    await until(lambda: presence.by_thread(b.db, time.time(), exclude=team["ben"].user_id).get(last),
                timeout=8, what="B sees A on the last conversation")
    written = len(await events_from(team["owner"], team["room"], team["ana"].user_id)) - before
    assert 1 <= written <= 2, f"{written} state events for five moves within the 2 s limit"
    assert len(presence.entries(b.db, time.time())) == 2  # one row per agent: A and B


async def test_a_console_killed_with_minus_9_expires_after_the_ttl(team, tmp_path):
    b = team["console"]("Sam Rivera", team["ben"], "support")
    await b.sync()
    await b.start_presence()
    on_b = b.thread("Cannot log in")
    folder = tmp_path / "killed"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text('[agent]\nname = "Priya Natarajan"\n'
                      + mail_account(team["dovecot"], team["mailbox"], "desk")
                      + team_section(team["synapse"].url, team["ana"], team["alias"], ttl=3, heartbeat=1))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    secrets.put("team", team["ana"].password)  # the worker reads the same test keyring file
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.team_worker", str(config), str(folder),
                             "Cannot log in"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=60)
        assert line.strip() == "announced", proc.stderr.read() if proc.poll() is not None else line
        ben = team["ben"].user_id
        await until(lambda: [r["mode"] for r in presence.for_thread(b.db, on_b, time.time(), exclude=ben)]
                    == ["replying"], what="B sees the worker replying")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    await until(lambda: not presence.for_thread(b.db, on_b, time.time(), exclude=ben), timeout=3 + 5,
                what="the killed console's entry expires")
    assert all(r["agent"] != team["ana"].user_id for r in presence.entries(b.db, time.time()))
    # Expired, not cleared: the room still holds the dead console's last entry.
    assert (await room_state(team["owner"], team["room"]))[team["ana"].user_id]["mode"] == "replying"
    # …and the row itself is dropped from B's cache (the table holds live entries only).
    await until(lambda: b.db.execute("SELECT COUNT(*) FROM team_presence WHERE agent=?",
                                     (team["ana"].user_id,)).fetchone()[0] == 0, what="the expired row is deleted")


async def test_a_read_only_console_sees_the_team_and_writes_nothing_to_the_room(team):
    a = team["console"]("Priya Natarajan", team["ana"], "shared-mail")
    s = team["console"]("Sue Supervisor", team["sue"], "support", extra='role = "supervisor"\n')
    assert s.read_only
    await asyncio.gather(a.sync(), s.sync())
    before = await events_from(team["owner"], team["room"], team["sue"].user_id)  # her join, made before
    await s.start_presence()
    await a.start_presence()
    s.client.set_local(s.thread("Wrong size"), replying=True)  # what a screen would say: ignored
    a.client.set_local(a.thread("Wrong size"))
    on_s = s.thread("Wrong size")
    await until(lambda: presence.for_thread(s.db, on_s, time.time()), what="the supervisor sees A")
    await asyncio.sleep(1.5)  # more than the heartbeat and the rate limit: time to write, had it meant to
    s_writes = s.client.writes
    await s.client.stop()
    s.client = None
    assert team["sue"].user_id not in await room_state(team["owner"], team["room"])
    assert await events_from(team["owner"], team["room"], team["sue"].user_id) == before  # only her join
    assert s_writes == 0


async def test_a_read_only_console_not_in_the_room_says_so_and_joins_nothing(team):
    stranger = await team["synapse"].register()
    s = team["console"]("Sue Supervisor", stranger, "support", extra='role = "supervisor"\n')
    client = await s.start_presence()
    from console.engine import AccountState

    client.state = AccountState("team", "matrix")
    await until(lambda: client.state.state == "error", what="the error state")
    assert "is not in the team room" in client.state.error and "joins nothing" in client.state.error
    members = await team["owner"].call("GET", f"{API}/rooms/{team['owner'].q(team['room'])}/joined_members")
    assert stranger.user_id not in members["joined"]
