"""What the suite imports is a built package: on Linux with a C compiler, the futex module is there.

(The lock state words' compiled module is checked the same way in tests/test_word.py.)
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from parking_lot import thread_parker


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the futex module is built on Linux only")
def test_futex_module_built_where_a_compiler_exists():
    # The README's test command installs in editable mode, which compiles the module in place; a
    # suite run against a source tree nobody built would silently test the portable parker alone.
    if os.environ.get("PARKING_LOT_EXPECT_NO_FUTEX") == "1" or not any(
        shutil.which(cc) for cc in ("cc", "gcc", "clang")
    ):
        pytest.skip("no C compiler here (or PARKING_LOT_EXPECT_NO_FUTEX=1): the futex module may be absent")
    assert "futex" in thread_parker.available_backends(), (
        "parking_lot._ffi._futex is missing from the package under test; build it in place with "
        "`pip install -e .` or install the package"
    )
