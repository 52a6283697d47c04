"""park_async: tasks park on the same queues as threads, with park's semantics and cancellation.

Every test runs its event loop with a bound (asyncio.wait_for around the test body, and
bounded joins for threads), so a lost wake-up fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
import time
from typing import Any

import pytest

from conftest import BOUND, run_child, start, subprocess_env
from async_helpers import run, until
from lot_helpers import fresh_key, park_thread, wait_parked
from parking_lot import core
from parking_lot.core import (
    FilterOp,
    Invalid,
    RequeueOp,
    TimedOut,
    Unparked,
    interrupted_result,
    park_async,
    parked_count,
    unpark_all,
    unpark_filter,
    unpark_one,
    unpark_requeue,
)


async def parked_task(key: int, raised: list[BaseException] | None = None, **kwargs: Any) -> asyncio.Task[Any]:
    """A task parked on *key* (timeout defaults to BOUND), once it is really queued.

    If *raised* is a list, the exception park_async raises inside the task is appended to
    it: awaiting a cancelled task from outside gives a new CancelledError before 3.11 (the
    task's own one only as its ``__context__``), so tests read the task's own exception here.
    """
    kwargs.setdefault("timeout", BOUND)
    before = parked_count(key)

    async def parked() -> Any:
        try:
            return await park_async(key, **kwargs)
        except BaseException as exc:
            if raised is not None:
                raised.append(exc)
            raise

    task = asyncio.ensure_future(parked())
    await until(lambda: parked_count(key) > before or task.done(), f"a task to park on {key:#x}")
    return task


def test_a_thread_wakes_a_task_with_its_token():
    key = fresh_key()

    async def body():
        task = await parked_task(key)
        waker = start(unpark_one, key, lambda result: 41)
        result = await task
        waker.finish()
        return result

    assert run(body) == Unparked(41)


def test_threads_and_tasks_share_one_fifo_queue():
    # thread, task, thread, task parked in that order: unpark_one wakes them in that order.
    key = fresh_key()
    order = iter(range(1, 100))

    async def body():
        thread_a = park_thread(key)
        task_b = await parked_task(key)
        thread_c = park_thread(key)
        task_d = await parked_task(key)
        wait_parked(key, 4)
        for _ in range(4):
            unpark_one(key, lambda result: next(order))
        return thread_a.finish(), await task_b, thread_c.finish(), await task_d

    assert run(body) == (Unparked(1), Unparked(2), Unparked(3), Unparked(4))


def test_unpark_all_wakes_threads_and_tasks():
    key = fresh_key()

    async def body():
        tasks = [await parked_task(key) for _ in range(3)]
        threads = [park_thread(key) for _ in range(2)]
        wait_parked(key, 5)
        assert unpark_all(key, 9) == 5
        return [await task for task in tasks] + [thread.finish() for thread in threads]

    assert run(body) == [Unparked(9)] * 5


def test_park_tokens_and_unpark_filter_see_tasks():
    key = fresh_key()

    async def body():
        tasks = {token: await parked_task(key, park_token=token) for token in (1, 2, 3, 4)}
        seen = []

        def keep_even(token: int) -> FilterOp:
            seen.append(token)
            return FilterOp.Unpark if token % 2 == 0 else FilterOp.Skip

        result = unpark_filter(key, keep_even, lambda result: 5)
        assert seen == [1, 2, 3, 4] and result.unparked_threads == 2
        assert await tasks[2] == await tasks[4] == Unparked(5)
        assert not tasks[1].done() and not tasks[3].done()
        assert unpark_all(key) == 2
        return [await tasks[1], await tasks[3]]

    assert run(body) == [Unparked(0), Unparked(0)]


def test_unpark_requeue_moves_a_task_and_reports_be_fair_when_it_wakes():
    key_from, key_to = fresh_key(), fresh_key()

    async def body():
        task = await parked_task(key_from)
        result = unpark_requeue(key_from, key_to, lambda: RequeueOp.RequeueAll, lambda op, result: 0)
        assert result.requeued_threads == 1
        assert parked_count(key_from) == 0 and parked_count(key_to) == 1
        fairness = []
        unpark_one(key_to, lambda result: fairness.append(result.be_fair) or 3)
        assert fairness == [True]  # it had waited once already
        return await task

    assert run(body) == Unparked(3)


def test_a_task_times_out_never_early_and_its_timed_out_runs():
    key = fresh_key()
    calls = []

    async def body():
        started = time.monotonic_ns()
        result = await park_async(key, timed_out=lambda k, last: calls.append((k, last)), timeout=0.02)
        return result, time.monotonic_ns() - started

    result, waited_ns = run(body)
    assert result is TimedOut and waited_ns >= 20_000_000
    assert calls == [(key, True)] and parked_count(key) == 0


def test_a_deadline_ns_in_the_past_times_out_at_once():
    key = fresh_key()

    async def body():
        return await park_async(key, deadline_ns=0)

    assert run(body) is TimedOut and parked_count(key) == 0


def test_validate_false_is_invalid_and_queues_nothing():
    key = fresh_key()

    async def body():
        return await park_async(key, validate=lambda: False)

    assert run(body) is Invalid and parked_count(key) == 0


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"key": -1}, ValueError),
        ({"key": 2**64}, ValueError),
        ({"key": "k"}, TypeError),
        ({"validate": 3}, TypeError),
        ({"park_token": -1}, ValueError),
        ({"timeout": -1.0}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"timeout": 1.0, "deadline": 1.0}, TypeError),
        ({"deadline_ns": 1.5}, TypeError),
    ],
)
def test_bad_arguments_raise_before_anything_is_queued(kwargs, error):
    kwargs = {"key": fresh_key(), **kwargs}

    async def body():
        before = core.statistics().threads_parked
        with pytest.raises(error):
            await park_async(**kwargs)
        assert core.statistics().threads_parked == before

    run(body)


def test_a_raising_before_sleep_leaves_the_queue_as_a_timeout_would():
    key = fresh_key()
    calls = []

    def before_sleep():
        raise KeyError("boom")

    async def body():
        with pytest.raises(KeyError) as caught:
            await park_async(key, before_sleep=before_sleep, timed_out=lambda k, last: calls.append(last))
        return interrupted_result(caught.value)

    assert run(body) is TimedOut
    assert calls == [True] and parked_count(key) == 0


def test_cancelled_while_parked_leaves_the_queue():
    key = fresh_key()
    calls = []
    raised: list[BaseException] = []

    async def body():
        task = await parked_task(key, raised, timed_out=lambda k, last: calls.append(last), timeout=None)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [exc] = raised
        assert isinstance(exc, asyncio.CancelledError)
        return interrupted_result(exc)

    assert run(body) is TimedOut
    assert calls == [True] and parked_count(key) == 0
    assert unpark_one(key).unparked_threads == 0  # nobody left to wake


def test_cancelled_after_an_unparker_took_it_reports_what_it_was_handed():
    # The unparker hands the task token 77 (say, ownership of a lock); the task is cancelled
    # before it runs again: interrupted_result says Unparked(77), so nothing handed is lost.
    key = fresh_key()
    calls = []
    raised: list[BaseException] = []

    async def body():
        task = await parked_task(key, raised, timed_out=lambda k, last: calls.append(last))
        assert unpark_one(key, lambda result: 77).unparked_threads == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [exc] = raised
        assert isinstance(exc, asyncio.CancelledError)
        return interrupted_result(exc)

    assert run(body) == Unparked(77)
    assert calls == [] and parked_count(key) == 0


def test_a_wake_from_a_thread_steps_the_task_in_the_loop_iteration_that_delivers_it():
    # The asyncio task parker is the Future-like object the task awaits: a wake-up from
    # another thread steps the task in the callback that delivers it, not one loop
    # iteration later (which completing an asyncio future there would cost).  A probe
    # sent right after the wake-up runs in the same iteration and finds the task resumed.
    key = fresh_key()
    resumed: list[object] = []
    seen: list[list[object]] = []

    async def body():
        loop = asyncio.get_running_loop()

        async def waiter() -> None:
            resumed.append(await park_async(key, timeout=BOUND))

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_count(key) == 1, "the task to park")

        def wake_then_probe() -> None:
            unpark_one(key, lambda result: 5)
            loop.call_soon_threadsafe(lambda: seen.append(list(resumed)))

        # This task holds the loop's thread until the thread is done, so the wake-up and
        # the probe wait in the loop's queue, in that order, for the same iteration.
        start(wake_then_probe).finish()
        await task
        return seen

    assert run(body) == [[Unparked(5)]]


def test_a_task_woken_from_a_thread_runs_in_its_own_context():
    # The wake-up is sent from a thread with that thread's context; the task's step must
    # still run in the task's own (contextvars, current_task).
    key = fresh_key()
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def body():
        async def waiter() -> tuple[object, str, bool]:
            var.set("the task's")
            me = asyncio.current_task()
            result = await park_async(key, timeout=BOUND)
            return result, var.get(), asyncio.current_task() is me

        task = asyncio.ensure_future(waiter())
        await until(lambda: parked_count(key) == 1, "the task to park")
        start(unpark_one, key).finish()
        return await task

    assert run(body) == (Unparked(0), "the task's", True)


def test_the_task_parker_keeps_the_future_protocol_asyncio_tasks_use():
    # asyncio.Task awaits the parker as a future (asyncio.isfuture): its outcome is decided
    # once (woken, expired or cancelled), whoever comes second finds it decided.
    async def body():
        loop = asyncio.get_running_loop()
        parker = core.TaskParker(loop)
        assert asyncio.isfuture(parker) and parker.get_loop() is loop
        assert not parker.done() and not parker.cancelled()
        with pytest.raises(asyncio.InvalidStateError):
            parker.result()
        calls: list[object] = []
        parker.add_done_callback(calls.append)
        with pytest.raises(RuntimeError, match="one task"):
            parker.add_done_callback(calls.append)
        assert parker.remove_done_callback(calls.append) == 1
        assert parker.remove_done_callback(calls.append) == 0
        parker.add_done_callback(calls.append)
        assert parker.cancel("why") is True
        assert parker.cancel() is False  # decided already
        parker.unpark()  # a wake-up after the cancel changes nothing
        assert parker.done() and parker.cancelled() and "cancelled" in repr(parker)
        with pytest.raises(asyncio.CancelledError, match="why"):
            parker.result()
        await asyncio.sleep(0)
        assert calls == [parker]  # the callback ran once, on the loop

        woken = core.TaskParker(loop)
        woken.unpark()  # on the loop's thread: decided at once
        assert woken.done() and not woken.cancelled() and woken.result() is None
        assert woken.exception() is None and woken.cancel() is False
        late: list[object] = []
        woken.add_done_callback(late.append)  # after the outcome: scheduled at once
        await asyncio.sleep(0)
        return late == [woken]

    assert run(body) is True


def test_cancelled_before_it_parks_queues_nothing():
    key = fresh_key()

    async def body():
        task = asyncio.ensure_future(park_async(key))
        task.cancel()  # before it ever runs
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        return parked_count(key)

    assert run(body) == 0


def test_asyncio_timeout_cancels_a_wait_cleanly():
    key = fresh_key()

    async def body():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(park_async(key), 0.01)
        return parked_count(key)

    assert run(body) == 0


def test_a_task_on_one_loop_wakes_a_task_on_another():
    key = fresh_key()
    parked = threading.Event()
    results: list[Any] = []

    def other_loop():
        async def wait():
            task = asyncio.ensure_future(park_async(key, timeout=BOUND))
            await until(lambda: parked_count(key) == 1, "the task on the other loop to park")
            parked.set()
            results.append(await task)

        asyncio.run(wait())

    worker = start(other_loop)
    assert parked.wait(BOUND)

    async def body():
        unpark_one(key, lambda result: 12)

    run(body)
    worker.finish()
    assert results == [Unparked(12)]


def test_a_task_wakes_a_parked_thread():
    key = fresh_key()
    thread = park_thread(key)

    async def body():
        return unpark_one(key, lambda result: 6).unparked_threads

    assert run(body) == 1
    assert thread.finish() == Unparked(6)


def test_a_task_whose_loop_moved_to_another_thread_is_woken_from_the_thread_it_parked_in():
    # The task parks while this thread runs its loop; then another thread runs the loop.
    # A wake from this thread (where the task parked, running no loop now) must reach the
    # loop through call_soon_threadsafe: scheduled without waking the loop's selector, it
    # would sit there and the task would not run before BOUND.
    key = fresh_key()
    loop = asyncio.new_event_loop()
    resumed = threading.Event()  # set by the task itself: nothing else may poke the loop

    async def waiter() -> Any:
        result = await park_async(key, timeout=BOUND)
        resumed.set()
        return result

    try:
        task = loop.create_task(waiter())
        loop.run_until_complete(until(lambda: parked_count(key) == 1, "the task to park"))
        runner = threading.Thread(target=loop.run_forever, daemon=True)
        runner.start()
        deadline = time.monotonic() + BOUND
        while not loop.is_running():
            assert time.monotonic() < deadline, "the loop never ran in the other thread"
            time.sleep(0.001)
        assert unpark_one(key, lambda result: 9).unparked_threads == 1
        assert resumed.wait(BOUND), "the wake-up did not reach the loop"

        async def outcome() -> Any:
            return await task

        assert asyncio.run_coroutine_threadsafe(outcome(), loop).result(BOUND) == Unparked(9)
    finally:
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
            runner.join(BOUND)
        loop.close()


def test_waking_a_task_whose_loop_is_closed_does_not_raise():
    key = fresh_key()
    loop = asyncio.new_event_loop()
    task = loop.create_task(park_async(key, timeout=BOUND))
    loop.run_until_complete(asyncio.sleep(0.01))
    assert parked_count(key) == 1
    loop.close()  # the task will never run again (asyncio warns that it is pending)
    waker = start(unpark_one, key, lambda result: 1)
    assert waker.finish().unparked_threads == 1
    assert parked_count(key) == 0
    task._log_destroy_pending = False  # the pending task is the point of this test


def _parked_on_a_stopped_loop(key: int, **kwargs: Any) -> tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]:
    loop = asyncio.new_event_loop()
    task = loop.create_task(park_async(key, timeout=BOUND, **kwargs))
    loop.run_until_complete(asyncio.sleep(0.01))
    assert parked_count(key) == 1
    return loop, task


def test_closing_a_parked_coroutine_never_blocks_even_under_its_bucket_lock():
    # The garbage collector closes the coroutine of a task whose loop is gone; it may do so in
    # a thread that holds a bucket lock (a table growth holds them all).  The close must not
    # wait for that lock (it used to: a self-deadlock that hung the suite); the loop, if it
    # still runs, takes the wait off the queue later.
    key = fresh_key()
    calls = []
    loop, task = _parked_on_a_stopped_loop(key, timed_out=lambda k, last: calls.append(last))
    bucket_lock = core.state.table.bucket_for(key).lock

    def close_holding_the_bucket_lock():
        with bucket_lock:
            task.get_coro().close()

    start(close_holding_the_bucket_lock).finish()  # bounded: a blocked close fails here
    assert parked_count(key) == 1 and calls == []
    loop.run_until_complete(asyncio.sleep(0.01))  # the loop's turn
    assert parked_count(key) == 0 and calls == [True]
    task._log_destroy_pending = False
    loop.close()


def test_closing_a_parked_coroutine_leaves_the_queue_at_once_when_it_can():
    key = fresh_key()
    calls = []
    loop, task = _parked_on_a_stopped_loop(key, timed_out=lambda k, last: calls.append(last))
    loop.close()
    task.get_coro().close()
    assert parked_count(key) == 0 and calls == [True]
    task._log_destroy_pending = False


_TEN_THOUSAND = """
import asyncio, gc
from parking_lot import core
from parking_lot.core import Unparked, park_async, unpark_one

async def main():
    keys = [id(object()) * 2 + 2**40 + 2 * i for i in range(10_000)]
    before = core.statistics().buckets
    tasks = [asyncio.ensure_future(park_async(key, timeout=60)) for key in keys]
    for _ in range(100_000):
        if core.statistics().threads_parked >= len(keys):
            break
        await asyncio.sleep(0.001)
    buckets = core.statistics().buckets
    longest = max(len(bucket.queue) for bucket in core.state.table.buckets)
    for key in keys:
        unpark_one(key)
    results = await asyncio.gather(*tasks)
    assert all(result == Unparked(0) for result in results), "a task was not woken"
    del tasks
    gc.collect()
    print(before, buckets, longest, core.state.waiting_tasks)

asyncio.run(main())
"""


def test_ten_thousand_waiting_tasks_keep_the_buckets_short():
    # In a child process: the table never shrinks, and 30,000 buckets would slow every later
    # test that looks at all of them.
    result = run_child([sys.executable, "-c", _TEN_THOUSAND], capture_output=True, text=True,
                       timeout=max(BOUND, 120), env=subprocess_env())
    assert result.returncode == 0, result.stdout + result.stderr
    before, buckets, longest, waiting = map(int, result.stdout.split())
    assert buckets >= 10_000 > before
    assert longest <= 16, f"a bucket holds {longest} waiters"
    assert waiting == 0


def test_mixed_stress_threads_and_tasks_hand_a_baton_around():
    # A baton (a token) passes through N threads and M tasks on one key: each waiter, woken,
    # counts and wakes the next. Exact counts, no lost wake-up, bounded.
    key = fresh_key()
    rounds = 200
    count = [0]
    lock = threading.Lock()
    done = threading.Event()

    def count_one() -> bool:
        """Count a round; True when it was the last (then everyone is released)."""
        with lock:
            count[0] += 1
            finished = count[0] >= rounds
        if finished:
            done.set()
            unpark_all(key)
        return finished

    def thread_body():
        while not done.is_set():
            # validate: a thread that checked `done` just before the last round's unpark_all must
            # not then park for good (it sees `done` under the bucket lock, or is queued in time).
            if core.park(key, validate=lambda: not done.is_set(), timeout=BOUND) is TimedOut:
                raise AssertionError("a thread waited BOUND seconds for the baton")
            if not done.is_set() and not count_one():
                while unpark_one(key).unparked_threads == 0 and not done.is_set():
                    time.sleep(0.0001)

    async def task_body():
        while not done.is_set():
            if await park_async(key, validate=lambda: not done.is_set(), timeout=BOUND) is TimedOut:
                raise AssertionError("a task waited BOUND seconds for the baton")
            if not done.is_set() and not count_one():
                # Wait for the next waiter without blocking the loop: the waiter may be a
                # task of this loop that has not parked again yet (a time.sleep here held the
                # loop until a thread came round; under Wine that cost the test its bound).
                while unpark_one(key).unparked_threads == 0 and not done.is_set():
                    await asyncio.sleep(0)

    threads = [start(thread_body) for _ in range(3)]

    async def body():
        tasks = [asyncio.ensure_future(task_body()) for _ in range(3)]
        await until(lambda: parked_count(key) == 6, "six waiters")
        unpark_one(key)  # the first baton
        await asyncio.gather(*tasks)

    run(body)
    for thread in threads:
        thread.finish()
    assert count[0] >= rounds and parked_count(key) == 0
