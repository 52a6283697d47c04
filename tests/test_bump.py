"""Bumps and fair unlocks of every lock, against every kind of thread that can wait for the hold.

A bump is "unlock fairly, then lock": the thread waiting for the bumped hold must
have had the lock before the bump returns.  A fair unlock hands the lock over:
right after it returns, nobody else can take the lock, even before the waiter runs.

The table is (operation x waiter kind).  Who can wait for a hold depends on its
mode (raw/rwlock.py tabulates it): for a mutex, a thread in ``lock()`` or a
Condvar waiter that a notify moved onto the mutex; for a write lock, readers,
writers and upgradable readers on the main key; for an upgradable read lock,
writers and upgradable readers; for a plain read lock, the thread holding WRITER
(a writer, or an upgrader inside ``upgrade()``) that waits on the second key for
the readers to leave, also when another reader is still inside.

Every test runs the holder and the waiter in bounded workers: a bump that
returns early shows as the wrong order, one that never returns as a failed join.

Under the GIL a woken waiter often runs before the unlocking thread goes on (the
wake is a cffi call that lets the GIL go), which would hide an unfair unlock.  So
the waiter is held at a gate as soon as its ``park`` returns, until the holder
has finished its step or is waiting for the lock again: only a hand-over, which
makes the waiter the owner before it runs, passes then.  And the fairness timer is
stopped (it would make any unlock fair after the waiter's first millisecond), so
only the operation's own fairness is measured.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import parking_lot.raw.condvar
import parking_lot.raw.mutex
import parking_lot.raw.rwlock
from conftest import BOUND, start, wait_until
from parking_lot import core
from parking_lot.core._hashtable import Bucket
from parking_lot.condvar import Condvar
from parking_lot.mutex import FairMutex, Mutex
from parking_lot.raw import RawFairMutex, RawMutex, RawReentrantMutex, RawRwLock
from parking_lot.raw.condvar import Condvar as RawCondvar
from parking_lot.reentrant_mutex import ReentrantMutex
from parking_lot.rwlock import RwLock


# --- the operations ------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One bump or fair unlock: *hold* takes the hold (returns a handle), *step* runs the operation.

    For a bump, *step* keeps the hold and *release* lets it go afterwards.  For a
    fair unlock, *step* releases and returns whether another thread could take the
    lock right after (``barge``); if the step takes the lock back (``unlocked_fair``),
    *release* lets it go afterwards, else *release* is None.
    """

    name: str
    family: str  # which waiter kinds apply: mutex, reentrant, exclusive, upgradable, shared
    make: Callable[[], Any]
    raw: Callable[[Any], Any]  # the raw lock under the subject
    hold: Callable[[Any], Any]
    step: Callable[[Any, Any], Any]
    release: Callable[[Any, Any], None] | None
    fair: bool


def _mutex_barge(raw: Any) -> bool:
    if raw.try_lock():
        raw.unlock()
        return True
    return False


def _rw_barge(raw: RawRwLock) -> bool:
    if raw.try_lock_exclusive():
        raw.unlock_exclusive()
        return True
    return False


def _fair(release: Callable[[Any, Any], None], barge: Callable[[Any], bool]) -> Callable[[Any, Any], bool]:
    def step(lock: Any, handle: Any) -> bool:
        release(lock, handle)
        return barge(lock)

    return step


def _unlocked_fair(lock: Any, guard: Any) -> bool:
    with guard.unlocked_fair():
        return _mutex_barge(lock.raw)


def _unlocked_of_fair_mutex(lock: Any, guard: Any) -> bool:
    with guard.unlocked():  # a FairMutex's every unlock is fair
        return _mutex_barge(lock.raw)


def _ident(lock: Any) -> Any:
    return lock


def _raw_of(lock: Any) -> Any:
    return lock._raw


