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
are called on and return the new one.
"""

from __future__ import annotations

from types import TracebackType
from typing import Generic, TypeVar

from .raw.rwlock import ONE_READER, READERS_MASK, WRITER, WRITER_PARKED, RawRwLock

T = TypeVar("T")


class _Guard(Generic[T]):
    __slots__ = ("_lock", "_held")

    def __init__(self, lock: RwLock[T]) -> None:
        self._lock = lock
        self._held = True

    def _check(self) -> None:
        if not self._held:
            raise RuntimeError(f"this {type(self).__name__} has been released")

    @property
    def value(self) -> T:
        """The protected value."""
        if not self._held:
            self._check()
        return self._lock._value

    def _release(self) -> None:
        raise NotImplementedError

    def unlock(self) -> None:
        """Release the lock now (``with`` does it on exit)."""
        self._check()
        self._held = False
        self._release()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._held:  # an upgrade or downgrade may have consumed the guard
            self._held = False
            self._release()


class ReadGuard(_Guard[T]):
    """A shared (read) lock of an :class:`RwLock`."""

    __slots__ = ()

    def __enter__(self) -> ReadGuard[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._held:  # consumed by unlock()
            return
        self._held = False
        # RawRwLock.unlock_shared, inlined: this is half of every `with rw.read():`.
        raw = self._lock._raw
        with raw._guard:
            state = raw._state
            raw._state = state - ONE_READER
        if state & (READERS_MASK | WRITER_PARKED) == ONE_READER | WRITER_PARKED:
            raw._wake_writer()

    def _release(self) -> None:
        self._lock._raw.unlock_shared()


class UpgradableReadGuard(_Guard[T]):
    """The upgradable read lock: shares with readers, excludes writers and other upgraders."""

    __slots__ = ()

    def __enter__(self) -> UpgradableReadGuard[T]:
        return self

    def _release(self) -> None:
        self._lock._raw.unlock_upgradable()

    def upgrade(self) -> WriteGuard[T]:
        """Wait for the other readers to leave and become the writer (consumes this guard)."""
        self._check()
        self._lock._raw.upgrade()
        self._held = False
        return WriteGuard(self._lock)

    def try_upgrade_for(self, timeout: float) -> WriteGuard[T] | None:
        """:meth:`upgrade` within *timeout* seconds, else None (this guard stays valid)."""
        self._check()
        if not self._lock._raw.try_upgrade_for(timeout):
            return None
        self._held = False
        return WriteGuard(self._lock)

    def downgrade(self) -> ReadGuard[T]:
        """Become a plain reader, letting another thread take the upgradable lock."""
        self._check()
        self._lock._raw.downgrade_upgradable()
        self._held = False
        return ReadGuard(self._lock)


class WriteGuard(_Guard[T]):
    """The exclusive (write) lock of an :class:`RwLock`; the value may be replaced."""

    __slots__ = ()

    def __enter__(self) -> WriteGuard[T]:
        return self

    @_Guard.value.setter  # type: ignore[attr-defined, untyped-decorator]
    def value(self, new_value: T) -> None:
        self._check()
        self._lock._value = new_value

    def _release(self) -> None:
        self._lock._raw.unlock_exclusive()

    def unlock_fair(self) -> None:
        """Release, handing the lock to the threads waiting for it."""
        self._check()
        self._held = False
        self._lock._raw.unlock_exclusive_fair()

    def downgrade(self) -> ReadGuard[T]:
        """Become a reader without letting a writer in between (consumes this guard)."""
        self._check()
        self._lock._raw.downgrade()
        self._held = False
        return ReadGuard(self._lock)

    def downgrade_to_upgradable(self) -> UpgradableReadGuard[T]:
        """Become the upgradable reader (consumes this guard)."""
        self._check()
        self._lock._raw.downgrade_to_upgradable()
        self._held = False
        return UpgradableReadGuard(self._lock)


class RwLock(Generic[T]):
    """A reader-writer lock that owns a value, task-fair as parking_lot's.

    ``read()``, ``write()`` and ``upgradable_read()`` block; the ``try_*`` forms
    return None instead of a guard when the lock is not available (in time).
    """

    __slots__ = ("_raw", "_value", "__weakref__")

    def __init__(self, value: T) -> None:
        self._raw = RawRwLock()
        self._value = value

    def read(self) -> ReadGuard[T]:
        # RawRwLock.lock_shared's fast path, inlined: the other half of `with rw.read():`.
        raw = self._raw
        with raw._guard:
            state = raw._state
            if not state & WRITER:
                raw._state = state + ONE_READER
        if state & WRITER:
            raw.lock_shared()
        return ReadGuard(self)

    def read_recursive(self) -> ReadGuard[T]:
        """A read lock that does not queue behind a waiting writer (for a thread already reading)."""
        self._raw.lock_shared_recursive()
        return ReadGuard(self)

    def write(self) -> WriteGuard[T]:
        self._raw.lock_exclusive()
        return WriteGuard(self)

    def upgradable_read(self) -> UpgradableReadGuard[T]:
        self._raw.lock_upgradable()
        return UpgradableReadGuard(self)

    def try_read(self) -> ReadGuard[T] | None:
        return ReadGuard(self) if self._raw.try_lock_shared() else None

    def try_read_for(self, timeout: float) -> ReadGuard[T] | None:
        return ReadGuard(self) if self._raw.try_lock_shared_for(timeout) else None

    def try_write(self) -> WriteGuard[T] | None:
        return WriteGuard(self) if self._raw.try_lock_exclusive() else None

    def try_write_for(self, timeout: float) -> WriteGuard[T] | None:
        return WriteGuard(self) if self._raw.try_lock_exclusive_for(timeout) else None

    def try_upgradable_read(self) -> UpgradableReadGuard[T] | None:
        return UpgradableReadGuard(self) if self._raw.try_lock_upgradable() else None

    def try_upgradable_read_for(self, timeout: float) -> UpgradableReadGuard[T] | None:
        return UpgradableReadGuard(self) if self._raw.try_lock_upgradable_for(timeout) else None

    def is_locked(self) -> bool:
        return self._raw.is_locked()

    def is_locked_exclusive(self) -> bool:
        return self._raw.is_locked_exclusive()

    def __repr__(self) -> str:
        return f"<RwLock {self._raw!r}>"
