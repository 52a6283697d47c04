"""threading's synchronisation classes, rebuilt on the parking lot.

``Lock``, ``RLock``, ``Condition``, ``Semaphore``, ``BoundedSemaphore``, ``Event``
and ``Barrier`` take the same arguments, return the same values and raise the
same exceptions as the running Python's ``threading`` classes of those names, so that

    import parking_lot.compat as threading   # for these names

changes speed and fairness, not behaviour.  ``Barrier`` raises
``threading.BrokenBarrierError`` itself, so existing ``except`` clauses still work.
What a Python version added or changed, the drop-ins follow on that version:
``RLock.locked()`` and ``Condition.locked()`` from 3.14 on; ``RLock()`` with
arguments ignores them (warning from 3.13 on) before 3.15 and is a TypeError from
3.15 on; ``Barrier(0)``'s message.  Reprs name the public path
(``<parking_lot.Event at 0x...: unset>``), as threading's name ``threading.Event``.

>>> from parking_lot.compat import Condition, Event, Lock, Semaphore
>>> lock = Lock()
>>> with lock:
...     lock.locked()
True
>>> lock.acquire(timeout=0.01), lock.acquire(False)
(True, False)
>>> lock.release()
>>> sem = Semaphore(2)
>>> sem.acquire(), sem.acquire(), sem.acquire(timeout=0.01)
(True, True, False)
>>> Event().wait(0.01)
False

What differs underneath:

* ``Lock`` is a face on a :class:`~parking_lot.raw.RawMutex` (spin, then park;
  eventual fairness), ``RLock`` an owner and a count on one.
* ``Condition`` on one of these locks waits on a :class:`~parking_lot.raw.Condvar`:
  ``notify_all`` wakes one waiter and *moves* the rest onto the lock's queue,
  so they take the lock one after another instead of stampeding.  With any
  other lock (``threading.Lock``/``RLock`` included) it parks its waiters on
  its own key and wakes them directly.
* ``Semaphore``, ``Event`` and ``Barrier`` are faces on
  :class:`~parking_lot.raw.RawSemaphore`, :class:`~parking_lot.raw.RawEvent` and
  :class:`~parking_lot.raw.RawBarrier`.  All park on their own ``id()``; none allocates a
  lock per wait, and a thread released by a ``Barrier`` or an ``Event`` does not
  have to take any lock again on its way out.
"""

from __future__ import annotations

import _thread
import asyncio
import sys
import threading
import time
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from .core import TimedOut, deadline_ns, park, parked_count, unpark_all, unpark_one
from .raw.barrier import BrokenBarrierError, RawBarrier
from .raw.condvar import Condvar
from .raw.event import RawEvent
from .raw.mutex import RawMutex
from .raw.reentrant import check_may_block, current_owner
from .raw.semaphore import RawSemaphore

__all__ = [
    "TIMEOUT_MAX",
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "Lock",
    "RLock",
    "Semaphore",
]

#: The largest timeout the waits accept, as ``threading.TIMEOUT_MAX``.
TIMEOUT_MAX: float = _thread.TIMEOUT_MAX

_get_ident = _thread.get_ident
_current_owner = current_owner  # an RLock's owner: the running task inside one, else the thread
_running_loop = asyncio._get_running_loop  # None outside a loop: the owner is the thread, at the cost of one C call
_monotonic = time.monotonic
_UNSET = -1
R = TypeVar("R")


def _repr_name(cls: type) -> str:
    """How a repr names *cls*: by its public path for this module's classes, as threading's do.

    ``threading.Event`` says ``<threading.Event at ...>``; ours says ``<parking_lot.Event
    at ...>`` (also importable as ``parking_lot.compat.Event``), which is the name users
    write and the one CPython's own lock tests expect (one word, a dot, the class).  A
    user's subclass is named by its own module, as threading does.
    """
    if cls.__module__ == __name__ and cls.__qualname__ in __all__:
        return f"parking_lot.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


# --- argument checks, worded as threading's ------------------------------------------


def _lock_deadline(timeout: float) -> int | None:
    """A checked blocking ``acquire`` timeout of Lock/RLock -> ``time.monotonic_ns()`` deadline.

    None: forever.  Only called once the fast path failed.
    """
    return None if timeout == _UNSET else deadline_ns(timeout, None)


