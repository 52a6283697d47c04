"""The deadlock detector: real cycles found and reported once, none invented, and broken on request."""

from __future__ import annotations

import threading
import time

import pytest

from conftest import BOUND, run_child, start, wait_until
from parking_lot import FairMutex, Mutex, Once, ReentrantMutex, RwLock, compat, core, deadlock
from parking_lot.condvar import Condvar
from parking_lot.raw import RawMutex, RawRwLock


@pytest.fixture(autouse=True)
def detection():
    deadlock.enable()
    yield
    deadlock.disable()


def _wait_for_cycle(size: int) -> list[deadlock.Cycle]:
    found: list[deadlock.Cycle] = []

    def probe() -> bool:
        found[:] = [cycle for cycle in deadlock.check_deadlock() if len(cycle.threads) == size]
        return bool(found)

    wait_until(probe, what=f"a deadlock cycle of {size} threads")
    return found


def _break_all(workers, expect_errors: int) -> None:
    """Break every cycle until the workers finish; count DeadlockErrors they reported."""
    deadline = time.monotonic() + BOUND
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        for cycle in deadlock.check_deadlock():
            deadlock.break_deadlock(cycle)
        time.sleep(0.005)
    errors = [w.result for w in workers if isinstance(w.finish(), deadlock.DeadlockError)]
    assert len(errors) == expect_errors


def _locker(first, second, ready: threading.Barrier):
    """Lock *first*, meet the others, lock *second*: returns the DeadlockError if broken."""

    def run():
        with first():
            ready.wait(BOUND)
            try:
                with second():
                    return "done"
            except deadlock.DeadlockError as exc:
                return exc

    return run


def test_two_mutexes_cycle_is_reported_with_names_locks_and_stacks():
    a, b = Mutex("a"), FairMutex("b")
    ready = threading.Barrier(2)
    workers = [
        start(_locker(a.lock, b.lock, ready), name="worker-a-then-b"),
        start(_locker(b.lock, a.lock, ready), name="worker-b-then-a"),
    ]
    (cycle,) = _wait_for_cycle(2)
    assert deadlock.check_deadlock() == [cycle] or len(deadlock.check_deadlock()) == 1  # reported once
    by_name = {report.name: report for report in cycle.threads}
    assert set(by_name) == {"worker-a-then-b", "worker-b-then-a"}
    first, second = by_name["worker-a-then-b"], by_name["worker-b-then-a"]
    assert first.waiting_for.key == id(b.raw) and [h.key for h in first.holding] == [id(a.raw)]
    assert second.waiting_for.key == id(a.raw) and [h.key for h in second.holding] == [id(b.raw)]
    assert first.waiting_for.type_name == "RawFairMutex" or first.waiting_for.type_name.endswith("Mutex")
    assert not first.timed and not second.timed
    assert "in run" in first.stack and "with second():" in first.stack
    text = str(cycle)
    assert "Deadlock: 2 thread(s)" in text and "worker-b-then-a" in text and "waits for:" in text
    assert all(w.ident in cycle.idents for w in workers)
    # Reporting changed nothing: both still wait.
    assert core.parked_count(id(a.raw)) == 1 and core.parked_count(id(b.raw)) == 1
    _break_all(workers, expect_errors=1)
    assert not a.is_locked() and not b.is_locked()
    assert core.parked_count(id(a.raw)) == 0 and core.parked_count(id(b.raw)) == 0


def test_three_lock_cycle_across_three_threads_with_compat_locks():
    locks = [compat.Lock(), compat.RLock(), RawMutex()]
    ready = threading.Barrier(3)
    workers = [start(_locker(lambda i=i: locks[i], lambda i=i: locks[(i + 1) % 3], ready)) for i in range(3)]
    (cycle,) = _wait_for_cycle(3)
    assert cycle.idents == {w.ident for w in workers}
    _break_all(workers, expect_errors=1)
    assert not locks[0].locked() and not locks[2].is_locked()


def test_reentrant_mutex_cycle():
    a, b = ReentrantMutex(1), ReentrantMutex(2)
    ready = threading.Barrier(2)

    def twice(mutex):
        class Twice:
            def __enter__(self):
                self.guards = [mutex.lock(), mutex.lock()]

            def __exit__(self, *exc):
                for guard in reversed(self.guards):
                    guard.unlock()

        return Twice()

    workers = [
        start(_locker(lambda: twice(a), lambda: twice(b), ready)),
        start(_locker(lambda: twice(b), lambda: twice(a), ready)),
    ]
    _wait_for_cycle(2)
    _break_all(workers, expect_errors=1)
    assert not a.is_locked() and not b.is_locked()