OPS = [
    # RawMutex, RawFairMutex
    Op("RawMutex.bump", "mutex", RawMutex, _ident, lambda m: m.lock(), lambda m, h: m.bump(), lambda m, h: m.unlock(), False),
    Op("RawMutex.unlock_fair", "mutex", RawMutex, _ident, lambda m: m.lock(), _fair(lambda m, h: m.unlock_fair(), _mutex_barge), None, True),
    Op("RawFairMutex.bump", "mutex", RawFairMutex, _ident, lambda m: m.lock(), lambda m, h: m.bump(), lambda m, h: m.unlock(), False),
    Op("RawFairMutex.unlock", "mutex", RawFairMutex, _ident, lambda m: m.lock(), _fair(lambda m, h: m.unlock(), _mutex_barge), None, True),
    # Mutex, FairMutex guards
    Op("MutexGuard.bump", "mutex", lambda: Mutex(0), _raw_of, lambda m: m.lock(), lambda m, g: g.bump(), lambda m, g: g.unlock(), False),
    Op("MutexGuard.unlock_fair", "mutex", lambda: Mutex(0), _raw_of, lambda m: m.lock(), _fair(lambda m, g: g.unlock_fair(), lambda m: _mutex_barge(m.raw)), None, True),
    Op("MutexGuard.unlocked_fair", "mutex", lambda: Mutex(0), _raw_of, lambda m: m.lock(), _unlocked_fair, lambda m, g: g.unlock(), True),
    Op("FairMutex guard.bump", "mutex", lambda: FairMutex(0), _raw_of, lambda m: m.lock(), lambda m, g: g.bump(), lambda m, g: g.unlock(), False),
    Op("FairMutex guard.unlock", "mutex", lambda: FairMutex(0), _raw_of, lambda m: m.lock(), _fair(lambda m, g: g.unlock(), lambda m: _mutex_barge(m.raw)), None, True),
    Op("FairMutex guard.unlocked", "mutex", lambda: FairMutex(0), _raw_of, lambda m: m.lock(), _unlocked_of_fair_mutex, lambda m, g: g.unlock(), True),
    # RawReentrantMutex, ReentrantMutex
    Op("RawReentrantMutex.bump", "reentrant", RawReentrantMutex, _ident, lambda m: m.lock(), lambda m, h: m.bump(), lambda m, h: m.unlock(), False),
    Op("RawReentrantMutex.unlock_fair", "reentrant", RawReentrantMutex, _ident, lambda m: m.lock(), _fair(lambda m, h: m.unlock_fair(), _mutex_barge), None, True),
    Op("ReentrantMutexGuard.bump", "reentrant", lambda: ReentrantMutex(0), _raw_of, lambda m: m.lock(), lambda m, g: g.bump(), lambda m, g: g.unlock(), False),
    Op("ReentrantMutexGuard.unlock_fair", "reentrant", lambda: ReentrantMutex(0), _raw_of, lambda m: m.lock(), _fair(lambda m, g: g.unlock_fair(), lambda m: _mutex_barge(m._raw)), None, True),
    # RawRwLock, write lock
    Op("RawRwLock.bump_exclusive", "exclusive", RawRwLock, _ident, lambda r: r.lock_exclusive(), lambda r, h: r.bump_exclusive(), lambda r, h: r.unlock_exclusive(), False),
    Op("RawRwLock.unlock_exclusive_fair", "exclusive", RawRwLock, _ident, lambda r: r.lock_exclusive(), _fair(lambda r, h: r.unlock_exclusive_fair(), _rw_barge), None, True),
    Op("WriteGuard.bump", "exclusive", lambda: RwLock(0), _raw_of, lambda r: r.write(), lambda r, g: g.bump(), lambda r, g: g.unlock(), False),
    Op("WriteGuard.unlock_fair", "exclusive", lambda: RwLock(0), _raw_of, lambda r: r.write(), _fair(lambda r, g: g.unlock_fair(), lambda r: _rw_barge(r._raw)), None, True),
    # upgradable read lock
    Op("RawRwLock.bump_upgradable", "upgradable", RawRwLock, _ident, lambda r: r.lock_upgradable(), lambda r, h: r.bump_upgradable(), lambda r, h: r.unlock_upgradable(), False),
    Op("RawRwLock.unlock_upgradable_fair", "upgradable", RawRwLock, _ident, lambda r: r.lock_upgradable(), _fair(lambda r, h: r.unlock_upgradable_fair(), _rw_barge), None, True),
    Op("UpgradableReadGuard.bump", "upgradable", lambda: RwLock(0), _raw_of, lambda r: r.upgradable_read(), lambda r, g: g.bump(), lambda r, g: g.unlock(), False),
    Op("UpgradableReadGuard.unlock_fair", "upgradable", lambda: RwLock(0), _raw_of, lambda r: r.upgradable_read(), _fair(lambda r, g: g.unlock_fair(), lambda r: _rw_barge(r._raw)), None, True),
    # read lock
    Op("RawRwLock.bump_shared", "shared", RawRwLock, _ident, lambda r: r.lock_shared(), lambda r, h: r.bump_shared(), lambda r, h: r.unlock_shared(), False),
    Op("RawRwLock.unlock_shared_fair", "shared", RawRwLock, _ident, lambda r: r.lock_shared(), _fair(lambda r, h: r.unlock_shared_fair(), _rw_barge), None, True),
    Op("ReadGuard.bump", "shared", lambda: RwLock(0), _raw_of, lambda r: r.read(), lambda r, g: g.bump(), lambda r, g: g.unlock(), False),
    Op("ReadGuard.unlock_fair", "shared", lambda: RwLock(0), _raw_of, lambda r: r.read(), _fair(lambda r, g: g.unlock_fair(), lambda r: _rw_barge(r._raw)), None, True),
]


