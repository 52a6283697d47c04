"""The timeout conversions, as plain functions, over the whole float range and ints of any size.

Issue 14, item 2 (huge timeouts raised OverflowError) and issue 15's one deadline
form: a public call's seconds become one ``time.monotonic_ns()`` deadline
(:func:`parking_lot.core.deadline_ns`: exact, rounded up, None past
``LATEST_DEADLINE_NS``), and each parker turns that into its OS unit (futex int64
deadline, NT 100 ns relative units, WaitOnAddress milliseconds, a lock object's
timeout in seconds), never shorter than asked and never an error.
Also ``park(deadline_ns=...)`` and ``Condvar.wait_raw(deadline_ns=...)``, the form
itself.  test_timeouts.py drives the same through the public calls and the parkers.
"""

from __future__ import annotations

import _thread
import math
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import start
from lot_helpers import fresh_key, wait_parked
from parking_lot import core, thread_parker
from parking_lot.core import LATEST_DEADLINE_NS, TimedOut, Unparked, deadline_ns
from parking_lot.raw import Condvar, RawMutex
from parking_lot.thread_parker import _timeouts

NS = 10**9
#: Floats hypothesis might not stress on its own: the edges of the float range and of our limits.
EDGE_FLOATS = [
    0.0,
    -0.0,
    5e-324,  # the smallest subnormal
    sys.float_info.min,  # the smallest normal
    1e-9,
    -5e-324,
    -1.0,
    1e300,
    sys.float_info.max,
    math.inf,
    -math.inf,
    math.nan,
    LATEST_DEADLINE_NS / NS,
    _thread.TIMEOUT_MAX,
    2.0**63,
]
#: Every float (NaN, infinities, subnormals included) and ints too large for a float.
any_seconds = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**70), max_value=10**400),
)


def _exact_ns(seconds: float) -> Fraction:
    return Fraction(seconds) * NS


def _edge_examples(fn: Callable[..., Any]) -> Callable[..., Any]:
    for value in EDGE_FLOATS + [10**400, -(10**400)]:
        fn = example(value)(fn)
    return fn


# --- seconds -> the one deadline form ------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(any_seconds)
@_edge_examples
def test_timeout_to_deadline_ns_is_exact_rounded_up_or_forever(timeout):
    if timeout != timeout or timeout < 0:
        with pytest.raises(ValueError, match="timeout"):
            deadline_ns(timeout, None)
        return
    before = time.monotonic_ns()
    until = deadline_ns(timeout, None)
    after = time.monotonic_ns()
    if timeout == math.inf:
        assert until is None
        return
    wanted = _exact_ns(timeout)
    if until is None:  # forever only for a deadline past the limit
        assert after + wanted > LATEST_DEADLINE_NS
        return
    assert type(until) is int and until <= LATEST_DEADLINE_NS
    assert before + wanted <= until < after + wanted + 1  # never early, rounded up by under 1 ns


@settings(max_examples=400, deadline=None)
@given(any_seconds)
@_edge_examples
def test_monotonic_deadline_to_deadline_ns_is_exact_rounded_up_or_forever(deadline):
    if deadline != deadline:
        with pytest.raises(ValueError, match="deadline"):
            deadline_ns(None, deadline)
        return
    until = deadline_ns(None, deadline)
    if deadline == math.inf:
        assert until is None
        return
    if deadline == -math.inf:
        assert until == 0
        return
    wanted = math.ceil(_exact_ns(deadline))
    if wanted > LATEST_DEADLINE_NS:
        assert until is None
    else:
        assert until == max(wanted, 0)  # exact, rounded up; a past deadline is 0


@pytest.mark.parametrize("bad", ["1", None, True, 1j, [1.0]])
def test_deadline_ns_rejects_what_is_not_a_number(bad):
    if bad is None:
        assert deadline_ns(None, None) is None  # None is "no deadline", not an error
        return
    with pytest.raises(TypeError, match="timeout"):
        deadline_ns(bad, None)
    with pytest.raises(TypeError, match="deadline"):
        deadline_ns(None, bad)


# --- the deadline form -> each OS unit -------------------------------------------------------

#: Remaining times in ns as the parkers meet them: from every non-negative float, and big ints.
remaining_ns = st.one_of(
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False).map(lambda s: math.ceil(_exact_ns(s))),
    st.integers(min_value=0, max_value=2**200),
)
#: Deadlines as a parker may get them: anything an int can be, from floats or not.
any_deadline_ns = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda s: math.ceil(_exact_ns(s))),
    st.integers(min_value=-(2**200), max_value=2**200),
)
EDGE_INTS = [0, 1, 2**62, 2**63 - 1, 2**63, 2**64, 100 * 2**63, 100 * 2**63 + 1, 10**400]


