"""Helpers for the tests that run asyncio tasks: a bounded event loop run, a bounded yield-until."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conftest import BOUND
from parking_lot import core


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    """Run *body()* on a fresh event loop, failing (not hanging) after BOUND seconds."""

    async def bounded() -> Any:
        return await asyncio.wait_for(body(), BOUND)

    return asyncio.run(bounded())


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Yield to the loop until *predicate()* holds (bounded: fails after BOUND seconds)."""
    deadline = time.monotonic() + BOUND
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.0005)


async def cancelled(task: asyncio.Task[Any]) -> bool:
    """Await *task*; True if it ended cancelled, False if it completed."""
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # our own cancellation (the bound), not the task's
        return True
    return False


def run_trio(body: Callable[[], Awaitable[Any]]) -> Any:
    """Run *body()* in a fresh trio run, failing (not hanging) after BOUND seconds."""
    import trio

    async def bounded() -> Any:
        with trio.fail_after(BOUND):
            return await body()

    return trio.run(bounded)


def parked_on(key: int) -> int:
    """How many threads and tasks are parked on *key* (from the core's public snapshot)."""
    return sum(1 for entry in core.parked_threads() if entry.key == key)


@pytest.fixture(params=["futures", "coroutines"])
def pending_mutex_form(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type:
    """Make ``Mutex.lock_async()`` give the PendingGuard class of one form (the test runs with each).

    ``parking_lot.mutex._PENDING_MUTEX_GUARD`` is whichever of the two is cheaper on the
    running Python; this runs the other one too, so that both are tested everywhere.
    A test module takes it with ``from async_helpers import pending_mutex_form``.
    """
    from parking_lot import mutex

    form = {"futures": mutex._PendingMutexGuard, "coroutines": mutex._PendingMutexGuardCoroutines}[request.param]
    monkeypatch.setattr(mutex, "_PENDING_MUTEX_GUARD", form)
    return form
