"""Every ``# one-step:`` line of the package is a place where a fault-injection scenario raised.

A line marked ``# one-step: <invariant>`` holds several steps that no asynchronous
exception may split (docs/architecture.md, "Marking subtle code").  The fault-injection
scenarios (tests/faultinject.py) raise an exception at each line event of the code they
trace and check the invariants afterwards; this test makes sure each marked line is among
those places.  It collects the marked lines by reading the sources, runs every scenario
of the fault-injection tests with injection restricted to those lines
(:func:`faultinject.only_at`: one run per marked line a scenario reaches, so the cost
stays a few seconds), and fails listing the marked lines where no injector raised.
Every run keeps its scenario's own checks (no lock stranded, no thread lost), so an
injection at a marked line is also checked to leave the state consistent.

Adding a scenario for new marked lines (an awaitable twin, a new module): write a function
``scenario(target) -> FaultInjector`` in this file that

1. sets a fresh situation up (a new lock, a new key: nothing shared between runs),
2. makes ``injector = FaultInjector(target, dirs=(the module's file,))`` and runs the code
   that reaches the marked lines under it in a fresh thread: :func:`_act` for plain code,
   :func:`_act_async` for coroutines (it runs them with ``asyncio.run`` in the traced thread;
   the trace function follows coroutine frames as any other, resumptions included),
3. checks, after the cleanup, what the marked lines protect (the lock free or held exactly
   as the actor recorded, nothing left parked: ``core.parked_count(key) == 0``),
4. returns the injector,

and decorate it with ``@one_step_scenario("a name")``.  Each run injects at one marked
line the scenario reaches (the ``target``-th such line event), so the checks must hold
whichever line the exception lands on, or none.  Keep a scenario to a few marked lines
per run: every run costs a fresh thread (and for :func:`_act_async` an event loop).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

import faultinject
from conftest import BOUND, start, wait_until
from faultinject import CORE_DIR, RAW_DIR, FaultInjector, Injected
from lot_helpers import all_bucket_locks_free, fresh_key, wait_parked
from parking_lot import core

PACKAGE_DIR = os.path.dirname(faultinject.CORE_DIR)


# --- scenarios for the marked lines the lot's and the locks' fault tests do not reach -----------
# Written for injection at the marked lines only (they run under faultinject.only_at): the
# release paths they take hold no marked line, so what the actor records as held is what it holds.


def _act(injector: FaultInjector, body: Callable[[], Any], cleanup: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Run *body* under *injector* in a fresh thread, then *cleanup(outcome)* in that thread."""
    outcome: dict[str, Any] = {}

    def actor() -> None:
        try:
            outcome["result"] = injector.run(body)
        except Injected as exc:
            outcome["injected"] = exc
        cleanup(outcome)

    start(actor, name="actor").finish()
    return outcome


