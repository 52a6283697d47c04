"""The runnable examples in the package's docstrings run and say what they claim."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import threading

import pytest

import parking_lot
from conftest import BOUND

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(parking_lot.__path__, "parking_lot.")
    if not info.name.startswith("parking_lot._ffi") and info.name != "parking_lot.__main__"
)


#: Modules that import an optional dependency (installed with the test extra): skipped without it.
NEEDS = {"parking_lot.core._park_trio": "trio"}


def _importable(name: str) -> bool:
    needed = NEEDS.get(name)
    return needed is None or importlib.util.find_spec(needed) is not None


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if not _importable(name):
        pytest.skip(f"{name} needs {NEEDS[name]}, which is not installed")
    module = importlib.import_module(name)
    outcome: list[doctest.TestResults] = []
    # In a thread with a bounded join: an example that deadlocks fails instead of hanging.
    runner = threading.Thread(
        target=lambda: outcome.append(doctest.testmod(module, optionflags=doctest.ELLIPSIS)), daemon=True
    )
    runner.start()
    runner.join(BOUND)
    assert not runner.is_alive(), f"the examples of {name} did not finish within {BOUND} s"
    assert outcome and outcome[0].failed == 0


def test_the_examples_are_really_there():
    total = sum(doctest.testmod(importlib.import_module(n)).attempted for n in MODULES if _importable(n))
    assert total >= 40
