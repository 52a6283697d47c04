"""RawRwLock: parking_lot's task-fair reader-writer lock (``raw_rwlock.rs``) on the Python parking lot.

The state is one 64-bit word (``_word``, made and changed only through
:mod:`parking_lot.raw._word`: a C ``int64_t`` changed by compare-and-swap loops in
compiled C, one call per transition, or its portable twin, an int under a small
lock object), with parking_lot's layout:

Each bit, its meaning, who changes it, and the rules that hold across bits
(every change is one atomic operation of :mod:`parking_lot.raw._word`; "bucket
lock" is the parking lot's lock of the key named):

``PARKED`` (0b0001)
    Some thread is parked, or about to park, on the main key.  Set by a parker's
    ``validate`` under the main key's bucket lock; cleared under that same bucket
    lock by the unpark callback that empties the queue, or by the last waiter to
    time out.  May be set with the queue empty (a parker that then found the lock
    free): that costs an unlock one ``unpark_filter``, which clears it.  Never
    clear while a thread is queued on the main key.
``WRITER_PARKED`` (0b0010)
    The holder of ``WRITER`` is parked, or about to park, on the second key
    (``id(self) + 1``), waiting for the readers to leave.  **Implies WRITER and
    readers > 0** when set.  Set by that writer's ``validate`` under the second
    key's bucket lock, only while readers remain; cleared by the last reader out
    (which then wakes the writer, under the second key's bucket lock) or by the
    writer itself when it gives ``WRITER`` back (timeout, exception).
``UPGRADABLE`` (0b0100)
    A reader holds the upgradable lock.  **Implies readers > 0** (the upgradable
    reader is counted among them) and **excludes WRITER**: an upgrade trades
    ``ONE_READER | UPGRADABLE`` for ``WRITER`` in one step, a writer takes
    ``WRITER`` only when ``UPGRADABLE`` is clear, and a second upgradable reader
    waits.  Set and cleared only by the upgradable reader's own lock, unlock,
    upgrade and downgrade (or by an unlock handing it over, ``TOKEN_UPGRADABLE``).
``WRITER`` (0b1000)
    With no readers: a writer holds the lock.  With readers: a writer (or an
    upgrader, which has given its read lock up) owns the right to the lock and
    waits for those readers to leave; no new reader may enter (except
    ``lock_shared_recursive``).  Set by a writer or upgrader (or handed to one,
    ``TOKEN_EXCLUSIVE``); cleared only by its holder: unlock, downgrade, or giving
    it back after a timeout or exception (together with ``WRITER_PARKED``).
readers (``>> 4``, units of ``ONE_READER``)
    How many read locks are held, the upgradable one included.  Incremented by a
    reader only while ``WRITER`` is clear (or by a hand-over that grants it);
    decremented by each reader's unlock; the last one out with ``WRITER_PARKED``
    set wakes the writer.

Task-fair: once a writer has set ``WRITER`` no new reader gets in (except
``lock_shared_recursive``, which may, so that a thread already reading cannot
deadlock behind the writer), so a stream of readers cannot starve a writer.
Writers and upgraders first take ``WRITER`` (or ``UPGRADABLE``) through the main
queue, then, for writers, wait on the second key for the readers to drain.  The
last reader out wakes that writer, clearing ``WRITER_PARKED`` under the second
key's bucket lock (parking_lot's fix #465).  Unlocks wake parked threads with
``unpark_filter``: all readers and at most one writer or upgrader; a fair unlock
(or the fairness timer) hands them the lock directly (``TOKEN_HANDOFF``).  A
writer that times out waiting for readers gives ``WRITER`` back and wakes the
threads it was holding off, upgraders included.

A *bump* is a fair unlock followed by a lock of the same mode, so it does
something only when some thread is waiting for the very hold being bumped.  Who
that can be depends on the mode held (as in parking_lot 0.12.5, which fixed
``bump_shared`` looking at ``PARKED`` alone):

==============  ==========================================  =====================
mode bumped     who can be waiting for this hold            a bump acts when
==============  ==========================================  =====================
exclusive       readers, writers, upgraders: main key       ``PARKED``
upgradable      writers and upgraders: main key (readers    ``PARKED``
                share with an upgradable reader)
shared          the holder of ``WRITER`` (a writer, or an   ``WRITER``
                upgrader that is upgrading), spinning or
                parked on the second key; those queued
                behind it on the main key come after it
==============  ==========================================  =====================

Threads on the main key while only readers hold the lock wait for an
upgradable reader or a writer, never for a plain read lock, so a shared bump
leaves them alone.  A shared unlock is always fair: the writer it lets in
already holds ``WRITER``, and nobody can barge past it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import TracebackType

from parking_lot.core import (
    FilterOp,
    SpinWait,
    TimedOut,
    Unparked,
    UnparkResult,
    deadline_ns,
    interrupted_result,
    park,
    park_async,
    unpark_filter,
    unpark_one,
)

from . import _word
from ._word import (
    load,
    new_word,
    rw_downgrade,
    rw_downgrade_upgradable,
    rw_give_writer_back,
    rw_set_parked_if,
    rw_take_writer,
    rw_try_exclusive,
    rw_try_shared,
    rw_try_shared_recursive,
    rw_try_upgradable,
    rw_try_upgrade,
    rw_unlock_exclusive,
    rw_unlock_shared,
    rw_unlock_upgradable,
    rw_unlock_upgradable_slow,
    rw_upgrade_take_writer,
    rw_writer_may_sleep,
    store,
)
from .mutex import TOKEN_HANDOFF, TOKEN_NORMAL

PARKED = 0b0001
WRITER_PARKED = 0b0010
UPGRADABLE = 0b0100
WRITER = 0b1000
READERS_MASK = ~0b1111
ONE_READER = 0b10000

TOKEN_SHARED = ONE_READER
TOKEN_EXCLUSIVE = WRITER
TOKEN_UPGRADABLE = ONE_READER | UPGRADABLE
_HANDED_OFF = Unparked(TOKEN_HANDOFF)
_WOKEN = Unparked(TOKEN_NORMAL)


class RawRwLock:
    """A reader-writer lock with upgradable reads; readers share, a writer excludes.

    >>> rw = RawRwLock()
    >>> rw.lock_shared(); rw.lock_shared(); rw.is_locked(), rw.is_locked_exclusive()
    (True, False)
    >>> rw.try_lock_exclusive()
    False
    >>> rw.unlock_shared(); rw.unlock_shared()
    >>> rw.lock_upgradable(); rw.upgrade(); rw.is_locked_exclusive()
    True
    >>> rw.downgrade(); rw.unlock_shared(); rw.is_locked()
    False
    """

    __slots__ = ("_word", "_key", "__weakref__")

    def __init__(self) -> None:
        self._word = new_word()
        self._key = id(self)

    @property
    def _state(self) -> int:
        """The state word's value now (an int with the layout above)."""
        return load(self._word)

    # --- introspection -----------------------------------------------------------------

    def is_locked(self) -> bool:
        """Whether anyone holds the lock in any mode."""
        return bool(self._state & ~(PARKED | WRITER_PARKED))

    def is_locked_exclusive(self) -> bool:
        """Whether a writer holds the lock (or is waiting for the readers to leave)."""
        return bool(self._state & WRITER)

    @property
    def readers(self) -> int:
        """How many readers (shared and upgradable) hold the lock."""
        return self._state >> 4

    # --- misuse: releasing or converting a hold nobody has ------------------------------------
    # Ownership is not recorded (as in Rust, where these methods are ``unsafe``), but a hold of
    # a mode that nobody has at all is caught before the state changes (DESIGN rule 7).

    @staticmethod
    def _holds_exclusive(state: int) -> bool:
        return bool(state & WRITER) and not state & READERS_MASK

    @staticmethod
    def _holds_shared(state: int) -> bool:
        # the upgradable reader is counted among the readers, but is not a plain reader
        return (state >> 4) > (1 if state & UPGRADABLE else 0)

    def _not_held(self, method: str, mode: str) -> RuntimeError:
        return RuntimeError(f"RawRwLock.{method}(): no thread holds the {mode} lock")

    # --- exclusive ---------------------------------------------------------------------

    def _take_writer_bit(self, writer: _word.Word) -> bool:
        # Even if threads are parked; readers may still drain.  WRITER is taken iff recorded
        # in `writer`: one operation of _word (a C call, or one-step under the portable lock).
        return bool(rw_take_writer(self._word, writer))

    def try_lock_exclusive(self) -> bool:
        """Take the write lock if nobody holds the lock at all."""
        return rw_try_exclusive(self._word) == 1  # one operation: WRITER is taken iff 1

    def lock_exclusive(self) -> None:
        """Block until this thread holds the write lock."""
        if not self.try_lock_exclusive():
            self._lock_exclusive_slow(None)

    def try_lock_exclusive_for(self, timeout: float) -> bool:
        """Take the write lock within *timeout* seconds; False if the time ran out first.

        A timeout too far away to matter (``inf``, ``1e300``) waits without one.
        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self.try_lock_exclusive() or self._lock_exclusive_slow(until_ns)

    def try_lock_exclusive_until(self, deadline: float) -> bool:
        """Take the write lock before the ``time.monotonic()`` *deadline*; False if it passed first.

        *deadline* is in seconds, on the clock of ``time.monotonic()``; a past one never sleeps,
        once, a far one (``inf``) waits without one.  Raises TypeError (not a number) or
        ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self.try_lock_exclusive() or self._lock_exclusive_slow(until_ns)

    def _lock_exclusive_slow(self, until_ns: int | None) -> bool:
        # Step 1: own WRITER (through the main queue). Step 2: wait for readers to leave.
        # `writer` (a word: 1 while this call owns WRITER) is set by the operation that takes
        # WRITER, so that any exception, wherever it lands, gives WRITER back.
        writer = new_word()
        try:
            take = partial(self._take_writer_bit, writer)
            if not self._lock_common(until_ns, TOKEN_EXCLUSIVE, take, WRITER | UPGRADABLE, writer):
                return False
            return self._wait_for_readers(until_ns, 0, writer)
        except BaseException:
            self._abandon_writer(0, writer)
            raise

    async def _lock_exclusive_slow_async(self, until_ns: int | None) -> bool:
        # _lock_exclusive_slow for a task: the same two steps, awaited.
        writer = new_word()
        try:
            take = partial(self._take_writer_bit, writer)
            if not await self._lock_common_async(until_ns, TOKEN_EXCLUSIVE, take, WRITER | UPGRADABLE, writer):
                return False
            return await self._wait_for_readers_async(until_ns, 0, writer)
        except BaseException:
            self._abandon_writer(0, writer)
            raise

    # The awaitable twins (the twin of a blocking method ``m`` is ``m_async``): the same
    # arguments, results and errors; a task waits in the same queues as threads, without
    # blocking its loop.  Cancelled while waiting, it leaves with nothing held: what an
    # unlock had already handed it is given back, a wake-up meant for it passed on.

    async def lock_exclusive_async(self) -> None:
        """The twin of :meth:`lock_exclusive`: await the write lock (RuntimeError when no loop runs)."""
        if not self.try_lock_exclusive():
            await self._lock_exclusive_slow_async(None)

    async def try_lock_exclusive_for_async(self, timeout: float) -> bool:
        """The twin of :meth:`try_lock_exclusive_for`: True if the write lock was had within *timeout* seconds.

        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self.try_lock_exclusive() or await self._lock_exclusive_slow_async(until_ns)

    async def try_lock_exclusive_until_async(self, deadline: float) -> bool:
        """The twin of :meth:`try_lock_exclusive_until`: True if had before the ``time.monotonic()`` *deadline*.

        Raises TypeError (not a number) or ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self.try_lock_exclusive() or await self._lock_exclusive_slow_async(until_ns)

    def unlock_exclusive(self) -> None:
        """Release the write lock, waking the threads parked on it.

        Readers and at most one writer or upgrader are woken; about once a millisecond
        (eventual fairness) the lock is handed to them instead of released.  Ownership is
        not recorded (in Rust the method is ``unsafe``): RuntimeError, before anything
        changes, if no thread holds the write lock.  Port of ``unlock_exclusive``
        in parking_lot's ``src/raw_rwlock.rs``.
        """
        fast = rw_unlock_exclusive(self._word)  # one operation: WRITER -> 0 (0), parked threads (1), not held (-1)
        if fast:
            if fast < 0:
                raise self._not_held("unlock_exclusive", "write")
            self._unlock_exclusive_slow(False)

    def unlock_exclusive_fair(self) -> None:
        """Release the write lock, handing it to the threads parked on it if there are any.

        Those threads hold the lock when this returns, so a thread that re-locks at once
        cannot barge ahead of them.  RuntimeError if no thread holds the write lock (as
        :meth:`unlock_exclusive`).  Port of ``unlock_exclusive_fair`` (``RawRwLockFair``)
        in parking_lot's ``src/raw_rwlock.rs``.
        """
        fast = rw_unlock_exclusive(self._word)
        if fast:
            if fast < 0:
                raise self._not_held("unlock_exclusive_fair", "write")
            self._unlock_exclusive_slow(True)

    def _unlock_exclusive_slow(self, force_fair: bool) -> None:
        def callback(new_state: int, result: UnparkResult) -> int:
            # Under the main key's bucket lock, with WRITER held: nobody else changes the word
            # but readers' failed attempts, so a store is the whole step (as in Rust).
            if result.unparked_threads and (force_fair or result.be_fair):
                store(self._word, new_state | (PARKED if result.have_more_threads else 0))
                return TOKEN_HANDOFF
            store(self._word, PARKED if result.have_more_threads else 0)
            return TOKEN_NORMAL

        self._wake_parked_threads(0, callback)

    def bump_exclusive(self) -> None:
        """``unlock_exclusive_fair()`` then ``lock_exclusive()``, if any thread waits for the lock.

        Every thread that waits for a writer waits on the main key (``PARKED``).
        The threads handed the lock (all waiting readers and one upgrader, or
        one writer) have it before this returns.  As in parking_lot's
        ``RawRwLockFair::bump_exclusive``.  RuntimeError if no thread holds the write lock.
        """
        state = self._state
        if not self._holds_exclusive(state):
            raise self._not_held("bump_exclusive", "write")
        if state & PARKED:
            self._unlock_exclusive_slow(True)
            self.lock_exclusive()

    def downgrade(self) -> None:
        """Turn the write lock into a read lock, waking readers that waited."""
        state = rw_downgrade(self._word, ONE_READER)  # one operation: the old state, or -1 (not held)
        if state < 0:
            raise self._not_held("downgrade", "write")
        if state & PARKED:
            self._wake_parked_threads(ONE_READER, self._clear_parked_unless_more)

    def downgrade_to_upgradable(self) -> None:
        """Turn the write lock into an upgradable read lock, waking readers that waited."""
        state = rw_downgrade(self._word, ONE_READER | UPGRADABLE)
        if state < 0:
            raise self._not_held("downgrade_to_upgradable", "write")
        if state & PARKED:
            self._wake_parked_threads(ONE_READER | UPGRADABLE, self._clear_parked_unless_more)

    # --- shared ------------------------------------------------------------------------

    def _try_shared(self) -> bool:
        return rw_try_shared(self._word) == 1  # one operation: a read lock is taken iff 1

    def _try_shared_recursive(self) -> bool:
        return rw_try_shared_recursive(self._word) == 1

    def try_lock_shared(self) -> bool:
        """Take a read lock unless a writer holds or waits for the lock."""
        return rw_try_shared(self._word) == 1

    def lock_shared(self) -> None:
        """Block until this thread holds a read lock (queued behind a waiting writer)."""
        if not rw_try_shared(self._word):
            self._lock_common(None, TOKEN_SHARED, self._try_shared, WRITER)

    def lock_shared_recursive(self) -> None:
        """A read lock even while a writer waits, provided readers still hold it.

        For a thread that already reads: a plain ``lock_shared`` would queue behind
        the waiting writer, which waits for this very thread, a deadlock.
        """
        if not rw_try_shared_recursive(self._word):
            self._lock_common(None, TOKEN_SHARED, self._try_shared_recursive, WRITER)

    def try_lock_shared_for(self, timeout: float) -> bool:
        """Take a read lock within *timeout* seconds; False if the time ran out first.

        A timeout too far away to matter (``inf``, ``1e300``) waits without one.
        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self._try_shared() or self._lock_common(until_ns, TOKEN_SHARED, self._try_shared, WRITER)

    def try_lock_shared_until(self, deadline: float) -> bool:
        """Take a read lock before the ``time.monotonic()`` *deadline*; False if it passed first.

        *deadline* is in seconds, on the clock of ``time.monotonic()``; a past one never sleeps,
        once, a far one (``inf``) waits without one.  Raises TypeError (not a number) or
        ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self._try_shared() or self._lock_common(until_ns, TOKEN_SHARED, self._try_shared, WRITER)

    async def lock_shared_async(self) -> None:
        """The twin of :meth:`lock_shared`: await a read lock (queued behind a waiting writer)."""
        if not self._try_shared():
            await self._lock_common_async(None, TOKEN_SHARED, self._try_shared, WRITER)

    async def lock_shared_recursive_async(self) -> None:
        """The twin of :meth:`lock_shared_recursive`: a read lock even while a writer waits, if readers hold it."""
        if not self._try_shared_recursive():
            await self._lock_common_async(None, TOKEN_SHARED, self._try_shared_recursive, WRITER)

    async def try_lock_shared_for_async(self, timeout: float) -> bool:
        """The twin of :meth:`try_lock_shared_for`: True if a read lock was had within *timeout* seconds.

        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self._try_shared() or await self._lock_common_async(
            until_ns, TOKEN_SHARED, self._try_shared, WRITER)

    async def try_lock_shared_until_async(self, deadline: float) -> bool:
        """The twin of :meth:`try_lock_shared_until`: True if had before the ``time.monotonic()`` *deadline*.

        Raises TypeError (not a number) or ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self._try_shared() or await self._lock_common_async(
            until_ns, TOKEN_SHARED, self._try_shared, WRITER)

    def unlock_shared(self) -> None:
        """Release a read lock; the last reader out wakes a writer waiting for the readers.

        Ownership is not recorded (in Rust the method is ``unsafe``): RuntimeError,
        before anything changes, if no thread holds a plain read lock.  Port of
        ``unlock_shared`` in parking_lot's ``src/raw_rwlock.rs``.
        """
        wake = rw_unlock_shared(self._word)  # one operation: released (0), and the writer to wake (1), or not held (-1)
        if wake:
            if wake < 0:
                raise self._not_held("unlock_shared", "read")
            self._wake_writer()

    def _wake_writer(self) -> None:
        # The last reader left and a writer is parked on the second key: wake it,
        # clearing WRITER_PARKED under that key's bucket lock (parking_lot #465).
        def callback(result: UnparkResult) -> int:
            _word.fetch_and(self._word, ~WRITER_PARKED)
            return TOKEN_NORMAL

        unpark_one(self._key + 1, callback)

    def unlock_shared_fair(self) -> None:
        """Release a read lock; the same as :meth:`unlock_shared`, which is always fair.

        The only thread a reader's leaving can let in is the one holding ``WRITER``
        (see the module's table), and no other thread can take the lock from it.
        """
        self.unlock_shared()

    def bump_shared(self) -> None:
        """``unlock_shared_fair()`` then ``lock_shared()``, if a writer or upgrader waits for the readers.

        A thread holding ``WRITER`` (a writer, or an upgrader in ``upgrade()``)
        waits for the readers to leave, on the second key, where ``PARKED`` does
        not show it.  The bump lets it in and returns only after it has had the
        write lock and released it (or given ``WRITER`` back on a timeout).  If
        other readers are still inside, that means waiting for them too, exactly
        as an unlock and a lock would: a thread that holds a second read lock of
        this lock must not bump one of them (the writer would wait for the other
        forever).  Otherwise returns at once.  parking_lot 0.12.5 made its
        ``bump_shared`` test ``WRITER`` for the same reason, but only for the last
        reader; here any reader's bump is the unlock and lock it stands for.
        """
        state = self._state
        if not self._holds_shared(state):
            raise self._not_held("bump_shared", "read")
        if state & WRITER:
            self.unlock_shared()
            self.lock_shared()

    # --- upgradable --------------------------------------------------------------------

    def _try_upgradable(self) -> bool:
        return rw_try_upgradable(self._word) == 1  # one operation: the upgradable lock is taken iff 1

    def try_lock_upgradable(self) -> bool:
        """Take the upgradable read lock (one at a time; readers may share with it)."""
        return self._try_upgradable()

    def lock_upgradable(self) -> None:
        """Block until this thread holds the upgradable read lock.

        Shares with plain readers, excludes writers and other upgradable readers; a
        later :meth:`upgrade` turns it into the write lock.  Port of ``lock_upgradable``
        in parking_lot's ``src/raw_rwlock.rs``.
        """
        if not self._try_upgradable():
            self._lock_common(None, TOKEN_UPGRADABLE, self._try_upgradable, WRITER | UPGRADABLE)

    def try_lock_upgradable_for(self, timeout: float) -> bool:
        """Take the upgradable read lock within *timeout* seconds; False if the time ran out first.

        A timeout too far away to matter (``inf``, ``1e300``) waits without one.
        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self._try_upgradable() or self._lock_common(until_ns, TOKEN_UPGRADABLE, self._try_upgradable, WRITER | UPGRADABLE)

    def try_lock_upgradable_until(self, deadline: float) -> bool:
        """Take the upgradable read lock before the ``time.monotonic()`` *deadline*; False if it passed first.

        *deadline* is in seconds, on the clock of ``time.monotonic()``; a past one never sleeps,
        once, a far one (``inf``) waits without one.  Raises TypeError (not a number) or
        ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self._try_upgradable() or self._lock_common(until_ns, TOKEN_UPGRADABLE, self._try_upgradable, WRITER | UPGRADABLE)

    async def lock_upgradable_async(self) -> None:
        """The twin of :meth:`lock_upgradable`: await the upgradable read lock."""
        if not self._try_upgradable():
            await self._lock_common_async(None, TOKEN_UPGRADABLE, self._try_upgradable, WRITER | UPGRADABLE)

    async def try_lock_upgradable_for_async(self, timeout: float) -> bool:
        """The twin of :meth:`try_lock_upgradable_for`: True if had within *timeout* seconds.

        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self._try_upgradable() or await self._lock_common_async(
            until_ns, TOKEN_UPGRADABLE, self._try_upgradable, WRITER | UPGRADABLE)

    async def try_lock_upgradable_until_async(self, deadline: float) -> bool:
        """The twin of :meth:`try_lock_upgradable_until`: True if had before the ``time.monotonic()`` *deadline*.

        Raises TypeError (not a number) or ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self._try_upgradable() or await self._lock_common_async(
            until_ns, TOKEN_UPGRADABLE, self._try_upgradable, WRITER | UPGRADABLE)

    def unlock_upgradable(self) -> None:
        """Release the upgradable read lock, waking the threads parked on it.

        As :meth:`unlock_exclusive`, eventual fairness included.  RuntimeError if no
        thread holds the upgradable lock (ownership is not recorded; in Rust the method is ``unsafe``).  Port of
        ``unlock_upgradable`` in parking_lot's ``src/raw_rwlock.rs``.
        """
        self._unlock_upgradable(False)

    def unlock_upgradable_fair(self) -> None:
        """Release the upgradable read lock, handing it to the threads parked on it if any.

        As :meth:`unlock_exclusive_fair`.  RuntimeError if no thread holds the upgradable lock.  Port of ``unlock_upgradable_fair`` (``RawRwLockUpgradeFair``) in
        parking_lot's ``src/raw_rwlock.rs``.
        """
        self._unlock_upgradable(True)

    def _unlock_upgradable(self, force_fair: bool) -> None:
        fast = rw_unlock_upgradable(self._word)  # one operation: released (0), parked threads (1), not held (-1)
        if not fast:
            return
        if fast < 0:
            raise self._not_held("unlock_upgradable" + ("_fair" if force_fair else ""), "upgradable")

        def callback(new_state: int, result: UnparkResult) -> int:
            parked = PARKED if result.have_more_threads else 0
            if result.unparked_threads and (force_fair or result.be_fair):
                rw_unlock_upgradable_slow(self._word, new_state, parked)
                return TOKEN_HANDOFF
            rw_unlock_upgradable_slow(self._word, 0, parked)
            return TOKEN_NORMAL

        self._wake_parked_threads(0, callback)

    def bump_upgradable(self) -> None:
        """``unlock_upgradable_fair()`` then ``lock_upgradable()``, if any thread waits for the lock.

        Those that can wait for an upgradable reader (writers, upgraders) wait on
        the main key (``PARKED``); the one handed the lock has it before this
        returns.  As in parking_lot's ``bump_upgradable``.
        """
        state = self._state
        if not state & UPGRADABLE:
            raise self._not_held("bump_upgradable", "upgradable")
        if state & PARKED:
            self._unlock_upgradable(True)
            self.lock_upgradable()

    def downgrade_upgradable(self) -> None:
        """Turn the upgradable lock into a plain read lock (another thread may then upgrade)."""
        state = rw_downgrade_upgradable(self._word)  # one operation: the old state, or -1 (not held)
        if state < 0:
            raise self._not_held("downgrade_upgradable", "upgradable")
        if state & PARKED:
            self._wake_parked_threads(0, self._clear_parked_unless_more)

    def try_upgrade(self) -> bool:
        """Upgrade to the write lock if no other reader holds the lock; never blocks."""
        upgraded = rw_try_upgrade(self._word)  # one operation: the upgrade happens iff 1 (-1: not held)
        if upgraded < 0:
            raise self._not_held("try_upgrade", "upgradable")
        return upgraded == 1

    def upgrade(self) -> None:
        """Turn the upgradable lock into the write lock, waiting for the other readers to leave."""
        if not self.try_upgrade():
            self._upgrade_slow(None)

    def try_upgrade_for(self, timeout: float) -> bool:
        """Upgrade to the write lock within *timeout* seconds; False if the time ran out first.

        A timeout too far away to matter (``inf``, ``1e300``) waits without one.
        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self.try_upgrade() or self._upgrade_slow(until_ns)

    def try_upgrade_until(self, deadline: float) -> bool:
        """Upgrade to the write lock before the ``time.monotonic()`` *deadline*; False if it passed first.

        *deadline* is in seconds, on the clock of ``time.monotonic()``; a past one never sleeps,
        once, a far one (``inf``) waits without one.  Raises TypeError (not a number) or
        ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self.try_upgrade() or self._upgrade_slow(until_ns)

    async def upgrade_async(self) -> None:
        """The twin of :meth:`upgrade`: await the other readers' leaving, then hold the write lock.

        RuntimeError if no thread or task holds the upgradable lock.  Cancelled while waiting,
        the task keeps the upgradable read lock it had (as at a timeout).
        """
        if not self.try_upgrade():
            await self._upgrade_slow_async(None)

    async def try_upgrade_for_async(self, timeout: float) -> bool:
        """The twin of :meth:`try_upgrade_for`: True if upgraded within *timeout* seconds (else still upgradable).

        Raises TypeError (not a number) or ValueError (negative, NaN) before anything changes.
        """
        until_ns = deadline_ns(timeout, None)
        return self.try_upgrade() or await self._upgrade_slow_async(until_ns)

    async def try_upgrade_until_async(self, deadline: float) -> bool:
        """The twin of :meth:`try_upgrade_until`: True if upgraded before the ``time.monotonic()`` *deadline*.

        Raises TypeError (not a number) or ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)
        return self.try_upgrade() or await self._upgrade_slow_async(until_ns)

    async def _upgrade_slow_async(self, until_ns: int | None) -> bool:
        # _upgrade_slow for a task: the same trade, the wait for the readers awaited.
        writer = new_word()
        try:
            # The trade of _upgrade_slow: WRITER is taken iff recorded in `writer`, one operation.
            rw_upgrade_take_writer(self._word, writer)
            return await self._wait_for_readers_async(until_ns, ONE_READER | UPGRADABLE, writer)
        except BaseException:
            self._abandon_writer(ONE_READER | UPGRADABLE, writer)
            raise

    def _upgrade_slow(self, until_ns: int | None) -> bool:
        writer = new_word()  # as in _lock_exclusive_slow
        try:
            # Trade the upgradable read lock for WRITER; readers still inside drain out.  WRITER is
            # taken iff recorded in `writer`: one operation.
            rw_upgrade_take_writer(self._word, writer)
            return self._wait_for_readers(until_ns, ONE_READER | UPGRADABLE, writer)
        except BaseException:
            self._abandon_writer(ONE_READER | UPGRADABLE, writer)
            raise

    # --- the shared slow paths ---------------------------------------------------------

    def _lock_common(
        self,
        until_ns: int | None,
        token: int,
        try_lock: Callable[[], bool],
        validate_flags: int,
        writer: _word.Word | None = None,
    ) -> bool:
        spin = SpinWait()
        validate = partial(self._may_park, validate_flags)
        while True:
            if try_lock():
                return True
            if not self._state & (PARKED | WRITER_PARKED) and spin.spin():
                continue
            result = None
            try:
                result = park(self._key, validate, None, self._clear_parked_if_last, token, deadline_ns=until_ns)
                if result == _HANDED_OFF:
                    if writer is not None:
                        store(writer, 1)  # handed WRITER: the caller's to give back on failure
                    return True
            except BaseException as exc:
                self._interrupted(result, exc, token, writer)
                raise
            if result is TimedOut:
                return False
            spin.reset()

    async def _lock_common_async(
        self,
        until_ns: int | None,
        token: int,
        try_lock: Callable[[], bool],
        validate_flags: int,
        writer: _word.Word | None = None,
    ) -> bool:
        """The task's :meth:`_lock_common`: the same callbacks, ``await park_async`` for ``park``, no spinning."""
        validate = partial(self._may_park, validate_flags)
        while True:
            if try_lock():
                return True
            result = None
            try:
                result = await park_async(self._key, validate, None, self._clear_parked_if_last, token, deadline_ns=until_ns)
                if result == _HANDED_OFF:
                    if writer is not None:
                        store(writer, 1)  # handed WRITER: the caller's to give back on failure
                    return True
            except BaseException as exc:
                self._interrupted(result, exc, token, writer)
                raise
            if result is TimedOut:
                return False

    def _may_park(self, validate_flags: int) -> bool:
        # validate for the main key, under its bucket lock: park only while a flag of
        # *validate_flags* still bars this lock, announcing ourselves with PARKED.
        # 0: the lock became available, do not sleep; 1: PARKED set (one operation).
        return rw_set_parked_if(self._word, validate_flags) == 1

    def _interrupted(self, result: object, exc: BaseException, token: int, writer: _word.Word | None) -> None:
        """An exception (Ctrl-C, a task's cancellation) while parked on the main key or just after.

        Handed the lock (``TOKEN_HANDOFF``): a writer records WRITER for its caller to give
        back, anyone else releases what it was handed.  Woken to retry (``TOKEN_NORMAL``) by
        an unlock that woke only some of the waiters: a reader or upgrader wakes the waiters
        in its place (a writer's caller does, in ``_abandon_writer``), so none sleeps on a
        lock that is free for it.
        """
        ended = interrupted_result(exc)
        handed = result == _HANDED_OFF or ended == _HANDED_OFF
        if handed and writer is not None:
            store(writer, 1)  # the caller gives WRITER back
        elif handed:
            self._release_token(token)  # handed a read lock we will not use
        elif ended == _WOKEN and writer is None:
            self._wake_after_writer_left(0)

    def _release_token(self, token: int) -> None:
        if token == TOKEN_UPGRADABLE:
            self.unlock_upgradable()
        else:
            self.unlock_shared()

    def _wait_for_readers(self, until_ns: int | None, prev_value: int, writer: _word.Word) -> bool:
        """With WRITER held: wait until no reader is left, or until the ``time.monotonic_ns()``
        deadline *until_ns* (None: none).  On timeout, give WRITER back."""
        spin = SpinWait()
        while load(self._word) & READERS_MASK:
            if spin.spin():
                continue
            # Unparked or Invalid: look again (a timed-out writer may have let a reader in).
            if park(self._key + 1, self._writer_may_sleep, None, None, TOKEN_EXCLUSIVE, deadline_ns=until_ns) is TimedOut:
                self._give_writer_back(prev_value, writer)
                return False
        return True

    async def _wait_for_readers_async(self, until_ns: int | None, prev_value: int, writer: _word.Word) -> bool:
        """The task's :meth:`_wait_for_readers`: the same callback, awaited, no spinning."""
        while load(self._word) & READERS_MASK:
            if await park_async(self._key + 1, self._writer_may_sleep, None, None, TOKEN_EXCLUSIVE, deadline_ns=until_ns) is TimedOut:
                self._give_writer_back(prev_value, writer)
                return False
        return True

    def _writer_may_sleep(self) -> bool:
        # validate for the second key, under its bucket lock: WRITER_PARKED is set iff 1 (the
        # writer parks), one operation.
        return rw_writer_may_sleep(self._word) == 1

    def _abandon_writer(self, prev_value: int, writer: _word.Word) -> None:
        """An exception is leaving a writer's (or upgrader's) slow path: undo WRITER if we own it."""
        if load(writer):
            self._give_writer_back(prev_value, writer)
        else:  # never had it, or already gave it back: a wake that may have been cut short
            self._wake_after_writer_left(prev_value)

    def _give_writer_back(self, prev_value: int, writer: _word.Word) -> None:
        # Release WRITER (and WRITER_PARKED), restore what we held before (an upgradable
        # read lock, for an upgrade), and wake the threads WRITER was holding off.  WRITER is
        # given back iff the record in `writer` is cleared: one operation.
        rw_give_writer_back(self._word, prev_value, writer)
        self._wake_after_writer_left(prev_value)

    def _wake_after_writer_left(self, prev_value: int) -> None:
        if load(self._word) & PARKED:
            self._wake_parked_threads(ONE_READER | UPGRADABLE if prev_value else 0, self._clear_parked_unless_more)

    def _wake_parked_threads(self, new_state: int, callback: Callable[[int, UnparkResult], int]) -> None:
        granted = [new_state]

        def filter_(token: int) -> FilterOp:
            state = granted[0]
            if state & WRITER:
                return FilterOp.Stop  # waking a writer: nobody else
            if token & (UPGRADABLE | WRITER) and state & UPGRADABLE:
                return FilterOp.Skip  # one writer or upgrader at most
            granted[0] = state + token
            return FilterOp.Unpark

        unpark_filter(self._key, filter_, lambda result: callback(granted[0], result))

    def _clear_parked_unless_more(self, new_state: int, result: UnparkResult) -> int:
        if not result.have_more_threads:
            _word.fetch_and(self._word, ~PARKED)
        return TOKEN_NORMAL

    def _clear_parked_if_last(self, key: int, was_last_thread: bool) -> None:
        if was_last_thread:
            _word.fetch_and(self._word, ~PARKED)

    # --- context manager: the write lock ------------------------------------------------

    def __enter__(self) -> RawRwLock:
        self.lock_exclusive()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock_exclusive()

    async def __aenter__(self) -> RawRwLock:
        """``async with rwlock:`` -- the write lock, as ``with``: :meth:`lock_exclusive_async`."""
        await self.lock_exclusive_async()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock_exclusive()

    def __repr__(self) -> str:
        state = self._state
        if state & WRITER and not state & READERS_MASK:
            mode = "write-locked"
        elif state & READERS_MASK:
            mode = f"read-locked by {state >> 4}" + (" (one upgradable)" if state & UPGRADABLE else "")
            if state & WRITER:
                mode += ", a writer waiting"
        else:
            mode = "unlocked"
        return f"<RawRwLock {mode} at {id(self):#x}>"


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# Every mode is a hold of the one key; a writer waiting for the readers parks on key + 1 and is
# counted as waiting for the lock.  Upgrades and downgrades keep the lock held, in another mode.

