"""The conversation key: the same on every console, from the system of record alone.

    key = sha256("switchboard-presence-v1" NUL remote_identity NUL thread_remote_id), hex, first 32 digits

``remote_identity`` is the adapter's :meth:`providers.base.Provider.remote_identity` (for
IMAP the login and host, for Matrix the homeserver and user, for RT the base URL), so
two agents on the same shared mailbox derive the same key for the same thread whatever
their local ids or account names. 32 hex digits are 128 bits: no two conversations a
team will ever see share a key, and the room learns no address or ticket number.
"""

from __future__ import annotations

import hashlib
import re

KEY_DIGITS = 32
PREFIX = "switchboard-presence-v1"
KEY_SHAPE = re.compile(r"[0-9a-f]{%d}" % KEY_DIGITS)


def conversation_key(remote_identity: str, thread_remote_id: str) -> str:
    """The key presence names a conversation by (see the module's docstring)."""
    data = "\0".join((PREFIX, remote_identity, thread_remote_id)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:KEY_DIGITS]


def is_key(value: object) -> bool:
    return isinstance(value, str) and KEY_SHAPE.fullmatch(value) is not None


def identities(config, data_dir=None) -> dict[str, str]:
    """Each enabled account's remote identity by account name (adapters built, nothing opened).
    An account whose options are wrong has none: its conversations are not announced."""
    from console.engine import build_provider  # the engine's way of building adapters, options checked
    from console.errors import UserError
    from providers.base import ProviderError

    out: dict[str, str] = {}
    for acc in config.accounts:
        if not acc.enabled:
            continue
        try:
            out[acc.name] = build_provider(acc, data_dir).remote_identity()
        except (ProviderError, UserError):
            continue
    return out
