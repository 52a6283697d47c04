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
