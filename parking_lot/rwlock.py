"""RwLock[T]: a data-owning reader-writer lock with upgradable reads (Rust's ``lock_api::RwLock``).

>>> from parking_lot.rwlock import RwLock
>>> cache = RwLock({})
>>> with cache.write() as guard:
...     guard.value["a"] = 1
>>> with cache.read() as guard:
...     guard.value["a"]
1
>>> with cache.upgradable_read() as guard:
...     if "b" not in guard.value:
...         with guard.upgrade() as writer:
...             writer.value["b"] = 2
>>> with cache.read() as guard:
...     sorted(guard.value)
['a', 'b']

Each guard is valid until released (``with`` exit or ``unlock()``); using it after
that raises RuntimeError.  ``upgrade()`` and ``downgrade()`` consume the guard they
are called on and return the new one.  The ``with`` block that made a guard answers
for whatever that guard became: on leaving it, the last guard of the chain of
upgrades and downgrades is released if it is still held (one that its own ``with``
or ``unlock()`` already released is left alone):

>>> rw = RwLock(0)
>>> with rw.upgradable_read() as u:
...     w = u.upgrade()      # u is consumed; w is what u's block now releases
...     w.value = 5
>>> rw.is_locked()
False
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Generic, TypeVar

from ._pending import PendingGuard
from .raw._word import rw_try_shared as _rw_try_shared
from .raw._word import rw_unlock_shared as _rw_unlock_shared
from .raw.rwlock import PARKED, WRITER, RawRwLock

T = TypeVar("T")
G = TypeVar("G", bound="_Guard[Any]")


_new = object.__new__


class _Guard(Generic[T]):
    # `_lock`: the RwLock while held, None once released.  Guards are made by
    # _make (object.__new__ and one store, no Python-level __init__): a read guard
    # is allocated on every `rw.read()`, and a Python __init__ call would cost a
    # fifth of the uncontended read.  `_next`: the guard an upgrade or downgrade
    # turned this one into, written only by that transition (so never written, and
    # never read, on the fast paths; unset reads as None through getattr).  A
    # transition is one line, `raw step; self._next = successor; self._lock = None`,
    # so an asynchronous exception finds either this guard held (the step did not
    # happen, or raised having undone itself) or its successor recorded: either
    # way the `with` that made this guard releases what is held.
    __slots__ = ("_lock", "_next")
    _lock: RwLock[T] | None
    _next: _Guard[T]

    def __init__(self, lock: RwLock[T]) -> None:
        self._lock = lock

    def _held_lock(self) -> RwLock[T]:
        lock = self._lock
        if lock is None:
            raise RuntimeError(f"this {type(self).__name__} has been released")
        return lock

    def _take(self) -> RwLock[T]:
        """The lock, and mark this guard released (an unlock, upgrade or downgrade consumes it)."""
        lock = self._held_lock()
        self._lock = None
        return lock

    @property
    def value(self) -> T:
        """The protected value."""
        lock = self._lock
        if lock is None:
            lock = self._held_lock()
        return lock._value

    def _release(self, lock: RwLock[T]) -> None:
        raise NotImplementedError

    def _release_fair(self, lock: RwLock[T]) -> None:
        raise NotImplementedError

    def _bump(self, lock: RwLock[T]) -> None:
        raise NotImplementedError

    def unlock(self) -> None:
        """Release the lock now (``with`` does it on exit).  RuntimeError if already released."""
        self._release(self._take())

    def unlock_fair(self) -> None:
        """Release, handing the lock to the threads that wait for this hold (RuntimeError if released).

        Those threads own the lock when this returns: see the table in
        :mod:`parking_lot.raw.rwlock` for who can wait for which mode.
        """
        self._release_fair(self._take())

    def bump(self) -> None:
        """``unlock_fair()`` then the same lock again, if a thread waits for this hold.

        The threads let in have had the lock before this returns (for a read guard:
        the writer waiting for the readers to leave).  The guard stays valid.
        RuntimeError if the guard has been released.  If the relock is interrupted
        (Ctrl-C), the exception leaves with the lock not held and the guard
        released, so its ``with`` block releases nothing.
        """
        # Each _bump is its RawRwLock bump_* written out as a release and a lock, with
        # ``_lock`` cleared as the lock is let go and set again on the relock's line.
        self._bump(self._held_lock())

    def _release_successor(self) -> None:
        """Leaving the ``with`` of a consumed guard: release the end of its chain if still held."""
        guard: _Guard[T] | None = getattr(self, "_next", None)
        while guard is not None:
            lock = guard._lock
            if lock is not None:
                guard._lock = None; guard._release(lock)  # one-step: a guard is released iff its lock is cleared, as in __exit__
                return
            guard = getattr(guard, "_next", None)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        lock = self._lock
        if lock is not None:
            self._lock = None
            self._release(lock)
        else:  # consumed by unlock() (no successor) or an upgrade or downgrade
            self._release_successor()

    def __repr__(self) -> str:
        state = "held" if self._lock is not None else "released"
        return f"<{type(self).__name__} {state}>"


def _make(cls: type[G], lock: RwLock[Any]) -> G:
    guard = _new(cls)
    guard._lock = lock
    return guard


class ReadGuard(_Guard[T]):
    """A shared (read) lock of an :class:`RwLock`.

    >>> rw = RwLock(3)
    >>> with rw.read() as a, rw.read() as b:   # readers share
    ...     a.value + b.value
    6
    """

    __slots__ = ()

    def __enter__(self) -> ReadGuard[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        lock = self._lock
        if lock is None:  # consumed by unlock() or downgrade
            return
        self._lock = None
        # RawRwLock.unlock_shared, inlined: this is half of every `with rw.read():`.  One
        # operation on the state word (one C call, with the compiled atomics): released (0),
        # and the last reader out wakes the parked writer (1); -1 cannot happen for a held guard.
        wake = _rw_unlock_shared(lock._word)
        if wake:
            if wake < 0:
                raise lock._raw._not_held("unlock_shared", "read")
            lock._raw._wake_writer()

    def _release(self, lock: RwLock[T]) -> None:
        lock._raw.unlock_shared()

    def _release_fair(self, lock: RwLock[T]) -> None:
        lock._raw.unlock_shared_fair()

    def _bump(self, lock: RwLock[T]) -> None:
        raw = lock._raw
        if raw._state & WRITER:  # RawRwLock.bump_shared, step by step (see _Guard.bump)
            self._lock = None; raw.unlock_shared()  # one-step: the guard is marked released before the lock is, so an exception never leaves it claiming a lock it gave up
            raw.lock_shared(); self._lock = lock  # one-step: the guard is held again iff the relock returned


class UpgradableReadGuard(_Guard[T]):
    """The upgradable read lock: shares with readers, excludes writers and other upgraders.

    >>> rw = RwLock([])
    >>> guard = rw.upgradable_read()
    >>> rw.try_upgradable_read() is None     # one upgrader at a time
    True
    >>> with rw.read():                      # readers still get in
    ...     pass
    >>> with guard.upgrade() as writer:      # consumes the upgradable guard
    ...     writer.value.append("x")
    >>> rw.is_locked()
    False
    """

    __slots__ = ()

    def __enter__(self) -> UpgradableReadGuard[T]:
        return self

    def _release(self, lock: RwLock[T]) -> None:
        lock._raw.unlock_upgradable()

    def _release_fair(self, lock: RwLock[T]) -> None:
        lock._raw.unlock_upgradable_fair()

    def _bump(self, lock: RwLock[T]) -> None:
        raw = lock._raw
        if raw._state & PARKED:  # RawRwLock.bump_upgradable, step by step (see _Guard.bump)
            self._lock = None; raw.unlock_upgradable_fair()  # one-step: the guard is marked released before the lock is, so an exception never leaves it claiming a lock it gave up
            raw.lock_upgradable(); self._lock = lock  # one-step: the guard is held again iff the relock returned

    def upgrade(self) -> WriteGuard[T]:
        """Wait for the other readers to leave and become the writer (consumes this guard).

        The ``with`` block of this guard releases the write guard returned, unless
        that was released already.  RuntimeError if this guard has been released.
        """
        lock = self._held_lock()
        writer = _make(WriteGuard, lock)
        lock._raw.upgrade(); self._next = writer; self._lock = None  # one-step: the raw lock changes mode iff the guard records its successor
        return writer

    def try_upgrade_for(self, timeout: float) -> WriteGuard[T] | None:
        """:meth:`upgrade` within *timeout* seconds, else None (this guard stays valid).

        *timeout* in seconds: TypeError if not a number, ValueError if negative or NaN, raised before
        anything changes; ``inf`` (or any timeout too large to represent) waits without a timeout.
        """
        lock = self._held_lock()
        writer = _make(WriteGuard, lock)
        if lock._raw.try_upgrade_for(timeout): self._next = writer; self._lock = None  # one-step: the raw lock changes mode iff the guard records its successor
        return writer if self._lock is None else None

    def upgrade_async(self) -> PendingGuard[WriteGuard[T]]:
        """The twin of :meth:`upgrade`: await it for the write guard, or ``async with`` it.

        Consumes this guard once the upgrade is done (as :meth:`upgrade`); cancelled while
        the other readers drain, the task keeps this upgradable guard, still held.
        RuntimeError (when awaited) if this guard has been released.
        """
        return PendingGuard(self._upgrade_async)

    async def _upgrade_async(self) -> WriteGuard[T]:
        lock = self._held_lock()
        writer = _make(WriteGuard, lock)
        await lock._raw.upgrade_async(); self._next = writer; self._lock = None  # one-step: the raw lock changes mode iff the guard records its successor (no await point after the upgrade)
        return writer

    async def try_upgrade_for_async(self, timeout: float) -> WriteGuard[T] | None:
        """The twin of :meth:`try_upgrade_for`: the write guard within *timeout* seconds, else None.

        TypeError or ValueError (negative, NaN) before anything changes.
        """
        lock = self._held_lock()
        writer = _make(WriteGuard, lock)
        if await lock._raw.try_upgrade_for_async(timeout): self._next = writer; self._lock = None  # one-step: the raw lock changes mode iff the guard records its successor
        return writer if self._lock is None else None

    def downgrade(self) -> ReadGuard[T]:
        """Become a plain reader, letting another thread take the upgradable lock (consumes this guard).

        The ``with`` block of this guard releases the read guard returned, unless
        that was released already.  RuntimeError if this guard has been released.
        """
        lock = self._held_lock()
        reader = _make(ReadGuard, lock)
        lock._raw.downgrade_upgradable(); self._next = reader; self._lock = None  # one-step: the raw lock changes mode iff the guard records its successor
        return reader


class WriteGuard(_Guard[T]):
    """The exclusive (write) lock of an :class:`RwLock`; the value may be replaced.

    >>> rw = RwLock(1)
    >>> with rw.write() as writer:
    ...     writer.value = 2
    ...     reader = writer.downgrade()      # a reader now, no writer could slip in
    ...     reader.value
    2
    >>> rw.is_locked()                       # writer's block released what writer became
    False
    """

    __slots__ = ()

    def __enter__(self) -> WriteGuard[T]:
        return self

    @_Guard.value.setter  # type: ignore[attr-defined, untyped-decorator]
    def value(self, new_value: T) -> None:
        self._held_lock()._value = new_value

    def _release(self, lock: RwLock[T]) -> None:
        lock._raw.unlock_exclusive()

    def _release_fair(self, lock: RwLock[T]) -> None:
        lock._raw.unlock_exclusive_fair()

    def _bump(self, lock: RwLock[T]) -> None:
        raw = lock._raw
        if raw._state & PARKED:  # RawRwLock.bump_exclusive, step by step (see _Guard.bump)
            self._lock = None; raw.unlock_exclusive_fair()  # one-step: the guard is marked released before the lock is, so an exception never leaves it claiming a lock it gave up
            raw.lock_exclusive(); self._lock = lock  # one-step: the guard is held again iff the relock returned

    def downgrade(self) -> ReadGuard[T]:
        """Become a reader without letting a writer in between (consumes this guard).

        The ``with`` block of this guard releases the read guard returned, unless
        that was released already.  RuntimeError if this guard has been released.
        """
        lock = self._held_lock()
        reader = _make(ReadGuard, lock)
        lock._raw.downgrade(); self._next = reader; self._lock = None  # one-step: the raw lock changes mode iff the guard records its successor
        return reader

    def downgrade_to_upgradable(self) -> UpgradableReadGuard[T]:
        """Become the upgradable reader (consumes this guard; its ``with`` releases the new one).

        RuntimeError if this guard has been released.
        """
        lock = self._held_lock()
        upgradable = _make(UpgradableReadGuard, lock)
        lock._raw.downgrade_to_upgradable(); self._next = upgradable; self._lock = None  # one-step: the raw lock changes mode iff the guard records its successor
        return upgradable


class RwLock(Generic[T]):
    """A reader-writer lock that owns a value, task-fair as parking_lot's.

    ``read()``, ``write()`` and ``upgradable_read()`` block; the ``try_*`` forms
    return None instead of a guard when the lock is not available (in time).

    >>> rw = RwLock({"a": 1})
    >>> with rw.write() as w:
    ...     rw.try_read() is None, rw.try_read_for(0.01) is None
    (True, True)
    >>> with rw.read() as r:
    ...     r.value["a"]
    1
    """

    __slots__ = ("_raw", "_word", "_value", "__weakref__")

    def __init__(self, value: T) -> None:
        self._raw = RawRwLock()
        self._word = self._raw._word  # the raw lock's state word, for the inlined read path
        self._value = value

    def read(self) -> ReadGuard[T]:
        """Block until this thread holds a read lock; return its guard.

        Readers share the lock; a writer that holds it or waits for it (task fairness)
        keeps new readers out, so a thread that already reads and calls ``read()``
        again may deadlock behind a waiting writer: use :meth:`read_recursive` there.
        Port of ``lock_api::RwLock::read`` (``lock_api/src/rwlock.rs``) over
        ``lock_shared`` in parking_lot's ``src/raw_rwlock.rs``.

        Returns:
            A held :class:`ReadGuard` whose ``value`` is the protected object; ``with`` or
            ``unlock()`` releases it.
        """
        # RawRwLock.lock_shared's fast path, inlined: the other half of `with rw.read():`.
        # One operation on the state word (one C call, with the compiled atomics): a read lock
        # is taken iff it returns 1; else the slow path queues behind the writer.
        if not _rw_try_shared(self._word):
            self._raw.lock_shared()
        guard = _new(ReadGuard)  # _make, inlined
        guard._lock = self
        return guard

    def read_recursive(self) -> ReadGuard[T]:
        """A read lock that does not queue behind a waiting writer (for a thread already reading)."""
        self._raw.lock_shared_recursive()
        return _make(ReadGuard, self)

    def write(self) -> WriteGuard[T]:
        """Block until this thread holds the lock exclusively; return the write guard.

        Waits for the writer or upgradable reader ahead of it, then for the readers to
        leave.  Not reentrant: a thread that holds any guard of this lock and calls
        ``write()`` waits for itself forever.  Port of ``lock_api::RwLock::write``
        over ``lock_exclusive`` in parking_lot's ``src/raw_rwlock.rs``.

        Returns:
            A held :class:`WriteGuard`; its ``value`` may be read and replaced.
        """
        self._raw.lock_exclusive()
        return _make(WriteGuard, self)

    def upgradable_read(self) -> UpgradableReadGuard[T]:
        """Block until this thread holds the upgradable read lock; return its guard.

        One upgradable reader at a time; plain readers share the lock with it, writers
        wait.  ``guard.upgrade()`` later turns it into the write lock without letting
        another writer in between.  Port of ``lock_api::RwLock::upgradable_read`` over
        ``lock_upgradable`` in parking_lot's ``src/raw_rwlock.rs``.

        Returns:
            A held :class:`UpgradableReadGuard`.
        """
        self._raw.lock_upgradable()
        return _make(UpgradableReadGuard, self)

    def try_read(self) -> ReadGuard[T] | None:
        """A read guard if one can be had without waiting, else None.

        Fails while a writer holds the lock or waits for it.  Never blocks, never raises.
        Port of ``lock_api::RwLock::try_read`` (``try_lock_shared``).

        Returns:
            A held :class:`ReadGuard`, or None.
        """
        return _make(ReadGuard, self) if self._raw.try_lock_shared() else None

    def try_read_for(self, timeout: float) -> ReadGuard[T] | None:
        """A read guard within *timeout* seconds, else None (as ``RawRwLock.try_lock_shared_for``).

        ``inf`` (or any timeout too far away to matter) waits without one.

        Errors in the arguments are raised before anything changes.

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
        """
        return _make(ReadGuard, self) if self._raw.try_lock_shared_for(timeout) else None

    def try_write(self) -> WriteGuard[T] | None:
        """The write guard if nobody holds the lock in any mode, else None.

        Never blocks, never raises.  Port of ``lock_api::RwLock::try_write``
        (``try_lock_exclusive``).

        Returns:
            A held :class:`WriteGuard`, or None.
        """
        return _make(WriteGuard, self) if self._raw.try_lock_exclusive() else None

    def try_write_for(self, timeout: float) -> WriteGuard[T] | None:
        """The write guard within *timeout* seconds, else None (as ``RawRwLock.try_lock_exclusive_for``).

        ``inf`` (or any timeout too far away to matter) waits without one.

        Errors in the arguments are raised before anything changes.

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
        """
        return _make(WriteGuard, self) if self._raw.try_lock_exclusive_for(timeout) else None

    def try_upgradable_read(self) -> UpgradableReadGuard[T] | None:
        """The upgradable read guard if it can be had without waiting, else None.

        Fails while a writer or another upgradable reader holds the lock (plain readers
        do not stop it).  Never blocks, never raises.  Port of
        ``lock_api::RwLock::try_upgradable_read`` (``try_lock_upgradable``).

        Returns:
            A held :class:`UpgradableReadGuard`, or None.
        """
        return _make(UpgradableReadGuard, self) if self._raw.try_lock_upgradable() else None

    def try_upgradable_read_for(self, timeout: float) -> UpgradableReadGuard[T] | None:
        """The upgradable guard within *timeout* seconds, else None (as ``RawRwLock.try_lock_upgradable_for``).

        ``inf`` (or any timeout too far away to matter) waits without one.

        Errors in the arguments are raised before anything changes.

        Raises:
            TypeError: *timeout* is not a number.
            ValueError: *timeout* is negative or NaN.
        """
        return _make(UpgradableReadGuard, self) if self._raw.try_lock_upgradable_for(timeout) else None

    # --- awaitable twins (the twin of a blocking method ``m`` is ``m_async``; see _pending.py) ---
    # Each waits in the same queues as threads without blocking the event loop; cancelled
    # while waiting, the task leaves holding nothing new (a hand-over that came first is given back).

    def read_async(self) -> PendingGuard[ReadGuard[T]]:
        """The twin of :meth:`read`: await it for a read guard, or ``async with`` it.

        >>> import asyncio
        >>> rw = RwLock({"a": 1})
        >>> async def main():
        ...     async with rw.read_async() as guard:
        ...         return guard.value["a"]
        >>> asyncio.run(main())
        1
        """
        return PendingGuard(self._read_async)

    async def _read_async(self) -> ReadGuard[T]:
        await self._raw.lock_shared_async()
        return _make(ReadGuard, self)

    def read_recursive_async(self) -> PendingGuard[ReadGuard[T]]:
        """The twin of :meth:`read_recursive`: a read guard that does not queue behind a waiting writer."""
        return PendingGuard(self._read_recursive_async)

    async def _read_recursive_async(self) -> ReadGuard[T]:
        await self._raw.lock_shared_recursive_async()
        return _make(ReadGuard, self)

    def write_async(self) -> PendingGuard[WriteGuard[T]]:
        """The twin of :meth:`write`: await it for the write guard, or ``async with`` it.

        >>> import asyncio
        >>> rw = RwLock(0)
        >>> async def main():
        ...     async with rw.write_async() as guard:
        ...         guard.value += 1
        ...     return rw.is_locked()
        >>> asyncio.run(main()), rw.read().value
        (False, 1)
        """
        return PendingGuard(self._write_async)

    async def _write_async(self) -> WriteGuard[T]:
        await self._raw.lock_exclusive_async()
        return _make(WriteGuard, self)

    def upgradable_read_async(self) -> PendingGuard[UpgradableReadGuard[T]]:
        """The twin of :meth:`upgradable_read`: await it for the upgradable guard, or ``async with`` it.

        ``await guard.upgrade_async()`` later turns it into the write lock.
        """
        return PendingGuard(self._upgradable_read_async)

    async def _upgradable_read_async(self) -> UpgradableReadGuard[T]:
        await self._raw.lock_upgradable_async()
        return _make(UpgradableReadGuard, self)

    async def try_read_for_async(self, timeout: float) -> ReadGuard[T] | None:
        """The twin of :meth:`try_read_for`: a read guard within *timeout* seconds, else None.

        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        return _make(ReadGuard, self) if await self._raw.try_lock_shared_for_async(timeout) else None

    async def try_write_for_async(self, timeout: float) -> WriteGuard[T] | None:
        """The twin of :meth:`try_write_for`: the write guard within *timeout* seconds, else None.

        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        return _make(WriteGuard, self) if await self._raw.try_lock_exclusive_for_async(timeout) else None

    async def try_upgradable_read_for_async(self, timeout: float) -> UpgradableReadGuard[T] | None:
        """The twin of :meth:`try_upgradable_read_for`: the upgradable guard within *timeout* seconds, else None.

        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        return _make(UpgradableReadGuard, self) if await self._raw.try_lock_upgradable_for_async(timeout) else None

    def is_locked(self) -> bool:
        """Whether any thread holds the lock, in any mode (a snapshot: it may change at once).

        Port of ``lock_api::RwLock::is_locked``.
        """
        return self._raw.is_locked()

    def is_locked_exclusive(self) -> bool:
        """Whether a writer holds the lock, or holds ``WRITER`` waiting for the readers to leave.

        A snapshot, as :meth:`is_locked`.  Port of ``lock_api::RwLock::is_locked_exclusive``.
        """
        return self._raw.is_locked_exclusive()

    def __repr__(self) -> str:
        return f"<RwLock {self._raw!r}>"


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# The inlined fast paths (read, ReadGuard.__exit__) are declared here; everything else goes through
# RawRwLock's declared methods, also a consumed guard's `with` releasing its successor.

