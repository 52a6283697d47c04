"""Linux futex parker (the port of parking_lot_core's ``thread_parker/linux.rs``).

The futex word is a C ``int32_t`` owned by this parker: 1 while parked, 0 once
an unparker has claimed the thread.  ``unpark_lock`` stores 0 under the bucket
lock; ``UnparkHandle.unpark`` then issues ``FUTEX_WAKE_PRIVATE`` after the bucket
lock is released.  The wait is one C call, ``pl_futex_park``, which loops on
``FUTEX_WAIT_PRIVATE`` while the word is still 1 (spurious wake-ups and
``EAGAIN`` are harmless) and recomputes the remaining time from
CLOCK_MONOTONIC -- the clock of ``time.monotonic_ns()`` -- each turn.  It returns
on ``EINTR``, so that Python runs its signal handlers (a parked main thread wakes
for Ctrl-C), and the Python loop calls it again if no handler raised.  A signal
that lands after the interpreter's last look at pending signals but before the
futex wait begins brings no ``EINTR``, so the main thread waits in slices
(``MAIN_THREAD_SLICE_NS``): at the end of each the handlers run.  Other threads
never run signal handlers and wait in one piece.  One call
instead of a Python loop means one GIL release per wait, which matters in a
ping-pong where every release is a chance for the GIL to change hands.  Every
access to the word by another thread is a sequentially consistent C atomic (the
unparker's store, the waiter's loads in C); the one plain store is the owner's
own ``prepare_park``, under the bucket lock.  Nothing here relies on the GIL.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import Any

from ._base import UnparkHandle, wait_slice_ns
from ._timeouts import futex_deadline_ns

try:
    from parking_lot._ffi._futex import ffi as _ffi
    from parking_lot._ffi._futex import lib as _lib
except ImportError as exc:  # not Linux, or built without a C compiler
    _IMPORT_ERROR: ImportError | None = exc
    _ffi = _lib = None
else:
    _IMPORT_ERROR = None

_EINTR = _lib.EINTR if _lib is not None else -1
_ETIMEDOUT = errno.ETIMEDOUT  # what pl_futex_park returns at its deadline (Linux's value)
_monotonic_ns = time.monotonic_ns  # CLOCK_MONOTONIC, the clock pl_futex_park's deadline is on


def _compiler_on_path() -> str | None:
    """The C compiler this interpreter's builds would use, if it is on PATH now."""
    import shlex
    import shutil
    import sysconfig

    configured = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    words = shlex.split(configured)
    return shutil.which(words[0]) if words else None


def unavailable_reason() -> str | None:
    """None when this backend can run here, else why not (and, where it can be fixed, how)."""
    if _IMPORT_ERROR is None:
        return None
    if not sys.platform.startswith("linux"):
        return "the futex exists only on Linux"
    if not isinstance(_IMPORT_ERROR, ModuleNotFoundError) or _IMPORT_ERROR.name != "parking_lot._ffi._futex":
        # The module is there but does not load (another interpreter's build, a broken file).
        return f"the compiled module parking_lot._ffi._futex does not load ({_IMPORT_ERROR})"
    why = (
        "no C compiler was found when this copy was installed"
        if _compiler_on_path() is None
        else "its build failed or was skipped when this copy was installed (a C compiler is on PATH now)"
    )
    return (
        f"the compiled module parking_lot._ffi._futex was not built: {why}; to get the futex parker, "
        "install a C compiler and the Python headers (for example: apt-get install gcc python3-dev), "
        "then reinstall: pip install --force-reinstall --no-cache-dir --no-binary parking-lot-cffi "
        "parking-lot-cffi (from a checkout: pip install --force-reinstall .)"
    )


class _FutexUnparkHandle:
    __slots__ = ("_word",)

    def __init__(self, word: Any) -> None:
        self._word = word  # keeps the C word alive until the wake is sent

    def unpark(self) -> None:
        _lib.pl_futex_wake(self._word, 1)


class FutexParker:
    """ThreadParker on a Linux futex word."""

    __slots__ = ("_word", "_handle", "_slice_ns")

    def __init__(self) -> None:
        if _IMPORT_ERROR is not None:
            raise RuntimeError(f"futex parker unavailable: {unavailable_reason()}")
        self._word = _ffi.new("int32_t *")
        # One handle serves every wake: it holds nothing but the word, and a wake
        # that arrives late only makes a later park re-check its word.
        self._handle = _FutexUnparkHandle(self._word)
        self._slice_ns = wait_slice_ns()

    def prepare_park(self) -> None:
        """Arm the parker for one park; called with the bucket lock held, makes no system call.

        The contract is :class:`parking_lot.thread_parker.ThreadParker`'s.
        Port of ``prepare_park`` in parking_lot_core's
        ``src/thread_parker/linux.rs``.
        """
        # A plain store: only this thread writes the word before it is queued, the
        # bucket lock it holds orders the store before any unparker's, and a cffi
        # call here would release the GIL -- in a ping-pong, a hand-over of the GIL
        # to the thread just woken, right before this one goes to sleep anyway.
        self._word[0] = 1

    def park(self) -> None:
        """Block until an :meth:`unpark_lock` handle wakes this thread (bucket lock not held).

        On the main thread the wait is cut into slices so that signal handlers run; an
        exception a handler raises (``KeyboardInterrupt``) propagates from here.
        Port of ``park`` in parking_lot_core's
        ``src/thread_parker/linux.rs``.
        """
        if self._slice_ns is None:
            while _lib.pl_futex_park(self._word, -1) == _EINTR:
                pass  # a signal: its handler has run (and did not raise); wait again
            return
        while _lib.pl_futex_park(self._word, _monotonic_ns() + self._slice_ns) != 0:
            pass  # EINTR or the end of a slice: the handlers of pending signals have run

    def park_until(self, deadline_ns: int) -> bool:
        """Block until unparked or until *deadline_ns* passes (bucket lock not held).

        A past deadline does not wait; it settles a wake-up an unparker has already
        committed to.  Signals as in :meth:`park`.
        Port of ``park_until`` in parking_lot_core's
        ``src/thread_parker/linux.rs``.

        Args:
            deadline_ns: a ``time.monotonic_ns()`` deadline (int, nanoseconds).

        Returns:
            True if unparked, False if the deadline passed first (never before it).
        """
        deadline = futex_deadline_ns(deadline_ns)  # a past one is 0
        if deadline is None:  # too far to fit an int64: wait without one
            self.park()
            return True
        deadline_ns = deadline
        while True:
            until = deadline_ns
            if self._slice_ns is not None:
                until = min(until, _monotonic_ns() + self._slice_ns)
            status = _lib.pl_futex_park(self._word, until)
            if status == 0:
                return True
            if status == _ETIMEDOUT and until == deadline_ns:
                return False
            # EINTR, or a slice ended before the deadline: wait again

    def timed_out(self) -> bool:
        """After :meth:`park_until` returned False: True if no unparker took this thread.

        Called with the bucket lock held; makes no system call.
        Port of ``timed_out`` in parking_lot_core's
        ``src/thread_parker/linux.rs``.
        """
        return bool(_lib.pl_atomic_load(self._word) != 0)

    def unpark_lock(self) -> UnparkHandle:
        """Mark the parked thread unparked (bucket lock held; no system call).
        Port of ``unpark_lock`` in parking_lot_core's
        ``src/thread_parker/linux.rs``.

        Returns:
            The handle whose ``unpark()`` wakes the thread: call it once, after the
            bucket lock is released.
        """
        _lib.pl_atomic_store(self._word, 0)
        return self._handle
