"""Linux futex parker (the port of parking_lot_core's ``thread_parker/linux.rs``).

The futex word is a C ``int32_t`` owned by this parker: 1 while parked, 0 once
an unparker has claimed the thread.  ``unpark_lock`` stores 0 under the bucket
lock; ``UnparkHandle.unpark`` then issues ``FUTEX_WAKE_PRIVATE`` after the bucket
lock is released.  ``park`` loops on ``FUTEX_WAIT_PRIVATE`` while the word is
still 1, so spurious wake-ups, ``EAGAIN`` (the word already changed) and
``EINTR`` (a signal) are harmless; each ``EINTR`` returns to Python, which runs
the signal handlers, so a parked main thread wakes for Ctrl-C.  Every access to
the word is a sequentially consistent C atomic (compiled by build_ffi.py), never
a plain Python write: nothing here relies on the GIL.
"""

from __future__ import annotations

import time
from typing import Any

from ._base import UnparkHandle

try:
    from parking_lot._ffi._futex import ffi as _ffi
    from parking_lot._ffi._futex import lib as _lib
except ImportError as exc:  # not Linux, or built without a C compiler
    _IMPORT_ERROR: ImportError | None = exc
    _ffi = _lib = None
else:
    _IMPORT_ERROR = None

_monotonic_ns = time.monotonic_ns


def unavailable_reason() -> str | None:
    """None when this backend can run here, else why not."""
    if _IMPORT_ERROR is not None:
        return f"the compiled module parking_lot._ffi._futex is missing ({_IMPORT_ERROR})"
    return None


class _FutexUnparkHandle:
    __slots__ = ("_word",)

    def __init__(self, word: Any) -> None:
        self._word = word  # keeps the C word alive until the wake is sent

    def unpark(self) -> None:
        _lib.pl_futex_wake(self._word, 1)


class FutexParker:
    """ThreadParker on a Linux futex word."""

    __slots__ = ("_word",)

    def __init__(self) -> None:
        if _IMPORT_ERROR is not None:
            raise RuntimeError(f"futex parker unavailable: {unavailable_reason()}")
        self._word = _ffi.new("int32_t *")

    def prepare_park(self) -> None:
        _lib.pl_atomic_store(self._word, 1)

    def park(self) -> None:
        word = self._word
        while _lib.pl_atomic_load(word) != 0:
            _lib.pl_futex_wait(word, 1, -1)

    def park_until(self, deadline_ns: int) -> bool:
        word = self._word
        while _lib.pl_atomic_load(word) != 0:
            remaining = deadline_ns - _monotonic_ns()
            if remaining <= 0:
                return False
            _lib.pl_futex_wait(word, 1, min(remaining, 2**62))
        return True

    def timed_out(self) -> bool:
        return _lib.pl_atomic_load(self._word) != 0

    def unpark_lock(self) -> UnparkHandle:
        _lib.pl_atomic_store(self._word, 0)
        return _FutexUnparkHandle(self._word)
