"""CPython's own lock tests, from the running interpreter, against the threading drop-ins.

``test.lock_tests`` is the module CPython's ``test_threading`` subclasses to test
``threading.Lock``, ``RLock``, ``Condition``, ``Semaphore``, ``BoundedSemaphore``,
``Event`` and ``Barrier``: each class there takes the type under test from one class
attribute (``locktype``, ``condtype``, ``semtype``, ``eventtype``, ``barriertype``).
Here the same suites run with ``parking_lot.compat``'s classes plugged in, so every
Python this suite runs on checks the drop-ins against that version's own
expectations (3.14's ``RLock.locked()``, 3.15's ``RLock()`` taking no arguments, ...).

The module is imported from the interpreter, never copied: where the interpreter
ships no ``test`` package (Debian's python3 without ``libpython3-testsuite``, some
embeddable builds) the whole file is skipped, saying so.

Skips, each with its reason (``SKIPS`` below is the list):

* ``EventTests.test_at_fork_reinit`` reads ``threading.Event``'s private ``_cond``
  attribute; our Event has no condition inside (it parks on its own key), so the
  test is replaced by ``test_event_at_fork_reinit_keeps_it_usable`` in this file.
* ``ConditionAsRLockTests.test_recursion_count`` and (3.15's)
  ``test_constructor_noargs``: CPython's ``test_threading`` skips both for its own
  Condition ("Condition does not expose _recursion_count()", "Condition allows
  positional arguments": its argument is the lock).
"""

from __future__ import annotations

import os
import sysconfig
import unittest

import pytest

from parking_lot import compat

try:
    from test import lock_tests
except ImportError as exc:  # pragma: no cover - depends on how the interpreter was packaged
    pytest.skip(f"this interpreter ships no test.lock_tests ({exc})", allow_module_level=True)

_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"])
if not os.path.realpath(lock_tests.__file__).startswith(_STDLIB + os.sep):  # pragma: no cover
    pytest.skip(
        f"test.lock_tests comes from {lock_tests.__file__}, not from this interpreter's standard library",
        allow_module_level=True,
    )

#: Every test of CPython's suite skipped here, and why.
SKIPS = {
    "TestEvent.test_at_fork_reinit": "reads threading.Event's private _cond attribute; ours has no condition inside",
    "TestConditionAsRLock.test_recursion_count": "CPython skips it for threading.Condition too: "
    "Condition does not expose _recursion_count()",
    "TestConditionAsRLock.test_constructor_noargs": "CPython skips it for threading.Condition too: "
    "Condition allows positional arguments (the lock)",
}


class TestLock(lock_tests.LockTests):
    """``LockTests`` with ``parking_lot.Lock``."""

    locktype = staticmethod(compat.Lock)


class TestRLock(lock_tests.RLockTests):
    """``RLockTests`` with ``parking_lot.RLock``."""

    locktype = staticmethod(compat.RLock)


class TestConditionAsRLock(lock_tests.RLockTests):
    """``RLockTests`` with ``parking_lot.Condition`` (its default lock is an RLock, as CPython tests)."""

    locktype = staticmethod(compat.Condition)

    @unittest.skip(SKIPS["TestConditionAsRLock.test_recursion_count"])
    def test_recursion_count(self) -> None:
        """Skipped: see SKIPS."""

    if hasattr(lock_tests.RLockTests, "test_constructor_noargs"):  # from 3.15 on

        @unittest.skip(SKIPS["TestConditionAsRLock.test_constructor_noargs"])
        def test_constructor_noargs(self) -> None:
            """Skipped: see SKIPS."""


class TestEvent(lock_tests.EventTests):
    """``EventTests`` with ``parking_lot.Event``."""

    eventtype = staticmethod(compat.Event)

    @unittest.skip(SKIPS["TestEvent.test_at_fork_reinit"])
    def test_at_fork_reinit(self) -> None:
        """Skipped: see SKIPS."""


class TestCondition(lock_tests.ConditionTests):
    """``ConditionTests`` with ``parking_lot.Condition``."""

    condtype = staticmethod(compat.Condition)


class TestSemaphore(lock_tests.SemaphoreTests):
    """``SemaphoreTests`` with ``parking_lot.Semaphore``."""

    semtype = staticmethod(compat.Semaphore)


class TestBoundedSemaphore(lock_tests.BoundedSemaphoreTests):
    """``BoundedSemaphoreTests`` with ``parking_lot.BoundedSemaphore``."""

    semtype = staticmethod(compat.BoundedSemaphore)


class TestBarrier(lock_tests.BarrierTests):
    """``BarrierTests`` with ``parking_lot.Barrier``."""

    barriertype = staticmethod(compat.Barrier)


def test_event_at_fork_reinit_keeps_it_usable() -> None:
    """What CPython's skipped ``test_at_fork_reinit`` checks, asked of our Event without private names."""
    event = compat.Event()
    event._at_fork_reinit()
    assert not event.is_set() and event.wait(0.001) is False
    event.set()
    event._at_fork_reinit()
    assert event.wait(0.001) is True
