"""The locks' awaitable twins (``m_async``): threads and asyncio tasks on the same lock object.

Every event loop runs its body under ``asyncio.wait_for(..., BOUND)`` and every thread is
joined with a bound, so a lost wake-up or a stranded lock fails a test instead of hanging it.
Cancellation is injected at every await point of the slow paths by cancelling after k
event-loop iterations, for k = 0, 1, 2, ... until the operation completes before the cancel.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conftest import BOUND, start, wait_until
from parking_lot import FairMutex, Mutex, core
from parking_lot.core import TimedOut, Unparked
from parking_lot.core._hashtable import Bucket
from parking_lot.raw import RawFairMutex, RawMutex
from parking_lot.raw.mutex import TOKEN_HANDOFF, TOKEN_NORMAL


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


async def cancelled(task: asyncio.Task[Any]) -> bool:
    """Await *task*; True if it ended cancelled, False if it completed."""
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # our own cancellation (the bound), not the task's
        return True
    return False


RAW_MUTEXES = [RawMutex, RawFairMutex]
MUTEXES = [Mutex, FairMutex]


# --- RawMutex / RawFairMutex ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", RAW_MUTEXES)
def test_raw_lock_async_and_async_with(cls):
    async def body():
        m = cls()
        await m.lock_async()
        assert m.is_locked()
        assert not await m.try_lock_for_async(0)  # held: a zero timeout only tries
        m.unlock()
        async with m:
            assert m.is_locked()
        assert not m.is_locked()
        assert await m.try_lock_for_async(1.0)
        m.unlock()
        assert await m.try_lock_until_async(time.monotonic() + 1.0)
        m.unlock()

    run(body)


@pytest.mark.parametrize("bad, error", [(-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError)])
def test_raw_bad_timeouts_raise_before_anything_changes(bad, error):
    async def body():
        m = RawMutex()
        with pytest.raises(error):
            await m.try_lock_for_async(bad)
        assert not m.is_locked()
        if bad != -1.0:
            with pytest.raises(error):
                await m.try_lock_until_async(bad)
            assert not m.is_locked()

    run(body)


@pytest.mark.parametrize("cls", RAW_MUTEXES)
@pytest.mark.parametrize("form", ["for", "until"])
def test_async_timeouts_are_never_early(cls, form):
    async def body():
        m = cls()
        m.lock()
        key = m._key
        started = time.monotonic()
        if form == "for":
            got = await m.try_lock_for_async(0.05)
        else:
            got = await m.try_lock_until_async(started + 0.05)
        elapsed = time.monotonic() - started
        assert got is False and elapsed >= 0.05
        assert parked_on(key) == 0 and m.is_locked()
        m.unlock()
        assert not m.is_locked()

    run(body)


@pytest.mark.parametrize("cls", RAW_MUTEXES)
def test_wait_for_and_asyncio_timeout_leave_the_queue(cls):
    async def body():
        m = cls()
        m.lock()
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(m.lock_async(), 0.05)
        assert time.monotonic() - started >= 0.05
        if hasattr(asyncio, "timeout"):  # 3.11+
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.02):
                    await m.lock_async()
        assert parked_on(m._key) == 0
        m.unlock()
        # the mutex works afterwards, for a task and for a thread
        await m.lock_async()
        m.unlock()
        worker = start(lambda: m.try_lock_for(BOUND) and (m.unlock() or True))
        assert worker.finish() is True

    run(body)


@pytest.mark.parametrize("cls", RAW_MUTEXES)
@pytest.mark.parametrize("fair", [False, True])
def test_hand_over_thread_to_task_and_task_to_thread(cls, fair):
    async def body():
        m = cls()
        order: list[str] = []
        # thread -> task
        holding = threading.Event()
        release = threading.Event()

        def thread_holds() -> None:
            m.lock()
            order.append("thread")
            holding.set()
            assert release.wait(BOUND)
            m.unlock_fair() if fair else m.unlock()

        worker = start(thread_holds)
        await until(holding.is_set, "the thread to hold the mutex")

        async def task_locks() -> None:
            await m.lock_async()
            order.append("task")

        task = asyncio.ensure_future(task_locks())
        await until(lambda: parked_on(m._key) == 1, "the task to park")
        release.set()
        await task
        worker.finish()
        # task -> thread: the task holds it, a thread parks, the task lets go
        thread = start(lambda: (m.try_lock_for(BOUND), order.append("thread again"), m.unlock())[0])
        await until(lambda: parked_on(m._key) == 1, "the thread to park")
        m.unlock_fair() if fair else m.unlock()
        assert thread.finish() is True
        assert order == ["thread", "task", "thread again"]
        assert not m.is_locked() and parked_on(m._key) == 0

    run(body)


@pytest.mark.parametrize("cls", RAW_MUTEXES)
@pytest.mark.parametrize("fair", [False, True])
@pytest.mark.parametrize("release_at", [0, 1, 2])
def test_cancellation_at_every_await_point_strands_nothing(cls, fair, release_at, monkeypatch):
    """A task waits for the mutex behind its holder, a thread waits behind the task; the holder
    lets go after *release_at* loop iterations and the task is cancelled after k, for every k
    until the task gets the mutex first.  Then: the thread gets the mutex (no lost wake-up),
    the mutex ends free, nobody is left parked.  Every way the cancelled wait can end is
    reached: still queued (TimedOut), handed the mutex (TOKEN_HANDOFF), woken to retry
    (TOKEN_NORMAL; the fairness timer is held off so that a plain unlock never hands over).
    """
    monkeypatch.setattr(Bucket, "should_be_fair", lambda self: False)
    endings: set[object] = set()

    async def once(k: int) -> bool:
        m = cls()
        key = m._key
        m.lock()
        got: list[bool] = []

        async def waiter() -> None:
            try:
                await m.lock_async()
            except asyncio.CancelledError as exc:
                endings.add(core.interrupted_result(exc))
                raise
            got.append(True)
            m.unlock()

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_on(key) == 1, "the task to park")
        thread = start(lambda: m.try_lock_for(BOUND) and (m.unlock() or True))
        await until(lambda: parked_on(key) == 2, "the thread to park")
        completed_first = False
        for step in range(max(k, release_at) + 1):
            if step == release_at:
                m.unlock_fair() if fair else m.unlock()
            if step == k:
                completed_first = task.done()
                task.cancel()
            await asyncio.sleep(0)
        was_cancelled = await cancelled(task)
        assert was_cancelled != bool(got)
        assert thread.finish() is True, "the thread behind the cancelled task never got the mutex"
        await until(lambda: not m.is_locked(), "the mutex to be free")
        assert parked_on(key) == 0
        return completed_first

    async def body():
        for k in range(50):
            if await once(k):
                return k
        pytest.fail("the lock never completed before the cancel")

    assert run(body) >= release_at
    handed = fair or cls is RawFairMutex
    assert Unparked(TOKEN_HANDOFF if handed else TOKEN_NORMAL) in endings
    if release_at:
        assert TimedOut in endings


# --- Mutex / FairMutex ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", MUTEXES)
def test_mutex_lock_async_awaited_and_as_async_with(cls):
    async def body():
        m = cls([])
        async with m.lock_async() as guard:
            guard.value.append(1)
            assert m.is_locked()
        assert not m.is_locked()
        guard = await m.lock_async()
        with guard:
            guard.value.append(2)
        assert not m.is_locked()
        async with m.lock_async() as guard:
            guard.unlock()  # released inside the block: the exit releases nothing more
            assert not m.is_locked()
            other = await m.lock_async()  # ... so another lock in the block is not undone by it
        assert m.is_locked()
        other.unlock()
        pending = m.lock_async()
        (await pending).unlock()
        with pytest.raises(RuntimeError, match="already"):
            await pending
        pending = m.lock_async()  # never awaited: takes nothing
        assert not m.is_locked()
        held = await m.try_lock_for_async(0.5)
        assert held is not None and await m.try_lock_until_async(time.monotonic() + 0.01) is None
        held.unlock()
        with pytest.raises(ValueError):
            await m.try_lock_for_async(-1)
        return m.lock().value

    assert run(body) == [1, 2]


@pytest.mark.parametrize("cls", MUTEXES)
def test_async_with_releases_on_an_exception_and_on_cancellation(cls):
    async def body():
        m = cls(0)
        with pytest.raises(KeyError):
            async with m.lock_async():
                raise KeyError
        assert not m.is_locked()

        async def holds_forever() -> None:
            async with m.lock_async():
                await asyncio.sleep(BOUND * 2)

        task = asyncio.ensure_future(holds_forever())
        await until(m.is_locked, "the task to hold the mutex")
        task.cancel()
        assert await cancelled(task)
        assert not m.is_locked()

    run(body)


def _stress(cls: type, threads: int, tasks_per_loop: int, loops: int, rounds: int) -> None:
    """Threads and tasks (on *loops* loops, one in the main thread) add to one counter under one mutex.

    Tasks yield inside their critical section (a read, a yield to the loop, a write), so a
    mutex that let two holders in would lose increments.
    """
    mutex = cls({"count": 0})

    def thread_work() -> None:
        for _ in range(rounds):
            with mutex.lock() as guard:
                value = guard.value["count"]
                guard.value["count"] = value + 1

    async def task_work() -> None:
        for index in range(rounds):
            if index % 3 == 0:
                guard = await mutex.try_lock_for_async(BOUND)
                assert guard is not None
                with guard:
                    value = guard.value["count"]
                    await asyncio.sleep(0)
                    guard.value["count"] = value + 1
            else:
                async with mutex.lock_async() as guard:
                    value = guard.value["count"]
                    await asyncio.sleep(0)
                    guard.value["count"] = value + 1

    async def loop_body() -> None:
        await asyncio.gather(*(task_work() for _ in range(tasks_per_loop)))

    workers = [start(thread_work) for _ in range(threads)]
    workers += [start(run, loop_body) for _ in range(loops - 1)]
    run(loop_body)
    for worker in workers:
        worker.finish()
    assert mutex.lock().value["count"] == rounds * (threads + tasks_per_loop * loops)
    assert parked_on(mutex.raw._key) == 0


@pytest.mark.parametrize("cls", MUTEXES)
@pytest.mark.parametrize("loops", [1, 2])
def test_mixed_stress_threads_and_tasks_on_one_mutex(cls, loops):
    _stress(cls, threads=2, tasks_per_loop=3, loops=loops, rounds=300)
