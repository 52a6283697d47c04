"""Threads not started by ``threading`` (``_thread.start_new_thread``, threads of C libraries).

``threading.current_thread()`` called on such a thread makes a ``threading._DummyThread``
and registers it in ``threading``'s table of live threads, where (before 3.12) it stays
after the thread has gone: ``threading.enumerate()`` lists it for ever and CPython's
own test helpers wait for it to leave.  ``threading.Lock`` never does that, so nothing
here may either: every blocking path of the library, run on a foreign thread, must leave
``threading.enumerate()`` as it was.  (Found by CPython 3.10's lock tests, whose
``threading_cleanup`` waited a second per test for the dummies our parkers made.)
"""

from __future__ import annotations

import _thread
import threading
from typing import Callable

import pytest

from conftest import BOUND, wait_until
from parking_lot import Mutex, RwLock, compat, deadlock, thread_parker
from parking_lot.condvar import Condvar

SHORT = 0.01


def _on_foreign_thread(body: Callable[[], None]) -> None:
    """Run *body* on a ``_thread`` thread; fail if, while that thread still runs, ``threading``
    has registered it (a ``_DummyThread``), or if *body* raised."""
    checked = threading.Event()
    finished: list[object] = []
    idents: list[int] = []

    def run() -> None:
        idents.append(threading.get_ident())
        try:
            body()
            finished.append(None)
        except BaseException as exc:  # reported by the test below
            finished.append(exc)
        checked.wait(BOUND)  # stay alive until the test has looked

    _thread.start_new_thread(run, ())
    try:
        wait_until(lambda: bool(finished), what="the foreign thread to run its body")
        registered = [t for t in threading.enumerate() if t.ident == idents[0]]
        assert registered == [], f"a foreign thread was registered with threading: {registered}"
        assert finished == [None], finished
    finally:
        checked.set()


def _parks_and_times_out() -> None:
    # Each of these parks the calling thread and times out.
    held = Mutex(0)
    guard = held.lock()
    rw = RwLock(0)
    wguard = rw.write()
    try:
        cv = Condvar()
        m = Mutex(0)
        with m.lock() as g:
            assert cv.wait_for(g, SHORT).timed_out
        assert compat.Event().wait(SHORT) is False
        assert compat.Semaphore(0).acquire(timeout=SHORT) is False
        lock = compat.Lock()
        lock.acquire()
        assert lock.acquire(timeout=SHORT) is False
        rlock = compat.RLock()
        assert rlock.acquire(timeout=SHORT) is True
        rlock.release()
        cond = compat.Condition()
        with cond:
            assert cond.wait(SHORT) is False
        with pytest.raises(threading.BrokenBarrierError):
            compat.Barrier(2).wait(SHORT)
        assert rw.try_read_for(SHORT) is None
    finally:
        wguard.unlock()
        guard.unlock()


@pytest.mark.parametrize("backend", thread_parker.available_backends())
def test_making_a_parker_registers_no_thread(backend: str) -> None:
    # Every backend's parker asks, when made, whether it belongs to the main thread.
    _on_foreign_thread(lambda: thread_parker.parker_class(backend)())


def test_blocking_paths_register_no_thread() -> None:
    _on_foreign_thread(_parks_and_times_out)


def test_blocking_paths_register_no_thread_with_deadlock_detection() -> None:
    deadlock.enable()
    try:
        _on_foreign_thread(_parks_and_times_out)
    finally:
        deadlock.disable()


def test_the_main_thread_still_waits_in_slices() -> None:
    # The check that replaced current_thread() still tells the main thread apart.
    from parking_lot.thread_parker._base import MAIN_THREAD_SLICE_NS, wait_slice_ns

    slices: list[int | None] = []
    if threading.current_thread() is threading.main_thread():
        assert wait_slice_ns() == MAIN_THREAD_SLICE_NS
    t = threading.Thread(target=lambda: slices.append(wait_slice_ns()))
    t.start()
    t.join(BOUND)
    assert slices == [None]
