"""The package layers hold (issue 16): the import-linter contracts in pyproject.toml, checked as CI checks them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_benchmarks_and_scripts_import_no_tests():
    """bench/ and scripts/ take what they share with the suite from ``simulation``: a benchmark or the demo
    that reaches into tests/ breaks whenever a test helper moves, and ties the suite's layout to tools."""
    importing = re.compile(r"^\s*(from|import)\s+tests(\.|\s|$)", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bench", "scripts")
        for path in sorted((ROOT / folder).glob("*.py"))
        if importing.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"these import the tests (take it from simulation instead): {offenders}"
