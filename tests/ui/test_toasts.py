"""Toasts speak the user's language: every action driven from the keys, and the notice it leaves.

No internal ids ("identity 229 linked to customer 453"), no action ids ("retry_send: …"),
no doubled words ("Read-only read-only"), no "when the account is online", no countdown
that cannot count (a toast says a clock time instead)."""

from __future__ import annotations

import re

import pytest

from console.cache import connect
from tests.ui.test_conversation_harness import seed
from tests.support.pilot import Typed, press

SIZES = [(160, 45), (80, 24)]
ACTION_ID = re.compile(r"\b[a-z]+_[a-z_]+\b")
INTERNAL_ID = re.compile(r"\b(identity|customer|outbox item|conversation|thread) \d+\b")
DOUBLED = re.compile(r"\b(\w+)\W+\1\b", re.IGNORECASE)


def plain(text: str) -> list[str]:
    """What is wrong with a toast's words (empty: nothing)."""
    wrong = [f"action id {m.group(0)!r}" for m in ACTION_ID.finditer(text)]
    wrong += [f"internal id {m.group(0)!r}" for m in INTERNAL_ID.finditer(text)]
    wrong += [f"doubled {m.group(0)!r}" for m in DOUBLED.finditer(text)]
    if "online" in text:
        wrong.append("says 'online'")
    if re.search(r"\bin 0 s\b", text):
        wrong.append("a countdown at 0")
    return wrong


@pytest.fixture
def seeded(tmp_path):
    path = tmp_path / "toasts.sqlite3"
    db = connect(path)
    ids = seed(db)
    db.close()
    return path, ids


async def opened(app, pilot, tid):
    await pilot.pause()
    app.open_thread(tid, focus=False)
    for _ in range(60):
        await pilot.pause(0.05)
        if app.main.panes_ready and app.main.conversation.thread_id == tid:
            break
    app.main.inbox.focus()
    await pilot.pause()


async def said(app, pilot, *keys: str, then=None) -> str:
    """Press ``keys`` (or run ``then``); the toast they left (the newest one)."""
    before = {id(n) for n in app._notifications}  # shown ones time out: count by identity, not by place
    await press(pilot, *keys)
    if then is not None:
        then()
    await pilot.pause()
    new = [" ".join(filter(None, [n.title, n.message])) for n in app._notifications if id(n) not in before]
    assert new, f"{keys} left no notice"
    return new[-1]


@pytest.mark.parametrize("size", SIZES)
async def test_every_action_from_the_keys_says_what_happened_in_plain_words(make_app, seeded, size):
    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=size) as pilot:
        tid = ids["refund"]
        await opened(app, pilot, tid)
        steps = [
            ("close", ("e",)), ("reopen", ("o",)), ("mark_unread", ("u",)),
            ("snooze", ("s", Typed("tomorrow 9:00"), "enter")), ("reopen", ("o",)),
            ("assign", ("a", Typed("me"), "enter")), ("tag", ("t", Typed("probe"), "enter")),
            ("priority", ("p", Typed("urgent"), "enter")), ("retry_send", ("R",)), ("macro", ("m", "enter")),
            ("customer_note", ("N", Typed("likes kettles"), "enter")),
            ("link", ("L", Typed("mastodon"), "enter", "y")), ("unlink", ("U", "y")),
        ]
        heard = {}
        for name, keys in steps:
            await opened(app, pilot, tid)  # the same conversation, even where the last step moved it out of view
            heard[name] = await said(app, pilot, *keys)
            if app.main.conversation.composing:
                app.main.conversation.close_composer()
        app.perform("tag", tid, add=["late"])
        heard["undo"] = await said(app, pilot, then=lambda: app.perform("undo"))  # (its keys: another screen's)
        heard["bulk"] = await said(app, pilot, then=lambda: app.perform("bulk", None, action="close",
                                                                        threads=[tid, ids["chat"]]))
        undo = " — ctrl+z to undo"  # after every change that can be undone
        assert heard == {
            "close": "conversation closed" + undo,
            "reopen": "conversation reopened" + undo,
            "mark_unread": "marked unread",
            "snooze": heard["snooze"],
            "assign": "assigned to Sam Rivera" + undo,
            "tag": "tags: probe, refund" + undo,
            "priority": "priority urgent" + undo,
            "retry_send": "nothing failed or held to act on in this conversation",
            "macro": "macro 'thanks' is in the draft",
            "customer_note": "customer note saved",
            "link": "@alice@mastodon.example linked to Alice Moreau",
            "unlink": "@alice@mastodon.example is back with Alice M",
            "undo": "undone: the tag change",
            "bulk": "1 of 2 conversations closed; not changed: “Refund for order 1002” has an unsent draft — send or "
                    "discard it, or close anyway (the draft is kept)" + undo,  # the macro's draft
        }
        assert re.fullmatch(r"snoozed until \w{3} \d\d \w{3} 09:00" + re.escape(undo), heard["snooze"])
        for key, text in heard.items():
            assert plain(text) == [], (key, text)


@pytest.mark.parametrize("size", SIZES)
async def test_read_only_says_it_once_in_words(make_app, seeded, size):
    path, ids = seeded
    app = make_app(path=path, read_only=True)
    async with app.run_test(size=size) as pilot:
        for _ in range(10):  # the dashboard opens first in read-only mode
            await pilot.pause(0.05)
            while len(app.screen_stack) > 1:
                app.pop_screen()
        await opened(app, pilot, ids["refund"])
        text = await said(app, pilot, "e")
        assert text == "read-only: cannot close (resolve) the conversation — this console only watches: " \
                       "nothing can be changed from it"
        assert plain(text) == []
        text = await said(app, pilot, "s")
        assert text.startswith("read-only: cannot snooze until") and plain(text) == []


async def test_a_reply_waiting_out_its_undo_send_window_says_when_not_online(make_app, seeded):
    import time

    from tests.ui.test_conversation_harness import flat, static_text

    path, ids = seeded
    app = make_app(path=path)
    async with app.run_test(size=(160, 45)) as pilot:
        tid = ids["refund"]
        await opened(app, pilot, tid)
        result = app.perform("reply", tid, text="On its way.")
        await opened(app, pilot, tid)  # back from the next conversation that sending opened
        body = flat(static_text(app.query_one("#conv-scroll"), width=200))
        assert "⏳ queued for sending" in body and "online" not in body
        app.db.execute("UPDATE outbox SET next_try_at=? WHERE id=?", (time.time() + 30, result.data["outbox_id"]))
        app.changed({tid})
        await pilot.pause()
        body = flat(static_text(app.query_one("#conv-scroll"), width=200))
        assert re.search(r"⏳ queued — sends at \d\d:\d\d:\d\d unless cancelled", body)
