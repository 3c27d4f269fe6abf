"""Email over IMAP (reading, team state as keywords) and SMTP (replies). See README.md."""

from providers.imap.adapter import ImapProvider

__all__ = ["ImapProvider"]
