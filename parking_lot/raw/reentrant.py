"""RawReentrantMutex: a mutex the owning thread or task may lock again (lock_api's ``RawReentrantMutex``).

A :class:`RawMutex` plus the owner and a lock count.  The owner is the current
asyncio or trio task when the lock is taken inside one (by ``lock_async()`` or by a
blocking ``lock()``), else the thread (its ``get_ident()``): two tasks of one loop
thread are two owners, and a task holds the mutex across its awaits.  Only the
owner touches the count, so it needs no atomics; the owner field is written only
by the holder of the inner mutex.

A thread that runs an event loop must not block on a reentrant mutex that a task
of that loop holds: the task could only release it on that very thread, so the
loop would hang for good.  Such a blocking call raises RuntimeError instead (the
owner says who holds it; a plain Mutex does not know, see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from parking_lot.core import deadline_ns
from parking_lot.core._park_async import _in_trio_task

# Who locks it, called here: the running asyncio or trio task, else the thread's get_ident()
# (the one definition, shared with the deadlock detector's records).
from ._tracking import current_owner as current_owner
from .mutex import RawMutex

_running_loop = asyncio._get_running_loop
_monotonic_ns = time.monotonic_ns


def check_may_block(owner: object, method: str) -> None:
    """Raise RuntimeError if blocking here would wait for a task of the event loop this thread runs.

    *owner* is the current holder of the lock (as :func:`current_owner` recorded it: a
    thread's ident, an asyncio task, a trio task); *method* names the blocking call for
    the message.  Such a task could only release the lock on this very thread, which the
    blocking call would stop for good: an asyncio task of the loop running here, or a trio
    task of the ``trio.run`` running here (its root task, found up the chain of
    ``parent_nursery.parent_task``, is this run's ``current_root_task()``; trio is only
    looked at when already imported).
    """
    if type(owner) is int:
        return  # a thread: blocking waits for another thread, as for any lock
    loop = _running_loop()
    if loop is not None and isinstance(owner, asyncio.Future) and owner.get_loop() is loop:
        _refuse(owner, method)
    trio = sys.modules.get("trio")
    if trio is not None and isinstance(owner, trio.lowlevel.Task) and _of_this_trio_run(trio, owner):
        _refuse(owner, method)


def _of_this_trio_run(trio: Any, task: Any) -> bool:
    """Whether the trio *task* belongs to the ``trio.run`` whose task is running in this thread."""
    if not _in_trio_task(trio):
        return False
    root = trio.lowlevel.current_root_task()
    for _ in range(100_000):  # a bound on the nesting, in case of a cycle
        nursery = task.parent_nursery
        if nursery is None:
            return task is root
        task = nursery.parent_task
    return False


def _refuse(owner: object, method: str) -> None:
    raise RuntimeError(
        f"{method}() would block the event loop of this thread forever: the lock is held by {owner!r} "
        f"of that loop, which can only release it on this thread; await {method}_async() instead"
    )


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
        #: The holder: a thread's get_ident(), an asyncio task, or 0 when unlocked.
        self._owner: object = 0
        self._count = 0

    @property
    def count(self) -> int:
        """How many times the owner holds it (0 when unlocked; meaningful to the owner)."""
        return self._count

    def lock(self) -> None:
        """Lock, or count one more lock if this thread (or task) already owns it.

        Raises:
            RuntimeError: the calling thread runs an event loop and a task of that loop holds
                the mutex (blocking would hang the loop; use :meth:`lock_async`).
        """
        me = current_owner()
        if self._owner == me:
            self._count += 1
            return
        mutex = self._mutex
        # Each way of taking the mutex records the owner on the same line: an exception at the
        # start of a next line would leave the mutex taken by nobody on record, for ever.
        if mutex.try_lock(): self._owner = me; self._count = 1; return  # one-step: the owner is recorded on the line that takes the mutex
        check_may_block(self._owner, "lock")
        mutex.lock(); self._owner = me; self._count = 1  # one-step: the owner is recorded on the line that takes the mutex

    async def lock_async(self) -> None:
        """The twin of :meth:`lock`: await the mutex (the owner: at once, counting one more lock).

        The owner is the calling task (a task holds it across its awaits; another task of the
        same loop waits).  Cancellation while waiting leaves the mutex not held by the task
        (as :meth:`RawMutex.lock_async`).  RuntimeError when no event loop runs.
        """
        me = current_owner()
        if self._owner == me:
            self._count += 1
            return
        await self._mutex.lock_async(); self._owner = me; self._count = 1  # one-step: the owner is recorded on the line that takes the mutex (no await point after it)

    async def try_lock_for_async(self, timeout: float) -> bool:
        """The twin of :meth:`try_lock_for`: True if held within *timeout* seconds (the owner: at once).

        TypeError or ValueError (negative, NaN) before anything changes, also for the owner.
        """
        until_ns = deadline_ns(timeout, None)
        return await self._try_async(until_ns)

    async def try_lock_until_async(self, deadline: float) -> bool:
        """The twin of :meth:`try_lock_until`: True if held before the ``time.monotonic()`` *deadline*.

        TypeError or ValueError (NaN) before anything changes, also for the owner.
        """
        until_ns = deadline_ns(None, deadline)
        return await self._try_async(until_ns)

    async def _try_async(self, until_ns: int | None) -> bool:
        # Checked already; the time.monotonic_ns() deadline goes to the mutex's slow path.
        me = current_owner()
        if self._owner == me:
            self._count += 1
            return True
        mutex = self._mutex
        if mutex.try_lock(): self._owner = me; self._count = 1; return True  # one-step: the owner is recorded on the line that takes the mutex
        if await mutex._lock_slow_async(until_ns): self._owner = me; self._count = 1; return True  # one-step: the owner is recorded on the line that takes the mutex (no await point after it)
        return False

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

        def acquire() -> bool:
            if mutex.try_lock(): return True  # one-step: taken iff reported (the caller records the owner on its line)
            if until_ns is None or until_ns > _monotonic_ns():
                check_may_block(self._owner, "try_lock_for")
            return mutex._lock_slow(until_ns)

        return self._try(acquire)

    def _try(self, acquire: Callable[[], bool]) -> bool:
        me = current_owner()
        if self._owner == me:
            self._count += 1
            return True
        if acquire(): self._owner = me; self._count = 1; return True  # one-step: the owner is recorded on the line that takes the mutex
        return False

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
        if self._owner != current_owner():
            raise RuntimeError("cannot bump a reentrant mutex that this thread (or task) does not own")
        if self._count == 1 and self._mutex._parked:
            me = self._owner
            # One line: the owner is cleared only as the mutex is let go, and restored
            # as soon as it is ours again.  If the relock is interrupted, the thread
            # holds nothing and the record says so (owner 0, count 0).
            self._count = 0; self._owner = 0; self._mutex.bump(); self._owner = me; self._count = 1  # one-step: owner and count are cleared iff the mutex is let go, restored iff it is ours again

    def _release(self, fair: bool) -> None:
        if self._owner != current_owner():
            raise RuntimeError("cannot unlock a reentrant mutex that this thread (or task) does not own")
        if self._count > 1:
            self._count -= 1
            return
        if fair:
            self._count = 0; self._owner = 0; self._mutex.unlock_fair()  # one-step: the owner is cleared on the line that lets the mutex go
        else:
            self._count = 0; self._owner = 0; self._mutex.unlock()  # one-step: the owner is cleared on the line that lets the mutex go

    def is_locked(self) -> bool:
        """Whether some thread holds it."""
        return self._mutex.is_locked()

    def is_owned_by_current_thread(self) -> bool:
        """Whether this thread holds it (inside an asyncio task: whether this task does)."""
        return self._owner == current_owner()

    def __enter__(self) -> RawReentrantMutex:
        self.lock()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock()

    async def __aenter__(self) -> RawReentrantMutex:
        """``async with mutex:`` -- :meth:`lock_async`, then :meth:`unlock` at the block's end."""
        await self.lock_async()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock()

    def __repr__(self) -> str:
        if not self._mutex.is_locked():
            return f"<RawReentrantMutex unlocked at {id(self):#x}>"
        owner = self._owner
        who = f"thread {owner}" if isinstance(owner, int) else repr(owner)
        return f"<RawReentrantMutex locked by {who} x{self._count} at {id(self):#x}>"


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
    # The awaitable twins, as the blocking methods (the task is the owner).
    lock_async=special("reentrant acquires"), try_lock_for_async=special("reentrant acquires"),
    try_lock_until_async=special("reentrant acquires"), __aenter__=special("reentrant acquires"),
    __aexit__=special("reentrant releases"),
)
