"""Conformance: every case runs against CPython's ``threading`` class and ours (``mod`` fixture).

A case that passes for threading and fails for parking_lot.compat is a difference
in behaviour; the suite is the specification of "drop-in".
"""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest

import parking_lot.compat as compat
from parking_lot import core
from conftest import BOUND, start, wait_until

TIMEOUT_MAX = threading.TIMEOUT_MAX


@pytest.fixture(params=["threading", "parking_lot"])
def mod(request):
    return threading if request.param == "threading" else compat


def modern_repr(mod) -> bool:
    """Whether *mod*'s reprs are 3.13's (threading's Semaphore/Event/Barrier gained theirs in 3.11)."""
    return mod is not threading or sys.version_info >= (3, 11)


def public_name(mod) -> str:
    """The module name *mod*'s reprs give their classes: ``threading``, or ``parking_lot`` (the public path)."""
    return "threading" if mod is threading else "parking_lot"


def _elapsed(fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - started


# --- Lock --------------------------------------------------------------------------------


def test_lock_acquire_release_and_locked(mod):
    lock = mod.Lock()
    assert lock.locked() is False
    assert lock.acquire() is True
    assert lock.locked() is True
    assert lock.acquire(False) is False
    assert lock.acquire(blocking=False) is False
    assert lock.acquire(timeout=0) is False
    assert lock.release() is None
    assert lock.locked() is False
    with lock as entered:
        assert entered is True
        assert lock.locked()
    assert not lock.locked()


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        ((False, 1), {}, ValueError),
        ((), {"blocking": False, "timeout": 0}, ValueError),
        ((), {"timeout": -2}, ValueError),
        ((), {"timeout": -0.5}, ValueError),
        ((), {"timeout": float("nan")}, ValueError),
        ((), {"timeout": TIMEOUT_MAX * 2}, OverflowError),
        ((), {"timeout": "1"}, TypeError),
    ],
)
@pytest.mark.parametrize("kind", ["Lock", "RLock"])
def test_lock_acquire_rejects_bad_arguments_as_threading_does(mod, kind, args, kwargs, error):
    lock = getattr(mod, kind)()
    with pytest.raises(error):
        lock.acquire(*args, **kwargs)
    assert lock.acquire(False) is True  # nothing was taken by the failed call
    lock.release()


def test_lock_acquire_minus_one_timeout_means_forever_and_non_blocking_accepts_it(mod):
    lock = mod.Lock()
    assert lock.acquire(True, -1) is True
    assert lock.acquire(False, -1) is False
    lock.release()


def test_lock_release_of_an_unlocked_lock_raises_runtime_error(mod):
    lock = mod.Lock()
    with pytest.raises(RuntimeError):
        lock.release()
    lock.acquire()
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    assert lock.acquire(False)


def test_lock_may_be_released_by_another_thread(mod):
    lock = mod.Lock()
    lock.acquire()
    start(lock.release).finish()
    assert not lock.locked()


def test_lock_blocked_acquire_is_woken_by_release(mod):
    lock = mod.Lock()
    lock.acquire()
    waiter = start(lambda: lock.acquire(timeout=BOUND))
    time.sleep(0.01)  # let it block (not needed for correctness: it must succeed either way)
    lock.release()
    assert waiter.finish() is True
    assert lock.locked()
    lock.release()


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
def test_lock_timeout_does_not_return_early(mod, kind):
    lock = getattr(mod, kind)()
    start(lock.acquire).finish()  # held by a finished thread: nobody will release it
    result, elapsed = _elapsed(lock.acquire, timeout=0.05)
    assert result is False
    assert elapsed >= 0.05 - 0.001  # monotonic clock granularity on Windows


def test_lock_repr_shows_the_state(mod):
    lock = mod.Lock()
    assert repr(lock).startswith("<unlocked ")
    lock.acquire()
    assert repr(lock).startswith("<locked ")


def test_lock_counts_under_contention(mod):
    lock, counter = mod.Lock(), [0]

    def work():
        for _ in range(2000):
            with lock:
                value = counter[0]
                counter[0] = value + 1

    workers = [start(work) for _ in range(8)]
    for worker in workers:
        worker.finish()
    assert counter[0] == 16000


# --- RLock -------------------------------------------------------------------------------


