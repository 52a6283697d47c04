"""The portable parker: one lock object per park, used as a binary semaphore.

For every OS without a dedicated backend, and the reference the others are
tested against.  ``prepare_park`` allocates a fresh ``_thread.lock`` and takes
it; ``park`` blocks acquiring it a second time; the unparker's handle releases
it.  A fresh lock per park means a release that arrives late (the parked thread
already timed out and moved on) lands on a lock nobody waits on any more, so it
can never wake a later park by mistake.

The main thread waits in slices (``MAIN_THREAD_SLICE_NS``), as on every backend:
between two slices the interpreter runs its signal handlers, so Ctrl-C ends
the wait within a slice.  An acquire is interruptible by signals on POSIX, but
a signal that lands just before the wait begins is only seen when the wait
ends; on Windows the acquire is not interruptible at all, and on a
free-threaded 3.13 one SIGINT per park was slept through 96 times in 100
(measured before the slices).
"""

from __future__ import annotations

import _thread
import time

from ._base import NOOP_UNPARK_HANDLE, UnparkHandle, wait_slice_ns
from ._timeouts import lock_timeout_seconds

_allocate_lock = _thread.allocate_lock
_monotonic_ns = time.monotonic_ns


class _LockUnparkHandle:
    __slots__ = ("_lock",)

    def __init__(self, lock: _thread.LockType) -> None:
        self._lock = lock

    def unpark(self) -> None:
        self._lock.release()


class PortableParker:
    """ThreadParker on ``_thread`` locks; works wherever Python threads do."""

    __slots__ = ("_lock", "_parked", "_slice_ns")

    def __init__(self) -> None:
        self._lock = _allocate_lock()
        self._parked = False
        self._slice_ns = wait_slice_ns()

    def prepare_park(self) -> None:
        """Arm the parker for one park; called with the bucket lock held, makes no system call.

        The contract is :class:`parking_lot.thread_parker.ThreadParker`'s.
        """
        lock = _allocate_lock()
        lock.acquire()
        self._lock = lock
        self._parked = True

    def park(self) -> None:
        """Block until an :meth:`unpark_lock` handle wakes this thread (bucket lock not held).

        On the main thread the wait is cut into slices so that signal handlers run; an
        exception a handler raises (``KeyboardInterrupt``) propagates from here.
        """
        if self._slice_ns is None:
            self._lock.acquire()
            return
        while not self._lock.acquire(True, self._slice_ns / 1e9):
            pass  # a slice ended: signal handlers run between slices

    def park_until(self, deadline_ns: int) -> bool:
        """Block until unparked or until *deadline_ns* passes (bucket lock not held).

        A past deadline does not wait; it settles a wake-up an unparker has already
        committed to.  Signals as in :meth:`park`.

        Args:
            deadline_ns: a ``time.monotonic_ns()`` deadline (int, nanoseconds).

        Returns:
            True if unparked, False if the deadline passed first (never before it).
        """
        lock = self._lock
        while True:
            remaining = deadline_ns - _monotonic_ns()
            if remaining <= 0:
                return lock.acquire(False)
            if self._slice_ns is not None:
                remaining = min(remaining, self._slice_ns)
            # Rounded up, so the acquire never ends before the deadline; capped at what
            # acquire accepts (a capped wait ends early and the loop waits again).
            if lock.acquire(True, lock_timeout_seconds(remaining)):
                return True

    def timed_out(self) -> bool:
        """After :meth:`park_until` returned False: True if no unparker took this thread.

        Called with the bucket lock held; makes no system call.
        """
        return self._parked

    def unpark_lock(self) -> UnparkHandle:
        """Mark the parked thread unparked (bucket lock held; no system call).

        Returns:
            The handle whose ``unpark()`` wakes the thread: call it once, after the
            bucket lock is released.
        """
        if not self._parked:
            return NOOP_UNPARK_HANDLE
        self._parked = False
        return _LockUnparkHandle(self._lock)
