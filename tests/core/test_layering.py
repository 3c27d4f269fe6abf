"""The layering rules of DESIGN.md, enforced: import-linter contracts plus a runtime check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout


def test_the_core_runs_without_loading_textual():
    code = (
        "import sys, console.cache, console.actions, console.engine, console.outbox, console.export, "
        "console.identity, console.config, console.cli;"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'widgets')));"
        "print(','.join(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"the core imported: {proc.stdout.strip()}"


def test_widgets_reach_providers_only_through_the_neutral_records():
    allowed = ("providers.records", "providers.text", "providers.base")
    offenders = []
    for path in (ROOT / "widgets").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("import providers", "from providers")):
                module = stripped.split()[1]
                if not module.startswith(allowed):
                    offenders.append(f"{path.name}:{n}: {stripped}")
    assert offenders == []
