"""Optional folders (Sent, Archive, …): found by name or SPECIAL-USE, created when first needed.

Only the folders customer mail is read from are required. A missing optional folder
never stops reading: it is looked up by its configured name, then by its RFC 6154
attribute (``\\Sent``, ``\\Archive``); if neither exists the adapter reads without it
and creates it on the first write that needs it, when the account may write.
"""

from __future__ import annotations

from dataclasses import dataclass

from imapclient import IMAPClient


def folder_name(name: object) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


@dataclass(slots=True)
class OptionalFolder:
    """An optional folder: the name configured, and the name it has on the server (None: not there)."""

    configured: str
    special_use: bytes  # e.g. b"\\Sent"
    found: str | None = None

    def resolve(self, client: IMAPClient, existing: set[str]) -> str | None:
        """Look the folder up by name, then by its SPECIAL-USE attribute."""
        if self.configured in existing:
            self.found = self.configured
            return self.found
        try:
            special = client.find_special_folder(self.special_use)
        except Exception:  # a server without SPECIAL-USE or LIST-EXTENDED: no such folder
            special = None
        self.found = folder_name(special) if special else None
        return self.found

    def create(self, client: IMAPClient) -> str:
        """Create the folder under its configured name (on the first write that needs it).

        Raises whatever the server said when it refuses; the caller decides what that means."""
        if self.found is None:
            if not client.folder_exists(self.configured):
                client.create_folder(self.configured)
            try:
                client.subscribe_folder(self.configured)
            except Exception:  # subscribing is a courtesy to other mail clients
                pass
            self.found = self.configured
        return self.found
