"""RawReentrantMutex: a mutex the owning thread may lock again (lock_api's ``RawReentrantMutex``).

A :class:`RawMutex` plus the owner's thread id and a lock count.  Only the
owner touches the count, so it needs no atomics; the owner id is written only by
the thread that holds the inner mutex.
"""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from types import TracebackType

from parking_lot.core import deadline_ns

from .mutex import RawMutex


class RawReentrantMutex:
    """A reentrant mutex: ``lock()`` by the owner just counts; each lock needs an unlock.

    >>> m = RawReentrantMutex()
    >>> m.lock(); m.lock()
    >>> m.is_owned_by_current_thread(), m.count
    (True, 2)
    >>> m.unlock(); m.unlock(); m.is_locked()
    False
    """

    __slots__ = ("_mutex", "_owner", "_count", "__weakref__")

    def __init__(self) -> None:
        self._mutex = RawMutex()
        self._owner = 0
        self._count = 0

    @property
    def count(self) -> int:
        """How many times the owner holds it (0 when unlocked; meaningful to the owner)."""
        return self._count

    def lock(self) -> None:
        """Lock, or count one more lock if this thread already owns it."""
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return
        self._mutex.lock()
        self._owner = me
        self._count = 1

    def try_lock(self) -> bool:
        """Lock without blocking; True if this thread now holds it (once more)."""
        return self._try(lambda: self._mutex.try_lock())

    def try_lock_for(self, timeout: float) -> bool:
        """Lock within *timeout* seconds (the owner: at once); False if the time ran out first.

        A timeout too far away to matter (``inf``, ``1e300``) waits without one.
        Raises TypeError (not a number) or ValueError (negative, NaN) before anything
        changes, also when this thread owns the mutex.
        """
        return self._try_until(deadline_ns(timeout, None))

    def try_lock_until(self, deadline: float) -> bool:
        """Lock before the ``time.monotonic()`` *deadline* (the owner: at once); False if it passed.

        *deadline* is in seconds, on the clock of ``time.monotonic()``.  Raises TypeError
        (not a number) or ValueError (NaN) before anything changes, also for the owner.
        """
        return self._try_until(deadline_ns(None, deadline))

    def _try_until(self, until_ns: int | None) -> bool:
        # Checked already; the time.monotonic_ns() deadline goes to the mutex's slow path.
        mutex = self._mutex
        return self._try(lambda: mutex.try_lock() or mutex._lock_slow(until_ns))

    def _try(self, acquire: Callable[[], bool]) -> bool:
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return True
        if not acquire():
            return False
        self._owner = me
        self._count = 1
        return True

    def unlock(self) -> None:
        """Undo one lock; the last one releases.  RuntimeError (and no change) if not the owner."""
        self._release(fair=False)

    def unlock_fair(self) -> None:
        """Undo one lock; the last one hands the mutex to the longest waiter."""
        self._release(fair=True)

    def bump(self) -> None:
        """Let a waiting thread have the mutex, then take it back; RuntimeError if not the owner.

        Only the last lock can be let go: with ``count > 1`` this thread still holds
        the mutex after one unlock, so the bump (an ``unlock_fair()`` and a
        ``lock()``) changes nothing and returns at once.  Otherwise the thread that
        waited longest owns the mutex before this returns, and the count (1) is
        restored.  As lock_api's ``RawReentrantMutex::bump``.
        """
        if self._owner != get_ident():
            raise RuntimeError("cannot bump a reentrant mutex that this thread does not own")
        if self._count == 1 and self._mutex._parked:
            me = self._owner
            # One line: the owner is cleared only as the mutex is let go, and restored
            # as soon as it is ours again.  If the relock is interrupted, the thread
            # holds nothing and the record says so (owner 0, count 0).
            self._count = 0; self._owner = 0; self._mutex.bump(); self._owner = me; self._count = 1  # one-step: owner and count are cleared iff the mutex is let go, restored iff it is ours again

    def _release(self, fair: bool) -> None:
        if self._owner != get_ident():
            raise RuntimeError("cannot unlock a reentrant mutex that this thread does not own")
        if self._count > 1:
            self._count -= 1
            return
        self._count = 0
        self._owner = 0
        if fair:
            self._mutex.unlock_fair()
        else:
            self._mutex.unlock()

    def is_locked(self) -> bool:
        """Whether some thread holds it."""
        return self._mutex.is_locked()

    def is_owned_by_current_thread(self) -> bool:
        """Whether this thread holds it."""
        return self._owner == get_ident()

    def __enter__(self) -> RawReentrantMutex:
        self.lock()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock()

    def __repr__(self) -> str:
        if not self._mutex.is_locked():
            return f"<RawReentrantMutex unlocked at {id(self):#x}>"
        return f"<RawReentrantMutex locked by thread {self._owner} x{self._count} at {id(self):#x}>"


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# Held (once, however deep) from the lock that makes this thread the owner to the unlock that
# ends its last hold: the "reentrant" protocol reads _owner and _count, as for compat.RLock.

from ._tracking import TRANSPARENT, declare, reacquires, special  # noqa: E402

declare(
    RawReentrantMutex,
    lock=special("reentrant acquires"), try_lock=special("reentrant acquires"),
    try_lock_for=special("reentrant acquires"), try_lock_until=special("reentrant acquires"),
    __enter__=special("reentrant acquires"),
    unlock=special("reentrant releases"), unlock_fair=special("reentrant releases"),
    __exit__=special("reentrant releases"),
    # Only the owner may bump; with count > 1 it gives nothing back (recorded as given and taken).
    bump=reacquires(lambda lock: id(lock._mutex), exclusive=False),
    is_locked=TRANSPARENT, is_owned_by_current_thread=TRANSPARENT,
)
