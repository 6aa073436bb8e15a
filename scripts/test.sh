#!/usr/bin/env bash
# The whole test suite, in two stages: set-up (idempotent), quality gates (ruff, mypy, import-linter),
# then
#   1. the main stage: pytest -m "not packaging", with every real-service harness started privately on
#      loopback;
#   2. the packaging stage: pytest -m packaging tests/packaging: scripts/package.sh builds the .debs
#      (beside the main stage; cached by the source's hash under ~/.cache/etapiste-packaging; the first
#      build fetches the dependencies' wheels from PyPI once), mmdebstrap makes a Debian 12 root with the
#      point's dependencies (cached for a week; needs Debian's mirror), and etapiste-point is installed
#      into throwaway overlays of it: the installer from an enrolment package, updates and rollbacks
#      through the root helper, Debian's security updates; lintian runs beside them. Needs root (chroot,
#      unshare, mount).
# The main stage runs its test files on ETAPISTE_TEST_WORKERS pytest-xdist workers (default 2; 0 = one
# process, for --pdb and the like): most of a test's time is spent waiting on a service, a browser or a
# call's clock, so three workers on two cores took ~0.6 of the time, but at that load a call now and then
# dropped mid-document in a test (1 failure in each of three whole runs): two, until that is fixed. A test file stays on one worker
# (--dist loadfile): its module fixtures start once, and the files known to be long start first
# (tests/conftest.py). The packages build beside it; the packaging stage then installs them. (The two
# stages side by side were tried: at load 7-10 documents in calls timed out, 7 tests failed.)
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
build_pid=
debs_dir=
# A run ended early (Ctrl-C, a failing set-up) takes the background build with it.
trap '[ -z "$build_pid" ] || { pkill -TERM -P "$build_pid"; kill "$build_pid"; } 2>/dev/null || true; [ -z "$debs_dir" ] || rm -rf "$debs_dir"' EXIT
packaging_stage=run
if [ $# -ne 0 ]; then
    packaging_stage=no
elif [ "${ETAPISTE_PACKAGING:-}" = skip ]; then
    packaging_stage=no
    echo "packaging stage: skipped (ETAPISTE_PACKAGING=skip)"
elif [ -z "${ETAPISTE_TEST_DEBS:-}" ]; then
    # The packages build beside the main stage, niced: the build is one core of compiling and
    # compressing, the main stage mostly waiting. lintian runs in the packaging stage, beside its tests.
    debs_dir=$(mktemp -d --tmpdir etapiste-debs.XXXXXX)
    echo "== packages building beside the main stage (scripts/package.sh --no-lintian --out $debs_dir)"
    nice -n 10 scripts/package.sh --no-lintian --out "$debs_dir" > "$debs_dir/build.log" 2>&1 &
    build_pid=$!
fi
workers=${ETAPISTE_TEST_WORKERS:-2}
parallel=()
if [ "$workers" != 0 ]; then parallel=(-n "$workers" --dist loadfile); fi
stage main -ra -m "not packaging" "${parallel[@]}" "$@" || main_rc=$?
if [ -n "$build_pid" ]; then
    build_rc=0
    wait "$build_pid" || build_rc=$?
    build_pid=
    cat "$debs_dir/build.log"
    if [ "$build_rc" -ne 0 ]; then
        echo "packaging stage: not run, the packages did not build (scripts/package.sh exit $build_rc, above)"
        packaging_stage=no
        packaging_rc=$build_rc
    fi
fi
if [ "$packaging_stage" = run ]; then
    ETAPISTE_TEST_DEBS=${ETAPISTE_TEST_DEBS:-$debs_dir} stage packaging -ra -m packaging tests/packaging \
        || packaging_rc=$?
fi
echo "suite: $(( $(date +%s) - start )) s (main stage exit $main_rc, packaging stage exit $packaging_rc)"
[ "$main_rc" -eq 0 ] && [ "$packaging_rc" -eq 0 ]
