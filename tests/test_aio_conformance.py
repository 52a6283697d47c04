"""parking_lot.aio against asyncio itself: the same cases, parametrized over both modules.

Every case runs once with ``asyncio``'s classes and once with ``parking_lot.aio``'s; where the
running Python's asyncio behaves differently from an older one (Barrier from 3.11, the
notification a cancelled Condition waiter passes on from 3.13), the case follows the running
version, and says so.  Where ours deliberately differs (it is bound to no loop; Condition
takes only our Lock), the case is ours alone and says why.

Waits are bounded (every loop body runs under ``asyncio.wait_for(..., BOUND)``), and a state
is awaited by polling the public repr (``waiters:N``) with a bound, never by sleeping and
hoping.  Reprs are compared by shape with asyncio's own pattern, addresses aside.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from types import ModuleType
from typing import Any

import pytest

from conftest import BOUND
from async_helpers import run, until
from parking_lot import aio

IMPLS = [pytest.param(asyncio, id="asyncio"), pytest.param(aio, id="aio")]
HAS_BARRIER = sys.version_info >= (3, 11)
needs_barrier = pytest.mark.skipif(not HAS_BARRIER, reason="asyncio.Barrier exists from Python 3.11 on")

#: asyncio's repr shape (Lib/test/test_asyncio/test_locks.py's, spelled out here).
REPR = re.compile(
    r"^<(?P<cls>[\w.]+) object at 0x[0-9a-fA-F]+ \[(?P<extra>"  # Windows prints the address in capitals
    r"(set|unset|locked|unlocked|filling|draining|resetting|broken)"
    r"(, value:\d+)?(, waiters:\d+)?(, waiters:\d+/\d+)?)\]>$"
)


async def waiters(obj: object, n: int) -> None:
    """Until *obj*'s repr says *n* waiters (asyncio's and ours show them the same way)."""
    await until(lambda: f"waiters:{n}" in repr(obj), f"{n} waiters in {obj!r}")


def extra(obj: object) -> str:
    match = REPR.match(repr(obj))
    assert match is not None, repr(obj)
    return match.group("extra")


async def cancel_and_check(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


# --- Lock ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", IMPLS)
def test_lock_acquire_release_locked_and_errors(m: ModuleType) -> None:
    async def body() -> None:
        lock = m.Lock()
        assert extra(lock) == "unlocked" and not lock.locked()
        assert await lock.acquire() is True
        assert extra(lock) == "locked" and lock.locked()
        lock.release()
        with pytest.raises(RuntimeError, match=r"^Lock is not acquired\.$"):
            lock.release()
        async with lock as entered:
            assert entered is None and lock.locked()
        assert not lock.locked()

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_lock_fifo_and_no_barging(m: ModuleType) -> None:
    async def body() -> list[str]:
        lock, order = m.Lock(), []
        await lock.acquire()

        async def take(name: str) -> None:
            async with lock:
                order.append(name)

        tasks = []
        for i, name in enumerate("abc"):
            tasks.append(asyncio.ensure_future(take(name)))
            await waiters(lock, i + 1)
        lock.release()
        # A task asking now waits behind the three (asyncio: "successive release() calls will
        # unblock tasks in FIFO order").  The one documented difference: asyncio's locked() says
        # False until the woken waiter runs; ours has handed the lock over already.
        assert lock.locked() is (m is aio)
        late = asyncio.ensure_future(take("late"))
        await asyncio.gather(*tasks, late)
        return order

    assert run(body) == ["a", "b", "c", "late"]


@pytest.mark.parametrize("m", IMPLS)
def test_lock_cancelled_while_waiting_takes_nothing(m: ModuleType) -> None:
    async def body() -> None:
        lock = m.Lock()
        await lock.acquire()
        first = asyncio.ensure_future(lock.acquire())
        second = asyncio.ensure_future(lock.acquire())
        await waiters(lock, 2)
        await cancel_and_check(first)
        await waiters(lock, 1)
        lock.release()
        assert await second is True and lock.locked()
        lock.release()
        assert not lock.locked()

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_lock_woken_then_cancelled_passes_the_lock_on(m: ModuleType) -> None:
    async def body() -> None:
        lock = m.Lock()
        await lock.acquire()
        first = asyncio.ensure_future(lock.acquire())
        second = asyncio.ensure_future(lock.acquire())
        await waiters(lock, 2)
        lock.release()  # wakes (asyncio) / hands the lock to (ours) the first waiter ...
        first.cancel()  # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await asyncio.wait_for(second, BOUND) is True  # the next waiter gets the lock
        lock.release()
        assert not lock.locked()

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_lock_wait_for_timeout(m: ModuleType) -> None:
    async def body() -> None:
        lock = m.Lock()
        await lock.acquire()
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(lock.acquire(), 0.02)
        assert time.monotonic() - started >= 0.015
        assert extra(lock) == "locked"  # the timed-out waiter left the queue
        lock.release()
        assert await asyncio.wait_for(lock.acquire(), BOUND) is True

    run(body)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout exists from Python 3.11 on")
@pytest.mark.parametrize("m", IMPLS)
def test_lock_asyncio_timeout(m: ModuleType) -> None:
    async def body() -> None:
        lock = m.Lock()
        await lock.acquire()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):  # type: ignore[attr-defined]
                await lock.acquire()
        lock.release()
        async with asyncio.timeout(BOUND):  # type: ignore[attr-defined]
            async with lock:
                assert lock.locked()

    run(body)


# --- Event -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", IMPLS)
def test_event_set_wakes_every_waiter_even_if_cleared_before_they_run(m: ModuleType) -> None:
    async def body() -> None:
        event = m.Event()
        assert extra(event) == "unset" and not event.is_set()
        tasks = [asyncio.ensure_future(event.wait()) for _ in range(3)]
        await waiters(event, 3)
        event.set()
        event.clear()
        assert await asyncio.gather(*tasks) == [True, True, True]
        assert extra(event) == "unset"
        event.set()
        assert await event.wait() is True and extra(event) == "set"

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_event_cancel_and_timeout(m: ModuleType) -> None:
    async def body() -> None:
        event = m.Event()
        task = asyncio.ensure_future(event.wait())
        await waiters(event, 1)
        await cancel_and_check(task)
        assert extra(event) == "unset"  # no waiter left behind
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), 0.01)
        assert extra(event) == "unset"

    run(body)


# --- Condition -------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", IMPLS)
def test_condition_errors_and_repr(m: ModuleType) -> None:
    async def body() -> None:
        cond = m.Condition()
        assert extra(cond) == "unlocked"
        with pytest.raises(RuntimeError, match="^cannot wait on un-acquired lock$"):
            await cond.wait()
        with pytest.raises(RuntimeError, match="^cannot notify on un-acquired lock$"):
            cond.notify()
        with pytest.raises(RuntimeError, match="^cannot notify on un-acquired lock$"):
            cond.notify_all()
        lock = m.Lock()
        cond = m.Condition(lock)
        async with cond:
            assert lock.locked() and cond.locked() and extra(cond) == "locked"
        assert not lock.locked()

    run(body)


def test_condition_takes_only_our_lock() -> None:
    """Ours alone: requeueing needs the lock's raw mutex, so asyncio's Lock is refused."""
    with pytest.raises(TypeError, match="parking_lot.aio.Lock"):
        aio.Condition(asyncio.Lock())  # type: ignore[arg-type]


@pytest.mark.parametrize("m", IMPLS)
def test_condition_notify_n_and_notify_all_in_fifo_order_each_holding_the_lock(m: ModuleType) -> None:
    async def body() -> list[int]:
        lock = m.Lock()
        cond, order = m.Condition(lock), []

        async def waiter(i: int) -> None:
            async with cond:
                assert await cond.wait() is True
                assert lock.locked()
                order.append(i)

        tasks = []
        for i in range(5):
            tasks.append(asyncio.ensure_future(waiter(i)))
            await waiters(cond, i + 1)
        async with cond:
            cond.notify(2)
        await until(lambda: len(order) == 2, "two notified waiters")
        await asyncio.sleep(0.01)
        assert order == [0, 1]  # notify(2) woke two, no more
        async with cond:
            cond.notify_all()
        await asyncio.gather(*tasks)
        return order

    assert run(body) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("m", IMPLS)
def test_condition_wait_for(m: ModuleType) -> None:
    async def body() -> None:
        cond, box = m.Condition(), []

        async def consumer() -> str:
            async with cond:
                return str(await cond.wait_for(lambda: box and box[0]))

        task = asyncio.ensure_future(consumer())
        await waiters(cond, 1)
        async with cond:
            cond.notify()  # predicate still false: it waits again
        await waiters(cond, 1)
        async with cond:
            box.append("x")
            cond.notify()
        assert await task == "x"
        async with cond:
            assert await cond.wait_for(lambda: 7) == 7  # true at once: no wait

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_condition_cancelled_wait_holds_the_lock_again(m: ModuleType) -> None:
    async def body() -> None:
        lock = m.Lock()
        cond = m.Condition(lock)
        held_after_cancel = []

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                except asyncio.CancelledError:
                    held_after_cancel.append(lock.locked())
                    raise

        task = asyncio.ensure_future(waiter())
        await waiters(cond, 1)
        await lock.acquire()  # the cancelled waiter must wait for the lock before it raises
        task.cancel()
        await asyncio.sleep(0.01)
        assert not task.done()
        lock.release()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert held_after_cancel == [True] and not lock.locked()

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_condition_woken_then_cancelled_waiter_passes_the_notification_on(m: ModuleType) -> None:
    if m is asyncio and sys.version_info < (3, 13):
        pytest.skip("asyncio before 3.13 loses the notification of a waiter cancelled after notify()")

    async def body() -> None:
        cond = m.Condition()
        woken = []

        async def waiter(i: int) -> None:
            async with cond:
                await cond.wait()
                woken.append(i)

        first = asyncio.ensure_future(waiter(0))
        await waiters(cond, 1)
        second = asyncio.ensure_future(waiter(1))
        await waiters(cond, 2)
        async with cond:
            cond.notify(1)
            first.cancel()  # notified, then cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, BOUND)  # the notification reached the next waiter
        assert woken == [1]

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_condition_wait_timeout(m: ModuleType) -> None:
    async def body() -> None:
        lock = m.Lock()
        cond = m.Condition(lock)
        async with cond:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(cond.wait(), 0.01)
            assert lock.locked()  # a timed-out wait hands the lock back to its caller
        assert not lock.locked()

    run(body)


# --- Semaphore -------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", IMPLS)
def test_semaphore_basics_errors_and_repr(m: ModuleType) -> None:
    async def body() -> None:
        with pytest.raises(ValueError, match="^Semaphore initial value must be >= 0$"):
            m.Semaphore(-1)
        sem = m.Semaphore(2)
        assert extra(sem) == "unlocked, value:2" and not sem.locked()
        assert await sem.acquire() is True
        async with sem:
            assert sem.locked() and extra(sem) == "locked"
        sem.release()
        assert extra(sem) == "unlocked, value:2"
        sem.release()  # a plain Semaphore may go above its start
        assert extra(sem) == "unlocked, value:3"
        bounded = m.BoundedSemaphore(1)
        with pytest.raises(ValueError, match="^BoundedSemaphore released too many times$"):
            bounded.release()
        await bounded.acquire()
        bounded.release()
        assert extra(bounded) == "unlocked, value:1"

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_semaphore_fifo_a_releaser_does_not_take_its_unit_back(m: ModuleType) -> None:
    """asyncio's rule (CPython's test_acquire_fifo_order_2): a released unit goes to the longest
    waiter, and a waiter handed one counts as waiting until it runs."""

    async def body() -> list[int]:
        sem, result = m.Semaphore(1), []

        async def c1() -> None:
            await sem.acquire()
            result.append(1)

        async def c2() -> None:
            await sem.acquire()
            result.append(2)
            sem.release()
            await sem.acquire()
            result.append(4)

        async def c3() -> None:
            await sem.acquire()
            result.append(3)

        tasks = [asyncio.ensure_future(c()) for c in (c1, c2, c3)]
        await waiters(sem, 2)
        sem.release()
        sem.release()
        await asyncio.gather(*tasks)
        return result

    assert run(body) == [1, 2, 3, 4]


@pytest.mark.parametrize("m", IMPLS)
def test_semaphore_a_woken_waiter_hands_on_every_free_unit(m: ModuleType) -> None:
    """asyncio's rule (CPython 3.13+'s test_acquire_fifo_order_4, without its private names):
    units released while the first waiter had not run yet go to the waiters behind it when it runs."""
    if m is asyncio and sys.version_info < (3, 13):
        pytest.skip("asyncio before 3.13 wakes one waiter per release only")

    async def body() -> list[int]:
        sem, result, seen = m.Semaphore(0), [], []
        late: list[asyncio.Task[None]] = []

        async def c1() -> None:
            await sem.acquire()
            seen.append(extra(sem))  # every free unit handed on (to c2 and c3, not run yet)
            late.append(asyncio.ensure_future(c4()))
            result.append(1)

        async def c2() -> None:
            sem.release()
            sem.release()
            sem.release()
            seen.append(sem.locked())  # c1 has not run yet: still "waiting"
            await sem.acquire()
            result.append(2)

        async def c3() -> None:
            await sem.acquire()
            result.append(3)

        async def c4() -> None:
            result.append(4)

        tasks = [asyncio.ensure_future(c()) for c in (c1, c2, c3)]
        await asyncio.gather(*tasks)
        await asyncio.gather(*late)
        assert seen == [True, "locked, waiters:2"], seen
        return result

    assert run(body) == [1, 2, 3, 4]


@pytest.mark.parametrize("m", IMPLS)
def test_semaphore_no_barging_while_tasks_wait(m: ModuleType) -> None:
    async def body() -> None:
        sem = m.Semaphore(0)
        waiter = asyncio.ensure_future(sem.acquire())
        await waiters(sem, 1)
        sem.release()
        assert sem.locked()  # the unit is the waiter's
        late = asyncio.ensure_future(sem.acquire())
        assert await waiter is True
        await asyncio.sleep(0.01)
        assert not late.done()
        sem.release()
        assert await late is True

    run(body)


@pytest.mark.parametrize("m", IMPLS)
def test_semaphore_cancellation_while_waiting_and_after_being_woken(m: ModuleType) -> None:
    async def body() -> None:
        sem = m.Semaphore(0)
        a = asyncio.ensure_future(sem.acquire())
        await waiters(sem, 1)
        b = asyncio.ensure_future(sem.acquire())
        await waiters(sem, 2)
        c = asyncio.ensure_future(sem.acquire())
        await waiters(sem, 3)
        await cancel_and_check(a)  # while waiting: takes nothing
        await waiters(sem, 2)
        sem.release()  # wakes b ...
        b.cancel()  # ... cancelled before it runs: the unit goes to c
        with pytest.raises(asyncio.CancelledError):
            await b
        assert await asyncio.wait_for(c, BOUND) is True
        assert extra(sem) == "locked"
        sem.release()
        assert extra(sem) == "unlocked, value:1"
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(m.Semaphore(0).acquire(), 0.01)

    run(body)


# --- Barrier ---------------------------------------------------------------------------------------


@needs_barrier
@pytest.mark.parametrize("m", IMPLS)
def test_barrier_rounds_indices_and_repr(m: ModuleType) -> None:
    async def body() -> None:
        barrier = m.Barrier(3)
        assert extra(barrier) == "filling, waiters:0/3" and barrier.parties == 3
        for _ in range(2):  # two rounds
            tasks = [asyncio.ensure_future(barrier.wait()) for _ in range(2)]
            await until(lambda: barrier.n_waiting == 2, "two arrivals")
            assert extra(barrier) == "filling, waiters:2/3"
            async with barrier as index:
                assert index in (0, 1, 2)
            assert sorted([*await asyncio.gather(*tasks), index]) == [0, 1, 2]
        assert barrier.n_waiting == 0 and not barrier.broken

    run(body)


@needs_barrier
@pytest.mark.parametrize("m", IMPLS)
def test_barrier_errors_messages(m: ModuleType) -> None:
    with pytest.raises(ValueError) as ours:
        m.Barrier(0)
    with pytest.raises(ValueError) as theirs:
        asyncio.Barrier(0)  # type: ignore[attr-defined]
    assert str(ours.value) == str(theirs.value)
    assert m.BrokenBarrierError is asyncio.BrokenBarrierError  # type: ignore[attr-defined]


@needs_barrier
@pytest.mark.parametrize("m", IMPLS)
def test_barrier_abort_breaks_waiters_and_later_waits_until_reset(m: ModuleType) -> None:
    async def body() -> None:
        barrier = m.Barrier(3)
        tasks = [asyncio.ensure_future(barrier.wait()) for _ in range(2)]
        await until(lambda: barrier.n_waiting == 2, "two arrivals")
        await barrier.abort()
        for task in tasks:
            with pytest.raises(asyncio.BrokenBarrierError):  # type: ignore[attr-defined]
                await task
        assert barrier.broken and extra(barrier) == "broken"
        with pytest.raises(asyncio.BrokenBarrierError):  # type: ignore[attr-defined]
            await barrier.wait()
        await barrier.reset()
        assert not barrier.broken and extra(barrier) == "filling, waiters:0/3"
        indices = await asyncio.gather(*(barrier.wait() for _ in range(3)))
        assert sorted(indices) == [0, 1, 2]

    run(body)


@needs_barrier
@pytest.mark.parametrize("m", IMPLS)
def test_barrier_reset_while_waiting_and_cancellation(m: ModuleType) -> None:
    async def body() -> None:
        barrier = m.Barrier(3)
        tasks = [asyncio.ensure_future(barrier.wait()) for _ in range(2)]
        await until(lambda: barrier.n_waiting == 2, "two arrivals")
        await barrier.reset()
        for task in tasks:
            with pytest.raises(asyncio.BrokenBarrierError):  # type: ignore[attr-defined]
                await task
        assert not barrier.broken and extra(barrier) == "filling, waiters:0/3"
        # A cancelled waiter leaves the round (the count goes down), the barrier stays whole.
        task = asyncio.ensure_future(barrier.wait())
        await until(lambda: barrier.n_waiting == 1, "one arrival")
        await cancel_and_check(task)
        assert barrier.n_waiting == 0 and not barrier.broken
        assert sorted(await asyncio.gather(*(barrier.wait() for _ in range(3)))) == [0, 1, 2]

    run(body)


# --- the loop parameter (3.10) and loop binding ----------------------------------------------------


@pytest.mark.parametrize("m", IMPLS)
def test_loop_parameter(m: ModuleType) -> None:
    for name in ("Lock", "Event", "Condition", "Semaphore", "BoundedSemaphore"):
        with pytest.raises(TypeError) as ours:
            getattr(m, name)(loop=object())
        with pytest.raises(TypeError) as theirs:
            getattr(asyncio, name)(loop=object())
        if sys.version_info < (3, 11):
            assert str(ours.value) == str(theirs.value)
            assert "the *loop* parameter was removed" in str(ours.value)
        else:
            assert "loop" in str(ours.value)


def test_ours_are_bound_to_no_loop() -> None:
    """Ours alone: asyncio raises RuntimeError for a second loop; ours serve tasks of any loop."""
    lock, event = aio.Lock(), aio.Event()

    async def use() -> None:
        async with lock:
            pass
        event.set()
        await event.wait()
        event.clear()

    for _ in range(2):
        asyncio.run(use())


@pytest.mark.parametrize("m", IMPLS)
def test_semaphore_subclass_release_is_what_async_with_calls(m: ModuleType) -> None:
    """``async with`` releases through ``self.release()``, so a subclass's override runs (asyncio's
    ``__aexit__`` calls it; ours inlines the release only for classes that keep Semaphore's)."""
    released: list[str] = []

    class Counting(m.Semaphore):  # type: ignore[name-defined, misc]
        def release(self) -> None:
            released.append("sub")
            super().release()

    class Bounded(m.BoundedSemaphore):  # type: ignore[name-defined, misc]
        pass

    async def body() -> None:
        sem = Counting(1)
        async with sem:
            assert sem.locked()
        assert released == ["sub"] and not sem.locked()
        bounded = Bounded(1)
        with pytest.raises(ValueError):
            async with bounded:
                bounded.release()  # the block's release is one too many: __aexit__ raises

    run(body)


