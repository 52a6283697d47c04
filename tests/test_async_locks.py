"""The locks' awaitable twins (``m_async``): threads and asyncio tasks on the same lock object.

Every event loop runs its body under ``asyncio.wait_for(..., BOUND)`` and every thread is
joined with a bound, so a lost wake-up or a stranded lock fails a test instead of hanging it.
Cancellation is injected at every await point of the slow paths by cancelling after k
event-loop iterations, for k = 0, 1, 2, ... until the operation completes before the cancel.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from conftest import BOUND, start
from async_helpers import cancelled, run, until, parked_on, pending_mutex_form  # noqa: F401 (a fixture)
from parking_lot import FairMutex, Mutex, ReentrantMutex, RwLock, core
from parking_lot.core import TimedOut, Unparked
from parking_lot.core._hashtable import Bucket
from parking_lot.raw import RawFairMutex, RawMutex, RawReentrantMutex, RawRwLock
from parking_lot.raw.mutex import TOKEN_HANDOFF, TOKEN_NORMAL
from parking_lot.raw.rwlock import UPGRADABLE


RAW_MUTEXES = [RawMutex, RawFairMutex]
MUTEXES = [Mutex, FairMutex]


# --- RawMutex / RawFairMutex ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", RAW_MUTEXES)
def test_raw_lock_async_and_async_with(cls):
    async def body():
        m = cls()
        await m.lock_async()
        assert m.is_locked()
        assert not await m.try_lock_for_async(0)  # held: a zero timeout only tries
        m.unlock()
        async with m:
            assert m.is_locked()
        assert not m.is_locked()
        assert await m.try_lock_for_async(1.0)
        m.unlock()
        assert await m.try_lock_until_async(time.monotonic() + 1.0)
        m.unlock()

    run(body)


@pytest.mark.parametrize("bad, error", [(-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError)])
def test_raw_bad_timeouts_raise_before_anything_changes(bad, error):
    async def body():
        m = RawMutex()
        with pytest.raises(error):
            await m.try_lock_for_async(bad)
        assert not m.is_locked()
        if bad != -1.0:
            with pytest.raises(error):
                await m.try_lock_until_async(bad)
            assert not m.is_locked()

    run(body)


@pytest.mark.parametrize("cls", RAW_MUTEXES)
@pytest.mark.parametrize("form", ["for", "until"])
def test_async_timeouts_are_never_early(cls, form):
    async def body():
        m = cls()
        m.lock()
        key = m._key
        started = time.monotonic()
        if form == "for":
            got = await m.try_lock_for_async(0.05)
        else:
            got = await m.try_lock_until_async(started + 0.05)
        elapsed = time.monotonic() - started
        assert got is False and elapsed >= 0.05
        assert parked_on(key) == 0 and m.is_locked()
        m.unlock()
        assert not m.is_locked()

    run(body)


@pytest.mark.parametrize("cls", RAW_MUTEXES)
def test_wait_for_and_asyncio_timeout_leave_the_queue(cls):
    async def body():
        m = cls()
        m.lock()
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(m.lock_async(), 0.05)
        assert time.monotonic() - started >= 0.05
        if hasattr(asyncio, "timeout"):  # 3.11+
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.02):
                    await m.lock_async()
        assert parked_on(m._key) == 0
        m.unlock()
        # the mutex works afterwards, for a task and for a thread
        await m.lock_async()
        m.unlock()
        worker = start(lambda: m.try_lock_for(BOUND) and (m.unlock() or True))
        assert worker.finish() is True

    run(body)


@pytest.mark.parametrize("cls", RAW_MUTEXES)
@pytest.mark.parametrize("fair", [False, True])
def test_hand_over_thread_to_task_and_task_to_thread(cls, fair):
    async def body():
        m = cls()
        order: list[str] = []
        # thread -> task
        holding = threading.Event()
        release = threading.Event()

        def thread_holds() -> None:
            m.lock()
            order.append("thread")
            holding.set()
            assert release.wait(BOUND)
            m.unlock_fair() if fair else m.unlock()

        worker = start(thread_holds)
        await until(holding.is_set, "the thread to hold the mutex")

        async def task_locks() -> None:
            await m.lock_async()
            order.append("task")

        task = asyncio.ensure_future(task_locks())
        await until(lambda: parked_on(m._key) == 1, "the task to park")
        release.set()
        await task
        worker.finish()
        # task -> thread: the task holds it, a thread parks, the task lets go
        thread = start(lambda: (m.try_lock_for(BOUND), order.append("thread again"), m.unlock())[0])
        await until(lambda: parked_on(m._key) == 1, "the thread to park")
        m.unlock_fair() if fair else m.unlock()
        assert thread.finish() is True
        assert order == ["thread", "task", "thread again"]
        assert not m.is_locked() and parked_on(m._key) == 0

    run(body)


class _Exclusive:
    """One exclusive lock seen through the same few calls, for the tests that every kind must pass."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "RawReentrantMutex":
            self.lock: Any = RawReentrantMutex()
            self.key = self.lock._mutex._key
        elif name == "RwLock.write":
            self.lock = RawRwLock()
            self.key = self.lock._key
        else:
            self.lock = {"RawMutex": RawMutex, "RawFairMutex": RawFairMutex}[name]()
            self.key = self.lock._key

    @property
    def always_fair(self) -> bool:
        return self.name == "RawFairMutex"

    def hold(self) -> None:
        if self.name == "RwLock.write":
            self.lock.lock_exclusive()
        else:
            self.lock.lock()

    async def lock_async(self) -> None:
        if self.name == "RwLock.write":
            await self.lock.lock_exclusive_async()
        else:
            await self.lock.lock_async()

    def try_lock_for(self, timeout: float) -> bool:
        if self.name == "RwLock.write":
            return bool(self.lock.try_lock_exclusive_for(timeout))
        return bool(self.lock.try_lock_for(timeout))

    def unlock(self, fair: bool = False) -> None:
        if self.name == "RwLock.write":
            self.lock.unlock_exclusive_fair() if fair else self.lock.unlock_exclusive()
        else:
            self.lock.unlock_fair() if fair else self.lock.unlock()

    def is_locked(self) -> bool:
        return bool(self.lock.is_locked())


