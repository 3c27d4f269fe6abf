"""Shared test data and a small host app for the pane tests (no tests of its own).

``PaneApp`` is a :class:`widgets.host.HostApp`, like the real ``SwitchboardApp``:
the panes get the same host interface (the gate, the keymap, the clock) and only
the navigation is recorded here, so the harness cannot drift from the app;
``tests/ui/test_conversation_app.py`` repeats the key paths through the real app.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from textual.app import ComposeResult
from textual.containers import Horizontal

from console.cache.ingest import apply_batch, ensure_account
from console.config import Config
from providers.records import (
    Article,
    Attachment,
    Batch,
    Channel,
    Customer,
    Direction,
    Identity,
    Message,
    Order,
    Thread,
)
from widgets.conversation import ConversationPane
from widgets.customer import CustomerPane
from widgets.host import HostApp
from widgets.keys import RegistryBindings

NOW = datetime.now(timezone.utc)
AGENT = "Sam Rivera"

ALICE_MAIL = Identity(Channel.EMAIL, "alice@example.com", display_name="Alice Moreau")
ALICE_SOCIAL = Identity(Channel.SOCIAL, "@alice@mastodon.example", display_name="Alice M", followers=12400,
                        verified=True, network="mastodon.example")
BOB_CHAT = Identity(Channel.CHAT, "@bob:matrix.example", display_name="Bob Okafor", network="WhatsApp")
AGENT_MAIL = Identity(Channel.EMAIL, "support@shop.example", display_name=AGENT)

HOSTILE = ("Hi [@click=app.quit]click me[/] and [bold red]x and [link=https://evil.example]l[/link]\n"
           "\x1b]52;c;ZXZpbA==\x07clipboard \x1b]0;pwned title\x07title \x1b[2J\x1b[Hcursor")

QUOTED = ("Still no refund, see below.\n\n"
          "On Mon, 2 Nov 2026 at 09:00, Shop Support <support@shop.example> wrote:\n"
          "> We are looking into it.\n> Kind regards\n>\n> Sam")


def ago(**kw) -> datetime:
    return NOW - timedelta(**kw)


def seed(db) -> dict[str, int]:
    """A small cache: an email refund case, Alice's social post, Bob's encrypted chat, a hostile message."""
    mail = ensure_account(db, "support-mail", "demo", "email")
    social = ensure_account(db, "social", "mastodon", "social")
    chat = ensure_account(db, "live-chat", "matrix", "chat")
    shop = ensure_account(db, "shop", "demo", "commerce")
    apply_batch(db, shop, Batch(
        cursor="s1",
        customers=[Customer("c1", "Alice Moreau", identities=[ALICE_MAIL], tags=["vip"])],
        orders=[Order("o1", "1001", ALICE_MAIL, ago(days=10), 129.5, "EUR", "delivered", ["Kettle"]),
                Order("o2", "1002", ALICE_MAIL, ago(days=3), 20, "EUR", "refund requested")],
        articles=[Article("k1", "How refunds work", "Refunds are paid back to the original card within 5 days.\n\n"
                                                    "Start a refund from your order page.", ["refund"],
                          "https://help.example/refunds")],
    ))
    apply_batch(db, mail, Batch(
        cursor="m1",
        threads=[Thread("t-refund", Channel.EMAIL, "Refund for order 1002", ALICE_MAIL, ago(minutes=5),
                        tags=["refund"], priority=2, queue="billing")],
        messages=[
            Message("m1", "t-refund", Direction.INBOUND, ALICE_MAIL, ago(days=1), "I want a refund for my kettle.",
                    attachments=[Attachment("receipt.pdf", "application/pdf", 234_567)],
                    meta={"parse_warning": "charset guessed as latin-1"}),
            Message("m2", "t-refund", Direction.OUTBOUND, AGENT_MAIL, ago(hours=20), "We are looking into it."),
            Message("m3", "t-refund", Direction.INBOUND, ALICE_MAIL, ago(minutes=5), QUOTED),
            Message("m4", "t-refund", Direction.INBOUND, ALICE_MAIL, ago(minutes=6),
                    "I am away until Monday.", meta={"auto_reply": True}),
        ],
    ))
    apply_batch(db, social, Batch(
        cursor="x1",
        threads=[Thread("p1", Channel.SOCIAL, "", ALICE_SOCIAL, ago(days=2), channel_detail="mention")],
        messages=[Message("p1", "p1", Direction.INBOUND, ALICE_SOCIAL, ago(days=2), "@shop my kettle leaks",
                          meta={"visibility": "public", "edited": True})],
    ))
    apply_batch(db, chat, Batch(
        cursor="c1",
        threads=[Thread("!room:matrix.example", Channel.CHAT, "Bob Okafor", BOB_CHAT, ago(hours=1),
                        channel_detail="WhatsApp", meta={"encrypted": True})],
        messages=[Message("e1", "!room:matrix.example", Direction.INBOUND, BOB_CHAT, ago(hours=1),
                          "where is my parcel?"),
                  Message("e2", "!room:matrix.example", Direction.INBOUND, BOB_CHAT, ago(minutes=50),
                          HOSTILE)],
    ))
    ids = {r["remote_id"]: r["id"] for r in db.execute("SELECT id, remote_id FROM threads")}
    db.execute("UPDATE threads SET rule='refund keywords → billing, high', tone='negative' WHERE id=?",
               (ids["t-refund"],))
    return {"refund": ids["t-refund"], "social": ids["p1"], "chat": ids["!room:matrix.example"]}


def config(read_only: bool = False) -> Config:
    return Config(agent_name=AGENT, role="supervisor" if read_only else "agent")


class PaneApp(RegistryBindings, HostApp):
    """Hosts the two panes; records what they ask of the host."""

    CSS = "Horizontal { height: 1fr; } #conversation { width: 2fr; } #customer { width: 1fr; }"

    def __init__(self, db, *, read_only: bool = False, thread_id: int | None = None) -> None:
        super().__init__(db=db, config=config(read_only), read_only=read_only)
        self.start_thread = thread_id
        self.performed: list[tuple[str, int | None, dict]] = []
        self.opened: list[int] = []
        self.shown_threads: list[tuple[list[int], str]] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ConversationPane(self)
            yield CustomerPane(self)

    def on_mount(self) -> None:
        if self.start_thread is not None:
            self.open_thread(self.start_thread)

    @property
    def current_thread_id(self) -> int | None:
        return self.query_one(ConversationPane).thread_id

    def perform(self, action_id: str, thread_id: int | None = None, **args):
        self.performed.append((action_id, thread_id, args))
        return super().perform(action_id, thread_id, **args)

    def changed(self, thread_ids) -> None:
        self.query_one(ConversationPane).reload()

    def action_retry_send(self) -> None:
        self.perform("retry_send", self.current_thread_id)

    def open_thread(self, thread_id: int, *, focus: bool = True) -> None:
        self.opened.append(thread_id)
        self.query_one(ConversationPane).show(thread_id)
        self.query_one(CustomerPane).show(thread_id)

    def show_threads(self, thread_ids, title: str) -> None:
        self.shown_threads.append((list(thread_ids), title))

    def on_customer_pane_open_thread(self, event: CustomerPane.OpenThread) -> None:
        self.open_thread(event.thread_id)


def static_text(static, width: int = 120) -> str:
    """All the text a Static holds (also the part scrolled out of view), without styles."""
    from rich.console import Console

    content = static.content
    if isinstance(content, str):  # never the case in the panes: they only hold Text / renderables
        return content
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(content)
    return console.export_text()


def flat(text: str) -> str:
    """Text with the message gutters and line wrapping taken out: for phrases a narrow pane wraps."""
    for glyph in "▌┃┆":
        text = text.replace(glyph, " ")
    return " ".join(text.split())
