"""Condvar: notify/wait semantics, requeue instead of a stampede, timeouts, interrupts."""

from __future__ import annotations

import collections
import os
import threading
import time

import pytest

from conftest import BOUND, sigint_main_thread, start, wait_until
from parking_lot import core
from parking_lot.condvar import Condvar
from parking_lot.mutex import FairMutex, Mutex


@pytest.fixture(params=[Mutex, FairMutex], ids=lambda cls: cls.__name__)
def mutex_class(request):
    return request.param


def _parked_on(obj, count):
    wait_until(lambda: core.parked_count(id(obj)) == count, what=f"{count} threads parked on {obj!r}")


def test_notify_without_waiters():
    cv = Condvar()
    assert cv.notify_one() is False
    assert cv.notify_all() == 0


def test_wait_for_times_out_never_early_and_holds_the_mutex_again(mutex_class):
    m, cv = mutex_class(0), Condvar()
    with m.lock() as guard:
        started = time.monotonic()
        assert cv.wait_for(guard, 0.02).timed_out is True
        assert time.monotonic() - started >= 0.02
        assert m.is_locked()
        guard.value += 1
        deadline = time.monotonic() + 0.01
        assert cv.wait_until(guard, deadline).timed_out is True
        assert time.monotonic() >= deadline
    assert not m.is_locked()
    assert core.parked_count(id(cv)) == 0 and cv._mutex is None


def test_notify_one_wakes_one_waiter_which_owns_the_mutex_after(mutex_class):
    m, cv = mutex_class([]), Condvar()

    def waiter(name):
        with m.lock() as guard:
            result = cv.wait_for(guard, BOUND)
            guard.value.append(name)
            return result.timed_out

    workers = [start(waiter, i) for i in range(2)]
    _parked_on(cv, 2)
    with m.lock():
        assert cv.notify_one() is True
        # the mutex is held: the waiter was moved onto the mutex's queue, not woken
        assert core.parked_count(id(cv)) == 1
        assert core.parked_count(id(m.raw)) == 1
    assert workers[0].finish() is False
    with m.lock() as guard:
        assert guard.value == [0]
        assert cv.notify_one() is True
    assert workers[1].finish() is False
    assert cv.notify_one() is False


def test_notify_all_requeues_instead_of_stampeding(mutex_class):
    m, cv = mutex_class(0), Condvar()

    def waiter():
        with m.lock() as guard:
            assert cv.wait_for(guard, BOUND).timed_out is False
            guard.value += 1

    workers = [start(waiter) for _ in range(16)]
    _parked_on(cv, 16)
    with m.lock():
        assert cv.notify_all() == 16
        # All sixteen were moved onto the mutex's queue; none was woken to fight for it.
        assert core.parked_count(id(cv)) == 0
        assert core.parked_count(id(m.raw)) == 16
    for worker in workers:
        worker.finish()
    with m.lock() as guard:
        assert guard.value == 16


def test_a_requeued_waiter_is_handed_the_mutex(monkeypatch):
    # A waiter moved onto the mutex's queue has waited once already: the unlock that
    # wakes it hands the mutex over (it never races a barging thread for it again).
    # The fairness timer is off, so only that rule can cause the hand-off.
    from parking_lot.core._hashtable import Bucket
    from parking_lot.raw import RawMutex

    class CountingMutex(RawMutex):
        __slots__ = ("locks",)

        def lock(self):
            self.locks += 1
            super().lock()

    monkeypatch.setattr(Bucket, "should_be_fair", lambda self: False)
    m, cv = CountingMutex(), Condvar()
    m.locks = 0

    def waiter():
        m.lock()
        try:
            return cv.wait_raw(m, timeout=BOUND).timed_out, m.is_locked()
        finally:
            m.unlock()

    worker = start(waiter)
    _parked_on(cv, 1)
    m.lock()
    assert cv.notify_one() is True
    assert core.parked_count(id(m)) == 1  # moved onto the mutex's queue
    locks_before = m.locks
    m.unlock()
    assert worker.finish() == (False, True)
    assert m.locks == locks_before  # the waiter did not have to lock() again: it was handed the mutex


def test_notify_all_with_the_mutex_free_wakes_one_and_queues_the_rest(mutex_class):
    m, cv = mutex_class(0), Condvar()
    release = threading.Event()

    def waiter():
        with m.lock() as guard:
            cv.wait_for(guard, BOUND)
            guard.value += 1
            release.wait(BOUND)

    workers = [start(waiter) for _ in range(4)]
    _parked_on(cv, 4)
    assert cv.notify_all() == 4
    wait_until(lambda: core.parked_count(id(m.raw)) == 3, what="three waiters queued on the mutex")
    release.set()
    for worker in workers:
        worker.finish()
    with m.lock() as guard:
        assert guard.value == 4