def test_rwlock_upgrade_waiting_for_a_reader_that_waits_for_the_upgrader():
    rw, m = RwLock({}), Mutex(None)
    reading, upgrading_holds_m = threading.Event(), threading.Event()

    def upgrader():
        with m.lock():
            with rw.upgradable_read() as guard:
                upgrading_holds_m.set()
                reading.wait(BOUND)
                try:
                    with guard.upgrade():  # waits for the reader to leave
                        return "done"
                except deadlock.DeadlockError as exc:
                    return exc

    def reader():
        with rw.read():
            reading.set()
            upgrading_holds_m.wait(BOUND)
            try:
                with m.lock():  # held by the upgrader
                    return "done"
            except deadlock.DeadlockError as exc:
                return exc

    workers = [start(upgrader), start(reader)]
    (cycle,) = _wait_for_cycle(2)
    waits = {report.waiting_for.key for report in cycle.threads}
    assert waits == {id(rw._raw), id(m.raw)}  # the upgrader's key+1 wait is reported as the RwLock
    _break_all(workers, expect_errors=1)
    assert not rw.is_locked() and not m.is_locked()


def test_two_readers_both_asking_for_the_write_lock():
    raw = RawRwLock()
    ready = threading.Barrier(2)

    def reader_then_writer():
        raw.lock_shared()
        ready.wait(BOUND)
        try:
            raw.lock_exclusive()
        except deadlock.DeadlockError as exc:
            raw.unlock_shared()
            return exc
        raw.unlock_exclusive()
        raw.unlock_shared()
        return "done"

    workers = [start(reader_then_writer) for _ in range(2)]
    wait_until(lambda: any(deadlock.check_deadlock()), what="the readers' deadlock")
    # Each waits for its own read lock too: once one gives up, the other is still
    # stuck on itself (a cycle of one), and is broken in turn.
    _break_all(workers, expect_errors=2)
    assert not raw.is_locked()


def test_once_running_thread_holds_it():
    once, m = Once(), Mutex(None)
    in_once, holding_m = threading.Event(), threading.Event()

    def initialiser():
        in_once.set()
        holding_m.wait(BOUND)
        with m.lock():
            pass

    def runner():
        try:
            once.call_once(initialiser)
            return "done"
        except deadlock.DeadlockError as exc:
            return exc

    def other():
        with m.lock():
            holding_m.set()
            in_once.wait(BOUND)
            try:
                once.call_once(lambda: None)
                return "done"
            except deadlock.DeadlockError as exc:
                return exc
            except Exception as exc:  # PoisonError once the runner gave up
                return exc

    workers = [start(runner), start(other)]
    _wait_for_cycle(2)
    deadline = time.monotonic() + BOUND
    while all(w.is_alive() for w in workers) and time.monotonic() < deadline:
        for cycle in deadlock.check_deadlock():
            deadlock.break_deadlock(cycle)
        time.sleep(0.005)
    results = [w.finish() for w in workers]
    assert any(isinstance(r, deadlock.DeadlockError) for r in results)


def test_no_false_positive_under_long_progressing_contention():
    a, b, cv = Mutex(0), Mutex(0), Condvar()
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            with a.lock() as ga:
                with b.lock() as gb:
                    ga.value += 1
                    gb.value += 1
                    cv.notify_all()
            with a.lock() as ga:
                cv.wait_for(ga, 0.0005)
            guard = a.try_lock_for(0.001)
            if guard is not None:
                guard.unlock()
        return True

    workers = [start(hammer) for _ in range(4)]
    deadline = time.monotonic() + 0.5
    checks = 0
    while time.monotonic() < deadline:
        assert deadlock.check_deadlock() == []
        checks += 1
    stop.set()
    assert all(w.finish() for w in workers)
    assert checks > 10
    with a.lock() as ga:
        assert ga.value > 0