def _check_lock_args(blocking: bool, timeout: float) -> None:
    if timeout != _UNSET:
        if not blocking:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0:
            raise ValueError("timeout value must be a non-negative number")
        if timeout != timeout:  # NaN
            raise ValueError("Invalid value NaN (not a number)")
        if timeout > TIMEOUT_MAX:
            raise OverflowError("timeout value is too large")


def _wait_deadline(timeout: float | None) -> int | None:
    """A wait's timeout in seconds (None: forever; > 0: that long) -> ``time.monotonic_ns()`` deadline.

    Callers handle <= 0.  OverflowError above TIMEOUT_MAX, as threading's waits.
    """
    if timeout is None:
        return None
    if timeout > TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return deadline_ns(timeout, None)


# --- Lock --------------------------------------------------------------------------------


class Lock:
    """``threading.Lock`` on the parking lot: any thread may release it.

    >>> lock = Lock()
    >>> lock.acquire()
    True
    >>> lock.acquire(blocking=False)
    False
    >>> lock.release(); lock.locked()
    False
    >>> lock.release()
    Traceback (most recent call last):
        ...
    RuntimeError: release unlocked lock

    Its state and protocol are a :class:`~parking_lot.raw.RawMutex` (``_raw``),
    which parks on ``id(lock)``; this face adds threading's names only, and
    inlines RawMutex's fast lock and unlock (the copies tests/test_raw_mutex.py
    checks against the definitions).
    """

    __slots__ = ("_raw", "_locked", "_key", "__weakref__")

    def __init__(self) -> None:
        raw = self._raw = RawMutex._inside(self)
        self._locked = raw._locked  # the LOCKED bit, for the inlined fast paths
        self._key = raw._key  # the parking key, id(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; with *blocking* false, only if it is free; give up after *timeout* seconds."""
        if timeout == -1:  # _UNSET, as a literal: the common call, checked in one comparison
            if self._locked.acquire(False):  # inlined: RawMutex.lock
                return True
        else:
            _check_lock_args(blocking, timeout)
            if self._locked.acquire(False):
                return True
        if not blocking or timeout == 0:
            return False
        return self._raw._lock_slow(_lock_deadline(timeout))

    async def acquire_async(self, blocking: bool = True, timeout: float = -1) -> bool:
        """The awaitable twin of :meth:`acquire` (same arguments, result and errors), for asyncio tasks.

        The task waits in the queue threads use, without blocking its loop; a thread or a
        task may release the lock to it.  Cancelled while waiting, ``CancelledError``
        propagates with the lock not taken by the task (a hand-over it had received is
        passed on).  Raises ValueError/OverflowError for bad arguments as :meth:`acquire`,
        RuntimeError when no event loop runs in this thread and the task has to wait.
        """
        if timeout != _UNSET:
            _check_lock_args(blocking, timeout)
        if self._locked.acquire(False):
            return True
        if not blocking or timeout == 0:
            return False
        return await self._raw._lock_slow_async(_lock_deadline(timeout))

    def release(self) -> None:
        """Release the lock (RuntimeError if it is not locked)."""
        raw = self._raw  # inlined: RawMutex.unlock, with threading's check
        if raw._parked:
            if not self._locked.locked():
                raise RuntimeError("release unlocked lock")
            raw._unlock_slow(False)
            return
        self._locked.release()  # raises RuntimeError("release unlocked lock") itself
        if raw._parked:  # a thread parked between the check and the release
            raw._wake_one()

    def locked(self) -> bool:
        """Whether the lock is held (a snapshot)."""
        return self._locked.locked()

    def __enter__(self) -> bool:
        if not self._locked.acquire(False):  # inlined: RawMutex.lock
            self._raw._lock_slow(None)
        return True

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        raw = self._raw  # inlined: RawMutex.unlock
        if raw._parked:
            raw._unlock_slow(False)
            return
        self._locked.release()
        if raw._parked:
            raw._wake_one()

    async def __aenter__(self) -> bool:
        """``async with lock:`` -- :meth:`acquire_async`, then :meth:`release` at the block's end."""
        if not self._locked.acquire(False):
            await self._raw._lock_slow_async(None)
        return True

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _at_fork_reinit(self) -> None:
        raw = self._raw
        raw._reset_after_fork()  # in place: a Condition on this lock keeps waiting on the same raw mutex
        self._locked = raw._locked

    def __repr__(self) -> str:
        state = "locked" if self._locked.locked() else "unlocked"
        return f"<{state} {_repr_name(type(self))} object at {id(self):#x}>"


