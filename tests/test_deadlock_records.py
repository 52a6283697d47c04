"""The deadlock detector's records against the truth.

Every path of the library that releases a lock and takes it again (bump and its
variants, ``MutexGuard.unlocked()``, Condvar and Condition waits, upgrades and
downgrades, fair unlocks, timed locks that give a bit back, reentrant recursion,
threading's ``_release_save``/``_acquire_restore``) must leave the detector's
records saying exactly who holds what.  A record that outlives its hold is a
phantom: the next time its thread waits for that lock, the detector reports a
cycle of one and, with ``break_cycles``, breaks an innocent thread.

The state machine below drives random sequences of these operations on every lock
type from three actor threads, and after every step compares
:func:`parking_lot.deadlock.ownership` with the holds it keeps itself.  It only
starts a blocking operation that cannot close a cycle, so ``check_deadlock()``
must also find none.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from conftest import BOUND, QUICK, start, wait_until
from parking_lot import FairMutex, Mutex, Once, ReentrantMutex, RwLock, compat, core, deadlock
from parking_lot.condvar import Condvar
from parking_lot.raw import Condvar as RawCondvar
from parking_lot.raw import RawFairMutex, RawMutex, RawReentrantMutex, RawRwLock


# --- the regression input ------------------------------------------------------------------


def test_a_bump_leaves_no_phantom_hold_and_no_innocent_thread_is_broken(monkeypatch):
    """Lock, bump (to a waiter), unlock, then wait for a lock another running thread holds."""
    deadlock.enable()
    try:
        mutex = Mutex(0)
        bumped, holder_has_it, holder_may_go = threading.Event(), threading.Event(), threading.Event()
        guard = mutex.lock()
        waiter = start(lambda: mutex.lock().unlock())
        wait_until(lambda: core.parked_count(id(mutex.raw)) == 1, what="the waiter to park")
        guard.bump()  # the waiter has the mutex, gives it back, we hold it again
        assert waiter.finish() is None
        guard.unlock()

        def innocent() -> bool:
            bumped.set()
            holder_has_it.wait(BOUND)
            with mutex.lock():  # waits for the holder, which is running, not waiting
                return True

        def holder() -> None:
            with mutex.lock():
                holder_has_it.set()
                holder_may_go.wait(BOUND)

        # The same, from a thread of its own (a phantom could also hide in the main thread's records).
        def bump_then_wait() -> bool:
            guard = mutex.lock()
            second_waiter = start(lambda: mutex.lock().unlock())
            wait_until(lambda: core.parked_count(id(mutex.raw)) == 1, what="the second waiter")
            guard.bump()
            second_waiter.finish()
            guard.unlock()
            return innocent()

        checks = [0]
        real_check = deadlock.check_deadlock

        def counted_check() -> list[deadlock.Cycle]:
            checks[0] += 1
            return real_check()

        monkeypatch.setattr(deadlock, "check_deadlock", counted_check)
        reports: list[list[deadlock.Cycle]] = []
        deadlock.start_detector(interval=0.005, on_deadlock=reports.append, break_cycles=True)
        try:
            victim = start(bump_then_wait, name="innocent")
            bumped.wait(BOUND)
            owner = start(holder, name="holder")
            wait_until(lambda: core.parked_count(id(mutex.raw)) == 1, what="the innocent thread to wait")
            assert real_check() == []  # before the fix: a cycle of one, "waits for Mutex, holds Mutex"
            seen = checks[0]
            wait_until(lambda: checks[0] >= seen + 5, what="the background detector to look five times")
            holder_may_go.set()
            owner.finish()
            assert victim.finish() is True  # not DeadlockError
        finally:
            deadlock.stop_detector()
        assert reports == []
        assert deadlock.ownership().held == {}  # the bumps left no record behind, here or there
    finally:
        deadlock.disable()


def test_an_upgrade_after_downgrade_to_upgradable_waits_for_the_other_reader_not_itself():
    """write -> downgrade_to_upgradable -> upgrade while another reader is busy: no cycle."""
    deadlock.enable()
    try:
        rw = RwLock(0)
        upgradable_held, reading, may_leave = threading.Event(), threading.Event(), threading.Event()

        def upgrader() -> None:
            upgradable = rw.write().downgrade_to_upgradable()
            upgradable_held.set()
            reading.wait(BOUND)
            upgradable.upgrade().unlock()  # waits for the reader

        def reader() -> None:
            upgradable_held.wait(BOUND)
            with rw.read():
                reading.set()
                may_leave.wait(BOUND)

        upgrading, other = start(upgrader), start(reader)
        wait_until(lambda: core.parked_count(id(rw._raw) + 1) == 1, what="the upgrade to wait for the reader")
        assert deadlock.check_deadlock() == []  # before the fix: the upgrader waits for itself
        may_leave.set()
        other.finish()
        upgrading.finish()
        assert not rw.is_locked() and deadlock.ownership().held == {}
    finally:
        deadlock.disable()


def test_an_rlock_taken_after_waiting_for_another_owner_is_recorded():
    """The RLock tracker read another owner's count while it waited and recorded nothing."""
    deadlock.enable()
    try:
        lock = compat.RLock()
        lock.acquire()
        got = threading.Event()
        may_go = threading.Event()

        def second() -> None:
            with lock:
                got.set()
                may_go.wait(BOUND)

        other = start(second)
        wait_until(lambda: core.parked_count(id(lock._mutex)) == 1, what="the second owner to wait")
        lock.release()
        got.wait(BOUND)
        assert deadlock.ownership().held.get(other.ident) == {id(lock._mutex): 1}
        may_go.set()
        other.finish()
    finally:
        deadlock.disable()


