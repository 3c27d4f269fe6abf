"""Every mistake a user can make on the command line is one plain line naming the fix,
and exits 2 (a mistake) or 1 (a refused or failed action) — never a traceback, never
the whole usage, never cut at 80 columns when the output is not a terminal."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_IDS = {}


def sb(*args, data_dir: Path, config: Path | None = None, env: dict | None = None):
    cmd = [sys.executable, "-m", "console", "--data-dir", str(data_dir)]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="40", **(env or {})))


def one_line(proc, code: int = 2) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A filled demo cache, shared by the `do` cases."""
    data = tmp_path_factory.mktemp("demo")
    proc = sb("--demo", "export", "--channel", "email", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    return data


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_5000_deep_toml_array_is_one_line(tmp_path):
    cfg = write(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    line = one_line(sb("accounts", "list", data_dir=tmp_path / "d", config=cfg))
    assert "nested too deeply" in line


def test_a_password_in_an_account_points_to_the_keyring(tmp_path):
    cfg = write(tmp_path, '[[accounts]]\nname = "support-mail"\nprovider = "imap"\nhost = "h"\n'
                          'username = "u"\npassword = "hunter2"\n')
    for command in (["sync", "--once"], ["doctor"], ["accounts", "list"]):
        line = one_line(sb(*command, data_dir=tmp_path / "d", config=cfg))
        assert "'password'" in line and "switchboard accounts add support-mail" in line, command
        assert "hunter2" not in line


def test_a_misspelled_key_is_refused_with_the_likely_one(tmp_path):
    cfg = write(tmp_path, '[agent]\nnmae = "Sam"\n')
    line = one_line(sb("doctor", data_dir=tmp_path / "d", config=cfg))
    assert "'nmae'" in line and "did you mean 'name'" in line


def test_a_config_mistake_in_an_account_makes_sync_once_exit_2(tmp_path):
    cfg = write(tmp_path, '[[accounts]]\nname = "m"\nprovider = "imap"\nhost = "h"\nusername = "u"\n'
                          'colour = "blue"\n')
    line = one_line(sb("sync", "--once", data_dir=tmp_path / "d", config=cfg))
    assert "unknown option 'colour'" in line and "this provider accepts" in line


def test_the_fix_is_never_cut_at_any_width_when_not_a_terminal(tmp_path):
    """COLUMNS=40 and a pipe: the whole line arrives, fix included, on one line."""
    cfg = write(tmp_path, '[[accounts]]\nname = "m"\nprovider = "nosuchprovider"\n')
    line = one_line(sb("sync", "--once", data_dir=tmp_path / "d", config=cfg))
    assert len(line) > 80 and "use one of: " in line and line.rstrip().endswith(("imap", "matrix", "mastodon",
                                                                                "stripe", "sql", "zendesk", "rt")), line


@pytest.mark.parametrize("args, says", [
    (["link_identity", "5"], "link_identity needs --identity and --customer"),
    (["close", "abc"], "conversation 'abc' is not an id"),
    (["close", "1234567890123456789012345"], "is not an id that can exist"),
    (["close"], "close needs a conversation id"),
    (["close", "5", "--text", "hi"], "close does not take --text"),
    (["assign", "5", "--to", "zed"], "no agent called 'zed'"),
    (["unlink_identity", "--identity", "99999999999999999999999"], "is not an id that can exist"),
    (["explode", "1"], "unknown action 'explode'"),
])
def test_do_mistakes_are_one_line(demo, args, says):
    line = one_line(sb("--demo", "do", *args, data_dir=demo))
    assert says in line, line
    assert " — " in line, "the line carries its fix"


def test_do_assign_takes_a_known_agent_by_first_name_and_lists_the_known_ones(demo):
    ok = sb("--demo", "do", "assign", "5", "--to", "priya", data_dir=demo)
    assert ok.returncode == 0 and "assigned to Priya Natarajan" in ok.stdout, ok.stderr
    refused = one_line(sb("--demo", "do", "assign", "5", "--to", "priyanka", data_dir=demo))
    assert "Priya Natarajan" in refused and "Tom Becker" in refused and "[[agents]]" in refused
    db = sqlite3.connect(demo / "demo.sqlite3")
    assert db.execute("SELECT assignee FROM threads WHERE id=5").fetchone() == ("Priya Natarajan",)


def test_export_since_takes_the_words_snooze_takes(demo):
    for word in ("yesterday", "today", "3d", "monday", "2026-11-01"):
        proc = sb("--demo", "export", "--since", word, data_dir=demo)
        assert proc.returncode == 0 and proc.stderr == "", (word, proc.stderr)
    week = sb("--demo", "export", "--since", "7d", data_dir=demo).stdout.count("\n")
    day = sb("--demo", "export", "--since", "yesterday", data_dir=demo).stdout.count("\n")
    assert day <= week


def test_doctor_says_a_missing_config_file_is_a_problem_and_creates_nothing(tmp_path):
    data = tmp_path / "data"
    proc = sb("doctor", data_dir=data, env={"XDG_CONFIG_HOME": str(tmp_path / "empty")})
    assert proc.returncode == 1
    assert "FAIL  config: no config file at" in proc.stdout and "--config FILE" in proc.stdout
    assert "ok    cache: none yet" in proc.stdout
    assert not data.exists(), "doctor creates no cache, log or folder"


def test_doctor_reports_keymap_clashes_and_unknown_ids_like_the_console(tmp_path):
    cfg = write(tmp_path, '[keymap]\nclose = "r"\nexplode = "x"\n')
    proc = sb("doctor", data_dir=tmp_path / "d", config=cfg)
    assert proc.returncode == 1
    assert "FAIL  keymap: unknown action id(s) 'explode'" in proc.stdout
    assert "FAIL  keymap: key clash r is bound to" in proc.stdout and "close" in proc.stdout


def test_markup_and_escapes_in_a_config_value_print_literally(tmp_path):
    cfg = write(tmp_path, '[[accounts]]\nname = "m"\nprovider = "[@click=app.quit]x[/] [/bold] \\u001b]0;pwn\\u0007"\n')
    line = one_line(sb("sync", "--once", data_dir=tmp_path / "d", config=cfg))
    assert "[@click=app.quit]x[/] [/bold]" in line and "\x1b" not in line and "\x07" not in line


def test_log_lines_carry_no_escapes_and_a_full_log_disk_prints_nothing(tmp_path, capsys):
    import logging

    from console import cli

    cli._setup_logging(tmp_path)
    log = logging.getLogger("switchboard.test")
    log.error("server said %s", "\x1b]0;pwned\x07[/bold] ok")
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = (tmp_path / "switchboard.log").read_text(encoding="utf-8")
    assert "server said [/bold] ok" in written and "\x1b" not in written and "\x07" not in written
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, cli._QuietFileHandler))
    try:
        handler.stream.close()
        handler.stream = open("/dev/full", "w")  # every write now fails with ENOSPC
        log.error("this cannot be written")
        assert capsys.readouterr().err == "", "no '--- Logging error ---' on the user's screen"
    finally:
        logging.getLogger().removeHandler(handler)
        handler.stream = None


