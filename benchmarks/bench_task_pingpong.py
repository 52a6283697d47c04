"""Where a task-to-task ping-pong round trip's time goes (issue #17's rows of ``python -m parking_lot bench``).

Prints two tables, in one process:

* per round trip (medians of interleaved rounds, µs): the bench rows' own bodies
  (``parking_lot.bench``) against asyncio's, and a bare ``park_async`` / ``unpark_one``
  ping-pong between two tasks, the floor the primitives stand on;
* per call with one task parked (medians of ``perf_counter_ns`` readings around the one call,
  ns): ``park_async`` up to its suspension and after its wake-up, ``unpark_one`` /
  ``unpark_filter`` that wake it, and what asyncio pays for the same steps (a future made and
  completed; ``set_result`` on a future a task awaits).

Run: ``python benchmarks/bench_task_pingpong.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

from parking_lot import aio, bench
from parking_lot.core import FilterOp, park_async, unpark_filter, unpark_one

_pc = time.perf_counter_ns


async def _core_pingpong(n: int) -> float:
    """Two tasks take turns through ``park_async`` / ``unpark_one`` alone, *n* round trips."""
    keys = (id(object()), id(object()))
    turn = [0]

    async def side(me: int) -> None:
        mine, other = keys[me], keys[1 - me]
        for _ in range(n):
            while turn[0] != me:
                await park_async(mine, lambda: turn[0] != me)
            turn[0] = 1 - me
            unpark_one(other)

    started = time.perf_counter()
    await asyncio.gather(side(0), side(1))
    return time.perf_counter() - started


def round_trips(n: int, rounds: int) -> dict[str, float]:
    """µs per round trip, medians over *rounds* interleaved rounds of *n* round trips each."""
    candidates: dict[str, Callable[[int], float]] = {
        "park_async / unpark_one alone": bench._timed_on_a_loop(_core_pingpong),
        "aio.Event": bench._aio_event_pingpong(aio),
        "asyncio.Event": bench._aio_event_pingpong(asyncio),
        "aio.Condition": bench._aio_condition_pingpong(aio),
        "asyncio.Condition": bench._aio_condition_pingpong(asyncio),
        "Mutex + Condvar (async twins)": bench.condvar_pingpong_tasks,
        "asyncio.Condition (same protocol)": bench.condition_pingpong_tasks,
    }
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for name, candidate in candidates.items():
        candidate(n // 10)  # warm-up
    for _ in range(rounds):
        for name, candidate in candidates.items():
            samples[name].append(candidate(n) / n * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


async def _per_call(n: int) -> dict[str, float]:
    key = id(object())
    loop = asyncio.get_running_loop()
    out: dict[str, float] = {}

    def every(_token: int) -> FilterOp:
        return FilterOp.Unpark

    wakers: dict[str, Callable[[], object]] = {
        "unpark_one(key) waking it": lambda: unpark_one(key),
        "unpark_one(key, callback) waking it": lambda: unpark_one(key, lambda result: 0),
        "unpark_filter(key, every, callback) waking it": lambda: unpark_filter(key, every, lambda result: 0),
    }
    for name, wake in wakers.items():
        times = []
        for _ in range(n):
            waiter = asyncio.ensure_future(park_async(key))
            await asyncio.sleep(0)  # it parks
            before = _pc(); wake(); after = _pc()
            times.append(after - before)
            await waiter
        out[name] = statistics.median(times)
    suspend, resume = [], []
    for _ in range(n):
        coroutine: Coroutine[Any, Any, object] = park_async(key)
        before = _pc(); coroutine.send(None); after = _pc()  # up to its await of the future
        suspend.append(after - before)
        unpark_one(key)
        before = _pc()
        try:
            coroutine.send(None)
        except StopIteration:
            pass
        after = _pc()
        resume.append(after - before)
    out["park_async up to its suspension"] = statistics.median(suspend)
    out["park_async after its wake-up"] = statistics.median(resume)
    made = []
    for _ in range(n):
        before = _pc(); future = loop.create_future(); future.set_result(None); after = _pc()
        made.append(after - before)
    out["asyncio: create_future + set_result"] = statistics.median(made)
    woken = []
    for _ in range(n):
        future = loop.create_future()
        task = asyncio.ensure_future(_await(future))
        await asyncio.sleep(0)
        before = _pc(); future.set_result(None); after = _pc()
        woken.append(after - before)
        await task
    out["asyncio: set_result on a future a task awaits"] = statistics.median(woken)
    return out


async def _await(future: asyncio.Future[None]) -> None:
    await future


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer round trips and rounds")
    args = parser.parse_args()
    n, rounds, calls = (2_000, 3, 2_000) if args.quick else (20_000, 5, 20_000)
    print(f"per round trip (µs, medians of {rounds} interleaved rounds of {n}):")
    for name, micros in round_trips(n, rounds).items():
        print(f"  {name:40s} {micros:7.2f}")
    print(f"per call, one task parked (ns, medians of {calls}):")
    for name, nanos in asyncio.run(_per_call(calls)).items():
        print(f"  {name:48s} {nanos:7.0f}")


if __name__ == "__main__":
    main()