_ACQUIRABLE = [("Lock", lambda cls: cls()), ("Semaphore", lambda cls: cls(1)), ("BoundedSemaphore", lambda cls: cls(1))]


@pytest.mark.parametrize("name, make", _ACQUIRABLE, ids=[name for name, _ in _ACQUIRABLE])
@pytest.mark.parametrize("m", IMPLS)
def test_async_with_calls_acquire_and_release_a_subclass_or_a_mixin_overrides(m: ModuleType, name: str, make: Any) -> None:
    """``async with`` takes and gives back through ``self.acquire()`` / ``self.release()`` when
    they are overridden (asyncio's ``__aenter__``/``__aexit__`` call them; ours inline them only
    for the class's own): in a subclass, in a mixin before it in the MRO, and in a subclass
    whose own ``__aenter__`` calls ``super().__aenter__()``."""
    calls: list[str] = []
    base = getattr(m, name)

    class Mixin:
        async def acquire(self) -> bool:
            calls.append("acquire")
            return bool(await super().acquire())  # type: ignore[misc]

        def release(self) -> None:
            calls.append("release")
            super().release()  # type: ignore[misc]

    class Sub(base):  # type: ignore[misc, valid-type]
        async def acquire(self) -> bool:
            calls.append("acquire")
            return bool(await super().acquire())

        def release(self) -> None:
            calls.append("release")
            super().release()

    class OwnEnter(Sub):
        async def __aenter__(self) -> Any:
            calls.append("__aenter__")
            return await super().__aenter__()

    mixed = type("Mixed", (Mixin, base), {})

    async def body() -> list[list[str]]:
        seen = []
        for cls in (Sub, mixed, OwnEnter):
            calls.clear()
            obj = make(cls)
            async with obj as value:
                assert obj.locked() and value is None
            assert not obj.locked()
            seen.append(list(calls))
        return seen

    assert run(body) == [["acquire", "release"], ["acquire", "release"], ["__aenter__", "acquire", "release"]]