# --- the state machine ---------------------------------------------------------------------

ACTORS = 3
SHORT = 0.005  # timed tries that must time out (they run alone: nobody else can free the lock)


class Actor:
    """A thread that runs the callables sent to it, one at a time."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.commands: queue.SimpleQueue[Callable[[], Any] | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.holds: list[Hold] = []
        self.pending: Pending | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"actor-{index}")
        self.thread.start()
        self.ident = self.thread.ident

    def _run(self) -> None:
        while True:
            command = self.commands.get()
            if command is None:
                return
            try:
                self.results.put(("ok", command()))
            except BaseException as exc:  # reported to the test
                self.results.put(("error", exc))

    def holding(self, subject: Subject, *modes: str) -> list[Hold]:
        return [h for h in self.holds if h.subject is subject and (not modes or h.mode in modes)]


@dataclass
class Hold:
    subject: Subject
    mode: str  # "x" exclusive, "r" read, "u" upgradable, "w" write, "once", "unlocked" (not held)
    handle: Any = None  # the guard, where the lock hands one out
    suspended: Any = None  # MutexGuard.unlocked()'s context manager while inside it
    origin: Any = None  # the first guard of an RwLock guard's chain of upgrades and downgrades


@dataclass
class Pending:
    label: str
    target: Subject  # the lock it will hold when it returns
    done: Callable[[Any], None]
    settled: Callable[[], bool]  # see Op.settled


@dataclass
class Op:
    label: str
    run: Callable[[], Any]
    blocking: bool  # may wait without a timeout (else it returns by itself)
    target: Subject
    before: Callable[[], None] = lambda: None
    done: Callable[[Any], None] = lambda result: None
    #: Whether a parked thread running this op is parked for good.  A condition variable's
    #: waiter is queued first and unlocks the mutex second (park's before_sleep), so while
    #: it is counted as parked it may still hold the mutex: settled once it has let go.
    settled: Callable[[], bool] = lambda: True
    reacquires: bool = False  # lets the lock go and waits to take it back (see _may_bump)


@dataclass(eq=False)
class Subject:
    name: str
    lock: Any
    key: int
    park_keys: list[int]
    reentrant: bool = False
    family: str = "mutex"  # "mutex", "rwlock" or "once"
    extra: dict[str, Any] = field(default_factory=dict)


def _subjects() -> list[Subject]:
    subjects = []
    for cls in (RawMutex, RawFairMutex, compat.Lock):
        lock = cls()
        subjects.append(Subject(cls.__name__, lock, id(lock), [id(lock)]))
    for cls in (Mutex, FairMutex):
        lock = cls(0)
        subjects.append(Subject(cls.__name__, lock, id(lock.raw), [id(lock.raw)]))
    raw_reentrant = RawReentrantMutex()
    key = id(raw_reentrant._mutex)
    subjects.append(Subject("RawReentrantMutex", raw_reentrant, key, [key], reentrant=True))
    reentrant = ReentrantMutex(0)
    key = id(reentrant._raw._mutex)
    subjects.append(Subject("ReentrantMutex", reentrant, key, [key], reentrant=True))
    rlock = compat.RLock()
    subjects.append(Subject("RLock", rlock, id(rlock._mutex), [id(rlock._mutex)], reentrant=True))
    raw_rw = RawRwLock()
    subjects.append(Subject("RawRwLock", raw_rw, id(raw_rw), [id(raw_rw), id(raw_rw) + 1], family="rwlock"))
    rw = RwLock(0)
    subjects.append(Subject("RwLock", rw, id(rw._raw), [id(rw._raw), id(rw._raw) + 1], family="rwlock"))
    once = Subject("Once", None, 0, [], family="once")
    _new_once(once)
    subjects.append(once)
    # Condition variables, each with the lock its waits release.
    by_name = {subject.name: subject for subject in subjects}
    raw_cv, cv = RawCondvar(), Condvar()
    by_name["RawMutex"].extra["condvar"] = raw_cv
    by_name["Mutex"].extra["condvar"] = cv
    for name in ("Lock", "RLock"):
        condition = compat.Condition(by_name[name].lock)
        by_name[name].extra["condition"] = condition
    by_name["RLock"].extra["threading_condition"] = threading.Condition(by_name["RLock"].lock)
    for subject in subjects:
        for waitable in (subject.extra.get("condvar"), subject.extra.get("condition")):
            if waitable is not None:
                subject.park_keys.append(waitable._key)
    return subjects


def _new_once(subject: Subject) -> None:
    subject.lock = Once()
    subject.key = id(subject.lock)
    subject.extra["release"] = compat.Event()
    subject.park_keys[:] = [subject.key, subject.extra["release"]._key]


#: Every choice the machine makes is a number drawn from one fixed range, mapped onto
#: what applies *now* (which, after _settle(), does not depend on the threads' timing):
#: an actor among all actors (a busy one: the next idle one), a lock among all locks
#: (the next one offering something), an operation by index modulo how many apply.
#: So an example's draws are the same on every run, and hypothesis can replay and
#: shrink it (sampling from lists whose length could change made it fail with
#: FlakyStrategyDefinition instead of reporting the error).
PICKS = 256
Pick = Callable[[str], int]  # label -> a number in range(PICKS)


class DetectorRecords(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        deadlock.enable()
        self.labels: set[str] = set()
        self.history: list[str] = []
        self.subjects = _subjects()
        self.actors = [Actor(index) for index in range(ACTORS)]

    # --- what the test knows ---------------------------------------------------------------

    def truth(self) -> tuple[dict[int, dict[int, int]], frozenset[tuple[int, int]]]:
        held: dict[int, dict[int, int]] = {}
        upgradable = set()
        for actor in self.actors:
            keys: dict[int, int] = {}
            for hold in actor.holds:
                if hold.mode == "unlocked":
                    continue
                key = hold.subject.key
                keys[key] = 1 if hold.subject.reentrant else keys.get(key, 0) + 1
                if hold.mode == "u":
                    upgradable.add((actor.ident, key))
            if keys:
                held[actor.ident] = keys
        return held, frozenset(upgradable)

    def _idle(self) -> list[Actor]:
        return [actor for actor in self.actors if actor.pending is None]

    def _may_block(self, actor: Actor, subject: Subject) -> bool:
        """Whether *actor* may wait for *subject* without closing a cycle of waits.

        A new wait must not be for a lock a waiting thread holds, nor, when the actor
        holds the lock already, queue behind another waiter (a writer waiting for
        this very reader); and one actor stays free to act.
        """
        if len(self._idle()) < 2:
            return False
        mine = bool(actor.holding(subject))
        for other in self.actors:
            if other is actor or other.pending is None:
                continue
            if other.holding(subject) or (mine and other.pending.target is subject):
                return False
        return True

    # --- the operations --------------------------------------------------------------------

    def _ops(self, actor: Actor, subject: Subject) -> list[Op]:
        if subject.family == "rwlock":
            ops = self._rwlock_ops(actor, subject)
        elif subject.family == "once":
            ops = self._once_ops(actor, subject)
        else:
            ops = self._mutex_ops(actor, subject)
        if not self._may_bump(actor, subject):
            ops = [op for op in ops if not op.reacquires]
        return ops

    def _may_bump(self, actor: Actor, subject: Subject) -> bool:
        """Whether *actor* may let *subject* go and wait to take it back (bump and its kind).

        The waiters it lets in get the lock and return; but a waiting thread that holds
        *subject* too (another reader, while a writer waits for both) could close a cycle.
        """
        return len(self._idle()) >= 2 and not any(
            other is not actor and other.pending is not None and other.holding(subject) for other in self.actors
        )

    def _acquire(self, actor: Actor, subject: Subject, mode: str, label: str, run: Callable[[], Any],
                 blocking: bool, conditional: bool = False) -> Op:
        def done(result: Any) -> None:
            if not conditional or (result is not None and result is not False):
                actor.holds.append(Hold(subject, mode, result if result is not True else None))

        return Op(f"{subject.name}.{label}", run, blocking, subject, done=done)

    def _release(self, actor: Actor, hold: Hold, label: str, run: Callable[[], Any]) -> Op:
        return Op(f"{hold.subject.name}.{label}", run, False, hold.subject, before=lambda: actor.holds.remove(hold))

    def _reacquire(self, actor: Actor, hold: Hold, label: str, run: Callable[[], Any], mode: str | None = None) -> Op:
        """bump & co: not held while it waits to take the lock back."""
        def before() -> None:
            actor.holds.remove(hold)

        def done(_result: Any) -> None:
            if mode is not None:
                hold.mode = mode
            actor.holds.append(hold)

        return Op(f"{hold.subject.name}.{label}", run, True, hold.subject, before, done, reacquires=True)

    def _mutex_ops(self, actor: Actor, s: Subject) -> list[Op]:
        ops: list[Op] = []
        lock = s.lock
        for hold in actor.holding(s, "unlocked"):  # inside guard.unlocked(): its exit is all it may do here
            if self._may_block(actor, s):
                return [self._reacquire(actor, hold, "guard.unlocked() exit",
                                        lambda cm=hold.suspended: cm.__exit__(None, None, None), mode="x")]
            return []
        mine = actor.holding(s)
        held = actor.holding(s, "x")
        can_wait = (s.reentrant or not mine) and self._may_block(actor, s)
        if s.name in ("RawMutex", "RawFairMutex"):
            if can_wait:
                ops.append(self._acquire(actor, s, "x", "lock", lock.lock, True))
                ops.append(self._acquire(actor, s, "x", "__enter__", lock.__enter__, True))
            ops.append(self._acquire(actor, s, "x", "try_lock", lock.try_lock, False, conditional=True))
            ops.append(self._acquire(actor, s, "x", "try_lock_for", lambda: lock.try_lock_for(SHORT), False, True))
            for hold in held:
                ops.append(self._release(actor, hold, "unlock", lock.unlock))
                ops.append(self._release(actor, hold, "unlock_fair", lock.unlock_fair))
                ops.append(self._release(actor, hold, "__exit__", lambda: lock.__exit__(None, None, None)))
                ops.append(self._reacquire(actor, hold, "bump", lock.bump))
        elif s.name == "Lock":
            if can_wait:
                ops.append(self._acquire(actor, s, "x", "acquire", lock.acquire, True))
                ops.append(self._acquire(actor, s, "x", "__enter__", lock.__enter__, True))
                ops.append(self._acquire(actor, s, "x", "acquire(True, -1)", lambda: lock.acquire(True, -1), True))
            ops.append(self._acquire(actor, s, "x", "acquire(False)", lambda: lock.acquire(False), False, True))
            ops.append(self._acquire(actor, s, "x", "acquire(timeout)", lambda: lock.acquire(timeout=SHORT),
                                     False, True))
            for hold in held:
                ops.append(self._release(actor, hold, "release", lock.release))
                ops.append(self._release(actor, hold, "__exit__", lambda: lock.__exit__(None, None, None)))
                ops.append(self._reacquire(actor, hold, "release+acquire", lambda: (lock.release(), lock.acquire())))
        elif s.name in ("Mutex", "FairMutex"):
            if can_wait:
                ops.append(self._acquire(actor, s, "x", "lock", lock.lock, True))
            ops.append(self._acquire(actor, s, "x", "try_lock", lock.try_lock, False, True))
            ops.append(self._acquire(actor, s, "x", "try_lock_for", lambda: lock.try_lock_for(SHORT), False, True))
            for hold in held:
                guard = hold.handle
                ops.append(self._release(actor, hold, "guard.unlock", guard.unlock))
                ops.append(self._release(actor, hold, "guard.unlock_fair", guard.unlock_fair))
                ops.append(self._release(actor, hold, "guard.__exit__", lambda g=guard: g.__exit__(None, None, None)))
                ops.append(self._reacquire(actor, hold, "guard.bump", guard.bump))
                ops.append(self._enter_unlocked(actor, hold))
                ops.append(self._enter_unlocked(actor, hold, fair=True))
        elif s.name in ("RawReentrantMutex", "ReentrantMutex"):
            data = s.name == "ReentrantMutex"
            if mine or self._may_block(actor, s):
                ops.append(self._acquire(actor, s, "x", "lock", lock.lock, True))
            ops.append(self._acquire(actor, s, "x", "try_lock", lock.try_lock, False, True))
            ops.append(self._acquire(actor, s, "x", "try_lock_for", lambda: lock.try_lock_for(SHORT), False, True))
            if mine:
                hold = mine[-1]  # a reentrant lock unlocks in any order; take the newest
                if data:
                    ops.append(self._release(actor, hold, "guard.unlock", hold.handle.unlock))
                    ops.append(self._release(actor, hold, "guard.unlock_fair", hold.handle.unlock_fair))
                    ops.append(self._release(actor, hold, "guard.__exit__",
                                             lambda: hold.handle.__exit__(None, None, None)))
                    ops.append(self._reacquire(actor, hold, "guard.bump", hold.handle.bump))
                else:
                    ops.append(self._release(actor, hold, "unlock", lock.unlock))
                    ops.append(self._release(actor, hold, "unlock_fair", lock.unlock_fair))
                    ops.append(self._reacquire(actor, hold, "bump", lock.bump))
        elif s.name == "RLock":
            if mine or self._may_block(actor, s):
                ops.append(self._acquire(actor, s, "x", "acquire", lock.acquire, True))
                ops.append(self._acquire(actor, s, "x", "__enter__", lock.__enter__, True))
            ops.append(self._acquire(actor, s, "x", "acquire(False)", lambda: lock.acquire(False), False, True))
            if mine:
                hold = mine[-1]
                ops.append(self._release(actor, hold, "release", lock.release))
                ops.append(self._release(actor, hold, "__exit__", lambda: lock.__exit__(None, None, None)))
        ops += self._wait_ops(actor, s)
        return ops

    def _enter_unlocked(self, actor: Actor, hold: Hold, fair: bool = False) -> Op:
        def run() -> Any:
            cm = hold.handle.unlocked_fair() if fair else hold.handle.unlocked()
            cm.__enter__()
            return cm

        def done(cm: Any) -> None:
            hold.mode, hold.suspended = "unlocked", cm

        name = "unlocked_fair" if fair else "unlocked"
        return Op(f"{hold.subject.name}.guard.{name}() enter", run, False, hold.subject, done=done)

    def _wait_ops(self, actor: Actor, s: Subject) -> list[Op]:
        """Condvar/Condition waits on the lock *actor* holds (all of its holds are released)."""
        ops: list[Op] = []
        mine = actor.holding(s, "x")
        if not mine or len(self._idle()) < 2:
            return ops
        saved = list(mine)

        def wait_op(label: str, run: Callable[[], Any]) -> Op:
            def before() -> None:
                for hold in saved:
                    actor.holds.remove(hold)

            def done(_result: Any) -> None:
                actor.holds.extend(saved)

            def settled() -> bool:
                return s.key not in deadlock.ownership().held.get(actor.ident, {})

            return Op(f"{s.name}.{label}", run, True, s, before, done, settled)

        if "condvar" in s.extra and len(mine) == 1:
            cv = s.extra["condvar"]
            if s.name == "RawMutex":
                ops.append(wait_op("Condvar.wait_raw", lambda: cv.wait_raw(s.lock)))
            else:
                ops.append(wait_op("Condvar.wait", lambda: cv.wait(mine[0].handle)))
        if "condition" in s.extra and (s.reentrant or len(mine) == 1):
            ops.append(wait_op("Condition.wait", s.extra["condition"].wait))
        if "threading_condition" in s.extra:
            # threading's own Condition on our RLock: _release_save, a 1 ms wait, _acquire_restore.
            ops.append(wait_op("threading.Condition.wait", lambda: s.extra["threading_condition"].wait(0.001)))
        return ops

    def _rwlock_ops(self, actor: Actor, s: Subject) -> list[Op]:
        ops: list[Op] = []
        raw = s.name == "RawRwLock"
        rw = s.lock
        mine = actor.holding(s)
        modes = [hold.mode for hold in mine]
        free_to_wait = self._may_block(actor, s)
        shared_ok = "w" not in modes and free_to_wait
        # (A reader asking for the upgradable lock another thread holds waits for that thread: the
        # detector tells it from a wait for itself by the park token.)
        upgradable_ok = free_to_wait
        if raw:
            if shared_ok:
                ops.append(self._acquire(actor, s, "r", "lock_shared", rw.lock_shared, True))
                ops.append(self._acquire(actor, s, "r", "lock_shared_recursive", rw.lock_shared_recursive, True))
            if not mine and free_to_wait:
                ops.append(self._acquire(actor, s, "w", "lock_exclusive", rw.lock_exclusive, True))
                ops.append(self._acquire(actor, s, "w", "__enter__", rw.__enter__, True))
            if "u" not in modes and "w" not in modes and upgradable_ok:
                ops.append(self._acquire(actor, s, "u", "lock_upgradable", rw.lock_upgradable, True))
            ops.append(self._acquire(actor, s, "r", "try_lock_shared", rw.try_lock_shared, False, True))
            ops.append(self._acquire(actor, s, "w", "try_lock_exclusive", rw.try_lock_exclusive, False, True))
            ops.append(self._acquire(actor, s, "u", "try_lock_upgradable", rw.try_lock_upgradable, False, True))
            # Nobody else runs meanwhile: the timed tries succeed at once or time out, giving back what they took.
            ops.append(self._acquire(actor, s, "w", "try_lock_exclusive_for",
                                     lambda: rw.try_lock_exclusive_for(SHORT), False, True))
            ops.append(self._acquire(actor, s, "r", "try_lock_shared_for",
                                     lambda: rw.try_lock_shared_for(SHORT), False, True))
            ops.append(self._acquire(actor, s, "u", "try_lock_upgradable_for",
                                     lambda: rw.try_lock_upgradable_for(SHORT), False, True))
            for hold in mine:
                if hold.mode == "r":
                    ops.append(self._release(actor, hold, "unlock_shared", rw.unlock_shared))
                    ops.append(self._release(actor, hold, "unlock_shared_fair", rw.unlock_shared_fair))
                    if len(mine) == 1:
                        ops.append(self._reacquire(actor, hold, "bump_shared", rw.bump_shared))
                elif hold.mode == "w":
                    ops.append(self._release(actor, hold, "unlock_exclusive", rw.unlock_exclusive))
                    ops.append(self._release(actor, hold, "unlock_exclusive_fair", rw.unlock_exclusive_fair))
                    ops.append(self._release(actor, hold, "__exit__", lambda: rw.__exit__(None, None, None)))
                    ops.append(self._reacquire(actor, hold, "bump_exclusive", rw.bump_exclusive))
                    ops.append(self._mode_change(actor, hold, "downgrade", rw.downgrade, "r"))
                    ops.append(self._mode_change(actor, hold, "downgrade_to_upgradable",
                                                 rw.downgrade_to_upgradable, "u"))
                elif hold.mode == "u":
                    ops.append(self._release(actor, hold, "unlock_upgradable", rw.unlock_upgradable))
                    ops.append(self._release(actor, hold, "unlock_upgradable_fair", rw.unlock_upgradable_fair))
                    ops.append(self._mode_change(actor, hold, "downgrade_upgradable", rw.downgrade_upgradable, "r"))
                    ops.append(self._mode_change(actor, hold, "try_upgrade", rw.try_upgrade, "w", conditional=True))
                    ops.append(self._mode_change(actor, hold, "try_upgrade_for",
                                                 lambda: rw.try_upgrade_for(SHORT), "w", conditional=True))
                    if len(mine) == 1:
                        ops.append(self._reacquire(actor, hold, "bump_upgradable", rw.bump_upgradable))
                        if free_to_wait:
                            ops.append(self._mode_change(actor, hold, "upgrade", rw.upgrade, "w", blocking=True))
            return ops
        # The data-owning RwLock and its guards.
        if shared_ok:
            ops.append(self._acquire(actor, s, "r", "read", rw.read, True))
            ops.append(self._acquire(actor, s, "r", "read_recursive", rw.read_recursive, True))
        if not mine and free_to_wait:
            ops.append(self._acquire(actor, s, "w", "write", rw.write, True))
        if "u" not in modes and "w" not in modes and upgradable_ok:
            ops.append(self._acquire(actor, s, "u", "upgradable_read", rw.upgradable_read, True))
        ops.append(self._acquire(actor, s, "r", "try_read", rw.try_read, False, True))
        ops.append(self._acquire(actor, s, "w", "try_write", rw.try_write, False, True))
        ops.append(self._acquire(actor, s, "u", "try_upgradable_read", rw.try_upgradable_read, False, True))
        ops.append(self._acquire(actor, s, "w", "try_write_for", lambda: rw.try_write_for(SHORT), False, True))
        ops.append(self._acquire(actor, s, "r", "try_read_for", lambda: rw.try_read_for(SHORT), False, True))
        for hold in mine:
            guard = hold.handle
            ops.append(self._release(actor, hold, "guard.unlock", guard.unlock))
            ops.append(self._release(actor, hold, "guard.unlock_fair", guard.unlock_fair))
            ops.append(self._release(actor, hold, "guard.__exit__", lambda g=guard: g.__exit__(None, None, None)))
            if hold.origin is not None:  # the `with` of the guard this one was made from ends: it releases this one
                ops.append(self._release(actor, hold, "consumed guard.__exit__",
                                         lambda g=hold.origin: g.__exit__(None, None, None)))
            if len(mine) == 1:  # (with another hold of its own, a bump could wait behind a writer waiting for it)
                ops.append(self._reacquire(actor, hold, "guard.bump", guard.bump))
            if hold.mode == "w":
                ops.append(self._guard_change(actor, hold, "downgrade", guard.downgrade, "r"))
                ops.append(self._guard_change(actor, hold, "downgrade_to_upgradable",
                                              guard.downgrade_to_upgradable, "u"))
            elif hold.mode == "u":
                ops.append(self._guard_change(actor, hold, "downgrade", guard.downgrade, "r"))
                ops.append(self._guard_change(actor, hold, "try_upgrade_for",
                                              lambda g=guard: g.try_upgrade_for(SHORT), "w"))
                if len(mine) == 1 and free_to_wait:
                    ops.append(self._guard_change(actor, hold, "upgrade", guard.upgrade, "w", blocking=True))
        return ops

    def _mode_change(self, actor: Actor, hold: Hold, label: str, run: Callable[[], Any], mode: str,
                     conditional: bool = False, blocking: bool = False) -> Op:
        def done(result: Any) -> None:
            if not conditional or result:
                hold.mode = mode

        return Op(f"{hold.subject.name}.{label}", run, blocking, hold.subject, done=done)

    def _guard_change(self, actor: Actor, hold: Hold, label: str, run: Callable[[], Any], mode: str,
                      blocking: bool = False) -> Op:
        def done(guard: Any) -> None:
            if guard is not None:
                if hold.origin is None:
                    hold.origin = hold.handle
                hold.mode, hold.handle = mode, guard

        return Op(f"{hold.subject.name}.guard.{label}", run, blocking, hold.subject, done=done)

    def _once_ops(self, actor: Actor, s: Subject) -> list[Op]:
        if any(other.holding(s) for other in self.actors) or not self._may_block(actor, s):
            return []
        once, release = s.lock, s.extra["release"]

        def done(_result: Any) -> None:
            actor.holds[:] = [hold for hold in actor.holds if hold.subject is not s]
            _new_once(s)

        # The function waits (parked) until the test lets it finish: meanwhile the thread holds the Once.
        return [Op("Once.call_once", lambda: once.call_once(release.wait), True, s,
                   before=lambda: actor.holds.append(Hold(s, "once")), done=done)]

    # --- running them ----------------------------------------------------------------------

    def _send(self, actor: Actor, op: Op) -> None:
        op.before()
        actor.commands.put(op.run)
        if op.blocking:
            actor.pending = Pending(op.label, op.target, op.done, op.settled)
        else:
            kind, value = actor.results.get(timeout=BOUND)
            if kind == "error":
                raise value
            op.done(value)
        self._settle()

    def _collect(self) -> bool:
        finished = False
        for actor in self.actors:
            if actor.pending is not None and not actor.results.empty():
                kind, value = actor.results.get()
                if kind == "error":
                    raise value
                pending, actor.pending = actor.pending, None
                pending.done(value)
                finished = True
        return finished

    def _settle(self) -> None:
        """Until every actor is idle or parked for good (only a running actor could wake one).

        Parked for good: as many threads parked on the locks' keys as actors are busy (only
        the actors park there, each at most once), every busy actor past what its op does
        after queueing (Op.settled: a condvar waiter has let go of its mutex), and the count
        the same a moment later (a thread a requeue moves between two keys could be counted
        on both by one look).  Counted key by key (one bucket lock each), not with a frozen
        snapshot of the whole lot, whose cost grows with a table other tests may have grown.
        """
        keys = {key for subject in self.subjects for key in subject.park_keys}
        deadline = time.monotonic() + BOUND

        def parked() -> int:
            return sum(core.parked_count(key) for key in keys)

        while True:
            if not self._collect():
                busy = [actor.pending for actor in self.actors if actor.pending is not None]
                if parked() == len(busy) and all(pending.settled() for pending in busy):
                    time.sleep(0.0002)
                    if parked() == len(busy) and not self._collect():
                        return
            if time.monotonic() > deadline:
                pytest.fail(f"actors did not settle (a condvar waiter still recorded as holding its mutex?): "
                            f"{[actor.pending for actor in self.actors]}\n{self._describe()}")
            time.sleep(0.0002)

    def do_step(self, pick: Pick) -> None:
        # Every draw first, whatever the state: the same number of draws from the same ranges.
        actor_number, lock_number = pick("actor"), pick("lock")
        # What the actor holds, two times in three: the releasing and re-acquiring paths.
        use_holds = pick("use what it holds") % 3 != 0
        op_number = pick("op")
        # The drawn actor, or the next idle one after it; the drawn lock, or the next one that offers
        # the actor something (each lock type gets its share of the steps); else nothing to do.
        actor = next((self.actors[(actor_number + i) % ACTORS] for i in range(ACTORS)
                      if self.actors[(actor_number + i) % ACTORS].pending is None), None)
        if actor is None:
            return
        subjects = self.subjects
        for i in range(len(subjects)):
            subject = subjects[(lock_number + i) % len(subjects)]
            ops = self._ops(actor, subject)
            if ops:
                break
        else:
            return
        tries = tuple(f"{subject.name}.{name}" for name in ("try_lock", "try_read", "try_write", "try_upgradable"))
        holding = [op for op in ops if actor.holding(subject) and not op.label.startswith(tries)]
        if holding and use_holds:
            ops = holding
        op = ops[op_number % len(ops)]
        self.labels.add(op.label)
        self.history.append(f"actor-{actor.index}: {op.label}")
        self._send(actor, op)

    def do_notify(self, pick: Pick) -> None:
        """Wake condvar waiters from the test's thread (a Condvar needs no lock for notify)."""
        waitables = [w for s in self.subjects for w in (s.extra.get("condvar"), s.extra.get("condition"))
                     if w is not None]
        waitable = waitables[pick("condvar") % len(waitables)]
        cv = waitable if not isinstance(waitable, compat.Condition) else waitable._cv
        if pick("all") % 2:
            cv.notify_all()
        else:
            cv.notify_one()
        self._settle()

    def do_let_once_finish(self) -> None:
        for subject in self.subjects:
            if subject.family == "once":
                subject.extra["release"].set()
        self._settle()

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        self.do_step(lambda label: data.draw(st.integers(0, PICKS - 1), label=label))

    @rule(data=st.data())
    def notify(self, data: st.DataObject) -> None:
        self.do_notify(lambda label: data.draw(st.integers(0, PICKS - 1), label=label))

    @rule()
    def let_once_finish(self) -> None:
        self.do_let_once_finish()

    @invariant()
    def records_match_the_truth(self) -> None:
        held, upgradable = self.truth()
        records = deadlock.ownership()
        mine = {actor.ident for actor in self.actors}
        where = self._describe()
        assert {ident: keys for ident, keys in records.held.items() if ident in mine} == held, where
        assert {entry for entry in records.upgradable if entry[0] in mine} == upgradable, where
        cycles = deadlock.check_deadlock()
        assert cycles == [], "\n".join([where, *map(str, cycles)])

    def _describe(self) -> str:
        lines = [f"last operations: {self.history[-8:]}"]
        for actor in self.actors:
            holds = [f"{hold.subject.name}:{hold.mode}" for hold in actor.holds]
            lines.append(f"actor-{actor.index} holds {holds}, waits in {actor.pending and actor.pending.label}")
        return "\n".join(lines)

    def teardown(self) -> None:
        try:
            deadline = time.monotonic() + BOUND
            while any(actor.holds or actor.pending for actor in self.actors):
                if time.monotonic() > deadline:
                    pytest.fail(f"could not release everything: {[(a.holds, a.pending) for a in self.actors]}")
                for subject in self.subjects:
                    for waitable in (subject.extra.get("condvar"), subject.extra.get("condition")):
                        if waitable is not None:
                            (waitable._cv if isinstance(waitable, compat.Condition) else waitable).notify_all()
                    if subject.family == "once":
                        subject.extra["release"].set()
                self._settle()
                for actor in self._idle():
                    for hold in self._teardown_order(actor):
                        self._send(actor, self._release_op(actor, hold))
                        break  # one at a time: the holds change as others finish
                self._settle()
        finally:
            for actor in self.actors:
                actor.commands.put(None)
            for actor in self.actors:
                actor.thread.join(BOUND)
            deadlock.disable()

    def _teardown_order(self, actor: Actor) -> list[Hold]:
        """The actor's holds to give back, newest first; leaving ``guard.unlocked()`` takes the
        mutex again, so it waits until no other actor holds that mutex (one that does may be
        waiting for a lock this actor still holds)."""
        holds = [hold for hold in reversed(actor.holds) if hold.mode != "unlocked"]
        for hold in reversed(actor.holds):
            if hold.mode == "unlocked" and not any(
                h.mode != "unlocked" for other in self.actors if other is not actor for h in other.holding(hold.subject)
            ):
                holds.append(hold)
        return holds

    def _release_op(self, actor: Actor, hold: Hold) -> Op:
        s = hold.subject
        if hold.mode == "unlocked":
            cm = hold.suspended
            return self._reacquire(actor, hold, "unlocked exit", lambda: cm.__exit__(None, None, None), mode="x")
        if hold.handle is not None and hasattr(hold.handle, "unlock"):
            return self._release(actor, hold, "guard.unlock", hold.handle.unlock)
        lock = s.lock
        if s.family == "rwlock":
            run = {"r": lock.unlock_shared, "w": lock.unlock_exclusive, "u": lock.unlock_upgradable}[hold.mode]
        elif s.name in ("Lock", "RLock"):
            run = lock.release
        else:
            run = lock.unlock
        return self._release(actor, hold, "release", run)


