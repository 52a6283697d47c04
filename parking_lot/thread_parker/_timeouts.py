"""Pure timeout conversions shared by the parkers (tested as plain functions).

Deadlines reach a parker as ``time.monotonic_ns()`` ints.  The parking lot never
passes one later than its own limit (``parking_lot.core.LATEST_DEADLINE_NS``; a
later deadline is no deadline), but ``park_until`` accepts any int, huge or
negative, so each parker copes on its own.  Each OS wait primitive wants its own
unit; these functions convert a deadline or a *remaining* time, rounding up so
that a wait never ends before its deadline, and say what to do when the value
does not fit: wait without a timeout (a wait that long is forever for any
program), or wait as long as the call allows and look at the clock again (the
parkers loop until the deadline has really passed).
"""

from __future__ import annotations

import _thread
import math

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: WaitOnAddress's "no timeout" value.
INFINITE_MS = 0xFFFFFFFF
#: The longest finite WaitOnAddress wait, in ns (``INFINITE_MS - 1`` ms, about 49.7 days):
#: a longer remaining time waits this long, then looks at the clock again.
WAIT_ADDRESS_MAX_WAIT_NS = (INFINITE_MS - 1) * 1_000_000
#: The longest ``_thread.lock.acquire`` wait the portable parker asks for, in seconds: the whole
#: seconds of ``_thread.TIMEOUT_MAX`` (an integer-valued float, so exactly what it says);
#: ``acquire`` raises OverflowError above ``TIMEOUT_MAX``.
LOCK_MAX_WAIT_SECONDS = float(int(_thread.TIMEOUT_MAX))
_LOCK_MAX_WAIT_NS = int(_thread.TIMEOUT_MAX) * 1_000_000_000


def _check_remaining(remaining_ns: int) -> None:
    if remaining_ns < 0:
        raise ValueError(f"remaining_ns must be >= 0, got {remaining_ns}")


def nt_relative_timeout(remaining_ns: int) -> int | None:
    """NT relative timeout for *remaining_ns* (>= 0): negative 100 ns units, rounded up.

    Returns None when the value would overflow a LARGE_INTEGER (more than 29,000
    years); the caller then waits forever, like parking_lot's keyed-event parker.
    Raises ValueError for a negative *remaining_ns*.

    >>> nt_relative_timeout(1)
    -1
    >>> nt_relative_timeout(1_000_000)  # 1 ms
    -10000
    """
    _check_remaining(remaining_ns)
    value = -((remaining_ns + 99) // 100)
    return None if value < INT64_MIN else value


def wait_address_timeout_ms(remaining_ns: int) -> int:
    """WaitOnAddress timeout for *remaining_ns* (>= 0): milliseconds rounded up, INFINITE on overflow.

    The parker never passes more than ``WAIT_ADDRESS_MAX_WAIT_NS``, so that a
    finite deadline keeps a finite wait.  Raises ValueError for a negative
    *remaining_ns*.

    >>> wait_address_timeout_ms(1)
    1
    >>> wait_address_timeout_ms(WAIT_ADDRESS_MAX_WAIT_NS) == INFINITE_MS - 1
    True
    >>> wait_address_timeout_ms(2**64) == INFINITE_MS
    True
    """
    _check_remaining(remaining_ns)
    ms = (remaining_ns + 999_999) // 1_000_000
    return INFINITE_MS if ms >= INFINITE_MS else ms


def futex_deadline_ns(deadline_ns: int) -> int | None:
    """``pl_futex_park``'s int64 deadline for the ``time.monotonic_ns()`` *deadline_ns*.

    A past deadline (any negative one too) becomes 0, which the C call treats as
    passed; None means the deadline does not fit an int64 (292 years of uptime):
    the caller waits without one.

    >>> futex_deadline_ns(-5), futex_deadline_ns(10**9), futex_deadline_ns(2**63)
    (0, 1000000000, None)
    """
    if deadline_ns > INT64_MAX:
        return None
    return deadline_ns if deadline_ns > 0 else 0


def lock_timeout_seconds(remaining_ns: int) -> float:
    """A ``_thread.lock.acquire`` timeout for *remaining_ns* (> 0): seconds, never less.

    The float is rounded up (the correctly rounded quotient, then one step up),
    so the wait does not end before *remaining_ns*; it is at most
    ``LOCK_MAX_WAIT_SECONDS``, which ``acquire`` accepts, and a longer wait is
    that long, after which the parker looks at the clock again.  Raises
    ValueError unless *remaining_ns* > 0.

    >>> lock_timeout_seconds(1) > 1e-9
    True
    >>> lock_timeout_seconds(2**200) == LOCK_MAX_WAIT_SECONDS
    True
    """
    if remaining_ns <= 0:
        raise ValueError(f"remaining_ns must be > 0, got {remaining_ns}")
    if remaining_ns >= _LOCK_MAX_WAIT_NS:
        return LOCK_MAX_WAIT_SECONDS
    return min(math.nextafter(remaining_ns / 1_000_000_000, math.inf), LOCK_MAX_WAIT_SECONDS)
