"""The customer pane shows a Zendesk ticket beside the same customer's raw email (recorded
HTTP, see test_zendesk.py): one customer, two conversations, the ticket marked as helpdesk."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual.widgets import OptionList

from console.cache.ingest import apply_batch, ensure_account
from providers.base import Batch, Channel, Direction, Identity, Message, Thread
from tests.providers.zendesk.test_zendesk import first_pull, time_passes
from tests.support.recorded.zendesk_fake import FakeZendesk
from tests.ui.test_conversation_harness import PaneApp
from tests.support.pilot import screen_text


@pytest.fixture
def fake():
    f = FakeZendesk()
    with f.router:
        yield f


async def test_the_pane_lists_the_ticket_beside_the_customers_email(fake, db):
    ticket = fake.open_ticket("My order 77 arrived broken", subject="Broken order 77 (desk)")
    time_passes(fake)
    desk = ensure_account(db, "acme-desk", "zendesk", "helpdesk")
    for batch in await first_pull():
        apply_batch(db, desk, batch)
    mail = ensure_account(db, "support-mail", "imap", "email")
    now = datetime.now(timezone.utc)
    her = Identity(Channel.EMAIL, "jo@example.com", display_name="Jo")
    apply_batch(db, mail, Batch(cursor="m", threads=[Thread("mail-1", Channel.EMAIL, "Photo of order 77", her, now)],
                                messages=[Message("<m1@x>", "mail-1", Direction.INBOUND, her, now, "See photo")]))
    mail_thread = db.execute("SELECT id FROM threads WHERE remote_id='mail-1'").fetchone()[0]
    app = PaneApp(db, thread_id=mail_thread)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert app.query_one("#cust-threads", OptionList).option_count == 2
        assert "Broken order 77 (desk)" in text and "helpdesk" in text
        assert "Photo of order 77" in text and "@jo_requests" in text
    assert str(ticket["id"]) in {r[0] for r in db.execute("SELECT remote_id FROM threads WHERE channel='helpdesk'")}
