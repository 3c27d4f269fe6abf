"""Checks shared by the typed sections of config.toml ([sla], [knowledge], [[macros]] …)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console.errors import ConfigError


def table(raw: dict, name: str, where: str, known: tuple[str, ...], *, write: str, use: str) -> dict | None:
    """``raw[name]`` checked to be a table holding only ``known`` settings; None when it is absent.

    ``write`` is the fix for a value that is not a table, ``use`` the fix for an unknown setting.
    """
    section = raw.get(name)
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [{name}] must be a table", fix=write)
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise ConfigError(f"{where}: [{name}]: unknown setting {unknown[0]!r}", fix=use)
    return section


def folder_path(value: Any, label: str, base: Path | None, *, example: str) -> Path:
    """A folder setting as a path: a non-empty string, ``~`` expanded, a relative one taken
    from ``base`` (the config file's folder). Whether it exists is the caller's to say."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label} must be a folder path", fix=f"e.g. {example}")
    path = Path(value).expanduser()
    return base / path if not path.is_absolute() and base is not None else path