IMAP_ACCOUNT = ('[[accounts]]\nname = "mail"\nprovider = "imap"\nhost = "127.0.0.1"\nport = 1\n'
                'username = "agent@example.test"\n')


def test_sync_once_without_a_usable_keyring_exits_2_with_the_whole_fix(tmp_path):
    """No keyring backend is a setup mistake: exit 2 and the alternatives, not 'offline' with the fix cut."""
    cfg = write(tmp_path, IMAP_ACCOUNT)
    line = one_line(sb("sync", "--once", data_dir=tmp_path / "d", config=cfg,
                       env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}))
    assert "cannot read the keyring for 'mail'" in line
    assert line.endswith("from the keyrings.alt package on a trusted machine"), line
    assert "UserError" not in line


def test_sync_once_with_no_secret_stored_exits_2_naming_accounts_add(tmp_path):
    cfg = write(tmp_path, IMAP_ACCOUNT)
    line = one_line(sb("sync", "--once", data_dir=tmp_path / "d", config=cfg,
                       env={"PYTHON_KEYRING_BACKEND": "tests.support.keyring_backend.FileKeyring",
                            "SWITCHBOARD_TEST_KEYRING": str(tmp_path / "keyring.json")}))
    assert line == "switchboard: account 'mail': no password in the keyring — run: switchboard accounts add mail"