def test_timed_waits_are_flagged_and_a_resolving_one_is_not_reported():
    a, b = Mutex(None), Mutex(None)
    ready = threading.Barrier(2)

    def timed_locker(first, second, timeout):
        def run():
            with first.lock():
                ready.wait(BOUND)
                guard = second.try_lock_for(timeout)
                if guard is not None:
                    guard.unlock()
                return guard is not None

        return run

    # A real cycle, one side timed: reported, flagged; it resolves by the timeout.
    workers = [start(timed_locker(a, b, 0.5)), start(_locker(b.lock, a.lock, ready))]
    (cycle,) = _wait_for_cycle(2)
    assert sorted(report.timed for report in cycle.threads) == [False, True]
    results = [w.finish() for w in workers]
    assert results[0] is False and results[1] == "done"
    assert deadlock.check_deadlock() == []

    # A timed wait that is simply waiting for a busy lock is no deadlock.
    held = threading.Event()
    release = threading.Event()
    holder = start(lambda: (a.lock(), held.set(), release.wait(BOUND), a.raw.unlock()))
    held.wait(BOUND)
    waiter = start(lambda: a.try_lock_for(BOUND) is not None and (a.raw.unlock() or True))
    wait_until(lambda: core.parked_count(id(a.raw)) == 1, what="the timed waiter")
    assert deadlock.check_deadlock() == []
    release.set()
    holder.finish()
    assert waiter.finish() is True


def test_detection_while_the_table_grows():
    a, b = Mutex(None), Mutex(None)
    ready = threading.Barrier(2)
    workers = [start(_locker(a.lock, b.lock, ready)), start(_locker(b.lock, a.lock, ready))]
    _wait_for_cycle(2)
    growths = core.statistics().table_growths
    events = [compat.Event() for _ in range(60)]
    sleepers = [start(event.wait, BOUND) for event in events]
    for _ in range(50):
        assert len(deadlock.check_deadlock()) == 1
    wait_until(lambda: core.statistics().table_growths > growths or core.statistics().buckets >= 3 * 62,
               what="the table to grow")
    assert len(deadlock.check_deadlock()) == 1
    for event in events:
        event.set()
    for sleeper in sleepers:
        assert sleeper.finish() is True
    _break_all(workers, expect_errors=1)


def test_background_detector_reports_once_and_can_break():
    reports: list[list[deadlock.Cycle]] = []
    a, b = Mutex(None), Mutex(None)
    ready = threading.Barrier(2)
    deadlock.start_detector(interval=0.02, on_deadlock=reports.append, break_cycles=True)
    try:
        workers = [start(_locker(a.lock, b.lock, ready)), start(_locker(b.lock, a.lock, ready))]
        results = [w.finish() for w in workers]
    finally:
        deadlock.stop_detector()
    assert sum(isinstance(r, deadlock.DeadlockError) for r in results) == 1
    assert len(reports) == 1 and len(reports[0]) == 1
    with pytest.raises(ValueError):
        deadlock.start_detector(interval=0)


def test_default_detector_logs_the_report(caplog):
    a, b = Mutex(None), Mutex(None)
    ready = threading.Barrier(2)
    with caplog.at_level("ERROR", logger="parking_lot.deadlock"):
        deadlock.start_detector(interval=0.02, break_cycles=True)
        try:
            workers = [start(_locker(a.lock, b.lock, ready)), start(_locker(b.lock, a.lock, ready))]
            for w in workers:
                w.finish()
        finally:
            deadlock.stop_detector()
    assert any("Deadlock: 2 thread(s)" in record.getMessage() for record in caplog.records)


def test_break_deadlock_rejects_a_thread_outside_the_cycle():
    a, b = Mutex(None), Mutex(None)
    ready = threading.Barrier(2)
    workers = [start(_locker(a.lock, b.lock, ready)), start(_locker(b.lock, a.lock, ready))]
    (cycle,) = _wait_for_cycle(2)
    with pytest.raises(ValueError):
        deadlock.break_deadlock(cycle, threading.get_ident())
    _break_all(workers, expect_errors=1)


def test_condvar_waiter_holds_nothing():
    m, cv = Mutex(False), Condvar()
    waiting = threading.Event()

    def waiter():
        with m.lock() as guard:
            waiting.set()
            cv.wait_while(guard, lambda ready: not ready, BOUND)
            return guard.value

    worker = start(waiter)
    waiting.wait(BOUND)
    with m.lock() as guard:
        wait_until(lambda: core.parked_count(id(cv)) == 1, what="the condvar waiter")
        assert deadlock.check_deadlock() == []
        guard.value = True
        cv.notify_one()  # requeued onto m, which we hold: still no cycle
        assert deadlock.check_deadlock() == []
    assert worker.finish() is True


