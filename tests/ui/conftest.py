"""UI fixtures: a deterministic cache file, a config, and an app factory.

The cache is filled through the real ingest path (``apply_batch``) with fixed
timestamps around ``FIXED_NOW``; triage fields that the service would set (SLA due
time, tone, queue, assignee) are written with SQL so every run sees the same rows.
``make_app`` gives the app a :class:`Clock` pinned at ``FIXED_NOW`` (the inbox
countdowns, the status bar, the panes); a test moves it with ``app.clock.at``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.cache import connect
from console.cache.ingest import apply_batch, ensure_account
from console.config import parse as parse_config
from providers.records import Batch, Channel, Direction, Identity, Message, Thread

FIXED_NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc).timestamp()
AGENT = "Sam Rivera"
HOSTILE_SUBJECT = "[@click=app.quit]Win[/] \x1b]52;c;ZXZpbA==\x07 \x1b]0;pwned\x07[bold]big[/bold]"

FIRST = ["Alice", "Bob", "Chen", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kofi", "Lea", "Mo",
         "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sol", "Tara"]
LAST = ["Moreau", "Okafor", "Wei", "Lindqvist", "Haddad", "Silva", "Kowalski", "Sato", "Petrov", "Park"]
SUBJECTS = ["Refund for order", "Where is my parcel", "Cannot log in", "Invoice copy please", "Wrong size delivered",
            "Discount code not working", "Cancel my subscription", "Damaged item", "Change delivery address",
            "Thank you!"]
CHANNELS = [Channel.EMAIL, Channel.CHAT, Channel.SOCIAL]
TONES = ["neutral", "negative", "positive", "angry", "neutral"]
QUEUES = ["billing", "shipping", "general"]

THREADS = 60


def at(offset_seconds: float) -> datetime:
    return datetime.fromtimestamp(FIXED_NOW + offset_seconds, timezone.utc)


def identity_for(n: int, channel: Channel) -> Identity:
    name = f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}"
    if channel == Channel.EMAIL:
        return Identity(channel, f"{name.split()[0].lower()}{n}@example.com", display_name=name)
    if channel == Channel.CHAT:
        return Identity(channel, f"@{name.split()[0].lower()}{n}:matrix.example", display_name=name, network="WhatsApp")
    return Identity(channel, f"@{name.split()[0].lower()}{n}@mastodon.example", display_name=name,
                    followers=100 * n, network="mastodon.example")


def fill_cache(db, threads: int = THREADS) -> dict[str, int]:
    """Deterministic conversations on three channels; thread n's remote id is f"t{n}"."""
    accounts = {
        Channel.EMAIL: ensure_account(db, "support-mail", "demo", "email"),
        Channel.CHAT: ensure_account(db, "live-chat", "demo", "chat"),
        Channel.SOCIAL: ensure_account(db, "social", "demo", "social"),
    }
    batches: dict[Channel, Batch] = {c: Batch(cursor="1") for c in CHANNELS}
    for n in range(threads):
        channel = CHANNELS[n % 3]
        who = identity_for(n, channel)
        subject = f"{SUBJECTS[n % len(SUBJECTS)]} #{1000 + n}"
        if n == 7:
            subject = HOSTILE_SUBJECT
        last = at(-3600 * (n + 1))
        b = batches[channel]
        b.threads.append(Thread(remote_id=f"t{n}", channel=channel, subject=subject, customer=who,
                                last_message_at=last, unread=n % 4 != 0))
        b.messages.append(Message(remote_id=f"m{n}a", thread_remote_id=f"t{n}", direction=Direction.INBOUND,
                                  author=who, sent_at=last - timedelta(minutes=30),
                                  text=f"Hello, about {subject}. My reference is ref{n}x and I need help."))
        b.messages.append(Message(remote_id=f"m{n}b", thread_remote_id=f"t{n}", direction=Direction.INBOUND,
                                  author=who, sent_at=last,
                                  text=("Still waiting. " + ("parcel tracking says lost" if n % 5 == 1 else
                                                             "please answer soon"))))
    ids: dict[str, int] = {}
    for channel, batch in batches.items():
        apply_batch(db, accounts[channel], batch)
    for n in range(threads):
        tid = db.execute("SELECT id FROM threads WHERE remote_id=?", (f"t{n}",)).fetchone()[0]
        ids[f"t{n}"] = tid
        due = FIXED_NOW + (n - 5) * 1800  # first few breached, then warning, then ok
        status = "closed" if n % 10 == 9 else "snoozed" if n % 10 == 8 else "open"
        assignee = AGENT if n % 3 == 0 else (None if n % 3 == 1 else "Kim Lee")
        db.execute(
            """UPDATE threads SET sla_due_at=?, sort_due=?, tone=?, queue=?, assignee=?, status=?,
                 snoozed_until=?, tags=?, unread=? WHERE id=?""",
            (due if status == "open" else None, due if status == "open" else 9e15, TONES[n % len(TONES)],
             QUEUES[n % 3], assignee, status, FIXED_NOW + 86400 if status == "snoozed" else None,
             json.dumps(["refund"] if n % 10 == 0 else []), int(n % 4 != 0), tid))
    db.execute("UPDATE customers SET created_at=?", (FIXED_NOW - 400 * 86400,))
    return ids


CONFIG_TOML = f"""
[agent]
name = "{AGENT}"
email = "sam@switchboard.example"

[[views]]
name = "Refunds"
query = "tag:refund status:all"
key = "r"

[[macros]]
name = "thanks"
text = "Thank you {{customer.first_name}}, we are on it."
"""


@pytest.fixture
def ui_config():
    return parse_config(CONFIG_TOML, "config.toml")


@pytest.fixture
def cache_path(tmp_path) -> Path:
    path = tmp_path / "ui-cache.sqlite3"
    db = connect(path)
    fill_cache(db)
    db.close()
    return path


@pytest.fixture
def thread_ids(cache_path) -> dict[str, int]:
    db = connect(cache_path)
    ids = {r[0]: r[1] for r in db.execute("SELECT remote_id, id FROM threads")}
    db.close()
    return ids


class Clock:
    """The one injectable clock of the UI tests: callable, pinned, moved by setting ``at``."""

    def __init__(self, at: float = FIXED_NOW) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def make_app(cache_path, ui_config):
    """make_app(read_only=False, config=None) -> SwitchboardApp on the deterministic cache, clock pinned."""

    def factory(*, read_only: bool = False, config=None, path: Path | None = None):
        return PanesReadyApp(db_path=path or cache_path, config=config or ui_config,
                             read_only=read_only, start_engine=False, clock=Clock())

    return factory


def _panes_ready_app():
    from widgets.app import SwitchboardApp

    class PanesReadyApp(SwitchboardApp):
        """The real app; ``run_test`` hands over the pilot once the panes (mounted after the
        first frame) are in place, so tests do not race them on a loaded machine."""

        def run_test(self, *args, **kwargs):
            inner = super().run_test(*args, **kwargs)
            app = self

            class _Ready:
                async def __aenter__(self):
                    pilot = await inner.__aenter__()
                    for _ in range(500):
                        if app.main.panes_ready:
                            break
                        await pilot.pause(0.01)
                    await pilot.pause()
                    return pilot

                async def __aexit__(self, *exc):
                    return await inner.__aexit__(*exc)

            return _Ready()

    return PanesReadyApp


PanesReadyApp = _panes_ready_app()
