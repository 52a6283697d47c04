"""RawMutex and RawFairMutex: locking, timeouts, fairness, interrupts, fault injection."""

from __future__ import annotations

import math
import threading
import time

import pytest

from conftest import BOUND, sigint_main_thread, start, wait_until
from faultinject import CORE_DIR, RAW_DIR, FaultInjector, Injected, at_every_line
from lot_helpers import all_bucket_locks_free
from parking_lot import core
from parking_lot.raw import RawFairMutex, RawMutex

MUTEXES = [RawMutex, RawFairMutex]


@pytest.fixture(params=MUTEXES, ids=lambda cls: cls.__name__)
def mutex_class(request):
    return request.param


def _wait_for_waiters(mutex, count):
    wait_until(lambda: core.parked_count(id(mutex)) == count, what=f"{count} threads parked on the mutex")


def test_lock_unlock_try_lock(mutex_class):
    m = mutex_class()
    assert not m.is_locked()
    m.lock()
    assert m.is_locked() and not m.try_lock()
    m.unlock()
    assert m.try_lock()
    m.unlock()
    with m:
        assert m.is_locked()
    assert not m.is_locked()
    assert "unlocked" in repr(m)


def test_released_by_another_thread_as_in_parking_lot(mutex_class):
    m = mutex_class()
    m.lock()
    start(m.unlock).finish()
    assert not m.is_locked()


def test_counter_never_loses_an_update(mutex_class):
    m = mutex_class()
    total = {"n": 0}

    def work():
        for _ in range(3000):
            with m:
                value = total["n"]
                if _ % 97 == 0:
                    time.sleep(0)  # invite a switch inside the critical section
                total["n"] = value + 1

    workers = [start(work) for _ in range(8)]
    for worker in workers:
        worker.finish()
    assert total["n"] == 24000
    assert not m.is_locked() and core.parked_count(id(m)) == 0


def test_try_lock_for_times_out_never_early_and_leaves_no_trace(mutex_class):
    m = mutex_class()
    m.lock()
    for timeout in (0, 0.001, 0.02):
        started = time.monotonic()
        assert start(m.try_lock_for, timeout).finish() is False
        assert time.monotonic() - started >= timeout
    deadline = time.monotonic() + 0.01
    assert start(m.try_lock_until, deadline).finish() is False
    assert time.monotonic() >= deadline
    assert core.parked_count(id(m)) == 0
    assert not m._parked  # the last waiter to time out cleared the parked bit
    m.unlock()
    assert m.try_lock_for(0)
    m.unlock()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m: m.try_lock_for(-1), ValueError),
        (lambda m: m.try_lock_for(math.nan), ValueError),
        (lambda m: m.try_lock_for("1"), TypeError),
        (lambda m: m.try_lock_until(math.nan), ValueError),
    ],
)
def test_bad_timeouts_are_rejected_before_locking(mutex_class, call, error):
    m = mutex_class()
    with pytest.raises(error):
        call(m)
    assert not m.is_locked()


def _waiter_that_holds(m, release):
    def body():
        m.lock()
        release.wait(BOUND)
        m.unlock()
        return "got it"

    return start(body)


def test_unlock_fair_hands_the_mutex_over_without_releasing_it(mutex_class):
    m = mutex_class()
    release = threading.Event()
    m.lock()
    waiter = _waiter_that_holds(m, release)
    _wait_for_waiters(m, 1)
    m.unlock_fair()
    # Handed over, never released: nobody (not even us) can slip in before the waiter.
    assert m.try_lock() is False
    release.set()
    assert waiter.finish() == "got it"
    assert not m.is_locked()


def test_fair_mutex_always_hands_over(mutex_class):
    if mutex_class is not RawFairMutex:
        pytest.skip("RawMutex hands over only when the fairness timer fires")
    m = mutex_class()
    release = threading.Event()
    m.lock()
    waiter = _waiter_that_holds(m, release)
    _wait_for_waiters(m, 1)
    m.unlock()
    assert m.try_lock() is False
    release.set()
    waiter.finish()