def _act_async(
    injector: FaultInjector,
    body: Callable[[], Coroutine[Any, Any, Any]],
    cleanup: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """:func:`_act` for a coroutine: ``asyncio.run(body())`` under *injector* in a fresh thread.

    The injector traces the thread running the event loop, so the coroutine frames of the
    traced folders count line events as plain frames do.
    """
    return _act(injector, lambda: asyncio.run(body()), cleanup)


#: Every scenario of this file, by name: scenario(target) -> its injector (see the module docstring).
ONE_STEP_SCENARIOS: dict[str, Callable[[int | None], FaultInjector]] = {}

_Scenario = TypeVar("_Scenario", bound=Callable[[int | None], FaultInjector])


def one_step_scenario(name: str) -> Callable[[_Scenario], _Scenario]:
    """Register the decorated scenario under *name* (ValueError if the name is taken)."""

    def register(scenario: _Scenario) -> _Scenario:
        if name in ONE_STEP_SCENARIOS:
            raise ValueError(f"two one-step scenarios named {name!r}")
        ONE_STEP_SCENARIOS[name] = scenario
        return scenario

    return register


def _contender(take: Callable[[], Any], done: threading.Event) -> Any:
    """A thread that takes a lock (``take`` returns a release function), lets it go, and again, until *done*."""

    def loop() -> None:
        while not done.is_set():
            release = take()
            assert release is not None, "the contender could not take the lock within BOUND"
            release()
            time.sleep(0.0002)

    return start(loop, name="contender")


@one_step_scenario("Mutex guards")
def _mutex_guards(target: int | None) -> FaultInjector:
    """MutexGuard.bump, unlocked, unlocked_fair with a thread waiting for the mutex."""
    from parking_lot import Mutex, mutex

    m = Mutex(0)
    injector = FaultInjector(target, dirs=(mutex.__file__,))
    done = threading.Event()
    contender = _contender(lambda: (lambda g: g and g.unlock)(m.try_lock_for(BOUND)), done)

    def body() -> None:
        with m.lock() as guard:
            wait_until(lambda: m.raw._parked, what="the contender to park")
            guard.bump()
            with guard.unlocked():
                pass
            with guard.unlocked_fair():
                pass

    _act(injector, body, lambda outcome: done.set())
    contender.finish()
    assert not m.is_locked() and core.parked_count(id(m.raw)) == 0, f"the mutex is left {m.raw!r}"
    return injector


@one_step_scenario("RwLock guards")
def _rwlock_guards(target: int | None) -> FaultInjector:
    """Every RwLock guard's bump and mode change, with a writer waiting."""
    from parking_lot import RwLock, rwlock
    from parking_lot.raw.rwlock import PARKED, WRITER

    rw = RwLock(0)
    raw = rw._raw
    injector = FaultInjector(target, dirs=(rwlock.__file__,))
    done = threading.Event()
    contender = _contender(lambda: (lambda g: g and g.unlock)(rw.try_write_for(BOUND)), done)

    def waiting(bit: int) -> None:
        wait_until(lambda: raw._state & bit, what="the writer to wait")

    guards: list[Any] = []  # every guard made, to release what each still claims after an exception

    def keep(guard: Any) -> Any:
        guards.append(guard)
        return guard

    def body() -> None:
        with keep(rw.read()) as reader:
            waiting(WRITER)  # the writer holds WRITER, parked until the readers leave
            reader.bump()
        with keep(rw.write()) as writer:
            waiting(PARKED)
            writer.bump()
            upgradable = keep(writer.downgrade_to_upgradable())
            waiting(PARKED)
            upgradable.bump()
            writer = keep(upgradable.try_upgrade_for(BOUND))
            assert writer is not None
            keep(writer.downgrade())
        with keep(rw.upgradable_read()) as upgradable:
            keep(keep(keep(upgradable.upgrade()).downgrade_to_upgradable()).downgrade())

    def cleanup(outcome: dict[str, Any]) -> None:
        # An exception inside a with block's exit (line 125 is in __exit__) leaves the
        # guard claiming its lock: a guard claims a lock iff it holds it, so releasing
        # what the guards claim frees the lock.
        for guard in guards:
            if guard._lock is not None:
                guard.unlock()
        done.set()

    _act(injector, body, cleanup)
    contender.finish()
    assert raw._state == 0 and not core.parked_count(id(raw)), f"the lock is left {raw!r}"
    return injector


class _Holder:
    """Another thread holding the compat.RLock *lock* until the caller is parked on it (or done)."""

    def __init__(self, lock: Any) -> None:
        mutex = lock._mutex
        held, self.leave, self.done = threading.Event(), threading.Event(), threading.Event()

        def holder() -> None:
            with lock:
                held.set()
                self.leave.wait(BOUND)

        def releaser() -> None:
            wait_until(lambda: core.parked_count(mutex._key) > 0 or self.done.is_set(), what="the caller to park")
            self.leave.set()

        self.holding = start(holder, name="holder")
        assert held.wait(BOUND)
        self.releasing = start(releaser, name="releaser")

    def finish(self) -> None:
        self.done.set()
        self.leave.set()
        self.releasing.finish()
        self.holding.finish()


async def _contended_async(lock: Any, take: Callable[[], Any]) -> Any:
    """``await take()`` in the slow path: while another thread holds *lock* (see _Holder)."""
    holder = _Holder(lock)
    try:
        return await take()
    finally:
        holder.finish()


def _contended(lock: Any, take: Callable[[], Any]) -> Any:
    """*take()* in the slow path: while another thread holds *lock* (see _Holder)."""
    holder = _Holder(lock)
    try:
        return take()
    finally:
        holder.finish()


@one_step_scenario("compat RLock and Conditions")
def _rlock_and_conditions(target: int | None) -> FaultInjector:
    """compat.RLock's acquire/release paths and both Conditions' hand-over of its holds."""
    import threading as std

    from parking_lot import compat

    lock = compat.RLock()
    injector = FaultInjector(target, dirs=(compat.__file__,))

    def body() -> None:
        lock.acquire()
        lock.acquire()
        lock.release()
        lock.release()
        with lock:
            pass
        assert _contended(lock, lambda: lock.acquire(timeout=BOUND))  # the slow paths
        lock.release()
        _contended(lock, lock.__enter__)
        lock.__exit__(None, None, None)
        ours = compat.Condition(lock)
        with ours:
            ours.wait(0.001)
        theirs = std.Condition(lock)  # threading's: it uses the lock's _release_save/_acquire_restore
        try:
            with theirs:
                theirs.wait(0.001)
        except RuntimeError as exc:
            # An exception before _acquire_restore took the lock back leaves it released, so the
            # with's exit finds it not held: threading's Condition on threading's RLock does the same.
            if isinstance(exc.__context__, Injected):
                raise exc.__context__ from None
            raise

    def cleanup(outcome: dict[str, Any]) -> None:
        # What the marked lines protect: owner and count are set and cleared together, and the
        # owner is recorded on the line that takes the mutex (never taken by nobody on record).
        owned = lock._owner == std.get_ident()
        outcome["consistent"] = owned == (lock._count > 0) and (owned or lock._owner is None)
        outcome["taken by nobody"] = lock._mutex.is_locked() and not owned
        while lock._is_owned():
            lock.release()

    outcome = _act(injector, body, cleanup)
    assert outcome["consistent"], f"owner {lock._owner}, count {lock._count}, {lock._mutex!r} after {outcome}"
    assert not outcome["taken by nobody"], f"the mutex was left taken with no owner recorded after {outcome}"
    assert not lock._mutex.is_locked()
    return injector


@one_step_scenario("compat RLock and Condition async")
def _rlock_and_condition_async(target: int | None) -> FaultInjector:
    """compat.RLock's acquire_async and Condition.wait_async, in a task: the owner is the task."""
    from parking_lot import compat

    lock = compat.RLock()
    injector = FaultInjector(target, dirs=(compat.__file__,))

    async def main() -> None:
        assert await lock.acquire_async()
        assert await lock.acquire_async()
        lock.release()
        lock.release()
        async with lock:
            pass
        # The slow path: another thread holds the lock until this task is parked on it.
        assert await _contended_async(lock, lambda: lock.acquire_async(timeout=BOUND))
        lock.release()
        cond = compat.Condition(lock)
        async with cond:
            await cond.wait_async(0.001)

    def cleanup(outcome: dict[str, Any]) -> None:
        # What the marked lines protect: owner and count are set and cleared together, and the
        # owner is recorded on the line that takes the mutex.
        outcome["consistent"] = (lock._owner is None) == (lock._count == 0)
        assert not (lock._mutex.is_locked() and lock._owner is None), f"taken by nobody after {outcome}"
        lock._owner = None
        lock._count = 0
        if lock._mutex.is_locked():  # held by the ended task, or the known window (see above)
            lock._mutex.unlock()

    outcome = _act(injector, lambda: asyncio.run(main()), cleanup)
    assert outcome["consistent"], f"owner {lock._owner}, count {lock._count} after {outcome}"
    assert not lock._mutex.is_locked()
    return injector


@one_step_scenario("RawMutex unlock")
def _raw_mutex_unlock(target: int | None) -> FaultInjector:
    """RawMutex.unlock with a thread waiting: the slow unlock's callback."""
    from parking_lot.raw import RawMutex, mutex

    m = RawMutex()
    m.lock()
    injector = FaultInjector(target, dirs=(mutex.__file__,))
    waiter = start(lambda: m.try_lock_for(BOUND) and m.unlock() is None, name="waiter")

    def cleanup(outcome: dict[str, Any]) -> None:
        if "injected" in outcome:  # the unlock changed nothing: still ours, the waiter still queued
            outcome["unchanged"] = m.is_locked() and m._parked and core.parked_count(id(m)) == 1
            m.unlock()

    wait_parked(id(m), 1)
    bucket = core.state.table.bucket_for(id(m))
    fair_deadline, bucket.fair_deadline_ns = bucket.fair_deadline_ns, time.monotonic_ns() + 10**12
    try:  # no fair hand-off now: the unlock releases and wakes
        outcome = _act(injector, m.unlock, cleanup)
    finally:
        bucket.fair_deadline_ns = fair_deadline
    assert waiter.finish() is True and outcome.get("unchanged", True), f"{m!r} after {outcome}"
    assert not m.is_locked() and not m._parked
    return injector


@one_step_scenario("RawRwLock tries")
def _raw_rwlock_tries(target: int | None) -> FaultInjector:
    """RawRwLock's try_* and a write lock that times out waiting for its own read lock."""
    from parking_lot.raw import RawRwLock, rwlock

    rw = RawRwLock()
    injector = FaultInjector(target, dirs=(rwlock.__file__,))
    held: list[Callable[[], None]] = []  # the release of each hold the actor was told it has

    def release_all() -> None:
        while held:
            held[-1]()
            held.pop()

    def body() -> None:
        if rw.try_lock_exclusive():
            held.append(rw.unlock_exclusive)
        release_all()
        if rw.try_lock_shared():
            held.append(rw.unlock_shared)
        if rw.try_lock_exclusive_for(0.001):  # WRITER taken, then given back: our own read lock stays
            held.append(rw.unlock_exclusive)
        release_all()
        if rw.try_lock_upgradable():
            held.append(rw.unlock_upgradable)
            if rw.try_upgrade():
                held[-1] = rw.unlock_exclusive
        release_all()

    _act(injector, body, lambda outcome: release_all())
    assert rw._state == 0, f"state {rw._state:#b} left: a hold taken but not reported, or reported but not taken"
    return injector


@one_step_scenario("RawReentrantMutex bump")
def _reentrant_bump(target: int | None) -> FaultInjector:
    """RawReentrantMutex.bump with a thread waiting for it."""
    from parking_lot.raw import RawReentrantMutex, reentrant

    m = RawReentrantMutex()
    injector = FaultInjector(target, dirs=(reentrant.__file__,))
    done = threading.Event()
    contender = _contender(lambda: m.try_lock_for(BOUND) and m.unlock, done)

    def body() -> None:
        m.lock()
        wait_until(lambda: m._mutex._parked, what="the contender to park")
        m.bump()
        m.unlock()

    def cleanup(outcome: dict[str, Any]) -> None:
        # Owned with count 1 (the mutex ours), or nothing at all (owner 0, count 0).
        owned = m.is_owned_by_current_thread()
        outcome["consistent"] = (m._count == 1) if owned else (m._owner != threading.get_ident() and m._count in (0, 1))
        if owned:
            m.unlock()
        done.set()

    outcome = _act(injector, body, cleanup)
    contender.finish()
    assert outcome["consistent"] and not m.is_locked(), f"{m!r} after {outcome}"
    return injector


@one_step_scenario("RawReentrantMutex lock and unlock")
def _reentrant_paths(target: int | None) -> FaultInjector:
    """RawReentrantMutex's lock, try and unlock paths (fast and slow, blocking and awaitable)."""
    from parking_lot.raw import RawReentrantMutex, reentrant

    m = RawReentrantMutex()
    injector = FaultInjector(target, dirs=(reentrant.__file__,))

    async def in_a_task() -> None:
        await m.lock_async()
        m.unlock()
        await _contended_async(m, m.lock_async)
        m.unlock()
        assert await m.try_lock_for_async(BOUND)
        m.unlock()
        assert await _contended_async(m, lambda: m.try_lock_for_async(BOUND))
        m.unlock()

    def body() -> None:
        m.lock()
        m.lock()
        m.unlock()
        m.unlock()
        _contended(m, m.lock)
        m.unlock_fair()
        assert m.try_lock_for(BOUND)
        m.unlock()
        assert _contended(m, lambda: m.try_lock_for(BOUND))
        m.unlock()
        asyncio.run(in_a_task())

    def cleanup(outcome: dict[str, Any]) -> None:
        # What the marked lines protect: the mutex is never taken by nobody on record, and
        # owner and count go together.
        nobody = m._owner in (0, None)
        outcome["taken by nobody"] = m._mutex.is_locked() and nobody
        outcome["consistent"] = nobody == (m._count == 0)
        if m._mutex.is_locked():  # held by this thread or its ended task after the injection
            m._owner, m._count = 0, 0
            m._mutex.unlock()

    outcome = _act(injector, body, cleanup)
    assert not outcome["taken by nobody"], f"the mutex was left taken with no owner recorded after {outcome}"
    assert outcome["consistent"], f"owner {m._owner!r}, count {m._count} after {outcome}"
    assert not m.is_locked() and core.parked_count(m._mutex._key) == 0
    return injector


@one_step_scenario("Once")
def _once_claimed(target: int | None) -> FaultInjector:
    """Once.call_once claiming the Once."""
    from parking_lot.raw import Once, OnceState, once

    cell = Once()
    injector = FaultInjector(target, dirs=(once.__file__,))
    ran: list[int] = []
    _act(injector, lambda: cell.call_once(lambda: ran.append(1)), lambda outcome: None)
    assert cell.state in (OnceState.New, OnceState.Done) and cell.is_completed() == (ran == [1])
    start(cell.call_once, lambda: ran.append(2)).finish()  # never stuck InProgress
    assert cell.is_completed() and len(ran) == 1
    return injector


@one_step_scenario("Once async")
def _once_claimed_async(target: int | None) -> FaultInjector:
    """Once.call_once_async claiming the Once in a task."""
    from parking_lot.raw import Once, OnceState, once

    cell = Once()
    injector = FaultInjector(target, dirs=(once.__file__,))
    ran: list[int] = []
    _act(injector, lambda: asyncio.run(cell.call_once_async(lambda: ran.append(1))), lambda outcome: None)
    assert cell.state in (OnceState.New, OnceState.Done, OnceState.Poisoned)
    assert cell.is_completed() == (ran == [1])
    start(cell.call_once_force, lambda state: ran.append(2)).finish()  # never stuck InProgress
    assert cell.is_completed() and len(ran) == 1
    return injector


@one_step_scenario("cancel_park")
def _cancel_park(target: int | None) -> FaultInjector:
    """core.cancel_park of a parked thread (the canceller traced), and the cancelled park (the victim traced)."""
    key = fresh_key()
    injector = FaultInjector(target, dirs=(CORE_DIR,))
    idents: list[int] = []

    def victim() -> Any:
        idents.append(threading.get_ident())
        return core.park(key, timeout=BOUND)

    parked = start(victim, name="victim")
    wait_parked(key, 1)
    _act(injector, lambda: core.cancel_park(idents[0], KeyError("cancelled")), lambda outcome: None)
    wait_until(all_bucket_locks_free, what="every bucket lock to be free")
    core.unpark_all(key)
    try:
        result = parked.finish()
    except KeyError:
        result = "cancelled"
    assert result == "cancelled" or isinstance(result, core.Unparked), f"the victim was lost: {result!r}"
    return injector


@one_step_scenario("a cancelled park")
def _cancelled_park(target: int | None) -> FaultInjector:
    key = fresh_key()
    injector = FaultInjector(target, dirs=(CORE_DIR,))
    idents: list[int] = []

    def body() -> Any:
        idents.append(threading.get_ident())
        try:
            return core.park(key, timeout=BOUND)
        except KeyError:
            return "cancelled"

    finished = threading.Event()

    def cancel() -> None:
        wait_until(lambda: core.parked_count(key) == 1 or finished.is_set(), what="the actor to park")
        if idents:
            core.cancel_park(idents[0], KeyError("cancelled"))

    canceller = start(cancel, name="canceller")
    outcome = _act(injector, body, lambda outcome: finished.set())
    canceller.finish()
    assert core.parked_count(key) == 0 and all_bucket_locks_free(), f"left queued after {outcome}"
    assert outcome.get("result", "cancelled") == "cancelled", f"not the cancel: {outcome}"
    return injector


#: How long a task of the scenario below waits for the mutex (generous for a loaded machine): a
#: wake-up lost to an injection would end in this timeout's cancellation, reported as a failure.
_TASK_WAIT = 10.0


@one_step_scenario("TaskParker wake-ups")
def _task_parker_wakes(target: int | None) -> FaultInjector:
    """A task waiting for a Mutex is woken from a thread (``TaskParker._wake_here``), then another by a
    task of its loop (``TaskParker._settle``).  A wake-up the injection stops is tried again on the
    loop: the waiter gets the mutex (or raised the injection itself), never waits for ever with its
    wait decided and no step to come (the task stuck, the mutex never free again)."""
    from parking_lot import Mutex

    mutex = Mutex(0)
    key = mutex.raw._key
    injector = FaultInjector(target, dirs=(CORE_DIR,))
    got: list[str] = []

    async def take(name: str) -> None:
        try:
            await asyncio.wait_for(_hold(name), _TASK_WAIT)
        except asyncio.TimeoutError:
            got.append(f"{name}: timed out")
        except Injected:
            pass

    async def _hold(name: str) -> None:
        async with mutex.lock_async():
            got.append(name)

    async def parked(waiter: asyncio.Future[None]) -> None:
        deadline = time.monotonic() + BOUND
        while core.parked_count(key) == 0 and not waiter.done():  # done: the injection ended it first
            assert time.monotonic() < deadline, "the waiter never parked"
            await asyncio.sleep(0.001)

    async def body() -> None:
        guard = await mutex.lock_async()
        waiter = asyncio.ensure_future(take("woken from a thread"))
        await parked(waiter)
        await asyncio.to_thread(guard.unlock)  # the thread is not traced; the loop's wake-up is
        await waiter
        guard = await mutex.lock_async()
        waiter = asyncio.ensure_future(take("woken by a task"))
        await parked(waiter)
        try:
            guard.unlock()  # the wake-up runs here, in this task
        finally:
            await waiter

    outcome = _act(injector, lambda: asyncio.run(body()), lambda outcome: None)
    assert not any(entry.endswith("timed out") for entry in got), f"a wake-up was lost: {got}, {outcome}"
    assert not mutex.is_locked(), f"the mutex was left locked after {outcome}, holders {got}"
    assert core.parked_count(key) == 0 and all_bucket_locks_free(), f"left queued after {outcome}"
    return injector


@one_step_scenario("park_async")
def _park_async(target: int | None) -> FaultInjector:
    """A task's park_async that times out."""
    key = fresh_key()
    injector = FaultInjector(target, dirs=(CORE_DIR,))

    def body() -> Any:
        return asyncio.run(core.park_async(key, timeout=0.001))

    outcome = _act(injector, body, lambda outcome: None)
    assert core.parked_count(key) == 0 and all_bucket_locks_free(), f"left queued after {outcome}"
    assert outcome.get("result", core.TimedOut) is core.TimedOut
    return injector


# The portable state-word operations: each one driven directly on a PortableWord, on the path
# that changes the word (the marked line), whichever implementation the locks use here.
_ONE = 0b10000  # ONE_READER; the bits are parking_lot/raw/_word.py's
_WORD_CASES: list[tuple[str, int, tuple[int, ...], int | None]] = [
    # (operation, the word before, the other arguments, ``owned`` before or None if not taken)
    ("cas", 5, (5, 7), None),
    ("fetch_add", 3, (4,), None),
    ("fetch_or", 0b0001, (0b1000,), None),
    ("fetch_and", 0b1011, (0b0011,), None),
    ("rw_try_shared", 0, (), None),
    ("rw_try_shared_recursive", 0b1000 | _ONE, (), None),  # WRITER waiting for a reader: let in
    ("rw_unlock_shared", 0b1000 | 0b0010 | _ONE, (), None),  # the last reader: wake the writer
    ("rw_try_exclusive", 0b0001, (), None),
    ("rw_unlock_exclusive", 0b1000, (), None),
    ("rw_take_writer", _ONE, (), 0),
    ("rw_try_upgradable", _ONE, (), None),
    ("rw_unlock_upgradable", _ONE | 0b0100, (), None),
    ("rw_unlock_upgradable_slow", _ONE | 0b0100 | 0b0001, (2 * _ONE, 0), None),
    ("rw_try_upgrade", _ONE | 0b0100, (), None),
    ("rw_upgrade_take_writer", _ONE | 0b0100, (), 0),
    ("rw_downgrade", 0b1000, (_ONE,), None),
    ("rw_downgrade_upgradable", _ONE | 0b0100, (), None),
    ("rw_give_writer_back", 0b1000 | 0b0010 | 0b0001, (_ONE,), 1),
    ("rw_set_parked_if", 0b1000, (0b1000,), None),
    ("rw_writer_may_sleep", 0b1000 | _ONE, (), None),
]


@one_step_scenario("portable word operations")
def _portable_word_operations(target: int | None) -> FaultInjector:
    """Every portable word operation once, each on a fresh PortableWord, on its changing path.

    The line event comes before the marked line runs, so an exception there must leave the
    word (and ``owned``) as they were, the word's lock free: the caller, who gets no result,
    can take it that nothing changed.  A run the exception spared must give the result and
    the word the operation gives without injection (run on a twin word first), so each case
    is also checked to take the path that changes the word.
    """
    from parking_lot.raw import _word

    portable = _word.implementations()["portable"]
    injector = FaultInjector(target, dirs=(_word.__file__,))
    wrong: list[str] = []

    def run_all() -> None:
        for name, before, args, owned_before in _WORD_CASES:
            operation = getattr(portable, name)

            def call(word: Any, owned: Any) -> Any:
                return operation(word, *args, *(() if owned is None else (owned,)))

            def fresh() -> tuple[Any, Any]:
                return _word.PortableWord(before), None if owned_before is None else _word.PortableWord(owned_before)

            twin, twin_owned = fresh()
            expected = (call(twin, twin_owned), twin.value, twin_owned and twin_owned.value)
            if expected[1:] == (before, owned_before):
                wrong.append(f"{name}: the case does not change the word, so it misses the marked line")
            word, owned = fresh()
            try:
                result = injector.run(lambda: call(word, owned))
            except Injected:
                got = ("raised", word.value, owned and owned.value)
                if got[1:] != (before, owned_before):
                    wrong.append(f"{name}: raised, yet the word went {before:#b} -> {word!r}, owned {owned!r}")
            else:
                got = (result, word.value, owned and owned.value)
                if got != expected:
                    wrong.append(f"{name}: {got}, expected {expected}")
            if word.lock.locked() or (owned is not None and owned.lock.locked()):
                wrong.append(f"{name}: the word's lock is left held after {got}")

    start(run_all, name="actor").finish()
    assert not wrong, wrong
    return injector


# The awaitable twins: the same checks as the blocking scenarios, run on an event loop.


@one_step_scenario("RwLock guards' awaitable upgrades")
def _rwlock_guards_async(target: int | None) -> FaultInjector:
    """UpgradableReadGuard.upgrade_async and try_upgrade_for_async, with a writer waiting."""
    from parking_lot import RwLock, rwlock
    from parking_lot.raw.rwlock import PARKED

    rw = RwLock(0)
    raw = rw._raw
    injector = FaultInjector(target, dirs=(rwlock.__file__,))
    done = threading.Event()
    contender = _contender(lambda: (lambda g: g and g.unlock)(rw.try_write_for(BOUND)), done)
    guards: list[Any] = []  # every guard made, to release what each still claims after an exception

    def keep(guard: Any) -> Any:
        guards.append(guard)
        return guard

    async def body() -> None:
        async with rw.upgradable_read_async() as upgradable:
            keep(upgradable)
            wait_until(lambda: bool(raw._state & PARKED), what="the writer to wait")
            writer = keep(await upgradable.upgrade_async())
            keep(writer.downgrade_to_upgradable())
        async with rw.upgradable_read_async() as upgradable:
            keep(upgradable)
            writer = keep(await upgradable.try_upgrade_for_async(BOUND))
            assert writer is not None, "no other reader: the upgrade is immediate"
            keep(writer.downgrade())

    def cleanup(outcome: dict[str, Any]) -> None:
        # Each guard claims its lock iff it holds it (what the marked lines keep true):
        # releasing what the guards claim frees the lock.
        try:
            for guard in guards:
                if guard._lock is not None:
                    try:
                        guard.unlock()
                    except RuntimeError as exc:  # the guard claims a mode the raw lock is not in
                        outcome.setdefault("claims not held", []).append(f"{type(guard).__name__}: {exc}")
        finally:
            done.set()

    outcome = _act_async(injector, body, cleanup)
    assert "claims not held" not in outcome, f"a guard and its lock disagree after {outcome} ({raw!r})"
    contender.finish()
    assert raw._state == 0 and not core.parked_count(id(raw)), f"the lock is left {raw!r} after {outcome}"
    return injector


@one_step_scenario("a cancelled park_async")
def _cancelled_park_async(target: int | None) -> FaultInjector:
    """A task's park_async cancelled by core.cancel_park from another thread (the task's thread traced)."""
    key = fresh_key()
    injector = FaultInjector(target, dirs=(CORE_DIR,))
    tasks: list[int] = []
    timed_out: list[bool] = []  # the timed_out callback's calls: exactly one per wait that left the queue
    cancelled: list[bool] = []
    finished = threading.Event()

    async def body() -> Any:
        task = asyncio.current_task()
        assert task is not None
        tasks.append(id(task))
        try:
            return await core.park_async(key, timeout=BOUND, timed_out=lambda k, last: timed_out.append(last))
        except KeyError as exc:
            return ("cancelled", core.interrupted_result(exc))

    def cancel() -> None:
        wait_until(lambda: core.parked_count(key) == 1 or finished.is_set(), what="the task to park")
        if not finished.is_set():
            cancelled.append(core.cancel_park(tasks[0], KeyError("cancelled")))

    canceller = start(cancel, name="canceller")
    outcome = _act_async(injector, body, lambda outcome: finished.set())
    canceller.finish()
    assert core.parked_count(key) == 0 and all_bucket_locks_free(), f"left queued after {outcome}"
    assert len(timed_out) == (1 if cancelled == [True] else 0), f"timed_out ran {len(timed_out)} times: {outcome}"
    if "injected" in outcome:
        # Out of the queue once, by the cancel or never queued; nothing an unparker chose: an
        # exception at the marked cancel line reports the cancel as the timeout it stands for
        # (the exception path sees the pending cancel), never as a hand-over.
        assert core.interrupted_result(outcome["injected"]) in (None, core.TimedOut), outcome
    else:
        assert outcome["result"] == ("cancelled", core.TimedOut), f"not the cancel: {outcome}"
    return injector


@one_step_scenario("aio Condition")
def _aio_condition(target: int | None) -> FaultInjector:
    """parking_lot.aio.Condition.wait in a task: notified, and timed out (a cancellation)."""
    from parking_lot import aio

    lock = aio.Lock()
    cond = aio.Condition(lock)
    injector = FaultInjector(target, dirs=(aio.__file__,))

    async def main() -> None:
        async with cond:
            asyncio.get_running_loop().call_soon(lambda: cond._cv.notify_all())
            await cond.wait()
        async with cond:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(cond.wait(), 0.001)

    def cleanup(outcome: dict[str, Any]) -> None:
        # What the marked line protects: a wait that ends by an exception holds the lock again
        # exactly when it had released it, so the caller's `async with` leaves it free.
        outcome["locked"] = lock.locked()
        if lock.locked():
            lock.release()

    outcome = _act(injector, lambda: asyncio.run(main()), cleanup)
    assert not outcome["locked"], f"the lock stayed held after {outcome}"
    assert core.parked_count(id(lock)) == 0 and core.parked_count(cond._cv._key) == 0
    return injector


def _scenarios() -> dict[str, Callable[[int | None], FaultInjector]]:
    """Every fault-injection scenario of the suite, by name: scenario(target) -> its injector."""
    import test_condvar
    import test_core_faults
    import test_raw_mutex
    import test_raw_rwlock

    from parking_lot.raw import RawFairMutex, RawMutex

    found: dict[str, Callable[[int | None], FaultInjector]] = {}
    for name, scenario in test_core_faults.SCENARIOS.items():
        found[f"core {name}"] = lambda target, s=scenario: test_core_faults._run(s, target)
    for cls in (RawMutex, RawFairMutex):
        for fair in (False, True):
            found[f"{cls.__name__} fair={fair}"] = (
                lambda target, c=cls, f=fair: test_raw_mutex._fault_scenario(c, target, f))
    for mode in ("exclusive", "shared", "upgradable", "upgrade"):
        found[f"RawRwLock {mode}"] = lambda target, m=mode: test_raw_rwlock._fault_scenario(target, m)
    for notify_all in (False, True):
        found[f"Condvar notify_all={notify_all}"] = (
            lambda target, n=notify_all: test_condvar._condvar_fault_scenario(target, n))
    found.update(ONE_STEP_SCENARIOS)
    return found


def _inject_at_each_reached_line(scenario: Callable[[int | None], FaultInjector]) -> None:
    total = scenario(None).count
    for target in range(1, total + 1):
        scenario(target)


def _where(lines: set[tuple[str, int]], marked: dict[tuple[str, int], str]) -> list[str]:
    return sorted(f"{os.path.relpath(path, PACKAGE_DIR)}:{line} ({marked[path, line]})" for path, line in lines)


#: How many more times the line-coverage check aims at a line the first pass missed.
RETRIES = 10


def test_every_one_step_line_is_injected_at_by_a_fault_injection_scenario():
    marked = faultinject.one_step_lines(PACKAGE_DIR)
    assert len(marked) > 30, "the marked lines were not found: is the grep working?"
    scenarios = _scenarios().values()
    with faultinject.only_at(frozenset(marked)) as injected:
        for scenario in scenarios:
            _inject_at_each_reached_line(scenario)
    never = set(marked) - injected
    # A scenario with a second thread takes a slow or a fast path as that thread's timing falls
    # (seen on a loaded 3.13t: RawReentrantMutex's lock() found the contender holding the mutex),
    # so the run aiming at the n-th marked line may reach another line n-th.  Aim at each line
    # missed alone, its first event, in every scenario, a few times: a line no scenario
    # reaches stays missed.
    for _ in range(RETRIES):
        for line in sorted(never):
            with faultinject.only_at(frozenset({line})) as hit:
                for scenario in scenarios:
                    if scenario(None).count and scenario(1).fired_at is not None:
                        break
            never -= hit
    assert not never, f"'# one-step:' lines no fault-injection scenario raised at: {_where(never, marked)}"


def test_the_restriction_counts_only_the_lines_given(tmp_path):
    # The check above can fail: a line outside the set is never injected at, one inside is.
    source = tmp_path / "steps.py"
    source.write_text("def steps(box):\n    box.append(1)\n    box.append(2); box.append(3)  # one-step: two appends\n")
    namespace: dict[str, object] = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    steps = namespace["steps"]
    marked = faultinject.one_step_lines(str(tmp_path))
    assert marked == {(str(source), 3): "two appends"}
    with faultinject.only_at(frozenset(marked)) as injected:
        counting = FaultInjector(None, dirs=(str(tmp_path),))
        counting.run(lambda: steps([]))
        assert counting.count == 1
        box: list[int] = []
        with pytest.raises(faultinject.Injected):
            FaultInjector(1, dirs=(str(tmp_path),)).run(lambda: steps(box))
    assert injected == {(str(source), 3)} and box == [1]
    with faultinject.only_at(frozenset({(str(source), 2)})) as injected:
        FaultInjector(None, dirs=(str(tmp_path),)).run(lambda: steps([]))
    assert injected == set()


def test_an_exception_on_the_cancel_line_reports_no_stale_hand_off():
    # A thread woken once with token 7 (say, a lock handed over), later cancelled by
    # cancel_park, with an exception landing on park's cancel line (before the cancel is
    # raised): interrupted_result must say TimedOut (the cancel took it off the queue, as a
    # timeout), not Unparked(7) left over from the earlier wait -- a primitive would then
    # believe it had been handed a lock.  Failed before park's exception path checked for a
    # cancel (it reported Unparked(7)).
    park_py = os.path.join(CORE_DIR, "_park.py")
    [line] = [n for (path, n), why in faultinject.one_step_lines(CORE_DIR).items()
              if path == park_py and "cancel that took the thread" in why]
    first_key, second_key = fresh_key(), fresh_key()
    idents: list[int] = []
    outcome: dict[str, Any] = {}

    def victim() -> None:
        idents.append(threading.get_ident())
        outcome["first"] = core.park(first_key, timeout=BOUND)
        injector = FaultInjector(1, dirs=(CORE_DIR,))
        try:
            injector.run(lambda: core.park(second_key, timeout=BOUND))
        except Injected as exc:
            outcome["fired_at"] = injector.fired_at
            outcome["result"] = core.interrupted_result(exc)

    with faultinject.only_at(frozenset({(park_py, line)})):
        worker = start(victim, name="victim")
        wait_parked(first_key, 1)
        assert core.unpark_one(first_key, lambda result: 7).unparked_threads == 1
        wait_parked(second_key, 1)
        assert core.cancel_park(idents[0], KeyError("cancelled"))
        worker.finish()
    assert outcome["first"] == core.Unparked(7)
    assert outcome.get("fired_at") is not None, f"the injector never raised: {outcome}"
    assert outcome["result"] is core.TimedOut, outcome
    assert core.parked_count(second_key) == 0 and all_bucket_locks_free()


def test_a_reentrant_mutex_is_never_left_taken_by_nobody():
    # The reentrant mutex's lock, try and unlock paths with an exception injected at every line
    # of raw/reentrant.py they run (not only the marked ones): never the mutex taken with no
    # owner on record (40 of 128 injections left it so when the owner was recorded on the line
    # after the one that took the mutex).
    _inject_at_each_reached_line(_reentrant_paths)
