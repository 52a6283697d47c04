"""parking_lot.aio: threads (the thread face) and tasks on the same drop-in object.

Threads are conftest Workers (joined with a bound); every loop body runs under
``asyncio.wait_for(..., BOUND)``: a lost wake-up fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

import pytest

from async_helpers import run, until
from conftest import BOUND, Worker, start, wait_until
from parking_lot import aio, core


async def joined(worker: Worker) -> Any:
    """Join *worker* without blocking the loop (bounded)."""
    return await asyncio.get_running_loop().run_in_executor(None, worker.finish)


def parked_on(key: int) -> int:
    return core.parked_count(key)


# --- Lock ------------------------------------------------------------------------------------------


def test_lock_thread_to_task_and_task_to_thread() -> None:
    lock = aio.Lock()

    async def body() -> None:
        assert lock.acquire_blocking(timeout=0)  # a try is fine on the loop thread
        waiter = asyncio.ensure_future(lock.acquire())
        await asyncio.sleep(0)
        releaser = start(lambda: lock.release())  # a thread releases: the task gets the lock
        assert await asyncio.wait_for(waiter, BOUND) is True
        await joined(releaser)
        thread = start(lambda: lock.acquire_blocking(timeout=BOUND))
        await until(lambda: parked_on(id(lock)) == 1, "the thread parked on the lock")
        lock.release()  # the task releases: the thread gets it
        assert await joined(thread) is True
        assert lock.locked()
        lock.release()

    run(body)


def test_lock_acquire_blocking_timeout_and_bad_arguments() -> None:
    lock = aio.Lock()
    assert lock.acquire_blocking()
    started = time.monotonic()
    assert start(lambda: lock.acquire_blocking(timeout=0.02)).finish() is False
    assert time.monotonic() - started >= 0.015
    with pytest.raises(ValueError, match="timeout"):
        lock.acquire_blocking(timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        lock.acquire_blocking(timeout="1")  # type: ignore[arg-type]
    assert lock.locked()
    lock.release()


def test_blocking_faces_refuse_to_block_a_running_loop() -> None:
    lock, event, sem, cond = aio.Lock(), aio.Event(), aio.Semaphore(0), aio.Condition()

    async def body() -> None:
        await lock.acquire()
        with pytest.raises(RuntimeError, match="would block the event loop"):
            lock.acquire_blocking(timeout=1)
        with pytest.raises(RuntimeError, match="would block the event loop"):
            event.wait_blocking()
        with pytest.raises(RuntimeError, match="would block the event loop"):
            sem.acquire_blocking(timeout=1)
        assert sem.acquire_blocking(timeout=0) is False and event.wait_blocking(0) is False
        async with cond:
            with pytest.raises(RuntimeError, match="would block the event loop"):
                cond.wait_blocking(1)
        lock.release()

    run(body)


def test_lock_mutual_exclusion_threads_and_tasks_on_two_loops() -> None:
    lock, inside, counts = aio.Lock(), [0], [0]
    rounds = 200

    def critical() -> None:
        inside[0] += 1
        assert inside[0] == 1, "two holders at once"
        counts[0] += 1
        inside[0] -= 1

    def thread_body() -> None:
        for _ in range(rounds):
            assert lock.acquire_blocking(timeout=BOUND)
            try:
                critical()
            finally:
                lock.release()

    async def task_body() -> None:
        for _ in range(rounds):
            async with lock:
                critical()
                await asyncio.sleep(0)

    async def tasks() -> None:
        await asyncio.gather(task_body(), task_body())

    workers = [start(thread_body) for _ in range(2)] + [start(run, tasks) for _ in range(2)]
    for worker in workers:
        worker.finish()
    assert counts[0] == 6 * rounds and not lock.locked()


# --- Event -----------------------------------------------------------------------------------------


def test_event_set_from_a_task_wakes_threads_and_from_a_thread_wakes_tasks() -> None:
    event = aio.Event()
    threads = [start(lambda: event.wait_blocking(timeout=BOUND)) for _ in range(2)]
    wait_until(lambda: parked_on(id(event)) == 2, what="two threads parked")

    async def body() -> None:
        event.set()
        for thread in threads:
            assert await joined(thread) is True
        event.clear()
        waiter = asyncio.ensure_future(event.wait())
        await until(lambda: parked_on(id(event)) == 1, "the task parked")
        setter = start(event.set)
        assert await asyncio.wait_for(waiter, BOUND) is True
        await joined(setter)

    run(body)
    assert aio.Event().wait_blocking(timeout=0.01) is False


# --- Condition -------------------------------------------------------------------------------------


def test_condition_thread_waits_task_notifies_and_back() -> None:
    cond, items = aio.Condition(), []

    def consumer() -> Any:
        assert cond.acquire_blocking(timeout=BOUND)
        try:
            return cond.wait_for_blocking(lambda: items and items.pop(), timeout=BOUND)
        finally:
            cond.release()

    async def body() -> None:
        thread = start(consumer)
        await until(lambda: "waiters:1" in repr(cond), "the thread waiting")
        async with cond:
            items.append("to the thread")
            cond.notify()
        assert await joined(thread) == "to the thread"

        async def task_consumer() -> str:
            async with cond:
                return str(await cond.wait_for(lambda: items and items.pop()))

        task = asyncio.ensure_future(task_consumer())
        await until(lambda: "waiters:1" in repr(cond), "the task waiting")

        def producer() -> None:
            assert cond.acquire_blocking(timeout=BOUND)
            try:
                items.append("to the task")
                cond.notify_all()
            finally:
                cond.release()

        await joined(start(producer))
        assert await asyncio.wait_for(task, BOUND) == "to the task"

    run(body)


def test_condition_wait_blocking_timeout_holds_the_lock_again() -> None:
    cond = aio.Condition()
    assert cond.acquire_blocking()
    started = time.monotonic()
    assert cond.wait_blocking(timeout=0.02) is False
    assert time.monotonic() - started >= 0.015 and cond.locked()
    assert cond.wait_for_blocking(lambda: False, timeout=0.01) is False
    cond.release()
    with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
        cond.wait_blocking(0.01)


def test_condition_notify_all_to_threads_and_tasks_moves_them_onto_the_lock() -> None:
    lock = aio.Lock()
    cond, woken = aio.Condition(lock), []
    holders = [0]

    def thread_waiter(i: int) -> None:
        assert cond.acquire_blocking(timeout=BOUND)
        try:
            assert cond.wait_blocking(timeout=BOUND)
            holders[0] += 1
            assert holders[0] == 1 and lock.locked()
            woken.append(("thread", i))
            holders[0] -= 1
        finally:
            cond.release()

    async def task_waiter(i: int) -> None:
        async with cond:
            await cond.wait()
            holders[0] += 1
            assert holders[0] == 1 and lock.locked()
            woken.append(("task", i))
            holders[0] -= 1

    async def body() -> None:
        threads = [start(thread_waiter, i) for i in range(3)]
        tasks = [asyncio.ensure_future(task_waiter(i)) for i in range(3)]
        await until(lambda: "waiters:6" in repr(cond), "six waiters")
        async with cond:
            cond.notify_all()
            await asyncio.sleep(0.01)
            assert woken == []  # all moved onto the lock we hold: nobody runs yet
        await asyncio.gather(*tasks)
        for thread in threads:
            await joined(thread)
        assert sorted(woken) == [("task", 0), ("task", 1), ("task", 2), ("thread", 0), ("thread", 1), ("thread", 2)]

    run(body)


# --- Semaphore -------------------------------------------------------------------------------------


def test_semaphore_units_shared_by_threads_and_tasks() -> None:
    sem, inside, peak = aio.BoundedSemaphore(2), [0], [0]
    guard = threading.Lock()
    rounds = 100

    def enter() -> None:
        with guard:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])

    def leave() -> None:
        with guard:
            inside[0] -= 1

    def thread_body() -> None:
        for _ in range(rounds):
            assert sem.acquire_blocking(timeout=BOUND)
            enter()
            leave()
            sem.release()

    async def task_body() -> None:
        for _ in range(rounds):
            async with sem:
                enter()
                await asyncio.sleep(0)
                leave()

    async def tasks() -> None:
        await asyncio.gather(*(task_body() for _ in range(3)))

    workers = [start(thread_body) for _ in range(3)] + [start(run, tasks)]
    for worker in workers:
        worker.finish()
    assert peak[0] <= 2 and inside[0] == 0
    assert repr(sem).endswith("[unlocked, value:2]>")


def test_semaphore_thread_gets_the_unit_a_task_releases() -> None:
    sem = aio.Semaphore(0)

    async def body() -> None:
        thread = start(lambda: sem.acquire_blocking(timeout=BOUND))
        await until(lambda: parked_on(id(sem)) == 1, "the thread parked")
        sem.release()
        assert await joined(thread) is True
        assert sem.acquire_blocking(timeout=0) is False
        started = time.monotonic()
        assert await joined(start(lambda: sem.acquire_blocking(timeout=0.02))) is False
        assert time.monotonic() - started >= 0.015

    run(body)


# --- Barrier ---------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Barrier exists from Python 3.11 on")
def test_barrier_threads_and_tasks_pass_together_and_a_thread_timeout_breaks_it() -> None:
    barrier = aio.Barrier(4)

    async def body() -> None:
        threads = [start(lambda: barrier.wait_blocking(timeout=BOUND)) for _ in range(2)]
        indices = await asyncio.gather(barrier.wait(), barrier.wait())
        for thread in threads:
            indices.append(await joined(thread))
        assert sorted(indices) == [0, 1, 2, 3]
        task = asyncio.ensure_future(barrier.wait())
        timed_out = start(lambda: barrier.wait_blocking(timeout=0.02))
        with pytest.raises(aio.BrokenBarrierError):
            await joined(timed_out)
        with pytest.raises(asyncio.BrokenBarrierError):  # type: ignore[attr-defined]
            await asyncio.wait_for(task, BOUND)
        assert barrier.broken
        await joined(start(barrier.reset_blocking))
        assert not barrier.broken
        await joined(start(barrier.abort_blocking))
        assert barrier.broken

    run(body)
