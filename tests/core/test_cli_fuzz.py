"""A fuzz pass over config.toml and the command line, as a fixed, seeded corpus of
several hundred cases: every one ends with exit 0, 1 or 2, a mistake (2) is exactly one
line on stderr, and nothing ever shows a traceback or the catch-all "internal error"
(which would mean a case reached an unexpected exception).

Config cases mutate the documented example config.toml line by line (each value replaced
by hostile TOML: wrong types, huge and odd numbers, dates, deep arrays, markup, escapes)
plus structural damage (cut short, typos, unknown tables, bad bytes), and run `doctor`,
which reads every section, checks [keymap] and builds every account's adapter without
touching the network (the test keyring holds no secrets). Argument cases run `do`,
`export`, `report` and the global options on a demo cache."""

from __future__ import annotations

import io
import os
import random
import re
from pathlib import Path

import pytest

from console import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.toml").read_text(encoding="utf-8")
HOSTILE_VALUES = [
    '""', '"' + "x" * 5000 + '"', "-1", "0", "99999999999999999999999999", "1e400", "nan", "-inf", "true",
    "[]", "[[[[]]]]", "{}", "{ a = 1 }", '"[/bold]"', '"[@click=app.quit]x[/]"', '"\\u001b]0;pwned\\u0007"',
    '"\\u202eevil\\u200b"', "1979-05-27T07:32:00Z", "07:32:00", '[1, "a", true]', '"25:99"', '"2h30x"',
    "[" * 300 + "]" * 300,
]
ASSIGNMENT = re.compile(r"^(\s*[A-Za-z_][\w.-]*\s*=\s*)(.+?)(\s*#.*)?$")


