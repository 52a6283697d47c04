"""ReentrantMutex[T]: a data-owning reentrant mutex; its guards give read access to the value.

>>> from parking_lot.reentrant_mutex import ReentrantMutex
>>> m = ReentrantMutex({"a": 1})
>>> with m.lock() as outer:
...     with m.lock() as inner:   # the same thread may lock again
...         inner.value["a"]
1

As in Rust, the guard hands out the value but not a way to replace it (several
guards of one thread can be alive at once); mutate the value's contents.
"""

from __future__ import annotations

from types import TracebackType
from typing import Generic, TypeVar

from ._pending import PendingGuard
from .raw.reentrant import RawReentrantMutex

T = TypeVar("T")


class ReentrantMutexGuard(Generic[T]):
    """One lock of a :class:`ReentrantMutex`; unlocks once on ``with`` exit or ``unlock()``.

    >>> m = ReentrantMutex("v")
    >>> outer = m.lock(); inner = m.lock()
    >>> inner.unlock(); m.is_locked()
    True
    >>> outer.unlock(); m.is_locked()
    False
    """

    __slots__ = ("_mutex", "_held")

    def __init__(self, mutex: ReentrantMutex[T]) -> None:
        self._mutex = mutex
        self._held = True

    @property
    def value(self) -> T:
        """The protected value."""
        if not self._held:
            raise RuntimeError("this guard has been released; lock the mutex again")
        return self._mutex._value

    def unlock(self) -> None:
        """Release this lock (the mutex is free once every lock is released)."""
        if not self._held:
            raise RuntimeError("this guard has already been released")
        self._mutex._raw.unlock()
        self._held = False

    def unlock_fair(self) -> None:
        """Release this lock; if it was the last, hand the mutex to the longest waiter.

        RuntimeError if this guard has already been released.
        """
        if not self._held:
            raise RuntimeError("this guard has already been released")
        self._mutex._raw.unlock_fair()
        self._held = False

    def bump(self) -> None:
        """If this thread holds the mutex once, let the longest waiter have it, then lock again.

        With nested locks of this thread outstanding nothing can be let go and
        this returns at once (see :meth:`RawReentrantMutex.bump
        <parking_lot.raw.RawReentrantMutex.bump>`).  RuntimeError if this guard has
        been released.  If the relock is interrupted (Ctrl-C), the exception leaves
        with the mutex not held and this guard released.
        """
        if not self._held:
            raise RuntimeError("this guard has already been released")
        raw = self._mutex._raw
        owned = raw.is_owned_by_current_thread()
        try:
            raw.bump()
        except BaseException:
            # Interrupted (Ctrl-C) while letting go or taking the mutex back:
            # RawReentrantMutex.bump cleared the owner as it let go and has not set it
            # again, so this guard holds nothing now and its ``with`` must not unlock.
            if owned and not raw.is_owned_by_current_thread():
                self._held = False
            raise

    def __enter__(self) -> ReentrantMutexGuard[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._held:  # not if released inside the block (unlock(), or an interrupted bump())
            self.unlock()


class ReentrantMutex(Generic[T]):
    """A mutex that owns a value and that its owning thread may lock again.

    >>> m = ReentrantMutex([])
    >>> with m.lock() as outer:
    ...     with m.lock() as inner:       # the same thread: no deadlock
    ...         inner.value.append("nested")
    ...     outer.value
    ['nested']
    """

    __slots__ = ("_raw", "_value", "__weakref__")

    def __init__(self, value: T) -> None:
        self._raw = RawReentrantMutex()
        self._value = value

    def lock(self) -> ReentrantMutexGuard[T]:
        """Block until this thread (inside a task: this task) holds the mutex (once more); return a guard.

        RuntimeError if this thread runs an event loop and a task of that loop holds the mutex
        (the loop would hang; await :meth:`lock_async` instead).
        """
        self._raw.lock()
        return ReentrantMutexGuard(self)

    def try_lock(self) -> ReentrantMutexGuard[T] | None:
        """A guard if the mutex is free or already ours, else None."""
        return ReentrantMutexGuard(self) if self._raw.try_lock() else None

    def try_lock_for(self, timeout: float) -> ReentrantMutexGuard[T] | None:
        """A guard if the mutex could be had within *timeout* seconds, else None.

        ``inf`` (or any timeout too far away to matter) waits without one; TypeError or
        ValueError (negative, NaN) before anything changes, also for the owning thread.
        """
        return ReentrantMutexGuard(self) if self._raw.try_lock_for(timeout) else None

    def lock_async(self) -> PendingGuard[ReentrantMutexGuard[T]]:
        """The twin of :meth:`lock`: await it for a guard, or ``async with`` it.

        The owner is the calling task: it may lock again (across awaits too), while another
        task or thread waits.  Cancellation while waiting leaves the mutex not held by the task.
        See :mod:`parking_lot._pending` for the awaitable-and-``async with`` object returned.

        >>> import asyncio
        >>> m = ReentrantMutex([])
        >>> async def main():
        ...     async with m.lock_async() as outer:
        ...         async with m.lock_async() as inner:   # the same task: no deadlock
        ...             inner.value.append("nested")
        ...         return outer.value
        >>> asyncio.run(main())
        ['nested']
        """
        return PendingGuard(self._lock_guard_async)

    async def _lock_guard_async(self) -> ReentrantMutexGuard[T]:
        await self._raw.lock_async()
        return ReentrantMutexGuard(self)

    async def try_lock_for_async(self, timeout: float) -> ReentrantMutexGuard[T] | None:
        """The twin of :meth:`try_lock_for`: a guard if the mutex could be had within *timeout* seconds, else None.

        TypeError or ValueError (negative, NaN) before anything changes, also for the owning task.
        """
        return ReentrantMutexGuard(self) if await self._raw.try_lock_for_async(timeout) else None

    def is_locked(self) -> bool:
        """Whether any thread holds the mutex (a snapshot: it may change at once).

        Port of ``lock_api::ReentrantMutex::is_locked``.
        """
        return self._raw.is_locked()

    def is_owned_by_current_thread(self) -> bool:
        """Whether the calling thread holds the mutex (at any depth).

        Exact for the caller: only the caller can change the answer.  Port of
        ``lock_api::ReentrantMutex::is_owned_by_current_thread``.
        """
        return self._raw.is_owned_by_current_thread()

    def __repr__(self) -> str:
        return f"<ReentrantMutex {'locked' if self.is_locked() else 'unlocked'}>"


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# Everything goes through RawReentrantMutex's declared methods (the awaitable twins through its declared twins).

from .raw._tracking import TRANSPARENT, declare  # noqa: E402

declare(ReentrantMutex, **dict.fromkeys(
    ("lock", "try_lock", "try_lock_for", "is_locked", "is_owned_by_current_thread",
     "lock_async", "try_lock_for_async"), TRANSPARENT))
declare(ReentrantMutexGuard, **dict.fromkeys(("unlock", "unlock_fair", "bump", "__enter__", "__exit__"), TRANSPARENT))
