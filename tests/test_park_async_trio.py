"""park_async under trio: the same queues, tokens and cancellation semantics as asyncio.

Mirrors tests/test_park_async.py for trio tasks (skipped when trio is not installed).
Every run is bounded (trio.fail_after around the body, bounded joins for threads), so
a lost wake-up fails instead of hanging.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from async_helpers import run_trio as run  # noqa: E402
from conftest import trio_or_skip  # noqa: E402

trio = trio_or_skip()

from conftest import BOUND, start, subprocess_env  # noqa: E402
from lot_helpers import fresh_key, park_thread, wait_parked  # noqa: E402
from parking_lot import core  # noqa: E402
from parking_lot.core import (  # noqa: E402
    Invalid,
    TimedOut,
    Unparked,
    interrupted_result,
    park_async,
    parked_count,
    unpark_all,
    unpark_one,
)


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Yield to trio until *predicate()* holds (bounded)."""
    deadline = time.monotonic() + BOUND
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await trio.sleep(0.0005)


class ParkedTask:
    """A trio task parked on a key, in its own cancel scope; records how its wait ended."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.result: Any = None
        self.raised: BaseException | None = None
        self.done = trio.Event()


async def parked_task(nursery: Any, key: int, **kwargs: Any) -> ParkedTask:
    """Start a task parked on *key* (timeout defaults to BOUND) and wait until it is queued."""
    kwargs.setdefault("timeout", BOUND)
    before = parked_count(key)
    parked = ParkedTask()

    async def body() -> None:
        try:
            with parked.scope:
                try:
                    parked.result = await park_async(key, **kwargs)
                except BaseException as exc:
                    parked.raised = exc
                    raise
        finally:
            parked.done.set()

    nursery.start_soon(body)
    await until(lambda: parked_count(key) > before or parked.done.is_set(), f"a task to park on {key:#x}")
    return parked


def test_a_thread_wakes_a_trio_task_with_its_token():
    key = fresh_key()

    async def body():
        async with trio.open_nursery() as nursery:
            task = await parked_task(nursery, key)
            start(unpark_one, key, lambda result: 41).finish()
        return task.result

    assert run(body) == Unparked(41)


def test_threads_and_trio_tasks_share_one_fifo_queue():
    key = fresh_key()
    order = iter(range(1, 100))

    async def body():
        async with trio.open_nursery() as nursery:
            thread_a = park_thread(key)
            task_b = await parked_task(nursery, key)
            thread_c = park_thread(key)
            task_d = await parked_task(nursery, key)
            wait_parked(key, 4)
            for _ in range(4):
                unpark_one(key, lambda result: next(order))
            results = [thread_a.finish(), None, thread_c.finish(), None]
        results[1], results[3] = task_b.result, task_d.result
        return tuple(results)

    assert run(body) == (Unparked(1), Unparked(2), Unparked(3), Unparked(4))


def test_a_trio_task_wakes_a_task_and_threads_with_unpark_all():
    key = fresh_key()

    async def body():
        async with trio.open_nursery() as nursery:
            tasks = [await parked_task(nursery, key) for _ in range(2)]
            threads = [park_thread(key) for _ in range(2)]
            wait_parked(key, 4)
            assert unpark_all(key, 9) == 4  # from this trio task: the tasks are rescheduled directly
        return [task.result for task in tasks] + [thread.finish() for thread in threads]

    assert run(body) == [Unparked(9)] * 4


def test_a_trio_task_times_out_never_early_and_its_timed_out_runs():
    key = fresh_key()
    calls = []

    async def body():
        started = time.monotonic_ns()
        result = await park_async(key, timed_out=lambda k, last: calls.append((k, last)), timeout=0.02)
        return result, time.monotonic_ns() - started

    result, waited_ns = run(body)
    assert result is TimedOut and waited_ns >= 20_000_000
    assert calls == [(key, True)] and parked_count(key) == 0


def test_a_deadline_in_the_past_and_validate_false():
    key = fresh_key()

    async def body():
        return await park_async(key, deadline_ns=0), await park_async(key, validate=lambda: False)

    assert run(body) == (TimedOut, Invalid)
    assert parked_count(key) == 0


def test_cancelled_before_it_parks_queues_nothing():
    key = fresh_key()

    async def body():
        with trio.CancelScope() as scope:
            scope.cancel()
            await park_async(key)
        return scope.cancelled_caught, parked_count(key)

    assert run(body) == (True, 0)


def test_cancelled_while_parked_leaves_the_queue_as_a_timeout():
    key = fresh_key()
    calls = []

    async def body():
        async with trio.open_nursery() as nursery:
            task = await parked_task(nursery, key, timed_out=lambda k, last: calls.append(last), timeout=None)
            task.scope.cancel()
        assert isinstance(task.raised, trio.Cancelled)
        return interrupted_result(task.raised)

    assert run(body) is TimedOut
    assert calls == [True] and parked_count(key) == 0
    assert unpark_one(key).unparked_threads == 0


def test_cancelled_after_a_thread_took_it_reports_what_it_was_handed():
    # The thread's unpark_one takes the task and hands it token 77; its wake travels through
    # run_sync_soon, and the task is cancelled before trio runs it: the Cancelled says Unparked(77).
    key = fresh_key()
    calls = []

    async def body():
        async with trio.open_nursery() as nursery:
            task = await parked_task(nursery, key, timed_out=lambda k, last: calls.append(last))
            waker = start(unpark_one, key, lambda result: 77)
            assert waker.finish().unparked_threads == 1  # joined on the trio thread: no wake ran yet
            task.scope.cancel()  # trio calls the abort function now
        assert isinstance(task.raised, trio.Cancelled)
        return interrupted_result(task.raised)

    assert run(body) == Unparked(77)
    assert calls == [] and parked_count(key) == 0


def test_a_wake_on_its_own_thread_wins_over_a_later_cancel():
    # A trio task unparks it (rescheduled at once), then its scope is cancelled: as with
    # trio's own primitives, the wait completed and returns; nothing is lost.
    key = fresh_key()

    async def body():
        async with trio.open_nursery() as nursery:
            task = await parked_task(nursery, key)
            unpark_one(key, lambda result: 5)
            task.scope.cancel()
        return task.result, task.raised

    assert run(body) == (Unparked(5), None)


def test_move_on_after_and_fail_after_end_a_wait_cleanly():
    key = fresh_key()
    calls = []

    async def body():
        with trio.move_on_after(0.01) as scope:
            await park_async(key, timed_out=lambda k, last: calls.append(last))
        assert scope.cancelled_caught
        with pytest.raises(trio.TooSlowError):
            with trio.fail_after(0.01):
                await park_async(key, timeout=BOUND)
        return parked_count(key)

    assert run(body) == 0
    assert calls == [True]


def test_a_timeout_and_an_unparker_racing_never_lose_the_token():
    # Many short timed waits, each raced by a thread's unpark_one: every wait ends either
    # TimedOut (and the thread found nobody) or Unparked with the thread's token.
    key = fresh_key()
    outcomes = []

    async def body():
        for round_ in range(40):
            async with trio.open_nursery() as nursery:
                task = await parked_task(nursery, key, timeout=0.002)
                woke = start(unpark_one, key, lambda result, token=round_ + 1: token).finish().unparked_threads
            outcomes.append((woke, task.result, round_ + 1))

    run(body)
    for woke, result, token in outcomes:
        assert (woke, result) in ((1, Unparked(token)), (0, TimedOut))
    assert parked_count(key) == 0


def test_a_trio_task_wakes_an_asyncio_task_on_another_thread():
    import asyncio

    key = fresh_key()
    results: list[Any] = []

    def asyncio_side() -> None:
        async def wait() -> None:
            results.append(await park_async(key, timeout=BOUND))

        asyncio.run(wait())

    worker = start(asyncio_side)
    wait_parked(key, 1)

    async def body():
        return unpark_one(key, lambda result: 12).unparked_threads

    assert run(body) == 1
    worker.finish()
    assert results == [Unparked(12)]


def test_waking_a_task_whose_run_is_over_does_not_raise_nor_lose_the_hand_over(monkeypatch):
    # The unparker takes the task (token 3) but is slow to deliver the wake; meanwhile the task
    # is cancelled (it reports Unparked(3)) and the run ends.  The late wake, from another thread
    # or this one, meets RunFinishedError, which it swallows.
    from parking_lot.core._park_trio import TrioTaskParker

    key = fresh_key()
    handles: list[Any] = []
    original = TrioTaskParker.unpark_lock

    class Late:
        def unpark(self) -> None:
            pass

    def delayed(self: Any) -> Any:
        handles.append(original(self))
        return Late()

    monkeypatch.setattr(TrioTaskParker, "unpark_lock", delayed)

    async def body():
        async with trio.open_nursery() as nursery:
            task = await parked_task(nursery, key)
            assert unpark_one(key, lambda result: 3).unparked_threads == 1
            task.scope.cancel()
        return interrupted_result(task.raised)

    assert run(body) == Unparked(3)
    [handle] = handles
    start(handle.unpark).finish()  # another thread: run_sync_soon raises RunFinishedError inside
    handle.unpark()  # this thread, outside any run
    assert parked_count(key) == 0


def test_mixed_stress_threads_and_trio_tasks_hand_a_baton_around():
    key = fresh_key()
    rounds = 150
    count = [0]
    import threading

    lock = threading.Lock()
    done = threading.Event()

    def count_one() -> bool:
        """Count a round; True when it was the last (then everyone is released)."""
        with lock:
            count[0] += 1
            finished = count[0] >= rounds
        if finished:
            done.set()
            unpark_all(key)
        return finished

    def thread_body():
        while not done.is_set():
            # validate: a thread that checked `done` just before the last round's unpark_all must
            # not then park for good (it sees `done` under the bucket lock, or is queued in time).
            if core.park(key, validate=lambda: not done.is_set(), timeout=BOUND) is TimedOut:
                raise AssertionError("a thread waited BOUND seconds for the baton")
            if not done.is_set() and not count_one():
                while unpark_one(key).unparked_threads == 0 and not done.is_set():
                    time.sleep(0.0001)

    async def task_body():
        while not done.is_set():
            if await park_async(key, validate=lambda: not done.is_set(), timeout=BOUND) is TimedOut:
                raise AssertionError("a task waited BOUND seconds for the baton")
            if not done.is_set() and not count_one():
                # Yield to the run while no one is parked: the next waiter may be a task of
                # this run that has not parked again yet.
                while unpark_one(key).unparked_threads == 0 and not done.is_set():
                    await trio.sleep(0)

    threads = [start(thread_body) for _ in range(3)]

    async def body():
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(task_body)
            await until(lambda: parked_count(key) == 6, "six waiters")
            unpark_one(key)

    run(body)
    for thread in threads:
        thread.finish()
    assert count[0] >= rounds and parked_count(key) == 0


def test_importing_parking_lot_does_not_import_trio():
    code = "import sys, parking_lot, parking_lot.core, parking_lot.deadlock; print('trio' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=BOUND, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_anyio_code_parks_under_either_backend(backend):
    anyio = pytest.importorskip("anyio")
    if backend == "trio":
        trio_or_skip()
    key = fresh_key()
    results: list[Any] = []

    async def main() -> None:
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                async def waiter() -> None:
                    results.append(await park_async(key, timeout=BOUND))

                group.start_soon(waiter)
                while parked_count(key) == 0:
                    await anyio.sleep(0.0005)
                await anyio.to_thread.run_sync(unpark_one, key, lambda result: 8)  # a thread wakes it
            with anyio.move_on_after(0.01) as scope:
                await park_async(key)
            results.append(scope.cancelled_caught)

    anyio.run(main, backend=backend)
    assert results == [Unparked(8), True] and parked_count(key) == 0
