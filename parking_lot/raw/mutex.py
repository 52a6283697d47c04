"""RawMutex and RawFairMutex: the port of parking_lot's ``raw_mutex.rs`` onto the Python parking lot.

Rust keeps a mutex in one atomic byte, LOCKED_BIT | PARKED_BIT, and takes it with
one compare-and-swap.  Python has no CAS that costs less than a lock, so the
LOCKED bit *is* a lock object (``_thread.lock``, whose non-blocking
``acquire`` is a test-and-set in C, ~40 ns) and the PARKED bit is a plain
attribute that only changes under the parking lot's bucket lock for this
mutex's key (``id(self)``).

The two bits, as ``raw_mutex.rs`` tabulates them (a thread "holds" the mutex
when it owns LOCKED; the bucket lock is the one of ``id(self)``):

=========  ========  ==========================================================
LOCKED     PARKED    meaning
=========  ========  ==========================================================
free       False     unlocked, nobody queued: the fast paths are enough
held       False     locked, nobody queued: ``unlock`` just releases
held       True      locked, threads queued (or about to queue): ``unlock``
                     goes through ``unpark_one``
free       True      released, and a thread queued or is about to be woken:
                     transient (the unlocker's ``_wake_one``, or a parker's
                     ``validate`` that finds LOCKED free), or left by a waiter
                     that gave up while others remain
=========  ========  ==========================================================

Who changes which bit, and under what:

* LOCKED is set by whoever takes it (a test-and-set, no other lock needed) and
  cleared by the holder's unlock, either on the fast path (no bucket lock) or in
  ``_unlock_slow``'s callback (under the bucket lock).  A hand-over
  (``TOKEN_HANDOFF``) leaves it set: ownership passes without a release.
* PARKED is written *only under the bucket lock*: set by a parker's ``validate``
  (before it looks at LOCKED once more), by the condvar through
  :meth:`RawMutex._mark_parked_if_locked` and :meth:`RawMutex._mark_parked` while
  it moves its waiters onto this key, and set to ``have_more_threads`` by every
  unpark callback and by the last waiter to time out.  It is *read* without the
  bucket lock only by the fast unlock, which is the handshake below.

PARKED may be set while nobody is queued (a parker whose ``validate`` then saw
LOCKED free, or an unpark that raced it): that only costs the next unlock a
trip through ``unpark_one``, which finds the queue empty and clears it.  The
converse, a thread queued with PARKED clear, must never be seen by an unlock:
that thread would sleep with nobody to wake it.

The one subtle point is the fast unlock, which reads PARKED without the bucket
lock.  A thread about to park sets PARKED and *then* tries to take LOCKED, both
inside ``validate`` (under the bucket lock); the unlocker releases LOCKED and
*then* checks PARKED.  Both middle steps are atomic read-modify-writes on the
lock object, which order the surrounding store and load on every memory
model.  Whichever runs second sees the other's write, so either the
parker sees the mutex free and retries instead of sleeping, or the unlocker sees
PARKED and calls ``unpark_one``, which waits for that bucket lock and so finds
the parker queued.  No wake-up is lost.

That handshake, and the fast lock, are *defined once*, by :meth:`RawMutex.unlock`
and :meth:`RawMutex.lock`.  The hottest callers (``MutexGuard.__exit__``,
``compat.Lock``, ``compat.RLock``) carry inlined copies, since a method call costs
as much as the whole fast path; each copy says so in a comment, and
``tests/test_raw_mutex.py`` drives every copy and the definition through the same
interleavings and fails if one of them acts differently.

Fairness (parking_lot's eventual fairness): when a thread is parked, ``unlock``
goes through ``unpark_one`` *before* releasing; if the bucket's fairness timer
has fired (``be_fair``, about once a millisecond) or the unlock is explicitly
fair, the mutex is handed to the woken thread without ever being released
(``TOKEN_HANDOFF``), so a thread that keeps re-locking cannot starve the queue.
``be_fair`` is also set when the woken thread is a condvar waiter that a notify
moved onto this mutex's queue: it has waited once already, and handed the mutex
it need not compete for it (a ``notify_all`` to 16 waiters measured 0.30x
threading's without the hand-off, 0.44x with it; docs/architecture.md).
"""

