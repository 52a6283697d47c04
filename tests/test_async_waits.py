"""The waits' awaitable twins (``m_async``): threads and asyncio tasks on the same RawEvent,
RawSemaphore, Condvar, RawBarrier and Once, and on the faces built on them.

As in tests/test_async_locks.py: every event loop runs its body under
``asyncio.wait_for(..., BOUND)`` and every thread is joined with a bound, so a lost wake-up
fails a test instead of hanging it; cancellation is injected at every await point by
cancelling after k event-loop iterations, for k = 0, 1, 2, ... until the wait completes
before the cancel, and each run ends with the invariants (nothing lost, nobody parked).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conftest import BOUND, start
from parking_lot import core
from parking_lot.raw import RawEvent

NS = 1_000_000_000


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    """Run *body()* on a fresh event loop, failing (not hanging) after BOUND seconds."""

    async def bounded() -> Any:
        return await asyncio.wait_for(body(), BOUND)

    return asyncio.run(bounded())


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Yield to the loop until *predicate()* holds (bounded)."""
    deadline = time.monotonic() + BOUND
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.0005)


def parked_on(key: int) -> int:
    """How many threads and tasks are parked on *key* (from the core's public snapshot)."""
    return sum(1 for entry in core.parked_threads() if entry.key == key)


def bound_ns() -> int:
    return time.monotonic_ns() + int(BOUND * NS)


async def cancelled(task: asyncio.Task[Any]) -> bool:
    """Await *task*; True if it ended cancelled, False if it completed."""
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # our own cancellation (the bound), not the task's
        return True
    return False


def run_threads_and_loops(thread_work: Callable[[], None], task_work: Callable[[], Awaitable[None]],
                          threads: int, tasks_per_loop: int, loops: int) -> None:
    """*threads* threads run thread_work, *loops* loops (one in this thread) run *tasks_per_loop* task_work tasks."""

    async def loop_body() -> None:
        await asyncio.gather(*(task_work() for _ in range(tasks_per_loop)))

    workers = [start(thread_work) for _ in range(threads)]
    workers += [start(run, loop_body) for _ in range(loops - 1)]
    run(loop_body)
    for worker in workers:
        worker.finish()


# --- RawEvent.wait_async ----------------------------------------------------------------------------


def test_event_wait_async_results_and_timeouts_never_early():
    async def body():
        event = RawEvent()
        started = time.monotonic_ns()
        assert await event.wait_async(started + NS // 20) is False
        assert time.monotonic_ns() - started >= NS // 20
        assert await event.wait_async(0) is False  # a past deadline only looks
        assert parked_on(event._key) == 0
        event.set()
        assert await event.wait_async(None) is True
        assert await event.wait_async(0) is True

    run(body)


def test_event_thread_wakes_task_and_task_wakes_thread():
    async def body():
        event = RawEvent()
        task = asyncio.ensure_future(event.wait_async(bound_ns()))
        await until(lambda: parked_on(event._key) == 1, "the task to park")
        start(event.set).finish()  # a thread sets
        assert await task is True
        event.clear()
        thread = start(lambda: event.wait(bound_ns()))
        await until(lambda: parked_on(event._key) == 1, "the thread to park")
        event.set()  # a task sets
        assert thread.finish() is True
        assert parked_on(event._key) == 0

    run(body)


def test_event_cancellation_leaves_the_queue_and_loses_no_wake_up():
    """A cancelled waiter leaves nothing parked; one cancelled after set() does not keep
    the set from the thread waiting behind it."""

    async def once(k: int) -> bool:
        event = RawEvent()
        task = asyncio.ensure_future(event.wait_async(None))
        await until(lambda: parked_on(event._key) == 1, "the task to park")
        thread = start(lambda: event.wait(bound_ns()))
        await until(lambda: parked_on(event._key) == 2, "the thread to park")
        completed_first = False
        for step in range(k + 2):
            if step == 1:
                event.set()
            if step == k:
                completed_first = task.done()
                task.cancel()
            await asyncio.sleep(0)
        was_cancelled = await cancelled(task)
        assert was_cancelled != completed_first
        assert thread.finish() is True
        assert parked_on(event._key) == 0
        return completed_first

    async def body():
        for k in range(20):
            if await once(k):
                return
        pytest.fail("the wait never completed before the cancel")

    run(body)


@pytest.mark.parametrize("loops", [1, 2])
def test_event_mixed_stress(loops):
    """Rounds: every thread and task waits for the round's event; the last to arrive sets it.
    Nobody may miss a set (each wait has the bound and must return True)."""
    rounds = 60
    threads, tasks_per_loop = 2, 3
    parties = threads + tasks_per_loop * loops
    events = [RawEvent() for _ in range(rounds)]
    arrived = [0] * rounds
    count_lock = threading.Lock()
    failures: list[int] = []

    def arrive(index: int) -> None:
        with count_lock:
            arrived[index] += 1
            last = arrived[index] == parties
        if last:
            events[index].set()

    def thread_work() -> None:
        for index in range(rounds):
            arrive(index)
            if not events[index].wait(bound_ns()):
                failures.append(index)

    async def task_work() -> None:
        for index in range(rounds):
            arrive(index)
            if not await events[index].wait_async(bound_ns()):
                failures.append(index)

    run_threads_and_loops(thread_work, task_work, threads, tasks_per_loop, loops)
    assert failures == [] and arrived == [parties] * rounds
    assert all(parked_on(event._key) == 0 for event in events)
