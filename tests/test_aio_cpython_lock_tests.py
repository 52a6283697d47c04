"""CPython's own asyncio lock tests, from the running interpreter, against the asyncio drop-ins.

``test.test_asyncio.test_locks`` tests ``asyncio.Lock``, ``Event``, ``Condition``,
``Semaphore``, ``BoundedSemaphore`` and (3.11+) ``Barrier`` by their names in the
``asyncio`` module.  Here its test classes run with that module's global ``asyncio``
replaced, for the run, by a namespace that is asyncio except for those names, which
are :mod:`parking_lot.aio`'s: every Python this suite runs on checks the drop-ins
against that version's own expectations.

The module is imported from the interpreter, never copied: where the interpreter ships
no ``test`` package the whole file is skipped, saying so.  ``SKIPS`` lists every test
of CPython's suite that does not run here, with the reason.
"""

from __future__ import annotations

import asyncio
import os
import sysconfig
import types
import unittest
from collections.abc import Iterator
from typing import Any

import pytest

from parking_lot import aio

try:
    from test.test_asyncio import test_locks
except ImportError as exc:  # pragma: no cover - depends on how the interpreter was packaged
    pytest.skip(f"this interpreter ships no test.test_asyncio.test_locks ({exc})", allow_module_level=True)

_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"])
if not os.path.realpath(test_locks.__file__).startswith(_STDLIB + os.sep):  # pragma: no cover
    pytest.skip(
        f"test.test_asyncio.test_locks comes from {test_locks.__file__}, not from this interpreter's standard library",
        allow_module_level=True,
    )

_OURS = ("Lock", "Event", "Condition", "Semaphore", "BoundedSemaphore", "Barrier")


class _AsyncioWithOurDropIns(types.ModuleType):
    """``asyncio``, but ``Lock``, ``Event``, ... are parking_lot.aio's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


_PROXY = _AsyncioWithOurDropIns("asyncio")
for _name in _OURS:
    if hasattr(aio, _name):
        setattr(_PROXY, _name, getattr(aio, _name))


@pytest.fixture(autouse=True, scope="module")
def _our_drop_ins() -> Iterator[None]:
    """For this module's run: CPython's test module sees our classes as ``asyncio.*``."""
    saved = test_locks.asyncio
    test_locks.asyncio = _PROXY
    try:
        yield
    finally:
        test_locks.asyncio = saved


_WAITERS = (
    "reads or fills asyncio's private _waiters deque of futures; ours has no such deque (waiters are "
    "in the parking lot's queue): tests/test_aio_conformance.py checks the same behaviour through "
    "public names and the repr"
)
_ITERATIONS = (
    "counts event-loop iterations: asyncio wakes every notified waiter in the same iteration to "
    "contend for the lock; ours moves them onto the lock's queue (requeue) and each is handed the lock "
    "by the one before it, one iteration later -- tests/test_aio_conformance.py checks the outcome "
    "(every waiter woken, in FIFO order, each holding the lock) without counting iterations"
)

_DRAIN_ORDER = (
    "depends on asyncio's order of wake-ups after a round passes: asyncio wakes every waiter of the "
    "barrier's condition at once and a task that calls reset() (or waits again) right after leaving "
    "takes the free lock before they do; ours moves them onto the lock's queue, so they go first "
    "(FIFO hand-over) and the reset finds them inside (BrokenBarrierError) or, where the test then "
    "waits for a number of tasks that never comes, the test waits for ever. tests/test_aio_conformance.py "
    "checks reset and abort while tasks wait, and after a round, without relying on that order"
)

#: Every test of CPython's suite skipped here, and why.
SKIPS: dict[str, str] = {
    "LockTests.test_acquire_cancel": _WAITERS,
    "LockTests.test_cancel_race": _WAITERS,
    "LockTests.test_finished_waiter_cancelled": _WAITERS,
    "EventTests.test_clear_with_waiters": _WAITERS,
    "EventTests.test_repr": _WAITERS,
    "EventTests.test_wait_cancel": _WAITERS,
    "ConditionTests.test_repr": _WAITERS,
    "ConditionTests.test_wait_cancel": _WAITERS,
    "SemaphoreTests.test_acquire": _WAITERS,
    "SemaphoreTests.test_acquire_cancel": _WAITERS,
    "SemaphoreTests.test_repr": _WAITERS,
    "SemaphoreTests.test_acquire_fifo_order_4": _WAITERS,
    "ConditionTests.test_ambiguous_loops": "sets the private _loop attribute to check the RuntimeError for a "
    "primitive used from a second event loop; ours are bound to no loop (tasks of several loops and threads "
    "may share one object, by design)",
    "BarrierTests.test_reset_barrier_when_tasks_half_draining": _DRAIN_ORDER,
    "BarrierTests.test_reset_barrier_when_tasks_half_draining_half_blocking": _DRAIN_ORDER,
    "BarrierTests.test_reset_barrier_while_tasks_draining": _DRAIN_ORDER,
    "BarrierTests.test_abort_barrier_when_tasks_half_draining_half_blocking": _DRAIN_ORDER,
    "ConditionTests.test_notify": _ITERATIONS,
    "ConditionTests.test_notify_all": _ITERATIONS,
}


def _skipping(base: type) -> dict[str, Any]:
    """Skip markers for the tests of *base* listed in SKIPS (only those the running version has)."""
    overrides: dict[str, Any] = {}
    for qualified, reason in SKIPS.items():
        cls_name, test = qualified.split(".")
        if cls_name == base.__name__ and hasattr(base, test):

            @unittest.skip(reason)
            def skipped(self: unittest.TestCase) -> None:
                """Skipped: see SKIPS."""

            overrides[test] = skipped
    return overrides


def _suite(base: type) -> type:
    return type(f"Test{base.__name__}", (base,), {"__doc__": f"CPython's ``{base.__name__}`` on parking_lot.aio.", **_skipping(base)})


TestLockTests = _suite(test_locks.LockTests)
TestEventTests = _suite(test_locks.EventTests)
TestConditionTests = _suite(test_locks.ConditionTests)
TestSemaphoreTests = _suite(test_locks.SemaphoreTests)
if hasattr(test_locks, "BarrierTests") and hasattr(aio, "Barrier"):
    TestBarrierTests = _suite(test_locks.BarrierTests)