EXCLUSIVE = ["RawMutex", "RawFairMutex", "RawReentrantMutex", "RwLock.write"]


@pytest.mark.parametrize("name", EXCLUSIVE)
@pytest.mark.parametrize("fair", [False, True])
@pytest.mark.parametrize("release_at", [0, 1, 2])
def test_cancellation_at_every_await_point_strands_nothing(name, fair, release_at, monkeypatch):
    """A task waits for the lock behind its holder, a thread waits behind the task; the holder
    lets go after *release_at* loop iterations and the task is cancelled after k, for every k
    until the task gets the lock first.  Then: the thread gets the lock (no lost wake-up),
    the lock ends free, nobody is left parked.  Every way the cancelled wait can end is
    reached: still queued (TimedOut), handed the lock (TOKEN_HANDOFF), woken to retry
    (TOKEN_NORMAL; the fairness timer is held off so that a plain unlock never hands over).
    """
    monkeypatch.setattr(Bucket, "should_be_fair", lambda self: False)
    endings: set[object] = set()

    async def once(k: int) -> bool:
        m = _Exclusive(name)
        key = m.key
        m.hold()
        got: list[bool] = []

        async def waiter() -> None:
            try:
                await m.lock_async()
            except asyncio.CancelledError as exc:
                endings.add(core.interrupted_result(exc))
                raise
            got.append(True)
            m.unlock()

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_on(key) == 1, "the task to park")
        thread = start(lambda: m.try_lock_for(BOUND) and (m.unlock() or True))
        await until(lambda: parked_on(key) == 2, "the thread to park")
        completed_first = False
        for step in range(max(k, release_at) + 1):
            if step == release_at:
                m.unlock(fair)
            if step == k:
                completed_first = task.done()
                task.cancel()
            await asyncio.sleep(0)
        was_cancelled = await cancelled(task)
        assert was_cancelled != bool(got)
        assert thread.finish() is True, "the thread behind the cancelled task never got the lock"
        await until(lambda: not m.is_locked(), "the lock to be free")
        assert parked_on(key) == 0
        return completed_first

    async def body():
        for k in range(50):
            if await once(k):
                return k
        pytest.fail("the lock never completed before the cancel")

    assert run(body) >= release_at
    handed = fair or name == "RawFairMutex"
    assert Unparked(TOKEN_HANDOFF if handed else TOKEN_NORMAL) in endings
    if release_at:
        assert TimedOut in endings


