"""Presence on screen, end to end: a real Synapse team room, a real shared dovecot mailbox,
agent A as a headless console and agent B's full console under Pilot (its own engine,
its own presence client, started by the app as in production)."""

from __future__ import annotations

import time

import pytest

from console import secrets
from console.cache import team as presence
from console.config import parse
from tests.support.servers.mail import PASSWORD, dovecot  # noqa: F401
from tests.support.servers.synapse import synapse  # noqa: F401
from tests.support.team import HeadlessConsole, customer_mail, mail_account, make_team_room, team_section
from tests.ui.conftest import PanesReadyApp
from tests.ui.test_conversation_harness import static_text
from widgets.inbox import HEADER_ROWS

pytestmark = pytest.mark.server


def row_with(inbox, subject: str) -> str:
    """The inbox line showing ``subject`` (its start: the presence mark takes cells from the subject)."""
    for y in range(inbox.total + HEADER_ROWS):
        text = "".join(seg.text for seg in inbox.render_line(y))
        if subject in text:
            return text
    return ""


async def wait(pilot, check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await pilot.pause(0.05)


async def test_another_agent_replying_shows_on_the_inbox_row_and_in_the_pane_and_clears(synapse, dovecot, tmp_path):  # noqa: F811
    owner, ana, ben = [await synapse.register() for _ in range(3)]
    _, alias = await make_team_room(owner, [ana, ben])
    mailbox = dovecot.add_user("shared")
    client = dovecot.imap(mailbox)
    try:
        for subject in ("Parcel never arrived", "Charged twice", "Cannot log in"):
            client.append("INBOX", customer_mail(mailbox, subject))
    finally:
        client.logout()
    secrets.put("shared-mail", PASSWORD)
    secrets.put("support", PASSWORD)
    secrets.put("team", ben.password)  # B's console: the keyring's team secret, as `accounts add team` stores it

    (tmp_path / "a").mkdir()
    a = HeadlessConsole(tmp_path / "a", '[agent]\nname = "Priya Natarajan"\n'
                        + mail_account(dovecot, mailbox, "shared-mail") + team_section(synapse.url, ana, alias), ana)
    b_dir = tmp_path / "b"
    b_config = parse('[agent]\nname = "Sam Rivera"\n' + mail_account(dovecot, mailbox, "support")
                     + team_section(synapse.url, ben, alias), b_dir / "config.toml")
    app = PanesReadyApp(db_path=b_dir / "default.sqlite3", config=b_config, start_engine=True, data_dir=b_dir)
    try:
        await a.sync()
        await a.start_presence()
        on_a = a.thread("Charged twice")
        async with app.run_test(size=(160, 40)) as pilot:
            inbox = app.main.inbox
            await wait(pilot, lambda: inbox.total == 3, 60, "B's first sync")
            await wait(pilot, lambda: app.engine.states["team"].state == "online", 30, "B's presence client")
            assert "✎" not in row_with(inbox, "Charged")

            a.client.set_local(on_a, replying=True)
            await wait(pilot, lambda: "✎Priya" in row_with(inbox, "Charged"), 5, "A's mark on B's inbox row")
            on_b = app.db.execute("SELECT id FROM threads WHERE subject='Charged twice'").fetchone()[0]
            app.open_thread(on_b)
            header = app.query_one("#conv-header")
            await wait(pilot, lambda: "Priya Natarajan is replying (since " in static_text(header, 200), 5,
                       "the pane's line")

            # B's own screen reaches A: the app tells its presence client what is open.
            await wait(pilot, lambda: [(r["name"], r["mode"]) for r in presence.for_thread(
                a.db, on_a, time.time(), exclude=ana.user_id)] == [("Sam Rivera", "viewing")], 5, "B's entry on A")

            a.client.set_local(None)  # A leaves
            await wait(pilot, lambda: "✎Priya" not in row_with(inbox, "Charged"), 5, "the mark clears")
            await wait(pilot, lambda: "is replying" not in static_text(header, 200), 5, "the line clears")
    finally:
        await a.close()


async def test_the_dashboard_shows_who_is_online_what_each_is_on_and_their_claims(db):
    from datetime import datetime, timezone

    from console.team.content import decode, encode
    from console.team.keys import conversation_key
    from tests.support.factories import conversation, load
    from tests.ui.test_dashboard_screen import Host, row_index
    from widgets.screens.dashboard import DashboardScreen

    cfg = parse('[[agents]]\nname = "Sam Rivera"\n[[agents]]\nname = "Priya Natarajan"\n'
                '[team]\nhomeserver = "https://m.example"\nuser_id = "@sue:m.example"\nrooms = ["!team:m.example"]\n')
    now = datetime.now(timezone.utc)
    load(db, [conversation(1, text="Where is my parcel?", at=now), conversation(2, text="Refund?", at=now)])
    db.execute("UPDATE threads SET assignee='Sam Rivera' WHERE remote_id='t2'")
    viewed = db.execute("SELECT id, subject, account_id FROM threads WHERE remote_id='t1'").fetchone()
    account = db.execute("SELECT name FROM accounts WHERE id=?", (viewed["account_id"],)).fetchone()[0]
    identity = "demo|account=" + account
    t = time.time()
    content = encode(name="Priya Natarajan\x1b[2J", mode="replying", key=conversation_key(identity, "t1"), since=t,
                     now=t, ttl=60)
    presence.store(db, [("!team:m.example", "@priya:m.example", decode("!team:m.example", "@priya:m.example", content,
                                                                        t, 60))], t, {account: identity})
    app = Host(db, cfg)
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one("DataTable")
        priya = row_index(screen, "Team (online · on · claims): ● Priya Natarajan")
        sam = row_index(screen, "Team (online · on · claims): ○ Sam Rivera")
        cells = [str(c) for c in table.get_row_at(priya)]
        assert cells[1] == "0 claims" and cells[2].startswith(f'replying to #{viewed["id"]} "{viewed["subject"]}"')
        assert [str(c) for c in table.get_row_at(sam)][1:] == ["1 claim", "offline"]
        assert screen.rows[priya][1] == [viewed["id"]]  # Enter shows what she is on
