"""asyncio drop-ins on the parking lot: ``from parking_lot import aio as locks`` instead of asyncio's.

:class:`Lock`, :class:`Event`, :class:`Condition`, :class:`Semaphore`,
:class:`BoundedSemaphore` and (from Python 3.11 on, as in asyncio) :class:`Barrier`
have the names, signatures, return values, exceptions, cancellation behaviour and
reprs of the *running* Python's ``asyncio`` classes (``Lib/asyncio/locks.py``), so
that code written for asyncio runs unchanged on them.  What changes is what they
are built on and what they can do besides:

* Waiting tasks park in the parking lot (:func:`parking_lot.core.park_async`), in
  the same FIFO queue as parked threads, on the raw primitives of
  :mod:`parking_lot.raw`: Lock on :class:`~parking_lot.raw.RawMutex`, Event on
  :class:`~parking_lot.raw.RawEvent`, Condition on :class:`~parking_lot.raw.Condvar`
  over the Lock's mutex, Barrier on :class:`~parking_lot.raw.RawBarrier`.
* ``Condition.notify``/``notify_all`` *requeue*: a notified task is moved onto the
  lock's queue and gets the lock handed to it when the notifier releases it, one
  after the other -- ``notify_all`` to N waiting tasks does not wake N tasks to
  fight for the lock (asyncio's wakes them all, and all but one go back to sleep).
* The objects are not bound to one event loop: tasks of several loops, and threads,
  may use the same object (asyncio raises RuntimeError for a second loop).
* Each class has a **thread face** on the same object.  The naming convention: the
  blocking twin of an awaitable method ``m`` is ``m_blocking``, with a *timeout* in
  seconds (None: wait for ever) and the result of ``threading``'s method of the
  same name (``acquire_blocking(timeout=None) -> bool``,
  ``wait_blocking(timeout=None) -> bool``, ``Condition.wait_for_blocking``,
  ``Barrier.wait_blocking(timeout=None) -> int``); methods that never wait
  (``release``, ``set``, ``notify``, ...) are the same for threads and tasks.
  (The library's other convention, the awaitable twin of a blocking ``m`` is
  ``m_async``, is the same rule read the other way: here asyncio's names come first.)
  A blocking method called from a thread that runs an event loop raises
  RuntimeError rather than block the loop (unless its timeout is 0: a try).

Semantics kept from asyncio, per primitive:

* Lock: FIFO -- ``release()`` hands the lock straight to the longest waiter (a fair
  unlock), so a task that calls ``acquire()`` meanwhile waits its turn; a waiter
  cancelled after the lock was handed to it passes it on.  (One visible difference:
  between such a release and the woken waiter's running, asyncio's ``locked()``
  says False, ours True -- the lock is the waiter's already.  A new ``acquire()``
  waits in both.)
* Semaphore: FIFO the same way -- ``release()`` hands the unit to the longest waiter;
  ``locked()`` is true while units are 0 or tasks wait (a waiter handed a unit counts
  until it runs, and then hands on every unit freed meanwhile: asyncio's rule from
  3.13; before, asyncio woke one more waiter at most, and ours hands on all there too).
* Condition: ``wait()`` gives the lock back even when cancelled (it re-acquires,
  then raises); a waiter notified and then cancelled passes the notification on to
  the next waiter (asyncio does so from 3.13; before, the wake-up was lost).
* Event: ``wait()`` returns True once the flag was set while it waited, even if it
  was cleared again before the task ran.

The loop parameter: on Python 3.10, passing ``loop=`` raises asyncio's TypeError
("As of 3.10, the *loop* parameter was removed ..."); from 3.11 it is an unknown
keyword, as in asyncio.

>>> import asyncio
>>> from parking_lot import aio
>>> async def main():
...     lock, cond, items = aio.Lock(), None, []
...     cond = aio.Condition(lock)
...     async def consumer():
...         async with cond:
...             await cond.wait_for(lambda: items)
...             return items.pop()
...     task = asyncio.ensure_future(consumer())
...     await asyncio.sleep(0)
...     async with cond:
...         items.append("hello")
...         cond.notify()
...     return await task
>>> asyncio.run(main())
'hello'
"""

from __future__ import annotations

import _thread
import asyncio
import sys
from time import monotonic_ns as _monotonic_ns
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, TypeVar

from ._pending import new_ready
from .core import (
    Invalid,
    TimedOut,
    Unparked,
    UnparkResult,
    deadline_ns,
    interrupted_result,
    park,
    park_async,
    parked_count,
    unpark_one,
)
from .raw import Condvar, RawEvent, RawMutex
from .raw.mutex import TOKEN_HANDOFF, TOKEN_NORMAL

_WOKEN = Unparked(TOKEN_NORMAL)

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]

R = TypeVar("R")

_HANDED_OFF = Unparked(TOKEN_HANDOFF)
_get_running_loop = asyncio.events._get_running_loop


