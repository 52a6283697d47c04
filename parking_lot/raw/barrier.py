"""RawBarrier: *parties* threads wait until all have arrived (the protocol behind ``compat.Barrier``).

The barrier runs in *rounds*.  A round (:class:`Round`) counts the threads that
arrived in it and records how it ended; the barrier keeps the round filling now
(``_round``) and whether it is broken (``_broken``).  All of these change only
under a small lock object (``_state_lock``, the compare-and-swap Python lacks).

==========================  =====================================================
``round.count``             threads that arrived in the round and have not left
                            it; equal to *parties* while the last one runs the
                            action (arrivals then wait for the next round)
``round.outcome``           None while the round fills, then ``"passed"`` or
                            ``"broken"``, written once
``_broken``                 waits raise BrokenBarrierError until ``reset()``
==========================  =====================================================

Rules across the fields: a round with an outcome is no longer filling -- either
``_round`` is a new round (it passed, or ``reset()`` broke it) or ``_broken`` is
set (``abort()``, a timeout, a raising action broke it); ``_broken`` implies
``_round.outcome == "broken"``.

Waiting threads park on the key with a ``validate`` that refuses once their
round has an outcome; whoever writes an outcome (under ``_state_lock``) then
calls ``unpark_all`` on the key, which takes the bucket lock, so a waiter either
validated before (it is queued, and woken) or sees the outcome and does not
sleep.  A thread that arrives while the round is full (its action running)
parks until ``_round`` changes, the same way.  A waiter that leaves by an
exception (a timeout breaks the barrier instead) takes itself out of the count,
as ``threading.Barrier`` does, unless the round already ended.

Asyncio tasks arrive with :meth:`RawBarrier.wait_async` and wait in the same queue, so a
round may gather threads and tasks together; its steps ``_arrive_async`` and
``_await_async`` are the twins of ``_arrive`` and ``_await`` (a face checking a timeout
between the steps uses them as it uses the sync ones).  A task cancelled while it waits
leaves the round as a thread leaving by an exception does.

Deadlines are ``time.monotonic_ns()`` ints (None: none), as everywhere in the raw layer.
"""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable

from parking_lot.core import TimedOut, park, park_async, unpark_all

#: Raised by waits on a broken barrier: ``threading``'s own class, so ``except`` clauses written for it work.
BrokenBarrierError = threading.BrokenBarrierError


class Round:
    """One filling of a barrier: how many threads arrived in it, and how it ended (None while filling)."""

    __slots__ = ("count", "outcome")

    def __init__(self) -> None:
        self.count = 0
        self.outcome: str | None = None  # "passed" or "broken"