def test_rlock_reentrancy_and_ownership(mod):
    lock = mod.RLock()
    assert lock.acquire() is True
    assert lock.acquire() is True
    with lock as entered:
        assert entered is True
    assert lock._is_owned()
    assert start(lambda: lock.acquire(False)).finish() is False
    assert start(lock._is_owned).finish() is False
    with pytest.raises(RuntimeError):
        start(lock.release).finish()  # not the owner
    lock.release()
    assert lock._is_owned()
    lock.release()
    assert not lock._is_owned()
    with pytest.raises(RuntimeError):
        lock.release()
    assert start(lambda: lock.acquire(False)).finish() is True


def test_rlock_repr_shows_owner_and_count(mod):
    lock = mod.RLock()
    assert "unlocked" in repr(lock) and "count=0" in repr(lock)
    lock.acquire()
    lock.acquire()
    assert repr(lock).startswith("<locked ") and "count=2" in repr(lock)
    lock.release()
    lock.release()


def test_rlock_release_save_and_acquire_restore(mod):
    lock = mod.RLock()
    lock.acquire()
    lock.acquire()
    saved = lock._release_save()
    assert start(lambda: lock.acquire(False) and (lock.release() or True)).finish() is True
    lock._acquire_restore(saved)
    assert lock._is_owned()
    lock.release()
    lock.release()
    assert not lock._is_owned()


def test_threading_condition_accepts_our_rlock_and_lock():
    for lock in (compat.RLock(), compat.Lock()):
        cond = threading.Condition(lock)
        flag = []

        def waiter(cond=cond, flag=flag):
            with cond:
                return cond.wait_for(lambda: flag, BOUND)

        worker = start(waiter)
        with cond:
            flag.append(1)
            cond.notify()
        assert worker.finish() == [1]


# --- Condition ---------------------------------------------------------------------------

LOCK_KINDS = ["default", "Lock", "RLock", "threading.Lock", "threading.RLock"]


def _condition(mod, kind):
    if kind == "default":
        return mod.Condition()
    if kind.startswith("threading."):
        return mod.Condition(getattr(threading, kind.split(".")[1])())
    return mod.Condition(getattr(mod, kind)())


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_condition_needs_the_lock(mod, kind):
    cond = _condition(mod, kind)
    with pytest.raises(RuntimeError):
        cond.wait(0.01)
    with pytest.raises(RuntimeError):
        cond.notify()
    with pytest.raises(RuntimeError):
        cond.notify_all()
    with cond:
        cond.notify()  # nobody waits: fine
        cond.notify_all()


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_condition_wait_times_out_with_false_and_holds_the_lock_again(mod, kind):
    cond = _condition(mod, kind)
    with cond:
        result, elapsed = _elapsed(cond.wait, 0.05)
        assert result is False
        assert elapsed >= 0.05 - 0.001
        assert cond.wait(0) is False
        assert cond.wait(-1) is False
        assert cond._is_owned()


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_condition_notify_wakes_exactly_n(mod, kind):
    cond = _condition(mod, kind)
    waiting, woken = [0], [0]

    def waiter():
        with cond:
            waiting[0] += 1
            notified = cond.wait(BOUND)
            woken[0] += 1
            return notified

    workers = [start(waiter) for _ in range(5)]
    wait_until(lambda: _under(cond, lambda: waiting[0] == 5), what="five waiters")
    with cond:
        cond.notify(2)
    wait_until(lambda: _under(cond, lambda: woken[0] == 2), what="two wake-ups")
    with cond:
        assert woken[0] == 2
        cond.notify(0)
        cond.notify(-3)
        cond.notify_all()
    assert [worker.finish() for worker in workers] == [True] * 5


def _under(cond, predicate):
    with cond:
        return predicate()


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_condition_wait_for_returns_the_predicate_value(mod, kind):
    cond = _condition(mod, kind)
    box: list[int] = []
    with cond:
        assert cond.wait_for(lambda: box, 0.02) == []
        assert cond.wait_for(lambda: 7) == 7

    def producer():
        with cond:
            box.append(3)
            cond.notify_all()

    with cond:
        worker = start(producer)
        assert cond.wait_for(lambda: box, BOUND) == [3]
    worker.finish()


def test_condition_with_a_recursively_held_rlock_releases_it_fully(mod):
    lock = mod.RLock()
    cond = mod.Condition(lock)
    got_in = []

    def other():
        with cond:
            got_in.append(True)
            cond.notify()

    with lock, lock:
        worker = start(other)
        with cond:
            assert cond.wait_for(lambda: got_in, BOUND) == [True]
        assert lock._is_owned()
    worker.finish()
    assert not lock._is_owned()


