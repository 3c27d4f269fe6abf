"""Words in complaints on the dashboard: no stop words, none of the team's own names or
addresses, and phrases where a phrase says more ("charged twice", "wrong size")."""

from __future__ import annotations

from datetime import timedelta

from console.config import parse as parse_config
from console.dashboard import figures
from console.service import Service
from providers.records import Direction, Identity, Message
from tests.support.factories import T0, conversation, load

CONFIG = """
[agent]
name = "Sam Rivera"

[[accounts]]
name = "support-mail"
provider = "demo"
"""

COMPLAINTS = [
    "@northwind_outfitters@mastodon.example you charged twice for one order, see https://bank.example/statement",
    "Northwind charged twice again. Terrible. Write to me at jo@mail.example",
    "I got the wrong size, the jacket is too small",
    "Wrong size again, Northwind! Please fix it",
    "The jacket zip is broken",
]


def test_complaint_words_are_about_the_problem(db):
    service = Service(parse_config(CONFIG))
    pairs = [conversation(n, text=text, at=T0 + timedelta(minutes=n)) for n, text in enumerate(COMPLAINTS, 1)]
    acc, result = load(db, pairs)
    service.process(db, result)
    from console.cache.ingest import apply_batch
    from providers.records import Batch

    us = Identity(pairs[0][0].channel, "support@northwind.example", display_name="Sam Rivera")
    apply_batch(db, acc, Batch(cursor="c2", messages=[Message(
        remote_id="out1", thread_remote_id="t1", direction=Direction.OUTBOUND, author=us,
        sent_at=T0 + timedelta(hours=1), text="Sorry about that")]))
    f = figures(db, parse_config(CONFIG), (T0 + timedelta(days=1)).timestamp())
    got = {x.label: x.value for x in f.complaint_words}
    assert got["charged twice"] == 2 and got["wrong size"] == 2 and got["jacket"] == 2
    assert "charged" not in got and "twice" not in got and "wrong" not in got  # said by the phrases
    for noise in ("northwind", "outfitters", "mastodon", "example", "bank", "statement", "mail", "please", "the",
                  "sam", "rivera", "order"):
        assert noise not in " ".join(got), noise
