"""Once: run a function exactly once, with poisoning (the port of parking_lot's ``once.rs``).

The state is DONE / POISONED / LOCKED bits changed under a small lock object,
``_state_lock`` (the compare-and-swap Python lacks); threads that find the function
running park on the Once's ``id()`` until the runner finishes, then look again.

========  ==========  ======  ==========================================caller, later ``call_once`` calls raise :class:`PoisonError`, and
``call_once_force`` may run a function again (it is told the state was poisoned)
to recover.
"""

from __future__ import annotations

import _thread
import enum
from collections.abc import Callable

from parking_lot.core import SpinWait, park, park_async, unpark_all

_DONE = 1
_POISONED = 2
_LOCKED = 4


class OnceState(enum.Enum):
    """Where a :class:`Once` stands.

    >>> once = Once()
    >>> once.state
    <OnceState.New: 'new'>
    >>> once.call_once(lambda: None); once.state.done
    True
    """

    New = "new"
    Poisoned = "poisoned"
    InProgress = "in progress"
    Done = "done"

    @property
    def poisoned(self) -> bool:
        """Whether this is ``Poisoned``: a run of ``call_once`` raised (Rust's ``OnceState::poisoned``)."""
        return self is OnceState.Poisoned

    @property
    def done(self) -> bool:
        """Whether this is ``Done``: a run completed (Rust's ``OnceState::done``)."""
        return self is OnceState.Done


class PoisonError(RuntimeError):
    """A Once whose function raised before was asked to run again with ``call_once``.

    >>> once = Once()
    >>> once.call_once(lambda: 1 / 0)
    Traceback (most recent call last):
        ...
    ZeroDivisionError: division by zero
    >>> once.call_once(lambda: None)
    Traceback (most recent call last):
        ...
    parking_lot.raw.once.PoisonError: Once instance has previously been poisoned
    >>> once.call_once_force(lambda state: print(state.poisoned))
    True
    """


class Once:
    """Run an initialiser exactly once, however many threads race to call it.

    >>> once = Once()
    >>> calls = []
    >>> once.call_once(lambda: calls.append("init"))
    >>> once.call_once(lambda: calls.append("again"))
    >>> calls, once.state
    (['init'], <OnceState.Done: 'done'>)
    """

    __slots__ = ("_bits", "_state_lock", "_key", "__weakref__")

    def __init__(self) -> None:
        self._bits = 0
        self._state_lock = _thread.allocate_lock()
        self._key = id(self)

    @property
    def state(self) -> OnceState:
        """New, InProgress, Poisoned or Done (a snapshot)."""
        bits = self._bits
        if bits & _DONE:
            return OnceState.Done
        if bits & _LOCKED:
            return OnceState.InProgress
        if bits & _POISONED:
            return OnceState.Poisoned
        return OnceState.New

    def is_completed(self) -> bool:
        """Whether the function has run to completion."""
        return self._bits == _DONE

    def call_once(self, fn: Callable[[], object]) -> None:
        """Run *fn* if no call has completed yet; wait if another thread is running it.

        Raises PoisonError if an earlier run raised.
        """
        if self._bits == _DONE:
            return
        self._call_slow(False, lambda state: fn())

    def call_once_force(self, fn: Callable[[OnceState], object]) -> None:
        """Like :meth:`call_once`, but runs even after a poisoning; *fn* receives the state
        (``OnceState.Poisoned`` if it is recovering, else ``OnceState.New``)."""
        if self._bits == _DONE:
            return
        self._call_slow(True, fn)

    def _call_slow(self, ignore_poison: bool, fn: Callable[[OnceState], object]) -> None:
        spin = SpinWait()
        claimed = False
        try:
            while True:
                with self._state_lock:
                    bits = self._bits
                    if bits & _DONE:
                        return
                    if bits & _POISONED and not ignore_poison:
                        raise PoisonError("Once instance has previously been poisoned")
                    if not bits & _LOCKED:
                        self._bits = _LOCKED; claimed = True  # one-step: the Once is ours iff recorded in claimed
                        break
                if spin.spin():
                    continue
                park(self._key, self._still_running)
            fn(OnceState.Poisoned if bits & _POISONED else OnceState.New)
            self._finish(_DONE)
        except BaseException:
            # fn raised (or an exception hit us while we held the Once): poison it and
            # wake the waiters, who will raise PoisonError or recover with force.
            if claimed:
                self._finish(_POISONED)
            raise

    async def call_once_async(self, fn: Callable[[], object]) -> None:
        """The awaitable twin of :meth:`call_once`: same semantics and errors.

        *fn* is a plain callable, run in the calling task (it cannot await).  A task that finds
        another caller -- thread or task -- running it waits in the queue threads use, without
        blocking its loop, and looks again when that run ends.  Cancelled while waiting, the
        task leaves the queue and ``CancelledError`` propagates; the Once is untouched (only
        the caller running *fn* holds it, and no await happens while *fn* runs).  Raises
        PoisonError if an earlier run raised; RuntimeError when no event loop runs in this
        thread and the task has to wait.

        >>> import asyncio
        >>> async def main():
        ...     once, calls = Once(), []
        ...     await asyncio.gather(*(once.call_once_async(lambda: calls.append(1)) for _ in range(3)))
        ...     return calls, once.state
        >>> asyncio.run(main())
        ([1], <OnceState.Done: 'done'>)
        """
        if self._bits == _DONE:
            return
        await self._call_slow_async(False, lambda state: fn())

    async def call_once_force_async(self, fn: Callable[[OnceState], object]) -> None:
        """The awaitable twin of :meth:`call_once_force` (waiting as :meth:`call_once_async`)."""
        if self._bits == _DONE:
            return
        await self._call_slow_async(True, fn)

    async def _call_slow_async(self, ignore_poison: bool, fn: Callable[[OnceState], object]) -> None:
        """:meth:`_call_slow` for a task: the same claim under ``_state_lock``, awaiting
        ``park_async`` (with the same validate) instead of spinning and parking."""
        claimed = False
        try:
            while True:
                with self._state_lock:
                    bits = self._bits
                    if bits & _DONE:
                        return
                    if bits & _POISONED and not ignore_poison:
                        raise PoisonError("Once instance has previously been poisoned")
                    if not bits & _LOCKED:
                        self._bits = _LOCKED; claimed = True  # one-step: the Once is ours iff recorded in claimed
                        break
                await park_async(self._key, self._still_running)
            fn(OnceState.Poisoned if bits & _POISONED else OnceState.New)
            self._finish(_DONE)
        except BaseException:
            if claimed:
                self._finish(_POISONED)
            raise

    def _still_running(self) -> bool:
        # validate, under the bucket lock: sleep only while someone runs the function.
        with self._state_lock:
            return bool(self._bits & _LOCKED)

    def _finish(self, bits: int) -> None:
        with self._state_lock:
            self._bits = bits
        unpark_all(self._key)

    def __repr__(self) -> str:
        return f"<Once {self.state.value}>"


# --- deadlock detection: what each method does to what the thread holds (see raw/_tracking.py) ---
# The thread running the function holds the Once (threads waiting for it park on its key).

from ._tracking import TRANSPARENT, declare, special  # noqa: E402

declare(
    Once,
    _call_slow=special("once call"), call_once=TRANSPARENT, call_once_force=TRANSPARENT,
    is_completed=TRANSPARENT,
    # The awaitable twins: a task running the function is for the detector's task support to
    # record (not yet there), as for the locks' twins.
    call_once_async=TRANSPARENT, call_once_force_async=TRANSPARENT, _call_slow_async=TRANSPARENT,
)
