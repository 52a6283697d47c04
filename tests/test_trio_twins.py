"""Every lock's awaitable twins under trio, uncontended and handed over by a thread.

The twins park through ``core.park_async``, which picks trio's task parker under trio;
nothing on their paths may assume an asyncio loop (``async with Mutex.lock_async()``
asked ``asyncio.get_running_loop()`` for its done future and failed under trio).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from async_helpers import pending_mutex_form  # noqa: E402,F401 (a fixture)
from async_helpers import run_trio as run  # noqa: E402
from conftest import trio_or_skip  # noqa: E402

trio = trio_or_skip()

from conftest import BOUND, start  # noqa: E402
from parking_lot import FairMutex, Mutex, Once, ReentrantMutex, RwLock, compat, core  # noqa: E402
from parking_lot.condvar import Condvar  # noqa: E402
from parking_lot.raw import RawFairMutex, RawMutex, RawReentrantMutex, RawRwLock  # noqa: E402


def _guarded(make: Callable[[], Any], enter: Callable[[Any], Any]) -> Callable[[], Awaitable[int]]:
    """``async with enter(lock)`` twice: once free, once while a thread holds it briefly."""

    async def body() -> int:
        lock = make()
        entered = 0
        async with enter(lock):
            entered += 1
        held, release = threading.Event(), threading.Event()

        def holder() -> None:
            if isinstance(lock, (RawMutex, RawFairMutex, RawReentrantMutex, RawRwLock, compat.Lock, compat.RLock,
                                 compat.Semaphore, compat.Condition)):
                with lock:
                    held.set()
                    release.wait(BOUND)
            else:
                with _blocking(lock):
                    held.set()
                    release.wait(BOUND)

        worker = start(holder)
        await trio.to_thread.run_sync(held.wait, BOUND)
        key_before = core.statistics().threads_parked

        async def let_go() -> None:
            while core.statistics().threads_parked == key_before:
                await trio.sleep(0.001)
            release.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(let_go)
            async with enter(lock):  # parks until the thread lets go
                entered += 1
        worker.finish()
        return entered

    return body


def _blocking(lock: Any) -> Any:
    if isinstance(lock, RwLock):
        return lock.write()
    return lock.lock()


CASES: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
    "Mutex": (lambda: Mutex(0), lambda m: m.lock_async()),
    "FairMutex": (lambda: FairMutex(0), lambda m: m.lock_async()),
    "ReentrantMutex": (lambda: ReentrantMutex(0), lambda m: m.lock_async()),
    "RwLock read": (lambda: RwLock(0), lambda rw: rw.read_async()),
    "RwLock write": (lambda: RwLock(0), lambda rw: rw.write_async()),
    "RwLock upgradable": (lambda: RwLock(0), lambda rw: rw.upgradable_read_async()),
    "RawMutex": (RawMutex, lambda raw: raw),
    "RawFairMutex": (RawFairMutex, lambda raw: raw),
    "RawReentrantMutex": (RawReentrantMutex, lambda raw: raw),
    "RawRwLock": (RawRwLock, lambda raw: raw),
    "compat.Lock": (compat.Lock, lambda lock: lock),
    "compat.RLock": (compat.RLock, lambda lock: lock),
    "compat.Semaphore": (lambda: compat.Semaphore(1), lambda sem: sem),
    "compat.Condition": (compat.Condition, lambda cond: cond),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_async_with_under_trio(name: str) -> None:
    make, enter = CASES[name]
    assert run(_guarded(make, enter)) == 2


@pytest.mark.parametrize("cls", [Mutex, FairMutex])
def test_mutex_async_with_under_trio_in_either_form(cls: type[Mutex[int]], pending_mutex_form: type) -> None:
    def enter(m: Mutex[int]) -> Any:
        pending = m.lock_async()
        assert type(pending) is pending_mutex_form
        return pending

    assert run(_guarded(lambda: cls(0), enter)) == 2


def test_waits_under_trio_woken_by_a_thread() -> None:
    async def body() -> list[object]:
        seen: list[object] = []
        event = compat.Event()
        start(event.set)
        seen.append(await event.wait_async(BOUND))
        mutex, cv = Mutex(0), Condvar()

        def notifier() -> None:
            with mutex.lock() as guard:
                guard.value = 1
                cv.notify_all()

        async with mutex.lock_async() as guard:
            start(notifier)
            while guard.value == 0:
                assert not (await cv.wait_for_async(guard, BOUND)).timed_out
            seen.append(guard.value)
        once, ran = Once(), []
        await once.call_once_async(lambda: ran.append(1))
        seen.append(ran)
        barrier = compat.Barrier(2)
        start(barrier.wait, BOUND)
        seen.append(await barrier.wait_async(BOUND) in (0, 1))
        return seen

    assert run(body) == [True, 1, [1], True]