# --- the waiters ---------------------------------------------------------------------


@dataclass(frozen=True)
class Waiter:
    """A kind of thread waiting for the hold.

    *acquire(subject, raw)* blocks until the waiter has the lock and returns how to
    let it go; *second_key* says where it parks (the raw lock's key + 1, else the
    key); *early*: the waiter starts before the holder takes its hold (a Condvar
    waiter needs the mutex first), and *notify* then moves it onto the mutex.
    *other_reader*: another thread's read lock stays inside until the bump is under way.
    """

    name: str
    families: tuple[str, ...]
    acquire: Callable[[Any, Any, dict[str, Any]], Callable[[], None]]
    second_key: bool = False
    early: bool = False
    other_reader: bool = False


def _locker(subject: Any, raw: Any, ctx: dict[str, Any]) -> Callable[[], None]:
    raw.lock()
    return raw.unlock


def _condvar_waiter(subject: Any, raw: Any, ctx: dict[str, Any]) -> Callable[[], None]:
    if isinstance(subject, Mutex):
        cv = ctx["cv"] = Condvar()
        guard = subject.lock()
        ctx["waiting"].set()
        cv.wait(guard)  # returns holding the mutex
        return guard.unlock
    cv = ctx["cv"] = RawCondvar()
    raw.lock()
    ctx["waiting"].set()
    cv.wait_raw(raw)
    return raw.unlock


def _reader(subject: Any, raw: RawRwLock, ctx: dict[str, Any]) -> Callable[[], None]:
    raw.lock_shared()
    return raw.unlock_shared


def _writer(subject: Any, raw: RawRwLock, ctx: dict[str, Any]) -> Callable[[], None]:
    raw.lock_exclusive()
    return raw.unlock_exclusive


def _upgradable(subject: Any, raw: RawRwLock, ctx: dict[str, Any]) -> Callable[[], None]:
    raw.lock_upgradable()
    return raw.unlock_upgradable


def _upgrader(subject: Any, raw: RawRwLock, ctx: dict[str, Any]) -> Callable[[], None]:
    raw.lock_upgradable()  # shares with the holder's read lock
    raw.upgrade()  # holds WRITER, waits on the second key for the holder to leave
    return raw.unlock_exclusive


