"""Fixtures for the rt adapter: one real RT 5 for the session, an agent account per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.base import AccountConfig
from providers.rt import RtProvider
from tests.support.servers.rt import AGENT, AGENT_PASSWORD, Customer, RtServer, rt_server  # noqa: F401


def rt_account(server: RtServer, state_dir: Path | None = None, **options) -> RtProvider:
    secret = options.pop("secret", AGENT_PASSWORD)
    opts = {"url": server.url, "username": AGENT, **options}
    if opts.get("username") is None:
        opts.pop("username")
    if state_dir is not None:
        opts["state_dir"] = str(state_dir)
    return RtProvider(AccountConfig(name="helpdesk", provider="rt", options=opts, secret=lambda: secret))


class RtHarness:
    """The contract suite's harness: a customer who opens one ticket and writes on it.

    Each harness follows its own queue-less view of RT, so tickets from other tests
    show up in pulls too; the contract only looks for its own markers.
    """

    def __init__(self, server: RtServer, state_dir: Path) -> None:
        self.server = server
        self.state_dir = state_dir
        self.customer: Customer = server.customer("Contract Customer")
        self.ticket: int | None = None

    async def make(self, read_only: bool) -> RtProvider:
        return rt_account(self.server, self.state_dir)

    async def customer_writes(self, text: str) -> None:
        if self.ticket is None:
            self.ticket = self.server.open_ticket(self.customer, "Contract ticket", text)
        else:
            self.server.customer_writes(self.customer, self.ticket, text)

    async def delivered(self, text: str) -> int:
        if self.ticket is None:
            return 0
        return sum(1 for t in self.server.history(self.ticket) if t["type"] == "Correspond" and text in t["text"])

    async def remote_state(self) -> object:
        return self.server.last_transaction()


@pytest.fixture
def rt(rt_server):  # noqa: F811
    return rt_server
