"""Mutex[T] and FairMutex[T]: guards, timeouts, temporarily unlocked sections, contention."""

from __future__ import annotations

import threading
import time

import pytest

from conftest import BOUND, start, wait_until
from parking_lot import core
from parking_lot.mutex import FairMutex, Mutex


@pytest.fixture(params=[Mutex, FairMutex], ids=lambda cls: cls.__name__)
def mutex_class(request):
    return request.param


def test_the_value_is_reached_through_the_guard(mutex_class):
    m = mutex_class([1])
    with m.lock() as guard:
        assert m.is_locked()
        guard.value.append(2)
        guard.value = guard.value + [3]
    assert not m.is_locked()
    with m.lock() as guard:
        assert guard.value == [1, 2, 3]
    assert "unlocked" in repr(m) and "[1, 2, 3]" in repr(m)


def test_a_guard_used_after_release_raises(mutex_class):
    m = mutex_class(0)
    guard = m.lock()
    guard.unlock()
    with pytest.raises(RuntimeError, match="unlocked"):
        guard.value
    with pytest.raises(RuntimeError, match="unlocked"):
        guard.value = 1
    with pytest.raises(RuntimeError, match="unlocked"):
        guard.unlock()
    assert not m.is_locked()


def test_try_lock_variants_return_none_when_busy(mutex_class):
    m = mutex_class("v")
    with m.lock():
        assert start(m.try_lock).finish() is None
        started = time.monotonic()
        assert start(m.try_lock_for, 0.01).finish() is None
        assert time.monotonic() - started >= 0.01
        assert start(m.try_lock_until, time.monotonic() + 0.005).finish() is None
    guard = m.try_lock_for(BOUND)
    assert guard is not None and guard.value == "v"
    guard.unlock()
    guard = m.try_lock()
    assert guard is not None
    guard.unlock()


def test_unlocked_releases_for_the_block_and_relocks(mutex_class):
    m = mutex_class(0)
    with m.lock() as guard:
        with guard.unlocked():
            assert not m.is_locked()
            other = start(lambda: m.try_lock() is not None and m._guard.unlock() is None)
            assert other.finish() is True
        assert m.is_locked()
        guard.value += 1
    assert not m.is_locked()


def test_unlock_fair_and_bump_through_the_guard(mutex_class):
    m = mutex_class(0)

    def waiter():
        with m.lock() as guard:
            guard.value += 1

    guard = m.lock()
    worker = start(waiter)
    wait_until(lambda: core.parked_count(id(m.raw)) == 1, what="the waiter to park")
    guard.bump()  # the waiter runs its critical section first, then we have the mutex back
    assert guard.value == 1
    worker.finish()
    release = threading.Event()

    def holding_waiter():
        with m.lock() as guard:
            guard.value += 1
            release.wait(BOUND)

    second = start(holding_waiter)
    wait_until(lambda: core.parked_count(id(m.raw)) == 1, what="the second waiter to park")
    guard.unlock_fair()
    assert m.try_lock() is None  # handed to the waiter, never released
    release.set()
    second.finish()
    with m.lock() as guard:
        assert guard.value == 2


def test_counter_under_contention(mutex_class):
    m = mutex_class(0)

    def work():
        for i in range(2000):
            with m.lock() as guard:
                value = guard.value
                if i % 50 == 0:
                    time.sleep(0)
                guard.value = value + 1

    workers = [start(work) for _ in range(6)]
    for worker in workers:
        worker.finish()
    with m.lock() as guard:
        assert guard.value == 12000