def _int_examples(fn: Callable[..., Any]) -> Callable[..., Any]:
    for value in EDGE_INTS + [math.ceil(_exact_ns(s)) for s in (5e-324, 1e300, sys.float_info.max)]:
        fn = example(value)(fn)
    return fn


@settings(max_examples=300, deadline=None)
@given(remaining_ns)
@_int_examples
def test_nt_relative_timeout_covers_every_remaining_time(remaining):
    value = _timeouts.nt_relative_timeout(remaining)
    units = -(-remaining // 100)
    if units > 2**63:
        assert value is None  # wait without a timeout
    else:
        assert value == -units and _timeouts.INT64_MIN <= value <= 0
        assert -value * 100 >= remaining


@settings(max_examples=300, deadline=None)
@given(remaining_ns)
@_int_examples
def test_wait_address_ms_covers_every_remaining_time(remaining):
    ms = _timeouts.wait_address_timeout_ms(remaining)
    assert 0 <= ms <= _timeouts.INFINITE_MS
    if ms != _timeouts.INFINITE_MS:
        assert ms * 1_000_000 >= remaining > (ms - 1) * 1_000_000 or remaining == ms == 0
    # What the parker asks for is never INFINITE for a finite deadline.
    capped = _timeouts.wait_address_timeout_ms(min(remaining, _timeouts.WAIT_ADDRESS_MAX_WAIT_NS))
    assert capped < _timeouts.INFINITE_MS
    assert capped * 1_000_000 >= min(remaining, _timeouts.WAIT_ADDRESS_MAX_WAIT_NS)


@settings(max_examples=300, deadline=None)
@given(remaining_ns.filter(lambda ns: ns > 0))
@_int_examples
def test_lock_timeout_seconds_is_taken_by_a_lock_object_and_never_short(remaining):
    if remaining == 0:
        with pytest.raises(ValueError, match="remaining_ns"):
            _timeouts.lock_timeout_seconds(remaining)
        return
    seconds = _timeouts.lock_timeout_seconds(remaining)
    assert 0 < seconds <= _timeouts.LOCK_MAX_WAIT_SECONDS <= _thread.TIMEOUT_MAX
    if seconds < _timeouts.LOCK_MAX_WAIT_SECONDS:
        assert _exact_ns(seconds) >= remaining  # rounded up: the wait never ends early
    # The OS call takes it (a free lock: acquire returns at once instead of raising).
    lock = _thread.allocate_lock()
    assert lock.acquire(True, seconds) is True


@settings(max_examples=300, deadline=None)
@given(any_deadline_ns)
@_int_examples
def test_futex_deadline_fits_the_c_int64_or_means_forever(deadline):
    value = _timeouts.futex_deadline_ns(deadline)
    if deadline > _timeouts.INT64_MAX:
        assert value is None
        return
    assert value == max(deadline, 0)
    futex = thread_parker.backend_module("futex")
    if futex.unavailable_reason() is None:
        # The compiled call takes it: with the word already 0 it returns at once.
        from parking_lot._ffi._futex import ffi, lib

        word = ffi.new("int32_t *", 0)
        assert lib.pl_futex_park(word, value) == 0


def test_conversions_reject_negative_remaining_times():
    for convert in (_timeouts.nt_relative_timeout, _timeouts.wait_address_timeout_ms, _timeouts.lock_timeout_seconds):
        with pytest.raises(ValueError, match="remaining_ns"):
            convert(-1)


# --- the deadline form as park and Condvar.wait_raw take it ----------------------------------


def test_park_takes_the_deadline_form_and_checks_it():
    key = fresh_key()
    assert core.park(key, deadline_ns=-(10**400)) is TimedOut
    assert core.park(key, deadline_ns=time.monotonic_ns() + 1_000_000) is TimedOut
    for bad in (1.5, True, "1"):
        with pytest.raises(TypeError, match="deadline_ns"):
            core.park(key, deadline_ns=bad)
    for other in ({"timeout": 1.0}, {"deadline": 1.0}):
        with pytest.raises(TypeError, match="only one"):
            core.park(key, deadline_ns=0, **other)
    assert core.parked_count(key) == 0
    # Past the limit: no deadline, the thread waits until it is woken.
    far = start(lambda: core.park(key, deadline_ns=10**400))
    wait_parked(key, 1)
    core.unpark_one(key)
    assert far.finish() == Unparked(0)


def test_wait_raw_takes_the_deadline_form_and_checks_it():
    m, cv = RawMutex(), Condvar()
    with m:
        assert cv.wait_raw(m, deadline_ns=0).timed_out
        with pytest.raises(TypeError, match="only one"):
            cv.wait_raw(m, timeout=1.0, deadline_ns=0)
        with pytest.raises(TypeError, match="deadline_ns"):
            cv.wait_raw(m, deadline_ns=0.5)
        assert m.is_locked() and "idle" in repr(cv)  # still ours, nobody queued
