#!/usr/bin/env bash
# The API reference: install the package with its `docs` extra (Sphinx, myst-parser) into a fresh
# venv, build the HTML from docs/ with every warning an error, then run the docstrings' examples
# with Sphinx's doctest builder.  Exits non-zero on any warning or failing example.
#
#   tools/docs-build.sh [OUTPUT_DIR]        # default: docs/_build (gitignored); HTML in OUTPUT_DIR/html
#
# Needs a host Python ($PYTHON, default python3) that can make venvs and reach the package index.
# The venv is made in a temporary folder and removed at exit, unless $PARKING_LOT_DOCS_VENV names
# one to make (or reuse) instead.  The package is installed from the checkout, not in editable
# mode, so nothing is written next to the sources.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
host_python=${PYTHON:-python3}
# A relative path (CI passes .venv/bin/python) must survive the cd below: make it absolute.
case $host_python in */*) host_python="$(cd "$(dirname "$host_python")" && pwd)/$(basename "$host_python")" ;; esac
out=${1:-"$repo/docs/_build"}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/parking-lot-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT
venv=${PARKING_LOT_DOCS_VENV:-"$work/venv"}
started=$(date +%s)
say() { printf '[docs] %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
    "$host_python" -m venv "$venv"
fi
say "installing the package and its docs extra into $venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$repo[docs]" >"$work/pip.log" 2>&1 \
    || { tail -n 40 "$work/pip.log" >&2; exit 1; }

# Run from the temporary folder: `import parking_lot` must find the installed copy, not the checkout.
cd "$work"
say "sphinx-build -b html (warnings are errors)"
"$venv/bin/sphinx-build" -b html -W --keep-going -q -d "$out/doctrees" "$repo/docs" "$out/html"
say "sphinx-build -b doctest (the docstrings' examples)"
# A bound: an example that deadlocks fails the build instead of hanging it.
timeout 300 "$venv/bin/sphinx-build" -b doctest -W --keep-going -q -d "$out/doctrees" "$repo/docs" "$out/doctest"
tail -n 3 "$out/doctest/output.txt" >&2
say "done in $(( $(date +%s) - started )) s: $out/html/index.html"