from __future__ import annotations

import _thread
import os
from types import TracebackType

from parking_lot.core import (
    SpinWait,
    TimedOut,
    Unparked,
    UnparkResult,
    deadline_ns,
    interrupted_result,
    park,
    park_async,
    unpark_one,
)

# The barrier of _mark_parked_if_locked (any lock object's acquire/release is one).
_fence = _thread.allocate_lock()


def _new_fence_after_fork() -> None:
    # A thread that did not survive the fork may have been inside `with _fence` (DESIGN rule 4).
    global _fence
    _fence = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_fence_after_fork)

#: Unpark tokens: the mutex was released (retry), or handed to you (you own it).
TOKEN_NORMAL = 0
TOKEN_HANDOFF = 1
_HANDED_OFF = Unparked(TOKEN_HANDOFF)
_WOKEN = Unparked(TOKEN_NORMAL)


class RawMutex:
    """A mutual-exclusion lock with no data, on the parking lot.

    >>> m = RawMutex()
    >>> m.lock(); m.is_locked()
    True
    >>> m.try_lock()
    False
    >>> m.unlock(); m.is_locked()
    False
    >>> with m:
    ...     m.is_locked()
    True

    Unlike ``threading.Lock`` it spins briefly before it sleeps, hands itself to
    a waiter fairly about once a millisecond (``unlock_fair`` always), and is
    released by whoever holds it (ownership is not checked, as in parking_lot).
    """

    __slots__ = ("_locked", "_parked", "_key", "__weakref__")
    #: Whether every unlock hands the mutex over (RawFairMutex); read by inlined unlocks.
    _always_fair = False

    def __init__(self) -> None:
        self._locked = _thread.allocate_lock()  # the LOCKED bit
        self._parked = False  # the PARKED bit: written only under the bucket lock of _key
        self._key = id(self)

    @classmethod
    def _inside(cls, owner: object) -> RawMutex:
        """A raw mutex that a face object (``compat.Lock``) keeps as its state, parked on ``id(owner)``.

        The key is the one the user can see (``parking_lot.core.parked_count(id(lock))``,
        deadlock reports); *owner* holds the only reference that lives as long as the mutex.
        """
        mutex = cls()
        mutex._key = id(owner)
        return mutex

    def _reset_after_fork(self) -> None:
        """Make the mutex free with nobody parked, in the child after ``os.fork()``, keeping its key.

        Behind threading's ``_at_fork_reinit``: whoever held it in the parent does not exist here.
        """
        self._locked = _thread.allocate_lock()
        self._parked = False

    # --- acquire ---------------------------------------------------------------------

    def lock(self) -> None:
        """Block until the mutex is locked by this thread.

        This is the definition of the fast lock that the inlined copies follow.
        """
        if not self._locked.acquire(False):
            self._lock_slow(None)

    def try_lock(self) -> bool:
        """Lock the mutex if it is free; never blocks."""
        return self._locked.acquire(False)

    def try_lock_for(self, timeout: float) -> bool:
        """Lock within *timeout* seconds; False if the time ran out first.

        Any size of timeout: one too far away to matter (``inf``, ``1e300``) waits
        without one.  Raises TypeError (not a number) or ValueError (negative, NaN)
        before anything changes.
        """
        until_ns = deadline_ns(timeout, None)  # checks it; the one deadline form from here on
        if self._locked.acquire(False):
            return True
        return self._lock_slow(until_ns)

    def try_lock_until(self, deadline: float) -> bool:
        """Lock before the ``time.monotonic()`` *deadline*; False if it passed first.

        *deadline* is in seconds, on the clock of ``time.monotonic()``; a past one never sleeps,
        once, a far one (``inf``) waits without one.  Raises TypeError (not a number) or
        ValueError (NaN) before anything changes.
        """
        until_ns = deadline_ns(None, deadline)  # checks it; the one deadline form from here on
        if self._locked.acquire(False):
            return True
        return self._lock_slow(until_ns)

    def _lock_slow(self, until_ns: int | None) -> bool:
        """Spin, then park until the mutex is ours (True) or the ``time.monotonic_ns()``
        deadline *until_ns* passes (False; None: no deadline)."""
        locked = self._locked
        key = self._key
        spin = SpinWait()
        attempt = _LockAttempt(self)
        while True:
            if locked.acquire(False):
                return True
            if not self._parked and spin.spin():
                continue
            result = None
            try:
                result = park(key, attempt.validate, None, attempt.timed_out, TOKEN_NORMAL, deadline_ns=until_ns)
                if result == _HANDED_OFF or attempt.got_it:
                    return True
            except BaseException as exc:
                attempt.interrupted(result, exc)
                raise
            if result is TimedOut:
                return False
            spin.reset()  # woken normally, or validate saw the mutex free: try again

    async def _lock_slow_async(self, until_ns: int | None) -> bool:
        """The task's :meth:`_lock_slow`: the same callbacks, awaiting ``park_async`` instead of parking.

        A task does not spin (spinning would hold up its whole loop); it parks at once.
        Cancellation is an exception at the await, handled as an interrupt of a thread is.
        """
        locked = self._locked
        key = self._key
        attempt = _LockAttempt(self)
        while True:
            if locked.acquire(False):
                return True
            result = None
            try:
                result = await park_async(key, attempt.validate, None, attempt.timed_out, TOKEN_NORMAL, deadline_ns=until_ns)
                if result == _HANDED_OFF or attempt.got_it:
                    return True
            except BaseException as exc:
                attempt.interrupted(result, exc)
                raise
            if result is TimedOut:
                return False

    # --- acquire, awaitable twins (the twin of a blocking method ``m`` is ``m_async``) ----

    async def lock_async(self) -> None:
        """Await until the mutex is locked by this task (or thread): the twin of :meth:`lock`.

        The task waits in the same queue as threads do, without blocking its event loop.
        Cancelled while waiting (``task.cancel()``, ``asyncio.timeout()``, ``wait_for``),
        it leaves the queue and ``CancelledError`` propagates with the mutex not held: if an
        unlock had already handed the mutex to the task, it is unlocked again (passed on),
        and a wake-up meant for it is passed to the next waiter.  Raises RuntimeError when
        no event loop runs in this thread.

        >>> import asyncio
        >>> async def main():
        ...     m = RawMutex()
        ...     await m.lock_async()
        ...     locked = m.is_locked()
        ...     m.unlock()
        ...     return locked
        >>> asyncio.run(main())
        True
        """
        if not self._locked.acquire(False):
            await self._lock_slow_async(None)

    async def try_lock_for_async(self, timeout: float) -> bool:
        """Lock within *timeout* seconds, awaiting: the twin of :meth:`try_lock_for`.

        True if the mutex is now held, False if the time ran out first (never early).
        Raises TypeError (not a number) or ValueError (negative, NaN) before anything
        changes; cancellation as :meth:`lock_async`.
        """
        until_ns = deadline_ns(timeout, None)
        if self._locked.acquire(False):
            return True
        return await self._lock_slow_async(until_ns)

    async def try_lock_until_async(self, deadline: float) -> bool:
        """Lock before the ``time.monotonic()`` *deadline*, awaiting: the twin of :meth:`try_lock_until`.

        True if the mutex is now held, False if the deadline passed first (seconds on the
        clock of ``time.monotonic()``).  Raises TypeError (not a number) or ValueError (NaN)
        before anything changes; cancellation as :meth:`lock_async`.
        """
        until_ns = deadline_ns(None, deadline)
        if self._locked.acquire(False):
            return True
        return await self._lock_slow_async(until_ns)

    # --- release ---------------------------------------------------------------------

    def unlock(self) -> None:
        """Release the mutex (held by this thread or, as in parking_lot, any thread).

        This is the definition of the fast unlock that the inlined copies follow
        (see the module docstring).
        """
        if self._parked:
            self._unlock_slow(False)
            return
        self._locked.release()
        if self._parked:  # a thread parked between our check and the release
            self._wake_one()

    def unlock_fair(self) -> None:
        """Release the mutex, handing it straight to the longest waiter if there is one."""
        if self._parked:
            self._unlock_slow(True)
        else:  # not self.unlock(): RawFairMutex.unlock is this method
            self._locked.release()
            if self._parked:
                self._wake_one()

    def bump(self) -> None:
        """Let a waiting thread have the mutex, then take it back (a fair unlock and a lock)."""
        if self._parked:
            self._unlock_slow(True)
            self.lock()

    def is_locked(self) -> bool:
        """Whether some thread holds the mutex (a snapshot)."""
        return self._locked.locked()

    def _unlock_slow(self, force_fair: bool) -> None:
        locked = self._locked

        def callback(result: UnparkResult) -> int:
            if result.unparked_threads and (force_fair or result.be_fair):
                self._parked = result.have_more_threads
                return TOKEN_HANDOFF  # stay locked: the woken thread owns it now
            # Release first: if it raises (a second release racing this one, which
            # compat.Lock reports as threading does), the callback changes nothing
            # and the waiter stays queued with PARKED still set.
            locked.release(); self._parked = result.have_more_threads  # one-step: released iff PARKED brought up to date
            return TOKEN_NORMAL

        unpark_one(self._key, callback)

    # --- for the condvar (raw_mutex.rs's mark_parked_if_locked, mark_parked) -------

    def _mark_parked_if_locked(self) -> bool:
        """Set PARKED, then return whether the mutex is locked.

        Called by the condvar under this mutex's bucket lock (``unpark_requeue``
        holds it), before it moves waiters onto this key: a moved waiter must find
        PARKED set, or the holder's fast unlock would not wake it.  PARKED is
        written *before* LOCKED is read, with a full barrier between (the
        acquire/release of a lock object), so an unlock racing this either sees
        PARKED or is seen here as unlocked: the handshake of the fast unlock.
        Rust's compare-and-swap sets PARKED only when LOCKED is set; here the write
        has to come first, so PARKED is also left set when the answer is "free",
        which costs the next unlock one trip through ``unpark_one``, nothing more.
        """
        self._parked = True
        with _fence:
            pass
        return self._locked.locked()

    def _mark_parked(self) -> None:
        """Set PARKED, under this mutex's bucket lock: threads were moved onto its queue.

        The condvar calls it after ``notify_all`` woke one waiter (the mutex was
        free) and queued the rest behind it, so that the woken thread's unlock wakes
        the next.
        """
        self._parked = True

    def _wake_one(self) -> None:
        def callback(result: UnparkResult) -> int:
            self._parked = result.have_more_threads
            return TOKEN_NORMAL

        unpark_one(self._key, callback)

    # --- context manager -------------------------------------------------------------

    def __enter__(self) -> RawMutex:
        if not self._locked.acquire(False):
            self._lock_slow(None)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock()

    async def __aenter__(self) -> RawMutex:
        """``async with mutex:`` -- :meth:`lock_async`, then :meth:`unlock` at the block's end."""
        if not self._locked.acquire(False):
            await self._lock_slow_async(None)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock()

    def __repr__(self) -> str:
        state = "locked" if self._locked.locked() else "unlocked"
        waiters = ", threads parked" if self._parked else ""
        return f"<{type(self).__name__} {state}{waiters} at {id(self):#x}>"