# --- Mutex / FairMutex ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", MUTEXES)
def test_mutex_lock_async_awaited_and_as_async_with(cls, pending_mutex_form):
    async def body():
        m = cls([])
        assert type(m.lock_async()) is pending_mutex_form
        async with m.lock_async() as guard:
            guard.value.append(1)
            assert m.is_locked()
        assert not m.is_locked()
        guard = await m.lock_async()
        with guard:
            guard.value.append(2)
        assert not m.is_locked()
        async with m.lock_async() as guard:
            guard.unlock()  # released inside the block: the exit releases nothing more
            assert not m.is_locked()
            other = await m.lock_async()  # ... so another lock in the block is not undone by it
        assert m.is_locked()
        other.unlock()
        pending = m.lock_async()
        (await pending).unlock()
        with pytest.raises(RuntimeError, match="already"):
            await pending
        pending = m.lock_async()  # never awaited: takes nothing
        assert not m.is_locked()
        held = await m.try_lock_for_async(0.5)
        assert held is not None and await m.try_lock_until_async(time.monotonic() + 0.01) is None
        held.unlock()
        with pytest.raises(ValueError):
            await m.try_lock_for_async(-1)
        return m.lock().value

    assert run(body) == [1, 2]


@pytest.mark.parametrize("cls", MUTEXES)
def test_async_with_releases_on_an_exception_and_on_cancellation(cls, pending_mutex_form):
    async def body():
        m = cls(0)
        assert type(m.lock_async()) is pending_mutex_form
        with pytest.raises(KeyError):
            async with m.lock_async():
                raise KeyError
        assert not m.is_locked()

        async def holds_forever() -> None:
            async with m.lock_async():
                await asyncio.sleep(BOUND * 2)

        task = asyncio.ensure_future(holds_forever())
        await until(m.is_locked, "the task to hold the mutex")
        task.cancel()
        assert await cancelled(task)
        assert not m.is_locked()

    run(body)


@pytest.mark.parametrize("cls", MUTEXES)
def test_async_with_cancelled_at_every_await_point_of_its_enter_strands_nothing(cls, pending_mutex_form):
    """A task enters ``async with m.lock_async()`` behind a holder thread, a second thread waits
    behind the task; the holder lets go and the task is cancelled after k loop iterations, for
    every k until the task got in first.  Then: a cancelled task never ran its block, the
    second thread gets the mutex (nothing stranded, no lost wake-up), nobody is left parked.
    """

    async def once(k: int) -> bool:
        m = cls(0)
        assert type(m.lock_async()) is pending_mutex_form
        key = m.raw._key
        holder = m.lock()
        ran: list[bool] = []

        async def enters() -> None:
            async with m.lock_async() as guard:
                ran.append(True)
                guard.value += 1

        task = asyncio.ensure_future(enters())
        await until(lambda: parked_on(key) == 1, "the task to park")
        thread = start(lambda: (guard := m.try_lock_for(BOUND)) is not None and (guard.unlock() or True))
        await until(lambda: parked_on(key) == 2, "the thread to park")
        holder.unlock()
        for _ in range(k):
            await asyncio.sleep(0)
        completed_first = task.done()
        task.cancel()
        was_cancelled = await cancelled(task)
        assert was_cancelled != bool(ran)
        assert thread.finish() is True, "the thread behind the cancelled task never got the mutex"
        await until(lambda: not m.is_locked(), "the mutex to be free")
        assert parked_on(key) == 0 and m.lock().value == len(ran)
        return completed_first

    async def body():
        for k in range(50):
            if await once(k):
                return k
        pytest.fail("the task never got the mutex before the cancel")

    assert run(body) >= 1  # cancelled at once, it was still waiting


def _stress(cls: type, threads: int, tasks_per_loop: int, loops: int, rounds: int) -> None:
    """Threads and tasks (on *loops* loops, one in the main thread) add to one counter under one mutex.

    Tasks yield inside their critical section (a read, a yield to the loop, a write), so a
    mutex that let two holders in would lose increments.
    """
    mutex = cls({"count": 0})

    def thread_work() -> None:
        for _ in range(rounds):
            with mutex.lock() as guard:
                value = guard.value["count"]
                guard.value["count"] = value + 1

    async def task_work() -> None:
        for index in range(rounds):
            if index % 3 == 0:
                guard = await mutex.try_lock_for_async(BOUND)
                assert guard is not None
                with guard:
                    value = guard.value["count"]
                    await asyncio.sleep(0)
                    guard.value["count"] = value + 1
            else:
                async with mutex.lock_async() as guard:
                    value = guard.value["count"]
                    await asyncio.sleep(0)
                    guard.value["count"] = value + 1

    async def loop_body() -> None:
        await asyncio.gather(*(task_work() for _ in range(tasks_per_loop)))

    workers = [start(thread_work) for _ in range(threads)]
    workers += [start(run, loop_body) for _ in range(loops - 1)]
    run(loop_body)
    for worker in workers:
        worker.finish()
    assert mutex.lock().value["count"] == rounds * (threads + tasks_per_loop * loops)
    raw = mutex._raw
    assert parked_on(raw._mutex._key if isinstance(raw, RawReentrantMutex) else raw._key) == 0


