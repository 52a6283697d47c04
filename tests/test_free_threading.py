"""On a free-threaded build, nothing in the package turns the GIL back on."""

from __future__ import annotations

import sys
import sysconfig

import pytest

from conftest import BOUND, run_child, subprocess_env
from parking_lot import thread_parker

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))

# Import every module of the package (the compiled cffi modules included), then report the GIL.
# An extension module that does not declare itself free-threading-safe re-enables the GIL on import
# (with a RuntimeWarning) unless PYTHON_GIL=0 forces it off, which is why the child runs without it.
_CHILD = """
import importlib, pkgutil, sys, warnings
warnings.simplefilter("error", RuntimeWarning)
import parking_lot
names = ["parking_lot"]
for info in pkgutil.walk_packages(parking_lot.__path__, "parking_lot."):
    names.append(info.name)
imported = []
for name in names:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        if name == "parking_lot.core._park_trio" and getattr(exc, "name", None) == "trio":
            continue  # the trio parker, imported only once trio is: trio is not installed here
        # Windows-only ABI modules load on every platform; anything else must import.
        raise SystemExit(f"{name} does not import: {exc}")
    imported.append(name)
print("imported:", " ".join(imported))
print("GIL", "on" if sys._is_gil_enabled() else "off")
"""


@pytest.mark.skipif(not FREE_THREADED, reason="needs a free-threaded build (3.13t, 3.14t, 3.15t)")
def test_importing_every_module_leaves_the_gil_off():
    env = subprocess_env()
    env.pop("PYTHON_GIL", None)
    result = run_child(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=max(BOUND, 60), env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GIL off" in result.stdout, result.stdout + result.stderr
    if thread_parker.unavailable_reason("futex") is None:
        assert "parking_lot._ffi._futex" in result.stdout.split(), "the compiled module was not imported"
