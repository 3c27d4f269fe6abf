"""Errors meant for a person: one line naming the problem and the fix."""

from __future__ import annotations


class UserError(Exception):
    """A mistake or condition the user can fix. The CLI prints ``str(err)`` and exits 2."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} — {self.fix}" if self.fix else base


class ConfigError(UserError):
    """config.toml is wrong: the message names the file, the line or key, and the fix."""


class ReadOnlyError(UserError):
    """A mutating action was asked for in read-only mode."""
