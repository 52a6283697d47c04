"""Timeouts and deadlines of any size, through every public timed call and every parker.

Issue 14, item 2: ``Mutex.try_lock_for(1e300)`` raised OverflowError instead of
waiting.  The kind is every timed call and every layer a timeout crosses on its
way down, so: each parker is given deadlines no OS call can take, and each public
timed call every kind of number (hypothesis over the whole float range, ints too
large for a float): NaN and negative timeouts are a ValueError naming the
argument with nothing changed, tiny ones give up by themselves (never early),
huge ones wait until another thread lets them through -- bounded by
conftest.BOUND, never by sleeping and hoping.  These tests use only names the
code had before the fix, so they run against it (and fail there).  The
conversions themselves are in test_timeout_conversions.py.
"""

from __future__ import annotations

import _thread
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from conftest import AVAILABLE_BACKENDS, BOUND, start, wait_until
from lot_helpers import fresh_key
from parking_lot import Condvar, FairMutex, Mutex, ReentrantMutex, RwLock, core, thread_parker
from parking_lot.core import TimedOut, Unparked
from parking_lot.raw import Condvar as RawCondvar
from parking_lot.raw import RawFairMutex, RawMutex, RawReentrantMutex, RawRwLock

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
    2.0**62 / NS,  # parking_lot.core.LATEST_DEADLINE_NS in seconds
    _thread.TIMEOUT_MAX,
    2.0**63,
]
#: Every float (NaN, infinities, subnormals included) and ints too large for a float.
any_seconds = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**70), max_value=10**400),
)


# --- each parker with deadlines no OS call takes ---------------------------------------------

FAR_DEADLINES = {
    "2**62+1": 2**62 + 1,  # past parking_lot.core.LATEST_DEADLINE_NS
    "2**63-1": 2**63 - 1,  # the largest int64
    "2**63": 2**63,
    "2**64": 2**64,
    "100*2**63+1": 100 * 2**63 + 1,  # beyond an NT LARGE_INTEGER in 100 ns units
    "10**30": 10**30,
    "10**400": 10**400,
}
PAST_DEADLINES = {"0": 0, "-1": -1, "-2**63": -(2**63), "-2**64": -(2**64), "-10**400": -(10**400)}


@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
@pytest.mark.parametrize("deadline", FAR_DEADLINES.values(), ids=FAR_DEADLINES.keys())
def test_a_parker_waits_for_its_unparker_however_far_the_deadline(backend, deadline):
    # Made and used in a worker: no main-thread slices, the whole deadline meets the OS call.
    parkers: list[Any] = []
    ready = threading.Event()

    def wait() -> bool:
        parker = thread_parker.parker_class(backend)()
        parker.prepare_park()
        parkers.append(parker)
        ready.set()
        return parker.park_until(deadline)

    waiter = start(wait)
    assert ready.wait(BOUND)
    time.sleep(0.02)  # most likely asleep by now; the result is the same if not
    parkers[0].unpark_lock().unpark()
    assert waiter.finish() is True


@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
@pytest.mark.parametrize("deadline", PAST_DEADLINES.values(), ids=PAST_DEADLINES.keys())
def test_a_parker_gives_up_at_once_for_any_past_deadline(backend, deadline):
    parker = thread_parker.parker_class(backend)()
    parker.prepare_park()
    assert start(parker.park_until, deadline).finish() is False
    assert parker.timed_out() is True


# --- the regression input of the issue -------------------------------------------------------


def test_try_lock_for_a_huge_timeout_waits_for_the_holder():
    # Issue 14 item 2's input: another thread holds the Mutex for 0.1 s.
    m = Mutex(0)
    held = threading.Event()

    def hold() -> None:
        with m.lock():
            held.set()
            time.sleep(0.1)

    holder = start(hold)
    assert held.wait(BOUND)

    def lock_for_1e300() -> bool:
        guard = m.try_lock_for(1e300)
        if guard is None:
            return False
        guard.unlock()
        return True

    assert start(lock_for_1e300).finish() is True
    holder.finish()
    assert not m.is_locked()


