"""The unpark side's shortcuts (parking_lot/core/_park.py, UnparkBatch): the same results and errors
as the general paths.

``unpark_filter`` on a key nobody is parked on makes no list and calls no filter, but still calls
its callback once, with the empty result, and checks the token it returns; ``UnparkBatch``
delivers a batch of one wake-up without its loop, and still delivers every wake-up of a larger
batch when one raises.  ``aio.Condition.notify`` with nobody waiting leaves the lot alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from async_helpers import run, until
from lot_helpers import all_bucket_locks_free, fresh_key, park_thread
from parking_lot import aio, core
from parking_lot.core import FilterOp, Unparked, UnparkResult
from parking_lot.thread_parker import UnparkBatch


class Boom(Exception):
    pass


def test_unpark_filter_with_nobody_parked_calls_the_callback_once_and_no_filter() -> None:
    key = fresh_key()
    filtered: list[int] = []
    results: list[UnparkResult] = []
    result = core.unpark_filter(key, lambda token: filtered.append(token) or FilterOp.Unpark,
                                lambda r: results.append(r) or 5)
    assert result == UnparkResult() and results == [UnparkResult()] and filtered == []
    with pytest.raises(TypeError, match="token returned by callback"):
        core.unpark_filter(key, lambda token: FilterOp.Unpark, lambda r: "token")
    with pytest.raises(ValueError, match="token returned by callback"):
        core.unpark_filter(key, lambda token: FilterOp.Unpark, lambda r: -1)
    with pytest.raises(TypeError, match="key must be an int"):
        core.unpark_filter("key", lambda token: FilterOp.Unpark, lambda r: 0)  # type: ignore[arg-type]
    assert all_bucket_locks_free()


def test_unpark_filter_only_looks_at_its_own_key_and_wakes_in_order() -> None:
    key = fresh_key()
    workers = [park_thread(key, park_token=token) for token in (1, 2, 3)]
    seen: list[int] = []
    result = core.unpark_filter(key, lambda t: seen.append(t) or (FilterOp.Skip if t == 2 else FilterOp.Unpark),
                                lambda r: 9)
    assert seen == [1, 2, 3]
    assert (result.unparked_threads, result.have_more_threads) == (2, True)
    assert workers[0].finish() == Unparked(9) and workers[2].finish() == Unparked(9)
    assert core.unpark_all(key, 4) == 1 and workers[1].finish() == Unparked(4)


class _Handle:
    def __init__(self, log: list[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail

    def unpark(self) -> None:
        self.log.append(self.name)
        if self.fail:
            raise Boom(self.name)


@pytest.mark.parametrize("size", [0, 1, 2, 3])
def test_unpark_batch_delivers_every_wake_up(size: int) -> None:
    log: list[str] = []
    with UnparkBatch() as batch:
        batch.extend(_Handle(log, str(i)) for i in range(size))
    assert log == [str(i) for i in range(size)] and batch == []


@pytest.mark.parametrize("size", [1, 3])
def test_unpark_batch_raises_the_first_error_after_delivering_the_rest(size: int) -> None:
    log: list[str] = []
    with pytest.raises(Boom, match="^0$"):
        with UnparkBatch() as batch:
            batch.extend(_Handle(log, str(i), fail=i in (0, 2)) for i in range(size))
    assert log == [str(i) for i in range(size)] and batch == []


def test_condition_notify_with_nobody_waiting_does_not_touch_the_lot(monkeypatch: pytest.MonkeyPatch) -> None:
    touched: list[Any] = []
    monkeypatch.setattr("parking_lot.raw.condvar.unpark_requeue", lambda *args: touched.append(args))

    async def body() -> None:
        cond = aio.Condition()
        async with cond:
            cond.notify()
            cond.notify(5)
            cond.notify_all()
        with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
            cond.notify()

    run(body)
    assert touched == []


def test_condition_notify_still_wakes_a_waiter() -> None:
    async def body() -> bool:
        cond = aio.Condition()

        async def waiter() -> bool:
            async with cond:
                return await cond.wait()

        task = asyncio.ensure_future(waiter())
        await until(lambda: core.parked_count(id(cond._cv)) == 1, "the waiter parked on the condvar")
        async with cond:
            cond.notify()
        return await task

    assert run(body) is True


def _no_park(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("parked although the predicate was already satisfied")


def test_a_wait_whose_predicate_already_holds_does_not_park(monkeypatch: pytest.MonkeyPatch) -> None:
    from parking_lot import Condvar, Mutex

    monkeypatch.setattr("parking_lot.aio.park_async", _no_park)
    monkeypatch.setattr("parking_lot.raw.condvar.park_async", _no_park)

    async def body() -> tuple[Any, Any]:
        cond = aio.Condition()
        async with cond:
            value = await cond.wait_for(lambda: 42)
        mutex, cv = Mutex([1]), Condvar()
        async with mutex.lock_async() as guard:
            result = await cv.wait_while_async(guard, lambda items: not items)
        return value, result.timed_out

    assert run(body) == (42, False)
