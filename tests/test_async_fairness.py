"""Eventual fairness between threads and tasks on one lock: neither side starves.

Threads that hold the lock a while and re-lock at once (no pause between holds) and tasks on one event loop
contend for one Mutex / RwLock.  parking_lot hands a lock to its longest waiter about
once a millisecond (the fairness timer) whoever that waiter is, so both sides must keep
making progress; a starved side shows as a failure after BOUND seconds, never a hang.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from conftest import BOUND, start
from parking_lot import FairMutex, Mutex, RwLock

GOAL = 200  # holds each side must reach


def _contend(enter_sync: Callable[[], Any], enter_async: Callable[[], Any]) -> tuple[int, int]:
    counts = {"threads": 0, "tasks": 0}
    stop = threading.Event()
    deadline = time.monotonic() + BOUND

    def enough() -> bool:
        return counts["threads"] >= GOAL and counts["tasks"] >= GOAL

    def thread_body() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            with enter_sync():
                counts["threads"] += 1  # under the lock
                time.sleep(0.0001)  # hold it a while (the GIL let go): a woken task finds it taken
            if enough():
                stop.set()

    async def task_body() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            async with enter_async():
                counts["tasks"] += 1
            if enough():
                stop.set()
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(task_body(), task_body())

    threads = [start(thread_body) for _ in range(2)]
    try:
        asyncio.run(main())
    finally:
        stop.set()
        for thread in threads:
            thread.finish()
    return counts["threads"], counts["tasks"]


@pytest.mark.parametrize("kind", ["Mutex", "FairMutex", "RwLock write"])
def test_threads_and_tasks_both_progress(kind: str) -> None:
    if kind == "Mutex":
        m: Any = Mutex(0)
        pair = (m.lock, m.lock_async)
    elif kind == "FairMutex":
        m = FairMutex(0)
        pair = (m.lock, m.lock_async)
    else:
        m = RwLock(0)
        pair = (m.write, m.write_async)
    threads, tasks = _contend(*pair)
    assert threads >= GOAL and tasks >= GOAL, f"{kind}: threads held it {threads} times, tasks {tasks}"



#: Entries of the task in the test below, and how many of the thread's holds they may take in all.
ENTRIES, HOLDS_LIMIT = 10, 300


@pytest.mark.parametrize("kind", ["Mutex", "RwLock write"])
def test_the_fairness_timer_lets_a_task_in_past_a_thread_that_relocks_at_once(kind: str) -> None:
    # One thread holds the lock 0.2 ms at a time and re-locks on the next line after
    # unlocking, with nothing between that lets the event loop's thread in (on a GIL build
    # the loop thread runs only while the thread sleeps holding the lock).  A woken task
    # then finds the lock taken, and what lets it in is the fairness timer: an unlock
    # hands the lock to its longest waiter once the bucket's timer (0-1 ms) has run out
    # (parking_lot's eventual fairness, ``unlock_slow`` with ``be_fair`` in raw_mutex.rs).
    # So each entry of the task costs the thread a few holds (each at least 0.2 ms long);
    # with the timer disabled it took 59 to 1369 holds per entry here, the GIL's forced
    # switches alone letting the task in by chance, and this fails.
    if kind == "Mutex":
        m: Any = Mutex(0)
        enter_sync, enter_async = m.lock, m.lock_async
    else:
        m = RwLock(0)
        enter_sync, enter_async = m.write, m.write_async
    stop = threading.Event()
    holds = [0]
    deadline = time.monotonic() + BOUND

    def thread_body() -> None:
        while True:
            with enter_sync():
                holds[0] += 1
                time.sleep(0.0002)
                done = stop.is_set() or time.monotonic() >= deadline
            if done:
                return

    async def main() -> int:
        thread = start(thread_body)
        waited = 0  # the thread's holds while the task waited, over all its entries
        try:
            for _ in range(ENTRIES):
                await asyncio.sleep(0.001)  # the thread holds the lock again meanwhile
                before = holds[0]
                async with enter_async():
                    waited += holds[0] - before
                if waited > HOLDS_LIMIT:
                    break
        finally:
            stop.set()
            thread.finish()
        return waited

    waited = asyncio.run(main())
    assert waited <= HOLDS_LIMIT, f"{kind}: the task waited through {waited} holds of the thread for {ENTRIES} entries"