@pytest.mark.parametrize("timeout", [-1, -1e-300, math.nan, -math.inf])
@pytest.mark.parametrize("kind", ["raw", "data"])
def test_the_owner_of_a_reentrant_mutex_gets_the_error_too(kind, timeout):
    # The owner used to count one more lock without looking at the timeout.
    if kind == "raw":
        m: Any = RawReentrantMutex()
        m.lock()
        unlock = m.unlock
    else:
        m = ReentrantMutex(0)
        unlock = m.lock().unlock
    with pytest.raises(ValueError, match="timeout"):
        m.try_lock_for(timeout)
    unlock()
    assert not m.is_locked()  # it was held once, not twice


# --- every public timed call ------------------------------------------------------------------


@dataclass
class Timed:
    """One public timed call on a fresh, contended primitive."""

    #: The call with the time argument (runs in a worker): True if it got through, False on timeout.
    call: Callable[[Any], bool]
    #: Lets a waiting call through (the holder lets go, or a notification).
    release: Callable[[], None]
    #: Where the call parks while it waits.
    key: int
    #: The primitive's observable state, equal before and after a rejected call.
    snapshot: Callable[[], Any]
    #: Whether the call takes a ``time.monotonic()`` deadline (else a timeout).
    deadline: bool = False


class Holder:
    """A thread that holds a lock until told to let go."""

    def __init__(self, acquire: Callable[[], Any], release: Callable[[Any], None]) -> None:
        self._go = threading.Event()
        held = threading.Event()

        def body() -> None:
            token = acquire()
            held.set()
            self._go.wait(BOUND)
            release(token)

        self._worker = start(body)
        assert held.wait(BOUND)

    def let_go(self) -> None:
        self._go.set()
        self._worker.finish()


def _lock_case(acquire: Callable[[], Any], unlock: Callable[[Any], None], timed: Callable[[Any], Any],
               undo: Callable[[Any], None], key: int, snapshot: Callable[[], Any], deadline: bool = False) -> Timed:
    holder = Holder(acquire, unlock)

    def call(value: Any) -> bool:
        got = timed(value)  # a bool (raw locks) or a guard / None (data-owning locks)
        if got is None or got is False:
            return False
        undo(got)
        return True

    return Timed(call, holder.let_go, key, snapshot, deadline)


def _raw_mutex(cls: type[RawMutex], deadline: bool) -> Timed:
    m = cls()
    timed = m.try_lock_until if deadline else m.try_lock_for
    return _lock_case(m.lock, lambda _: m.unlock(), timed, lambda _: m.unlock(), id(m), m.is_locked, deadline)


def _raw_reentrant(deadline: bool) -> Timed:
    m = RawReentrantMutex()
    timed = m.try_lock_until if deadline else m.try_lock_for
    return _lock_case(m.lock, lambda _: m.unlock(), timed, lambda _: m.unlock(), id(m._mutex),
                      lambda: (m.is_locked(), m.count), deadline)


def _rw_state(rw: RawRwLock) -> Any:
    return (rw.is_locked(), rw.is_locked_exclusive(), rw.readers, repr(rw))


def _raw_rwlock(mode: str, deadline: bool) -> Timed:
    rw = RawRwLock()
    suffix = "_until" if deadline else "_for"
    if mode == "upgrade":
        # The caller holds the upgradable lock and waits for a reader to leave (second key).
        holder = Holder(rw.lock_shared, lambda _: rw.unlock_shared())
        timed = getattr(rw, "try_upgrade" + suffix)

        def call(value: Any) -> bool:
            rw.lock_upgradable()
            upgraded = False
            try:
                upgraded = timed(value)
            finally:
                if upgraded:
                    rw.unlock_exclusive()
                else:
                    rw.unlock_upgradable()
            return upgraded

        return Timed(call, holder.let_go, id(rw) + 1, lambda: _rw_state(rw), deadline)
    timed = getattr(rw, f"try_lock_{mode}{suffix}")
    undo = {"shared": rw.unlock_shared, "exclusive": rw.unlock_exclusive, "upgradable": rw.unlock_upgradable}[mode]
    return _lock_case(rw.lock_exclusive, lambda _: rw.unlock_exclusive(), timed, lambda _: undo(), id(rw),
                      lambda: _rw_state(rw), deadline)