WAITERS = [
    Waiter("a thread locking", ("mutex", "reentrant"), _locker),
    Waiter("a condvar waiter moved onto the mutex", ("mutex",), _condvar_waiter, early=True),
    Waiter("a reader", ("exclusive",), _reader),
    Waiter("a writer on the main key", ("exclusive", "upgradable"), _writer),
    Waiter("an upgradable reader", ("exclusive", "upgradable"), _upgradable),
    Waiter("a writer on the second key", ("shared",), _writer, second_key=True),
    Waiter("an upgrader on the second key", ("shared",), _upgrader, second_key=True),
    Waiter("a writer waiting for two readers", ("shared",), _writer, second_key=True, other_reader=True),
]

CASES = [
    pytest.param(op, waiter, id=f"{op.name} x {waiter.name}")
    for op in OPS
    for waiter in WAITERS
    if op.family in waiter.families and not (waiter.other_reader and op.fair)
]


def _parked(key: int) -> int:
    return core.parked_count(key)


class _Gate(threading.local):
    gated = False


def _gate_parks(monkeypatch: pytest.MonkeyPatch, woken: threading.Event, gate: threading.Event) -> _Gate:
    """In threads that set ``gated``: after ``park`` returns in the raw locks, report it and wait at *gate*."""
    local = _Gate()

    def gated_park(*args: Any, **kwargs: Any) -> Any:
        result = core.park(*args, **kwargs)
        if local.gated:
            woken.set()
            assert gate.wait(BOUND), "the gate never opened"
        return result

    for module in (parking_lot.raw.mutex, parking_lot.raw.rwlock, parking_lot.raw.condvar):
        monkeypatch.setattr(module, "park", gated_park)
    monkeypatch.setattr(Bucket, "should_be_fair", lambda self: False)  # only forced fairness counts
    return local


@pytest.mark.parametrize("op, waiter", CASES)
def test_the_waiter_has_the_lock_first(op: Op, waiter: Waiter, monkeypatch: pytest.MonkeyPatch) -> None:
    subject = op.make()
    raw = op.raw(subject)
    key = id(raw._mutex) if isinstance(raw, RawReentrantMutex) else id(raw)
    log: list[Any] = []
    held, go, let_go = threading.Event(), threading.Event(), threading.Event()
    woken, gate = threading.Event(), threading.Event()
    local = _gate_parks(monkeypatch, woken, gate)
    ctx: dict[str, Any] = {"waiting": threading.Event()}

    def holder() -> None:
        handle = op.hold(subject)
        held.set()
        assert go.wait(BOUND)
        result = op.step(subject, handle)
        log.append(("barged", result) if op.fair else "bump returned")
        if op.release is not None:
            op.release(subject, handle)

    def waiting() -> None:
        local.gated = True
        let_it_go = waiter.acquire(subject, raw, ctx)
        log.append("waiter had the lock")
        try:
            assert let_go.wait(BOUND)
        finally:
            let_it_go()

    if waiter.other_reader:
        raw.lock_shared()  # a second reader, this thread's, still inside when the bump starts
    if waiter.early:
        waiter_thread = start(waiting, name="waiter")
        assert ctx["waiting"].wait(BOUND)
        wait_until(lambda: _parked(id(ctx["cv"])) == 1, what="the waiter to wait on the condvar")
    holder_thread = start(holder, name="holder")
    assert held.wait(BOUND)
    if waiter.early:
        ctx["cv"].notify_one()  # the mutex is held: the waiter moves onto its queue
    else:
        waiter_thread = start(waiting, name="waiter")
    wait_key = id(raw) + 1 if waiter.second_key else key
    wait_until(lambda: _parked(wait_key) == 1, what=f"{waiter.name} to park")
    go.set()
    if waiter.other_reader:
        # The bump lets go and waits behind the writer, which waits for our read lock.
        wait_until(lambda: _parked(key) == 1 or not holder_thread.is_alive(), what="the bump to wait")
        gate.set()
        raw.unlock_shared()
    # Open the gate once the holder's step is over or it waits to lock again (the
    # waiter, woken, is off the queue: whoever is parked on the key is the holder;
    # a writer bumping readers in waits for them on the second key).
    wait_until(
        lambda: len(log) > 0
        or not holder_thread.is_alive()
        or (woken.is_set() and _parked(key) + _parked(key + 1) > 0),
        what="the holder to finish its step or wait for the lock",
    )
    gate.set()
    wait_until(lambda: "waiter had the lock" in log or not holder_thread.is_alive(), what="the waiter or the holder")
    if "waiter had the lock" not in log:
        holder_thread.finish()  # the holder is done (an operation that returned early) or raised: say so
        wait_until(lambda: "waiter had the lock" in log, what="the waiter to get the lock")
    let_go.set()
    waiter_thread.finish()
    holder_thread.finish()
    if op.fair:
        assert ("barged", False) in log, f"{op.name} let another thread take the lock before {waiter.name}"
    else:
        assert log == ["waiter had the lock", "bump returned"], f"{op.name} returned before {waiter.name} had the lock"
    assert not raw.is_locked()


