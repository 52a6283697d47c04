#!/usr/bin/env bash
# The free-threaded lane: the whole pytest suite on a free-threaded CPython 3.13 (3.13t) with
# the GIL really off (PYTHON_GIL=0), once per Linux backend (futex, portable).  CPython 3.14t and
# 3.15t, when built on this machine, run in .ci/run's lanes for extra interpreters instead.
#
# Nothing on this machine's registries ships a free-threaded interpreter, so the lane builds one:
# CPython 3.13.5's source as Debian publishes it (python3.13's orig tarball, sha256 pinned),
# ./configure --disable-gil, installed under $PARKING_LOT_FT_CACHE (default
# ~/.cache/parking-lot-cffi/cpython-3.13.5t; about 3 minutes on 2 cores the first time, then reused).
#
# cffi supports free-threading from CPython 3.14t on; its setup.py refuses 3.13t, which is all we
# can build here.  For this lane only, cffi 2.0.0 is built from its sdist with that refusal
# removed: the package needs cffi to build (the futex module, API mode) and at run time only for
# plain calls into that module.  The portable backend makes no cffi call at all.
# Extra arguments go to pytest (for example: -x -k rwlock).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
host_python=${PYTHON:-python3}
# A relative path (CI passes .venv/bin/python) must survive the cd below: make it absolute.
case $host_python in */*) host_python="$(cd "$(dirname "$host_python")" && pwd)/$(basename "$host_python")" ;; esac
version=3.13.5
source_url="http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_$version.orig.tar.xz"
source_sha256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640
cffi_version=2.0.0
prefix=${PARKING_LOT_FT_CACHE:-$HOME/.cache/parking-lot-cffi/cpython-${version}t}
work=$(mktemp -d "${TMPDIR:-/tmp}/parking-lot-ft.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

say() { printf '[free-threaded lane] %s\n' "$*" >&2; }

python="$prefix/bin/python3.13t"
if [ ! -x "$python" ] || ! "$python" -c 'import sys, ssl; sys.exit(sys._is_gil_enabled())' 2>/dev/null; then
    say "building CPython $version with --disable-gil into $prefix"
    tarball="$work/cpython.tar.xz"
    curl -fsS --retry 3 -o "$tarball" "$source_url"
    echo "$source_sha256  $tarball" | sha256sum -c --quiet - || { say "sha256 mismatch for $source_url"; exit 2; }
    tar -xJf "$tarball" -C "$work"
    rm -rf "$prefix"
    (
        cd "$work/Python-$version"
        ./configure -q --disable-gil --disable-test-modules --prefix="$prefix" >/dev/null
        make -s -j"$(nproc)" >/dev/null 2>"$work/make.err" || { tail -n 30 "$work/make.err" >&2; exit 1; }
        make -s install >/dev/null 2>&1
    )
fi
"$python" -c 'import sys; assert not sys._is_gil_enabled(), "not a free-threaded build"'

venv="$work/venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q)
# Built here: cffi without its 3.13t refusal (see the header), then the package without isolation.
"${pip[@]}" setuptools pycparser
"$host_python" -m pip download -q --no-deps --no-binary=:all: "cffi==$cffi_version" -d "$work"
tar -xzf "$work/cffi-$cffi_version.tar.gz" -C "$work"
"$venv/bin/python" - "$work/cffi-$cffi_version/setup.py" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
refusal = 'if FREE_THREADED_BUILD and sys.version_info < (3, 14):\n    raise RuntimeError('
if refusal not in text:
    sys.exit("cffi's setup.py changed: its 3.13t refusal was not found")
open(path, "w").write(text.replace(refusal, "if False:\n    raise RuntimeError(", 1))
EOF
"${pip[@]}" --no-build-isolation "$work/cffi-$cffi_version"
"${pip[@]}" --no-build-isolation --no-deps "${PARKING_LOT_SDIST:-$repo}"   # CI passes its sdist
# pytest, hypothesis from before it grew a Rust extension (no 3.13t wheel, no crates.io here), and
# the rest of the test extra (trio, anyio: pure Python).
"${pip[@]}" "pytest>=7" "hypothesis>=6,<6.140" "trio>=0.25" "anyio>=4"

# The suite, futex and portable, with the GIL off, from outside the checkout (tools/interpreter-lane.sh).
status=0
PARKING_LOT_LANE_VENV="$venv" "$repo/tools/interpreter-lane.sh" "$python" "$@" || status=$?
say "done in $(( $(date +%s) - started )) s (the interpreter's build included, when it was not cached)"
exit $status
