"""Windows WaitOnAddress parker (the port of parking_lot_core's ``windows/waitaddress.rs``).

The state is a pointer-sized word owned by the parker: PARKED (1) while parked,
UNPARKED (0) once an unparker has claimed the thread.  ``park`` calls
``WaitOnAddress(word, &PARKED)`` while the word still reads PARKED;
``UnparkHandle.unpark`` calls ``WakeByAddressSingle`` after the bucket lock is
released.  Unlike keyed events a wake with no waiter is simply lost, so there is
no rendezvous to settle.  A FALSE return is a timeout only when the last error is
ERROR_TIMEOUT; anything else (a spurious wake) loops.  Timeouts are whole
milliseconds rounded up; a timed wait asks for at most ``INFINITE - 1`` ms
(about 49.7 days) and then looks at the clock again, so a far deadline is
neither an error nor an infinite wait.

The word is written with plain aligned stores through cffi, which are atomic on
every Windows target; ordering against the waiter comes from the bucket lock on
the unparker's side and from WaitOnAddress's own comparison on the waiter's.
The main thread waits in slices so that Ctrl-C handlers run (see keyed_event).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ._base import UnparkHandle, wait_slice_ns
from ._timeouts import INFINITE_MS, WAIT_ADDRESS_MAX_WAIT_NS, wait_address_timeout_ms

from parking_lot._ffi._wait_address import ffi

ERROR_TIMEOUT = ffi.integer_const("ERROR_TIMEOUT")

UNPARKED = 0
PARKED = 1

_monotonic_ns = time.monotonic_ns
_SYNCH_DLL = "api-ms-win-core-synch-l1-2-0.dll"
_lib: Any = None
_load_error: str | None = None


def _load() -> Any:
    global _lib, _load_error
    if _lib is None and _load_error is None:
        if sys.platform != "win32":
            _load_error = "WaitOnAddress exists only on Windows (8 and later)"
        else:
            try:
                lib = ffi.dlopen(_SYNCH_DLL)
                lib.WaitOnAddress  # resolve now: a missing export fails here
                lib.WakeByAddressSingle
                _lib = lib
            except (OSError, AttributeError) as exc:
                _load_error = f"{_SYNCH_DLL}: {exc}"
    if _lib is None:
        raise RuntimeError(f"wait_address parker unavailable: {_load_error}")
    return _lib


def unavailable_reason() -> str | None:
    """None when this backend can run here, else why not."""
    try:
        _load()
    except RuntimeError:
        return _load_error
    return None


class _WakeHandle:
    __slots__ = ("_word",)

    def __init__(self, word: Any) -> None:
        self._word = word

    def unpark(self) -> None:
        _lib.WakeByAddressSingle(self._word)


class WaitAddressParker:
    """ThreadParker on WaitOnAddress / WakeByAddressSingle."""

    __slots__ = ("_word", "_compare", "_slice_ns")

    def __init__(self) -> None:
        _load()
        self._word = ffi.new("size_t *", UNPARKED)
        self._compare = ffi.new("size_t *", PARKED)
        self._slice_ns = wait_slice_ns()

    def prepare_park(self) -> None:
        """Arm the parker for one park; called with the bucket lock held, makes no system call.

        The contract is :class:`parking_lot.thread_parker.ThreadParker`'s.
        Port of ``prepare_park`` in parking_lot_core's
        ``src/thread_parker/windows/waitaddress.rs``.
        """
        self._word[0] = PARKED

    def timed_out(self) -> bool:
        """After :meth:`park_until` returned False: True if no unparker took this thread.

        Called with the bucket lock held; makes no system call.
        Port of ``timed_out`` in parking_lot_core's
        ``src/thread_parker/windows/waitaddress.rs``.
        """
        return bool(self._word[0] != UNPARKED)

    def _wait(self, timeout_ms: int) -> None:
        """One WaitOnAddress.

        A FALSE return with ERROR_TIMEOUT is a timeout, any other FALSE a spurious
        failure; the callers loop either way, re-reading the word and, for
        ``park_until``, the clock, so a wait can neither end early nor be lost.
        """
        _lib.WaitOnAddress(self._word, self._compare, ffi.sizeof("size_t"), timeout_ms)

    def park(self) -> None:
        """Block until an :meth:`unpark_lock` handle wakes this thread (bucket lock not held).

        On the main thread the wait is cut into slices so that signal handlers run; an
        exception a handler raises (``KeyboardInterrupt``) propagates from here.
        Port of ``park`` in parking_lot_core's
        ``src/thread_parker/windows/waitaddress.rs``.
        """
        timeout_ms = INFINITE_MS
        if self._slice_ns is not None:
            timeout_ms = wait_address_timeout_ms(self._slice_ns)
        while self._word[0] != UNPARKED:
            self._wait(timeout_ms)

    def park_until(self, deadline_ns: int) -> bool:
        """Block until unparked or until *deadline_ns* passes (bucket lock not held).

        A past deadline does not wait; it settles a wake-up an unparker has already
        committed to.  Signals as in :meth:`park`.
        Port of ``park_until`` in parking_lot_core's
        ``src/thread_parker/windows/waitaddress.rs``.

        Args:
            deadline_ns: a ``time.monotonic_ns()`` deadline (int, nanoseconds).

        Returns:
            True if unparked, False if the deadline passed first (never before it).
        """
        while self._word[0] != UNPARKED:
            remaining = deadline_ns - _monotonic_ns()
            if remaining <= 0:
                return False
            if self._slice_ns is not None:
                remaining = min(remaining, self._slice_ns)
            # Never INFINITE for a finite deadline: at most ~49.7 days, then look again.
            self._wait(wait_address_timeout_ms(min(remaining, WAIT_ADDRESS_MAX_WAIT_NS)))
        return True

    def unpark_lock(self) -> UnparkHandle:
        """Mark the parked thread unparked (bucket lock held; no system call).
        Port of ``unpark_lock`` in parking_lot_core's
        ``src/thread_parker/windows/waitaddress.rs``.

        Returns:
            The handle whose ``unpark()`` wakes the thread: call it once, after the
            bucket lock is released.
        """
        self._word[0] = UNPARKED
        return _WakeHandle(self._word)