def test_bump_lets_a_waiter_in_first(mutex_class):
    m = mutex_class()
    order = []
    m.lock()

    def other():
        m.lock()
        order.append("other")
        m.unlock()

    worker = start(other)
    _wait_for_waiters(m, 1)
    m.bump()
    order.append("me")
    m.unlock()
    worker.finish()
    assert order == ["other", "me"]
    m.lock()
    m.bump()  # no waiter: nothing happens, we keep it
    assert m.is_locked()
    m.unlock()


def test_a_timed_out_waiter_does_not_strand_the_others(mutex_class):
    m = mutex_class()
    m.lock()
    patient = start(lambda: (m.lock(), m.unlock(), "patient")[2])
    _wait_for_waiters(m, 1)
    assert start(m.try_lock_for, 0.01).finish() is False
    m.unlock()
    assert patient.finish() == "patient"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_ctrl_c_in_a_blocked_lock_leaves_the_mutex_usable(mutex_class):
    m = mutex_class()
    holder_may_go = threading.Event()

    def holder():
        m.lock()
        holder_may_go.wait(BOUND)
        m.unlock()

    worker = start(holder)
    wait_until(m.is_locked, what="the holder to lock")
    sender = start(lambda: (_wait_for_waiters(m, 1), sigint_main_thread()))
    with pytest.raises(KeyboardInterrupt):
        m.lock()
    sender.finish()
    assert core.parked_count(id(m)) == 0  # the interrupted waiter left the queue
    holder_may_go.set()
    worker.finish()
    assert m.try_lock_for(BOUND)
    m.unlock()
    assert not m._parked


def _fault_scenario(mutex_class, target, fair):
    """A holder hands over (or releases) the mutex while the actor waits; exception at line *target*."""
    m = mutex_class()
    m.lock()
    injector = FaultInjector(target, dirs=(CORE_DIR, RAW_DIR))
    outcome = {}

    def actor():
        try:
            injector.run(m.lock)
            outcome["locked"] = True
        except Injected as exc:
            outcome["injected"] = exc
        if outcome.get("locked"):
            m.unlock()

    def release_when_parked():
        deadline = time.monotonic() + BOUND
        while core.parked_count(id(m)) == 0 and not done.is_set() and time.monotonic() < deadline:
            time.sleep(0.0002)
        (m.unlock_fair if fair else m.unlock)()

    done = threading.Event()
    releaser = start(release_when_parked)
    acting = start(lambda: (actor(), done.set()))
    acting.finish()
    releaser.finish()
    # Whatever happened, the mutex is free again and usable by everyone else.
    assert start(m.try_lock_for, BOUND).finish() is True, f"mutex stuck after {outcome}"
    m.unlock()
    assert core.parked_count(id(m)) == 0
    wait_until(all_bucket_locks_free, what="bucket locks to be free")
    return injector


@pytest.mark.parametrize("fair", [False, True], ids=["unlock", "unlock_fair"])
def test_an_exception_at_every_line_of_the_lock_slow_path(mutex_class, fair):
    assert at_every_line(lambda target: _fault_scenario(mutex_class, target, fair), minimum=10) > 0


def test_a_release_that_fails_inside_the_slow_unlock_strands_no_waiter():
    """A second release racing the first makes the slow unlock's own release raise: nothing may change."""
    m = RawMutex()
    m.lock()
    waiter = start(lambda: m.try_lock_for(BOUND))
    _wait_for_waiters(m, 1)
    m._locked.release()  # the racing release won: LOCKED is already clear
    from parking_lot.core._hashtable import state

    state.table.bucket_for(id(m)).fair_deadline_ns = time.monotonic_ns() + 10**12  # no fair hand-off now
    with pytest.raises(RuntimeError):
        m.unlock()  # the slow path's release raises inside the unpark callback
    assert core.parked_count(id(m)) == 1 and m._parked  # still queued, PARKED still set
    m.lock()  # free: taken on the fast path
    m.unlock()  # PARKED is set, so this wakes the waiter
    assert waiter.finish() is True
    m.unlock()


