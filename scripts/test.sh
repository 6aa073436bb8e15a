#!/usr/bin/env bash
# The whole test suite, in two stages: set-up (idempotent), quality gates (ruff, mypy, import-linter),
# then
#   1. the main stage: pytest -m "not packaging", with every real-service harness started privately on
#      loopback;
#   2. the packaging stage: pytest -m packaging tests/packaging: scripts/package.sh builds the .debs
#      (cached by the source's hash under ~/.cache/etapiste-packaging; the first build fetches the
#      dependencies' wheels from PyPI once), mmdebstrap makes a Debian 12 root with the point's
#      dependencies (cached for the day; needs Debian's mirror), and etapiste-point is installed into
#      throwaway copies of it: the installer from an enrolment package, updates and rollbacks through the
#      root helper, Debian's security updates. Needs root (chroot, unshare). Not yet within the 15
#      minutes it should take: on 2026-12-02, on this 2-core machine at load ~20 (other engineers' runs),
#      the build took 17 min (+ lintian 26 min), mmdebstrap 7 min (cached a week), the nine tests ~28 min;
#      an idle machine does it in roughly a third (the docs' earlier 4 + 5 min for build and lintian).
# The two stages run side by side (the packaging stage's output is printed when it ends), and the main
# stage runs its test files on ETAPISTE_TEST_WORKERS pytest-xdist workers (default 3; 0 = one process, for
# --pdb and the like): most of a test's time is spent waiting on a service, a browser or a call's clock,
# so three workers on two cores take ~0.6 of the time. A test file stays on one worker (--dist loadfile):
# its module fixtures start once, and the files known to be long start first (tests/conftest.py).
# Each stage prints its own time; the command fails when either stage fails (both always run). CI
# (.ci/run) runs this command with no option, as root on a fresh machine.
#
# Extra arguments go to pytest; naming tests (any argument) runs only the main stage on them, and so does
# ETAPISTE_PACKAGING=skip (a quick whole-suite run on a machine whose packaging stage ran already).
# --fast: the unit tier only (pytest -m "not services": no private service, no heavy subprocess; see
# tests/conftest.py), after ruff. It skips mypy, and skips set-up when the environment is already set up
# for this pyproject.toml (set-up's own pip stamp).
# --packaging: the packaging stage alone (extra arguments go to its pytest, e.g. -k installer);
# ETAPISTE_TEST_DEBS=DIR makes it use the .debs in DIR (scripts/package.sh --out DIR, same tree) instead of
# building them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
fast=no
packaging=no
if [ "${1:-}" = --fast ]; then fast=yes; shift; fi
if [ "${1:-}" = --packaging ]; then packaging=yes; shift; fi
if [ "$fast" = no ] || [ ! -f ".venv/.stamps/pip-$(sha256sum pyproject.toml | cut -c1-16)" ]; then
    scripts/setup.sh
fi
export PATH="$here/.venv/bin:$PATH"
echo "== ruff"; ruff check .
if [ "$fast" = no ]; then echo "== mypy"; mypy; fi
echo "== import-linter"; lint-imports

# stage NAME PYTEST-ARGS...: run pytest, print the stage's time; its exit status is the stage's
# (pytest's 5, "no test collected", counts as a failure: a stage that ran nothing tested nothing).
stage() {
    local name=$1 start rc=0
    shift
    echo "== pytest: $name stage"
    start=$(date +%s)
    python -m pytest -p no:cacheprovider "$@" || rc=$?
    echo "$name stage: $(( $(date +%s) - start )) s (exit $rc)"
    return "$rc"
}

if [ "$fast" = yes ]; then
    stage unit -q -m "not services" "$@"
    exit 0
fi
if [ "$packaging" = yes ]; then
    stage packaging -ra -m packaging tests/packaging "$@"
    exit 0
fi
start=$(date +%s)
main_rc=0
packaging_rc=0
packaging_pid=
packaging_log=$(mktemp --tmpdir etapiste-packaging-stage.XXXXXX)
# A run ended early (Ctrl-C, a failing set-up) takes the packaging stage's pytest with it.
trap 'rm -f "$packaging_log"; [ -z "$packaging_pid" ] || pkill -TERM -P "$packaging_pid" 2>/dev/null || true' EXIT
if [ $# -eq 0 ] && [ "${ETAPISTE_PACKAGING:-}" = skip ]; then
    echo "packaging stage: skipped (ETAPISTE_PACKAGING=skip)"
elif [ $# -eq 0 ]; then
    echo "== packaging stage started beside the main stage (its output follows the main stage's)"
    stage packaging -ra -m packaging tests/packaging > "$packaging_log" 2>&1 &
    packaging_pid=$!
fi
workers=${ETAPISTE_TEST_WORKERS:-3}
parallel=()
if [ "$workers" != 0 ]; then parallel=(-n "$workers" --dist loadfile); fi
stage main -ra -m "not packaging" "${parallel[@]}" "$@" || main_rc=$?
if [ -n "$packaging_pid" ]; then
    wait "$packaging_pid" || packaging_rc=$?
    packaging_pid=
    cat "$packaging_log"
fi
echo "suite: $(( $(date +%s) - start )) s (main stage exit $main_rc, packaging stage exit $packaging_rc)"
[ "$main_rc" -eq 0 ] && [ "$packaging_rc" -eq 0 ]