def test_condition_repr_names_the_lock(mod):
    cond = mod.Condition(mod.Lock())
    assert repr(cond).startswith("<Condition(<unlocked ") and repr(cond).endswith(", 0)>")


def test_condition_notify_all_many_waiters_all_take_the_lock(mod):
    cond = mod.Condition(mod.Lock())
    state = {"go": False, "waiting": 0, "done": 0}

    def waiter():
        with cond:
            state["waiting"] += 1
            cond.wait_for(lambda: state["go"], BOUND)
            state["done"] += 1

    workers = [start(waiter) for _ in range(16)]
    wait_until(lambda: _under(cond, lambda: state["waiting"] == 16), what="16 waiters")
    with cond:
        state["go"] = True
        cond.notify_all()
    for worker in workers:
        worker.finish()
    assert state["done"] == 16


# --- Semaphore ---------------------------------------------------------------------------


def test_semaphore_counts(mod):
    sem = mod.Semaphore(2)
    assert sem.acquire() and sem.acquire()
    assert sem.acquire(False) is False
    assert sem.acquire(timeout=0) is False
    assert sem.acquire(timeout=-1) is False
    sem.release(2)
    assert sem.acquire(False) and sem.acquire(False) and not sem.acquire(False)
    sem.release()
    with sem as entered:
        assert entered is True
        assert sem.acquire(False) is False
    assert sem.acquire(False) is True


@pytest.mark.parametrize("kind", ["Semaphore", "BoundedSemaphore"])
def test_semaphore_rejects_bad_arguments(mod, kind):
    with pytest.raises(ValueError):
        getattr(mod, kind)(-1)
    sem = getattr(mod, kind)(0)
    with pytest.raises(ValueError):
        sem.acquire(False, 1)
    with pytest.raises(ValueError):
        sem.release(0)
    assert sem.acquire(False) is False


def test_semaphore_timeout_does_not_return_early(mod):
    sem = mod.Semaphore(0)
    result, elapsed = _elapsed(sem.acquire, timeout=0.05)
    assert result is False
    assert elapsed >= 0.05 - 0.001


def test_semaphore_release_n_wakes_n_waiters(mod):
    sem = mod.Semaphore(0)
    workers = [start(lambda: sem.acquire(timeout=BOUND)) for _ in range(4)]
    sem.release(3)
    sem.release()
    assert [worker.finish() for worker in workers] == [True] * 4
    assert sem.acquire(False) is False


def test_bounded_semaphore_refuses_too_many_releases_and_changes_nothing(mod):
    sem = mod.BoundedSemaphore(2)
    with pytest.raises(ValueError):
        sem.release()
    sem.acquire()
    with pytest.raises(ValueError):
        sem.release(2)
    sem.release()
    assert sem.acquire(False) and sem.acquire(False) and not sem.acquire(False)


def test_semaphore_reprs(mod):
    if not modern_repr(mod):
        pytest.skip("threading's repr before 3.11")
    name = public_name(mod)
    assert repr(mod.Semaphore(3)).startswith(f"<{name}.Semaphore at 0x")
    assert repr(mod.Semaphore(3)).endswith(": value=3>")
    sem = mod.BoundedSemaphore(3)
    sem.acquire()
    assert repr(sem).endswith(": value=2/3>")


def test_semaphore_bounds_concurrency(mod):
    sem, lock = mod.BoundedSemaphore(3), threading.Lock()
    inside, most = [0], [0]

    def work():
        for _ in range(300):
            with sem:
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                with lock:
                    inside[0] -= 1

    workers = [start(work) for _ in range(8)]
    for worker in workers:
        worker.finish()
    assert 1 <= most[0] <= 3
    assert inside[0] == 0


# --- Event -------------------------------------------------------------------------------


def test_event_set_clear_wait(mod):
    event = mod.Event()
    assert event.is_set() is False
    assert event.wait(0) is False
    assert event.wait(-1) is False
    result, elapsed = _elapsed(event.wait, 0.05)
    assert result is False and elapsed >= 0.05 - 0.001
    assert event.set() is None
    assert event.is_set() is True
    assert event.wait() is True
    assert event.wait(0) is True
    event.set()
    assert event.clear() is None
    assert event.is_set() is False