# --- the inlined copies of the fast paths follow their one definition -------------------------
#
# RawMutex.lock and RawMutex.unlock define the fast lock and the fast-unlock handshake
# (raw/mutex.py's module docstring); the hottest callers carry copies, marked
# "# inlined: RawMutex.lock" / "# inlined: RawMutex.unlock".  Each copy runs here on a mutex
# whose LOCKED bit is a script (a stand-in lock object that answers and records) and whose
# PARKED bit is a property answering scripted reads, and must leave the same trace of steps
# as the definition in every case, the racing parker (PARKED set between the check and the
# release) included.


class _Script:
    """A stand-in LOCKED bit: answers ``acquire(False)`` as told and scripts PARKED's reads."""

    def __init__(self, parked_reads: tuple[bool, ...] = (), acquire_result: bool = True) -> None:
        self.parked_reads = list(parked_reads)
        self.acquire_result = acquire_result
        self.trace: list[tuple[object, ...]] = []

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self.trace.append(("try-acquire LOCKED", blocking, timeout))
        return self.acquire_result

    def release(self) -> None:
        self.trace.append(("release LOCKED",))

    def locked(self) -> bool:  # compat.Lock.release's check, on the parked path: held in these cases
        return True


def _read_parked(mutex: RawMutex) -> bool:
    script = mutex._locked
    value = script.parked_reads.pop(0) if script.parked_reads else False
    script.trace.append(("read PARKED", value))
    return value


def _write_parked(mutex: RawMutex, value: bool) -> None:
    script = mutex._locked
    if isinstance(script, _Script):
        script.trace.append(("write PARKED", value))


class _Recording:
    __slots__ = ()
    _parked = property(_read_parked, _write_parked)

    def _unlock_slow(self, force_fair: bool) -> None:
        self._locked.trace.append(("unlock_slow", "FAIR" if force_fair == self._expect_fair else force_fair))

    def _wake_one(self) -> None:
        self._locked.trace.append(("wake_one",))

    def _lock_slow(self, until_ns: int | None) -> bool:
        self._locked.trace.append(("lock_slow", until_ns))
        return True

    async def _lock_slow_async(self, until_ns: int | None) -> bool:
        # The task's slow path stands for the thread's one: the copies must reach it where the
        # definition reaches _lock_slow.
        self._locked.trace.append(("lock_slow", until_ns))
        return True


class _RecordingRawMutex(_Recording, RawMutex):
    __slots__ = ("_expect_fair",)


class _RecordingRawFairMutex(_Recording, RawFairMutex):
    __slots__ = ("_expect_fair",)


def _recording(script: _Script, fair: bool) -> RawMutex:
    mutex = (_RecordingRawFairMutex if fair else _RecordingRawMutex)()
    mutex._locked = script
    mutex._expect_fair = fair  # a fair copy must call _unlock_slow(True), a plain one False
    return mutex


def _via_mutex_guard(script: _Script, fair: bool) -> None:
    from parking_lot.mutex import FairMutex, Mutex, MutexGuard

    m = (FairMutex if fair else Mutex)(0)
    m._raw = _recording(script, fair)
    m._locked = script
    m._guard = MutexGuard(m)
    m._guard._held = True
    m._guard.__exit__(None, None, None)


def _async_mutex(script: _Script, fair: bool):
    from parking_lot.mutex import FairMutex, Mutex, MutexGuard

    m = (FairMutex if fair else Mutex)(0)
    m._raw = _recording(script, fair)
    m._locked = script
    m._guard = MutexGuard(m)
    return m


def _pending(m, form: str):
    """``m.lock_async()``, or the PendingGuard class *form* names made as it makes one."""
    from parking_lot import mutex

    if form == "lock_async":
        return m.lock_async()
    pending = {"futures": mutex._PendingMutexGuard, "coroutines": mutex._PendingMutexGuardCoroutines}[form]()
    pending._mutex = m
    return pending


def _via_async_with_exit(script: _Script, fair: bool, form: str = "lock_async") -> None:
    import asyncio

    m = _async_mutex(script, fair)
    pending = _pending(m, form)
    pending._guard = m._guard
    m._guard._held = True

    async def leave() -> None:
        await pending.__aexit__(None, None, None)

    asyncio.run(leave())