def test_disable_restores_the_original_methods_and_costs_nothing_when_off():
    from parking_lot.mutex import MutexGuard

    deadlock.disable()
    original_lock, original_exit = Mutex.lock, MutexGuard.__exit__
    original_acquire = compat.Lock.acquire
    deadlock.enable()
    assert Mutex.lock is not original_lock and deadlock.is_enabled()
    deadlock.disable()
    assert Mutex.lock is original_lock and MutexGuard.__exit__ is original_exit
    assert compat.Lock.acquire is original_acquire and not deadlock.is_enabled()
    assert deadlock.check_deadlock() == []


def test_an_upgrade_waiting_for_a_busy_reader_is_no_deadlock():
    """The upgrader holds the lock (upgradable) and waits on the second key: not for itself."""
    rw = RwLock(0)
    reading, may_leave = threading.Event(), threading.Event()

    def reader():
        with rw.read():
            reading.set()
            may_leave.wait(BOUND)  # busy elsewhere (not parked in the lot)

    def upgrader():
        with rw.upgradable_read() as guard:
            with guard.upgrade() as writer:
                writer.value += 1
        return True

    worker = start(reader)
    reading.wait(BOUND)
    upgrading = start(upgrader)
    wait_until(lambda: core.parked_count(id(rw._raw) + 1) == 1, what="the upgrader to wait for the reader")
    for _ in range(20):
        assert deadlock.check_deadlock() == []
    may_leave.set()
    worker.finish()
    assert upgrading.finish() is True
    with rw.read() as guard:
        assert guard.value == 1


def test_a_thread_that_reads_then_asks_to_write_deadlocks_itself():
    raw = RawRwLock()

    def read_then_write():
        raw.lock_shared()
        try:
            raw.lock_exclusive()  # waits for the readers to leave: itself among them
        except deadlock.DeadlockError as exc:
            return exc
        finally:
            raw.unlock_shared()

    worker = start(read_then_write)
    (cycle,) = _wait_for_cycle(1)
    assert cycle.idents == {worker.ident}
    assert cycle.threads[0].waiting_for.key == id(raw)
    deadlock.break_deadlock(cycle)
    assert isinstance(worker.finish(), deadlock.DeadlockError)
    assert not raw.is_locked()


