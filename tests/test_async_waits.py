"""The waits' awaitable twins (``m_async``): threads and asyncio tasks on the same RawEvent,
RawSemaphore, Condvar, RawBarrier and Once, and on the faces built on them.

As in tests/test_async_locks.py: every event loop runs its body under
``asyncio.wait_for(..., BOUND)`` and every thread is joined with a bound, so a lost wake-up
fails a test instead of hanging it; cancellation is injected at every await point by
cancelling after k event-loop iterations, for k = 0, 1, 2, ... until the wait completes
before the cancel, and each run ends with the invariants (nothing lost, nobody parked).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conftest import BOUND, start
from async_helpers import cancelled, run, until, parked_on
from parking_lot import Condvar as FaceCondvar
from parking_lot import Mutex, compat, core
from parking_lot.core import TimedOut, Unparked
from parking_lot.raw import Condvar, RawBarrier, RawEvent, RawMutex, RawSemaphore
from parking_lot.raw.once import Once, OnceState, PoisonError
from parking_lot.raw.mutex import TOKEN_HANDOFF, TOKEN_NORMAL

NS = 1_000_000_000


def bound_ns() -> int:
    return time.monotonic_ns() + int(BOUND * NS)


def acquired_in_time(sem: RawSemaphore) -> bool:
    """A thread's acquire that counts only if a release woke it: True if it took a unit
    before its deadline (after the deadline it would take a unit left unused)."""
    until_ns = bound_ns()
    return sem.acquire(until_ns) and time.monotonic_ns() < until_ns


def run_threads_and_loops(thread_work: Callable[[], None], task_work: Callable[[], Awaitable[None]],
                          threads: int, tasks_per_loop: int, loops: int) -> None:
    """*threads* threads run thread_work, *loops* loops (one in this thread) run *tasks_per_loop* task_work tasks."""

    async def loop_body() -> None:
        await asyncio.gather(*(task_work() for _ in range(tasks_per_loop)))

    workers = [start(thread_work) for _ in range(threads)]
    workers += [start(run, loop_body) for _ in range(loops - 1)]
    run(loop_body)
    for worker in workers:
        worker.finish()


# --- RawEvent.wait_async ----------------------------------------------------------------------------


def test_event_wait_async_results_and_timeouts_never_early():
    async def body():
        event = RawEvent()
        started = time.monotonic_ns()
        assert await event.wait_async(started + NS // 20) is False
        assert time.monotonic_ns() - started >= NS // 20
        assert await event.wait_async(0) is False  # a past deadline only looks
        assert parked_on(event._key) == 0
        event.set()
        assert await event.wait_async(None) is True
        assert await event.wait_async(0) is True

    run(body)


def test_event_thread_wakes_task_and_task_wakes_thread():
    async def body():
        event = RawEvent()
        task = asyncio.ensure_future(event.wait_async(bound_ns()))
        await until(lambda: parked_on(event._key) == 1, "the task to park")
        start(event.set).finish()  # a thread sets
        assert await task is True
        event.clear()
        thread = start(lambda: event.wait(bound_ns()))
        await until(lambda: parked_on(event._key) == 1, "the thread to park")
        event.set()  # a task sets
        assert thread.finish() is True
        assert parked_on(event._key) == 0

    run(body)


def test_event_cancellation_leaves_the_queue_and_loses_no_wake_up():
    """A cancelled waiter leaves nothing parked; one cancelled after set() does not keep
    the set from the thread waiting behind it."""

    async def once(k: int) -> bool:
        event = RawEvent()
        task = asyncio.ensure_future(event.wait_async(None))
        await until(lambda: parked_on(event._key) == 1, "the task to park")
        thread = start(lambda: event.wait(bound_ns()))
        await until(lambda: parked_on(event._key) == 2, "the thread to park")
        completed_first = False
        for step in range(k + 2):
            if step == 1:
                event.set()
            if step == k:
                completed_first = task.done()
                task.cancel()
            await asyncio.sleep(0)
        was_cancelled = await cancelled(task)
        assert was_cancelled != completed_first
        assert thread.finish() is True
        assert parked_on(event._key) == 0
        return completed_first

    async def body():
        for k in range(20):
            if await once(k):
                return
        pytest.fail("the wait never completed before the cancel")

    run(body)


@pytest.mark.parametrize("loops", [1, 2])
def test_event_mixed_stress(loops):
    """Rounds: every thread and task waits for the round's event; the last to arrive sets it.
    Nobody may miss a set (each wait has the bound and must return True)."""
    rounds = 60
    threads, tasks_per_loop = 2, 3
    parties = threads + tasks_per_loop * loops
    events = [RawEvent() for _ in range(rounds)]
    arrived = [0] * rounds
    count_lock = threading.Lock()
    failures: list[int] = []

    def arrive(index: int) -> None:
        with count_lock:
            arrived[index] += 1
            last = arrived[index] == parties
        if last:
            events[index].set()

    def thread_work() -> None:
        for index in range(rounds):
            arrive(index)
            if not events[index].wait(bound_ns()):
                failures.append(index)

    async def task_work() -> None:
        for index in range(rounds):
            arrive(index)
            if not await events[index].wait_async(bound_ns()):
                failures.append(index)

    run_threads_and_loops(thread_work, task_work, threads, tasks_per_loop, loops)
    assert failures == [] and arrived == [parties] * rounds
    assert all(parked_on(event._key) == 0 for event in events)


# --- RawSemaphore.acquire_async ---------------------------------------------------------------------


def test_semaphore_acquire_async_results_and_timeouts_never_early():
    async def body():
        sem = RawSemaphore(1)
        assert await sem.acquire_async(None) is True
        assert sem.value == 0
        started = time.monotonic_ns()
        assert await sem.acquire_async(started + NS // 20) is False
        assert time.monotonic_ns() - started >= NS // 20
        assert await sem.acquire_async(0) is False
        assert sem.value == 0 and parked_on(sem._key) == 0 and not sem._parked

    run(body)


def test_semaphore_thread_wakes_task_and_task_wakes_thread():
    async def body():
        sem = RawSemaphore(0)
        task = asyncio.ensure_future(sem.acquire_async(bound_ns()))
        await until(lambda: parked_on(sem._key) == 1, "the task to park")
        start(sem.release).finish()
        assert await task is True
        thread = start(lambda: sem.acquire(bound_ns()))
        await until(lambda: parked_on(sem._key) == 1, "the thread to park")
        sem.release()
        assert thread.finish() is True
        assert sem.value == 0 and parked_on(sem._key) == 0

    run(body)


@pytest.mark.parametrize("release_at", [0, 1, 2])
def test_semaphore_cancellation_at_every_await_point_loses_no_unit(release_at):
    """A task waits for a unit, a thread waits behind it; one unit is released after
    *release_at* loop iterations and the task cancelled after k.  The unit goes to the task
    (not cancelled) or to the thread: the thread never waits on an unused unit."""
    endings: set[object] = set()

    async def once(k: int) -> bool:
        sem = RawSemaphore(0)
        got: list[bool] = []

        async def waiter() -> None:
            try:
                await sem.acquire_async(None)
            except asyncio.CancelledError as exc:
                endings.add(core.interrupted_result(exc))
                raise
            got.append(True)
            sem.release()

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_on(sem._key) == 1, "the task to park")
        thread = start(acquired_in_time, sem)
        await until(lambda: parked_on(sem._key) == 2, "the thread to park")
        completed_first = False
        for step in range(max(k, release_at) + 1):
            if step == release_at:
                sem.release()
            if step == k:
                completed_first = task.done()
                task.cancel()
            await asyncio.sleep(0)
        was_cancelled = await cancelled(task)
        assert was_cancelled != bool(got)
        assert thread.finish() is True, "the thread behind the cancelled task never got the unit"
        assert sem.value == 0 and parked_on(sem._key) == 0
        return completed_first

    async def body():
        for k in range(50):
            if await once(k):
                return k
        pytest.fail("the wait never completed before the cancel")

    assert run(body) >= release_at
    assert Unparked(0) in endings  # woken by the release, then cancelled: the unit was passed on
    if release_at:
        assert TimedOut in endings


def test_semaphore_interrupted_thread_passes_the_wake_up_on(monkeypatch):
    """The thread counterpart: a thread woken by release() whose park then raises (as Ctrl-C
    would) wakes the next waiter in its place."""
    sem = RawSemaphore(0)
    import parking_lot.raw.semaphore as module

    real_park = module.park
    first = threading.Event()

    def park_then_raise(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name != "interrupted":
            return real_park(*args, **kwargs)
        result = real_park(*args, **kwargs)
        exc = KeyboardInterrupt()
        setattr(exc, core._park._RESULT_ATTRIBUTE, result)  # as park's exception path records it
        raise exc

    monkeypatch.setattr(module, "park", park_then_raise)
    outcome: list[str] = []

    def interrupted() -> None:
        first.set()
        try:
            sem.acquire(bound_ns())
        except KeyboardInterrupt:
            outcome.append("interrupted")

    a = start(interrupted, name="interrupted")
    from conftest import wait_until
    wait_until(lambda: parked_on(sem._key) == 1, what="the first thread to park")
    b = start(acquired_in_time, sem)
    wait_until(lambda: parked_on(sem._key) == 2, what="the second thread to park")
    sem.release()
    a.finish()
    assert b.finish() is True and outcome == ["interrupted"]
    assert sem.value == 0 and parked_on(sem._key) == 0


@pytest.mark.parametrize("loops", [1, 2])
def test_semaphore_mixed_stress(loops):
    """Threads and tasks take and give back units of a 2-unit semaphore: never more than 2
    holders at once, every acquire succeeds, the count ends where it started."""
    rounds = 200
    sem = RawSemaphore(2)
    holders = [0]
    most = [0]
    count_lock = threading.Lock()
    failures: list[str] = []

    def enter() -> None:
        with count_lock:
            holders[0] += 1
            most[0] = max(most[0], holders[0])

    def leave() -> None:
        with count_lock:
            holders[0] -= 1
        sem.release()

    def thread_work() -> None:
        for _ in range(rounds):
            if not sem.acquire(bound_ns()):
                failures.append("thread")
                return
            enter()
            leave()

    async def task_work() -> None:
        for _ in range(rounds):
            if not await sem.acquire_async(bound_ns()):
                failures.append("task")
                return
            enter()
            await asyncio.sleep(0)
            leave()

    run_threads_and_loops(thread_work, task_work, threads=2, tasks_per_loop=3, loops=loops)
    assert failures == [] and holders == [0] and 1 <= most[0] <= 2
    assert sem.value == 2 and parked_on(sem._key) == 0


# --- Condvar.wait_raw_async / wait_while_raw_async --------------------------------------------------


def test_condvar_wait_raw_async_results_and_timeouts_never_early():
    async def body():
        m, cv = RawMutex(), Condvar()
        await m.lock_async()
        started = time.monotonic()
        assert (await cv.wait_raw_async(m, timeout=0.05)).timed_out
        assert time.monotonic() - started >= 0.05 and m.is_locked()
        started = time.monotonic()
        assert (await cv.wait_raw_async(m, deadline=started + 0.03)).timed_out
        assert time.monotonic() - started >= 0.03
        assert (await cv.wait_raw_async(m, deadline_ns=time.monotonic_ns())).timed_out
        assert (await cv.wait_while_raw_async(m, lambda: True, 0.02)).timed_out
        assert not (await cv.wait_while_raw_async(m, lambda: False, 0.02)).timed_out
        for bad, error in [(-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError)]:
            with pytest.raises(error):
                await cv.wait_raw_async(m, timeout=bad)  # type: ignore[arg-type]
            assert m.is_locked()
        with pytest.raises(TypeError):
            await cv.wait_raw_async(m, 1.0, deadline_ns=time.monotonic_ns())
        other = RawMutex()
        waiter = start(lambda: (other.lock(), cv.wait_raw(other, timeout=BOUND), other.unlock()))
        await until(lambda: parked_on(cv._key) == 1, "a thread to wait with another mutex")
        with pytest.raises(RuntimeError):
            await cv.wait_raw_async(m, timeout=1.0)
        assert m.is_locked()
        cv.notify_all()
        waiter.finish()
        m.unlock()
        assert parked_on(cv._key) == 0 and cv._mutex is None

    run(body)


@pytest.mark.parametrize("notifier_holds", [False, True])
def test_condvar_thread_notifies_task_and_task_notifies_thread(notifier_holds):
    """Both ways, with the notifier holding the mutex (the waiter is requeued onto its queue
    and woken by the unlock) or not (woken at once)."""

    async def body():
        m, cv = RawMutex(), Condvar()

        async def task_waits() -> bool:
            async with m:
                result = await cv.wait_raw_async(m, timeout=BOUND)
                assert m.is_locked()
                return result.timed_out

        task = asyncio.ensure_future(task_waits())
        await until(lambda: parked_on(cv._key) == 1, "the task to wait")

        def thread_notifies() -> bool:
            if notifier_holds:
                with m:
                    return cv.notify_one()
            return cv.notify_one()

        assert start(thread_notifies).finish() is True
        assert await task is False

        def thread_waits() -> bool:
            with m:
                return cv.wait_raw(m, timeout=BOUND).timed_out

        thread = start(thread_waits)
        await until(lambda: parked_on(cv._key) == 1, "the thread to wait")
        if notifier_holds:
            async with m:
                assert cv.notify_one()
        else:
            assert cv.notify_one()
        assert thread.finish() is False
        assert not m.is_locked() and parked_on(cv._key) == 0 and parked_on(m._key) == 0

    run(body)


@pytest.mark.parametrize("fair", [False, True])
def test_condvar_notify_all_requeues_tasks_and_threads_onto_the_mutex(fair):
    """notify_all with the mutex held moves every waiter, task or thread, onto the mutex's
    queue; each unlock then wakes (or, fair, hands the mutex to) the next, tasks as threads."""

    async def body():
        m, cv = RawMutex(), Condvar()
        order: list[str] = []

        def unlock() -> None:
            m.unlock_fair() if fair else m.unlock()

        async def task_waits(name: str) -> None:
            await m.lock_async()
            assert not (await cv.wait_raw_async(m, timeout=BOUND)).timed_out
            order.append(name)
            unlock()

        def thread_waits() -> None:
            m.lock()
            assert not cv.wait_raw(m, timeout=BOUND).timed_out
            order.append("thread")
            unlock()

        first = asyncio.ensure_future(task_waits("task 1"))
        await until(lambda: parked_on(cv._key) == 1, "the first task to wait")
        thread = start(thread_waits)
        await until(lambda: parked_on(cv._key) == 2, "the thread to wait")
        second = asyncio.ensure_future(task_waits("task 2"))
        await until(lambda: parked_on(cv._key) == 3, "the second task to wait")
        await m.lock_async()
        assert cv.notify_all() == 3
        assert parked_on(cv._key) == 0 and parked_on(m._key) == 3  # all requeued, none woken
        m.unlock_fair() if fair else m.unlock()
        await asyncio.gather(first, second)
        thread.finish()
        assert sorted(order) == ["task 1", "task 2", "thread"]
        if fair:
            assert order == ["task 1", "thread", "task 2"]  # handed over in queue order
        assert not m.is_locked() and parked_on(m._key) == 0 and cv._mutex is None

    run(body)


@pytest.mark.parametrize("mode", ["free", "held", "held_fair", "grabbed"])
def test_condvar_cancellation_at_every_await_point_loses_no_notify(mode):
    """A task waits on the condvar, a thread waits behind it; one notify_one comes after
    *notify_at* loop iterations -- with the mutex free (the task is woken), held (requeued,
    then woken by the unlock), held and unlocked fairly (handed the mutex), or free but taken
    right after (the task's re-lock parks) -- and the task is cancelled after k.  Always: the
    cancelled task holds the mutex when CancelledError reaches it, and the thread gets a
    notification -- the task's, passed on, if the task was cancelled after it -- with nothing
    left parked and the mutex free at the end."""
    notify_at = 1
    endings: set[object] = set()
    on_the_mutex: list[bool] = []  # cancelled while parked on the mutex's queue (requeued, or re-locking)

    async def once(k: int) -> bool:
        m, cv = RawMutex(), Condvar()
        holds_when_cancelled: list[bool] = []

        async def waiter() -> None:
            await m.lock_async()
            try:
                await cv.wait_raw_async(m)
            except asyncio.CancelledError as exc:
                ended = core.interrupted_result(exc)
                endings.add(ended)
                holds_when_cancelled.append(m.is_locked())
                raise
            finally:
                m.unlock()

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_on(cv._key) == 1, "the task to wait")

        def thread_waits() -> bool:
            with m:
                return cv.wait_raw(m, timeout=BOUND).timed_out

        thread = start(thread_waits)
        await until(lambda: parked_on(cv._key) == 2, "the thread to wait")
        completed_first = False
        unlock_at = {"held": notify_at + 1, "held_fair": notify_at + 1, "grabbed": notify_at + 2}.get(mode)
        for step in range(max(k, (unlock_at or notify_at)) + 1):
            if step == notify_at:
                if mode.startswith("held"):
                    assert m.try_lock()
                assert cv.notify_one()
                if mode == "grabbed":
                    assert m.try_lock()
            if step == unlock_at:
                m.unlock_fair() if mode == "held_fair" else m.unlock()
            if step == k:
                completed_first = task.done()
                on_the_mutex.append(parked_on(m._key) == 1)
                task.cancel()
            await asyncio.sleep(0)
        was_cancelled = await cancelled(task)
        assert holds_when_cancelled == ([True] if was_cancelled else [])
        if not was_cancelled:
            async with m:
                cv.notify_one()  # the task consumed the notify: one for the thread
        assert thread.finish() is False, "the thread never got a notification"
        assert not m.is_locked() and parked_on(cv._key) == 0 and parked_on(m._key) == 0
        assert cv._mutex is None
        return completed_first

    async def body():
        for k in range(60):
            if await once(k):
                return k
        pytest.fail("the wait never completed before the cancel")

    assert run(body) >= notify_at
    assert TimedOut in endings  # cancelled on the condvar's queue before the notify
    if mode == "free":
        assert Unparked(TOKEN_NORMAL) in endings  # notified, then cancelled: passed on
    if mode == "held_fair":
        assert Unparked(TOKEN_HANDOFF) in endings  # handed the mutex, then cancelled
    if mode != "free":
        assert any(on_the_mutex)  # requeued (held), or re-locking after the wake-up (grabbed)


@pytest.mark.parametrize("loops", [1, 2])
def test_condvar_mixed_stress_producers_and_consumers(loops):
    """Threads and tasks (on one and two loops) produce into and consume from one queue
    under one RawMutex with one Condvar: every item consumed exactly once, no consumer
    waits out its bound (no lost notify)."""
    m, cv = RawMutex(), Condvar()
    per_producer = 60
    producer_threads, producer_tasks = 1, 1
    total = per_producer * (producer_threads + producer_tasks * loops)
    queue: list[tuple[str, int]] = []
    consumed: list[tuple[str, int]] = []
    failures: list[str] = []
    names = iter(range(1000))
    names_lock = threading.Lock()

    def new_name() -> str:
        with names_lock:
            return f"p{next(names)}"

    def take_one_locked() -> bool | None:
        """With m held: True (took one), False (all done), None (must wait)."""
        if len(consumed) == total:
            return False
        if queue:
            consumed.append(queue.pop(0))
            if len(consumed) == total:
                cv.notify_all()  # let the other consumers see the end
            return True
        return None

    def thread_producer() -> None:
        name = new_name()
        for index in range(per_producer):
            with m:
                queue.append((name, index))
                cv.notify_one()

    def thread_consumer() -> None:
        while True:
            with m:
                while (took := take_one_locked()) is None:
                    if cv.wait_raw(m, timeout=BOUND).timed_out:
                        failures.append("thread consumer timed out")
                        return
                if not took:
                    return

    async def task_producer() -> None:
        name = new_name()
        for index in range(per_producer):
            async with m:
                queue.append((name, index))
                cv.notify_one()
            await asyncio.sleep(0)

    async def task_consumer() -> None:
        while True:
            async with m:
                while (took := take_one_locked()) is None:
                    if (await cv.wait_raw_async(m, timeout=BOUND)).timed_out:
                        failures.append("task consumer timed out")
                        return
                if not took:
                    return

    async def loop_body() -> None:
        await asyncio.gather(task_producer(), task_consumer(), task_consumer())

    workers = [start(thread_consumer), start(thread_producer)]
    workers += [start(run, loop_body) for _ in range(loops - 1)]
    run(loop_body)
    for worker in workers:
        worker.finish()
    assert failures == []
    assert sorted(consumed) == sorted({*consumed}) and len(consumed) == total and queue == []
    assert not m.is_locked() and parked_on(cv._key) == 0 and parked_on(m._key) == 0


def test_condvar_interrupted_thread_passes_the_notify_on(monkeypatch):
    """The thread counterpart: a thread notified and then interrupted (as by Ctrl-C) holds
    the mutex again when the exception leaves, and its notify goes to the next waiter."""
    import parking_lot.raw.condvar as module

    m, cv = RawMutex(), Condvar()
    real_park = module.park

    def park_then_raise(*args: Any, **kwargs: Any) -> Any:
        result = real_park(*args, **kwargs)
        if threading.current_thread().name == "interrupted":
            exc = KeyboardInterrupt()
            setattr(exc, core._park._RESULT_ATTRIBUTE, result)  # as park's exception path records it
            raise exc
        return result

    monkeypatch.setattr(module, "park", park_then_raise)
    held: list[bool] = []

    def interrupted() -> None:
        m.lock()
        try:
            cv.wait_raw(m, timeout=BOUND)
        except KeyboardInterrupt:
            held.append(m.is_locked())
        m.unlock()

    def waits() -> bool:
        with m:
            return cv.wait_raw(m, timeout=BOUND).timed_out

    from conftest import wait_until
    a = start(interrupted, name="interrupted")
    wait_until(lambda: parked_on(cv._key) == 1, what="the first thread to wait")
    b = start(waits)
    wait_until(lambda: parked_on(cv._key) == 2, what="the second thread to wait")
    assert cv.notify_one()
    a.finish()
    assert held == [True]
    assert b.finish() is False, "the notify was lost with the interrupted thread"
    assert not m.is_locked() and parked_on(cv._key) == 0


# --- RawBarrier.wait_async --------------------------------------------------------------------------


def test_barrier_tasks_and_threads_in_one_round_both_ways():
    """A round of a thread and a task: the task last (it runs the action and lets the thread
    go) and the thread last (it wakes the task)."""

    async def body():
        actions: list[str] = []
        barrier = RawBarrier(2, action=lambda: actions.append(threading.current_thread().name))
        thread = start(lambda: barrier.wait(bound_ns()), name="the thread")
        await until(lambda: barrier.n_waiting == 1 and parked_on(barrier._key) == 1, "the thread to wait")
        mine = await barrier.wait_async(bound_ns())
        assert sorted([mine, thread.finish()]) == [0, 1] and mine == 1
        task = asyncio.ensure_future(barrier.wait_async(bound_ns()))
        await until(lambda: parked_on(barrier._key) == 1, "the task to wait")
        assert start(lambda: barrier.wait(bound_ns()), name="the thread").finish() == 1
        assert await task == 0
        assert actions == [threading.main_thread().name, "the thread"]
        assert barrier.n_waiting == 0 and not barrier.broken and parked_on(barrier._key) == 0

    run(body)


def test_barrier_wait_async_deadline_never_early_breaks_and_abort_reset():
    async def body():
        barrier = RawBarrier(2)
        started = time.monotonic_ns()
        with pytest.raises(threading.BrokenBarrierError):
            await barrier.wait_async(started + NS // 20)
        assert time.monotonic_ns() - started >= NS // 20
        assert barrier.broken and parked_on(barrier._key) == 0
        with pytest.raises(threading.BrokenBarrierError):
            await barrier.wait_async()
        barrier.reset()
        with pytest.raises(TypeError):
            await barrier.wait_async(1.5)  # type: ignore[arg-type]
        assert barrier.n_waiting == 0
        task = asyncio.ensure_future(barrier.wait_async())
        await until(lambda: parked_on(barrier._key) == 1, "the task to wait")
        start(barrier.abort).finish()
        with pytest.raises(threading.BrokenBarrierError):
            await task
        barrier.reset()
        failing = RawBarrier(1, action=lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            await failing.wait_async()
        assert failing.broken

    run(body)


def test_barrier_an_arrival_while_the_action_runs_awaits_the_next_round():
    """A task that arrives while a thread runs the round's action waits (without blocking its
    loop) for the next round, then counts in it."""

    async def body():
        in_action = threading.Event()
        go_on = threading.Event()
        barrier = RawBarrier(1, action=lambda: (in_action.set(), go_on.wait(BOUND)))
        thread = start(lambda: barrier.wait(bound_ns()))
        await until(in_action.is_set, "the action to run")
        task = asyncio.ensure_future(barrier.wait_async(bound_ns()))
        await until(lambda: parked_on(barrier._key) == 1, "the task to wait for the next round")
        go_on.set()
        assert thread.finish() == 0
        assert await task == 0  # its own round of one: it ran the action too
        assert parked_on(barrier._key) == 0

    run(body)


def test_barrier_cancellation_at_every_await_point_leaves_the_round():
    """Two tasks and a thread in a round of 3; the first task is cancelled after k loop
    iterations while the round fills.  Cancelled before the round passed, it no longer counts
    (another arrival completes the round; the barrier is not broken); the others pass, nobody
    stays parked."""
    ways: set[tuple[bool, int]] = set()

    async def once(k: int) -> bool:
        barrier = RawBarrier(3)
        first = asyncio.ensure_future(barrier.wait_async(bound_ns()))
        await until(lambda: parked_on(barrier._key) == 1, "the first task to wait")
        thread = start(lambda: barrier.wait(bound_ns()))
        await until(lambda: parked_on(barrier._key) == 2, "the thread to wait")
        second: asyncio.Future[int] | None = None
        completed_first = False
        for step in range(k + 2):
            if step == 1:
                second = asyncio.ensure_future(barrier.wait_async(bound_ns()))
            if step == k:
                completed_first = first.done()
                first.cancel()
            await asyncio.sleep(0)
        assert second is not None
        was_cancelled = await cancelled(first)
        ways.add((was_cancelled, barrier.n_waiting))
        if was_cancelled and barrier.n_waiting == 2:
            # Cancelled before the round passed: it left (the thread and the second task
            # count, the barrier is not broken), and one more arrival completes the round.
            assert not barrier.broken
            assert await barrier.wait_async(bound_ns()) == 2
        results = [thread.finish(), await second]  # both passed (no BrokenBarrierError)
        assert all(0 <= index < 3 for index in results)
        assert not barrier.broken and barrier.n_waiting == 0 and parked_on(barrier._key) == 0
        return completed_first

    async def body():
        for k in range(30):
            if await once(k):
                return
        pytest.fail("the wait never completed before the cancel")

    run(body)
    assert (True, 2) in ways  # cancelled while the round filled: it left the round
    assert (True, 0) in ways  # cancelled once the round had passed: it still counted


@pytest.mark.parametrize("loops", [1, 2])
def test_barrier_mixed_stress(loops):
    """Threads and tasks pass one barrier round after round: each round hands out every index
    once and runs the action once."""
    rounds = 40
    threads, tasks_per_loop = 2, 2
    parties = threads + tasks_per_loop * loops
    actions = [0]
    indices: list[int] = []
    record = threading.Lock()
    barrier = RawBarrier(parties, action=lambda: actions.__setitem__(0, actions[0] + 1))

    def note(index: int) -> None:
        with record:
            indices.append(index)

    def thread_work() -> None:
        for _ in range(rounds):
            note(barrier.wait(bound_ns()))

    async def task_work() -> None:
        for _ in range(rounds):
            note(await barrier.wait_async(bound_ns()))

    run_threads_and_loops(thread_work, task_work, threads, tasks_per_loop, loops)
    assert actions == [rounds]
    assert sorted(indices) == sorted(list(range(parties)) * rounds)
    assert not barrier.broken and parked_on(barrier._key) == 0


# --- Once.call_once_async / call_once_force_async ---------------------------------------------------


def test_once_a_task_waits_for_a_thread_run_without_blocking_its_loop():
    async def body():
        once = Once()
        calls: list[str] = []
        in_fn = threading.Event()
        go_on = threading.Event()

        def slow() -> None:
            in_fn.set()
            assert go_on.wait(BOUND)
            calls.append("thread")

        thread = start(once.call_once, slow)
        await until(in_fn.is_set, "the thread to run the function")
        task = asyncio.ensure_future(once.call_once_async(lambda: calls.append("task")))
        await until(lambda: parked_on(once._key) == 1, "the task to wait")
        ticks = 0
        while ticks < 5:  # the loop runs other work meanwhile
            await asyncio.sleep(0)
            ticks += 1
        assert not task.done() and once.state is OnceState.InProgress
        go_on.set()
        thread.finish()
        await task
        assert calls == ["thread"] and once.state.done and parked_on(once._key) == 0

    run(body)


def test_once_a_thread_waits_for_a_task_run():
    async def body():
        once = Once()
        calls: list[str] = []
        thread: list[Any] = []

        def in_task() -> None:
            thread.append(start(once.call_once, lambda: calls.append("thread")))
            # The function runs in the task: the thread finds it running and parks.
            from conftest import wait_until
            wait_until(lambda: parked_on(once._key) == 1, what="the thread to wait")
            calls.append("task")

        await once.call_once_async(in_task)
        thread[0].finish()
        assert calls == ["task"] and once.is_completed() and parked_on(once._key) == 0

    run(body)


def test_once_poisoning_and_force_async():
    async def body():
        once = Once()
        with pytest.raises(ZeroDivisionError):
            await once.call_once_async(lambda: 1 / 0)
        assert once.state.poisoned
        with pytest.raises(PoisonError):
            await once.call_once_async(lambda: None)
        states: list[OnceState] = []
        await once.call_once_force_async(states.append)
        assert states == [OnceState.Poisoned] and once.state.done
        await once.call_once_force_async(states.append)  # done: not run again
        assert states == [OnceState.Poisoned]
        # a task waiting on a run that raises gets PoisonError
        fresh = Once()
        in_fn = threading.Event()
        go_on = threading.Event()

        def raising() -> None:
            in_fn.set()
            assert go_on.wait(BOUND)
            raise KeyError("boom")

        def thread_runs() -> str:
            try:
                fresh.call_once(raising)
            except KeyError:
                return "raised"
            return "returned"

        thread = start(thread_runs)
        await until(in_fn.is_set, "the thread to run the function")
        task = asyncio.ensure_future(fresh.call_once_async(lambda: None))
        await until(lambda: parked_on(fresh._key) == 1, "the task to wait")
        go_on.set()
        assert thread.finish() == "raised"
        with pytest.raises(PoisonError):
            await task
        assert parked_on(fresh._key) == 0

    run(body)


def test_once_cancellation_at_every_await_point():
    """A task waits for a thread's run and is cancelled after k loop iterations; the run ends
    after 1.  Nothing stays parked, the function ran once, and a later call returns at once."""

    async def once_with(k: int) -> bool:
        once = Once()
        calls: list[str] = []
        in_fn = threading.Event()
        go_on = threading.Event()
        thread = start(once.call_once, lambda: (in_fn.set(), go_on.wait(BOUND), calls.append("thread")))
        await until(in_fn.is_set, "the thread to run the function")
        task = asyncio.ensure_future(once.call_once_async(lambda: calls.append("task")))
        await until(lambda: parked_on(once._key) == 1, "the task to wait")
        completed_first = False
        for step in range(k + 1):
            if step == 1:
                go_on.set()
                await asyncio.get_running_loop().run_in_executor(None, thread.finish)
            if step == k:
                completed_first = task.done()
                task.cancel()
            await asyncio.sleep(0)
        go_on.set()
        await cancelled(task)
        thread.finish()
        await once.call_once_async(lambda: calls.append("later"))
        assert calls == ["thread"] and once.state.done and parked_on(once._key) == 0
        return completed_first

    async def body():
        for k in range(30):
            if await once_with(k):
                return
        pytest.fail("the wait never completed before the cancel")

    run(body)


@pytest.mark.parametrize("loops", [1, 2])
def test_once_mixed_stress(loops):
    """Threads and tasks race on a series of Onces: each function runs exactly once, everyone
    returns after it ran."""
    onces = [Once() for _ in range(100)]
    runs = [0] * len(onces)
    failures: list[int] = []
    count_lock = threading.Lock()

    def fn(index: int) -> Callable[[], None]:
        def body() -> None:
            with count_lock:
                runs[index] += 1
        return body

    def thread_work() -> None:
        for index, once in enumerate(onces):
            once.call_once(fn(index))
            if runs[index] != 1:
                failures.append(index)

    async def task_work() -> None:
        for index, once in enumerate(onces):
            await once.call_once_async(fn(index))
            if runs[index] != 1:
                failures.append(index)
            await asyncio.sleep(0)

    run_threads_and_loops(thread_work, task_work, threads=2, tasks_per_loop=3, loops=loops)
    assert failures == [] and runs == [1] * len(onces)
    assert all(parked_on(once._key) == 0 for once in onces)


# --- the faces: Condvar (with Mutex guards) ---------------------------------------------------------


@pytest.mark.parametrize("taken", ["lock_async", "lock"])
def test_condvar_face_waits_with_a_guard_taken_either_way(taken):
    async def body():
        m, cv = Mutex([]), FaceCondvar()

        async def guard_of() -> Any:
            return await m.lock_async() if taken == "lock_async" else m.lock()

        guard = await guard_of()
        with guard:
            started = time.monotonic()
            assert (await cv.wait_for_async(guard, 0.05)).timed_out
            assert time.monotonic() - started >= 0.05 and m.is_locked()
            assert (await cv.wait_until_async(guard, time.monotonic() + 0.01)).timed_out
            with pytest.raises(ValueError):
                await cv.wait_for_async(guard, -1)
            assert m.is_locked()

        def producer() -> None:
            for item in range(3):
                with m.lock() as g:
                    g.value.append(item)
                    cv.notify_one()

        got: list[int] = []
        worker = start(producer)
        while len(got) < 3:
            guard = await guard_of() if taken == "lock" else await m.lock_async()
            with guard:
                result = await cv.wait_while_async(guard, lambda items: not items, timeout=BOUND)
                assert not result.timed_out
                got.extend(guard.value)
                guard.value.clear()
        worker.finish()
        assert got == [0, 1, 2]
        # a thread waits, a task notifies; wait_async (no timeout) woken by a thread
        thread = start(lambda: (lambda g: (cv.wait_for(g, BOUND).timed_out, g.unlock())[0])(m.lock()))
        await until(lambda: parked_on(cv._key) == 1, "the thread to wait")
        async with m.lock_async():
            assert cv.notify_one()
        assert thread.finish() is False
        async with m.lock_async() as guard:
            task = asyncio.ensure_future(cv.wait_async(guard))
            await until(lambda: parked_on(cv._key) == 1, "the task to wait")
            start(cv.notify_one).finish()
            await task
            assert m.is_locked()
        assert not m.is_locked() and parked_on(cv._key) == 0
        guard = m.lock()
        guard.unlock()
        with pytest.raises(RuntimeError):
            await cv.wait_async(guard)  # a released guard

    run(body)


def test_condvar_face_cancelled_wait_keeps_the_guard_held():
    async def body():
        m, cv = Mutex(0), FaceCondvar()
        held: list[bool] = []

        async def waiter() -> None:
            async with m.lock_async() as guard:
                try:
                    await cv.wait_async(guard)
                finally:
                    held.append(m.is_locked())

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_on(cv._key) == 1, "the task to wait")
        task.cancel()
        assert await cancelled(task)
        assert held == [True] and not m.is_locked() and parked_on(cv._key) == 0

    run(body)


# --- the faces: the threading drop-ins (parking_lot.compat) ------------------------------------------


def test_compat_lock_acquire_async_and_async_with():
    async def body():
        lock = compat.Lock()
        assert await lock.acquire_async() is True
        assert await lock.acquire_async(blocking=False) is False
        assert await lock.acquire_async(timeout=0) is False
        started = time.monotonic()
        assert await lock.acquire_async(timeout=0.05) is False
        assert time.monotonic() - started >= 0.05
        for kwargs, error in [({"blocking": False, "timeout": 1}, ValueError), ({"timeout": -2}, ValueError)]:
            with pytest.raises(error):
                await lock.acquire_async(**kwargs)
        assert parked_on(lock._key) == 0
        thread = start(lambda: lock.acquire(timeout=BOUND) and (lock.release() or True))  # a thread waits on a task
        await until(lambda: parked_on(lock._key) == 1, "the thread to wait")
        lock.release()
        assert thread.finish() is True
        holding = threading.Event()
        release = threading.Event()
        worker = start(lambda: (lock.acquire(), holding.set(), release.wait(BOUND), lock.release()))
        await until(holding.is_set, "the thread to hold the lock")
        task = asyncio.ensure_future(lock.acquire_async(timeout=BOUND))
        await until(lambda: parked_on(lock._key) == 1, "the task to wait")
        release.set()
        assert await task is True  # a thread released it to the task
        worker.finish()
        lock.release()
        async with lock:
            assert lock.locked()
        assert not lock.locked()
        # cancelled while waiting: nothing stays parked, the lock is free afterwards
        await lock.acquire_async()
        waiting = asyncio.ensure_future(lock.acquire_async())
        await until(lambda: parked_on(lock._key) == 1, "the task to wait")
        waiting.cancel()
        assert await cancelled(waiting)
        lock.release()
        assert not lock.locked() and parked_on(lock._key) == 0

    run(body)


def test_compat_rlock_owner_is_the_task():
    async def body():
        rlock = compat.RLock()
        order: list[str] = []
        entered = asyncio.Event()
        leave = asyncio.Event()

        async def first() -> None:
            async with rlock:
                assert await rlock.acquire_async() is True  # the owner: counts one more
                assert rlock._recursion_count() == 2 and rlock._is_owned()
                entered.set()
                await leave.wait()  # holds it across an await
                rlock.release()
                order.append("first")

        async def second() -> None:
            await entered.wait()
            assert not rlock._is_owned()
            with pytest.raises(RuntimeError):
                rlock.release()  # another task does not own it
            started = time.monotonic()
            assert await rlock.acquire_async(timeout=0.03) is False
            assert time.monotonic() - started >= 0.03
            assert await rlock.acquire_async(blocking=False) is False
            leave.set()
            async with rlock:
                order.append("second")

        await asyncio.gather(first(), second())
        assert order == ["first", "second"] and not rlock._mutex.is_locked()
        # a blocking acquire on the loop's thread while a task of this loop holds it: RuntimeError
        holder_in = asyncio.Event()
        holder_out = asyncio.Event()

        async def holder() -> None:
            async with rlock:
                holder_in.set()
                await holder_out.wait()

        task = asyncio.ensure_future(holder())
        await holder_in.wait()
        with pytest.raises(RuntimeError, match="acquire_async"):
            rlock.acquire()
        with pytest.raises(RuntimeError):
            with rlock:
                pass
        assert rlock.acquire(blocking=False) is False  # not blocking: just False
        thread = start(lambda: rlock.acquire(timeout=BOUND) and (rlock.release() or True))  # a thread waits on a task
        await until(lambda: parked_on(rlock._mutex._key) == 1, "the thread to wait")
        holder_out.set()
        await task
        assert thread.finish() is True
        assert not rlock._mutex.is_locked()

    run(body)


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
def test_compat_condition_wait_async_both_ways(kind):
    async def body():
        cond = compat.Condition(getattr(compat, kind)())
        items: list[int] = []
        with pytest.raises(RuntimeError):
            await cond.wait_async(0.01)  # not held
        async with cond:
            assert await cond.wait_async(0) is False
            started = time.monotonic()
            assert await cond.wait_async(0.05) is False
            assert time.monotonic() - started >= 0.05
            assert await cond.wait_for_async(lambda: items, timeout=0.01) == []

        def producer() -> None:
            for item in range(3):
                with cond:
                    items.append(item)
                    cond.notify()

        worker = start(producer)
        got: list[int] = []
        while len(got) < 3:
            async with cond:
                assert await cond.wait_for_async(lambda: items, timeout=BOUND)
                if kind == "RLock":
                    assert cond._lock._recursion_count() == 1
                got.extend(items)
                items.clear()
        worker.finish()
        assert got == [0, 1, 2]

        def consumer() -> bool:
            with cond:
                return cond.wait(BOUND)

        thread = start(consumer)
        await until(lambda: parked_on(cond._key) == 1, "the thread to wait")
        async with cond:
            cond.notify_all()
        assert thread.finish() is True
        # cancelled: the lock is held again (with the RLock's count) before CancelledError leaves
        seen: list[object] = []

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait_async()
                finally:
                    seen.append(cond._is_owned())

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_on(cond._key) == 1, "the task to wait")
        task.cancel()
        assert await cancelled(task)
        assert seen == [True] and parked_on(cond._key) == 0
        assert not (cond._lock._mutex if kind == "RLock" else cond._lock._raw).is_locked()

    run(body)


def test_compat_condition_on_a_foreign_lock_refuses_the_async_twins():
    async def body():
        cond = compat.Condition(threading.Lock())
        with pytest.raises(TypeError):
            async with cond:
                pass
        with cond:
            with pytest.raises(TypeError):
                await cond.wait_async(0.01)

    run(body)


@pytest.mark.parametrize("cls", ["Semaphore", "BoundedSemaphore"])
def test_compat_semaphores_acquire_async_and_async_with(cls):
    async def body():
        sem = getattr(compat, cls)(1)
        async with sem:
            assert sem._value == 0
            assert await sem.acquire_async(blocking=False) is False
            assert await sem.acquire_async(timeout=0) is False
            started = time.monotonic()
            assert await sem.acquire_async(timeout=0.05) is False
            assert time.monotonic() - started >= 0.05
            with pytest.raises(ValueError):
                await sem.acquire_async(blocking=False, timeout=1)
            thread = start(lambda: sem.acquire(timeout=BOUND))
            await until(lambda: parked_on(sem._key) == 1, "the thread to wait")
        assert thread.finish() is True  # the task's release went to the thread
        task = asyncio.ensure_future(sem.acquire_async(timeout=BOUND))
        await until(lambda: parked_on(sem._key) == 1, "the task to wait")
        start(sem.release).finish()
        assert await task is True
        sem.release()
        if cls == "BoundedSemaphore":
            with pytest.raises(ValueError):
                sem.release()
        assert sem._value == 1 and parked_on(sem._key) == 0

    run(body)


def test_compat_event_wait_async():
    async def body():
        event = compat.Event()
        assert await event.wait_async(0) is False
        started = time.monotonic()
        assert await event.wait_async(0.05) is False
        assert time.monotonic() - started >= 0.05
        task = asyncio.ensure_future(event.wait_async())
        await until(lambda: parked_on(event._key) == 1, "the task to wait")
        start(event.set).finish()
        assert await task is True and await event.wait_async(0) is True
        with pytest.raises(OverflowError):
            event.clear()
            await event.wait_async(compat.TIMEOUT_MAX * 2)

    run(body)


def test_compat_barrier_wait_async():
    async def body():
        barrier = compat.Barrier(2, timeout=BOUND)
        thread = start(barrier.wait)
        await until(lambda: barrier.n_waiting == 1, "the thread to arrive")
        assert await barrier.wait_async() == 1
        assert thread.finish() == 0
        started = time.monotonic()
        with pytest.raises(threading.BrokenBarrierError):
            await barrier.wait_async(0.05)  # alone: the timeout breaks it
        assert time.monotonic() - started >= 0.05 and barrier.broken
        barrier.reset()
        with pytest.raises(ValueError):
            await barrier.wait_async(float("nan"))  # a bad timeout: checked once counted, then it leaves
        assert barrier.n_waiting == 0 and not barrier.broken
        task = asyncio.ensure_future(barrier.wait_async())
        await until(lambda: barrier.n_waiting == 1, "the task to arrive")
        assert start(barrier.wait).finish() == 1
        assert await task == 0 and parked_on(barrier._key) == 0

    run(body)
