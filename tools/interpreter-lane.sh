#!/usr/bin/env bash
# One interpreter's lane: install the package (not editable) and the test extras into a fresh venv
# made by PYTHON_UNDER_TEST, then run the whole suite once per parker backend that interpreter can
# run, from outside the checkout, so that the suite imports the installed copy with its compiled
# cffi module.  On a free-threaded build the suite runs with PYTHON_GIL=0 and the lane fails if the
# GIL is on.  Prints one summary line per backend: "<label> <backend>: <pytest's last line> (<s> s)".
#   usage: tools/interpreter-lane.sh PYTHON_UNDER_TEST [pytest arguments...]
# The suite runs with PARKING_LOT_TEST_DEPTH=quick unless it is set (tests/conftest.py says what
# that shortens; the README's test command runs it full).
# Environment: PARKING_LOT_SDIST, an sdist of the package to install instead of the checkout (CI
# passes the one its distribution lane built, so that lanes running side by side never build in the
# same folder); PARKING_LOT_LANE_VENV, a venv of that interpreter that already holds the package and
# the test extras (the 3.13t lane prepares its own): without it the lane makes one;
# PARKING_LOT_LANE_BACKENDS, which parker backends to run the suite with: "all" (the default: every
# backend this interpreter can run) or "default" (only the one the package picks by itself).
# The portable backend's run also sets PARKING_LOT_ATOMICS=portable (the locks' state words in
# Python, as where no compiler built the _atomics module): the all-Python configuration; the other
# runs use the compiled state words where they were built.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=$1
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/parking-lot-lane.XXXXXX")
trap 'rm -rf "$work"' EXIT

read -r version free_threaded < <("$python" -c '
import sys, sysconfig
print("%d.%d.%d" % sys.version_info[:3], int(bool(sysconfig.get_config_var("Py_GIL_DISABLED"))))')
label="CPython $version"
gil_env=()
if [ "$free_threaded" = 1 ]; then
    label="CPython ${version}t (GIL off)"
    gil_env=(PYTHON_GIL=0)
fi
say() { printf '[%s] %s\n' "$label" "$*" >&2; }

started=$(date +%s)
venv=${PARKING_LOT_LANE_VENV:-}
if [ -z "$venv" ]; then
    venv="$work/venv"
    "$python" -m venv "$venv"
    if [ -n "${PARKING_LOT_SDIST:-}" ]; then
        requirement="parking-lot-cffi[test] @ file://$PARKING_LOT_SDIST"
    else
        requirement="$repo[test]"
    fi
    "$venv/bin/pip" install -q "$requirement" 2>&1 | grep -v '^WARNING: Location' >&2 || true
fi
"$venv/bin/python" -c 'import parking_lot' || { say "the package did not install"; exit 1; }
cd "$work"   # outside the checkout: the installed copy is what the suite imports
case "${PARKING_LOT_LANE_BACKENDS:-all}" in
    all) backends=$("$venv/bin/python" -c 'from parking_lot import thread_parker as t; print(" ".join(t.available_backends()))') ;;
    default) backends=$(env -u PARKING_LOT_PARKER "$venv/bin/python" -c 'from parking_lot import thread_parker as t; print(t.backend_name())') ;;
    *) say "PARKING_LOT_LANE_BACKENDS must be all or default, not ${PARKING_LOT_LANE_BACKENDS}"; exit 2 ;;
esac
say "installed in $(( $(date +%s) - started )) s; backends: $backends"

status=0
summary=()
for backend in $backends; do
    lane_started=$(date +%s)
    log="$work/pytest-$backend.log"
    atomics=$([ "$backend" = portable ] && echo portable || echo "${PARKING_LOT_ATOMICS:-}")
    run_label=$backend
    [ "$backend" = portable ] && run_label="portable (+ portable atomics)"
    say "PARKING_LOT_PARKER=$backend PARKING_LOT_ATOMICS=${atomics:-default} ${gil_env[*]}"
    set +e
    env "${gil_env[@]}" PARKING_LOT_PARKER="$backend" PARKING_LOT_ATOMICS="$atomics" PARKING_LOT_TEST_DEPTH="${PARKING_LOT_TEST_DEPTH:-quick}" \
        "$venv/bin/python" -c '
import sys, sysconfig
import parking_lot, pytest
if sysconfig.get_config_var("Py_GIL_DISABLED") and sys._is_gil_enabled():
    sys.exit("the GIL is on in a free-threaded lane")
sys.exit(pytest.main(sys.argv[1:]))
' -q -p no:cacheprovider -o faulthandler_timeout=300 -c "$repo/pyproject.toml" --rootdir "$repo" "$@" "$repo/tests" \
        2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" -eq 0 ] || status=1
    line=$( (grep -E '^=*\s*[0-9]+ (passed|failed)|no tests ran' "$log" || echo "no summary (exit $rc)") | tail -n 1 | sed 's/=//g; s/ in [0-9.]*s.*//; s/^ *//; s/ *$//')
    summary+=("$label $run_label: $line ($(( $(date +%s) - lane_started )) s)")
done
for line in "${summary[@]}"; do echo "LANE $line"; done
exit $status
