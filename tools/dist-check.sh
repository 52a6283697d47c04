#!/usr/bin/env bash
# The distribution lane: build the sdist, then a wheel *from that sdist* (python -m build does both),
# check both with `twine check --strict`, check that the sdist carries what building, testing and
# reading need, install the wheel in a fresh venv outside the checkout and run `python -m parking_lot
# info`, a smoke program and the examples there; then install the sdist with no C compiler (CC=false)
# and check that the install succeeds and `info` says why the futex module is missing and how to get it.
# Needs a host Python ($PYTHON, default python3) that can make venvs and reach the package index.
# With PARKING_LOT_DIST_OUT set, the sdist and the wheel are copied into that folder (CI's suite lanes
# install from that sdist).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
host_python=${PYTHON:-python3}
# A relative path (CI passes .venv/bin/python) must survive the cd below: make it absolute.
case $host_python in */*) host_python="$(cd "$(dirname "$host_python")" && pwd)/$(basename "$host_python")" ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/parking-lot-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
say() { printf '[dist lane] %s\n' "$*" >&2; }

"$host_python" -m venv "$work/tools"
"$work/tools/bin/pip" install -q "build>=1" "twine>=6"
say "python -m build (sdist, then the wheel from the sdist)"
"$work/tools/bin/python" -m build -q -o "$work/dist" "$repo" >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
sdist=$(ls "$work"/dist/*.tar.gz)
wheel=$(ls "$work"/dist/*.whl)
"$work/tools/bin/twine" check --strict "$sdist" "$wheel"
if [ -n "${PARKING_LOT_DIST_OUT:-}" ]; then cp "$sdist" "$wheel" "$PARKING_LOT_DIST_OUT"/; fi

say "the sdist's contents"
listing=$(tar -tzf "$sdist" | sed 's|^[^/]*/||')
for needed in pyproject.toml setup.py build_ffi.py MANIFEST.in README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE \
              docs/architecture.md examples/01_futex_style_wait.py tests/conftest.py benchmarks/bench_core.py \
              parking_lot/__init__.py parking_lot/py.typed parking_lot/_ffi/__init__.py; do
    grep -qxF "$needed" <<<"$listing" || { say "the sdist lacks $needed"; exit 1; }
done
if grep -E '\.(so|pyd|o)$|__pycache__|^parking_lot/_ffi/_[a-z][a-z_]*\.py$' <<<"$listing"; then
    say "the sdist carries generated files (above)"; exit 1
fi
unzip -l "$wheel" | grep -q 'licenses/LICENSE-APACHE' || { say "the wheel lacks its license files"; exit 1; }

say "the wheel in a fresh venv, outside the checkout"
"$host_python" -m venv "$work/user"
"$work/user/bin/pip" install -q "$wheel"
cd "$work"
"$work/user/bin/python" -m parking_lot info | tee "$work/info.txt"
if [[ "$(uname -s)" == Linux ]]; then
    grep -qE '^  futex +available' "$work/info.txt" || { say "the wheel has no working futex module"; exit 1; }
fi
"$work/user/bin/python" - <<'PY'
# Smoke test: every primitive once, across two threads, with bounded waits.
import threading
import parking_lot
from parking_lot import Condvar, Mutex, Once, RwLock, compat

assert parking_lot.__file__.find("site-packages") > 0, parking_lot.__file__
counter = Mutex(0)
def work():
    for _ in range(2000):
        with counter.lock() as guard:
            guard.value += 1
threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join(60); assert not t.is_alive()
assert counter.lock().value == 4000
cache = RwLock({})
with cache.upgradable_read() as u:
    with u.upgrade() as w:
        w.value["k"] = 1
with cache.read() as r:
    assert r.value == {"k": 1}
box, ready = Mutex([]), Condvar()
def produce():
    with box.lock() as g:
        g.value.append(1)
        ready.notify_one()
with box.lock() as g:
    threading.Thread(target=produce).start()
    assert not ready.wait_while(g, lambda items: not items, timeout=60).timed_out
    assert g.value == [1], g.value
assert Once().call_once(lambda: None) is None
event = compat.Event()
threading.Timer(0.01, event.set).start()
assert event.wait(60)
print("smoke test passed")
PY
for example in "$repo"/examples/*.py; do
    "$work/user/bin/python" "$example" >/dev/null
done
say "examples ran against the installed wheel"

say "the sdist with no C compiler (CC=false)"
"$host_python" -m venv "$work/nocc"
CC=false "$work/nocc/bin/pip" install -q --no-cache-dir "$sdist"
"$work/nocc/bin/python" -m parking_lot info | tee "$work/nocc-info.txt"
if [[ "$(uname -s)" == Linux ]]; then
    grep -q 'futex .*unavailable: the compiled module parking_lot._ffi._futex was not built' "$work/nocc-info.txt" \
        && grep -q 'reinstall' "$work/nocc-info.txt" \
        && grep -qE 'parker backend in use: portable' "$work/nocc-info.txt" \
        || { say "without a compiler, info does not say why the futex is missing and how to get it"; exit 1; }
fi
say "passed in $(( $(date +%s) - started )) s"