def test_event_set_wakes_every_waiter(mod):
    event = mod.Event()
    workers = [start(lambda: event.wait(BOUND)) for _ in range(10)]
    time.sleep(0.01)  # some block, some may not yet: both must return True
    event.set()
    assert [worker.finish() for worker in workers] == [True] * 10


def test_event_wait_is_not_woken_by_a_set_it_did_not_see(monkeypatch):
    """A wait that begins after the flag was cleared returns only for a later set().

    The set() before the clear must not wake it: that wake-up, arriving late (the setter
    preempted between raising the flag and waking the parked threads), made wait() return
    True on a clear flag; in a ping-pong on two events (bench's "compat: Event ping-pong",
    free-threaded 3.14) one side then ran a round ahead and both ended up waiting forever.
    The setter is held at its wake-up call here, so the interleaving is the same every run.
    """
    import parking_lot.raw.event as raw_event

    reached, go = threading.Event(), threading.Event()

    def gated(wake):
        def call(*args, **kwargs):
            reached.set()
            assert go.wait(BOUND), "the test never let the setter go on"
            return wake(*args, **kwargs)
        return call

    for name in ("unpark_all", "unpark_filter"):  # whichever wake-up set() uses
        if hasattr(raw_event, name):
            monkeypatch.setattr(raw_event, name, gated(getattr(raw_event, name)))
    event = compat.Event()
    setter = start(event.set)
    assert reached.wait(BOUND)
    if event.is_set():  # the flag went up before the wake-up: a consumer takes it, as a ping-pong does
        assert event.wait(0) is True
        event.clear()
    waiter = start(lambda: event.wait(BOUND))
    wait_until(lambda: core.parked_count(id(event)) == 1, what="the waiter parked")
    go.set()
    setter.finish()
    result = waiter.finish()
    # Nobody clears the flag after the waiter began: True is right only if a set() raised it since.
    assert result is event.is_set(), f"wait() returned {result} with the flag {event.is_set()}"


def test_event_huge_timeout_overflows_as_in_threading(mod):
    with pytest.raises(OverflowError):
        mod.Event().wait(TIMEOUT_MAX * 2)


def test_event_repr(mod):
    if not modern_repr(mod):
        pytest.skip("threading's repr before 3.11")
    event = mod.Event()
    assert repr(event).endswith(": unset>") and repr(event).startswith(f"<{public_name(mod)}.Event at 0x")
    event.set()
    assert repr(event).endswith(": set>")


# --- Barrier -----------------------------------------------------------------------------


def test_barrier_rejects_no_parties(mod):
    if mod is threading and sys.version_info < (3, 13):
        pytest.skip("threading.Barrier checks parties from 3.13 on (the version matched)")
    with pytest.raises(ValueError):
        mod.Barrier(0)


def test_barrier_indices_and_action_per_round(mod):
    actions = []
    barrier = mod.Barrier(4, action=lambda: actions.append(threading.get_ident()))
    assert barrier.parties == 4 and barrier.n_waiting == 0 and not barrier.broken

    def party():
        return [barrier.wait(BOUND) for _ in range(20)]

    workers = [start(party) for _ in range(4)]
    results = [worker.finish() for worker in workers]
    for round_index in range(20):
        assert sorted(result[round_index] for result in results) == [0, 1, 2, 3]
    assert len(actions) == 20
    assert barrier.n_waiting == 0 and not barrier.broken


def test_barrier_n_waiting_and_abort(mod):
    barrier = mod.Barrier(3)
    workers = [start(barrier.wait) for _ in range(2)]
    wait_until(lambda: barrier.n_waiting == 2, what="two waiters")
    assert repr(barrier).endswith(": waiters=2/3>") or not modern_repr(mod)
    barrier.abort()
    for worker in workers:
        with pytest.raises(threading.BrokenBarrierError):
            worker.finish()
    assert barrier.broken and barrier.n_waiting == 0
    assert repr(barrier).endswith(": broken>") or not modern_repr(mod)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait()
    barrier.reset()
    assert not barrier.broken
    workers = [start(barrier.wait) for _ in range(2)]
    assert barrier.wait(BOUND) in (0, 1, 2)
    for worker in workers:
        worker.finish()


def test_barrier_timeout_breaks_it(mod):
    barrier = mod.Barrier(2)
    started = time.monotonic()
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(0.05)
    assert time.monotonic() - started >= 0.05 - 0.001
    assert barrier.broken
    barrier.reset()
    default_timeout = mod.Barrier(2, timeout=0.02)
    with pytest.raises(threading.BrokenBarrierError):
        default_timeout.wait()
    with pytest.raises(threading.BrokenBarrierError):
        mod.Barrier(2).wait(-1)