# --- RLock -------------------------------------------------------------------------------


class RLock:
    """``threading.RLock`` on the parking lot: the owner may take it again; only the owner releases.

    The owner is the running asyncio task when taken inside one (``acquire_async``,
    ``async with``, or a plain ``acquire`` that does not have to wait), else the thread, as
    for :class:`~parking_lot.ReentrantMutex`: a task holds it across its awaits while other
    tasks of its loop wait.  A thread that runs an event loop and makes a *blocking*
    ``acquire`` on an RLock held by a task of that loop gets RuntimeError instead of
    hanging the loop.

    >>> lock = RLock()
    >>> with lock:
    ...     with lock:
    ...         lock._recursion_count()
    2
    >>> lock.release()
    Traceback (most recent call last):
        ...
    RuntimeError: cannot release un-acquired lock
    """

    __slots__ = ("_mutex", "_owner", "_count", "__weakref__")

    if sys.version_info >= (3, 15):

        def __init__(self) -> None:
            self._mutex = RawMutex()
            self._owner: object = None  # a thread's get_ident(), an asyncio task, or None
            self._count = 0

    else:

        def __init__(self, *args: object, **kwargs: object) -> None:
            # threading.RLock ignored arguments until 3.15 removed them (3.13 and 3.14 warn).
            if (args or kwargs) and sys.version_info >= (3, 13):
                warnings.warn(
                    "Passing arguments to RLock is deprecated and will be removed in 3.15",
                    DeprecationWarning,
                    stacklevel=2,
                )
            self._mutex = RawMutex()
            self._owner: object = None  # a thread's get_ident(), an asyncio task, or None
            self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (again, if this thread holds it); arguments as ``Lock.acquire``."""
        if timeout != _UNSET or not blocking:
            _check_lock_args(blocking, timeout)
        me = _get_ident() if _running_loop() is None else _current_owner()  # inlined: current_owner()
        if self._owner == me:
            self._count += 1
            return True
        mutex = self._mutex
        if not mutex._locked.acquire(False):  # inlined: RawMutex.lock
            if not blocking or timeout == 0:
                return False
            check_may_block(self._owner, "acquire")
            if not mutex._lock_slow(_lock_deadline(timeout)):
                return False
        self._owner = me; self._count = 1  # one-step: owner and count are set together, right after the mutex is taken
        return True

    def __enter__(self) -> bool:
        me = _get_ident() if _running_loop() is None else _current_owner()  # inlined: current_owner()
        if self._owner == me:
            self._count += 1
            return True
        mutex = self._mutex
        if not mutex._locked.acquire(False):  # inlined: RawMutex.lock
            check_may_block(self._owner, "acquire")
            mutex._lock_slow(None)
        self._owner = me; self._count = 1  # one-step: owner and count are set together, right after the mutex is taken
        return True

    async def acquire_async(self, blocking: bool = True, timeout: float = -1) -> bool:
        """The awaitable twin of :meth:`acquire`: the owner is the calling task (at once, counting
        one more acquire, if it holds the lock already).

        Same arguments, result and errors as :meth:`acquire`; the task waits in the queue
        threads use without blocking its loop.  Cancelled while waiting, ``CancelledError``
        propagates with the lock not taken (a hand-over is passed on).  RuntimeError when no
        event loop runs in this thread.
        """
        if timeout != _UNSET or not blocking:
            _check_lock_args(blocking, timeout)
        me = _get_ident() if _running_loop() is None else _current_owner()  # inlined: current_owner()
        if self._owner == me:
            self._count += 1
            return True
        mutex = self._mutex
        if not mutex._locked.acquire(False):
            if not blocking or timeout == 0 or not await mutex._lock_slow_async(_lock_deadline(timeout)):
                return False
        self._owner = me; self._count = 1  # one-step: owner and count are set together, right after the mutex is taken
        return True

    async def __aenter__(self) -> bool:
        """``async with rlock:`` -- :meth:`acquire_async`, then :meth:`release` at the block's end."""
        return await self.acquire_async()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def release(self) -> None:
        """Undo one acquire of this thread or task (RuntimeError if it does not hold it)."""
        if self._owner != (_get_ident() if _running_loop() is None else _current_owner()):  # inlined: current_owner()
            raise RuntimeError("cannot release un-acquired lock")
        count = self._count - 1
        if count:
            self._count = count
            return
        self._count = 0; self._owner = None  # one-step: owner and count are cleared together, just before the mutex is let go
        self._mutex.unlock()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # release(), inlined: this is half of every `with rlock:`.
        if self._owner != (_get_ident() if _running_loop() is None else _current_owner()):  # inlined: current_owner()
            raise RuntimeError("cannot release un-acquired lock")
        count = self._count - 1
        if count:
            self._count = count
            return
        self._count = 0; self._owner = None  # one-step: owner and count are cleared together, just before the mutex is let go
        self._mutex.unlock()

    if sys.version_info >= (3, 14):

        def locked(self) -> bool:
            """Whether any thread holds the lock (a snapshot; new in threading 3.14)."""
            return self._mutex.is_locked()

    # The hooks threading.Condition uses (so threading.Condition(RLock()) works too).

    def _is_owned(self) -> bool:
        return self._owner == _current_owner()

    def _recursion_count(self) -> int:
        return self._count if self._owner == _current_owner() else 0

    def _release_save(self) -> tuple[int, object]:
        if self._owner != _current_owner():
            raise RuntimeError("cannot release un-acquired lock")
        saved = (self._count, self._owner)
        self._count = 0; self._owner = None  # one-step: owner and count are cleared together, just before the mutex is let go
        self._mutex.unlock()
        return saved

    def _acquire_restore(self, saved: tuple[int, object]) -> None:
        self._mutex.lock()
        self._count, self._owner = saved

    def _at_fork_reinit(self) -> None:
        self._mutex = RawMutex()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        state = "locked" if self._mutex.is_locked() else "unlocked"
        return (
            f"<{state} {_repr_name(type(self))} object owner={self._owner or 0} "
            f"count={self._count} at {id(self):#x}>"
        )


