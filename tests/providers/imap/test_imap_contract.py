"""The shared provider contract, run against a real dovecot (IMAP + LMTP) and a real
SMTP server (aiosmtpd relaying into dovecot) on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.contract import ProviderContract
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server  # noqa: F401

pytestmark = pytest.mark.server


class TestImapContract(ProviderContract):
    @pytest.fixture
    async def harness(self, dovecot, smtp_server):  # noqa: F811
        return ImapHarness(dovecot, smtp_server)