def test_barrier_reset_breaks_the_current_waiters(mod):
    barrier = mod.Barrier(3)
    worker = start(barrier.wait)
    wait_until(lambda: barrier.n_waiting == 1, what="a waiter")
    barrier.reset()
    with pytest.raises(threading.BrokenBarrierError):
        worker.finish()
    assert not barrier.broken
    workers = [start(barrier.wait, BOUND) for _ in range(2)]
    barrier.wait(BOUND)
    for worker in workers:
        worker.finish()


def test_barrier_action_that_raises_breaks_it(mod):
    def action():
        raise ZeroDivisionError

    barrier = mod.Barrier(2, action=action)
    other = start(barrier.wait, BOUND)
    errors = []
    try:
        barrier.wait(BOUND)
    except BaseException as exc:
        errors.append(type(exc))
    try:
        other.finish()
    except BaseException as exc:
        errors.append(type(exc))
    assert sorted(e.__name__ for e in errors) == ["BrokenBarrierError", "ZeroDivisionError"]
    assert barrier.broken


def test_barrier_single_party_and_repr(mod):
    barrier = mod.Barrier(1)
    assert [barrier.wait() for _ in range(3)] == [0, 0, 0]
    if modern_repr(mod):
        assert repr(barrier).startswith(f"<{public_name(mod)}.Barrier at 0x") and repr(barrier).endswith("waiters=0/1>")


def test_broken_barrier_error_is_threadings():
    assert compat.BrokenBarrierError is threading.BrokenBarrierError


def test_barrier_no_parties_message_is_the_versions(mod):
    """The wording of threading's refusal changed across 3.13's patch releases and 3.14; ours says
    what the running version's says (and 3.13.0's wording where threading accepts 0 parties)."""
    try:
        threading.Barrier(0)
    except ValueError as exc:
        expected = str(exc)
    else:
        if mod is threading:
            pytest.skip("this threading.Barrier accepts 0 parties (checked from 3.13 on)")
        expected = "parties must be > 0"
    assert expected in ("parties must be > 0", "parties must be >= 1")
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        mod.Barrier(0)


# --- reprs: the public path --------------------------------------------------------------

PUBLIC_CLASSES = ["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Barrier"]


@pytest.mark.parametrize("name", PUBLIC_CLASSES)
def test_reprs_name_the_public_path(name):
    """``<parking_lot.Event at ...>``, the path users import, as threading's say ``threading.Event``.

    CPython's lock tests match ``<\\w+\\.Event at``: one word before the class name.
    """
    import re

    import parking_lot

    cls = getattr(compat, name)
    assert getattr(parking_lot, name) is cls
    obj = cls(1) if name in ("Semaphore", "BoundedSemaphore", "Barrier") else cls()
    assert f"parking_lot.{name} " in repr(obj)
    assert re.search(rf"\b(un)?locked parking_lot\.{name} object|<parking_lot\.{name} at 0x", repr(obj))


@pytest.mark.parametrize("name", PUBLIC_CLASSES)
def test_repr_of_a_subclass_names_its_own_module(mod, name):
    if mod is threading and name in ("Lock", "RLock"):
        pytest.skip("threading.RLock is a factory function; threading.Lock (_thread.lock) is no acceptable base")
    if not modern_repr(mod):
        pytest.skip("threading's repr before 3.11")
    sub = type(f"My{name}", (getattr(mod, name),), {})
    obj = sub(1) if name in ("Semaphore", "BoundedSemaphore", "Barrier") else sub()
    assert f"{__name__}.My{name} " in repr(obj)


# --- what 3.13, 3.14 and 3.15 added to or changed in threading's classes -----------------


def test_rlock_locked_exactly_where_threading_has_it(mod):
    """3.14 added ``RLock.locked()``: whether any thread holds it (the owner's recursion aside)."""
    assert hasattr(mod.RLock(), "locked") is (sys.version_info >= (3, 14))
    if sys.version_info < (3, 14):
        return
    lock = mod.RLock()
    assert lock.locked() is False
    lock.acquire()
    lock.acquire()
    assert lock.locked() is True
    assert start(lock.locked).finish() is True  # held by another thread: still locked
    lock.release()
    assert lock.locked() is True
    lock.release()
    assert lock.locked() is False


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_condition_locked_exactly_where_threading_has_it(mod, kind):
    """3.14's Condition exports its lock's ``locked`` (as it does acquire and release)."""
    cond = _condition(mod, kind)
    assert hasattr(cond, "locked") is (sys.version_info >= (3, 14))
    if sys.version_info < (3, 14):
        return
    assert cond.locked() is False
    with cond:
        assert cond.locked() is True
        assert start(cond.locked).finish() is True
    assert cond.locked() is False