@pytest.mark.parametrize("value, enabled", [("1", True), ("true", True), ("0", False), ("", False)])
def test_environment_variable_enables_at_import(value, enabled):
    import os
    import sys

    env = dict(os.environ, PARKING_LOT_DEADLOCK_DETECTION=value)
    result = run_child(
        [sys.executable, "-c", "import parking_lot, sys; print(sys.modules['parking_lot.deadlock'].is_enabled() "
         "if 'parking_lot.deadlock' in sys.modules else False)"],
        capture_output=True, text=True, env=env, timeout=max(BOUND, 60),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(enabled)


def test_a_thread_that_ends_holding_a_lock_leaves_no_record():
    m = Mutex(None)
    worker = start(lambda: m.lock() and threading.get_ident())
    ident = worker.finish()
    wait_until(lambda: ident not in deadlock.ownership().held, what="the ended thread's records to go")
    assert m.is_locked()  # the lock itself stays locked, as it would without the detector
    m.raw.unlock()


def test_records_of_dropped_locks_do_not_pile_up():
    import gc

    before = len(deadlock._records.objects)
    for _ in range(200):
        mutex = Mutex(None)
        with mutex.lock():
            pass
    del mutex
    gc.collect()
    assert len(deadlock._records.objects) <= before + 1


def test_cancel_park_wakes_the_thread_even_if_its_timed_out_callback_raises():
    key = id(object())

    def timed_out(_key, _last):
        raise ValueError("callback failed")

    def parked():
        try:
            core.park(key, None, None, timed_out)
        except deadlock.DeadlockError as exc:
            return exc

    worker = start(parked)
    wait_until(lambda: core.parked_count(key) == 1, what="the thread to park")
    with pytest.raises(ValueError):
        core.cancel_park(worker.ident, deadlock.DeadlockError("cancelled"))
    assert isinstance(worker.finish(), deadlock.DeadlockError)
    assert core.parked_count(key) == 0
    assert core.cancel_park(worker.ident, deadlock.DeadlockError("again")) is False


def test_a_reader_waiting_for_the_upgradable_lock_another_thread_holds_waits_for_that_thread():
    """Once a known limit: the reader was reported waiting for itself (its own read hold)."""
    raw = RawRwLock()
    upgradable_held, may_leave = threading.Event(), threading.Event()

    def holder():
        raw.lock_upgradable()
        upgradable_held.set()
        may_leave.wait(BOUND)  # busy elsewhere (not parked in the lot)
        raw.unlock_upgradable()

    def reader():
        raw.lock_shared()
        raw.lock_upgradable()  # waits for the holder, which is running: no deadlock
        raw.unlock_upgradable()
        raw.unlock_shared()
        return True

    other = start(holder)
    upgradable_held.wait(BOUND)
    asking = start(reader)
    wait_until(lambda: core.parked_count(id(raw)) == 1, what="the reader to wait for the upgradable lock")
    for _ in range(20):
        assert deadlock.check_deadlock() == []
    may_leave.set()
    other.finish()
    assert asking.finish() is True and not raw.is_locked()


def test_a_reader_queued_behind_a_writer_that_waits_for_it_is_a_cycle_of_two():
    """A waiting writer keeps new readers out, so the reader waits for the writer, which waits for it."""
    raw = RawRwLock()
    reading = threading.Event()

    def reader():
        raw.lock_shared()
        reading.set()
        wait_until(lambda: core.parked_count(id(raw) + 1) == 1, what="the writer to wait for this reader")
        try:
            raw.lock_shared()  # not recursive: queues behind the writer
        except deadlock.DeadlockError as exc:
            return exc
        finally:
            raw.unlock_shared()
        raw.unlock_shared()
        return None

    def writer():
        reading.wait(BOUND)
        raw.lock_exclusive()
        raw.unlock_exclusive()
        return True

    first, second = start(reader), start(writer)
    (cycle,) = _wait_for_cycle(2)
    assert cycle.idents == {first.ident, second.ident}
    assert deadlock.break_deadlock(cycle, first.ident)
    assert isinstance(first.finish(), deadlock.DeadlockError)
    assert second.finish() is True and not raw.is_locked()


def test_asking_for_the_upgradable_lock_a_thread_holds_itself_deadlocks_it():
    raw = RawRwLock()

    def twice():
        raw.lock_upgradable()
        try:
            raw.lock_upgradable()
        except deadlock.DeadlockError as exc:
            return exc
        finally:
            raw.unlock_upgradable()

    worker = start(twice)
    (cycle,) = _wait_for_cycle(1)
    assert cycle.idents == {worker.ident}
    deadlock.break_deadlock(cycle)
    assert isinstance(worker.finish(), deadlock.DeadlockError)
    assert not raw.is_locked()


_IMPORTED_AFTER_ENABLE = """
import asyncio, sys, threading
from parking_lot import deadlock
deadlock.enable()
assert "parking_lot.aio" not in sys.modules  # (else this child tests nothing)
from parking_lot import aio  # declared while detection is on

lock = aio.Lock()
inside = []

def thread_side():
    for _ in range(3):
        assert lock.acquire_blocking(timeout=30)
        inside.append(dict(deadlock.ownership().held.get(threading.get_ident(), {})))
        lock.release()

async def task_side():
    for _ in range(3):
        async with lock:
            pass

worker = threading.Thread(target=thread_side)
worker.start()
worker.join(30)
asyncio.run(task_side())
wrapped = hasattr(aio.Lock.release, "__wrapped__")
deadlock.disable()
print(inside == [{id(lock): 1}] * 3, not any(deadlock.ownership().held.values()), wrapped,
      not hasattr(aio.Lock.release, "__wrapped__"))
"""


def test_a_lock_module_imported_after_enable_is_tracked_from_its_import():
    """``parking_lot.aio`` (not imported by the detector) imported after ``enable()``: its
    declarations apply at once, so a thread's ``acquire_blocking`` is held once and its
    ``release`` ends the hold (before, the release went unrecorded: every hold stayed, and a
    thread waiting for the lock again showed holding it, a false cycle); ``disable()`` puts the
    originals back."""
    import sys

    result = run_child([sys.executable, "-c", _IMPORTED_AFTER_ENABLE], capture_output=True, text=True,
                       timeout=max(BOUND, 60))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True"], result.stdout
