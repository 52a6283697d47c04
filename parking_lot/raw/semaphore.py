"""RawSemaphore: a counting semaphore on the parking lot (the protocol behind ``compat.Semaphore``).

The count (``_value``) changes only under a small lock object (``_state_lock``, the
compare-and-swap Python lacks).  PARKED (``_parked``) says threads are parked,
or about to park, on the key; like RawMutex's PARKED bit it is written only
under that key's bucket lock, and read without it only by ``release``:

* a waiter's ``validate`` (under the bucket lock) sets PARKED, *then* looks at the
  count under ``_state_lock`` and sleeps only if it is 0;
* ``release`` adds to the count under ``_state_lock``, *then* reads PARKED and wakes
  waiters only if it is set.

The acquire/release of ``_state_lock`` between each pair orders the store before the
load, so whichever of the two runs second sees the other's write: a waiter either
sees the new count and does not sleep, or ``release`` sees PARKED and wakes it.
PARKED goes back to ``have_more_threads`` with each wake-up, and to False when the
last waiter times out.

Asyncio tasks wait with :meth:`RawSemaphore.acquire_async` in the same queue, with the
same ``validate`` and ``timed_out`` (:meth:`RawSemaphore._announce`, :meth:`RawSemaphore._gave_up`).
A ``release`` wakes a waiter to retry rather than handing it a unit; a waiter woken that
way and then interrupted (a task's cancellation, Ctrl-C in a thread) before it retried
wakes the next waiter in its place, so a unit never sits unused while someone waits.

Deadlines are ``time.monotonic_ns()`` ints (None: none), as everywhere in the raw layer.
"""

from __future__ import annotations

import _thread

from parking_lot.core import TimedOut, Unparked, UnparkResult, interrupted_result, park, park_async, unpark_one


class RawSemaphore:
    """A count that ``try_acquire``/``acquire`` take one from and ``release`` adds to.

    >>> sem = RawSemaphore(1)
    >>> sem.try_acquire(), sem.try_acquire(), sem.value
    (True, False, 0)
    >>> sem.release(2); sem.value
    2

    *value* is the starting count (an int >= 0; the face checks it).  Waiters park
    on ``id(self)``, or on the face's id (:meth:`_inside`).
    """

    __slots__ = ("_value", "_state_lock", "_parked", "_key", "__weakref__")

    def __init__(self, value: int = 1) -> None:
        self._value = value
        self._state_lock = _thread.allocate_lock()  # guards _value
        self._parked = False  # threads may be parked on _key: written under its bucket lock
        self._key = id(self)

    @classmethod
    def _inside(cls, owner: object, value: int) -> RawSemaphore:
        """A semaphore kept by a face object (``compat.Semaphore``), parked on ``id(owner)``."""
        sem = cls(value)
        sem._key = id(owner)
        return sem

    @property
    def value(self) -> int:
        """The count now (a snapshot)."""
        return self._value

    def try_acquire(self) -> bool:
        """Take one unit if there is one; never blocks."""
        with self._state_lock:
            value = self._value
            if value:
                self._value = value - 1
                return True
            return False

    def acquire(self, until_ns: int | None) -> bool:
        """Take one unit, parking until there is one or the ``time.monotonic_ns()`` deadline
        *until_ns* passes (None: no deadline); False if it passed with no unit taken.

        Interrupted (Ctrl-C) after a ``release`` woke it, the thread wakes the next waiter
        in its place before the exception leaves.
        """
        while True:
            if self.try_acquire():
                return True
            try:
                result = park(self._key, self._announce, None, self._gave_up, 0, deadline_ns=until_ns)
            except BaseException as exc:
                self._interrupted(exc)
                raise
            if result is TimedOut:
                return self.try_acquire()

    async def acquire_async(self, until_ns: int | None) -> bool:
        """Await one unit: the twin of :meth:`acquire`, same deadline and result, without
        blocking the loop.

        The task parks in the queue threads use; a ``release`` from any thread or task wakes
        it.  Cancelled while waiting, it leaves the queue and ``CancelledError`` propagates
        with no unit taken; if a ``release`` had already woken it to take a unit, the next
        waiter is woken in its place (no unit is left unused while others wait).  Raises
        RuntimeError when no event loop runs in this thread.

        >>> import asyncio
        >>> async def main():
        ...     sem = RawSemaphore(0)
        ...     asyncio.get_running_loop().call_soon(sem.release)
        ...     return await sem.acquire_async(None), sem.value
        >>> asyncio.run(main())
        (True, 0)
        """
        while True:
            if self.try_acquire():
                return True
            try:
                result = await park_async(self._key, self._announce, None, self._gave_up, 0, deadline_ns=until_ns)
            except BaseException as exc:
                self._interrupted(exc)
                raise
            if result is TimedOut:
                return self.try_acquire()

    # The park callbacks, one definition for threads and tasks.

    def _announce(self) -> bool:
        """validate, under the bucket lock: announce PARKED, then look (the guard is the barrier
        between); sleep only if there is no unit."""
        self._parked = True
        with self._state_lock:
            return self._value == 0

    def _gave_up(self, _key: int, was_last_thread: bool) -> None:
        """timed_out, under the bucket lock: the last waiter leaving clears PARKED."""
        if was_last_thread:
            self._parked = False

    def _interrupted(self, exc: BaseException) -> None:
        """An exception out of a wait: if a release had woken us to retry, wake the next waiter."""
        if not isinstance(interrupted_result(exc), Unparked) or not self._parked:
            return
        with self._state_lock:
            left = self._value
        if left:  # else a unit went to someone who did not wait (it was not lost)
            self._wake(1)

    def release(self, n: int = 1, limit: int | None = None) -> None:
        """Add *n* units (an int >= 1), waking up to *n* parked threads.

        With *limit*, raise ValueError("Semaphore released too many times"), changing
        nothing, if the count would pass it (threading's BoundedSemaphore).
        """
        with self._state_lock:
            if limit is not None and self._value + n > limit:
                raise ValueError("Semaphore released too many times")
            self._value += n
        if self._parked:
            self._wake(n)

    def _wake(self, n: int) -> None:
        def callback(result: UnparkResult) -> int:
            self._parked = result.have_more_threads
            return 0

        key = self._key
        while n > 0 and unpark_one(key, callback).have_more_threads:
            n -= 1

    def __repr__(self) -> str:
        return f"<RawSemaphore value={self._value} at {id(self):#x}>"


# --- deadlock detection: no thread holds a semaphore, so a wait on it is no edge (see raw/_tracking.py) ---

from ._tracking import ownerless  # noqa: E402

ownerless(RawSemaphore)