def test_condition_on_a_lock_without_locked_fails_as_threadings(mod):
    """3.14's Condition reads ``lock.locked`` when made: a lock without it is an AttributeError there."""

    class Bare:
        def __init__(self):
            self._lock = threading.Lock()
            self.acquire = self._lock.acquire
            self.release = self._lock.release

        def __enter__(self):
            return self._lock.__enter__()

        def __exit__(self, *exc):
            return self._lock.__exit__(*exc)

    if sys.version_info >= (3, 14):
        with pytest.raises(AttributeError):
            mod.Condition(Bare())
    else:
        cond = mod.Condition(Bare())
        with cond:
            assert cond.wait(0.001) is False


def test_threading_condition_accepts_our_rlock_on_every_version():
    """3.14's threading.Condition(lock) reads lock.locked: ours must have it there."""
    lock = compat.RLock()
    cond = threading.Condition(lock)
    with cond:
        assert cond.wait(0.001) is False
        if sys.version_info >= (3, 14):
            assert cond.locked() is True


@pytest.mark.parametrize("args, kwargs", [((1,), {}), ((), {"x": 1}), ((1,), {"x": 2})])
def test_rlock_arguments_as_the_version_treats_them(mod, args, kwargs):
    """Ignored before 3.13, ignored with a DeprecationWarning on 3.13 and 3.14, a TypeError from 3.15."""
    import warnings

    if sys.version_info >= (3, 15):
        with pytest.raises(TypeError):
            mod.RLock(*args, **kwargs)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lock = mod.RLock(*args, **kwargs)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    if sys.version_info >= (3, 13):
        assert len(deprecations) == 1 and "removed in 3.15" in str(deprecations[0].message)
        assert deprecations[0].filename == __file__  # points at the caller, as threading's does
    else:
        assert deprecations == []
    assert lock.acquire(False) is True
    lock.release()


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_condition_release_save_and_acquire_restore(mod, kind):
    """threading's Condition hooks: release fully (however deep an RLock is held) and take it back."""
    cond = _condition(mod, kind)
    lock = cond._lock
    depth = 2 if "RLock" in kind or kind == "default" else 1
    for _ in range(depth):
        cond.acquire()
    saved = cond._release_save()
    assert start(lambda: lock.acquire(False) and (lock.release() or True)).finish() is True
    cond._acquire_restore(saved)
    assert cond._is_owned()
    for _ in range(depth):
        cond.release()
    assert start(lambda: lock.acquire(False) and (lock.release() or True)).finish() is True


# --- ours only: Ctrl-C and stress ------------------------------------------------------

main_thread_only = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="needs the main thread"
)


def _interrupt_when_parked(key, count=1):
    from parking_lot import core
    from conftest import sigint_main_thread

    def sender():
        wait_until(lambda: core.parked_count(key) >= count, what="the main thread to park")
        sigint_main_thread()

    return start(sender)


def _interrupted(key, blocking_call):
    from parking_lot import core

    sender = _interrupt_when_parked(key)
    with pytest.raises(KeyboardInterrupt):
        blocking_call()
    sender.finish()
    assert core.parked_count(key) == 0  # nobody stranded in the queue


@main_thread_only
def test_ctrl_c_in_lock_and_rlock_acquire_leaves_them_usable():
    lock = compat.Lock()
    lock.acquire()
    _interrupted(id(lock), lambda: lock.acquire(timeout=BOUND))
    assert not lock._raw._parked
    lock.release()
    assert lock.acquire(False)
    lock.release()

    rlock = compat.RLock()
    holder_go = threading.Event()
    holder = start(lambda: (rlock.acquire(), holder_go.wait(BOUND), rlock.release()))
    wait_until(lambda: rlock._count == 1, what="the holder")
    _interrupted(id(rlock._mutex), rlock.acquire)
    holder_go.set()
    holder.finish()
    assert rlock.acquire(timeout=BOUND) and not rlock._mutex._parked
    rlock.release()