class RawBarrier:
    """*parties* threads call :meth:`wait`; all return together once the last has arrived.

    >>> barrier = RawBarrier(1, action=lambda: print("all here"))
    >>> barrier.wait()
    all here
    0
    >>> barrier.abort(); barrier.broken
    True

    *parties* is an int >= 1 (TypeError, ValueError otherwise); *action*, if given,
    a callable with no arguments that the last thread to arrive in a round runs
    before the others are let go (if it raises, the barrier breaks and the
    exception reaches that thread).  Waiters park on ``id(self)``, or on the
    face's id (:meth:`_inside`).
    """

    __slots__ = ("_parties", "_action", "_state_lock", "_round", "_broken", "_key", "__weakref__")

    def __init__(self, parties: int, action: Callable[[], object] | None = None) -> None:
        if isinstance(parties, bool) or not isinstance(parties, int):
            raise TypeError(f"parties must be an int, not {type(parties).__name__}")
        if parties < 1:
            raise ValueError(f"parties must be >= 1, got {parties}")
        if action is not None and not callable(action):
            raise TypeError(f"action must be callable or None, not {type(action).__name__}")
        self._setup(parties, action, id(self))

    def _setup(self, parties: int, action: Callable[[], object] | None, key: int) -> None:
        self._parties = parties
        self._action = action
        self._state_lock = _thread.allocate_lock()  # guards _round, _broken and the round's fields
        self._round = Round()
        self._broken = False
        self._key = key

    @classmethod
    def _inside(cls, owner: object, parties: int, action: Callable[[], object] | None) -> RawBarrier:
        """A barrier kept by a face object (``compat.Barrier``, which checks the arguments as
        ``threading`` does), parked on ``id(owner)``."""
        barrier = cls.__new__(cls)
        barrier._setup(parties, action, id(owner))
        return barrier

    @property
    def parties(self) -> int:
        """The number of threads that must arrive."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """How many threads are in the round filling now (0 once it ended or if broken)."""
        current = self._round
        return current.count if current.outcome is None and not self._broken else 0

    @property
    def broken(self) -> bool:
        """Whether the barrier is broken (``reset()`` mends it)."""
        return self._broken

    def wait(self, until_ns: int | None = None) -> int:
        """Arrive and wait for the others; return this thread's arrival index (0 .. parties-1).

        *until_ns* is a ``time.monotonic_ns()`` deadline (None: none; a past one gives up
        at once); a waiter still waiting when it passes breaks the barrier.  The last
        thread to arrive runs the action and does not wait.

        Raises TypeError for an *until_ns* that is not an int or None (before arriving);
        BrokenBarrierError if the barrier is broken, or breaks while this thread waits
        (``abort()``, ``reset()``, a timeout, a raising action); whatever the action raises.
        """
        if until_ns is not None and (isinstance(until_ns, bool) or not isinstance(until_ns, int)):
            raise TypeError(f"until_ns must be an int (a time.monotonic_ns() value) or None, not {type(until_ns).__name__}")
        current, index = self._arrive()
        if index + 1 == self._parties:
            return self._pass(current, index)
        return self._await(current, index, until_ns)

    async def wait_async(self, until_ns: int | None = None) -> int:
        """Arrive and await the others: the twin of :meth:`wait`, same deadline, result and errors.

        Threads and tasks count alike in a round; the task waits in the queue threads use,
        without blocking its loop.  The last to arrive, thread or task, runs the action (a
        plain callable, in that task).  Cancelled while waiting (``task.cancel()``,
        ``asyncio.timeout()``, ``wait_for``), the task leaves the round as a thread leaving by
        an exception does -- it no longer counts, and the barrier is not broken -- unless the
        round had already ended, and ``CancelledError`` propagates.  Raises RuntimeError when
        no event loop runs in this thread.

        >>> import asyncio
        >>> async def main():
        ...     barrier = RawBarrier(2)
        ...     return sorted(await asyncio.gather(barrier.wait_async(), barrier.wait_async()))
        >>> asyncio.run(main())
        [0, 1]
        """
        if until_ns is not None and (isinstance(until_ns, bool) or not isinstance(until_ns, int)):
            raise TypeError(f"until_ns must be an int (a time.monotonic_ns() value) or None, not {type(until_ns).__name__}")
        current, index = await self._arrive_async()
        if index + 1 == self._parties:
            return self._pass(current, index)
        return await self._await_async(current, index, until_ns)

    # The steps of wait(), for a face whose own checks fall between arriving and waiting
    # (threading.Barrier checks a waiter's timeout only once it counts in the round).

    def _arrive(self) -> tuple[Round, int]:
        """Count this thread in the round filling now, parking while the one before runs its
        action; (that round, this thread's index).  BrokenBarrierError if broken."""
        while True:
            arrived = self._try_arrive()
            if arrived is not None:
                return arrived
            # The round is full and its action is running: wait for the next round (a round
            # that changed meanwhile fails the validate, and we look again).
            current = self._round
            park(self._key, lambda: self._round is current and not self._broken)

    def _try_arrive(self) -> tuple[Round, int] | None:
        """Count this caller in the round filling now; None if that round is full (its action runs)."""
        with self._state_lock:
            if self._broken:
                raise BrokenBarrierError
            current = self._round
            index = current.count
            if index < self._parties:
                current.count = index + 1
                return current, index
            return None

    async def _arrive_async(self) -> tuple[Round, int]:
        """The twin of :meth:`_arrive`: awaits the next round instead of parking (cancelled there,
        the task has not arrived, and nothing is undone)."""
        while True:
            arrived = self._try_arrive()
            if arrived is not None:
                return arrived
            current = self._round
            await park_async(self._key, lambda: self._round is current and not self._broken)

    def _pass(self, current: Round, index: int) -> int:
        """The last arrival: run the action, end the round as passed and let everyone go."""
        try:
            if self._action is not None:
                self._action()
        except BaseException:
            self._break()
            raise
        with self._state_lock:
            if current.outcome is None:  # not broken or reset meanwhile
                current.outcome = "passed"
                self._round = Round()
        unpark_all(self._key)
        if current.outcome != "passed":
            raise BrokenBarrierError
        return index

    def _await(self, current: Round, index: int, until_ns: int | None) -> int:
        """Wait until the round has an outcome; break it if *until_ns* passes first."""
        try:
            while current.outcome is None:
                result = park(self._key, lambda: current.outcome is None, None, None, 0, deadline_ns=until_ns)
                if result is TimedOut and current.outcome is None:
                    self._break()
                # Otherwise woken, or validate saw the outcome; a wake-up meant for the
                # round before (whose unpark_all came late) just loops.
        except BaseException:
            self._leave(current)
            raise
        if current.outcome != "passed":
            raise BrokenBarrierError
        return index

    async def _await_async(self, current: Round, index: int, until_ns: int | None) -> int:
        """The twin of :meth:`_await`: a cancelled task leaves the round (unless it ended)."""
        try:
            while current.outcome is None:
                result = await park_async(self._key, lambda: current.outcome is None, None, None, 0, deadline_ns=until_ns)
                if result is TimedOut and current.outcome is None:
                    self._break()
        except BaseException:
            self._leave(current)
            raise
        if current.outcome != "passed":
            raise BrokenBarrierError
        return index

    def _leave(self, current: Round) -> None:
        """Take an arrival back out of *current* (it leaves by an exception), unless the round ended."""
        with self._state_lock:
            if current.outcome is None:
                current.count -= 1

    def _break(self) -> None:
        with self._state_lock:
            self._broken = True
            if self._round.outcome is None:
                self._round.outcome = "broken"
        unpark_all(self._key)

    def abort(self) -> None:
        """Break the barrier: current and future waits raise BrokenBarrierError until ``reset()``."""
        self._break()

    def reset(self) -> None:
        """Return to the empty state; threads waiting now get BrokenBarrierError."""
        with self._state_lock:
            if self._round.outcome is None:
                self._round.outcome = "broken"
            self._round = Round()
            self._broken = False
        unpark_all(self._key)

    def __repr__(self) -> str:
        if self._broken:
            return f"<RawBarrier broken at {id(self):#x}>"
        return f"<RawBarrier waiters={self.n_waiting}/{self._parties} at {id(self):#x}>"


# --- deadlock detection: no thread holds a barrier, so a wait on it is no edge (see raw/_tracking.py) ---

from ._tracking import ownerless  # noqa: E402

ownerless(RawBarrier)
