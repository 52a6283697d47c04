"""RawMutex and RawFairMutex: locking, timeouts, fairness, interrupts, fault injection."""

from __future__ import annotations

import math
import threading
import time

import pytest

from conftest import BOUND, sigint_main_thread, start, wait_until
from faultinject import CORE_DIR, RAW_DIR, FaultInjector, Injected, at_every_line
from lot_helpers import all_bucket_locks_free
from parking_lot import core
from parking_lot.raw import RawFairMutex, RawMutex

MUTEXES = [RawMutex, RawFairMutex]


@pytest.fixture(params=MUTEXES, ids=lambda cls: cls.__name__)
def mutex_class(request):
    return request.param


def _wait_for_waiters(mutex, count):
    wait_until(lambda: core.parked_count(id(mutex)) == count, what=f"{count} threads parked on the mutex")


def test_lock_unlock_try_lock(mutex_class):
    m = mutex_class()
    assert not m.is_locked()
    m.lock()
    assert m.is_locked() and not m.try_lock()
    m.unlock()
    assert m.try_lock()
    m.unlock()
    with m:
        assert m.is_locked()
    assert not m.is_locked()
    assert "unlocked" in repr(m)


def test_released_by_another_thread_as_in_parking_lot(mutex_class):
    m = mutex_class()
    m.lock()
    start(m.unlock).finish()
    assert not m.is_locked()


def test_counter_never_loses_an_update(mutex_class):
    m = mutex_class()
    total = {"n": 0}

    def work():
        for _ in range(3000):
            with m:
                value = total["n"]
                if _ % 97 == 0:
                    time.sleep(0)  # invite a switch inside the critical section
                total["n"] = value + 1

    workers = [start(work) for _ in range(8)]
    for worker in workers:
        worker.finish()
    assert total["n"] == 24000
    assert not m.is_locked() and core.parked_count(id(m)) == 0


def test_try_lock_for_times_out_never_early_and_leaves_no_trace(mutex_class):
    m = mutex_class()
    m.lock()
    for timeout in (0, 0.001, 0.02):
        started = time.monotonic()
        assert start(m.try_lock_for, timeout).finish() is False
        assert time.monotonic() - started >= timeout
    deadline = time.monotonic() + 0.01
    assert start(m.try_lock_until, deadline).finish() is False
    assert time.monotonic() >= deadline
    assert core.parked_count(id(m)) == 0
    assert not m._parked  # the last waiter to time out cleared the parked bit
    m.unlock()
    assert m.try_lock_for(0)
    m.unlock()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m: m.try_lock_for(-1), ValueError),
        (lambda m: m.try_lock_for(math.nan), ValueError),
        (lambda m: m.try_lock_for("1"), TypeError),
        (lambda m: m.try_lock_until(math.nan), ValueError),
    ],
)
def test_bad_timeouts_are_rejected_before_locking(mutex_class, call, error):
    m = mutex_class()
    with pytest.raises(error):
        call(m)
    assert not m.is_locked()


def _waiter_that_holds(m, release):
    def body():
        m.lock()
        release.wait(BOUND)
        m.unlock()
        return "got it"

    return start(body)


def test_unlock_fair_hands_the_mutex_over_without_releasing_it(mutex_class):
    m = mutex_class()
    release = threading.Event()
    m.lock()
    waiter = _waiter_that_holds(m, release)
    _wait_for_waiters(m, 1)
    m.unlock_fair()
    # Handed over, never released: nobody (not even us) can slip in before the waiter.
    assert m.try_lock() is False
    release.set()
    assert waiter.finish() == "got it"
    assert not m.is_locked()


def test_fair_mutex_always_hands_over(mutex_class):
    if mutex_class is not RawFairMutex:
        pytest.skip("RawMutex hands over only when the fairness timer fires")
    m = mutex_class()
    release = threading.Event()
    m.lock()
    waiter = _waiter_that_holds(m, release)
    _wait_for_waiters(m, 1)
    m.unlock()
    assert m.try_lock() is False
    release.set()
    waiter.finish()


