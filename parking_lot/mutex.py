"""Mutex[T] and FairMutex[T]: data-owning mutexes with guards, as Rust's ``lock_api::Mutex``.

>>> from parking_lot.mutex import Mutex
>>> m = Mutex([])
>>> with m.lock() as guard:
...     guard.value.append(1)
>>> with m.lock() as guard:
...     guard.value
[1]

The guard is made once per mutex and handed out by every ``lock()`` (allocating
one per lock costs a third of the uncontended throughput).  It is valid from the
``lock()`` that returned it until its release; touching it after that raises
RuntimeError.  Because the object is reused, a stale guard from an earlier
``lock()`` released by leaving its ``with`` block is only caught while the mutex is
not locked again.

A guard that lets the mutex go while its ``with`` block goes on (``unlock()``,
``unlock_fair()``, ``bump()``, ``unlocked()``, a Condvar wait) first gives the
mutex a new guard object for other ``lock()`` calls, so that no other thread's
lock can ever be released through it: the block's exit releases the mutex only if
this guard holds it then, and leaves a guard released inside the block alone.

>>> m = Mutex(0)
>>> with m.lock() as guard:
...     guard.unlock()        # released early: leaving the block does nothing more
>>> m.is_locked()
False
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Generator, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._pending import READY, PendingGuard, _used_twice, new_ready
from .raw.mutex import RawFairMutex, RawMutex

T = TypeVar("T")


class MutexGuard(Generic[T]):
    """Access to a :class:`Mutex`'s value while the mutex is held; a context manager that unlocks.

    >>> m = Mutex([1])
    >>> guard = m.lock()
    >>> guard.value.append(2); guard.value
    [1, 2]
    >>> guard.unlock()
    >>> guard.value
    Traceback (most recent call last):
        ...
    RuntimeError: this guard's mutex has been unlocked; lock it again to get a new guard
    """

    __slots__ = ("_mutex", "_raw", "_locked", "_held", "_ready", "_exited")

    def __init__(self, mutex: Mutex[T]) -> None:
        self._mutex = mutex
        self._raw = mutex._raw
        self._locked = mutex._raw._locked  # the raw mutex's LOCKED bit (see raw/mutex.py)
        self._held = False
        #: For ``async with m.lock_async()``, made on first use: a done future giving this
        #: guard (on 3.10, 3.11 and 3.15 the cheapest awaitable with a value, see _done), and
        #: the guard's own new_ready() its exit returns.
        self._ready: asyncio.Future[MutexGuard[T]] | None = None
        self._exited: Awaitable[None] | None = None

    def _check(self) -> None:
        if not self._held:
            raise RuntimeError("this guard's mutex has been unlocked; lock it again to get a new guard")

    @property
    def value(self) -> T:
        """The protected value (readable and assignable while the guard is held)."""
        if not self._held:
            self._check()
        return self._mutex._value

    @value.setter
    def value(self, new_value: T) -> None:
        if not self._held:
            self._check()
        self._mutex._value = new_value

    def __enter__(self) -> MutexGuard[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._held:
            # Released inside the block (unlock(), unlock_fair(), or a bump() or
            # unlocked() whose relock was interrupted).  Such a guard was detached
            # first, so no other thread's lock() can have made it held again.
            return
        # inlined: RawMutex.unlock (this is half of every `with m.lock():`)
        self._held = False
        raw = self._raw
        if raw._parked:
            raw._unlock_slow(raw._always_fair)
            return
        self._locked.release()
        if raw._parked:  # a thread parked between the check and the release
            raw._wake_one()

    def _detach(self) -> None:
        """Give the mutex a new guard for its next ``lock()`` calls (call with the mutex held).

        Before this guard lets the mutex go while its ``with`` block goes on: from
        then on only this block's thread ever sets or reads its ``_held``, so the
        block's exit can trust it.  The mutex is held, so no ``lock()`` is between
        taking the LOCKED bit and reading ``Mutex._guard``.
        """
        mutex = self._mutex
        mutex._guard = MutexGuard(mutex)

    def unlock(self) -> None:
        """Release the mutex now; leaving the ``with`` block then does nothing more.

        Raises:
            RuntimeError: the guard has been released already.
        """
        self._check()
        self._detach()
        self._held = False
        self._raw.unlock()

    def unlock_fair(self) -> None:
        """Release the mutex, handing it to the longest waiter if there is one.

        Leaving the ``with`` block then does nothing more.  Port of
        ``MutexGuard::unlock_fair`` (lock_api) over ``unlock_fair`` in parking_lot's
        ``src/raw_mutex.rs``.

        Raises:
            RuntimeError: the guard has been released already.
        """
        self._check()
        self._detach()
        self._held = False
        self._raw.unlock_fair()

    def bump(self) -> None:
        """``unlock_fair()`` then ``lock()``, if a thread waits; RuntimeError if released.

        The longest waiter (a thread in ``lock()``, or a Condvar waiter that a
        notify moved onto this mutex) has had the mutex before this returns.  If
        the relock is interrupted (Ctrl-C), the exception leaves with the mutex not
        held and the guard released, so its ``with`` block releases nothing.
        """
        self._check()
        raw = self._raw
        if raw._parked:  # RawMutex.bump, step by step: the guard's flag follows the mutex
            self._detach()
            self._held = False; raw._unlock_slow(True)  # one-step: the guard is marked released before the mutex is, so an exception never leaves it claiming a lock it gave up
            raw.lock(); self._held = True  # one-step: the guard is held again iff the relock returned

    @contextmanager
    def unlocked(self) -> Iterator[None]:
        """Release the mutex for the duration of a ``with`` block, then lock it again.

        The release is an ordinary ``unlock()`` (fair only on a FairMutex, or when
        the fairness timer says so): a waiter is woken but the block's own thread
        may take the mutex back first.  :meth:`unlocked_fair` hands it over.
        RuntimeError if the guard has been released.  If the lock at the end is
        interrupted (Ctrl-C), the exception leaves with the mutex not held and the
        guard released, so the outer ``with`` block releases nothing.

        >>> m = Mutex(0)
        >>> with m.lock() as guard:
        ...     with guard.unlocked():
        ...         m.is_locked()
        False
        """
        self._check()
        self._detach()
        self._held = False
        self._raw.unlock()
        try:
            yield
        finally:
            self._raw.lock(); self._held = True  # one-step: the guard is held again iff the relock returned

    @contextmanager
    def unlocked_fair(self) -> Iterator[None]:
        """Like :meth:`unlocked`, but the release is ``unlock_fair()``.

        If a thread is waiting, it owns the mutex before the block's body runs,
        and the lock at the end waits until it lets go (lock_api's
        ``MutexGuard::unlocked_fair``).  RuntimeError if the guard has been released.

        >>> m = Mutex(0)
        >>> with m.lock() as guard:
        ...     with guard.unlocked_fair():
        ...         m.is_locked()
        False
        """
        self._check()
        self._detach()
        self._held = False
        self._raw.unlock_fair()
        try:
            yield
        finally:
            self._raw.lock(); self._held = True  # one-step: the guard is held again iff the relock returned

    def __repr__(self) -> str:
        state = "held" if self._held else "released"
        return f"<{type(self).__name__} {state} of {self._mutex!r}>"


class Mutex(Generic[T]):
    """A mutex that owns a value: reach the value only through the guard ``lock()`` returns.

    ``lock()`` blocks; ``try_lock()`` never does; ``try_lock_for(seconds)`` and
    ``try_lock_until(monotonic_deadline)`` give up after a time; the last three
    return None instead of a guard when they fail.

    >>> m = Mutex({"hits": 0})
    >>> with m.lock() as guard:
    ...     guard.value["hits"] += 1
    ...     m.try_lock() is None          # already held
    True
    >>> with m.try_lock_for(0.1) as guard:
    ...     guard.value
    {'hits': 1}
    """

    __slots__ = ("_raw", "_locked", "_value", "_guard", "__weakref__")
    _raw_class: type[RawMutex] = RawMutex

    def __init__(self, value: T) -> None:
        self._raw = self._raw_class()
        self._locked = self._raw._locked  # the LOCKED bit, for the inlined fast path
        self._value = value
        self._guard: MutexGuard[T] = MutexGuard(self)

    def lock(self) -> MutexGuard[T]:
        """Block until this thread holds the mutex; return the guard.

        Not reentrant: a thread that locks a mutex it holds waits for itself
        forever (use :class:`parking_lot.ReentrantMutex`).  Port of
        ``lock_api::Mutex::lock`` over ``lock`` in parking_lot's ``src/raw_mutex.rs``.

        Returns:
            The held :class:`MutexGuard` (one object per mutex, reused by every lock).
        """
        if not self._locked.acquire(False):  # inlined: RawMutex.lock
            self._raw._lock_slow(None)
        guard = self._guard
        guard._held = True
        return guard

    def try_lock(self) -> MutexGuard[T] | None:
        """The guard if the mutex was free, else None."""
        if not self._raw.try_lock():
            return None
        self._guard._held = True
        return self._guard

    def try_lock_for(self, timeout: float) -> MutexGuard[T] | None:
        """The guard if the mutex could be locked within *timeout* seconds, else None.

        ``inf`` (or any timeout too far away to matter) waits without one.  Port of
        ``lock_api::Mutex::try_lock_for``.

        Errors in the arguments are raised before anything changes.

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
        """
        if not self._raw.try_lock_for(timeout):
            return None
        self._guard._held = True
        return self._guard

    def try_lock_until(self, deadline: float) -> MutexGuard[T] | None:
        """The guard if the mutex could be locked before the ``time.monotonic()`` *deadline*, else None.

        *deadline* is in seconds on the clock of ``time.monotonic()``; a past one
        only tries once.  Port of ``lock_api::Mutex::try_lock_until``.

        Errors in the arguments are raised before anything changes.

        Raises:
            TypeError: *deadline* is not a number.
            ValueError: *deadline* is NaN.
        """
        if not self._raw.try_lock_until(deadline):
            return None
        self._guard._held = True
        return self._guard

    # --- awaitable twins (the twin of a blocking method ``m`` is ``m_async``; see _pending.py) ---

    def lock_async(self) -> PendingGuard[MutexGuard[T]]:
        """The twin of :meth:`lock` for asyncio tasks: await it for the guard, or ``async with`` it.

        ``guard = await m.lock_async()`` waits (without blocking the event loop) until the
        mutex is held and gives the same guard ``lock()`` gives; ``async with
        m.lock_async() as guard:`` also releases it at the block's end.  Tasks and threads
        wait in one queue and may hand the mutex to each other.  Cancelled while waiting
        (``task.cancel()``, ``asyncio.timeout()``, ``wait_for``), the task leaves the queue
        and ``CancelledError`` propagates with the mutex not held by it (a hand-over that
        came first is passed on).  Port of ``lock_api::Mutex::lock`` over ``lock`` in
        parking_lot's ``src/raw_mutex.rs``, parked with ``parking_lot.core.park_async``.

        Use it with ``await`` or ``async with``: for speed, on 3.10, 3.11 and 3.15 its
        ``__aenter__`` takes a free mutex when it is called, not when what it returns is
        awaited, so code that calls ``__aenter__()`` itself must await the result at once.

        Returns:
            A :class:`~parking_lot._pending.PendingGuard` of the :class:`MutexGuard`.

        Raises:
            RuntimeError: (when awaited) no event loop runs in this thread.

        >>> import asyncio
        >>> m = Mutex([])
        >>> async def main():
        ...     async with m.lock_async() as guard:
        ...         guard.value.append("task")
        ...     return m.is_locked()
        >>> asyncio.run(main()), m.lock().value
        (False, ['task'])
        """
        pending: _PendingMutexGuard[T] = _PENDING_MUTEX_GUARD()
        pending._mutex = self
        return pending

    async def _lock_guard_async(self) -> MutexGuard[T]:
        if not self._locked.acquire(False):  # inlined: RawMutex.lock_async
            await self._raw._lock_slow_async(None)
        guard = self._guard
        guard._held = True
        return guard

    async def try_lock_for_async(self, timeout: float) -> MutexGuard[T] | None:
        """The twin of :meth:`try_lock_for`: the guard if the mutex could be locked within *timeout* seconds, else None.

        Awaits without blocking the event loop; never gives up early.  Cancellation as
        :meth:`lock_async`.

        Raises:
            TypeError: *timeout* is not a number (before anything changes).
            ValueError: *timeout* is negative or NaN (before anything changes).
        """
        if not await self._raw.try_lock_for_async(timeout):
            return None
        self._guard._held = True
        return self._guard

    async def try_lock_until_async(self, deadline: float) -> MutexGuard[T] | None:
        """The twin of :meth:`try_lock_until`: the guard if locked before the ``time.monotonic()`` *deadline*, else None.

        Cancellation as :meth:`lock_async`.

        Raises:
            TypeError: *deadline* is not a number (before anything changes).
            ValueError: *deadline* is NaN (before anything changes).
        """
        if not await self._raw.try_lock_until_async(deadline):
            return None
        self._guard._held = True
        return self._guard

    def is_locked(self) -> bool:
        """Whether some thread holds the mutex (a snapshot)."""
        return self._raw.is_locked()

    @property
    def raw(self) -> RawMutex:
        """The raw lock underneath (for Condvar and other low-level uses)."""
        return self._raw

    def __repr__(self) -> str:
        state = "locked" if self._raw.is_locked() else f"unlocked, value={self._value!r}"
        return f"<{type(self).__name__} {state}>"


def _done(guard: MutexGuard[T]) -> Awaitable[MutexGuard[T]]:
    """Give *guard* its done future (``MutexGuard._ready``), complete with the guard; return it.

    Awaiting a done future gives its result at once, on any loop (and under trio: it never
    yields): it never looks at the loop it was made with (the running one).  With no asyncio
    loop running (a trio task), a coroutine gives the guard instead, and nothing is kept.
    """
    loop = asyncio._get_running_loop()
    if loop is None:
        return _given(guard)
    ready: asyncio.Future[MutexGuard[T]] = loop.create_future()
    ready.set_result(guard)
    guard._ready = ready
    return ready


async def _given(guard: MutexGuard[T]) -> MutexGuard[T]:
    return guard


class _PendingMutexGuard(PendingGuard[MutexGuard[T]]):
    """:meth:`Mutex.lock_async`'s PendingGuard, with the uncontended ``async with`` inlined.

    Enter and exit are the hottest path of a task's lock: the fast lock and the fast
    unlock are copied in, as in ``Mutex.lock`` and ``MutexGuard.__exit__``, and neither
    makes a coroutine.  It is made without a Python ``__init__`` (that frame alone cost a
    quarter of the uncontended ``async with``): :meth:`Mutex.lock_async` sets ``_mutex``,
    which the first use takes (None after).

    ``__aenter__`` returns the guard's done future (or the slow path's coroutine), and
    ``__aexit__`` the guard's :func:`~parking_lot._pending.new_ready`.  On 3.12-3.14, where awaiting
    a done future costs more than a coroutine, :class:`_PendingMutexGuardCoroutines` has a
    coroutine ``__aenter__`` instead; :meth:`Mutex.lock_async` makes whichever is cheaper on
    the running Python (``_PENDING_MUTEX_GUARD``).
    """

    __slots__ = ("_mutex",)
    __init__ = object.__init__

    _mutex: Mutex[T] | None

    def __await__(self) -> Generator[Any, None, MutexGuard[T]]:
        mutex = self._mutex
        if mutex is None:
            raise _used_twice()
        self._mutex = None
        return mutex._lock_guard_async().__await__()

    def __aenter__(self) -> Awaitable[MutexGuard[T]]:  # type: ignore[override]
        # Not a coroutine on the fast path: the mutex is taken here, and what `async with`
        # awaits is the guard's done future (made once per guard), which gives the guard
        # without a coroutine being made or the loop being visited.
        mutex = self._mutex
        if mutex is None:
            raise _used_twice()
        self._mutex = None
        if not mutex._locked.acquire(False):  # inlined: RawMutex.lock_async
            return self._enter_slow(mutex)
        guard = mutex._guard
        guard._held = True
        self._guard = guard
        ready = guard._ready
        return _done(guard) if ready is None else ready

    async def _enter_slow(self, mutex: Mutex[T]) -> MutexGuard[T]:
        await mutex._raw._lock_slow_async(None)
        guard = mutex._guard
        guard._held = True
        self._guard = guard
        return guard

    def __aexit__(  # type: ignore[override]
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Awaitable[None]:
        # Not a coroutine: releasing never waits, so the unlock runs here and `async with`
        # awaits the guard's exhausted generator (complete with None: no exception is swallowed).
        guard = self._guard
        if guard is None or not guard._held:
            return READY  # released inside the block (see MutexGuard.__exit__)
        # inlined: RawMutex.unlock (the other half of every `async with m.lock_async():`)
        guard._held = False
        raw = guard._raw
        if raw._parked:
            raw._unlock_slow(raw._always_fair)
        else:
            guard._locked.release()
            if raw._parked:  # a thread or task parked between the check and the release
                raw._wake_one()
        exited = guard._exited
        if exited is None:
            exited = guard._exited = new_ready()
        return exited


class _PendingMutexGuardCoroutines(_PendingMutexGuard[T]):
    """:class:`_PendingMutexGuard` whose ``__aenter__`` is a coroutine.

    The same work in the same order, with the same effects: its fast path never suspends
    (no point where a cancellation could land, as for a done future), and the slow lock is
    awaited inside it.  Only what ``async with`` awaits on entry differs: a coroutine, not
    a done future.
    """

    __slots__ = ()

    async def __aenter__(self) -> MutexGuard[T]:
        mutex = self._mutex
        if mutex is None:
            raise _used_twice()
        self._mutex = None
        if not mutex._locked.acquire(False):  # inlined: RawMutex.lock_async
            await mutex._raw._lock_slow_async(None)
        guard = mutex._guard
        guard._held = True
        self._guard = guard
        return guard


#: The class :meth:`Mutex.lock_async` makes: the cheaper ``async with`` on this Python (the bench row
#: "uncontended async with").  Awaiting a done future cost 14-22 ns net on 3.10, 3.11 and 3.15,
#: against 43-63 for a new coroutine; on 3.12-3.14 it cost 68-78 ns, against 43-54
#: (``benchmarks/bench_async_with_floor.py``).  A loop of ``async with m.lock_async()`` in one task
#: (medians of nine interleaved runs, 2026-11-30 20:58 UTC) took 468/316/218 ns with the future entry
#: against 497/360/225 with the coroutine on 3.10/3.11/3.15, and 552/567/303 against 463/464/257 on
#: 3.12/3.13/3.14.
_PENDING_MUTEX_GUARD: type[_PendingMutexGuard[Any]] = (
    _PendingMutexGuardCoroutines if (3, 12) <= sys.version_info < (3, 15) else _PendingMutexGuard
)


class FairMutex(Mutex[T]):
    """A Mutex whose every unlock hands it to the longest waiter (no barging).

    >>> m = FairMutex("x")
    >>> with m.lock() as guard:
    ...     guard.value
    'x'
    """

    __slots__ = ()
    _raw_class = RawFairMutex


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# Inlined fast paths (lock, __exit__) are declared here; the rest goes through RawMutex's methods
# (a nested tracked call records nothing: the outermost one records the net effect).

from .raw._tracking import TRANSPARENT, acquires, declare, reacquires, releases  # noqa: E402


def _raw_key(obj: Mutex[object] | MutexGuard[object]) -> int:
    return obj._raw._key


declare(
    Mutex,
    lock=acquires(_raw_key), try_lock=acquires(_raw_key, conditional=True),
    try_lock_for=acquires(_raw_key, conditional=True), try_lock_until=acquires(_raw_key, conditional=True),
    is_locked=TRANSPARENT,
    # The awaitable twins: lock_async's PendingGuard, awaited, runs _lock_guard_async (its fast
    # path inlined); the try_*_async go through RawMutex's declared twins.
    lock_async=TRANSPARENT, _lock_guard_async=acquires(_raw_key),
    try_lock_for_async=TRANSPARENT, try_lock_until_async=TRANSPARENT,
)
declare(
    MutexGuard,
    __exit__=releases(_raw_key, exclusive=True), unlock=releases(_raw_key, exclusive=True),
    unlock_fair=releases(_raw_key, exclusive=True), bump=reacquires(_raw_key, exclusive=True),
    unlocked=TRANSPARENT, unlocked_fair=TRANSPARENT,  # RawMutex's unlock or unlock_fair, then its lock
    __enter__=TRANSPARENT,
)


def _entered_key(pending: _PendingMutexGuard[object]) -> int:
    guard = pending._guard
    assert guard is not None  # (read once entered)
    return guard._raw._key


def _exiting_key(pending: _PendingMutexGuard[object]) -> int | None:
    guard = pending._guard
    return guard._raw._key if guard is not None and guard._held else None  # None: released inside the block


# `async with m.lock_async()` inlines the fast lock and unlock: __aenter__ returns an awaitable (a
# done future, or the slow path's coroutine) whose completion is the hold; __aexit__ unlocks at once.
# `await m.lock_async()` is Mutex._lock_guard_async's.  In the coroutines form __aenter__ is a
# coroutine function (recorded after its await); __aexit__ is the same in both forms.
declare(
    _PendingMutexGuard, __await__=TRANSPARENT,
    __aenter__=acquires(_entered_key, awaited=True, lock_of=lambda pending: pending._guard._mutex),
    __aexit__=releases(_exiting_key, exclusive=True),
)
declare(
    _PendingMutexGuardCoroutines,
    __aenter__=acquires(_entered_key, lock_of=lambda pending: pending._guard._mutex),
)
