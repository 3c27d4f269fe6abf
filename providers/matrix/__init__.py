"""Matrix chat adapter (and, through bridges, WhatsApp, Telegram, Signal, Messenger, Instagram)."""

from providers.matrix.provider import MatrixProvider

__all__ = ["MatrixProvider"]
