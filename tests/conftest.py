"""Suite-wide settings: a private keyring file, a private data dir, no real user files touched."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _private_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyring_backend.FileKeyring")
    monkeypatch.setenv("SWITCHBOARD_TEST_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    import keyring

    keyring.set_keyring(keyring.core.load_keyring("tests.support.keyring_backend.FileKeyring"))
    yield


@pytest.fixture
def db(tmp_path):
    """A fresh, migrated cache."""
    from console.cache import connect

    conn = connect(tmp_path / "cache.sqlite3")
    yield conn
    conn.close()