def _via_async_with_enter(script: _Script, form: str = "lock_async") -> None:
    import asyncio

    m = _async_mutex(script, False)

    async def enter() -> None:
        await _pending(m, form).__aenter__()

    asyncio.run(enter())


def _via_lock_async_awaited(script: _Script) -> None:
    import asyncio

    m = _async_mutex(script, False)

    async def awaited() -> None:
        await m.lock_async()  # Mutex._lock_guard_async

    asyncio.run(awaited())


def _compat_lock(script: _Script):
    from parking_lot import compat

    lock = compat.Lock()
    lock._raw = _recording(script, False)
    lock._locked = script
    return lock


def _compat_rlock(script: _Script):
    from parking_lot import compat

    rlock = compat.RLock()
    rlock._mutex = _recording(script, False)
    return rlock


def _aio_lock(script: _Script):
    from parking_lot import aio

    lock = aio.Lock()
    lock._raw = _recording(script, True)  # asyncio's FIFO: its release is a fair unlock
    lock._locked = script
    return lock


def _aio_lock_enter(script: _Script, method: str) -> None:
    import asyncio

    lock = _aio_lock(script)

    async def enter() -> None:
        await getattr(lock, method)()

    asyncio.run(enter())


#: (name, fair, run(script)): every place the fast unlock is written out or reached.
UNLOCK_COPIES = [
    ("RawMutex.unlock_fair", True, lambda s: _recording(s, True).unlock_fair()),
    ("RawMutex.unlock_fair (plain mutex)", True, lambda s: RawMutex.unlock_fair(_recording(s, True))),
    ("RawFairMutex.unlock", True, lambda s: _recording(s, True).unlock()),
    ("RawMutex.__exit__", False, lambda s: _recording(s, False).__exit__(None, None, None)),
    ("RawFairMutex.__exit__", True, lambda s: _recording(s, True).__exit__(None, None, None)),
    ("MutexGuard.__exit__", False, lambda s: _via_mutex_guard(s, False)),
    ("MutexGuard.__exit__ (FairMutex)", True, lambda s: _via_mutex_guard(s, True)),
    ("_PendingMutexGuard.__aexit__", False, lambda s: _via_async_with_exit(s, False)),
    ("_PendingMutexGuard.__aexit__ (FairMutex)", True, lambda s: _via_async_with_exit(s, True)),
    ("_PendingMutexGuard.__aexit__ (futures form)", False, lambda s: _via_async_with_exit(s, False, "futures")),
    ("_PendingMutexGuardCoroutines.__aexit__", False, lambda s: _via_async_with_exit(s, False, "coroutines")),
    ("_PendingMutexGuardCoroutines.__aexit__ (FairMutex)", True,
     lambda s: _via_async_with_exit(s, True, "coroutines")),
    ("compat.Lock.release", False, lambda s: _compat_lock(s).release()),
    ("compat.Lock.__exit__", False, lambda s: _compat_lock(s).__exit__(None, None, None)),
    ("aio.Lock.release", True, lambda s: _aio_lock(s).release()),
]
#: (name, run(script)): every place the fast lock is written out or reached.
LOCK_COPIES = [
    ("RawMutex.__enter__", lambda s: _recording(s, False).__enter__()),
    ("Mutex.lock", lambda s: _mutex_lock(s)),
    ("_PendingMutexGuard.__aenter__", lambda s: _via_async_with_enter(s)),
    ("_PendingMutexGuard.__aenter__ (futures form)", lambda s: _via_async_with_enter(s, "futures")),
    ("_PendingMutexGuardCoroutines.__aenter__", lambda s: _via_async_with_enter(s, "coroutines")),
    ("Mutex._lock_guard_async", lambda s: _via_lock_async_awaited(s)),
    ("compat.Lock.acquire", lambda s: _compat_lock(s).acquire()),
    ("compat.Lock.__enter__", lambda s: _compat_lock(s).__enter__()),
    ("compat.RLock.acquire", lambda s: _compat_rlock(s).acquire()),
    ("compat.RLock.__enter__", lambda s: _compat_rlock(s).__enter__()),
    ("aio.Lock.acquire", lambda s: _aio_lock_enter(s, "acquire")),
    ("aio.Lock.__aenter__", lambda s: _aio_lock_enter(s, "__aenter__")),
]
#: PARKED as the unlock reads it: nobody; a thread parking between the check and the
#: release; parked before the unlock began.
PARKED_CASES = [(False, False), (False, True), (True,), (True, True)]


