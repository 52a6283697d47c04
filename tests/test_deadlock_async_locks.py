"""Deadlock detection through the locks' awaitable twins: what a task holds via a real lock.

Every twin that takes or gives back a lock records it for the awaiting task, as the
blocking methods do for threads (parking_lot/raw/_tracking.py declarations in the lock
modules): `async with m.lock_async()`, `await rw.write_async()`, ReentrantMutex's
reentrant protocol (held once, however deep), RwLock's modes and `upgrade_async`.
Each deadlock here is detected (check_deadlock names the tasks), broken with
break_deadlock so the test ends, and the records end empty.  Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from conftest import BOUND, start
from async_helpers import pending_mutex_form, run, until  # noqa: F401 (a fixture)
from parking_lot import Mutex, ReentrantMutex, RwLock, deadlock
from parking_lot.core import parked_count


@pytest.fixture(autouse=True)
def detection():
    deadlock.enable()
    yield
    deadlock.disable()


def waiting_on(key: int) -> int:
    """How many threads and tasks wait for the lock whose key is *key* (a writer draining readers: key + 1)."""
    return parked_count(key) + parked_count(key + 1)


def held_by(task: asyncio.Task[Any]) -> dict[int, int]:
    return deadlock.ownership().held.get(id(task), {})


@pytest.mark.parametrize("form", ["async with", "await"])
def test_two_tasks_deadlocking_on_two_mutexes_are_detected_and_broken(form, pending_mutex_form):
    first, second = Mutex("first"), Mutex("second")
    assert type(first.lock_async()) is pending_mutex_form
    keys = {"first": first.raw._key, "second": second.raw._key}

    async def cross(held: Mutex[str], wanted: Mutex[str]) -> str:
        if form == "async with":
            async with held.lock_async():
                await until(lambda: first.is_locked() and second.is_locked(), "both mutexes held")
                async with wanted.lock_async() as guard:
                    return guard.value
        with await held.lock_async():
            await until(lambda: first.is_locked() and second.is_locked(), "both mutexes held")
            with await wanted.lock_async() as guard:
                return guard.value

    async def body():
        a = asyncio.ensure_future(cross(first, second))
        b = asyncio.ensure_future(cross(second, first))
        a.set_name("task-a")
        b.set_name("task-b")
        await until(lambda: parked_count(keys["first"]) == parked_count(keys["second"]) == 1, "both tasks to wait")
        holdings = held_by(a), held_by(b)
        cycles = deadlock.check_deadlock()
        assert cycles, "no deadlock detected"  # (else break nothing: the tasks would wait for ever)
        assert deadlock.break_deadlock(cycles[0], id(a))
        results = await asyncio.gather(a, b, return_exceptions=True)
        return cycles, holdings, results, (id(a), id(b))

    cycles, holdings, results, (a_id, b_id) = run(body)
    assert holdings == ({keys["first"]: 1}, {keys["second"]: 1})
    [cycle] = cycles
    assert cycle.idents == {a_id, b_id}
    reports = {report.name: report for report in cycle.threads}
    assert set(reports) == {"task-a", "task-b"} and all(r.is_task for r in cycle.threads)
    assert reports["task-a"].waiting_for.key == keys["second"]
    assert [lock.key for lock in reports["task-a"].holding] == [keys["first"]]
    assert reports["task-a"].waiting_for.type_name == "Mutex"
    assert "cross" in reports["task-a"].stack
    assert isinstance(results[0], deadlock.DeadlockError) and results[1] == "first"
    assert not first.is_locked() and not second.is_locked()
    assert deadlock.ownership().held == {} and deadlock.check_deadlock() == []


def test_a_task_and_a_thread_deadlocking_on_two_rwlocks_write_and_read_are_detected_and_broken():
    left, right = RwLock(0), RwLock(0)
    left_key, right_key = left._raw._key, right._raw._key
    thread_reads = threading.Event()
    task_reads = threading.Event()

    def thread_side() -> str:
        with right.read():
            thread_reads.set()
            assert task_reads.wait(BOUND)
            try:
                with left.write():  # the task reads it: waits for the task to leave
                    return "wrote"
            except deadlock.DeadlockError:
                return "broken"

    async def task_side() -> int:
        async with left.read_async():
            task_reads.set()
            await until(thread_reads.is_set, "the thread to read")
            async with right.write_async() as writer:  # the thread reads it
                writer.value += 1
                return writer.value

    async def body():
        worker = start(thread_side, name="rw-thread")
        task = asyncio.ensure_future(task_side())
        task.set_name("rw-task")
        await until(lambda: waiting_on(left_key) == waiting_on(right_key) == 1, "the thread and the task to wait")
        holding = held_by(task)
        cycles = deadlock.check_deadlock()
        assert cycles, "no deadlock detected"
        assert deadlock.break_deadlock(cycles[0], worker.ident)
        result = await task
        return cycles, holding, result, worker.finish(), worker.ident, id(task)

    cycles, holding, result, thread_result, thread_ident, task_id = run(body)
    assert holding == {left_key: 1}
    [cycle] = cycles
    assert cycle.idents == {thread_ident, task_id}
    reports = {report.name: report for report in cycle.threads}
    assert set(reports) == {"rw-thread", "rw-task"}
    assert reports["rw-task"].is_task and not reports["rw-thread"].is_task
    assert reports["rw-task"].waiting_for.key == right_key and reports["rw-thread"].waiting_for.key == left_key
    assert [lock.key for lock in reports["rw-task"].holding] == [left_key]
    assert (result, thread_result) == (1, "broken")
    assert not left.is_locked() and not right.is_locked()
    assert deadlock.ownership().held == {}


def test_a_reentrant_mutex_cycle_between_tasks_is_detected_held_once_however_deep():
    first, second = ReentrantMutex("first"), ReentrantMutex("second")
    keys = {"first": id(first._raw._mutex), "second": id(second._raw._mutex)}
    inner_holds: dict[str, dict[int, int]] = {}

    async def cross(name: str, held: ReentrantMutex[str], wanted: ReentrantMutex[str]) -> str:
        async with held.lock_async():
            async with held.lock_async():  # again, reentrantly: still held once
                pass
            await held._raw.lock_async()  # the raw twin too
            held._raw.unlock()
            task = asyncio.current_task()
            assert task is not None
            inner_holds[name] = held_by(task)
            await until(lambda: first.is_locked() and second.is_locked(), "both mutexes held")
            async with wanted.lock_async() as guard:
                return guard.value

    async def body():
        a = asyncio.ensure_future(cross("a", first, second))
        b = asyncio.ensure_future(cross("b", second, first))
        a.set_name("re-a")
        b.set_name("re-b")
        await until(lambda: parked_count(keys["first"]) == parked_count(keys["second"]) == 1, "both tasks to wait")
        cycles = deadlock.check_deadlock()
        assert cycles, "no deadlock detected"
        assert deadlock.break_deadlock(cycles[0], id(b))
        results = await asyncio.gather(a, b, return_exceptions=True)
        return cycles, results, (id(a), id(b))

    cycles, results, (a_id, b_id) = run(body)
    assert inner_holds == {"a": {keys["first"]: 1}, "b": {keys["second"]: 1}}
    [cycle] = cycles
    assert cycle.idents == {a_id, b_id}
    reports = {report.name: report for report in cycle.threads}
    assert reports["re-a"].waiting_for.key == keys["second"]
    assert [lock.key for lock in reports["re-a"].holding] == [keys["first"]]
    assert results[0] == "second" and isinstance(results[1], deadlock.DeadlockError)
    assert not first.is_locked() and not second.is_locked()
    assert deadlock.ownership().held == {}


def test_an_upgrade_waiting_for_a_reader_that_waits_for_the_upgrader_is_a_cycle():
    cache, gate = RwLock({}), Mutex(None)
    cache_key, gate_key = cache._raw._key, gate.raw._key
    marks: dict[str, Any] = {}

    async def upgrader() -> str:
        async with gate.lock_async():
            async with cache.upgradable_read_async() as upgradable:
                task = asyncio.current_task()
                assert task is not None
                marks["upgradable"] = (id(task), cache_key) in deadlock.ownership().upgradable
                await until(lambda: parked_count(gate_key) == 1, "the reader to wait for the gate")
                with await upgradable.upgrade_async() as writer:  # waits for the reader to leave
                    writer.value["k"] = "v"
                    return "upgraded"

    async def reader() -> str:
        async with cache.read_async():
            await until(gate.is_locked, "the upgrader to hold the gate")
            async with gate.lock_async():
                return "passed"

    async def body():
        up = asyncio.ensure_future(upgrader())
        up.set_name("upgrader")
        await until(gate.is_locked, "the upgrader to hold the gate")
        rd = asyncio.ensure_future(reader())
        rd.set_name("reader")
        await until(lambda: parked_count(cache_key + 1) == 1 and parked_count(gate_key) == 1, "both to wait")
        holdings = held_by(up), held_by(rd)
        cycles = deadlock.check_deadlock()
        assert cycles, "no deadlock detected"
        assert deadlock.break_deadlock(cycles[0], id(up))  # the upgrade gives up; the upgradable guard is kept
        results = await asyncio.gather(up, rd, return_exceptions=True)
        return cycles, holdings, results, (id(up), id(rd))

    cycles, holdings, results, (up_id, rd_id) = run(body)
    assert marks == {"upgradable": True}
    assert holdings == ({gate_key: 1, cache_key: 1}, {cache_key: 1})
    [cycle] = cycles
    assert cycle.idents == {up_id, rd_id}
    reports = {report.name: report for report in cycle.threads}
    assert reports["upgrader"].waiting_for.key == cache_key and reports["reader"].waiting_for.key == gate_key
    assert isinstance(results[0], deadlock.DeadlockError) and results[1] == "passed"
    assert not cache.is_locked() and not gate.is_locked()
    assert deadlock.ownership().held == {} and deadlock.ownership().upgradable == frozenset()


def test_an_upgrade_by_a_task_is_recorded_and_its_release_forgets_it():
    cache = RwLock(0)
    key = cache._raw._key

    async def body():
        task = asyncio.current_task()
        assert task is not None
        upgradable = await cache.upgradable_read_async()
        before = deadlock.ownership()
        with await upgradable.upgrade_async() as writer:
            writer.value += 1
            during = deadlock.ownership()
        return id(task), before, during, deadlock.ownership()

    me, before, during, after = run(body)
    assert before.held[me] == {key: 1} and (me, key) in before.upgradable
    assert during.held[me] == {key: 1} and (me, key) not in during.upgradable
    assert after.held == {} and after.upgradable == frozenset()


def test_plain_contention_between_tasks_and_a_thread_is_no_cycle():
    mutex, reentrant, rw = Mutex(0), ReentrantMutex(0), RwLock(0)
    mutex_key, reentrant_key, rw_key = mutex.raw._key, id(reentrant._raw._mutex), rw._raw._key
    seen: dict[str, Any] = {}

    def thread_side() -> int:
        with mutex.lock() as guard:  # waits behind the holder task, holding nothing
            guard.value += 1
            return guard.value

    async def waiter() -> None:
        async with mutex.lock_async():
            pass
        async with reentrant.lock_async():
            pass
        async with rw.write_async():
            pass

    async def body():
        go = asyncio.Event()
        holder_ready = asyncio.Event()

        async def holder() -> None:
            async with mutex.lock_async(), reentrant.lock_async(), reentrant.lock_async(), rw.read_async():
                holder_ready.set()
                await go.wait()

        h = asyncio.ensure_future(holder())
        await holder_ready.wait()
        worker = start(thread_side, name="contender")
        w = asyncio.ensure_future(waiter())
        await until(lambda: parked_count(mutex_key) == 2, "the thread and the task to wait for the mutex")
        seen["held"] = held_by(h)
        seen["cycles"] = deadlock.check_deadlock()
        go.set()
        await asyncio.wait_for(h, BOUND)
        await asyncio.wait_for(w, BOUND)
        seen["thread"] = worker.finish()

    run(body)
    assert seen["held"] == {mutex_key: 1, reentrant_key: 1, rw_key: 1}
    assert seen["cycles"] == []
    assert seen["thread"] == 1
    assert deadlock.ownership().held == {}


def _async_with_forms() -> list[Any]:
    from parking_lot.raw import RawMutex, RawReentrantMutex, RawRwLock

    return [
        pytest.param(lambda: RawMutex(), id="async with RawMutex"),
        pytest.param(lambda: RawReentrantMutex(), id="async with RawReentrantMutex"),
        pytest.param(lambda: RawRwLock(), id="async with RawRwLock"),
        pytest.param(lambda: Mutex(0).lock_async(), id="Mutex.lock_async"),
        pytest.param(lambda: ReentrantMutex(0).lock_async(), id="ReentrantMutex.lock_async"),
        pytest.param(lambda: RwLock(0).read_async(), id="RwLock.read_async"),
        pytest.param(lambda: RwLock(0).write_async(), id="RwLock.write_async"),
        pytest.param(lambda: RwLock(0).upgradable_read_async(), id="RwLock.upgradable_read_async"),
    ]


@pytest.mark.parametrize("make", _async_with_forms())
def test_every_async_with_records_the_hold_for_the_task_and_its_release(make: Any) -> None:
    """Whether ``__aexit__`` is a coroutine (the raw locks', PendingGuard's) or a plain function
    returning an awaitable (Mutex.lock_async's), its release is recorded as the task's, as the
    hold its ``__aenter__`` made."""

    async def body() -> tuple[dict[int, int], dict[int, int]]:
        task = asyncio.current_task()
        assert task is not None
        async with make():
            inside = dict(held_by(task))
        return inside, dict(held_by(task))

    inside, after = run(body)
    assert len(inside) == 1 and list(inside.values()) == [1]
    assert after == {} and deadlock.ownership().held == {}