def _refuse_on_loop_thread(method: str, timeout: float | None) -> None:
    """RuntimeError if this thread runs an event loop: a blocking wait would stop it."""
    if timeout != 0 and _get_running_loop() is not None:
        raise RuntimeError(
            f"{method}() would block the event loop running in this thread; await the asyncio method instead"
        )


def _repr(obj: object, extra: str, key: int, woken: int = 0) -> str:
    """asyncio's repr shape: ``<module.Class object at 0x... [extra, waiters:N]>``.

    N counts the tasks and threads parked on *key*, plus *woken* ones that have not run
    yet (asyncio's waiters stay in its deque until they run).
    """
    waiters = parked_count(key) + woken
    if waiters:
        extra = f"{extra}, waiters:{waiters}"
    return f"<{object.__repr__(obj)[1:-1]} [{extra}]>"  # as asyncio builds it (the address as the platform prints it)


if sys.version_info < (3, 11):
    #: What stands for "no loop argument" on 3.10 (asyncio's mixins._marker).
    _NO_LOOP: Any = object()

    def _refuse_loop(obj: object, loop: object) -> None:
        """asyncio 3.10's TypeError for the removed *loop* parameter."""
        if loop is not _NO_LOOP:
            raise TypeError(
                f"As of 3.10, the *loop* parameter was removed from "
                f"{type(obj).__name__}() since it is no longer necessary"
            )


# --- Lock --------------------------------------------------------------------------------


class Lock:
    """``asyncio.Lock`` on a :class:`~parking_lot.raw.RawMutex`, with a thread face.

    >>> import asyncio
    >>> lock = Lock()
    >>> async def main():
    ...     async with lock:
    ...         return lock.locked()
    >>> asyncio.run(main()), lock.locked()
    (True, False)
    >>> lock.acquire_blocking(timeout=0), lock.acquire_blocking(timeout=0)   # a thread's try
    (True, False)
    >>> lock.release(); lock.release()
    Traceback (most recent call last):
        ...
    RuntimeError: Lock is not acquired.

    Not owned: any task or thread may release it, as asyncio's.  Waiters park on
    ``id(lock)``.
    """

    __slots__ = ("_raw", "_locked", "_ready", "__weakref__")

    if sys.version_info < (3, 11):

        def __init__(self, *, loop: Any = _NO_LOOP) -> None:
            _refuse_loop(self, loop)
            self._setup()

    else:

        def __init__(self) -> None:
            self._setup()

    def _setup(self) -> None:
        raw = self._raw = RawMutex._inside(self)
        self._locked = raw._locked  # the LOCKED bit, for the inlined fast paths
        #: What every ``__aexit__`` returns for ``async with`` to await (complete with None).
        self._ready = new_ready()

    def locked(self) -> bool:
        """Return True if the lock is held (by any task or thread)."""
        return self._locked.locked()

    async def acquire(self) -> Literal[True]:
        """Wait until the lock is free and take it; return True.

        FIFO: a waiting task gets the lock before a task that asks later.  Cancelled
        while waiting, ``CancelledError`` propagates with the lock not taken (handed
        to us already, it is passed on to the next waiter).
        """
        if not self._locked.acquire(False):  # inlined: RawMutex.lock (the task's slow path)
            await self._raw._lock_slow_async(None)
        return True

    def release(self) -> None:
        """Release the lock, handing it to the longest waiter if any (task or thread).

        Raises RuntimeError('Lock is not acquired.') when it is not held.
        """
        raw = self._raw  # inlined: RawMutex.unlock_fair, with asyncio's check
        if raw._parked:
            if not self._locked.locked():
                raise RuntimeError("Lock is not acquired.")
            raw._unlock_slow(True)
            return
        try:
            self._locked.release()
        except RuntimeError:
            raise RuntimeError("Lock is not acquired.") from None
        if raw._parked:  # a waiter parked between the check and the release
            raw._wake_one()

    def acquire_blocking(self, timeout: float | None = None) -> bool:
        """Thread face: block until the lock is taken (True) or *timeout* seconds pass (False).

        *timeout* None waits for ever; 0 only tries.  Raises TypeError or ValueError
        (negative, NaN) for a bad timeout, and RuntimeError when called (with a
        timeout other than 0) from a thread running an event loop.
        """
        if timeout is not None:
            deadline_ns(timeout, None)  # checks it before anything changes
        raw = self._raw
        if raw.try_lock():
            return True
        _refuse_on_loop_thread("acquire_blocking", timeout)
        if timeout is None:
            raw.lock()
            return True
        return raw.try_lock_for(timeout)

    #: Whether this class's ``acquire`` is Lock's, which ``__aenter__`` then inlines.  asyncio's
    #: ``__aenter__`` calls ``self.acquire()``: so does ours when a subclass or a mixin overrides it.
    _inlines_acquire = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._inlines_acquire = cls.acquire is Lock.acquire

    async def __aenter__(self) -> None:
        # A coroutine, as asyncio's: nothing is taken until it runs (a caller may hand it to
        # create_task, or drop it).  __aexit__ is not one: releasing never waits.
        if self._inlines_acquire:
            if not self._locked.acquire(False):  # inlined: RawMutex.lock (the task's slow path)
                await self._raw._lock_slow_async(None)
        else:
            await self.acquire()

    def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Awaitable[None]:
        self.release()
        return self._ready

    def __repr__(self) -> str:
        return _repr(self, "locked" if self._locked.locked() else "unlocked", id(self))


