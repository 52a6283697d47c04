"""SpinWait: bounded exponential back-off, as parking_lot_core's ``spinwait.rs``.

A thread that fails to take a lock may retry a few times before it parks.  In
Rust the first retries busy-wait with a CPU pause so the owner, running on
another core, can finish.  In Python the owner usually needs *our* interpreter
lock (the GIL) to make progress, so the short spins stay short and later turns
yield the GIL and the CPU with ``time.sleep(0)``; on a free-threaded build the
busy turns help as they do in Rust.
"""

from __future__ import annotations

import time

_SPIN_LIMIT = 10
_BUSY_TURNS = 3


def _relax(iterations: int) -> None:
    for _ in range(iterations):
        pass


class SpinWait:
    """A counter of back-off turns.

    >>> s = SpinWait()
    >>> sum(1 for _ in range(20) if s.spin())  # gives up after 10 turns
    10
    >>> s.reset(); s.spin()
    True
    """

    __slots__ = ("_counter",)

    def __init__(self) -> None:
        self._counter = 0

    def reset(self) -> None:
        """Start again from the shortest back-off."""
        self._counter = 0

    def spin(self) -> bool:
        """Back off once; False when it is time to park instead."""
        if self._counter >= _SPIN_LIMIT:
            return False
        self._counter += 1
        if self._counter <= _BUSY_TURNS:
            _relax(1 << self._counter)
        else:
            time.sleep(0)
        return True
