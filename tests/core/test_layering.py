"""The layering rules of DESIGN.md, enforced: import-linter contracts plus a runtime check."""

from __future__ import annotations

import os
import shutil
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


CONTRACT_MODULES = {"base", "records", "text"}


def _forbidden_adapters() -> set[str]:
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [contract] = [c for c in contracts if c["source_modules"] == ["console", "widgets"]]
    return set(contract["forbidden_modules"])


def test_every_adapter_package_is_forbidden_to_the_core_and_the_ui():
    adapters = {f"providers.{p.name}" for p in (ROOT / "providers").iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and p.name not in CONTRACT_MODULES}
    missing = adapters - _forbidden_adapters()
    assert not missing, f"add {sorted(missing)} to the import contract in pyproject.toml"


def test_the_contract_fails_when_the_core_imports_an_adapter(tmp_path):
    """The import contract is not decoration: a core module importing an adapter breaks it."""
    for package in ("console", "widgets", "providers"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "console" / "sneaky.py").write_text("from providers.mastodon.counting import count_characters\n")
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(tmp_path / "pyproject.toml")], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode != 0
    assert "console.sneaky -> providers.mastodon.counting" in proc.stdout