@pytest.mark.parametrize("cls", [*MUTEXES, ReentrantMutex])
@pytest.mark.parametrize("loops", [1, 2])
def test_mixed_stress_threads_and_tasks_on_one_mutex(cls, loops):
    _stress(cls, threads=2, tasks_per_loop=3, loops=loops, rounds=300)


# --- ReentrantMutex: the owner is the task ------------------------------------------------------------


def test_reentrant_owner_is_the_task():
    async def body():
        m = ReentrantMutex([])
        order: list[str] = []

        async def first() -> None:
            async with m.lock_async() as outer:
                await asyncio.sleep(0.01)  # held across awaits
                async with m.lock_async() as inner:  # the same task: counts
                    inner.value.append("first")
                    assert m.is_owned_by_current_thread() and m._raw.count == 2
                await asyncio.sleep(0.01)
                outer.value.append("first done")
            order.append("first")

        async def second() -> None:
            await until(m.is_locked, "the first task to lock")
            assert not m.is_owned_by_current_thread()  # another task of the same thread
            assert m.try_lock() is None
            async with m.lock_async() as guard:
                guard.value.append("second")
            order.append("second")

        await asyncio.gather(first(), second())
        assert order == ["first", "second"]
        return m.lock().value

    assert run(body) == ["first", "first done", "second"]


def test_a_task_cannot_unlock_what_another_task_holds():
    async def body():
        m = RawReentrantMutex()
        await m.lock_async()

        async def other() -> None:
            with pytest.raises(RuntimeError, match="does not own"):
                m.unlock()

        await asyncio.ensure_future(other())
        m.unlock()
        assert not m.is_locked()

    run(body)


@pytest.mark.parametrize("call", ["lock", "try_lock_for", "try_lock_until", "ReentrantMutex.lock"])
@pytest.mark.parametrize("where", ["in another task", "in a loop callback"])
def test_the_loop_thread_blocking_on_a_lock_its_own_task_holds_raises(call, where):
    """Blocking would hang the loop for good (the holder can only run on this thread): RuntimeError."""

    async def body():
        data = ReentrantMutex(0)
        m = data._raw
        holding = asyncio.Event()
        done = asyncio.Event()

        async def holder() -> None:
            await m.lock_async()
            holding.set()
            await done.wait()
            m.unlock()

        holder_task = asyncio.ensure_future(holder())
        await holding.wait()
        # Should the blocking call block (the bug), nothing on this thread could end it: after
        # BOUND a watchdog thread lets the inner mutex go, so the test fails instead of hanging.
        checked = threading.Event()
        watchdog = start(lambda: checked.wait(BOUND) or m._mutex.unlock())

        def block() -> None:
            if call == "lock":
                m.lock()
            elif call == "try_lock_for":
                m.try_lock_for(BOUND)
            elif call == "try_lock_until":
                m.try_lock_until(time.monotonic() + BOUND)
            else:
                data.lock()

        def attempt() -> BaseException | None:
            try:
                block()
            except RuntimeError as exc:
                return exc
            return None

        if where == "in another task":
            async def blocker() -> BaseException | None:
                return attempt()

            error = await asyncio.ensure_future(blocker())
        else:
            future = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(lambda: future.set_result(attempt()))
            error = await future
        checked.set()
        watchdog.finish()
        assert isinstance(error, RuntimeError) and "event loop" in str(error) and "_async" in str(error)
        assert m.try_lock() is False and m.try_lock_for(0) is False  # tries do not block: no error
        done.set()
        await holder_task
        assert not m.is_locked()
        m.lock()  # free again: a blocking lock from the loop thread is fine
        m.unlock()

    run(body)