# --- Event -------------------------------------------------------------------------------


class Event:
    """``asyncio.Event`` on a :class:`~parking_lot.raw.RawEvent`, with a thread face.

    >>> import asyncio
    >>> event = Event()
    >>> event.wait_blocking(timeout=0)
    False
    >>> async def main():
    ...     waiter = asyncio.ensure_future(event.wait())
    ...     await asyncio.sleep(0)
    ...     event.set()
    ...     return await waiter
    >>> asyncio.run(main()), event.is_set()
    (True, True)

    Waiters (tasks and threads) park on ``id(event)``; ``set()`` wakes them all.
    """

    __slots__ = ("_raw", "__weakref__")

    if sys.version_info < (3, 11):

        def __init__(self, *, loop: Any = _NO_LOOP) -> None:
            _refuse_loop(self, loop)
            self._raw = RawEvent._inside(self)

    else:

        def __init__(self) -> None:
            self._raw = RawEvent._inside(self)

    def is_set(self) -> bool:
        """Return True if and only if the flag is set."""
        return self._raw.is_set()

    def set(self) -> None:
        """Set the flag and wake every waiting task and thread."""
        self._raw.set()

    def clear(self) -> None:
        """Lower the flag: later waits wait until the next ``set()``."""
        self._raw.clear()

    async def wait(self) -> Literal[True]:
        """Wait until the flag is set; return True (also if it was cleared again since).

        Cancelled while waiting, the task leaves the queue and ``CancelledError`` propagates.
        """
        raw = self._raw
        if raw._flag:  # RawEvent.is_set, read in place: this is the hot path
            return True
        # inlined: RawEvent.wait_async(None) (one coroutine less per wait); without a deadline
        # the wait ends woken by set() or refused by validate (set before we could queue).
        await park_async(raw._key, raw._unset)
        return True

    def wait_blocking(self, timeout: float | None = None) -> bool:
        """Thread face: block until the flag is set or *timeout* seconds pass; return the flag.

        As ``threading.Event.wait``; True also if the flag was set while waiting and
        cleared since.  Raises TypeError/ValueError for a bad timeout, RuntimeError
        when called (with a timeout other than 0) from a thread running an event loop.
        """
        until_ns = None if timeout is None else deadline_ns(timeout, None)
        raw = self._raw
        if raw.is_set():
            return True
        _refuse_on_loop_thread("wait_blocking", timeout)
        return raw.wait(until_ns)

    def __repr__(self) -> str:
        return _repr(self, "set" if self._raw.is_set() else "unset", id(self))


# --- Condition ---------------------------------------------------------------------------


