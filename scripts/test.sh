#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), quality gates (ruff, mypy), then pytest with every
# real-service harness started privately on loopback. Extra arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/setup.sh
export PATH="$here/.venv/bin:$PATH"
echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== import-linter"; lint-imports
echo "== pytest"
start=$(date +%s)
python -m pytest -p no:cacheprovider -ra "$@"
echo "suite: $(( $(date +%s) - start )) s"