@main_thread_only
@pytest.mark.parametrize("kind", ["default", "Lock", "RLock", "threading.Lock"])
def test_ctrl_c_in_condition_wait_holds_the_lock_again(kind):
    cond = _condition(compat, kind)
    with cond:
        _interrupted(cond._key, lambda: cond.wait(BOUND))
        assert cond._is_owned()
    assert not cond._is_owned()
    done = []
    worker = start(lambda: _under(cond, lambda: done.append(1) or True))
    assert worker.finish() is True and done == [1]


@main_thread_only
def test_ctrl_c_in_semaphore_event_and_barrier_waits_leaves_them_usable():
    sem = compat.Semaphore(0)
    _interrupted(id(sem), sem.acquire)
    sem.release()
    assert sem.acquire(timeout=BOUND)

    event = compat.Event()
    _interrupted(id(event), event.wait)
    start(event.set).finish()
    assert event.wait(BOUND)

    barrier = compat.Barrier(2)
    _interrupted(id(barrier), barrier.wait)
    assert barrier.n_waiting == 0 and not barrier.broken  # as threading: the party left, nothing broke
    other = start(barrier.wait, BOUND)
    assert barrier.wait(BOUND) in (0, 1)
    other.finish()


def test_stress_every_class_with_many_threads():
    """32 threads, timeouts racing releases: no lost update, no lost wake-up, no stranded waiter."""
    from parking_lot import core

    lock, rlock, sem = compat.Lock(), compat.RLock(), compat.BoundedSemaphore(4)
    cond = compat.Condition(compat.Lock())
    counter, cond_items = [0, 0, 0], []
    barrier = compat.Barrier(32)

    def work(index):
        for i in range(200):
            if lock.acquire(timeout=0.0005 if i % 7 == 0 else -1):
                counter[0] += 1
                lock.release()
            else:
                with lock:
                    counter[0] += 1
            with rlock:
                with rlock:
                    counter[1] += 1
            with sem:
                counter[2] += 0
            with cond:
                cond_items.append(index)
                cond.notify()
        barrier.wait(BOUND)
        with cond:
            cond.wait_for(lambda: len(cond_items) >= 32 * 200, BOUND)
        return True

    workers = [start(work, i) for i in range(32)]
    assert all(worker.finish() for worker in workers)
    assert counter[:2] == [32 * 200, 32 * 200]
    assert not lock.locked() and rlock._count == 0 and sem._value == 4
    for key in (id(lock), id(rlock._mutex), id(sem), id(barrier), cond._key):
        assert core.parked_count(key) == 0


def test_tiny_timeouts_behave_as_in_threading(mod):
    tiny = 1e-9
    lock = mod.Lock()
    lock.acquire()
    assert lock.acquire(timeout=tiny) is False
    rlock = mod.RLock()
    start(rlock.acquire).finish()
    assert rlock.acquire(timeout=tiny) is False
    cond = mod.Condition()
    with cond:
        assert cond.wait(tiny) is False
        assert cond.wait_for(lambda: False, tiny) is False
    assert mod.Semaphore(0).acquire(timeout=tiny) is False
    assert mod.Event().wait(tiny) is False
    barrier = mod.Barrier(2)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(tiny)
    assert barrier.broken


@pytest.mark.parametrize("timeout", [TIMEOUT_MAX * 2, 1e300])
def test_huge_wait_timeouts_overflow_as_in_threading(mod, timeout):
    cond = mod.Condition()
    with cond:
        with pytest.raises(OverflowError):
            cond.wait(timeout)
        assert cond._is_owned()
    with pytest.raises(OverflowError):
        mod.Semaphore(0).acquire(timeout=timeout)
    with pytest.raises(OverflowError):
        mod.Event().wait(timeout)


def test_lock_has_threading_names_only():
    """A threading.Lock drop-in does not grow RawMutex's Rust names (lock, unlock, bump, ...);
    besides threading's names it has only their awaitable twins (issue 17: ``m`` -> ``m_async``)."""
    ours = {name for name in dir(compat.Lock()) if not name.startswith("_")}
    theirs = {name for name in dir(threading.Lock()) if not name.startswith("_")}
    twins = {f"{name}_async" for name in theirs}
    assert ours - twins <= theirs, sorted(ours - twins - theirs)
    assert ours & twins == {"acquire_async"}
    assert {"acquire", "release", "locked"} <= ours