# --- Condition ---------------------------------------------------------------------------


class Condition:
    """``threading.Condition`` on the parking lot (default lock: this module's RLock).

    >>> cond, items = Condition(), []
    >>> with cond:
    ...     cond.wait_for(lambda: items, timeout=0.01)
    []
    >>> with cond:
    ...     cond.wait(0.01)
    False
    >>> cond.notify()
    Traceback (most recent call last):
        ...
    RuntimeError: cannot notify on un-acquired lock
    """

    def __init__(self, lock: Any = None) -> None:
        if lock is None:
            lock = RLock()
        self._lock = lock
        self.acquire = lock.acquire
        self.release = lock.release
        if sys.version_info >= (3, 14):
            self.locked: Callable[[], bool] = lock.locked  # as threading's (AttributeError without it)
        self._cv = Condvar()
        # The raw mutex to wait on with requeue, when the lock is one of ours.
        self._raw: RawMutex | None
        if isinstance(lock, Lock):
            self._raw = lock._raw
        elif isinstance(lock, RLock):
            self._raw = lock._mutex
        else:
            self._raw = None
        self._key = self._cv._key  # foreign locks: waiters park here and are woken directly
        # How to tell whether the lock is held, chosen once: the lock's own _is_owned
        # (RLocks), our Lock's locked() (what threading's probe finds out), or the probe.
        self._owned: Callable[[], bool]
        if isinstance(lock, Lock):
            self._owned = lock._locked.locked
        elif hasattr(lock, "_is_owned"):
            self._owned = lock._is_owned
        else:
            self._owned = self._owned_by_probe

    def __enter__(self) -> bool:
        return bool(self._lock.__enter__())

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"<Condition({self._lock}, {parked_count(self._key)})>"

    def _is_owned(self) -> bool:
        return self._owned()

    def _release_save(self) -> Any:
        """Release the lock fully, returning what ``_acquire_restore`` needs (threading's hook)."""
        release_save = getattr(self._lock, "_release_save", None)
        if release_save is not None:
            return release_save()
        self._lock.release()
        return None

    def _acquire_restore(self, saved: Any) -> None:
        """Take the lock back as ``_release_save`` left it (threading's hook)."""
        acquire_restore = getattr(self._lock, "_acquire_restore", None)
        if acquire_restore is not None:
            acquire_restore(saved)
        else:
            self._lock.acquire()

    def _owned_by_probe(self) -> bool:
        # A plain lock: held by someone if it cannot be taken (threading's own test).
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, sleep until notified or *timeout* seconds pass, take the lock again.

        True if notified, False on timeout.
        """
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        if timeout is not None and timeout <= 0:
            return False  # threading releases, polls once and re-takes: nobody can notify meanwhile
        deadline = _wait_deadline(timeout)
        raw = self._raw
        if raw is None:
            return self._wait_foreign(deadline)
        lock = self._lock
        if not isinstance(lock, RLock):  # our Lock: its raw mutex is all there is to release
            return not self._cv.wait_raw(raw, deadline_ns=deadline).timed_out
        # Our RLock: hand the ownership over to the condvar wait, and take it back.
        saved = (lock._count, lock._owner)
        lock._count = 0; lock._owner = None  # one-step: owner and count are cleared together, and restored by the finally
        try:
            return not self._cv.wait_raw(raw, deadline_ns=deadline).timed_out
        finally:
            lock._count, lock._owner = saved

    async def wait_async(self, timeout: float | None = None) -> bool:
        """The awaitable twin of :meth:`wait`: release the lock, await a notify or *timeout*
        seconds, take the lock again; True if notified, False on timeout.

        For a Condition on this module's :class:`Lock` or :class:`RLock` (taken by
        ``acquire_async``, ``async with``, or plainly): the task waits in the queue threads use,
        and a thread or a task notifies it.  Cancelled while waiting, the task holds the lock
        again (with its RLock count) before ``CancelledError`` propagates, and a notify that
        had reached it is passed on to another waiter.

        Raises:
            RuntimeError: the lock is not held by this thread or task, or no event loop runs.
            TypeError: the Condition's lock is not one of this module's (a foreign lock cannot
                be taken again without blocking the loop).
            OverflowError, ValueError: a bad *timeout*, as :meth:`wait`.
        """
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        raw = self._raw
        if raw is None:
            raise TypeError("wait_async needs a Condition on parking_lot.compat.Lock or RLock, not " + type(self._lock).__name__)
        if timeout is not None and timeout <= 0:
            return False  # as wait(): nobody can notify while we hold the lock
        deadline = _wait_deadline(timeout)
        lock = self._lock
        if not isinstance(lock, RLock):
            return not (await self._cv.wait_raw_async(raw, deadline_ns=deadline)).timed_out
        saved = (lock._count, lock._owner)
        lock._count = 0; lock._owner = None  # one-step: owner and count are cleared together, and restored by the finally
        try:
            return not (await self._cv.wait_raw_async(raw, deadline_ns=deadline)).timed_out
        finally:
            lock._count, lock._owner = saved

    async def wait_for_async(self, predicate: Callable[[], R], timeout: float | None = None) -> R:
        """The awaitable twin of :meth:`wait_for`: await until ``predicate()`` is true (or *timeout*
        seconds pass); return its last value.  Errors and cancellation as :meth:`wait_async`."""
        result = predicate()
        if result or timeout is None:
            while not result:
                await self.wait_async()
                result = predicate()
            return result
        deadline = _monotonic() + timeout
        while not result:
            remaining = deadline - _monotonic()
            if remaining <= 0:
                break
            await self.wait_async(remaining)
            result = predicate()
        return result

    async def __aenter__(self) -> bool:
        """``async with cond:`` -- the lock's ``acquire_async``, released at the block's end.

        Raises TypeError if the lock is not one of this module's.
        """
        aenter = getattr(self._lock, "__aenter__", None)
        if aenter is None:
            raise TypeError("async with needs a Condition on parking_lot.compat.Lock or RLock, not " + type(self._lock).__name__)
        return bool(await aenter())

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.__exit__(exc_type, exc, tb)

    def _wait_foreign(self, deadline: int | None) -> bool:
        saved: list[Any] = []

        def before_sleep() -> None:
            # Queued first, released second: a notify needs the lock, so it finds us.
            saved.append(self._release_save())

        try:
            result = park(self._key, None, before_sleep, None, 0, deadline_ns=deadline)
        finally:
            if saved:
                self._acquire_restore(saved[0])
        return result is not TimedOut

    def wait_for(self, predicate: Callable[[], R], timeout: float | None = None) -> R:
        """Wait until ``predicate()`` is true (or *timeout* seconds pass); return its last value."""
        result = predicate()
        if result or timeout is None:
            while not result:
                self.wait()
                result = predicate()
            return result
        deadline = _monotonic() + timeout
        while not result:
            remaining = deadline - _monotonic()
            if remaining <= 0:
                break
            self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to *n* waiters (with our locks: move them onto the lock's queue)."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        if self._raw is not None:
            notify_one = self._cv.notify_one
            while n > 0 and notify_one():
                n -= 1
        else:
            key = self._key
            while n > 0 and unpark_one(key).unparked_threads:
                n -= 1

    def notify_all(self) -> None:
        """Wake every waiter (with our locks: one wakes, the rest queue on the lock)."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        if self._raw is not None:
            self._cv.notify_all()
        else:
            unpark_all(self._key)

    def notifyAll(self) -> None:  # noqa: N802 (threading's deprecated spelling)
        """Deprecated alias of :meth:`notify_all`, as in threading."""
        warnings.warn("notifyAll() is deprecated, use notify_all() instead", DeprecationWarning, stacklevel=2)
        self.notify_all()


