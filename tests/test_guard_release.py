"""Every guard's ``with`` block releases only what the guard still holds.

Two ways a block's exit used to release a lock it no longer held:

* the guard was released inside the block (``unlock()``, ``unlock_fair()``):
  leaving the block released the mutex again, which raised, or, if another
  thread had locked it meanwhile, released *that* thread's lock;
* Ctrl-C landed while ``bump()`` or ``unlocked()`` was taking the lock back: the
  exception left with the lock not held, and the block's exit released it anyway.

The second case is driven with a real SIGINT, delivered while the main thread is
parked in its relock (another thread holds the lock then and keeps it until the
main thread has left its block, so the relock cannot succeed first).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import BOUND, sigint_main_thread, start, wait_until
from parking_lot import core
from parking_lot.condvar import Condvar
from parking_lot.mutex import FairMutex, Mutex
from parking_lot.reentrant_mutex import ReentrantMutex
from parking_lot.rwlock import RwLock


@dataclass
class Case:
    """One guard kind: the lock, how the main thread and the other thread take it, where they park."""

    lock: Any
    take: Callable[[], Any]  # the main thread's guard (a context manager with unlock/bump)
    take_other: Callable[[], Any]  # the other thread's guard, which excludes the main thread's
    key: int  # where the main thread parks on its relock
    other_key: int  # where the other thread parks while the main thread holds the lock


def _mutex(cls: type[Mutex[int]]) -> Case:
    m = cls(0)
    return Case(m, m.lock, m.lock, id(m.raw), id(m.raw))


def _reentrant() -> Case:
    m = ReentrantMutex(0)
    key = id(m._raw._mutex)
    return Case(m, m.lock, m.lock, key, key)


def _rwlock(mode: str) -> Case:
    rw = RwLock(0)
    key = id(rw._raw)
    # A writer waiting for a reader parks on the second key; every other wait on the main one.
    return Case(rw, getattr(rw, mode), rw.write, key, key + 1 if mode == "read" else key)


CASES: dict[str, Callable[[], Case]] = {
    "Mutex": lambda: _mutex(Mutex),
    "FairMutex": lambda: _mutex(FairMutex),
    "ReentrantMutex": _reentrant,
    "RwLock.read": lambda: _rwlock("read"),
    "RwLock.upgradable_read": lambda: _rwlock("upgradable_read"),
    "RwLock.write": lambda: _rwlock("write"),
}


def _is_locked(lock: Any) -> bool:
    return bool(lock.is_locked())


def _held_by_the_other_thread_alone(lock: Any) -> bool:
    """What the other thread sees while it holds the lock: locked, and for an RwLock write-locked
    with no reader counted (a reader's release of a lock it does not hold takes the count below 0)."""
    if isinstance(lock, RwLock):
        return lock.is_locked_exclusive() and lock._raw.readers == 0
    return _is_locked(lock)


@pytest.mark.parametrize("release", ["unlock", "unlock_fair"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_guard_released_in_its_block_is_left_alone_on_exit(name: str, release: str) -> None:
    case = CASES[name]()
    taken, leave = threading.Event(), threading.Event()

    def other() -> bool:
        guard = case.take_other()
        taken.set()
        assert leave.wait(BOUND)
        still_held = _held_by_the_other_thread_alone(case.lock)
        guard.unlock()
        return still_held

    with case.take() as guard:
        getattr(guard, release)()
        worker = start(other)
        assert taken.wait(BOUND), "the other thread could not lock"
    leave.set()
    assert worker.finish() is True, "leaving the block released the other thread's lock"
    assert not _is_locked(case.lock)
    with case.take() as guard:  # a guard released in its block, alone: exit is quiet too
        guard.unlock()
    assert not _is_locked(case.lock)


def _interrupt_the_relock(case: Case, body: Callable[[Any], AbstractContextManager[Any] | None]) -> None:
    """Main thread: take *case*'s lock, run *body* (which lets it go and takes it back); the other
    thread takes the lock meanwhile and sends SIGINT once the main thread is parked on its relock."""
    taken, interrupted = threading.Event(), threading.Event()

    def other() -> bool:
        guard = case.take_other()
        taken.set()
        wait_until(lambda: core.parked_count(case.key) == 1, what="the main thread to park on its relock")
        sigint_main_thread()
        assert interrupted.wait(BOUND)
        still_held = _held_by_the_other_thread_alone(case.lock)
        guard.unlock()
        return still_held

    with pytest.raises(KeyboardInterrupt):
        with case.take() as guard:
            worker = start(other)
            released_for_a_block = body(guard)  # bump() returns None: it raises from here
            if released_for_a_block is not None:  # unlocked(): the relock is on leaving it
                with released_for_a_block:
                    assert taken.wait(BOUND), "the other thread could not lock"
    interrupted.set()
    assert worker.finish() is True, "leaving the block released the other thread's lock"
    assert not _is_locked(case.lock)
    assert core.parked_count(case.key) == 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_ctrl_c_in_the_relock_of_bump_leaves_the_guard_released(name: str) -> None:
    case = CASES[name]()

    def bump(guard: Any) -> None:
        wait_until(lambda: core.parked_count(case.other_key) == 1, what="the other thread to wait")
        guard.bump()

    _interrupt_the_relock(case, bump)


@pytest.mark.parametrize("how", ["unlocked", "unlocked_fair"])
@pytest.mark.parametrize("name", ["Mutex", "FairMutex"])
def test_ctrl_c_in_the_relock_of_unlocked_leaves_the_guard_released(name: str, how: str) -> None:
    case = CASES[name]()
    _interrupt_the_relock(case, lambda guard: getattr(guard, how)())


def test_a_condvar_wait_keeps_its_guard_from_other_threads() -> None:
    # The waiter's guard lets the mutex go during the wait: a thread that locks the
    # mutex meanwhile, and releases its guard inside its block, must not be handed
    # the waiter's guard object (its block's exit would then release the waiter's lock).
    m, cv = Mutex(0), Condvar()
    relocked, checked = threading.Event(), threading.Event()

    def waiter() -> bool:
        with m.lock() as guard:
            cv.wait_for(guard, BOUND)
            relocked.set()
            assert checked.wait(BOUND)
            return m.is_locked()

    worker = start(waiter)
    wait_until(lambda: core.parked_count(id(cv)) == 1, what="the waiter to wait")
    with m.lock() as guard:
        guard.unlock()
        assert cv.notify_one()
        assert relocked.wait(BOUND), "the waiter did not take the mutex back"
    checked.set()
    assert worker.finish() is True, "leaving the block released the waiter's lock"
    assert not m.is_locked()
