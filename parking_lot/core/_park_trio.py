"""The trio task parker: park_async under trio, on trio's low-level API.

Imported by :func:`parking_lot.core._park_async.task_parker` only when a trio task
parks (so importing parking_lot never imports trio).  The protocol is
:class:`~parking_lot.core._park_async.TaskParkerBase`'s; what differs from asyncio is
how the task suspends and is resumed:

* it suspends in :func:`trio.lowlevel.wait_task_rescheduled`, inside a
  :class:`trio.CancelScope` with a deadline when the wait is timed (trio's clock is
  not ``time.monotonic_ns()``: when the scope fires early by that clock, the task
  suspends again for what is left, so a wait never ends early);
* an unparker on the task's own trio thread (a trio task, a ``run_sync_soon``
  callback) resumes it with :func:`trio.lowlevel.reschedule`; from any other thread
  (or after that run ended and another began on the same thread) it goes through
  the run's :meth:`trio.lowlevel.TrioToken.run_sync_soon`, which never blocks.  A
  finished run (``trio.RunFinishedError``) drops the wake-up: the task can never run
  again, as with asyncio's closed loop;
* trio cancels a suspended task by calling its abort function.  Ours always says
  ``Abort.SUCCEEDED`` -- trio then raises ``Cancelled`` (or ``KeyboardInterrupt``) at
  the await -- and takes nothing itself: :func:`park_async`'s exception path leaves the
  queue as at a timeout, or, if an unparker took the task first, attaches
  ``Unparked(token)`` for :func:`interrupted_result`, exactly as for asyncio.  The abort
  function may run under a bucket lock (user code there cancelling a scope), so it
  must not take one.

``_suspended`` and ``_woken`` are touched only on the trio thread (in the task, in the
abort function, in a ``run_sync_soon`` callback, all serialised by the run), so a
resume that arrives after the task was aborted, or between two suspensions of one
timed wait, is recorded and never reschedules a task that is not waiting (which trio
forbids).
"""

from __future__ import annotations

import _thread
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from trio import lowlevel

from ._park_async import EXPIRED, TaskParkerBase

_monotonic_ns = time.monotonic_ns


def _on_run(token: lowlevel.TrioToken) -> bool:
    """Whether this thread is inside the trio run *token* belongs to right now."""
    try:
        return lowlevel.current_trio_token() is token
    except RuntimeError:
        return False


class TrioTaskUnparkHandle:
    """Resumes one waiting trio task, from any thread, without blocking or raising."""

    __slots__ = ("_parker",)

    def __init__(self, parker: TrioTaskParker) -> None:
        self._parker = parker

    def unpark(self) -> None:
        """Resume the task (called once, after the bucket lock is released).

        On the task's own run thread, at once (``trio.lowlevel.reschedule``); from
        anywhere else through ``TrioToken.run_sync_soon``.  A finished run drops it.
        """
        parker = self._parker
        if _thread.get_ident() == parker.ident and _on_run(parker.token):
            parker.wake()
            return
        try:
            parker.token.run_sync_soon(parker.wake)
        except trio.RunFinishedError:  # the run is over: the task will never run again
            pass


class TrioTaskParker(TaskParkerBase):
    """The trio task parker (made in the waiting task, on its run's thread)."""

    __slots__ = ("token", "ident", "_suspended", "_woken")

    def __init__(self) -> None:
        super().__init__(lowlevel.current_task())
        #: The run's token, for a wake from another thread.
        self.token = lowlevel.current_trio_token()
        #: The run's thread.
        self.ident = _thread.get_ident()
        self._suspended = False
        self._woken = False

    def _arm(self) -> None:
        pass  # nothing to make: the task itself is what gets rescheduled

    def _handle(self) -> TrioTaskUnparkHandle:
        return TrioTaskUnparkHandle(self)

    def wake(self) -> None:
        """On the run's thread: resume the task if it is suspended, else remember the wake."""
        self._woken = True
        if self._suspended:
            self._suspended = False
            lowlevel.reschedule(self.task)  # type: ignore[arg-type]

    def _abort(self, raise_cancel: Any) -> lowlevel.Abort:
        self._suspended = False  # a wake from now on only records itself
        return lowlevel.Abort.SUCCEEDED

    def suspend(self, until_ns: int | None) -> Awaitable[object]:
        """The coroutine that suspends the task (None: resumed by an unparker; EXPIRED)."""
        return self._suspend(until_ns)

    async def _suspend(self, until_ns: int | None) -> object:
        while not self._woken:
            if until_ns is None:
                self._suspended = True
                await lowlevel.wait_task_rescheduled(self._abort)
                return None
            left_ns = until_ns - _monotonic_ns()
            if left_ns <= 0:
                return EXPIRED
            with trio.CancelScope(deadline=trio.current_time() + left_ns / 1e9):
                self._suspended = True
                await lowlevel.wait_task_rescheduled(self._abort)
                return None
            # the scope's deadline passed (by trio's clock): look at ours again
        return None

    def run_soon(self, function: Callable[..., object], *args: Any) -> None:
        """``TrioToken.run_sync_soon``; nothing when the run is over."""
        try:
            self.token.run_sync_soon(function, *args)
        except trio.RunFinishedError:
            pass