# --- bumps with nobody waiting, and the reentrant special case -----------------------


@pytest.mark.parametrize("op", [op for op in OPS if not op.fair], ids=lambda op: op.name)
def test_a_bump_with_nobody_waiting_returns_at_once_holding_the_lock(op: Op) -> None:
    subject = op.make()
    raw = op.raw(subject)

    def run() -> bool:
        handle = op.hold(subject)
        op.step(subject, handle)
        locked = raw.is_locked()
        assert op.release is not None
        op.release(subject, handle)
        return locked

    assert start(run).finish() is True
    assert not raw.is_locked()


def test_a_reader_bump_with_waiters_not_waiting_for_readers_returns_at_once() -> None:
    """Threads on the main key behind an upgradable reader do not wait for a plain read lock."""
    rw = RawRwLock()
    rw.lock_upgradable()
    writer = start(lambda: (rw.lock_exclusive(), rw.unlock_exclusive()))
    wait_until(lambda: _parked(id(rw)) == 1, what="the writer to park behind the upgradable reader")

    def bump_a_read_lock() -> int:
        rw.lock_shared()
        rw.bump_shared()  # an unlock and a lock: nobody gets in, so at once
        readers = rw.readers
        rw.unlock_shared()
        return readers

    assert start(bump_a_read_lock).finish() == 2
    rw.unlock_upgradable()
    writer.finish()
    assert not rw.is_locked()


def test_a_nested_reentrant_lock_is_not_let_go_by_a_bump() -> None:
    m = ReentrantMutex(0)
    waiter_done = threading.Event()

    def waiter() -> None:
        with m.lock():
            waiter_done.set()

    with m.lock() as outer:
        with m.lock() as inner:
            worker = start(waiter)
            wait_until(lambda: _parked(id(m._raw._mutex)) == 1, what="the waiter to park")
            inner.bump()  # the outer lock still holds the mutex: nothing to let go
            assert not waiter_done.is_set() and m.is_owned_by_current_thread() and m._raw.count == 2
        outer.bump()  # the last lock: the waiter has it before the bump returns
        assert waiter_done.is_set() and m.is_owned_by_current_thread() and m._raw.count == 1
    worker.finish()
    assert not m.is_locked()


def test_bumps_and_fair_unlocks_of_released_guards_raise() -> None:
    rw = RwLock(0)
    for acquire in (rw.read, rw.write, rw.upgradable_read):
        guard = acquire()
        guard.unlock()
        with pytest.raises(RuntimeError):
            guard.bump()
        with pytest.raises(RuntimeError):
            guard.unlock_fair()
    g = ReentrantMutex(0).lock()
    g.unlock()
    with pytest.raises(RuntimeError):
        g.bump()
    with pytest.raises(RuntimeError):
        g.unlock_fair()
    with pytest.raises(RuntimeError):
        start(RawReentrantMutex().bump).finish()  # not the owner
    mg = Mutex(0).lock()
    mg.unlock()
    with pytest.raises(RuntimeError), mg.unlocked_fair():
        pass
