"""Pure timeout conversions shared by the parkers (tested as plain functions).

Deadlines inside parking_lot are ``time.monotonic_ns()`` values (ints).  Each OS
wait primitive wants its own unit; these functions convert a *remaining* time in
nanoseconds, rounding up so that a wait never ends before its deadline, and say
when the value cannot be represented (the caller then waits without a timeout,
as parking_lot does).
"""

from __future__ import annotations

import math

INT64_MIN = -(2**63)
#: WaitOnAddress's "no timeout" value.
INFINITE_MS = 0xFFFFFFFF


def nt_relative_timeout(remaining_ns: int) -> int | None:
    """NT relative timeout for *remaining_ns*: negative 100 ns units, rounded up.

    Returns None when the value would overflow a LARGE_INTEGER; the caller then
    waits forever, like parking_lot's keyed-event parker.

    >>> nt_relative_timeout(1)
    -1
    >>> nt_relative_timeout(1_000_000)  # 1 ms
    -10000
    """
    if remaining_ns < 0:
        raise ValueError(f"remaining_ns must be >= 0, got {remaining_ns}")
    value = -((remaining_ns + 99) // 100)
    return None if value < INT64_MIN else value


def wait_address_timeout_ms(remaining_ns: int) -> int:
    """WaitOnAddress timeout for *remaining_ns*: milliseconds rounded up, INFINITE on overflow.

    >>> wait_address_timeout_ms(1)
    1
    >>> wait_address_timeout_ms(2**64) == INFINITE_MS
    True
    """
    if remaining_ns < 0:
        raise ValueError(f"remaining_ns must be >= 0, got {remaining_ns}")
    ms = (remaining_ns + 999_999) // 1_000_000
    return INFINITE_MS if ms >= INFINITE_MS else ms


def seconds_to_ns(seconds: float) -> int:
    """Convert a non-negative finite-or-infinite number of seconds to whole ns, rounding up.

    ``math.inf`` is returned as a huge int (``2**63``), which every caller treats as
    "no deadline worth a timer".
    """
    if math.isinf(seconds):
        return 2**63
    return math.ceil(seconds * 1_000_000_000)