from .raw._tracking import TRANSPARENT, acquires, declare, releases  # noqa: E402


def _read_guard_key(guard: ReadGuard[object]) -> int | None:
    lock = guard._lock
    return lock._raw._key if lock is not None else None  # None: released already, nothing to record


declare(RwLock, read=acquires(lambda rw: rw._raw._key), **dict.fromkeys(
    ("read_recursive", "write", "upgradable_read", "try_read", "try_read_for", "try_write", "try_write_for",
     "try_upgradable_read", "try_upgradable_read_for", "is_locked", "is_locked_exclusive",
     # the awaitable twins: their PendingGuards' coroutines await RawRwLock's declared twins
     "read_async", "read_recursive_async", "write_async", "upgradable_read_async", "try_read_for_async",
     "try_write_for_async", "try_upgradable_read_for_async"), TRANSPARENT))
declare(_Guard, unlock=TRANSPARENT, unlock_fair=TRANSPARENT, bump=TRANSPARENT, __exit__=TRANSPARENT)
declare(ReadGuard, __exit__=releases(_read_guard_key, exclusive=False), __enter__=TRANSPARENT)
declare(UpgradableReadGuard, __enter__=TRANSPARENT, upgrade=TRANSPARENT, try_upgrade_for=TRANSPARENT,
        downgrade=TRANSPARENT,
        upgrade_async=TRANSPARENT, try_upgrade_for_async=TRANSPARENT)  # RawRwLock's upgrade_async and kin
declare(WriteGuard, __enter__=TRANSPARENT, downgrade=TRANSPARENT, downgrade_to_upgradable=TRANSPARENT)