class _LockAttempt:
    """One slow-path lock of a :class:`RawMutex`: the park callbacks, defined once for threads and tasks.

    :meth:`RawMutex._lock_slow` (a thread, ``park``) and :meth:`RawMutex._lock_slow_async`
    (a task, ``await park_async``) differ only in how they wait; the protocol with the
    unlockers -- announce PARKED, look once more, clear PARKED when the last waiter gives
    up, give back what an interrupted wait was handed -- is this class.
    """

    __slots__ = ("_mutex", "got_it")

    def __init__(self, mutex: RawMutex) -> None:
        self._mutex = mutex
        #: Set when validate found the mutex free and took it: it is ours, do not sleep.
        self.got_it = False

    def validate(self) -> bool:
        """Under the bucket lock: announce ourselves, then look once more (False: do not sleep).

        The look is a try-acquire, an atomic read-modify-write, so it also orders the store
        above before the read (the Dekker pair with unlock holds on free-threaded builds
        too, where a plain read could pass the store).
        """
        mutex = self._mutex
        mutex._parked = True
        if mutex._locked.acquire(False):
            self.got_it = True  # free after all: it is ours, do not sleep
            return False
        return True

    def timed_out(self, _key: int, was_last_thread: bool) -> None:
        """Under the bucket lock, the waiter leaving by itself (timeout, interrupt, cancellation)."""
        if was_last_thread:
            self._mutex._parked = False

    def interrupted(self, result: object, exc: BaseException) -> None:
        """An exception (Ctrl-C, a task's cancellation) while parked or just after: pass on what we had.

        If the mutex had become ours (handed over, or taken in validate), unlock it; if an
        unlock had woken us to retry (``TOKEN_NORMAL``), wake the next waiter in our place,
        so that no waiter sleeps on a free mutex.
        """
        mutex = self._mutex
        ended = interrupted_result(exc)
        if result == _HANDED_OFF or self.got_it or ended == _HANDED_OFF:
            mutex.unlock()
        elif ended == _WOKEN and mutex._parked:
            mutex._wake_one()