from ._tracking import TRANSPARENT, acquires, changes_mode, declare, own_key, reacquires, releases  # noqa: E402

declare(
    RawRwLock,
    lock_exclusive=acquires(own_key), lock_shared=acquires(own_key), lock_shared_recursive=acquires(own_key),
    __enter__=acquires(own_key),
    try_lock_exclusive=acquires(own_key, conditional=True),
    try_lock_exclusive_for=acquires(own_key, conditional=True),
    try_lock_exclusive_until=acquires(own_key, conditional=True),
    try_lock_shared=acquires(own_key, conditional=True),
    try_lock_shared_for=acquires(own_key, conditional=True),
    try_lock_shared_until=acquires(own_key, conditional=True),
    lock_upgradable=acquires(own_key, upgradable=True),
    try_lock_upgradable=acquires(own_key, conditional=True, upgradable=True),
    try_lock_upgradable_for=acquires(own_key, conditional=True, upgradable=True),
    try_lock_upgradable_until=acquires(own_key, conditional=True, upgradable=True),
    unlock_exclusive=releases(own_key, exclusive=True), unlock_exclusive_fair=releases(own_key, exclusive=True),
    __exit__=releases(own_key, exclusive=True),
    unlock_shared=releases(own_key, exclusive=False), unlock_shared_fair=releases(own_key, exclusive=False),
    unlock_upgradable=releases(own_key, exclusive=False, upgradable=True),
    unlock_upgradable_fair=releases(own_key, exclusive=False, upgradable=True),
    bump_exclusive=reacquires(own_key, exclusive=True),
    bump_shared=reacquires(own_key, exclusive=False),
    bump_upgradable=reacquires(own_key, exclusive=False, upgradable=True),
    upgrade=changes_mode(own_key, holds_upgradable=False),
    try_upgrade=changes_mode(own_key, holds_upgradable=False),
    try_upgrade_for=changes_mode(own_key, holds_upgradable=False),
    try_upgrade_until=changes_mode(own_key, holds_upgradable=False),
    downgrade_upgradable=changes_mode(own_key, holds_upgradable=False),
    downgrade_to_upgradable=changes_mode(own_key, holds_upgradable=True),
    downgrade=TRANSPARENT,  # still held, not upgradable: nothing to record
    is_locked=TRANSPARENT, is_locked_exclusive=TRANSPARENT,
    # The awaitable twins, as the blocking methods (recorded for the task that awaits them).
    lock_exclusive_async=acquires(own_key), lock_shared_async=acquires(own_key),
    lock_shared_recursive_async=acquires(own_key), __aenter__=acquires(own_key),
    try_lock_exclusive_for_async=acquires(own_key, conditional=True),
    try_lock_exclusive_until_async=acquires(own_key, conditional=True),
    try_lock_shared_for_async=acquires(own_key, conditional=True),
    try_lock_shared_until_async=acquires(own_key, conditional=True),
    lock_upgradable_async=acquires(own_key, upgradable=True),
    try_lock_upgradable_for_async=acquires(own_key, conditional=True, upgradable=True),
    try_lock_upgradable_until_async=acquires(own_key, conditional=True, upgradable=True),
    upgrade_async=changes_mode(own_key, holds_upgradable=False),
    try_upgrade_for_async=changes_mode(own_key, holds_upgradable=False),
    try_upgrade_until_async=changes_mode(own_key, holds_upgradable=False),
    __aexit__=releases(own_key, exclusive=True),
)
