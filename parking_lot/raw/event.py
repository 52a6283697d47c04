"""RawEvent: a flag threads park on until it is set (the protocol behind ``compat.Event``).

The flag is one attribute; threads wait by parking on the key with a ``validate``
that refuses once the flag is up.  ``set`` raises the flag *inside* the bucket
lock, in the same step that takes every parked thread off the queue (the callback
of ``unpark_filter``), so a waiter either validated before that step, and is
queued and woken by it, or sees the flag and does not sleep; and a thread that
parks after the step (the flag cleared meanwhile) is never woken by it.  Raising
the flag first and waking after, outside the lock, let a late wake-up reach a
waiter that began after the flag had been cleared again: its ``wait`` returned
True on a clear flag (``threading.Event`` makes the same two steps one, under its
condition's lock).  Setting twice wakes once: the first ``set`` wakes (or has
woken) everyone parked before.

Asyncio tasks wait with :meth:`RawEvent.wait_async` (the twin of ``wait``), in the same
queue as threads: ``set`` from a thread or a task wakes both.

Deadlines are ``time.monotonic_ns()`` ints (None: none), as everywhere in the raw layer.
"""

from __future__ import annotations

from parking_lot.core import FilterOp, Invalid, TimedOut, UnparkResult, park, park_async, unpark_filter


def _every(_token: int) -> FilterOp:
    """``unpark_filter``'s filter for ``set``: every parked thread is woken."""
    return FilterOp.Unpark


class RawEvent:
    """A flag with ``set``, ``clear`` and a ``wait`` that parks until it is set.

    >>> event = RawEvent()
    >>> event.wait(0)
    False
    >>> event.set(); event.wait(None)
    True

    Waiters park on ``id(self)``, or on the face's id (:meth:`_inside`).
    """

    __slots__ = ("_flag", "_key", "__weakref__")

    def __init__(self) -> None:
        self._flag = False
        self._key = id(self)

    @classmethod
    def _inside(cls, owner: object) -> RawEvent:
        """An event kept by a face object (``compat.Event``), parked on ``id(owner)``."""
        event = cls()
        event._key = id(owner)
        return event

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._flag

    def set(self) -> None:
        """Set the flag and wake every waiting thread."""
        if self._flag:
            return  # the set() that raised it wakes (or has woken) everyone parked before
        unpark_filter(self._key, _every, self._raise_flag)

    def _raise_flag(self, _result: UnparkResult) -> int:
        """``set``'s ``unpark_filter`` callback: under the bucket lock, with the parked threads
        chosen, one step for them and for any later waiter's validate (see the module docstring)."""
        self._flag = True
        return 0

    def clear(self) -> None:
        """Lower the flag."""
        self._flag = False

    def wait(self, until_ns: int | None) -> bool:
        """Park until the flag is set or the ``time.monotonic_ns()`` deadline *until_ns*
        passes (None: no deadline); return the flag (True also if set while waiting)."""
        if self._flag:
            return True
        result = park(self._key, self._unset, None, None, 0, deadline_ns=until_ns)
        if result is Invalid:
            return True  # set before we could queue
        if result is TimedOut:
            return self._flag
        return True

    async def wait_async(self, until_ns: int | None) -> bool:
        """Await until the flag is set or the ``time.monotonic_ns()`` deadline *until_ns* passes
        (None: no deadline): the twin of :meth:`wait`, same result, without blocking the loop.

        The task parks in the queue threads use; ``set`` from any thread or task wakes it.
        Cancelled while waiting, the task leaves the queue and ``CancelledError`` propagates
        (an event hands nothing over, so nothing is passed on).  Raises RuntimeError when no
        event loop runs in this thread.

        >>> import asyncio
        >>> async def main():
        ...     event = RawEvent()
        ...     asyncio.get_running_loop().call_soon(event.set)
        ...     return await event.wait_async(None)
        >>> asyncio.run(main())
        True
        """
        if self._flag:
            return True
        result = await park_async(self._key, self._unset, None, None, 0, deadline_ns=until_ns)
        if result is TimedOut:
            return self._flag
        return True  # woken by set(), or set before we could queue (Invalid)

    def _unset(self) -> bool:
        return not self._flag

    def __repr__(self) -> str:
        return f"<RawEvent {'set' if self._flag else 'unset'} at {id(self):#x}>"


# --- deadlock detection: no thread holds an event, so a wait on it is no edge (see raw/_tracking.py) ---

from ._tracking import ownerless  # noqa: E402

ownerless(RawEvent)
