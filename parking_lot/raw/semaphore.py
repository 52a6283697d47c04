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

Deadlines are ``time.monotonic_ns()`` ints (None: none), as everywhere in the raw layer.
"""

from __future__ import annotations

import _thread

from parking_lot.core import TimedOut, UnparkResult, park, unpark_one


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
        *until_ns* passes (None: no deadline); False if it passed with no unit taken."""
        guard = self._state_lock

        def validate() -> bool:
            # Under the bucket lock: announce, then look (the guard is the barrier between).
            self._parked = True
            with guard:
                return self._value == 0

        def timed_out(_key: int, was_last_thread: bool) -> None:
            if was_last_thread:
                self._parked = False

        while True:
            if self.try_acquire():
                return True
            if park(self._key, validate, None, timed_out, 0, deadline_ns=until_ns) is TimedOut:
                return self.try_acquire()

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