def _mutex_lock(script: _Script) -> None:
    from parking_lot.mutex import Mutex

    m = Mutex(0)
    m._raw = _recording(script, False)
    m._locked = script
    m.lock()


def _unlock_trace(run, parked_reads: tuple[bool, ...]) -> list[tuple[object, ...]]:
    script = _Script(parked_reads)
    run(script)
    return script.trace


def _definition_unlock(script: _Script) -> None:
    _recording(script, False).unlock()  # RawMutex.unlock: the definition


@pytest.mark.parametrize("parked_reads", PARKED_CASES, ids=str)
@pytest.mark.parametrize("name,fair,run", UNLOCK_COPIES, ids=[c[0] for c in UNLOCK_COPIES])
def test_inlined_fast_unlock_matches_its_definition(name, fair, run, parked_reads):
    expected = _unlock_trace(_definition_unlock, parked_reads)
    assert ("release LOCKED",) in expected or ("unlock_slow", "FAIR") in expected  # the case did something
    assert _unlock_trace(run, parked_reads) == expected, f"{name} no longer follows RawMutex.unlock"


@pytest.mark.parametrize("acquire_result", [True, False])
@pytest.mark.parametrize("name,run", LOCK_COPIES, ids=[c[0] for c in LOCK_COPIES])
def test_inlined_fast_lock_matches_its_definition(name, run, acquire_result):
    expected_script = _Script(acquire_result=acquire_result)
    _recording(expected_script, False).lock()  # RawMutex.lock: the definition
    script = _Script(acquire_result=acquire_result)
    run(script)
    assert script.trace == expected_script.trace, f"{name} no longer follows RawMutex.lock"


def test_the_copy_check_catches_a_drifted_copy():
    """A copy that checks PARKED only before the release (the lost wake-up the handshake
    prevents) and one that skips the first check both leave a different trace."""

    def no_second_look(script: _Script) -> None:
        m = _recording(script, False)
        if m._parked:
            m._unlock_slow(False)
            return
        m._locked.release()

    def no_first_look(script: _Script) -> None:
        m = _recording(script, False)
        m._locked.release()
        if m._parked:
            m._wake_one()

    for drifted in (no_second_look, no_first_look):
        assert any(
            _unlock_trace(drifted, case) != _unlock_trace(_definition_unlock, case)
            for case in PARKED_CASES
        )


def test_every_inlined_copy_is_checked():
    """Every "# inlined: RawMutex.lock/unlock" comment in the package sits in a function the
    lists above run (a new copy must be added there)."""
    import ast
    import os

    import parking_lot

    checked = {tuple(name.split(" ")[0].split(".")[-2:]) for name, *_ in UNLOCK_COPIES + LOCK_COPIES}
    root = os.path.dirname(parking_lot.__file__)
    found = []
    for folder, _, names in os.walk(root):
        for file_name in names:
            if not file_name.endswith(".py"):
                continue
            with open(os.path.join(folder, file_name), encoding="utf-8") as f:
                source = f.read()
            lines = source.splitlines()
            for cls in ast.walk(ast.parse(source)):
                if not isinstance(cls, ast.ClassDef):
                    continue
                for node in cls.body:
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        body = lines[node.lineno - 1 : node.end_lineno]
                        if any("# inlined: RawMutex." in line for line in body):
                            found.append((file_name, cls.name, node.name))
    assert len(found) >= 8, f"only {found}: has the comment changed?"
    for file_name, cls_name, function in found:
        assert (cls_name, function) in checked, f"{file_name}: {cls_name}.{function} has an inlined copy no test runs"