def config_cases() -> list[tuple[str, str]]:
    rng = random.Random(20261201)
    lines = EXAMPLE.splitlines()
    values = [i for i, line in enumerate(lines) if ASSIGNMENT.match(line) and not line.lstrip().startswith("#")]
    cases = []
    for i in values:  # every setting gets two hostile values
        for value in rng.sample(HOSTILE_VALUES, 2):
            m = ASSIGNMENT.match(lines[i])
            mutated = lines[:i] + [m.group(1) + value] + lines[i + 1:]
            cases.append((f"line {i + 1} = {value[:20]}", "\n".join(mutated)))
    for n in range(40):  # structural damage
        cut = rng.randrange(len(EXAMPLE))
        cases.append((f"cut at {cut}", EXAMPLE[:cut]))
    for i in rng.sample(values, 20):
        key = ASSIGNMENT.match(lines[i]).group(1).strip(" =")
        typo = key[:-1] + key[-1] * 2 if len(key) > 1 else key + "x"
        cases.append((f"typo {typo}", "\n".join(lines[:i] + [lines[i].replace(key, typo, 1)] + lines[i + 1:])))
    cases += [
        ("unknown table", EXAMPLE + "\n[nosuchthing]\na = 1\n"),
        ("accounts not tables", 'accounts = "x"\n'),
        ("account without name", "[[accounts]]\nprovider = 'imap'\n"),
        ("two accounts one name", "[[accounts]]\nname='a'\nprovider='demo'\n[[accounts]]\nname='a'\nprovider='demo'\n"),
        ("a token in an account", "[[accounts]]\nname='a'\nprovider='matrix'\naccess_token='syt_x'\n"),
        ("keymap clash", "[keymap]\nclose = 'r'\nreply = 'r'\n"),
        ("keymap not a table", "keymap = 3\n"),
        ("keymap bad key", "[keymap]\nclose = ['ctrl+ü+', '']\n"),
        ("deep table", "a = " + "{b = " * 2000 + "1" + "}" * 2000 + "\n"),
        ("deep array", "a = " + "[" * 5000 + "]" * 5000 + "\n"),
        ("empty", ""),
        ("only a BOM", "\ufeff"),
        ("NUL bytes", "role = 'agent'\x00\n"),
        ("markup section", "[\"[/bold]\"]\nx = 1\n"),
        ("escape in a name", '[agent]\nname = "\\u001b[2Jroot"\n'),
        ("views wrong", "[[views]]\nname = 3\n"),
        ("views key long", "[[views]]\nname='v'\nquery='x'\nkey='long'\n"),
    ]
    return cases


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    old_umask = os.umask(0o022)
    os.umask(old_umask)

    def call(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse: --help, or a usage mistake (one line by _Parser.error)
            code = exc.code
        finally:
            os.umask(old_umask)
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def problem(case: str, code, out: str, err: str) -> str | None:
    """What is wrong with one case's outcome, or None."""
    if code not in (0, 1, 2):
        return f"{case}: exit {code}"
    if "Traceback" in out + err or "internal error" in err:
        return f"{case}: {err.strip()[-300:]}"
    if code == 2 and len(err.splitlines()) != 1:
        return f"{case}: {len(err.splitlines())} lines: {err[:300]}"
    if "\x1b" in out + err or "\x07" in out + err:
        return f"{case}: a control character was printed"
    return None


def check(case: str, code, out: str, err: str) -> None:
    found = problem(case, code, out, err)
    assert found is None, found


def test_config_fuzz_never_shows_a_traceback(tmp_path, run):
    cases = config_cases()
    assert len(cases) >= 100
    cfg = tmp_path / "config.toml"
    outcomes, problems = set(), []
    for case, text in cases:
        cfg.write_text(text, encoding="utf-8", errors="surrogateescape")
        code, out, err = run("--config", str(cfg), "--data-dir", str(tmp_path / "data"), "doctor")
        problems.append(problem(case, code, out, err))
        outcomes.add(code)
    assert [p for p in problems if p] == []
    cfg.write_bytes(b"role = '\xff\xfe agent'\n")
    check("not UTF-8", *run("--config", str(cfg), "doctor"))
    assert outcomes >= {1, 2}, "the corpus reaches both bad configs and configs doctor can check"
    assert not (tmp_path / "data" / "default.sqlite3").exists(), "doctor created no cache along the way"


def argument_cases() -> list[list[str]]:
    hostile = ["", "-1", "0", "abc", "1" * 25, "5.5", "[/bold]", "\x1b]0;x\x07", "--", "-", "999999999", "🙂",
               "\u202e5", "1e3", "0x10"]
    actions = ["close", "reopen", "snooze", "assign", "tag", "priority", "reply", "note", "link_identity",
               "unlink_identity", "customer_note", "retry_send", "cancel_send", "mark_read", "apply_macro", "refund", "nope"]
    options = ["--until", "--to", "--add", "--remove", "--level", "--name", "--identity", "--customer", "--outbox",
               "--text", "--charge", "--amount", "--reason"]
    rng = random.Random(12)
    cases = []
    for action in actions:
        for value in rng.sample(hostile, 4):
            cases.append(["do", action, value])
        for option in rng.sample(options, 3):
            cases.append(["do", action, "5", option, rng.choice(hostile)])
    for value in hostile:
        cases.append(["export", "--since", value])
        cases.append(["report", "--since", value])
    cases += [["export", "--channel", "fax"], ["do"], ["do", "--list", "x"], ["nosuchcommand"], ["--profile", "../x",
              "export"], ["--profile", "", "export"], ["sync", "--once", "--bogus"], ["accounts"],
              ["accounts", "remove", "nobody-here"], ["report", "--json"], ["export", "--since"],
              ["do", "snooze", "5", "--until", "yesterday"], ["do", "snooze", "5", "--until", "99999999d"],
              ["do", "reply", "5", "--text", "-"], ["do", "reply", "5", "--text", "   "]]
    return cases


def test_argument_fuzz_never_shows_a_traceback(tmp_path, run):
    data = str(tmp_path / "demo")
    code, out, err = run("--demo", "--data-dir", data, "export", "--channel", "social")
    assert code == 0, err
    cases = argument_cases()
    assert len(cases) >= 100
    problems = [problem(" ".join(argv), *run("--demo", "--data-dir", data, *argv, stdin="")) for argv in cases]
    assert [p for p in problems if p] == []
    code, out, err = run("--data-dir", data, "--config", str(tmp_path), "export")
    check("a folder as config", code, out, err)
    assert code == 2