def test_bump_lets_a_waiter_in_first(mutex_class):
    m = mutex_class()
    order = []
    m.lock()

    def other():
        m.lock()
        order.append("other")
        m.unlock()

    worker = start(other)
    _wait_for_waiters(m, 1)
    m.bump()
    order.append("me")
    m.unlock()
    worker.finish()
    assert order == ["other", "me"]
    m.lock()
    m.bump()  # no waiter: nothing happens, we keep it
    assert m.is_locked()
    m.unlock()


def test_a_timed_out_waiter_does_not_strand_the_others(mutex_class):
    m = mutex_class()
    m.lock()
    patient = start(lambda: (m.lock(), m.unlock(), "patient")[2])
    _wait_for_waiters(m, 1)
    assert start(m.try_lock_for, 0.01).finish() is False
    m.unlock()
    assert patient.finish() == "patient"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_ctrl_c_in_a_blocked_lock_leaves_the_mutex_usable(mutex_class):
    m = mutex_class()
    holder_may_go = threading.Event()

    def holder():
        m.lock()
        holder_may_go.wait(BOUND)
        m.unlock()

    worker = start(holder)
    wait_until(m.is_locked, what="the holder to lock")
    sender = start(lambda: (_wait_for_waiters(m, 1), sigint_main_thread()))
    with pytest.raises(KeyboardInterrupt):
        m.lock()
    sender.finish()
    assert core.parked_count(id(m)) == 0  # the interrupted waiter left the queue
    holder_may_go.set()
    worker.finish()
    assert m.try_lock_for(BOUND)
    m.unlock()
    assert not m._parked


def _fault_scenario(mutex_class, target, fair):
    """A holder hands over (or releases) the mutex while the actor waits; exception at line *target*."""
    m = mutex_class()
    m.lock()
    injector = FaultInjector(target, dirs=(CORE_DIR, RAW_DIR))
    outcome = {}

    def actor():
        try:
            injector.run(m.lock)
            outcome["locked"] = True
        except Injected as exc:
            outcome["injected"] = exc
        if outcome.get("locked"):
            m.unlock()

    def release_when_parked():
        deadline = time.monotonic() + BOUND
        while core.parked_count(id(m)) == 0 and not done.is_set() and time.monotonic() < deadline:
            time.sleep(0.0002)
        (m.unlock_fair if fair else m.unlock)()

    done = threading.Event()
    releaser = start(release_when_parked)
    acting = start(lambda: (actor(), done.set()))
    acting.finish()
    releaser.finish()
    # Whatever happened, the mutex is free again and usable by everyone else.
    assert start(m.try_lock_for, BOUND).finish() is True, f"mutex stuck after {outcome}"
    m.unlock()
    assert core.parked_count(id(m)) == 0
    wait_until(all_bucket_locks_free, what="bucket locks to be free")
    return injector


@pytest.mark.parametrize("fair", [False, True], ids=["unlock", "unlock_fair"])
def test_an_exception_at_every_line_of_the_lock_slow_path(mutex_class, fair):
    assert at_every_line(lambda target: _fault_scenario(mutex_class, target, fair), minimum=10) > 0


def test_a_release_that_fails_inside_the_slow_unlock_strands_no_waiter():
    """A second release racing the first makes the slow unlock's own release raise: nothing may change."""
    m = RawMutex()
    m.lock()
    waiter = start(lambda: m.try_lock_for(BOUND))
    _wait_for_waiters(m, 1)
    m._locked.release()  # the racing release won: LOCKED is already clear
    from parking_lot.core._hashtable import state

    state.table.bucket_for(id(m)).fair_deadline_ns = time.monotonic_ns() + 10**12  # no fair hand-off now
    with pytest.raises(RuntimeError):
        m.unlock()  # the slow path's release raises inside the unpark callback
    assert core.parked_count(id(m)) == 1 and m._parked  # still queued, PARKED still set
    m.lock()  # free: taken on the fast path
    m.unlock()  # PARKED is set, so this wakes the waiter
    assert waiter.finish() is True
    m.unlock()
