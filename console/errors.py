"""Errors meant for a person: one line naming the problem and the fix."""

from __future__ import annotations

from providers.base import FixableError


class UserError(FixableError):
    """A mistake or condition the user can fix. The CLI prints ``str(err)`` and exits 2."""


class ConfigError(UserError):
    """config.toml is wrong: the message names the file, the line or key, and the fix."""


class ReadOnlyError(UserError):
    """A mutating action was asked for in read-only mode."""
