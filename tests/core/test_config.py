"""config.toml mistakes each give one line naming the problem and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console import config
from console.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

BAD = {
    "syntax": ('role = "agent\n', "fix the TOML syntax"),
    "unknown section": ("[acounts]\n", "unknown section or key 'acounts'"),
    "role": ('role = "boss"\n', "use one of: agent, supervisor"),
    "account without name": ('[[accounts]]\nprovider = "imap"\n', "needs a name"),
    "account without provider": ('[[accounts]]\nname = "mail"\n', "has no provider"),
    "duplicate account": ('[[accounts]]\nname="a"\nprovider="imap"\n[[accounts]]\nname="a"\nprovider="imap"\n',
                          "used twice"),
    "interval type": ('[sync]\ninterval = "often"\n', "sync.interval must be a number"),
    "interval too small": ("[sync]\ninterval = 0\n", "below 1"),
    "keymap type": ("[keymap]\nreply = 5\n", "keymap.reply must be a key"),
    "view without query": ('[[views]]\nname = 3\n', "needs name and query"),
    "view order": ('[[views]]\nname = "x"\nquery = ""\norder = "random"\n', 'use "due" or "recent"'),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_mistake_is_one_clear_line(case):
    text, expected = BAD[case]
    with pytest.raises(ConfigError) as err:
        config.parse(text, "config.toml")
    message = str(err.value)
    assert expected in message
    assert "\n" not in message and message.startswith("config.toml")


def test_the_example_config_is_valid_and_documents_the_core_sections():
    cfg = config.parse((ROOT / "config.toml").read_text(), ROOT / "config.toml")
    assert cfg.role in ("agent", "supervisor")


def test_account_options_pass_through_to_the_adapter():
    cfg = config.parse('[[accounts]]\nname = "mail"\nprovider = "imap"\nhost = "imap.example.com"\nwindow_days = 30\n')
    (acc,) = cfg.accounts
    assert acc.options == {"host": "imap.example.com"} and acc.window_days == 30


def test_a_broken_config_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text('[[accounts]]\nname = "mail"\n')
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(bad), "export"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "has no provider" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_example_account_is_valid_for_its_adapter(tmp_path):
    from console.engine import build_provider

    cfg = config.parse((ROOT / "config.toml").read_text(), ROOT / "config.toml")
    assert {a.provider for a in cfg.accounts} >= {"imap", "matrix", "mastodon", "bluesky"}
    for acc in cfg.accounts:
        build_provider(acc, tmp_path)  # raises OptionError on an unknown or ill-typed option


def test_the_demo_profile_config_is_valid(tmp_path):
    from console.engine import build_provider

    cfg = config.parse((ROOT / "console" / "demo_config.toml").read_text(), "demo_config.toml")
    assert [a.provider for a in cfg.accounts] == ["demo"] * 5
    for acc in cfg.accounts:
        build_provider(acc, tmp_path)
