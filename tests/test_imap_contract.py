"""The shared provider contract, run against a real dovecot (IMAP + LMTP) and a real
SMTP server (aiosmtpd relaying into dovecot) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from email.message import EmailMessage

import pytest

from providers.base import AccountConfig
from providers.imap import ImapProvider
from tests.contract import ProviderContract
from tests.servers.mail import PASSWORD, dovecot, smtp_server  # noqa: F401

pytestmark = pytest.mark.server


class ImapHarness:
    """A fresh agent mailbox and a fresh customer mailbox in the same dovecot."""

    def __init__(self, dv, smtp) -> None:
        self.dv, self.smtp = dv, smtp
        self.agent = dv.add_user("agent")
        self.customer = dv.add_user("cust")

    def account(self, **extra) -> AccountConfig:
        options = {"host": "127.0.0.1", "port": self.dv.imap_port, "security": "none", "username": self.agent,
                   "smtp_host": "127.0.0.1", "smtp_port": self.smtp.port, "smtp_security": "none",
                   "from": f"Support Team <{self.agent}>", "timeout": 10.0, **extra}
        return AccountConfig(name=f"mail-{uuid.uuid4().hex[:6]}", provider="imap", options=options,
                             secret=lambda: PASSWORD)

    async def make(self, read_only: bool) -> ImapProvider:
        return ImapProvider(self.account())

    def _customer_mail(self, text: str, subject: str = "Help please", **headers) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = f"Casey Customer <{self.customer}>"
        msg["To"] = self.agent
        msg["Subject"] = subject
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
        for name, value in headers.items():
            msg[name.replace("_", "-")] = value
        msg.set_content(text)
        return msg

    def send_as_customer(self, msg: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp.port, timeout=10) as s:
            s.login(self.customer, PASSWORD)
            s.send_message(msg)

    async def customer_writes(self, text: str, **kw) -> EmailMessage:
        msg = self._customer_mail(text, **kw)
        await asyncio.to_thread(self.send_as_customer, msg)
        return msg

    async def delivered(self, text: str) -> int:
        def count() -> int:
            client = self.dv.imap(self.customer)
            try:
                client.select_folder("INBOX", readonly=True)
                return len(client.search(["BODY", text]))
            finally:
                client.logout()
        return await asyncio.to_thread(count)

    async def remote_state(self) -> dict:
        def flags() -> dict:
            client = self.dv.imap(self.agent)
            try:
                out = {}
                for folder in ("INBOX", "Sent"):
                    client.select_folder(folder, readonly=True)
                    for uid, data in client.fetch(client.search("ALL"), ["FLAGS"]).items():
                        out[(folder, uid)] = sorted(f for f in data[b"FLAGS"] if f != b"\\Recent")
                return out
            finally:
                client.logout()
        return await asyncio.to_thread(flags)


class TestImapContract(ProviderContract):
    @pytest.fixture
    async def harness(self, dovecot, smtp_server):  # noqa: F811
        return ImapHarness(dovecot, smtp_server)