def _data_mutex(cls: type[Mutex[int]], deadline: bool) -> Timed:
    m = cls(0)
    timed = m.try_lock_until if deadline else m.try_lock_for
    return _lock_case(m.lock, lambda guard: guard.unlock(), timed, lambda guard: guard.unlock(), id(m.raw),
                      m.is_locked, deadline)


def _data_reentrant() -> Timed:
    m = ReentrantMutex(0)
    return _lock_case(m.lock, lambda guard: guard.unlock(), m.try_lock_for, lambda guard: guard.unlock(),
                      id(m._raw._mutex), m.is_locked, False)


def _data_rwlock(mode: str) -> Timed:
    rw = RwLock(0)
    raw = rw._raw
    if mode == "upgrade":
        holder = Holder(rw.read, lambda guard: guard.unlock())

        def call(value: Any) -> bool:
            upgradable = rw.upgradable_read()
            writer = None
            try:
                writer = upgradable.try_upgrade_for(value)
            finally:
                (upgradable if writer is None else writer).unlock()
            return writer is not None

        return Timed(call, holder.let_go, id(raw) + 1, lambda: _rw_state(raw))
    timed = {"read": rw.try_read_for, "write": rw.try_write_for, "upgradable": rw.try_upgradable_read_for}[mode]
    return _lock_case(rw.write, lambda guard: guard.unlock(), timed, lambda guard: guard.unlock(), id(raw),
                      lambda: _rw_state(raw))


def _raw_condvar(form: str) -> Timed:
    m, cv = RawMutex(), RawCondvar()
    flag = [False]

    def wait(value: Any) -> bool:
        m.lock()
        try:
            if form == "wait_while":
                return not cv.wait_while_raw(m, lambda: not flag[0], value).timed_out
            kwargs = {"deadline" if form == "deadline" else "timeout": value}
            return not cv.wait_raw(m, **kwargs).timed_out
        finally:
            m.unlock()

    def notify() -> None:
        with m:
            flag[0] = True
        cv.notify_one()

    return Timed(wait, notify, id(cv), lambda: (m.is_locked(), repr(cv), flag[0]), form == "deadline")


def _data_condvar(form: str) -> Timed:
    m, cv = Mutex(False), Condvar()

    def wait(value: Any) -> bool:
        with m.lock() as guard:
            if form == "wait_while":
                return not cv.wait_while(guard, lambda ready: not ready, value).timed_out
            if form == "deadline":
                return not cv.wait_until(guard, value).timed_out
            return not cv.wait_for(guard, value).timed_out

    def notify() -> None:
        with m.lock() as guard:
            guard.value = True
        cv.notify_one()

    return Timed(wait, notify, id(cv), lambda: (m.is_locked(), repr(cv)), form == "deadline")


def _core_park(deadline: bool) -> Timed:
    key = fresh_key()
    argument = "deadline" if deadline else "timeout"

    def call(value: Any) -> bool:
        result = core.park(key, **{argument: value})
        assert result in (Unparked(0), TimedOut)
        return result is not TimedOut

    def unpark() -> None:
        core.unpark_one(key)

    return Timed(call, unpark, key, lambda: core.parked_count(key), deadline)