# --- Semaphore ---------------------------------------------------------------------------


class Semaphore:
    """``threading.Semaphore``: a counter that ``acquire`` takes from and ``release`` adds to.

    >>> sem = Semaphore(1)
    >>> with sem:
    ...     sem.acquire(blocking=False)
    False
    >>> repr(sem).endswith(": value=1>")
    True

    A face on a :class:`~parking_lot.raw.RawSemaphore` (``_raw``, parked on ``id(sem)``).
    """

    __slots__ = ("_raw", "_key", "__weakref__")

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._raw = RawSemaphore._inside(self, value)
        self._key = self._raw._key  # the parking key, id(self)

    @property
    def _value(self) -> int:  # threading's name for the count
        return self._raw._value

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take one unit, waiting for one if *blocking* (at most *timeout* seconds); True if taken."""
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        raw = self._raw
        if raw.try_acquire():
            return True
        if not blocking:
            return False
        if timeout is not None and timeout <= 0:
            return raw.try_acquire()
        return raw.acquire(_wait_deadline(timeout))

    __enter__ = acquire

    async def acquire_async(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """The awaitable twin of :meth:`acquire` (same arguments, result and errors).

        The task waits in the queue threads use, without blocking its loop; a release from a
        thread or a task wakes it.  Cancelled while waiting, ``CancelledError`` propagates with
        no unit taken, and a wake-up it had received goes to the next waiter (no unit left
        unused).  RuntimeError when no event loop runs in this thread and the task has to wait.
        """
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        raw = self._raw
        if raw.try_acquire():
            return True
        if not blocking:
            return False
        if timeout is not None and timeout <= 0:
            return raw.try_acquire()
        return await raw.acquire_async(_wait_deadline(timeout))

    async def __aenter__(self) -> bool:
        """``async with sem:`` -- :meth:`acquire_async`, then :meth:`release` at the block's end."""
        return await self.acquire_async()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def release(self, n: int = 1) -> None:
        """Add *n* units, waking up to *n* waiting threads."""
        if n < 1:
            raise ValueError("n must be one or more")
        self._raw.release(n)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<{_repr_name(type(self))} at {id(self):#x}: value={self._value}>"


class BoundedSemaphore(Semaphore):
    """A Semaphore that refuses (ValueError) to be released above its initial value.

    >>> sem = BoundedSemaphore(1)
    >>> sem.release()
    Traceback (most recent call last):
        ...
    ValueError: Semaphore released too many times
    """

    __slots__ = ("_initial_value",)

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial_value = value

    def release(self, n: int = 1) -> None:
        """Add *n* units; ValueError, changing nothing, if that would pass the initial value."""
        if n < 1:
            raise ValueError("n must be one or more")
        self._raw.release(n, self._initial_value)

    def __repr__(self) -> str:
        return f"<{_repr_name(type(self))} at {id(self):#x}: value={self._value}/{self._initial_value}>"


# --- Event -------------------------------------------------------------------------------


class Event:
    """``threading.Event``: a flag threads can wait for.

    >>> event = Event()
    >>> event.is_set(), event.wait(0.01)
    (False, False)
    >>> event.set(); event.wait()
    True

    A face on a :class:`~parking_lot.raw.RawEvent` (``_raw``, parked on ``id(event)``).
    """

    __slots__ = ("_raw", "_key", "__weakref__")

    def __init__(self) -> None:
        self._raw = RawEvent._inside(self)
        self._key = self._raw._key  # the parking key, id(self)

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._raw._flag

    def isSet(self) -> bool:  # noqa: N802 (threading's deprecated spelling)
        """Deprecated alias of :meth:`is_set`, as in threading."""
        warnings.warn("isSet() is deprecated, use is_set() instead", DeprecationWarning, stacklevel=2)
        return self._raw._flag

    def set(self) -> None:
        """Set the flag and wake every waiting thread."""
        self._raw.set()

    def clear(self) -> None:
        """Lower the flag."""
        self._raw.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or *timeout* seconds pass; return the flag."""
        raw = self._raw
        if raw._flag:
            return True
        if timeout is not None and timeout <= 0:
            return raw._flag
        return raw.wait(_wait_deadline(timeout))

    async def wait_async(self, timeout: float | None = None) -> bool:
        """The awaitable twin of :meth:`wait`: await until the flag is set or *timeout* seconds
        pass; return the flag.  A ``set`` from a thread or a task wakes it; cancelled, the task
        leaves the queue.  RuntimeError when no event loop runs in this thread and it has to wait."""
        raw = self._raw
        if raw._flag:
            return True
        if timeout is not None and timeout <= 0:
            return raw._flag
        return await raw.wait_async(_wait_deadline(timeout))

    def _at_fork_reinit(self) -> None:
        pass  # no lock of its own; the parking lot resets itself after fork

    def __repr__(self) -> str:
        return f"<{_repr_name(type(self))} at {id(self):#x}: {'set' if self._raw._flag else 'unset'}>"


# --- Barrier -----------------------------------------------------------------------------


def _threading_no_parties_message() -> str:
    """What the running ``threading.Barrier(0)`` says: the wording changed in 3.13's patch releases
    (and 3.14); before 3.13 threading accepts 0 parties, and ours refuses with 3.13's first wording."""
    try:
        threading.Barrier(0)
    except ValueError as exc:
        return str(exc)
    return "parties must be > 0"


_NO_PARTIES_MESSAGE = _threading_no_parties_message()


class Barrier:
    """``threading.Barrier``: *parties* threads wait until all have arrived, then go on together.

    >>> barrier = Barrier(1, action=lambda: print("all here"))
    >>> barrier.wait()
    all here
    0
    >>> barrier.abort(); barrier.broken
    True

    A face on a :class:`~parking_lot.raw.RawBarrier` (``_raw``, parked on ``id(barrier)``).
    """

    def __init__(self, parties: int, action: Callable[[], object] | None = None, timeout: float | None = None) -> None:
        if parties < 1:
            raise ValueError(_NO_PARTIES_MESSAGE)
        self._raw = RawBarrier._inside(self, parties, action)
        self._timeout = timeout
        self._key = self._raw._key  # the parking key, id(self)

    @property
    def parties(self) -> int:
        """The number of threads that must arrive."""
        return self._raw._parties

    @property
    def n_waiting(self) -> int:
        """How many threads are waiting for the barrier now."""
        return self._raw.n_waiting

    @property
    def broken(self) -> bool:
        """Whether the barrier is broken (``reset()`` mends it)."""
        return self._raw._broken

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the others; return this thread's arrival index (0 .. parties-1).

        *timeout* is in seconds (None: the barrier's default timeout; <= 0: give up at
        once); a waiter that times out breaks the barrier.  The last to arrive runs the
        action.  Raises ``threading.BrokenBarrierError`` if the barrier is or becomes
        broken (abort, reset, a timeout, a raising action); OverflowError for a
        timeout above TIMEOUT_MAX and ValueError for NaN, as threading's waits do
        (the thread leaves the round first).
        """
        if timeout is None:
            timeout = self._timeout
        raw = self._raw
        current, index = raw._arrive()
        if index + 1 == raw._parties:
            return raw._pass(current, index)
        try:
            # After arriving, as threading checks a waiter's timeout: a bad one leaves the round.
            deadline = None if timeout is None else _barrier_deadline(timeout)
        except BaseException:
            raw._leave(current)
            raise
        return raw._await(current, index, deadline)

    async def wait_async(self, timeout: float | None = None) -> int:
        """The awaitable twin of :meth:`wait`: same arguments, result and errors.

        Threads and tasks count alike in a round; the last to arrive (thread or task) runs
        the action.  Cancelled while waiting, the task leaves the round (it no longer counts;
        the barrier is not broken) unless the round had ended, and ``CancelledError``
        propagates.  RuntimeError when no event loop runs in this thread.
        """
        if timeout is None:
            timeout = self._timeout
        raw = self._raw
        current, index = await raw._arrive_async()
        if index + 1 == raw._parties:
            return raw._pass(current, index)
        try:
            deadline = None if timeout is None else _barrier_deadline(timeout)
        except BaseException:
            raw._leave(current)
            raise
        return await raw._await_async(current, index, deadline)

    def abort(self) -> None:
        """Break the barrier: current and future waits raise BrokenBarrierError until ``reset()``."""
        self._raw.abort()

    def reset(self) -> None:
        """Return to the empty state; threads waiting now get BrokenBarrierError."""
        self._raw.reset()

    def __repr__(self) -> str:
        name = _repr_name(type(self))
        if self.broken:
            return f"<{name} at {id(self):#x}: broken>"
        return f"<{name} at {id(self):#x}: waiters={self.n_waiting}/{self.parties}>"


def _barrier_deadline(timeout: float) -> int | None:
    """A Barrier waiter's timeout -> ``time.monotonic_ns()`` deadline (<= 0: now)."""
    if timeout > TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return deadline_ns(max(timeout, 0.0), None)


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# Lock inlines its fast paths, so it declares its own methods (RawMutex's cover the rest).  RLock
# keeps owner and count itself: the "reentrant" protocol, as for RawReentrantMutex; threading's
# Condition takes all of an RLock's holds with _release_save and gives them back with _acquire_restore.

from .raw._tracking import TRANSPARENT, acquires, declare, forgets, own_key, ownerless, releases, special  # noqa: E402

declare(
    Lock,
    acquire=acquires(own_key, conditional=True), __enter__=acquires(own_key),
    release=releases(own_key, exclusive=True), __exit__=releases(own_key, exclusive=True),
    locked=TRANSPARENT, _at_fork_reinit=forgets(own_key),
    # The awaitable twins: what a *task* holds is for the detector's task support to record
    # (not yet there), as for RawMutex's twins.
    acquire_async=TRANSPARENT, __aenter__=TRANSPARENT, __aexit__=TRANSPARENT,
)


def _rlock_key(lock: RLock) -> int:
    return id(lock._mutex)


declare(
    RLock,
    acquire=special("reentrant acquires"), __enter__=special("reentrant acquires"),
    release=special("reentrant releases"), __exit__=special("reentrant releases"),
    _release_save=releases(_rlock_key, exclusive=True), _acquire_restore=acquires(_rlock_key),
    _at_fork_reinit=forgets(_rlock_key),
    acquire_async=TRANSPARENT, __aenter__=TRANSPARENT, __aexit__=TRANSPARENT,  # tasks: as Lock's twins
    **({"locked": TRANSPARENT} if "locked" in RLock.__dict__ else {}),  # (threading 3.14's)
)
declare(Condition, **dict.fromkeys(  # its lock's methods, and the Condvar's wait_raw
    ("__enter__", "__exit__", "wait", "wait_for", "notify", "notify_all", "notifyAll",
     "wait_async", "wait_for_async", "__aenter__", "__aexit__"), TRANSPARENT))
for _cls in (Semaphore, BoundedSemaphore, Event, Barrier):
    ownerless(_cls)
del _cls
