"""The ThreadParker contract, shared by every backend.

This is parking_lot_core's ``ThreadParkerT`` in Python.  One parker belongs to one
thread (the one that parks); other threads only call :meth:`ThreadParker.unpark_lock`
on it and then :meth:`UnparkHandle.unpark` on the handle they got.  The parking
lot calls the methods in this order, and the bucket lock column is a rule, not
a suggestion:

=====================  ===========================  =====================
method                 called by                    bucket lock
=====================  ===========================  =====================
``prepare_park()``     the parking thread           held
``park()``             the parking thread           **not** held
``park_until(d)``      the parking thread           **not** held
``timed_out()``        the parking thread           held (after a failed park_until)
``unpark_lock()``      an unparking thread          held
``handle.unpark()``    that unparking thread        **not** held
=====================  ===========================  =====================

No system call is made while a bucket lock is held: ``prepare_park``,
``timed_out`` and ``unpark_lock`` only touch memory; the waits and wakes happen
in ``park*`` and ``UnparkHandle.unpark``.

``park_until(deadline)`` takes a ``time.monotonic_ns()`` deadline and returns
True if the thread was unparked, False if the deadline passed first; it never
returns False before the deadline.  A deadline in the past is how a thread gives
up a wait early (an exception arrived): the parker then settles any wake-up that
an unparker has already committed to (the keyed-event rendezvous) and says
whether there was one.

Python additions: every wait made by the main thread is interruptible by
Ctrl-C.  Exceptions raised by signal handlers propagate out of ``park`` and
``park_until``; the parking lot then gives the wait up with a past deadline.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Protocol


class UnparkHandle(Protocol):
    """A wake-up decided under the bucket lock and delivered after it is released."""

    def unpark(self) -> None:
        """Wake the thread.  Call exactly once, without holding a bucket lock."""


class ThreadParker(Protocol):
    """The per-thread wait/wake object that the parking lot drives."""

    def prepare_park(self) -> None:
        """Arm the parker (bucket lock held)."""

    def park(self) -> None:
        """Block until unparked (bucket lock not held)."""

    def park_until(self, deadline_ns: int) -> bool:
        """Block until unparked (True) or until *deadline_ns* passes (False)."""

    def timed_out(self) -> bool:
        """After ``park_until`` returned False: True if no unparker took the thread."""

    def unpark_lock(self) -> UnparkHandle:
        """Mark the thread unparked (bucket lock held); return the handle to wake it."""


class NoopUnparkHandle:
    """The handle returned when the thread needs no system call to wake."""

    __slots__ = ()

    def unpark(self) -> None:
        """Nothing to do."""


NOOP_UNPARK_HANDLE = NoopUnparkHandle()


class UnparkBatch(list):  # type: ignore[type-arg]
    """The wake-ups one parking-lot operation owes, delivered when its ``with`` ends.

    The parking lot opens the batch *before* it locks a bucket and appends each
    handle on the same line that takes a thread off a queue, so once a thread has
    left a queue its wake-up is owed by a ``with`` statement that has already
    begun: whatever exception ends the operation, every thread taken off a queue
    is woken, after the bucket lock has been released.  If a wake itself raises,
    the others are still delivered and the first error is re-raised.
    """

    __slots__ = ()

    def __enter__(self) -> UnparkBatch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if len(self) < 2:  # the usual batch: nothing owed, or one wake-up
            if self:
                self.pop().unpark()
            return
        error: BaseException | None = None
        while self:
            handle: UnparkHandle = self.pop(0)
            try:
                handle.unpark()
            except BaseException as exc:  # deliver the rest before reporting
                if error is None:
                    error = exc
        if error is not None:
            raise error

#: Waits made by the main thread are cut into slices of this length (every
#: backend) so that the interpreter runs its signal handlers (Ctrl-C) between
#: them.  Other threads never run signal handlers and wait in one piece.
MAIN_THREAD_SLICE_NS = 50_000_000


def wait_slice_ns() -> int | None:
    """How long one wait of the calling thread may last: a slice on the main thread, else None.

    Parkers call it when they are made; each is made by the thread that parks with it.
    Compares idents: ``threading.current_thread()`` would register a thread that
    ``threading`` did not start as a ``_DummyThread`` (tests/test_foreign_threads.py).
    """
    return MAIN_THREAD_SLICE_NS if threading.get_ident() == threading.main_thread().ident else None