def test_a_thread_may_block_on_a_reentrant_mutex_a_task_holds_and_take_it_over():
    async def body():
        m = RawReentrantMutex()
        await m.lock_async()
        worker = start(lambda: (m.lock(), m.is_owned_by_current_thread(), m.unlock())[1])
        await until(lambda: parked_on(m._mutex._key) == 1, "the thread to park")
        m.unlock()
        assert worker.finish() is True
        # and back: a thread holds, a task waits
        release = threading.Event()
        holding = threading.Event()

        def holder() -> None:
            m.lock()
            holding.set()
            assert release.wait(BOUND)
            m.unlock()

        worker = start(holder)
        await until(holding.is_set, "the thread to hold")
        async def waits() -> bool:
            await m.lock_async()
            owned = m.is_owned_by_current_thread() and m.count == 1
            m.unlock()
            return owned

        waiter = asyncio.ensure_future(waits())
        await until(lambda: parked_on(m._mutex._key) == 1, "the task to park")
        release.set()
        assert await waiter is True
        worker.finish()
        assert not m.is_locked()

    run(body)


# --- RwLock ---------------------------------------------------------------------------------------------


def test_rwlock_twins_awaited_and_as_async_with():
    async def body():
        rw = RwLock({"a": 0, "b": 0})
        async with rw.write_async() as w:
            w.value["a"] = 1
            assert rw.is_locked_exclusive()
        async with rw.read_async() as r1:
            async with rw.read_recursive_async() as r2:
                assert r1.value is r2.value and rw._raw.readers == 2
        up = await rw.upgradable_read_async()
        reader = await rw.read_async()  # readers share with the upgradable reader
        assert await up.try_upgrade_for_async(0.01) is None  # a reader is inside: not within the time
        reader.unlock()
        async with up.upgrade_async() as writer:
            writer.value["b"] = 2
            assert rw.is_locked_exclusive()
        assert not rw.is_locked()  # the upgrade's block released the write guard
        with pytest.raises(RuntimeError):
            await up.upgrade_async()  # consumed
        async with rw.upgradable_read_async() as up:
            writer = await up.try_upgrade_for_async(1.0)
            assert writer is not None
            writer.unlock()
        for twin in (rw.try_read_for_async, rw.try_write_for_async, rw.try_upgradable_read_for_async):
            guard = await twin(0.5)
            assert guard is not None
            guard.unlock()
            with pytest.raises(ValueError):
                await twin(-1)
        assert not rw.is_locked()
        async with rw._raw:  # the raw lock's async with: the write lock
            assert rw.is_locked_exclusive()
        return dict(rw.read().value)

    assert run(body) == {"a": 1, "b": 2}


@pytest.mark.parametrize("twin", ["try_lock_exclusive_for_async", "try_lock_exclusive_until_async",
                                  "try_lock_shared_for_async", "try_lock_upgradable_until_async",
                                  "try_upgrade_for_async", "try_upgrade_until_async"])
def test_rwlock_async_timeouts_are_never_early_and_restore_the_state(twin):
    async def body():
        rw = RawRwLock()
        if "upgrade" in twin:
            rw.lock_upgradable()
            rw.lock_shared()  # another reader keeps the upgrade out
        elif "shared" in twin or "upgradable" in twin:
            rw.lock_exclusive()
        else:
            rw.lock_shared()
        before = rw._state
        started = time.monotonic()
        argument = 0.05 if twin.endswith("for_async") else started + 0.05
        assert await getattr(rw, twin)(argument) is False
        assert time.monotonic() - started >= 0.05
        assert rw._state == before and parked_on(rw._key) == parked_on(rw._key + 1) == 0

    run(body)


async def _reader_blocked_by_writer(rw: RawRwLock) -> Callable[[], None]:
    rw.lock_exclusive()
    return rw.unlock_exclusive


async def _writer_blocked_by_reader(rw: RawRwLock) -> Callable[[], None]:
    rw.lock_shared()  # the writer takes WRITER, then waits on the second key for this reader
    return rw.unlock_shared


#: (the twin that waits, what holds it up, the state the task holds if it wins)
RW_WAITS = [
    ("lock_shared_async", _reader_blocked_by_writer, "unlock_shared"),
    ("lock_upgradable_async", _reader_blocked_by_writer, "unlock_upgradable"),
    ("lock_exclusive_async", _writer_blocked_by_reader, "unlock_exclusive"),
    ("upgrade_async", _writer_blocked_by_reader, "unlock_exclusive"),
]