def test_wait_while_and_no_spurious_wakeups(mutex_class):
    m, cv = mutex_class(0), Condvar()

    def waiter():
        with m.lock() as guard:
            return cv.wait_while(guard, lambda value: value < 3, BOUND).timed_out, guard.value

    worker = start(waiter)
    for _ in range(3):
        _parked_on(cv, 1)
        with m.lock() as guard:
            guard.value += 1
            cv.notify_one()
    assert worker.finish() == (False, 3)
    with m.lock() as guard:
        assert cv.wait_while(guard, lambda value: value < 10, 0.01).timed_out is True


def test_a_condvar_with_two_mutexes_is_an_error():
    m1, m2, cv = Mutex(0), Mutex(0), Condvar()
    def waiter() -> None:
        with m1.lock() as held:
            cv.wait_for(held, BOUND)

    worker = start(waiter)
    _parked_on(cv, 1)
    with m2.lock() as guard:
        with pytest.raises(RuntimeError, match="two different mutexes"):
            cv.wait_for(guard, BOUND)
        assert m2.is_locked()  # still held: nothing was released
    cv.notify_all()
    worker.finish()


def test_bounded_queue_producer_consumer(mutex_class):
    m = mutex_class(collections.deque())
    not_empty, not_full = Condvar(), Condvar()
    items = 3000

    def producer(base):
        for i in range(items):
            with m.lock() as guard:
                cv_result = not_full.wait_while(guard, lambda q: len(q) >= 8, BOUND)
                assert not cv_result.timed_out
                guard.value.append(base + i)
                not_empty.notify_one()

    def consumer():
        got = []
        for _ in range(items):
            with m.lock() as guard:
                assert not not_empty.wait_while(guard, lambda q: not q, BOUND).timed_out
                got.append(guard.value.popleft())
                not_full.notify_one()
        return got

    producers = [start(producer, base) for base in (0, 100_000)]
    consumers = [start(consumer) for _ in range(2)]
    got = sorted(x for c in consumers for x in c.finish())
    for p in producers:
        p.finish()
    assert got == sorted(list(range(items)) + list(range(100_000, 100_000 + items)))


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_ctrl_c_during_wait_leaves_the_mutex_held_and_the_condvar_usable():
    m, cv = Mutex(0), Condvar()
    sender = start(lambda: (_parked_on(cv, 1), sigint_main_thread()))
    with m.lock() as guard:
        with pytest.raises(KeyboardInterrupt):
            cv.wait(guard)
        assert m.is_locked()
        guard.value += 1
    sender.finish()
    assert not m.is_locked()
    assert core.parked_count(id(cv)) == 0 and cv._mutex is None
    with m.lock() as guard:
        assert cv.wait_for(guard, 0.001).timed_out


def _condvar_fault_scenario(target, notify_all):
    """The actor waits on a condvar; a notifier notifies once it is parked; exception at line *target*.

    The lines counted are the core's and the condvar module's.  RawMutex's own
    lines are left out here: an exception raised inside the ``unlock`` that the
    wait performs for the caller would leave it unknowable whether the release
    happened (its lock slow path has its own fault test in test_raw_mutex.py).
    """
    from faultinject import CORE_DIR, RAW_DIR, FaultInjector, Injected

    m, cv = Mutex(0), Condvar()
    injector = FaultInjector(target, dirs=(CORE_DIR, os.path.join(RAW_DIR, "condvar.py")))
    outcome = {}
    done = threading.Event()

    def actor():
        guard = m.lock()
        try:
            injector.run(lambda: cv.wait_for(guard, BOUND))
            outcome["returned"] = True
        except Injected as exc:
            outcome["injected"] = exc
        # Whatever happened, wait_for leaves with the mutex held by us.
        outcome["held_after"] = m.is_locked()
        guard.unlock()
        done.set()

    def notifier():
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline and not done.is_set():
            if core.parked_count(id(cv)):
                with m.lock():
                    (cv.notify_all if notify_all else cv.notify_one)()
                return
            time.sleep(0.0002)

    notifying = start(notifier)
    start(actor).finish()
    notifying.finish()
    assert outcome["held_after"], f"wait_for returned without the mutex: {outcome}"
    assert start(m.try_lock_for, BOUND).finish() is not None, f"mutex stuck after {outcome}"
    m._guard.unlock()
    assert core.parked_count(id(cv)) == 0 and core.parked_count(id(m.raw)) == 0
    # the condvar still works
    with m.lock() as guard:
        assert cv.wait_for(guard, 0).timed_out
    return injector


@pytest.mark.parametrize("notify_all", [False, True], ids=["notify_one", "notify_all"])
def test_an_exception_at_every_line_of_the_wait_slow_path(notify_all):
    from faultinject import at_every_line

    assert at_every_line(lambda target: _condvar_fault_scenario(target, notify_all), minimum=20) > 0
