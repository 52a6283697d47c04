"""Condvar: the port of parking_lot's ``condvar.rs`` (requeue instead of a thundering herd).

A Condvar is keyed on its own ``id()`` in the parking lot and remembers the raw
mutex its waiters use (``_mutex``, changed only under the condvar's bucket lock).

* ``wait``: under the condvar's bucket lock, ``validate`` records the mutex (or
  rejects a second one), the thread queues, ``before_sleep`` unlocks the mutex,
  the thread sleeps; afterwards it locks the mutex again, unless the mutex was
  handed to it directly (``TOKEN_HANDOFF``).
* ``notify_one``: ``unpark_requeue`` with both bucket locks held: if the mutex is
  locked, the waiter is *moved* onto the mutex's queue (it will wake when the
  mutex is released, already in line for it), else it is woken.
* ``notify_all``: everyone is moved onto the mutex's queue except, if the mutex
  is free, one thread that is woken to take it.  Nobody stampedes for the mutex.

The mutex's PARKED bit belongs to the mutex: the condvar sets it only through
the mutex's own entry points, ``_mark_parked_if_locked`` and ``_mark_parked``
(``raw_mutex.rs``'s names), called where ``unpark_requeue`` holds the mutex's
bucket lock, the lock under which raw/mutex.py lets PARKED change.

Asyncio tasks wait with ``wait_raw_async`` / ``wait_while_raw_async`` in the same queue,
with the same park callbacks (:class:`_Wait`): a notify from a thread or a task wakes or
requeues a task exactly as a thread, and a task requeued onto the mutex's queue is then
woken, or handed the mutex, by its unlock like a thread.  Afterwards the task locks the
mutex again with ``lock_async``.  A waiter interrupted after a notify reached it (a task's
cancellation, Ctrl-C in a thread) holds the mutex again, then passes the notify on
(``notify_one``) before the exception leaves, so no notification is lost with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

from parking_lot.core import (
    DEFAULT_PARK_TOKEN,
    Invalid,
    RequeueOp,
    Unparked,
    UnparkResult,
    deadline_ns,
    interrupted_result,
    park,
    park_async,
    unpark_requeue,
)

from .mutex import TOKEN_HANDOFF, TOKEN_NORMAL, RawMutex

_HANDED_OFF = Unparked(TOKEN_HANDOFF)
_deadline_ns = deadline_ns  # wait_raw's keyword argument of the same name hides the function there


class WaitTimeoutResult(NamedTuple):
    """What a timed wait returns: ``timed_out`` is True when no notification came in time.

    >>> from parking_lot.raw import RawMutex
    >>> m, cv = RawMutex(), Condvar()
    >>> with m:
    ...     cv.wait_raw(m, timeout=0.001).timed_out
    True
    """

    timed_out: bool


class Condvar:
    """A condition variable for :class:`~parking_lot.raw.RawMutex` (and the Mutex guards).

    >>> from parking_lot.raw import RawMutex
    >>> m, cv = RawMutex(), Condvar()
    >>> m.lock()
    >>> cv.wait_raw(m, timeout=0.01)
    WaitTimeoutResult(timed_out=True)
    >>> m.unlock()
    >>> cv.notify_one(), cv.notify_all()
    (False, 0)
    """

    __slots__ = ("_mutex", "_key", "__weakref__")

    def __init__(self) -> None:
        self._mutex: RawMutex | None = None
        self._key = id(self)

    # --- notify ----------------------------------------------------------------------

    def notify_one(self) -> bool:
        """Wake (or move to the mutex's queue) one waiter; True if there was one."""
        mutex = self._mutex
        if mutex is None:
            return False

        def validate() -> RequeueOp:
            if self._mutex is not mutex:
                return RequeueOp.Abort  # everyone left; a new waiter may use another mutex
            return RequeueOp.RequeueOne if mutex._mark_parked_if_locked() else RequeueOp.UnparkOne

        def callback(op: RequeueOp, result: UnparkResult) -> int:
            if not result.have_more_threads:
                self._mutex = None
            return TOKEN_NORMAL

        result = unpark_requeue(self._key, mutex._key, validate, callback)
        return result.unparked_threads + result.requeued_threads != 0

    def notify_all(self) -> int:
        """Wake one waiter (if the mutex is free) and move the rest to the mutex's queue.

        Returns how many threads were woken or moved.
        """
        mutex = self._mutex
        if mutex is None:
            return 0

        def validate() -> RequeueOp:
            if self._mutex is not mutex:
                return RequeueOp.Abort
            self._mutex = None
            return RequeueOp.RequeueAll if mutex._mark_parked_if_locked() else RequeueOp.UnparkOneRequeueRest

        def callback(op: RequeueOp, result: UnparkResult) -> int:
            if op is RequeueOp.UnparkOneRequeueRest and result.requeued_threads:
                mutex._mark_parked()  # the woken thread will find the others queued behind it
            return TOKEN_NORMAL

        result = unpark_requeue(self._key, mutex._key, validate, callback)
        return result.unparked_threads + result.requeued_threads

    # --- wait ------------------------------------------------------------------------

    def wait_raw(
        self,
        mutex: RawMutex,
        timeout: float | None = None,
        deadline: float | None = None,
        *,
        deadline_ns: int | None = None,
    ) -> WaitTimeoutResult:
        """Unlock *mutex* (held by this thread), sleep until notified or timed out, lock it again.

        There are no spurious wake-ups: ``timed_out`` is False only after a notify.
        The time is at most one of: *timeout*, seconds from now; *deadline*, a
        ``time.monotonic()`` value (seconds); *deadline_ns*, a ``time.monotonic_ns()``
        int (what :func:`parking_lot.core.deadline_ns` returns, for a caller that
        loops).  None for all three, or one too far away to matter (``inf``), waits
        without a timeout.  Raises TypeError or ValueError (a negative or NaN time)
        naming the argument, and RuntimeError for a second mutex, with *mutex* still held.
        """
        if deadline_ns is None:
            until_ns = _deadline_ns(timeout, deadline)  # checks them before anything changes
        elif timeout is not None or deadline is not None:
            raise TypeError("pass only one of timeout, deadline and deadline_ns")
        else:
            until_ns = deadline_ns
        wait = _Wait(self, mutex)
        result = None
        try:
            result = park(self._key, wait.validate, wait.before_sleep, wait.timed_out, DEFAULT_PARK_TOKEN, deadline_ns=until_ns)
        except BaseException as exc:
            # Interrupted (Ctrl-C): hold the mutex again before the exception leaves,
            # as the caller's `with` block expects to release it; pass a notify on.
            if wait.unlocked and interrupted_result(exc) != _HANDED_OFF:
                mutex.lock()
            wait.pass_notify_on(exc)
            raise
        if result is Invalid:  # validate refuses only a second mutex; ours is still held
            raise RuntimeError("a Condvar was used with two different mutexes at the same time")
        if result != _HANDED_OFF:
            mutex.lock()
        return WaitTimeoutResult(not (result.is_unparked or wait.requeued))

    async def wait_raw_async(
        self,
        mutex: RawMutex,
        timeout: float | None = None,
        deadline: float | None = None,
        *,
        deadline_ns: int | None = None,
    ) -> WaitTimeoutResult:
        """Unlock *mutex* (held by this task), await a notify or the time out, lock it again:
        the twin of :meth:`wait_raw`, same arguments, result and errors.

        The task waits in the queue threads use: a notify from any thread or task wakes it,
        or moves it onto the mutex's queue, where an unlock wakes it or hands it the mutex,
        as for a thread.  The mutex is locked again with :meth:`RawMutex.lock_async`,
        without blocking the loop.

        Cancelled (``task.cancel()``, ``asyncio.timeout()``, ``wait_for``) at any point, the
        task holds *mutex* again before ``CancelledError`` propagates (as :meth:`wait_raw`
        does for Ctrl-C), so the caller's ``with``/``async with`` block releases it as
        usual; a further cancellation during that re-lock is delivered once the mutex is
        held.  If a notify had already reached the task, it is passed on with
        :meth:`notify_one` (the sync path does the same for an exception after a notify):
        a cancelled waiter never swallows a notification another waiter is waiting for.
        Raises TypeError or ValueError for a bad time and RuntimeError for a second mutex
        (the mutex still held), RuntimeError when no event loop runs in this thread.

        >>> import asyncio
        >>> from parking_lot.raw import RawMutex
        >>> async def main():
        ...     m, cv = RawMutex(), Condvar()
        ...     await m.lock_async()
        ...     asyncio.get_running_loop().call_soon(cv.notify_one)
        ...     result = await cv.wait_raw_async(m, timeout=10)
        ...     held = m.is_locked(); m.unlock()
        ...     return result, held
        >>> asyncio.run(main())
        (WaitTimeoutResult(timed_out=False), True)
        """
        if deadline_ns is None:
            until_ns = _deadline_ns(timeout, deadline)  # checks them before anything changes
        elif timeout is not None or deadline is not None:
            raise TypeError("pass only one of timeout, deadline and deadline_ns")
        else:
            until_ns = deadline_ns
        wait = _Wait(self, mutex)
        result = None
        try:
            result = await park_async(
                self._key, wait.validate, wait.before_sleep, wait.timed_out, DEFAULT_PARK_TOKEN, deadline_ns=until_ns
            )
        except GeneratorExit:
            raise  # the coroutine is being closed outside its loop: nothing can be awaited
        except BaseException as exc:
            if wait.unlocked and interrupted_result(exc) != _HANDED_OFF:
                await _relock_uncancelled(mutex)
            wait.pass_notify_on(exc)
            raise
        if result is Invalid:
            raise RuntimeError("a Condvar was used with two different mutexes at the same time")
        if result != _HANDED_OFF and not mutex.try_lock():  # try first: no coroutine when it is free
            late = await _relock_uncancelled(mutex)
            if late is not None:  # cancelled while re-locking: notified all the same, so pass it on
                if result.is_unparked or wait.requeued:
                    self.notify_one()
                raise late
        return WaitTimeoutResult(not (result.is_unparked or wait.requeued))

    def wait_while_raw(
        self, mutex: RawMutex, predicate: Callable[[], bool], timeout: float | None = None
    ) -> WaitTimeoutResult:
        """Wait while ``predicate()`` is true (checked with *mutex* held); False once it is not.

        *timeout* is seconds for all the waits together (None, or too far away to
        matter: no limit); ``timed_out`` is True if it ran out with the predicate
        still true.  Raises TypeError or ValueError (negative, NaN) before anything changes.
        """
        until_ns = _deadline_ns(timeout, None)
        while predicate():
            if self.wait_raw(mutex, deadline_ns=until_ns).timed_out:
                return WaitTimeoutResult(bool(predicate()))
        return WaitTimeoutResult(False)

    async def wait_while_raw_async(
        self, mutex: RawMutex, predicate: Callable[[], bool], timeout: float | None = None
    ) -> WaitTimeoutResult:
        """Await while ``predicate()`` is true: the twin of :meth:`wait_while_raw`, same arguments,
        result and errors; each wait is :meth:`wait_raw_async` (cancellation as there)."""
        until_ns = _deadline_ns(timeout, None)
        while predicate():
            if (await self.wait_raw_async(mutex, deadline_ns=until_ns)).timed_out:
                return WaitTimeoutResult(bool(predicate()))
        return WaitTimeoutResult(False)

    def __repr__(self) -> str:
        return f"<Condvar {'with waiters' if self._mutex is not None else 'idle'} at {id(self):#x}>"



class _Wait:
    """One wait on a :class:`Condvar`: the park callbacks, defined once for threads and tasks."""

    __slots__ = ("_condvar", "_mutex", "requeued", "unlocked")

    def __init__(self, condvar: Condvar, mutex: RawMutex) -> None:
        self._condvar = condvar
        self._mutex = mutex
        #: The waiter left the queue by itself (timeout, interrupt) from the mutex's queue: a notify had moved it.
        self.requeued = False
        #: before_sleep let the mutex go.
        self.unlocked = False

    def validate(self) -> bool:
        """Under the condvar's bucket lock: record the mutex, or refuse a second one."""
        condvar = self._condvar
        current = condvar._mutex
        if current is None:
            condvar._mutex = self._mutex
        elif current is not self._mutex:
            return False
        return True

    def before_sleep(self) -> None:
        """Queued, no bucket lock held: let the mutex go."""
        self._mutex.unlock(); self.unlocked = True  # one-step: unlocked iff recorded

    def timed_out(self, key: int, was_last_thread: bool) -> None:
        """Under the bucket lock of the queue the waiter leaves (the condvar's, or the mutex's if requeued)."""
        condvar = self._condvar
        self.requeued = key != condvar._key
        if not self.requeued and was_last_thread:
            condvar._mutex = None

    def pass_notify_on(self, exc: BaseException) -> None:
        """After an interrupted wait, with the mutex held again: if a notify had reached this
        waiter (it was woken, handed the mutex, or moved to the mutex's queue), notify another."""
        ended = interrupted_result(exc)
        if isinstance(ended, Unparked) or (ended is not None and self.requeued):
            self._condvar.notify_one()


async def _relock_uncancelled(mutex: RawMutex) -> BaseException | None:
    """Lock *mutex* from a task, however often it is cancelled meanwhile; the first cancellation
    (to re-raise once the mutex is held) or None."""
    late: BaseException | None = None
    while True:
        try:
            await mutex.lock_async()
        except asyncio.CancelledError as exc:
            if late is None:
                late = exc
            continue
        return late


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# A waiting thread holds nothing (the mutex's unlock and lock are its own tracked calls); the
# "condvar wait" protocol adds the hand-over, where a notifier's unlock gives the mutex to the waiter.

from ._tracking import TRANSPARENT, declare, special  # noqa: E402

declare(_Wait, validate=TRANSPARENT, before_sleep=TRANSPARENT, timed_out=TRANSPARENT, pass_notify_on=TRANSPARENT)
declare(
    Condvar,
    wait_raw=special("condvar wait"), wait_while_raw=TRANSPARENT,
    # The awaitable twins: what a *task* holds is for the detector's task support to record
    # (not yet there), as for the locks' twins.
    wait_raw_async=TRANSPARENT, wait_while_raw_async=TRANSPARENT,
    notify_one=TRANSPARENT, notify_all=TRANSPARENT,
)