class Condition:
    """``asyncio.Condition`` on a :class:`~parking_lot.raw.Condvar` over a :class:`Lock`'s mutex.

    *lock* is a :class:`Lock` of this module (None: a new one); TypeError otherwise
    (requeueing needs the lock's raw mutex).  ``locked``, ``acquire``, ``release`` and
    ``acquire_blocking`` are the lock's own methods, as in asyncio.

    >>> import asyncio
    >>> cond = Condition()
    >>> async def main():
    ...     async with cond:
    ...         return await asyncio.wait_for(cond.wait_for(lambda: 42), 1)
    >>> asyncio.run(main())
    42
    >>> cond.notify()
    Traceback (most recent call last):
        ...
    RuntimeError: cannot notify on un-acquired lock

    ``notify``/``notify_all`` move the waiters onto the lock's queue (requeue): each
    gets the lock handed to it in turn as it is released.  Waiting tasks and threads
    park on the condvar's key, then on ``id(lock)``.
    """

    __slots__ = ("_lock", "_mutex", "_cv", "locked", "acquire", "release", "acquire_blocking", "__weakref__")

    if sys.version_info < (3, 11):

        def __init__(self, lock: Lock | None = None, *, loop: Any = _NO_LOOP) -> None:
            _refuse_loop(self, loop)
            self._setup(lock)

    else:

        def __init__(self, lock: Lock | None = None) -> None:
            self._setup(lock)

    def _setup(self, lock: Lock | None) -> None:
        if lock is None:
            lock = Lock()
        elif not isinstance(lock, Lock):
            raise TypeError(f"lock must be a parking_lot.aio.Lock, not {type(lock).__name__}")
        self._lock = lock
        self._mutex = lock._raw
        self._cv = Condvar()
        # The lock's methods, exported as asyncio does.
        self.locked: Callable[[], bool] = lock.locked
        self.acquire: Callable[[], Any] = lock.acquire
        self.release: Callable[[], None] = lock.release
        self.acquire_blocking: Callable[..., bool] = lock.acquire_blocking

    def __aenter__(self) -> Awaitable[None]:
        return self._lock.__aenter__()

    def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Awaitable[None]:
        return self._lock.__aexit__(exc_type, exc, tb)

    async def wait(self) -> Literal[True]:
        """Release the lock, wait until notified, take the lock back; return True.

        Raises RuntimeError('cannot wait on un-acquired lock') if the lock is free.
        Cancelled, the task still takes the lock back before ``CancelledError``
        propagates (as asyncio: the caller's ``async with`` releases it); if it had been
        notified, the notification goes to the next waiter instead of being lost.
        """
        mutex = self._mutex
        if not mutex.is_locked():
            raise RuntimeError("cannot wait on un-acquired lock")
        cv = self._cv
        attempt = _ConditionWait(cv, mutex)
        error: BaseException | None = None
        try:
            result = await park_async(cv._key, attempt.validate, attempt.before_sleep, attempt.timed_out)
        except BaseException as exc:
            ended = interrupted_result(exc)
            notified = attempt.requeued or (ended is not None and ended.is_unparked)
            holds_lock = not attempt.unlocked or ended == _HANDED_OFF
            error = exc
        else:
            if result is Invalid:  # validate refuses only another mutex: never for one Condition
                raise RuntimeError("a Condvar was used with two different mutexes at the same time")
            notified = True
            holds_lock = result == _HANDED_OFF
        # Take the lock back even when cancelled (as asyncio does), then raise the last cancellation.
        while not holds_lock:
            try:
                if not mutex.try_lock():
                    await mutex.lock_async()
                holds_lock = True
            except asyncio.CancelledError as exc:
                error = exc
        if error is not None:
            if notified:
                cv.notify_one()  # do not swallow the wake-up: the next waiter gets it
            try:
                raise error
            finally:
                error = None  # no reference cycle through the frame
        return True

    async def wait_for(self, predicate: Callable[[], R]) -> R:
        """Wait until ``predicate()`` is true (checked with the lock held); return its value."""
        result = predicate()
        while not result:
            await self.wait()
            result = predicate()
        return result

    def wait_blocking(self, timeout: float | None = None) -> bool:
        """Thread face: as ``threading.Condition.wait``: release the lock (held, taken with
        :meth:`acquire_blocking`), block until notified or *timeout* seconds pass, take the
        lock back; True if notified.

        Raises RuntimeError if the lock is free or (timeout other than 0) this thread
        runs an event loop; TypeError/ValueError for a bad timeout.
        """
        until_ns = None if timeout is None else deadline_ns(timeout, None)
        mutex = self._mutex
        if not mutex.is_locked():
            raise RuntimeError("cannot wait on un-acquired lock")
        if timeout == 0:
            return False  # as threading: nobody can notify while we hold the lock
        _refuse_on_loop_thread("wait_blocking", timeout)
        return not self._cv.wait_raw(mutex, deadline_ns=until_ns).timed_out

    def wait_for_blocking(self, predicate: Callable[[], R], timeout: float | None = None) -> R:
        """Thread face: as ``threading.Condition.wait_for``; *timeout* seconds for all the waits."""
        until_ns = None if timeout is None else deadline_ns(timeout, None)
        result = predicate()
        while not result:
            if until_ns is None:
                self.wait_blocking()
            else:
                left_ns = until_ns - _monotonic_ns()
                if left_ns <= 0:
                    break
                self.wait_blocking(left_ns / 1e9)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to *n* waiters: each is moved onto the lock's queue (the lock must be held).

        Raises RuntimeError('cannot notify on un-acquired lock') if the lock is free.
        """
        if not self._mutex.is_locked():
            raise RuntimeError("cannot notify on un-acquired lock")
        cv = self._cv
        if cv._mutex is None:  # nobody waits (Condvar.notify_one's own first check): leave the lot alone
            return
        notify_one = cv.notify_one
        while n > 0 and notify_one():
            n -= 1

    def notify_all(self) -> None:
        """Wake every waiter: all are moved onto the lock's queue (the lock must be held).

        Raises RuntimeError('cannot notify on un-acquired lock') if the lock is free.
        """
        if not self._mutex.is_locked():
            raise RuntimeError("cannot notify on un-acquired lock")
        self._cv.notify_all()

    def __repr__(self) -> str:
        return _repr(self, "locked" if self._mutex.is_locked() else "unlocked", self._cv._key)


# --- Semaphore ---------------------------------------------------------------------------


class Semaphore:
    """``asyncio.Semaphore`` on the parking lot, FIFO as asyncio's, with a thread face.

    >>> import asyncio
    >>> sem = Semaphore(2)
    >>> async def main():
    ...     async with sem:
    ...         await sem.acquire()
    ...         locked = sem.locked()
    ...         sem.release()
    ...     return locked
    >>> asyncio.run(main()), sem.acquire_blocking(timeout=0), repr(sem).endswith("[unlocked, value:1]>")
    (True, True, True)

    *value* is the starting count (ValueError if below 0, as asyncio).  The protocol is
    :class:`~parking_lot.raw.RawSemaphore`'s (the count ``_value`` changes under a
    small lock; ``_parked`` says waiters may be queued, written under the bucket lock
    of ``id(sem)``), with one addition that asyncio's FIFO rule needs and
    RawSemaphore lacks: ``release()`` *hands* the unit to the longest waiter (the
    unpark token ``TOKEN_HANDOFF``; the count does not go up), so a task or thread
    that asks meanwhile cannot take it first.  A waiter cancelled after a unit was
    handed to it releases the unit again (to the next waiter).

    As in asyncio, a waiter that was handed a unit still counts as waiting until it
    runs (``_handed``, under the small lock): meanwhile ``locked()`` is true and a new
    acquirer queues behind, even if another ``release()`` made a unit free; the
    waiter, when it runs, hands such a unit on (asyncio's "wake up as many as are
    allowed").
    """

    __slots__ = ("_value", "_state_lock", "_parked", "_handed", "_ready", "__weakref__")

    if sys.version_info < (3, 11):

        def __init__(self, value: int = 1, *, loop: Any = _NO_LOOP) -> None:
            _refuse_loop(self, loop)
            self._setup(value)

    else:

        def __init__(self, value: int = 1) -> None:
            self._setup(value)

    def _setup(self, value: int) -> None:
        if value < 0:
            raise ValueError("Semaphore initial value must be >= 0")
        self._value = value
        self._state_lock = _thread.allocate_lock()  # guards _value
        self._parked = False  # waiters may be queued on id(self): written under its bucket lock
        self._handed = 0  # waiters handed a unit that have not run yet: under _state_lock
        self._ready = new_ready()  # what __aexit__ returns (see Lock)

    def locked(self) -> bool:
        """Return True if the semaphore cannot be acquired at once (no unit, or waiters first)."""
        return self._value == 0 or self._parked or self._handed > 0

    def _try_acquire(self) -> bool:
        with self._state_lock:
            value = self._value
            if value > 0 and not self._handed:
                self._value = value - 1
                return True
            return False

    def _validate(self) -> bool:
        # Under the bucket lock: announce, then look (the state lock orders the two, as
        # RawSemaphore's handshake).  Not sleeping after all: PARKED as it was, so that
        # locked() does not report waiters that never queued.
        was_parked = self._parked
        self._parked = True
        with self._state_lock:
            if self._value == 0 or self._handed:
                return True
        self._parked = was_parked
        return False

    def _resumed_with_unit(self) -> None:
        """A waiter handed a unit runs (or is cancelled): it no longer counts as waiting.

        If units became free meanwhile and others wait, hand them on, one to each waiter
        in turn, while there are both (asyncio's "wake up as many as are allowed").
        ``_handed`` is written before ``_parked`` is read, with the small lock between:
        a waiter's validate either sees ``_handed`` at 0 (and takes a unit) or its
        PARKED is seen here.
        """
        with self._state_lock:
            self._handed -= 1
            more = self._value > 0
        while more and self._parked and self._hand_over():
            more = self._value > 0

    def _timed_out(self, _key: int, was_last_thread: bool) -> None:
        if was_last_thread:
            self._parked = False

    async def acquire(self) -> Literal[True]:
        """Take one unit, waiting (FIFO) while there is none or others wait first; return True.

        Cancelled while waiting, ``CancelledError`` propagates with no unit taken (one
        handed to us already goes to the next waiter).
        """
        if not self._parked:
            with self._state_lock:  # inlined: _try_acquire
                value = self._value
                if value > 0 and not self._handed:
                    self._value = value - 1
                    return True
        key = id(self)
        while True:
            try:
                result = await park_async(key, self._validate, None, self._timed_out)
            except BaseException as exc:
                ended = interrupted_result(exc)
                if ended == _HANDED_OFF:
                    self._resumed_with_unit()
                    self.release()  # the unit we were handed goes to the next waiter
                elif ended == _WOKEN:
                    self._hand_over()
                raise
            if result == _HANDED_OFF:
                self._resumed_with_unit()
                return True
            if self._try_acquire():
                return True

    def acquire_blocking(self, timeout: float | None = None) -> bool:
        """Thread face: take one unit, blocking up to *timeout* seconds (None: for ever); False
        if the time ran out first.

        Raises TypeError/ValueError for a bad timeout, RuntimeError when called (with a
        timeout other than 0) from a thread running an event loop.
        """
        until_ns = None if timeout is None else deadline_ns(timeout, None)
        if not self._parked and self._try_acquire():
            return True
        if timeout == 0:
            return False
        _refuse_on_loop_thread("acquire_blocking", timeout)
        key = id(self)
        while True:
            try:
                result = park(key, self._validate, None, self._timed_out, deadline_ns=until_ns)
            except BaseException as exc:  # Ctrl-C: as a task's cancellation
                ended = interrupted_result(exc)
                if ended == _HANDED_OFF:
                    self._resumed_with_unit()
                    self.release()
                elif ended == _WOKEN:
                    self._hand_over()
                raise
            if result == _HANDED_OFF:
                self._resumed_with_unit()
                return True
            if self._try_acquire():
                return True
            if result is TimedOut:
                return False

    def release(self) -> None:
        """Add one unit, handing it straight to the longest waiter (task or thread) if any."""
        with self._state_lock:
            self._value += 1
        if self._parked:
            self._hand_over()

    def _hand_over(self) -> bool:
        """Wake the longest waiter, giving it a unit of the count if there is one; True if it got one."""
        handed = [False]

        def callback(result: UnparkResult) -> int:
            self._parked = result.have_more_threads
            if result.unparked_threads:
                with self._state_lock:
                    if self._value > 0:
                        self._value -= 1
                        self._handed += 1
                        handed[0] = True
                        return TOKEN_HANDOFF
            return TOKEN_NORMAL  # the unit was taken meanwhile: the waiter looks again

        unpark_one(id(self), callback)
        return handed[0]

    #: Whether this class's ``acquire`` and ``release`` are Semaphore's, which ``__aenter__``
    #: and ``__aexit__`` then inline.  asyncio's call ``self.acquire()`` and ``self.release()``:
    #: so do ours when a subclass or a mixin overrides them.
    _inlines_acquire = True
    _inlines_release = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._inlines_acquire = cls.acquire is Semaphore.acquire
        cls._inlines_release = cls.release is Semaphore.release

    async def __aenter__(self) -> None:
        # A coroutine, as asyncio's: nothing is taken until it runs.  The value is None.
        if self._inlines_acquire and not self._parked:
            with self._state_lock:  # inlined: _try_acquire
                value = self._value
                if value > 0 and not self._handed:
                    self._value = value - 1
                    return
        await self.acquire()

    def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Awaitable[None]:
        # Not a coroutine: releasing never waits, so `async with` awaits _ready.
        if self._inlines_release:
            with self._state_lock:  # inlined: release
                self._value += 1
            if self._parked:
                self._hand_over()
        else:
            self.release()
        return self._ready

    def __repr__(self) -> str:
        return _repr(self, "locked" if self.locked() else f"unlocked, value:{self._value}", id(self), self._handed)


class BoundedSemaphore(Semaphore):
    """``asyncio.BoundedSemaphore``: a :class:`Semaphore` whose ``release`` may not pass the start value.

    >>> sem = BoundedSemaphore(1)
    >>> sem.release()
    Traceback (most recent call last):
        ...
    ValueError: BoundedSemaphore released too many times
    """

    __slots__ = ("_bound_value",)

    if sys.version_info < (3, 11):

        def __init__(self, value: int = 1, *, loop: Any = _NO_LOOP) -> None:
            _refuse_loop(self, loop)
            self._bound_value = value
            self._setup(value)

    else:

        def __init__(self, value: int = 1) -> None:
            self._bound_value = value
            self._setup(value)

    def release(self) -> None:
        """As :meth:`Semaphore.release`; ValueError, changing nothing, if the count would pass the start value."""
        with self._state_lock:
            if self._value >= self._bound_value:
                raise ValueError("BoundedSemaphore released too many times")
            self._value += 1
        if self._parked:
            self._hand_over()


# --- Barrier (asyncio has one from 3.11 on) ---------------------------------------------

if sys.version_info >= (3, 11):
    #: asyncio's own exception class, so ``except asyncio.BrokenBarrierError`` catches ours.
    BrokenBarrierError = asyncio.BrokenBarrierError

    def _parties_message() -> str:
        """The running asyncio's ValueError message for ``Barrier(0)`` (it changed in 3.13)."""
        try:
            asyncio.Barrier(0)
        except ValueError as exc:
            return str(exc)
        raise AssertionError("asyncio.Barrier(0) did not raise")  # pragma: no cover

    _PARTIES_MESSAGE = _parties_message()

    class Barrier:
        """``asyncio.Barrier`` on a :class:`Condition` of this module, with a thread face.

        >>> import asyncio
        >>> barrier = Barrier(2)
        >>> async def main():
        ...     return sorted(await asyncio.gather(barrier.wait(), barrier.wait()))
        >>> asyncio.run(main()), barrier.n_waiting, barrier.broken
        ([0, 1], 0, False)

        *parties* >= 1 tasks or threads call :meth:`wait` (or :meth:`wait_blocking`); all
        return together once the last has arrived.  asyncio's states, with its rules:

        ==============  ========================================================
        ``filling``     arrivals count in the round; the last one lets it pass
        ``draining``    the round passed: its waiters are leaving; new arrivals
                        wait until the last has left (then ``filling``)
        ``resetting``   ``reset()`` with waiters inside: they raise
                        BrokenBarrierError as they leave (then ``filling``)
        ``broken``      ``abort()`` (or a thread's timeout): every wait raises
                        BrokenBarrierError until ``reset()``
        ==============  ========================================================

        The state and count change only with the condition's lock held.  Waiters
        park on the condition, and a state change's ``notify_all`` moves them onto
        the lock's queue: they leave one by one, each handed the lock, not all at once.
        asyncio's ``Barrier`` is itself built on its Condition; this one has no
        draining phase in :class:`~parking_lot.raw.RawBarrier`'s rounds to build on,
        which asyncio's rules (and CPython's tests) need.
        """

        __slots__ = ("_cond", "_parties", "_state", "_count", "__weakref__")

        def __init__(self, parties: int) -> None:
            if parties < 1:
                raise ValueError(_PARTIES_MESSAGE)
            self._cond = Condition()  # notifies every change of state
            self._parties = parties
            self._state = "filling"
            self._count = 0  # tasks and threads inside wait()

        def __repr__(self) -> str:
            extra = self._state
            if not self.broken:
                extra += f", waiters:{self.n_waiting}/{self.parties}"
            return f"<{object.__repr__(self)[1:-1]} [{extra}]>"

        async def __aenter__(self) -> int:
            return await self.wait()

        async def __aexit__(self, *args: object) -> None:
            pass

        # --- the state machine, shared by the task face and the thread face (lock held) ---

        def _check_not_broken(self) -> None:
            if self._state == "broken":
                raise BrokenBarrierError("Barrier aborted")

        def _can_enter(self) -> bool:
            return self._state not in ("draining", "resetting")

        def _round_ended(self) -> bool:
            return self._state != "filling"

        def _arrive(self) -> tuple[int, bool]:
            """Count in; (index, whether this arrival lets the round pass)."""
            index = self._count
            self._count = index + 1
            if index + 1 == self._parties:
                self._state = "draining"
                self._cond.notify_all()
                return index, True
            return index, False

        def _check_passed(self) -> None:
            if self._state in ("broken", "resetting"):
                raise BrokenBarrierError("Abort or reset of barrier")

        def _leave(self) -> None:
            """Count out; the last to leave a drain or a reset refills the barrier."""
            self._count -= 1
            if self._count == 0:
                if self._state in ("resetting", "draining"):
                    self._state = "filling"
                self._cond.notify_all()

        def _reset(self) -> None:
            if self._count > 0:
                self._state = "resetting"  # the waiters inside raise as they leave
            else:
                self._state = "filling"
            self._cond.notify_all()

        def _abort(self) -> None:
            self._state = "broken"
            self._cond.notify_all()

        # --- task face ---

        async def wait(self) -> int:
            """Wait until *parties* tasks/threads have arrived; return this arrival's index (0 .. parties-1).

            Raises BrokenBarrierError (asyncio's class) if the barrier is broken, or is
            aborted or reset while waiting.  Cancelled while waiting, the task leaves
            (the count goes down) and ``CancelledError`` propagates.
            """
            cond = self._cond
            async with cond:
                await cond.wait_for(self._can_enter)  # while the barrier drains or resets
                self._check_not_broken()
                try:
                    index, last = self._arrive()
                    if not last:
                        await cond.wait_for(self._round_ended)
                        self._check_passed()
                    return index
                finally:
                    self._leave()

        async def reset(self) -> None:
            """Return to the empty, filling state; tasks and threads waiting now get BrokenBarrierError."""
            async with self._cond:
                self._reset()

        async def abort(self) -> None:
            """Break the barrier: current and later waits raise BrokenBarrierError until ``reset()``."""
            async with self._cond:
                self._abort()

        # --- thread face ---

        def wait_blocking(self, timeout: float | None = None) -> int:
            """Thread face: :meth:`wait`, blocking; *timeout* seconds (None: for ever) for the whole
            wait, after which the barrier breaks (as ``threading.Barrier``) and BrokenBarrierError
            is raised.

            Raises TypeError/ValueError for a bad timeout, RuntimeError when called from a
            thread running an event loop.
            """
            until_ns = None if timeout is None else deadline_ns(timeout, None)
            _refuse_on_loop_thread("wait_blocking", None)
            cond = self._cond
            if not cond.acquire_blocking(_left(until_ns)):
                raise BrokenBarrierError("Barrier wait timed out")
            try:
                if not cond.wait_for_blocking(self._can_enter, _left(until_ns)):
                    self._abort()
                    raise BrokenBarrierError("Barrier wait timed out")
                self._check_not_broken()
                try:
                    index, last = self._arrive()
                    if not last:
                        if not cond.wait_for_blocking(self._round_ended, _left(until_ns)):
                            self._abort()
                        self._check_passed()
                    return index
                finally:
                    self._leave()
            finally:
                cond.release()

        def reset_blocking(self) -> None:
            """Thread face of :meth:`reset` (it takes the condition's lock, blocking)."""
            _refuse_on_loop_thread("reset_blocking", None)
            self._cond.acquire_blocking()
            try:
                self._reset()
            finally:
                self._cond.release()

        def abort_blocking(self) -> None:
            """Thread face of :meth:`abort` (it takes the condition's lock, blocking)."""
            _refuse_on_loop_thread("abort_blocking", None)
            self._cond.acquire_blocking()
            try:
                self._abort()
            finally:
                self._cond.release()

        @property
        def parties(self) -> int:
            """The number of tasks/threads that must arrive for the barrier to pass."""
            return self._parties

        @property
        def n_waiting(self) -> int:
            """How many are waiting in the filling round (0 while it drains, resets or is broken)."""
            return self._count if self._state == "filling" else 0

        @property
        def broken(self) -> bool:
            """Whether the barrier is broken (``abort()``; ``reset()`` mends it)."""
            return self._state == "broken"

    __all__ += ["Barrier", "BrokenBarrierError"]


def _left(until_ns: int | None) -> float | None:
    """Seconds left until the ``time.monotonic_ns()`` deadline *until_ns* (None: no deadline; >= 0)."""
    if until_ns is None:
        return None
    return max(0, until_ns - _monotonic_ns()) / 1e9


class _ConditionWait:
    """One task's wait on a Condition's condvar: ``Condvar.wait_raw``'s park callbacks, with
    asyncio's release (a fair unlock), for :func:`~parking_lot.core.park_async` (the raw
    layer has no awaitable twin of ``wait_raw`` yet).  See raw/condvar.py for the protocol."""

    __slots__ = ("_cv", "_mutex", "unlocked", "requeued")

    def __init__(self, cv: Condvar, mutex: RawMutex) -> None:
        self._cv = cv
        self._mutex = mutex
        #: Whether before_sleep released the mutex (else the waiter still holds it).
        self.unlocked = False
        #: Whether the waiter left by itself from the mutex's queue: a notify had moved it there.
        self.requeued = False

    def validate(self) -> bool:
        """Under the condvar's bucket lock: record our mutex (False: the condvar uses another)."""
        cv = self._cv
        current = cv._mutex
        if current is None:
            cv._mutex = self._mutex
        elif current is not self._mutex:
            return False
        return True

    def before_sleep(self) -> None:
        """Queued: release the mutex, handing it to its longest waiter (asyncio's FIFO)."""
        self._mutex.unlock_fair(); self.unlocked = True  # one-step: the lock is released iff recorded

    def timed_out(self, key: int, was_last_thread: bool) -> None:
        """Under a bucket lock, the waiter leaving by itself (cancelled)."""
        cv = self._cv
        self.requeued = key != cv._key
        if not self.requeued and was_last_thread:
            cv._mutex = None


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# A thread holds the Lock between acquire_blocking and release; what a *task* holds is for the
# detector's task support to record (not yet there), as for the raw locks' awaitable twins.  The
# Condition's thread face waits through Condvar.wait_raw, which declares the hand-over itself.

from .raw._tracking import TRANSPARENT, acquires, declare, ownerless, releases  # noqa: E402


def _lock_key(lock: Lock) -> int:
    return id(lock)


declare(
    Lock,
    acquire_blocking=acquires(_lock_key, conditional=True), release=releases(_lock_key, exclusive=True),
    locked=TRANSPARENT, acquire=TRANSPARENT, __aenter__=TRANSPARENT, __aexit__=TRANSPARENT,
)
declare(_ConditionWait, validate=TRANSPARENT, before_sleep=TRANSPARENT, timed_out=TRANSPARENT)  # park callbacks
declare(Condition, **dict.fromkeys(
    ("__aenter__", "__aexit__", "wait", "wait_for", "wait_blocking", "wait_for_blocking", "notify", "notify_all"),
    TRANSPARENT))
for _cls in (Semaphore, BoundedSemaphore, Event):
    ownerless(_cls)
del _cls
if sys.version_info >= (3, 11):
    ownerless(Barrier)  # its condition's lock is taken and given back inside each call
