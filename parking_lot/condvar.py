"""Condvar for the data-owning mutexes: wait with the guard, as Rust's ``parking_lot::Condvar``.

>>> from parking_lot.mutex import Mutex
>>> from parking_lot.condvar import Condvar
>>> m, cv = Mutex(0), Condvar()
>>> with m.lock() as guard:
...     cv.wait_for(guard, 0.01)
WaitTimeoutResult(timed_out=True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .mutex import Mutex, MutexGuard  # noqa: F401  (Mutex: for the doctest)
from .raw.condvar import Condvar as RawCondvar
from .raw.condvar import WaitTimeoutResult

T = TypeVar("T")

__all__ = ["Condvar", "WaitTimeoutResult"]


class Condvar(RawCondvar):
    """A condition variable; its waits take the guard of a :class:`~parking_lot.mutex.Mutex`.

    ``notify_one()`` returns whether a waiter was there; ``notify_all()`` how many.
    ``notify_all`` wakes one waiter and moves the rest onto the mutex's queue, so
    they wake one by one as the mutex frees up instead of all fighting for it.
    
    >>> import threading
    >>> jobs, ready = Mutex([]), Condvar()
    >>> def worker():
    ...     with jobs.lock() as guard:
    ...         ready.wait_while(guard, lambda queue: not queue, timeout=10)
    ...         return guard.value.pop()
    >>> t = threading.Thread(target=worker); t.start()
    >>> with jobs.lock() as guard:
    ...     guard.value.append("job")
    ...     _ = ready.notify_one()
    >>> t.join(10); jobs.is_locked()
    False
    """

    __slots__ = ()

    def wait(self, guard: MutexGuard[Any]) -> None:
        """Release the guard's mutex, sleep until notified, and hold the mutex again.

        No spurious wake-ups: this returns only after a notify.  Port of
        ``Condvar::wait`` in parking_lot's ``src/condvar.rs``.

        Raises:
            RuntimeError: the guard has been released, or this condvar is in use
                with another mutex (the mutex stays held).
        """
        self._wait_guard(guard, None, None)

    def wait_for(self, guard: MutexGuard[Any], timeout: float) -> WaitTimeoutResult:
        """Like :meth:`wait`, giving up after *timeout* seconds (``timed_out`` says which).

        ``inf`` (or any timeout too far away to matter) waits without one.  Port of
        ``Condvar::wait_for`` in parking_lot's ``src/condvar.rs``.

        The errors below are raised before the mutex is released.

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
            RuntimeError: as :meth:`wait`.
        """
        return self._wait_guard(guard, timeout, None)

    def wait_until(self, guard: MutexGuard[Any], deadline: float) -> WaitTimeoutResult:
        """Like :meth:`wait`, giving up at the ``time.monotonic()`` *deadline* (seconds).

        Port of ``Condvar::wait_until`` in parking_lot's ``src/condvar.rs``.

        The errors below are raised before the mutex is released.

        Raises:
            TypeError: *deadline* is not a number.
            ValueError: *deadline* is NaN.
            RuntimeError: as :meth:`wait`.
        """
        return self._wait_guard(guard, None, deadline)

    def wait_while(
        self, guard: MutexGuard[T], predicate: Callable[[T], bool], timeout: float | None = None
    ) -> WaitTimeoutResult:
        """Wait while ``predicate(guard.value)`` is true; ``timed_out`` if it still is at the end.

        *timeout* is seconds for the whole wait (None or ``inf``: no limit).  Port of
        ``Condvar::wait_while_for`` in parking_lot's ``src/condvar.rs``.

        The TypeError and ValueError below come before the predicate runs; whatever *predicate*
        raises propagates, with the mutex held.

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
            RuntimeError: as :meth:`wait`.
        """
        guard._check()
        guard._detach()  # as in _wait_guard
        return self.wait_while_raw(guard._raw, lambda: predicate(guard._mutex._value), timeout)

    # --- awaitable twins (the twin of ``m`` is ``m_async``) ---------------------------------
    # The guard may come from ``lock()`` or ``lock_async()`` alike: a task and a thread may
    # wait on one Condvar with one Mutex, and notify each other.

    async def wait_async(self, guard: MutexGuard[Any]) -> None:
        """The awaitable twin of :meth:`wait`: release the guard's mutex, await a notify (without
        blocking the loop), hold the mutex again.

        Cancelled while waiting, the task holds the mutex again before ``CancelledError``
        propagates (the guard stays held, its block releases it); a notify that had already
        reached it is passed on to another waiter.  Port of ``Condvar::wait`` in
        parking_lot's ``src/condvar.rs``; see :meth:`~parking_lot.raw.Condvar.wait_raw_async`.

        >>> import asyncio
        >>> async def main():
        ...     m, cv = Mutex([]), Condvar()
        ...     async def consumer():
        ...         async with m.lock_async() as guard:
        ...             await cv.wait_while_async(guard, lambda queue: not queue, timeout=10)
        ...             return guard.value.pop()
        ...     task = asyncio.ensure_future(consumer())
        ...     await asyncio.sleep(0)
        ...     with m.lock() as guard:               # a thread's way works here too
        ...         guard.value.append("job")
        ...         _ = cv.notify_one()
        ...     return await task
        >>> asyncio.run(main())
        'job'

        Raises:
            RuntimeError: as :meth:`wait`, or no event loop runs in this thread.
        """
        await self._wait_guard_async(guard, None, None)

    async def wait_for_async(self, guard: MutexGuard[Any], timeout: float) -> WaitTimeoutResult:
        """The awaitable twin of :meth:`wait_for` (*timeout* in seconds; cancellation as :meth:`wait_async`).

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
            RuntimeError: as :meth:`wait_async`.
        """
        return await self._wait_guard_async(guard, timeout, None)

    async def wait_until_async(self, guard: MutexGuard[Any], deadline: float) -> WaitTimeoutResult:
        """The awaitable twin of :meth:`wait_until` (a ``time.monotonic()`` *deadline* in seconds).

        Raises:
            TypeError: *deadline* is not a number.
            ValueError: *deadline* is NaN.
            RuntimeError: as :meth:`wait_async`.
        """
        return await self._wait_guard_async(guard, None, deadline)

    async def wait_while_async(
        self, guard: MutexGuard[T], predicate: Callable[[T], bool], timeout: float | None = None
    ) -> WaitTimeoutResult:
        """The awaitable twin of :meth:`wait_while`: await while ``predicate(guard.value)`` is true.

        *timeout* is seconds for the whole wait (None or ``inf``: no limit).

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
            RuntimeError: as :meth:`wait_async`.
        """
        guard._check()
        guard._detach()
        return await self.wait_while_raw_async(guard._raw, lambda: predicate(guard._mutex._value), timeout)

    async def _wait_guard_async(
        self, guard: MutexGuard[Any], timeout: float | None, deadline: float | None
    ) -> WaitTimeoutResult:
        guard._check()
        guard._detach()  # as in _wait_guard
        return await self.wait_raw_async(guard._raw, timeout, deadline)

    def _wait_guard(self, guard: MutexGuard[Any], timeout: float | None, deadline: float | None) -> WaitTimeoutResult:
        guard._check()
        # The mutex is let go while the guard's block goes on: detached (see mutex.py), the
        # guard stays held throughout, as wait_raw holds the mutex again when it returns or raises.
        guard._detach()
        return self.wait_raw(guard._raw, timeout, deadline)


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# Every wait is RawCondvar.wait_raw on the guard's raw mutex.

from .raw._tracking import TRANSPARENT, declare  # noqa: E402

declare(Condvar, **dict.fromkeys(
    ("wait", "wait_for", "wait_until", "wait_while",
     "wait_async", "wait_for_async", "wait_until_async", "wait_while_async"), TRANSPARENT))
