"""The portable parker: one interpreter lock per park, used as a binary semaphore.

For every OS without a dedicated backend, and the reference the others are
tested against.  ``prepare_park`` allocates a fresh ``_thread.lock`` and takes
it; ``park`` blocks acquiring it a second time; the unparker's handle releases
it.  A fresh lock per park means a release that arrives late (the parked thread
already timed out and moved on) lands on a lock nobody waits on any more, so it
can never wake a later park by mistake.

CPython's lock acquire is interruptible by signals on POSIX, so a parked main
thread wakes for Ctrl-C with the handler's exception.
"""

from __future__ import annotations

import _thread
import time

from ._base import NOOP_UNPARK_HANDLE, UnparkHandle

_allocate_lock = _thread.allocate_lock
_monotonic_ns = time.monotonic_ns
# The longest timeout threading's locks accept, in nanoseconds.
_MAX_WAIT_NS = int(_thread.TIMEOUT_MAX * 1_000_000_000)


class _LockUnparkHandle:
    __slots__ = ("_lock",)

    def __init__(self, lock: _thread.LockType) -> None:
        self._lock = lock

    def unpark(self) -> None:
        self._lock.release()


class PortableParker:
    """ThreadParker on ``_thread`` locks; works wherever Python threads do."""

    __slots__ = ("_lock", "_parked")

    def __init__(self) -> None:
        self._lock = _allocate_lock()
        self._parked = False

    def prepare_park(self) -> None:
        lock = _allocate_lock()
        lock.acquire()
        self._lock = lock
        self._parked = True

    def park(self) -> None:
        self._lock.acquire()

    def park_until(self, deadline_ns: int) -> bool:
        lock = self._lock
        while True:
            remaining = deadline_ns - _monotonic_ns()
            if remaining <= 0:
                return lock.acquire(False)
            # Round up so the acquire never ends before the deadline.
            seconds = min(remaining, _MAX_WAIT_NS) / 1e9 + 1e-9
            if lock.acquire(True, seconds):
                return True

    def timed_out(self) -> bool:
        return self._parked

    def unpark_lock(self) -> UnparkHandle:
        if not self._parked:
            return NOOP_UNPARK_HANDLE
        self._parked = False
        return _LockUnparkHandle(self._lock)