DetectorRecords.TestCase.settings = settings(
    max_examples=40 if QUICK else 150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDetectorRecords = DetectorRecords.TestCase


def test_seeded_random_runs_reach_every_releasing_and_reacquiring_path():
    """The same machine, driven by seeded random choices for longer runs, and a check
    that every operation the machine knows was run (a path the model never reaches
    proves nothing)."""
    import random

    expected = {
        "RawMutex.bump", "RawFairMutex.bump", "Mutex.guard.bump", "FairMutex.guard.bump",
        "Mutex.guard.unlocked() exit", "FairMutex.guard.unlocked() exit",
        "RawMutex.unlock_fair", "Mutex.guard.unlock_fair", "RwLock.guard.unlock_fair",
        "RawRwLock.unlock_exclusive_fair", "RawRwLock.unlock_upgradable_fair", "RawReentrantMutex.unlock_fair",
        "RawMutex.Condvar.wait_raw", "Mutex.Condvar.wait", "Lock.Condition.wait", "RLock.Condition.wait",
        "RLock.threading.Condition.wait",
        "RawRwLock.bump_shared", "RawRwLock.bump_exclusive", "RawRwLock.bump_upgradable",
        "RawRwLock.upgrade", "RawRwLock.try_upgrade_for", "RawRwLock.downgrade",
        "RawRwLock.downgrade_to_upgradable", "RawRwLock.downgrade_upgradable",
        "RwLock.guard.upgrade", "RwLock.guard.try_upgrade_for", "RwLock.guard.downgrade",
        "RwLock.guard.downgrade_to_upgradable",
        "RawRwLock.try_lock_exclusive_for", "RwLock.try_write_for", "Lock.acquire(timeout)",
        "RawReentrantMutex.lock", "ReentrantMutex.lock", "RLock.acquire", "Once.call_once",
        # Not tracked before the locks declared their bookkeeping (or declared but never driven):
        "RawRwLock.unlock_shared_fair", "RawReentrantMutex.bump", "ReentrantMutex.guard.bump",
        "ReentrantMutex.guard.unlock_fair", "Mutex.guard.unlocked_fair() enter",
        "RwLock.guard.bump", "RwLock.consumed guard.__exit__",
    }
    labels: set[str] = set()
    for seed in range(3 if QUICK else 60):  # until every path was run: at least ten seeds, at most sixty (quick: three)
        rng = random.Random(seed)
        machine = DetectorRecords()
        try:
            for _ in range(300):
                roll = rng.random()
                if roll < 0.9:
                    machine.do_step(lambda _label: rng.randrange(PICKS))
                elif roll < 0.97:
                    machine.do_notify(lambda _label: rng.randrange(PICKS))
                else:
                    machine.do_let_once_finish()
                machine.records_match_the_truth()  # (a failure names no seed: rerun with -k and print it)
        finally:
            labels |= machine.labels
            machine.teardown()
        if seed >= 9 and expected <= labels:
            break
    if QUICK:
        return  # a short run checks the records at every step; reaching every path is the full run's
    assert expected <= labels, sorted(expected - labels)


def test_settling_waits_for_a_condvar_waiter_to_let_go_of_its_mutex(monkeypatch):
    """The failure CI met on 3.13t: a condvar waiter is queued (counted as parked) before its
    before_sleep unlocks the mutex, so the machine compared the records with the truth while the
    waiter still held the mutex.  Here that unlock is made slow so the window is always there."""
    machine = DetectorRecords()
    try:
        subject = next(s for s in machine.subjects if s.name == "RawMutex")
        actor = machine.actors[0]
        machine._send(actor, machine._acquire(actor, subject, "x", "lock", subject.lock.lock, True))
        tracked_unlock = RawMutex.unlock  # (the recording wrapper: detection is on)

        def slow_unlock(self: RawMutex) -> None:
            time.sleep(0.05)  # widens the window; the test does not depend on how long it is
            tracked_unlock(self)

        monkeypatch.setattr(RawMutex, "unlock", slow_unlock)
        (wait,) = [op for op in machine._wait_ops(actor, subject) if op.label == "RawMutex.Condvar.wait_raw"]
        machine._send(actor, wait)
        machine.records_match_the_truth()
        assert actor.pending is not None and deadlock.ownership().held.get(actor.ident, {}) == {}
    finally:
        monkeypatch.undo()
        machine.teardown()
