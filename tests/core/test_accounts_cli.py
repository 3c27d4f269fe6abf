"""`switchboard accounts`: secrets go to the keyring only, and a missing keyring is explained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sb(*args, stdin: str = "", env: dict | None = None, config: Path | None = None):
    cmd = [sys.executable, "-m", "console"]
    if config is not None:
        cmd += ["--config", str(config)]
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([*cmd, *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=full_env)


def test_add_list_remove_keeps_the_secret_only_in_the_keyring(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[accounts]]\nname = "support-mail"\nprovider = "imap"\nhost = "imap.example.com"\n'
                   'username = "support@example.com"\n')
    added = sb("accounts", "add", "support-mail", stdin="hunter2-secret\n", config=cfg)
    assert added.returncode == 0, added.stderr
    assert "stored the secret for support-mail" in added.stdout
    stored = json.loads(Path(os.environ["SWITCHBOARD_TEST_KEYRING"]).read_text())
    assert stored == {"switchboard\x00support-mail": "hunter2-secret"}, "service 'switchboard', the account's name"
    listed = sb("accounts", "list", config=cfg)
    assert "support-mail" in listed.stdout and "secret stored" in listed.stdout
    assert "hunter2" not in listed.stdout + listed.stderr
    assert "hunter2" not in cfg.read_text()
    removed = sb("accounts", "remove", "support-mail", config=cfg)
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert "no secret" in sb("accounts", "list", config=cfg).stdout
    again = sb("accounts", "remove", "support-mail", config=cfg)
    assert again.returncode == 1 and "no secret stored" in again.stderr


def test_no_keyring_backend_is_one_clear_line_naming_the_alternatives(tmp_path):
    proc = sb("accounts", "add", "support-mail", stdin="pw\n",
              env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "no usable keyring backend" in line and "PYTHON_KEYRING_BACKEND" in line


def test_an_empty_secret_is_refused(tmp_path):
    proc = sb("accounts", "add", "x", stdin="\n")
    assert proc.returncode == 2 and "empty" in proc.stderr
