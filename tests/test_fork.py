"""fork and interpreter exit while a thread that will not run again holds one of the package's locks.

After ``os.fork()`` only the forking thread exists in the child; a lock another
thread held at that moment stays held there for ever.  So every lock the
package keeps per process is made anew in the child (DESIGN rule 4), and no
finaliser of the package blocks on a lock (a thread's records are finalised
inside ``os.fork()`` in the child, and at interpreter exit while frozen daemon
threads hold whatever they held).  Every child here runs every primitive and is
killed, failing the test, if it does not finish in time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import BOUND, ON_WINDOWS, run_child, start, subprocess_env
from parking_lot import (
    Barrier, BoundedSemaphore, Condition, Event, FairMutex, Lock, Mutex, Once, ReentrantMutex, RLock, RwLock,
    Semaphore, core, deadlock,
)
from parking_lot.condvar import Condvar
from parking_lot.raw import RawMutex, RawReentrantMutex, RawRwLock
from parking_lot.raw import mutex as raw_mutex
from parking_lot.thread_parker import keyed_event

pytestmark = pytest.mark.skipif(ON_WINDOWS or not hasattr(os, "fork"), reason="needs os.fork")

CHILD_BOUND = min(BOUND, 20.0)


def exercise_everything() -> None:
    """Every primitive, contended by a second thread where it has a slow path (run in the child)."""
    def joined(target: Callable[[], Any]) -> threading.Thread:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread

    def finish(thread: threading.Thread) -> None:
        thread.join(CHILD_BOUND)
        assert not thread.is_alive(), "a thread of the child hangs"

    for mutex in (Mutex(0), FairMutex(0)):
        guard = mutex.lock()
        other = joined(lambda m=mutex: m.lock().unlock())
        while core.parked_count(id(mutex.raw)) == 0 and other.is_alive():
            time.sleep(0.0005)
        guard.bump()
        guard.unlock()
        finish(other)
    raw = RawMutex()
    with raw:
        assert raw.try_lock_for(0.001) is False
    rw = RwLock({})
    with rw.read(), rw.read_recursive():
        pass
    with rw.upgradable_read() as upgradable:
        upgradable.upgrade().downgrade().unlock()
    with rw.write() as writer:
        writer.value["k"] = 1
    raw_rw = RawRwLock()
    raw_rw.lock_exclusive()
    raw_rw.bump_exclusive()
    raw_rw.unlock_exclusive()
    reentrant = ReentrantMutex(0)
    with reentrant.lock(), reentrant.lock():
        pass
    raw_reentrant = RawReentrantMutex()
    raw_reentrant.lock()
    raw_reentrant.unlock()
    # Condvar: the notifier holds the mutex, so the waiter is requeued (the condvar's fence).
    mutex, cv, ready = Mutex(False), Condvar(), threading.Event()

    def waiter() -> None:
        with mutex.lock() as guard:
            ready.set()
            assert not cv.wait_while(guard, lambda value: not value, CHILD_BOUND).timed_out

    thread = joined(waiter)
    ready.wait(CHILD_BOUND)
    while core.parked_count(id(cv)) == 0 and thread.is_alive():
        time.sleep(0.0005)
    with mutex.lock() as guard:
        guard.value = True
        cv.notify_all()
    finish(thread)
    once = Once()
    once.call_once(lambda: None)
    assert once.is_completed()
    lock, rlock = Lock(), RLock()
    with lock, rlock, rlock:
        pass
    condition = Condition(Lock())
    with condition:
        assert condition.wait(0.001) is False
    semaphore, bounded, event = Semaphore(1), BoundedSemaphore(1), Event()
    with semaphore, bounded:
        pass
    barrier = Barrier(2)
    thread = joined(lambda: barrier.wait(CHILD_BOUND))
    barrier.wait(CHILD_BOUND)
    finish(thread)
    thread = joined(lambda: event.wait(CHILD_BOUND))
    event.set()
    finish(thread)
    key = id(object())
    assert core.park(key, timeout=0.001) is core.TimedOut
    assert core.unpark_all(key) == 0
    with contextlib.suppress(Exception):  # parker creation (only Windows has keyed events to create)
        keyed_event.get_keyed_event()
    was_enabled = deadlock.is_enabled()
    deadlock.enable()
    assert deadlock.check_deadlock() == []
    with Mutex(0).lock():
        assert deadlock.ownership().held
    if not was_enabled:
        deadlock.disable()


def fork_and_check(child: Callable[[], None] = exercise_everything) -> None:
    """Fork here; the child runs *child*; fail if it raises or is not done in time (then kill it)."""
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's cleanup
        status = 1
        try:
            os.close(read_fd)
            child()
            os.write(write_fd, b"ok")
            status = 0
        except BaseException as exc:
            os.write(write_fd, repr(exc).encode()[:2000])
        finally:
            os._exit(status)
    os.close(write_fd)
    try:
        deadline = time.monotonic() + CHILD_BOUND
        while os.waitpid(pid, os.WNOHANG)[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"the fork child hung (killed after {CHILD_BOUND}s)")
            time.sleep(0.001)
        report = b""
        while chunk := os.read(read_fd, 4096):
            report += chunk
    finally:
        os.close(read_fd)
    assert report == b"ok", report.decode(errors="replace")


@contextlib.contextmanager
def held_by_another_thread(get_lock: Callable[[], Any]) -> Iterator[None]:
    """A thread takes the lock (having used a tracked lock first, so it has records) and keeps it."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Mutex(0).lock():
            pass
        with get_lock():
            taken.set()
            release.wait(BOUND)

    holder = start(hold, name="holder")
    assert taken.wait(BOUND)
    try:
        yield
    finally:
        release.set()
        holder.finish()


