"""Deadlock detection with asyncio and trio tasks as holders and waiters.

A task is its own node in the wait-for graph (not its loop's thread, which runs other
tasks meanwhile): what a task takes is recorded for the task (_tracking.current_owner),
and a task waiting in park_async is a parked node.  The locks' awaitable twins are built
elsewhere; here a task holds a RawMutex through its tracked blocking methods (an
uncontended lock() never blocks) and waits for the other lock with park_async on that
lock's key, as the twins will.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import pytest

from conftest import BOUND, start, trio_or_skip
from async_helpers import run, until
from parking_lot import core, deadlock
from parking_lot.core import TimedOut, park_async, parked_count, unpark_all
from parking_lot.raw import RawMutex, _tracking


@pytest.fixture(autouse=True)
def detection():
    deadlock.enable()
    yield
    deadlock.disable()


async def hold_then_wait(held: RawMutex, wanted: RawMutex, timeout: float | None = None) -> Any:
    """Take *held*, then wait for *wanted* as its awaitable twin would (park on its key)."""
    held.lock()
    try:
        return await park_async(wanted._key, timeout=timeout)
    finally:
        held.unlock()


def _release_waits(*locks: RawMutex) -> None:
    for lock in locks:
        unpark_all(lock._key)


def test_a_cycle_between_two_tasks_of_one_loop_is_reported_with_names_and_coroutine_stacks():
    first, second = RawMutex(), RawMutex()

    async def body():
        a = asyncio.ensure_future(hold_then_wait(first, second))
        b = asyncio.ensure_future(hold_then_wait(second, first))
        a.set_name("task-a")
        b.set_name("task-b")
        await until(lambda: parked_count(first._key) == parked_count(second._key) == 1, "both tasks to wait")
        cycles = deadlock.check_deadlock()
        _release_waits(first, second)
        await asyncio.gather(a, b)
        return cycles, {id(a), id(b)}

    cycles, task_ids = run(body)
    [cycle] = cycles
    assert cycle.idents == task_ids
    by_name = {report.name: report for report in cycle.threads}
    assert set(by_name) == {"task-a", "task-b"}
    assert by_name["task-a"].is_task and by_name["task-a"].loop_thread is not None
    assert by_name["task-a"].waiting_for.key == second._key
    assert [lock.key for lock in by_name["task-a"].holding] == [first._key]
    text = str(cycle)
    assert "Task 'task-a'" in text and "Task 'task-b'" in text
    assert "hold_then_wait" in by_name["task-a"].stack  # the coroutine stack, down to the wait


def test_a_cycle_between_a_thread_and_a_task_is_reported_and_broken():
    first, second = RawMutex(), RawMutex()

    def thread_side() -> str:
        first.lock()
        try:
            second.lock()  # held by the main task: parks this thread
        except deadlock.DeadlockError:
            return "broken"
        finally:
            first.unlock()
        second.unlock()
        return "locked"

    async def body():
        holder = asyncio.current_task()
        assert holder is not None
        holder.set_name("holder-task")
        second.lock()  # recorded for this task, not for the loop's thread
        worker = start(thread_side, name="locker-thread")
        await until(lambda: parked_count(second._key) == 1, "the thread to park")

        # Another task of this loop, holding nothing, waits for the thread's lock: no cycle
        # (counted as the loop's thread, it would close one through what this task holds).
        bystander = asyncio.ensure_future(park_async(first._key, timeout=BOUND))
        await until(lambda: parked_count(first._key) == 1, "the bystander to wait")
        no_cycles = deadlock.check_deadlock()
        bystander.cancel()
        with pytest.raises(asyncio.CancelledError):
            await bystander

        async def detect_and_break() -> list[deadlock.Cycle]:
            await until(lambda: parked_count(first._key) == 1, "the holder to wait")
            cycles = deadlock.check_deadlock()
            assert deadlock.break_deadlock(cycles[0], worker.ident)  # the thread gives up ...
            assert worker.finish() == "broken"
            unpark_all(first._key)  # ... and first is free: wake the holder (as first's unlock would)
            return cycles

        detector = asyncio.ensure_future(detect_and_break())
        await park_async(first._key, timeout=BOUND)  # the holder waits for the thread's lock
        cycles = await detector
        second.unlock()
        return no_cycles, cycles, worker.ident, id(holder)

    no_cycles, cycles, thread_ident, holder_id = run(body)
    assert no_cycles == []
    [cycle] = cycles
    assert cycle.idents == {thread_ident, holder_id}
    reports = {report.name: report for report in cycle.threads}
    assert set(reports) == {"locker-thread", "holder-task"}
    assert reports["holder-task"].is_task and not reports["locker-thread"].is_task
    assert reports["holder-task"].waiting_for.key == first._key
    assert "Thread 'locker-thread'" in str(cycle) and "Task 'holder-task'" in str(cycle)


def test_a_timed_cycle_of_tasks_is_reported_flagged_as_threads_are():
    first, second = RawMutex(), RawMutex()

    async def body():
        a = asyncio.ensure_future(hold_then_wait(first, second, timeout=BOUND))
        b = asyncio.ensure_future(hold_then_wait(second, first, timeout=BOUND))
        await until(lambda: parked_count(first._key) == parked_count(second._key) == 1, "both tasks to wait")
        cycles = deadlock.check_deadlock()
        _release_waits(first, second)
        await asyncio.gather(a, b)
        return cycles

    [cycle] = run(body)
    assert all(report.timed for report in cycle.threads)
    assert "timed wait" in str(cycle)


def test_a_task_ending_while_holding_leaves_no_records():
    lock = RawMutex()

    async def take() -> int:
        lock.lock()
        task = asyncio.current_task()
        assert deadlock.ownership().held.get(id(task)) == {lock._key: 1}
        return id(task)

    task_id = asyncio.run(take())
    gc.collect()
    assert task_id not in deadlock.ownership().held
    lock.unlock()


def test_an_awaitable_twin_is_recorded_once_for_its_task(monkeypatch):
    # How the lock twins take part: declared with the same kinds as the blocking methods.
    class Twin:
        def __init__(self) -> None:
            self.raw = RawMutex()
            self._key = self.raw._key

        async def lock_async(self) -> None:
            await asyncio.sleep(0)
            self.raw.lock()  # a tracked call inside: part of this one, not recorded twice

        def unlock(self) -> None:
            self.raw.unlock()

    declared = [(Twin, {"lock_async": _tracking.acquires(_tracking.own_key),
                        "unlock": _tracking.releases(_tracking.own_key, exclusive=True)})]
    deadlock.disable()
    monkeypatch.setattr(_tracking, "DECLARED", _tracking.DECLARED + declared)
    deadlock.enable()
    twin = Twin()

    async def body():
        await twin.lock_async()
        me = id(asyncio.current_task())
        held = deadlock.ownership().held.get(me)
        twin.unlock()
        return held, deadlock.ownership().held.get(me)

    assert run(body) == ({twin._key: 1}, None)
    deadlock.disable()


def test_an_awaitable_method_of_another_kind_is_refused(monkeypatch):
    class Odd:
        async def bump_async(self) -> None:
            pass

    deadlock.disable()
    monkeypatch.setattr(_tracking, "DECLARED", [(Odd, {"bump_async": _tracking.reacquires(_tracking.own_key, exclusive=True)})])
    with pytest.raises(TypeError, match="coroutine function"):
        deadlock.enable()
    deadlock.disable()


def test_current_owner_is_the_task_under_asyncio_and_trio_else_the_thread():
    import threading

    assert _tracking.current_owner() == threading.get_ident()

    async def in_asyncio() -> bool:
        return _tracking.current_owner() is asyncio.current_task()

    assert asyncio.run(in_asyncio())
    trio = trio_or_skip()

    async def in_trio() -> bool:
        return _tracking.current_owner() is trio.lowlevel.current_task()

    assert trio.run(in_trio)


def test_a_cycle_between_two_trio_tasks_is_reported():
    trio = trio_or_skip()
    first, second = RawMutex(), RawMutex()
    found: list[deadlock.Cycle] = []

    async def waits(held: RawMutex, wanted: RawMutex, scope: Any) -> None:
        with scope:
            await hold_then_wait(held, wanted)

    async def main() -> None:
        with trio.fail_after(BOUND):
            scope_a, scope_b = trio.CancelScope(), trio.CancelScope()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(waits, first, second, scope_a, name="trio-a")
                nursery.start_soon(waits, second, first, scope_b, name="trio-b")
                while not parked_count(first._key) == parked_count(second._key) == 1:
                    await trio.sleep(0.001)
                found.extend(deadlock.check_deadlock())
                scope_a.cancel()
                scope_b.cancel()

    trio.run(main)
    [cycle] = found
    assert {report.name for report in cycle.threads} == {"trio-a", "trio-b"}
    assert all(report.is_task for report in cycle.threads)
    assert all("hold_then_wait" in report.stack for report in cycle.threads)
    assert deadlock.ownership().held == {}


def test_break_deadlock_raises_in_a_task_from_its_wait():
    first, second = RawMutex(), RawMutex()

    async def body():
        a = asyncio.ensure_future(hold_then_wait(first, second))
        b = asyncio.ensure_future(hold_then_wait(second, first))
        await until(lambda: parked_count(first._key) == parked_count(second._key) == 1, "both tasks to wait")
        [cycle] = deadlock.check_deadlock()
        assert deadlock.break_deadlock(cycle, id(a))
        with pytest.raises(deadlock.DeadlockError) as broken:
            await a  # a leaves its wait and releases first
        assert core.interrupted_result(broken.value) is TimedOut
        _release_waits(first)
        await b
        return deadlock.check_deadlock(), deadlock.ownership().held

    cycles, held = run(body)
    assert cycles == [] and held == {}


# --- one notion of owner: the reentrant mutex's and the records' (raw/_tracking.current_owner) ---


def test_a_reentrant_mutex_locked_by_a_blocking_call_in_a_task_is_recorded_for_the_task():
    from parking_lot.raw import RawReentrantMutex

    mutex = RawReentrantMutex()
    key = id(mutex._mutex)

    async def body():
        me = id(asyncio.current_task())
        mutex.lock()  # uncontended: never blocks; the task is the owner
        mutex.lock()
        held = deadlock.ownership().held.get(me)
        mutex.unlock()
        still = deadlock.ownership().held.get(me)
        mutex.unlock()
        return held, still, deadlock.ownership().held.get(me)

    assert run(body) == ({key: 1}, {key: 1}, None)


def test_the_reentrant_protocol_asks_the_lock_for_its_owner_a_thread_or_a_task(monkeypatch):
    # compat.RLock's owner is the thread (inside a task too); a lock whose owner is the task
    # inside one (as RawReentrantMutex, or an RLock made so) answers threading's _is_owned()
    # hook with that notion: both are recorded once, from the first acquire to the last release.
    from parking_lot import compat

    class TaskRLock:
        def __init__(self) -> None:
            self._mutex = RawMutex()
            self._owner: object = None
            self._count = 0

        def acquire(self) -> None:
            me = _tracking.current_owner()
            if self._owner == me:
                self._count += 1
                return
            self._mutex.lock()
            self._owner, self._count = me, 1

        def release(self) -> None:
            if self._owner != _tracking.current_owner():
                raise RuntimeError("cannot release un-acquired lock")
            self._count -= 1
            if not self._count:
                self._owner = None
                self._mutex.unlock()

        def _is_owned(self) -> bool:
            return self._owner == _tracking.current_owner()

    declared = [(TaskRLock, {"acquire": _tracking.special("reentrant acquires"),
                             "release": _tracking.special("reentrant releases")})]
    deadlock.disable()
    monkeypatch.setattr(_tracking, "DECLARED", _tracking.DECLARED + declared)
    deadlock.enable()
    task_lock, thread_lock = TaskRLock(), compat.RLock()

    async def body():
        me = id(asyncio.current_task())
        seen = []
        for lock in (task_lock, thread_lock):
            lock.acquire()
            lock.acquire()
            seen.append(deadlock.ownership().held.get(me))
            lock.release()
            seen.append(deadlock.ownership().held.get(me))
            lock.release()
            seen.append(deadlock.ownership().held.get(me))
        return seen

    task_key, thread_key = id(task_lock._mutex), id(thread_lock._mutex)
    assert run(body) == [{task_key: 1}, {task_key: 1}, None, {thread_key: 1}, {thread_key: 1}, None]
    deadlock.disable()


def test_a_blocking_lock_on_a_reentrant_mutex_held_by_a_trio_task_of_this_run_raises():
    trio = trio_or_skip()
    from parking_lot import ReentrantMutex

    mutex = ReentrantMutex("shared")
    outcome: dict[str, Any] = {}

    async def holder(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as inner:  # the owner is a grandchild of the root task

            async def hold(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
                with await mutex.lock_async():  # released as the cancellation unwinds
                    outcome["owned by the holder"] = mutex.is_owned_by_current_thread()
                    task_status.started()
                    await trio.sleep(BOUND)

            await inner.start(hold)
            task_status.started()

    async def main() -> None:
        with trio.fail_after(BOUND):
            async with trio.open_nursery() as nursery:
                await nursery.start(holder)
                outcome["owned by another task"] = mutex.is_owned_by_current_thread()
                try:
                    mutex.lock()  # would hang this run for good: refused
                except RuntimeError as exc:
                    outcome["error"] = str(exc)
                nursery.cancel_scope.cancel()

    trio.run(main)
    assert outcome["owned by the holder"] and not outcome["owned by another task"]
    assert "event loop" in outcome["error"] and "lock_async" in outcome["error"]
    assert not mutex.is_locked()


def test_a_trio_task_of_another_run_holding_it_is_waited_for_not_refused():
    trio = trio_or_skip()
    import threading

    from parking_lot import ReentrantMutex

    mutex = ReentrantMutex("shared")
    held, done = threading.Event(), threading.Event()

    def other_run() -> None:
        async def hold() -> None:
            guard = await mutex.lock_async()
            held.set()
            while not done.is_set():
                await trio.sleep(0.001)
            guard.unlock()

        trio.run(hold)

    worker = start(other_run, name="other trio run")
    assert held.wait(BOUND)

    async def main() -> Any:
        try:
            return mutex.try_lock_for(0.01)  # another run's task: a wait, timed out, no error
        finally:
            done.set()

    assert trio.run(main) is None
    worker.finish()
    assert not mutex.is_locked()


def _until_parked(*keys: int) -> None:
    deadline = time.monotonic() + BOUND
    while not all(parked_count(key) == 1 for key in keys):
        assert time.monotonic() < deadline, "everyone to park"
        time.sleep(0.001)


def _check_and_break(expected_names: set[str], cleanup_ident: int) -> deadlock.Cycle:
    """The one cycle, its reports named *expected_names*, broken in its blocking task; on a failure,
    the thread *cleanup_ident* is let go so that the test ends."""
    try:
        [cycle] = deadlock.check_deadlock()
        assert {report.name for report in cycle.threads} == expected_names
        [task_report] = [report for report in cycle.threads if report.blocking]
        assert deadlock.break_deadlock(cycle, task_report.ident)
        return cycle
    except BaseException:
        core.cancel_park(cleanup_ident, deadlock.DeadlockError("the test failed: let the threads go"))
        raise


async def _lock_blocking(lock: RawMutex) -> str:
    """Take *lock* with its blocking ``lock()`` inside a task (parking the loop's thread), let it go:
    "locked", or "broken" if the detector broke the wait."""
    try:
        lock.lock()
    except deadlock.DeadlockError:
        return "broken"
    lock.unlock()
    return "locked"


def _hold_then_lock(held: RawMutex, wanted: RawMutex, holding: threading.Event, other_holds: threading.Event) -> str:
    """A thread's side: take *held* and say so, wait until the other side holds its lock, then take
    *wanted* (parking while the other side holds it) and let both go: "locked"."""
    held.lock()
    try:
        holding.set()
        assert other_holds.wait(BOUND)
        wanted.lock()
        wanted.unlock()
        return "locked"
    finally:
        held.unlock()


def _run_loop_in_this_thread(coroutine: Any, name: str) -> Any:
    async def main() -> Any:
        task = asyncio.current_task()
        assert task is not None
        task.set_name(name)
        return await coroutine

    return asyncio.run(main())


def test_a_task_in_a_blocking_lock_call_is_its_own_node_and_the_cycle_is_found_and_broken():
    """A task that holds a lock and then blocks its loop's thread in ``lock()`` of another,
    held by a thread that waits for the first: the thread's park is the task's wait (the task
    holds the first lock, not the loop's thread), so the cycle closes and is reported with the
    task's name and the thread's stack, and breaking it raises in the task's ``lock()``."""
    first, second = RawMutex(), RawMutex()
    task_holds_first, thread_holds_second = threading.Event(), threading.Event()

    async def task_side() -> tuple[str, int]:
        first.lock()  # recorded for this task
        try:
            task_holds_first.set()
            assert thread_holds_second.wait(BOUND)
            return await _lock_blocking(second), id(asyncio.current_task())  # parks the loop's thread
        finally:
            first.unlock()

    locker = start(_hold_then_lock, second, first, thread_holds_second, task_holds_first, name="locker-thread")
    loop = start(lambda: _run_loop_in_this_thread(task_side(), "blocking-task"), name="loop-thread")
    _until_parked(first._key, second._key)
    cycle = _check_and_break({"blocking-task", "locker-thread"}, loop.ident)
    task_report = next(report for report in cycle.threads if report.name == "blocking-task")
    assert task_report.is_task and task_report.blocking and task_report.loop_thread == loop.ident
    assert task_report.waiting_for.key == second._key
    assert [lock.key for lock in task_report.holding] == [first._key]
    assert "task_side" in task_report.stack  # the loop's thread's stack, down to the blocking call
    assert "in a blocking call that parks its loop's thread" in str(cycle)
    result, task_id = loop.finish()
    assert (result, task_id) == ("broken", task_report.ident)
    assert locker.finish() == "locked"
    assert not first.is_locked() and not second.is_locked()
    assert deadlock.ownership().held == {}


def test_what_the_thread_held_before_its_loop_ran_waits_with_its_tasks_blocking_call():
    """The thread takes *first* outside any task, then runs a loop whose task blocks in
    ``second.lock()``; another thread holds *second* and waits for *first*.  The thread is
    parked with everything it holds, so its holds count for the task's node (found, broken)."""
    first, second = RawMutex(), RawMutex()
    first_held, second_held = threading.Event(), threading.Event()

    def loop_side() -> str:
        first.lock()
        try:
            first_held.set()
            assert second_held.wait(BOUND)
            return str(_run_loop_in_this_thread(_lock_blocking(second), "blocking-task"))
        finally:
            first.unlock()

    other = start(_hold_then_lock, second, first, second_held, first_held, name="other-thread")
    loop = start(loop_side, name="loop-thread")
    _until_parked(first._key, second._key)
    cycle = _check_and_break({"blocking-task", "other-thread"}, other.ident)
    task_report = next(report for report in cycle.threads if report.blocking)
    assert [lock.key for lock in task_report.holding] == [first._key]  # the thread's hold, shown for it
    assert loop.finish() == "broken" and other.finish() == "locked"
    assert deadlock.ownership().held == {}


def test_a_task_blocking_on_a_lock_its_own_thread_took_outside_it_is_a_cycle_of_one():
    lock = RawMutex()

    def loop_side() -> str:
        lock.lock()
        try:  # the task's lock() waits for this very thread
            return str(_run_loop_in_this_thread(_lock_blocking(lock), "self-task"))
        finally:
            lock.unlock()

    loop = start(loop_side, name="loop-thread")
    _until_parked(lock._key)
    _check_and_break({"self-task"}, loop.ident)
    assert loop.finish() == "broken"
    assert deadlock.ownership().held == {}


def test_a_task_blocking_in_call_once_waits_for_the_run_as_a_thread_would():
    """A task holds *lock* and blocks its thread in ``Once.call_once`` while a thread runs the
    Once and waits for *lock*: Once's own tracking enters the task as the waiter too."""
    from parking_lot.raw import Once

    lock, once = RawMutex(), Once()
    lock_held, running = threading.Event(), threading.Event()

    def runner() -> str:
        def body() -> None:
            running.set()
            assert lock_held.wait(BOUND)
            lock.lock()
            lock.unlock()

        try:
            once.call_once(body)
        except deadlock.DeadlockError:
            return "broken"
        return "ran"

    async def waits() -> str:
        lock.lock()
        try:
            lock_held.set()
            assert running.wait(BOUND)
            once.call_once(lambda: None)  # blocks this thread until the runner's run ends
            return "done"
        finally:
            lock.unlock()

    run_thread = start(runner, name="once-runner")
    assert running.wait(BOUND)
    loop = start(lambda: _run_loop_in_this_thread(waits(), "once-task"), name="loop-thread")
    _until_parked(lock._key, once._key)
    _check_and_break({"once-task", "once-runner"}, run_thread.ident)
    with pytest.raises(deadlock.DeadlockError):
        loop.finish()
    assert run_thread.finish() == "ran"
