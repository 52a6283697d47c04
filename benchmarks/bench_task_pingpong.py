"""Where a task-to-task ping-pong round trip's time goes (issue #17's rows of ``python -m parking_lot bench``).

Prints two tables, in one process:

* per round trip (medians of interleaved rounds, µs): the bench rows' own bodies
  (``parking_lot.bench``) against asyncio's, a bare ``park_async`` / ``unpark_one``
  ping-pong between two tasks, the floor the primitives stand on, and the "floor Event" rows:
  the Event ping-pong on a single-waiter Event with no lot and no thread safety at all
  (:class:`_FloorEvent`), awaiting an asyncio future or a TaskParker, and with the least a lot
  written in C through cffi would add (:class:`_CffiLotSketch`: three cffi calls per wait and
  per set, a handle per waiter) -- what no Event that also serves threads can beat;
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
from parking_lot.core import FilterOp, TaskParker, park_async, unpark_filter, unpark_one

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


class _FloorEvent:
    """A measuring stick, not a primitive: an Event for one waiting task on one loop, with no
    lot, no tokens, no timeouts and no thread safety at all.  ``wait`` awaits a fresh asyncio
    future (or, with *parker*, a :class:`~parking_lot.core.TaskParker`) and ``set`` completes it.
    What any Event must at least pay; one that also serves threads pays more."""

    __slots__ = ("flag", "waiter", "parker")

    def __init__(self, parker: bool) -> None:
        self.flag, self.parker = False, parker
        self.waiter: Any = None

    def clear(self) -> None:
        self.flag = False

    def set(self) -> None:
        self.flag = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None:
            if self.parker:
                waiter.unpark()
            else:
                waiter.set_result(None)

    async def wait(self) -> bool:
        if not self.flag:
            loop = asyncio.get_running_loop()
            self.waiter = waiter = TaskParker(loop) if self.parker else loop.create_future()
            await waiter
        return True


class _CffiLotSketch(_FloorEvent):
    """:class:`_FloorEvent` (with an asyncio future) plus the least a lot written in C through cffi
    would add: a bucket lock taken and released around the queue step (three cffi calls on a
    state word, in ``wait`` as in ``set``), the flag re-checked under it (``validate``), and the
    waiter kept as a cffi handle (``ffi.new_handle`` / ``ffi.from_handle``)."""

    __slots__ = ("word", "cas", "store", "new_handle", "from_handle")

    def __init__(self) -> None:
        from parking_lot._ffi._atomics import ffi, lib  # type: ignore[import-not-found, unused-ignore]

        super().__init__(parker=False)
        self.word, self.cas, self.store = ffi.new("int64_t *"), lib.pl_word_cas, lib.pl_word_store
        self.new_handle, self.from_handle = ffi.new_handle, ffi.from_handle

    def set(self) -> None:
        word = self.word
        self.cas(word, 0, 1)  # the bucket lock
        self.flag = True
        entry, self.waiter = self.waiter, None
        self.cas(word, 1, 1)  # the queue step
        self.store(word, 0)  # the unlock
        if entry is not None:
            self.from_handle(entry).set_result(None)

    async def wait(self) -> bool:
        if self.flag:
            return True
        waiter = asyncio.get_running_loop().create_future()
        entry = self.new_handle(waiter)
        word = self.word
        self.cas(word, 0, 1)  # the bucket lock
        if self.flag:  # validate
            self.store(word, 0)
            return True
        self.waiter = entry
        self.cas(word, 1, 1)  # the queue step
        self.store(word, 0)  # the unlock
        await waiter
        return True


def _floor_event_pingpong(make_event: Callable[[], _FloorEvent]) -> Callable[[int], float]:
    """The Event ping-pong of the bench row on two events that *make_event* gives."""

    async def body(n: int) -> float:
        events = (make_event(), make_event())

        async def side(me: int) -> None:
            for _ in range(n):
                await events[me].wait()
                events[me].clear()
                events[1 - me].set()

        events[0].set()
        started = time.perf_counter()
        await asyncio.gather(side(0), side(1))
        return time.perf_counter() - started

    return bench._timed_on_a_loop(body)


def _atomics_built() -> bool:
    try:
        import parking_lot._ffi._atomics  # noqa: F401  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    return True


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
        "floor Event: asyncio future, no lot": _floor_event_pingpong(lambda: _FloorEvent(parker=False)),
        "floor Event: TaskParker, no lot": _floor_event_pingpong(lambda: _FloorEvent(parker=True)),
    }
    if _atomics_built():
        candidates["floor Event: a cffi lot's least"] = _floor_event_pingpong(_CffiLotSketch)
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
