"""The conversation pane says who took a conversation this agent tried to claim."""

from __future__ import annotations

from console.cache import connect
from console import claims
from tests.ui.test_conversation_harness import PaneApp, seed, static_text
from textual.widgets import Static


async def test_the_pane_says_who_took_the_conversation_and_keeps_the_agents_reply(tmp_path):
    db = connect(tmp_path / "cache.sqlite3")
    ids = seed(db)
    tid = ids["refund"]
    account = db.execute("SELECT account_id FROM threads WHERE id=?", (tid,)).fetchone()[0]
    db.execute("INSERT INTO outbox(key, thread_id, account_id, kind, args, created_at, author) "
               "VALUES ('k1', ?, ?, 'claim', '{\"agent\": \"Ana\"}', 0, 'Ana')", (tid, account))
    row = db.execute("SELECT * FROM outbox WHERE key='k1'").fetchone()
    claims.record_lost(db, row, "Priya", None)
    app = PaneApp(db, thread_id=tid)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        head = static_text(app.query_one("#conv-header", Static), width=200)
        assert "assignee: Priya" in head
        assert "Priya took this at " in head
    db.close()