class RawFairMutex(RawMutex):
    """A RawMutex whose every unlock is fair: a waiting thread always gets it next.

    >>> m = RawFairMutex()
    >>> with m:
    ...     m.is_locked()
    True
    """

    __slots__ = ()
    _always_fair = True

    def unlock(self) -> None:
        """Release the mutex fairly: :meth:`RawMutex.unlock_fair` (a waiter gets it next).

        Raises:
            RuntimeError: the mutex is not locked.
        """
        self.unlock_fair()



# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---

from ._tracking import TRANSPARENT, acquires, declare, own_key, reacquires, releases  # noqa: E402

declare(
    RawMutex,
    lock=acquires(own_key), __enter__=acquires(own_key),
    try_lock=acquires(own_key, conditional=True), try_lock_for=acquires(own_key, conditional=True),
    try_lock_until=acquires(own_key, conditional=True),
    unlock=releases(own_key, exclusive=True), unlock_fair=releases(own_key, exclusive=True),
    __exit__=releases(own_key, exclusive=True),
    bump=reacquires(own_key, exclusive=True),
    is_locked=TRANSPARENT,
    # The awaitable twins, as the blocking methods (recorded for the task that awaits them).
    lock_async=acquires(own_key), try_lock_for_async=acquires(own_key, conditional=True),
    try_lock_until_async=acquires(own_key, conditional=True),
    __aenter__=acquires(own_key), __aexit__=releases(own_key, exclusive=True),
)
declare(RawFairMutex, unlock=releases(own_key, exclusive=True))
# A slow-path lock's callbacks: they run inside lock()/lock_async(), whose declarations record it;
# interrupted() gives the mutex back through unlock().
declare(_LockAttempt, validate=TRANSPARENT, timed_out=TRANSPARENT, interrupted=TRANSPARENT)
