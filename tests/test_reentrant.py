"""RawReentrantMutex and ReentrantMutex[T]."""

from __future__ import annotations

import pytest

from conftest import start
from parking_lot.raw import RawReentrantMutex
from parking_lot.reentrant_mutex import ReentrantMutex


def test_the_owner_may_lock_again_and_must_unlock_as_often():
    m = RawReentrantMutex()
    with m:
        with m:
            assert m.count == 2 and m.is_owned_by_current_thread()
            assert start(m.try_lock).finish() is False
        assert m.is_locked()
    assert not m.is_locked() and m.count == 0
    assert "unlocked" in repr(m)


def test_unlock_by_a_thread_that_does_not_own_it_raises_and_changes_nothing():
    m = RawReentrantMutex()
    with pytest.raises(RuntimeError, match="does not own"):
        m.unlock()
    m.lock()
    with pytest.raises(RuntimeError, match="does not own"):
        start(m.unlock).finish()
    assert m.is_locked() and m.count == 1
    m.unlock()


def test_try_lock_variants():
    m = RawReentrantMutex()
    assert m.try_lock() and m.try_lock_for(0) and m.try_lock_until(0)
    assert m.count == 3
    assert start(m.try_lock_for, 0.01).finish() is False
    for _ in range(3):
        m.unlock()
    assert start(lambda: m.try_lock_for(1) and (m.unlock_fair() or True)).finish() is True


def test_counter_under_contention():
    m = ReentrantMutex([0])

    def work():
        for _ in range(1000):
            with m.lock() as outer, m.lock() as inner:
                inner.value[0] = outer.value[0] + 1

    workers = [start(work) for _ in range(4)]
    for worker in workers:
        worker.finish()
    with m.lock() as guard:
        assert guard.value == [4000]


def test_guards_are_single_use():
    m = ReentrantMutex("v")
    guard = m.lock()
    assert guard.value == "v" and m.is_owned_by_current_thread()
    guard.unlock()
    with pytest.raises(RuntimeError):
        guard.value
    with pytest.raises(RuntimeError):
        guard.unlock()
    assert not m.is_locked()
    assert m.try_lock() is not None
    assert start(m.try_lock_for, 0.01).finish() is None
