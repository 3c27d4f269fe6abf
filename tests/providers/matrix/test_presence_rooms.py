"""Team presence across several rooms (per queue or account), and `switchboard team` read
once from the room by a supervisor — on a real Synapse and a real shared dovecot mailbox."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from console import secrets
from console.cache import team as presence
from tests.support.servers.common import ROOT
from tests.support.servers.mail import PASSWORD, dovecot  # noqa: F401
from tests.support.servers.synapse import API, synapse  # noqa: F401
from tests.support.team import PRESENCE, HeadlessConsole, customer_mail, mail_account, make_team_room, team_section, until

pytestmark = pytest.mark.server


async def room_state(user, room_id) -> dict[str, dict]:
    events = await user.call("GET", f"{API}/rooms/{user.q(room_id)}/state")
    return {e["state_key"]: e["content"] for e in events if e["type"] == PRESENCE}


@pytest.fixture
async def shared(synapse, dovecot, tmp_path):  # noqa: F811
    mailbox = dovecot.add_user("shared")
    client = dovecot.imap(mailbox)
    try:
        for subject in ("Refund please", "Where is it"):
            client.append("INBOX", customer_mail(mailbox, subject))
    finally:
        client.logout()
    for name in ("shared-mail", "support"):
        secrets.put(name, PASSWORD)
    made: list[HeadlessConsole] = []

    def console(who: str, user, account: str, team: str, head: str = "") -> HeadlessConsole:
        folder = tmp_path / who.split()[0]
        folder.mkdir()
        text = f'{head}[agent]\nname = "{who}"\n' + mail_account(dovecot, mailbox, account) + team
        (folder / "config.toml").write_text(text)
        c = HeadlessConsole(folder, text, user)
        made.append(c)
        return c

    yield console
    for c in made:
        await c.close()


async def test_a_conversation_is_announced_in_its_accounts_room_and_the_first_room_is_cleared(synapse, shared):  # noqa: F811
    owner, ana, ben = [await synapse.register() for _ in range(3)]
    general, general_alias = await make_team_room(owner, [ana, ben])
    billing, billing_alias = await make_team_room(owner, [ana, ben])
    rooms = f'rooms = ["{general_alias}", "{billing_alias}"]'
    slow = {"ttl": 30, "heartbeat": 10}  # no entry may expire while the test looks (a loaded machine)
    a_team = team_section(synapse.url, ana, general_alias, **slow).replace(f'rooms = ["{general_alias}"]', rooms) \
        + f'[team.accounts]\nshared-mail = "{billing_alias}"\n'
    b_team = team_section(synapse.url, ben, general_alias, **slow).replace(f'rooms = ["{general_alias}"]', rooms)
    a = shared("Priya Natarajan", ana, "shared-mail", a_team)
    b = shared("Sam Rivera", ben, "support", b_team)
    await asyncio.gather(a.sync(), b.sync())
    await a.start_presence()
    await b.start_presence()
    await until(lambda: a.client.writes >= 1, what="A online")  # nothing open yet: "online" in the first room
    assert (await room_state(owner, general))[ana.user_id]["mode"] == "online"

    a.client.set_local(a.thread("Refund please"))
    on_b = b.thread("Refund please")
    rows = await until(lambda: presence.for_thread(b.db, on_b, time.time(), exclude=ben.user_id),
                       what="B sees A through the billing room")
    assert rows[0]["mode"] == "viewing"
    assert (await room_state(owner, billing))[ana.user_id]["mode"] == "viewing"
    assert (await room_state(owner, general))[ana.user_id] == {}  # cleared there at once, not left to expire
    await until(lambda: {r["room"] for r in presence.entries(b.db, time.time()) if r["agent"] == ana.user_id}
                == {billing}, what="B holds A in the billing room only")


async def test_switchboard_team_reads_the_room_once_as_a_supervisor_and_writes_nothing(synapse, shared):  # noqa: F811
    owner, ana, sue = [await synapse.register() for _ in range(3)]
    room, alias = await make_team_room(owner, [ana, sue])
    a = shared("Priya Natarajan", ana, "shared-mail", team_section(synapse.url, ana, alias))
    s = shared("Sue Supervisor", sue, "support",
               team_section(synapse.url, sue, alias) + '[[agents]]\nname = "Sam Rivera"\n', head='role = "supervisor"\n')
    await asyncio.gather(a.sync(), s.sync())  # the supervisor's console synced the mailbox earlier
    await a.start_presence()
    a.client.set_local(a.thread("Where is it"), replying=True)
    await until(lambda: a.client.writes >= 1 and a.client._written.shown.mode == "replying", what="A replying")
    secrets.put("team", sue.password)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "console", "--config",
                                                   str(s.folder / "config.toml"), "--data-dir", str(s.folder),
                                                   "team", "--json"],
                                  capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    team = {m["name"]: m for m in json.loads(out.stdout)}
    priya = team["Priya Natarajan"]
    assert priya["online"] and priya["mode"] == "replying" and priya["subject"] == "Where is it"
    assert priya["thread_id"] is not None and priya["doing"].startswith(f'replying to #{priya["thread_id"]} "Where is it"')
    assert team["Sam Rivera"]["online"] is False
    assert sue.user_id not in await room_state(owner, room)
    page = await owner.call("GET", f"{API}/rooms/{owner.q(room)}/messages", params={"dir": "b", "limit": "200"})
    assert [e["type"] for e in page["chunk"] if e["sender"] == sue.user_id] == ["m.room.member"]  # her join only


async def test_a_room_that_does_not_let_members_announce_is_named_with_its_fix(synapse, shared):  # noqa: F811
    owner, ana = [await synapse.register() for _ in range(2)]
    room, alias = await make_team_room(owner, [ana], power=50)  # the default for state: only moderators
    a = shared("Priya Natarajan", ana, "shared-mail", team_section(synapse.url, ana, alias))
    secrets.put("team", ana.password)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    doctor = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "console", "--config",
                                                      str(a.folder / "config.toml"), "--data-dir", str(a.folder),
                                                      "doctor"], capture_output=True, text=True, timeout=120,
                                     cwd=ROOT, env=env)
    line = next(x for x in doctor.stdout.splitlines() if "team (" in x)
    assert line.startswith("  FAIL  team (") and "does not let" in line and 'power level 0 for "com.switchboard.presence"' in line
    from console.engine import AccountState

    client = await a.start_presence()
    client.state = AccountState("team", "matrix")
    await until(lambda: client.state.state == "error", what="the refusal")
    assert "does not let" in client.state.error and "power level 0" in client.state.fix
    assert ana.user_id not in await room_state(owner, room)


async def test_an_access_token_stored_as_the_team_secret_signs_in_too(synapse):  # noqa: F811
    from providers.base import AccountConfig, AuthError, KeptSecrets
    from providers.matrix import MatrixProvider

    owner, ana = [await synapse.register() for _ in range(2)]
    room, alias = await make_team_room(owner, [ana])

    def transport(secret: str):
        return MatrixProvider.team_transport(AccountConfig(
            name="team", provider="matrix", secret=lambda: secret, kept=KeptSecrets(),
            options={"homeserver": synapse.url, "user_id": ana.user_id, "rooms": [alias], "timeout": 10.0}))

    t = transport(ana.token)  # what `accounts add team` stored: a token, not the password
    assert await t.open(read_only=True) == [room]
    await t.close()
    wrong = transport("syt_not_a_token")
    with pytest.raises(AuthError) as err:
        await wrong.open(read_only=True)
    assert "refused the password or token" in str(err.value) and "switchboard accounts add team" in str(err.value)


async def test_a_headless_sync_hears_the_team_but_announces_nothing(synapse, shared):  # noqa: F811
    owner, ana, ben = [await synapse.register() for _ in range(3)]
    room, alias = await make_team_room(owner, [ana, ben])
    a = shared("Priya Natarajan", ana, "shared-mail", team_section(synapse.url, ana, alias))
    b = shared("Sam Rivera", ben, "support", team_section(synapse.url, ben, alias))
    await a.sync()
    await a.start_presence()
    a.client.set_local(a.thread("Refund please"))
    await until(lambda: a.client.writes >= 1, what="A's entry")
    secrets.put("team", ben.password)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "console", "--config", str(b.folder / "config.toml"),
                             "--data-dir", str(b.folder), "sync"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        heard = await until(lambda: [r["name"] for r in presence.entries(b.db, time.time())], timeout=60,
                            what="the sync process stores A's entry")
        assert heard == ["Priya Natarajan"]
        await asyncio.sleep(2)  # past its heartbeat and rate limit
        assert ben.user_id not in await room_state(owner, room)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