CASES: dict[str, Callable[[], Timed]] = {
    "core.park(timeout)": lambda: _core_park(False),
    "core.park(deadline)": lambda: _core_park(True),
}
for _deadline in (False, True):
    _suffix = "until" if _deadline else "for"
    CASES[f"RawMutex.try_lock_{_suffix}"] = lambda d=_deadline: _raw_mutex(RawMutex, d)
    CASES[f"RawFairMutex.try_lock_{_suffix}"] = lambda d=_deadline: _raw_mutex(RawFairMutex, d)
    CASES[f"RawReentrantMutex.try_lock_{_suffix}"] = lambda d=_deadline: _raw_reentrant(d)
    CASES[f"Mutex.try_lock_{_suffix}"] = lambda d=_deadline: _data_mutex(Mutex, d)
    CASES[f"FairMutex.try_lock_{_suffix}"] = lambda d=_deadline: _data_mutex(FairMutex, d)
    for _mode in ("shared", "exclusive", "upgradable", "upgrade"):
        _name = f"try_upgrade_{_suffix}" if _mode == "upgrade" else f"try_lock_{_mode}_{_suffix}"
        CASES[f"RawRwLock.{_name}"] = lambda m=_mode, d=_deadline: _raw_rwlock(m, d)
CASES["ReentrantMutex.try_lock_for"] = _data_reentrant
for _mode, _name in [("read", "try_read_for"), ("write", "try_write_for"),
                     ("upgradable", "try_upgradable_read_for"), ("upgrade", "UpgradableReadGuard.try_upgrade_for")]:
    CASES[f"RwLock.{_name}"] = lambda m=_mode: _data_rwlock(m)
for _form, _name in [("timeout", "wait_raw(timeout)"), ("deadline", "wait_raw(deadline)"),
                     ("wait_while", "wait_while_raw")]:
    CASES[f"raw.Condvar.{_name}"] = lambda f=_form: _raw_condvar(f)
for _form, _name in [("timeout", "wait_for"), ("deadline", "wait_until"), ("wait_while", "wait_while")]:
    CASES[f"Condvar.{_name}"] = lambda f=_form: _data_condvar(f)

#: A timeout (or a deadline this far ahead) is "tiny" below this: the call must give up by itself.
TINY = 0.01
#: From here on it is "huge": the call must wait until it is let through.
HUGE = 1.0


def _seconds_ahead(value: float, now: float) -> Fraction | float:
    """*value* - *now*, exactly (an int may be too large for a float); infinities stay."""
    if value in (math.inf, -math.inf):
        return value
    return Fraction(value) - Fraction(now)


def _deadline_examples(fn: Callable[..., Any]) -> Callable[..., Any]:
    for value in EDGE_FLOATS + [10**400, -(10**400), 2**63]:
        fn = example(value=value)(fn)
    return fn


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=any_seconds | st.floats(-2 * TINY, 2 * HUGE).map(lambda ahead: time.monotonic() + ahead))
@_deadline_examples
def test_every_public_timed_call_takes_any_number(name, value):
    case = CASES[name]()
    argument = "deadline" if case.deadline else "timeout"
    before = case.snapshot()
    if value != value or (not case.deadline and value < 0):
        event("rejected")
        with pytest.raises(ValueError, match=argument):
            start(case.call, value).finish()
        assert case.snapshot() == before, "a rejected call changed the primitive"
        assert core.parked_count(case.key) == 0
        case.release()
        return
    now = time.monotonic()
    ahead = _seconds_ahead(value, now if case.deadline else 0.0)
    if ahead < TINY:
        event("tiny: gives up by itself")
        assert start(case.call, value).finish() is False  # gave up by itself, promptly
        if ahead > 0:  # and never early (1 us for the float clock's rounding)
            assert time.monotonic() - now >= ahead - Fraction(1, 10**6)
        case.release()
    else:
        event("huge: waits to be let through" if ahead >= HUGE else "in between")
        waiter = start(case.call, value)
        wait_until(lambda: core.parked_count(case.key) > 0 or waiter.done.is_set(), what=f"{name} to wait")
        case.release()
        got_through = waiter.finish()
        if ahead >= HUGE:
            assert got_through is True, f"{name}({value!r}) gave up instead of waiting"
        elif not got_through:  # in between: either, but a timeout never comes early
            assert time.monotonic() - now >= ahead
    assert core.parked_count(case.key) == 0