@pytest.mark.parametrize("twin, blocker, release", RW_WAITS, ids=[w[0] for w in RW_WAITS])
@pytest.mark.parametrize("release_at", [0, 1, 2])
def test_rwlock_cancellation_at_every_await_point(twin, blocker, release, release_at, monkeypatch):
    """Every RwLock slow path (main queue and the writer's wait for the readers, on the second
    key), cancelled after k loop iterations for every k until it completes first: then the
    lock is back to what the task held before (an upgrader keeps its upgradable lock), a thread
    waiting behind gets in, and nobody is left parked.  The fairness timer is held off, so the
    unlock wakes the task to retry (an upgradable reader woken so leaves the writer behind it
    parked: the cancelled task must wake it in its place)."""
    monkeypatch.setattr(Bucket, "should_be_fair", lambda self: False)
    endings: set[object] = set()

    async def once(k: int) -> bool:
        rw = RawRwLock()
        if twin == "upgrade_async":
            rw.lock_upgradable()  # the task's, before it upgrades
        let_go = await blocker(rw)
        before = rw._state

        async def waiter() -> None:
            try:
                await getattr(rw, twin)()
            except asyncio.CancelledError as exc:
                endings.add(core.interrupted_result(exc))
                raise

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_on(rw._key) + parked_on(rw._key + 1) == 1, "the task to park")
        thread = start(lambda: rw.try_lock_exclusive_for(BOUND) and (rw.unlock_exclusive() or True))
        if blocker is _reader_blocked_by_writer:  # else the thread spins or parks once WRITER is free
            await until(lambda: parked_on(rw._key) == 2, "the thread to park")
        completed_first = False
        for step in range(max(k, release_at) + 1):
            if step == release_at:
                let_go()
            if step == k:
                completed_first = task.done()
                task.cancel()
            await asyncio.sleep(0)
        if await cancelled(task):
            if twin == "upgrade_async":
                await until(lambda: bool(rw._state & UPGRADABLE), "the upgradable lock back")
                rw.unlock_upgradable()
        else:
            getattr(rw, release)()
        assert thread.finish() is True, "the thread behind the task never got the lock"
        await until(lambda: rw._state == 0, "the lock to be free")
        assert parked_on(rw._key) == parked_on(rw._key + 1) == 0
        assert before != 0
        return completed_first

    async def body():
        for k in range(50):
            if await once(k):
                return k
        pytest.fail("the lock never completed before the cancel")

    assert run(body) >= release_at
    assert Unparked(TOKEN_NORMAL) in endings
    if release_at:
        assert TimedOut in endings


def test_rwlock_mixed_stress_readers_never_see_a_half_done_write():
    """Threads and tasks (on two loops) read, write and upgrade one RwLock; writers change two
    fields one after the other with a yield between (a task awaits, a thread sleeps 0), readers
    check that they are equal.  The count is exact at the end."""
    rw = RwLock({"a": 0, "b": 0})
    rounds = 150
    torn: list[tuple[int, int]] = []

    def thread_work() -> None:
        for index in range(rounds):
            if index % 2:
                with rw.read() as guard:
                    if guard.value["a"] != guard.value["b"]:
                        torn.append((guard.value["a"], guard.value["b"]))
            else:
                with rw.write() as guard:
                    guard.value["a"] += 1
                    time.sleep(0)
                    guard.value["b"] += 1

    async def task_work() -> None:
        for index in range(rounds):
            if index % 3 == 0:
                async with rw.read_async() as guard:
                    value = guard.value
                    await asyncio.sleep(0)
                    if value["a"] != value["b"]:
                        torn.append((value["a"], value["b"]))
            elif index % 3 == 1:
                async with rw.write_async() as guard:
                    guard.value["a"] += 1
                    await asyncio.sleep(0)
                    guard.value["b"] += 1
            else:
                async with rw.upgradable_read_async() as up:
                    assert up.value["a"] == up.value["b"]
                    await asyncio.sleep(0)
                    writer = await up.upgrade_async()
                    writer.value["a"] += 1
                    await asyncio.sleep(0)
                    writer.value["b"] += 1

    async def loop_body() -> None:
        await asyncio.gather(*(task_work() for _ in range(3)))

    workers = [start(thread_work) for _ in range(2)] + [start(run, loop_body)]
    run(loop_body)
    for worker in workers:
        worker.finish()
    assert torn == []
    thread_writes = 2 * (rounds // 2)
    task_writes = 2 * 3 * (2 * rounds // 3)
    assert rw.read().value == {"a": thread_writes + task_writes, "b": thread_writes + task_writes}
    assert parked_on(rw._raw._key) == parked_on(rw._raw._key + 1) == 0