def _bucket_lock() -> Any:
    return core.state.table.bucket_for(id(Mutex)).lock


PROCESS_LOCKS: dict[str, Callable[[], Any]] = {
    "deadlock records": lambda: deadlock._records.lock,
    "deadlock enable/disable": lambda: deadlock._enable_lock,
    "condvar fence (raw mutex)": lambda: raw_mutex._fence,
    "keyed event creation": lambda: keyed_event._create_lock,
    "core live-thread set": lambda: core.state._threads_lock,
    "core bucket": _bucket_lock,
}


@pytest.fixture
def detection() -> Iterator[None]:
    deadlock.enable()
    yield
    deadlock.disable()


@pytest.mark.parametrize("name", sorted(PROCESS_LOCKS))
def test_fork_while_another_thread_holds_a_process_lock(name: str, detection: None) -> None:
    core.park(id(object()), timeout=0)  # the forking thread has its parking data (else the child has none)
    with held_by_another_thread(PROCESS_LOCKS[name]):
        fork_and_check()


def test_fork_with_detection_on_while_threads_lock_and_unlock() -> None:
    """The issue's input: two threads lock and unlock in a loop, the main thread forks (ten times)."""
    deadlock.enable()
    stop = threading.Event()

    def loop(mutex: Mutex[int]) -> int:
        rounds = 0
        while not stop.is_set():
            with mutex.lock() as guard:
                guard.value += 1
            rounds += 1
        return rounds

    workers = [start(loop, Mutex(0)) for _ in range(2)]
    try:
        for _ in range(10):
            fork_and_check()
    finally:
        stop.set()
        rounds = [worker.finish() for worker in workers]
        deadlock.disable()
    assert all(rounds)


def test_a_thread_that_survives_fork_keeps_its_records_and_the_others_go() -> None:
    deadlock.enable()
    try:
        mutex, other_mutex = Mutex(0), Mutex(0)
        other_holds, release = threading.Event(), threading.Event()

        def other() -> None:
            with other_mutex.lock():
                other_holds.set()
                release.wait(BOUND)

        worker = start(other)
        other_holds.wait(BOUND)
        me = threading.get_ident()
        with mutex.lock():
            def child() -> None:
                assert deadlock.ownership().held == {me: {id(mutex.raw): 1}}

            fork_and_check(child)
        release.set()
        worker.finish()
    finally:
        deadlock.disable()


EXIT_PROGRAM = """
import threading, time
from parking_lot import Mutex, deadlock
deadlock.enable()
def loop(mutex):
    while True:
        with mutex.lock():
            pass
for mutex in (Mutex(0), Mutex(0)):
    threading.Thread(target=loop, args=(mutex,), daemon=True).start()
deadline = time.monotonic() + 0.05
while time.monotonic() < deadline:
    with Mutex(0).lock():
        pass
print("exiting")
"""


def test_interpreter_exit_with_detection_on_while_daemon_threads_lock_and_unlock() -> None:
    """At exit the daemon threads freeze wherever they are, the detector's lock held or not."""
    for _ in range(3):
        try:
            result = run_child([sys.executable, "-c", EXIT_PROGRAM], capture_output=True, text=True,
                                    env=subprocess_env(), timeout=CHILD_BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the interpreter did not exit within {CHILD_BOUND}s")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "exiting" and "Exception ignored" not in result.stderr, result.stderr