@pytest.mark.parametrize("name, make", _ACQUIRABLE + [("Condition", lambda cls: cls())],
                         ids=[name for name, _ in _ACQUIRABLE] + ["Condition"])
def test_aenter_is_a_coroutine_that_takes_nothing_until_it_runs(name: str, make: Any) -> None:
    """As asyncio's: ``obj.__aenter__()`` is a coroutine, which ``create_task`` accepts, and the
    lock or unit is taken when it runs, not when it is made (a dropped one takes nothing)."""

    async def body(m: ModuleType) -> tuple[bool, bool, bool]:
        obj = make(getattr(m, name))
        entering = obj.__aenter__()
        taken_before = obj.locked()
        is_coroutine = asyncio.iscoroutine(entering)
        await asyncio.wait_for(asyncio.ensure_future(entering) if not is_coroutine
                               else asyncio.get_running_loop().create_task(entering), BOUND)
        taken_after = obj.locked()
        await obj.__aexit__(None, None, None)
        dropped = obj.__aenter__()
        dropped.close()  # never run: nothing taken
        return is_coroutine, taken_before, taken_after and not obj.locked()

    expected = run(lambda: body(asyncio))
    assert expected == (True, False, True)
    assert run(lambda: body(aio)) == expected


def _async_with_cases() -> list[tuple[str, Any]]:
    """(name, make) for every drop-in with ``async with``; make(m) gives (the object, a way to
    hold it from another task: an async context manager factory, or None)."""
    cases: list[tuple[str, Any]] = [
        ("Lock", lambda m: m.Lock()),
        ("Semaphore", lambda m: m.Semaphore(1)),
        ("BoundedSemaphore", lambda m: m.BoundedSemaphore(1)),
        ("Condition", lambda m: m.Condition()),
    ]
    if HAS_BARRIER:
        cases.append(("Barrier", lambda m: m.Barrier(1)))
    return cases


@pytest.mark.parametrize("name, make", _async_with_cases(), ids=[name for name, _ in _async_with_cases()])
def test_async_with_gives_what_asyncio_gives_on_the_fast_and_the_slow_path(name: str, make: Any) -> None:
    """``async with obj as value``: the same value as asyncio's, entered free (our fast path,
    which makes no coroutine) and entered after waiting for another task (the slow path)."""

    async def values(m: ModuleType) -> list[Any]:
        seen = []
        obj = make(m)
        async with obj as value:
            seen.append(value)
        if name != "Barrier":  # a barrier of one party never waits
            entered = asyncio.Event()

            async def enter() -> None:
                async with obj as value:
                    seen.append(value)
                entered.set()

            async with obj:
                task = asyncio.ensure_future(enter())
                # A Condition's repr counts its notify waiters; the task waits in its lock's.
                await waiters(obj._lock if name == "Condition" else obj, 1)
                assert not entered.is_set()
            await asyncio.wait_for(entered.wait(), BOUND)
            await task
        return seen

    expected = run(lambda: values(asyncio))
    assert run(lambda: values(aio)) == expected
    assert len(expected) == (1 if name == "Barrier" else 2)
