"""``python -m parking_lot bench``: our primitives against the standard library (and peers), one table.

Every scenario times our primitive and its reference the same way, interleaved
(A B A B ...) over several rounds after a discarded warm-up, and quotes medians:
a noisy neighbour slows both alike, so the *ratio* is the figure to read.
``ratio`` is our throughput over the reference's (above 1: we are faster).

The scripts in ``benchmarks/`` print more detail for each layer.  They use this
module's harness (:func:`measure`, :func:`report`: the same interleaving, and the
same convention, a candidate's throughput over the reference's) and its scenario
code, so every scenario is defined once.

Every helper thread a scenario starts is a daemon thread: when Ctrl-C stops the main
thread in the middle of a scenario, a helper left waiting for its partner (a ping-pong,
a barrier round) would otherwise keep the process from exiting.

Nothing in the harness waits without a bound: every join and start barrier gives up after
:data:`JOIN_BOUND` seconds, and a round that takes longer than :data:`STALL_BOUND` seconds
has every thread's stack written to stderr; both end the run with :class:`ScenarioHung`
naming the scenario, so a lost wake-up is a loud failure, never a process asleep.
"""

from __future__ import annotations

import _thread
import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

from . import aio, compat, core
from .condvar import Condvar
from .mutex import FairMutex, Mutex
from .raw.mutex import RawMutex
from .rwlock import RwLock

Candidate = Callable[[int], float]  # fn(n) -> seconds for n operations

#: The longest a benchmark waits for its helper threads (a join, a start barrier), in seconds:
#: far above any round's length on a loaded machine, so that only a hang reaches it.
JOIN_BOUND = 300.0
#: A round of one scenario that takes longer than this (seconds) is taken for a hang: every
#: thread's stack goes to stderr and the main thread is interrupted (see :func:`run`).
STALL_BOUND = 600.0
#: How long the watchdog waits for the interrupted main thread before it ends the process (seconds).
_INTERRUPT_GRACE = 30.0


class ScenarioHung(RuntimeError):
    """A scenario's threads did not finish within the bound: a lost wake-up, or a helper thread
    that raised and left its partner waiting.  The message names the scenario and the thread."""


def _join(threads: list[threading.Thread], what: str, bound: float = JOIN_BOUND) -> None:
    """Join *threads* within *bound* seconds in all; raise :class:`ScenarioHung` naming *what*
    (the scenario's function) and the first thread still running, instead of waiting forever."""
    deadline = time.monotonic() + bound
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            raise ScenarioHung(f"{what}: thread {thread.name!r} still running after {bound:g}s "
                               "(a lost wake-up, or a partner thread that raised)")


def _start_barrier(parties: int) -> threading.Barrier:
    """A start barrier whose waits are bounded (``threading.BrokenBarrierError`` after
    :data:`JOIN_BOUND` seconds): a helper that raised before arriving cannot hang the others."""
    return threading.Barrier(parties, timeout=JOIN_BOUND)


# --- compat scenarios, parametrised by module (threading or parking_lot.compat) ---------------------


def with_lock(mod: ModuleType, kind: str) -> Candidate:
    """``with lock: pass`` *n* times on one ``mod.<kind>()`` (kind: ``"Lock"``, ``"RLock"``).

    Args:
        mod: ``threading`` or :mod:`parking_lot.compat`.
        kind: the name of the lock class in *mod*.

    Returns:
        A candidate: ``run(n)`` returns the seconds (float, ``time.perf_counter``) taken.
    """
    def run(n: int) -> float:
        lock = getattr(mod, kind)()
        started = time.perf_counter()
        for _ in range(n):
            with lock:
                pass
        return time.perf_counter() - started

    return run


def acquire_release(mod: ModuleType) -> Candidate:
    """A candidate: ``acquire(); release()`` *n* times on one ``mod.Lock()`` (seconds returned)."""
    def run(n: int) -> float:
        lock = mod.Lock()
        acquire, release = lock.acquire, lock.release
        started = time.perf_counter()
        for _ in range(n):
            acquire()
            release()
        return time.perf_counter() - started

    return run


def semaphore(mod: ModuleType) -> Candidate:
    """A candidate: ``acquire(); release()`` *n* times on one ``mod.Semaphore(1)`` (seconds returned)."""
    def run(n: int) -> float:
        sem = mod.Semaphore(1)
        acquire, release = sem.acquire, sem.release
        started = time.perf_counter()
        for _ in range(n):
            acquire()
            release()
        return time.perf_counter() - started

    return run


def event_wait_set(mod: ModuleType) -> Candidate:
    """A candidate: ``wait()`` *n* times on a set ``mod.Event()`` (seconds returned)."""
    def run(n: int) -> float:
        event = mod.Event()
        event.set()
        wait = event.wait
        started = time.perf_counter()
        for _ in range(n):
            wait()
        return time.perf_counter() - started

    return run


def event_pingpong(mod: ModuleType) -> Candidate:
    """Two threads alternate through two events, *n* round trips."""

    def run(n: int) -> float:
        ping, pong = mod.Event(), mod.Event()

        def other() -> None:
            for _ in range(n):
                ping.wait()
                ping.clear()
                pong.set()

        thread = threading.Thread(target=other, daemon=True)
        started = time.perf_counter()
        thread.start()
        for _ in range(n):
            ping.set()
            pong.wait()
            pong.clear()
        _join([thread], "event_pingpong")
        return time.perf_counter() - started

    return run


def barrier_rounds(mod: ModuleType, parties: int = 8) -> Candidate:
    """*parties* threads pass the barrier *n* times."""

    def run(n: int) -> float:
        barrier = mod.Barrier(parties)

        def party() -> None:
            for _ in range(n):
                barrier.wait()

        threads = [threading.Thread(target=party, daemon=True) for _ in range(parties - 1)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        party()
        _join(threads, "barrier_rounds")
        return time.perf_counter() - started

    return run


def condition_pingpong(mod: ModuleType) -> Candidate:
    """A candidate: two threads take turns through one ``mod.Condition()``, *n* round trips (seconds returned)."""
    def run(n: int) -> float:
        cond = mod.Condition(mod.Lock())
        turn = [0]

        def player(me: int) -> None:
            for _ in range(n):
                with cond:
                    while turn[0] != me:
                        cond.wait()
                    turn[0] = 1 - me
                    cond.notify()

        other = threading.Thread(target=player, args=(1,), daemon=True)
        started = time.perf_counter()
        other.start()
        player(0)
        _join([other], "condition_pingpong")
        return time.perf_counter() - started

    return run


def condition_notify_all(mod: ModuleType, waiters: int = 16) -> Candidate:
    """*waiters* threads wait; the main thread notify_all()s; all re-take the lock. *n* rounds.

    Arrivals are announced on a second condition of the same lock, so that the
    figure is the broadcast's, not a storm of arrival notifications.
    """

    def run(rounds: int) -> float:
        lock = mod.Lock()
        cond, arrivals = mod.Condition(lock), mod.Condition(lock)
        state = {"generation": 0, "arrived": 0}

        def waiter() -> None:
            for round_no in range(rounds):
                with cond:
                    state["arrived"] += 1
                    arrivals.notify()
                    while state["generation"] <= round_no:
                        cond.wait()

        threads = [threading.Thread(target=waiter, daemon=True) for _ in range(waiters)]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        for round_no in range(rounds):
            with cond:
                while state["arrived"] < waiters * (round_no + 1):
                    arrivals.wait()
                state["generation"] += 1
                cond.notify_all()
        _join(threads, "condition_notify_all")
        return time.perf_counter() - started

    return run



# --- the crate-style locks --------------------------------------------------------------------------


def with_mutex(n: int) -> float:
    """``with Mutex(None).lock(): pass`` *n* times; the seconds (float) it took."""
    mutex = Mutex(None)
    started = time.perf_counter()
    for _ in range(n):
        with mutex.lock():
            pass
    return time.perf_counter() - started


def _timed_on_a_loop(body: Callable[[int], Any]) -> Candidate:
    """A candidate that runs the coroutine function ``body(n)`` on a fresh event loop.

    Only the coroutine's own run is timed (its ``time.perf_counter`` seconds, which it
    returns), not the loop's creation and closing.  A Ctrl-C that lands before the loop has
    started the coroutine closes it (no "coroutine was never awaited" warning after the
    interrupt).
    """
    def run(n: int) -> float:
        """The seconds (float) *n* operations took, timed inside the loop."""
        coroutine = None
        try:
            coroutine = body(n)
            seconds: float = asyncio.run(coroutine)
        finally:
            if coroutine is not None:
                coroutine.close()  # nothing for a coroutine that ran to its end
        return seconds

    return run


async def _async_with_mutex(n: int) -> float:
    mutex = Mutex(None)
    started = time.perf_counter()
    for _ in range(n):
        async with mutex.lock_async():
            pass
    return time.perf_counter() - started


async def _async_with_asyncio_lock(n: int) -> float:
    lock = asyncio.Lock()
    started = time.perf_counter()
    for _ in range(n):
        async with lock:
            pass
    return time.perf_counter() - started


#: ``async with Mutex(None).lock_async(): pass`` *n* times in one task; the seconds (float) it took.
async_with_mutex = _timed_on_a_loop(_async_with_mutex)
#: ``async with asyncio.Lock(): pass`` *n* times in one task; the seconds (float) it took.
async_with_asyncio_lock = _timed_on_a_loop(_async_with_asyncio_lock)


# --- parking_lot.aio against asyncio: the same coroutine with either module's classes ---------


def _aio_async_with_lock(mod: ModuleType) -> Candidate:
    async def body(n: int) -> float:
        lock = mod.Lock()
        started = time.perf_counter()
        for _ in range(n):
            async with lock:
                pass
        return time.perf_counter() - started

    return _timed_on_a_loop(body)


def _aio_event_wait_set(mod: ModuleType) -> Candidate:
    async def body(n: int) -> float:
        event = mod.Event()
        event.set()
        wait = event.wait
        started = time.perf_counter()
        for _ in range(n):
            await wait()
        return time.perf_counter() - started

    return _timed_on_a_loop(body)


def _aio_semaphore(mod: ModuleType) -> Candidate:
    async def body(n: int) -> float:
        sem = mod.Semaphore(1)
        started = time.perf_counter()
        for _ in range(n):
            async with sem:
                pass
        return time.perf_counter() - started

    return _timed_on_a_loop(body)


def _check_alternated(what: str, out_of_turn: int, rounds: list[int], n: int) -> None:
    """AssertionError unless each of a ping-pong's two sides ran its *n* turns, none out of turn."""
    if out_of_turn or rounds != [n, n]:
        raise AssertionError(f"{what}: the sides did not alternate ({out_of_turn} turns out of turn, "
                             f"turns per side {rounds}, {n} expected)")


def _aio_condition_pingpong(mod: ModuleType) -> Candidate:
    """Two tasks take turns through one Condition: *n* round trips."""

    async def body(n: int) -> float:
        cond, turn, rounds, out_of_turn = mod.Condition(), [0], [0, 0], [0]

        async def side(me: int) -> None:
            for _ in range(n):
                async with cond:
                    await cond.wait_for(lambda: turn[0] == me)
                    if turn[0] != me:
                        out_of_turn[0] += 1
                    turn[0] = 1 - me
                    rounds[me] += 1
                    cond.notify()

        started = time.perf_counter()
        await asyncio.gather(side(0), side(1))
        elapsed = time.perf_counter() - started
        _check_alternated("aio condition ping-pong", out_of_turn[0], rounds, n)
        return elapsed

    return _timed_on_a_loop(body)


def _aio_event_pingpong(mod: ModuleType) -> Candidate:
    """Two tasks, two events, *n* round trips: each awaits its event, clears it, sets the other's."""

    async def body(n: int) -> float:
        events, turn, rounds, out_of_turn = (mod.Event(), mod.Event()), [0], [0, 0], [0]

        async def side(me: int) -> None:
            mine, other = events[me], events[1 - me]
            for _ in range(n):
                await mine.wait()
                mine.clear()
                if turn[0] != me:
                    out_of_turn[0] += 1
                turn[0] = 1 - me
                rounds[me] += 1
                other.set()

        events[0].set()
        started = time.perf_counter()
        await asyncio.gather(side(0), side(1))
        elapsed = time.perf_counter() - started
        _check_alternated("aio event ping-pong", out_of_turn[0], rounds, n)
        return elapsed

    return _timed_on_a_loop(body)


async def _condvar_pingpong_tasks(n: int) -> float:
    """Two tasks take turns through a :class:`Mutex` and a :class:`Condvar` (``lock_async``,
    ``wait_while_async``, ``notify_one``), *n* round trips; the seconds taken."""
    mutex, cv, rounds, out_of_turn = Mutex([0]), Condvar(), [0, 0], [0]

    async def side(me: int) -> None:
        for _ in range(n):
            async with mutex.lock_async() as guard:
                await cv.wait_while_async(guard, lambda turn: turn[0] != me)
                if guard.value[0] != me:
                    out_of_turn[0] += 1
                guard.value[0] = 1 - me
                rounds[me] += 1
                cv.notify_one()

    started = time.perf_counter()
    await asyncio.gather(side(0), side(1))
    elapsed = time.perf_counter() - started
    _check_alternated("condvar ping-pong, 2 tasks", out_of_turn[0], rounds, n)
    return elapsed


#: Two tasks take turns through a Mutex and a Condvar (the awaitable twins), *n* round trips.
condvar_pingpong_tasks = _timed_on_a_loop(_condvar_pingpong_tasks)
#: The same protocol on one ``asyncio.Condition``, *n* round trips (the aio row's reference).
condition_pingpong_tasks = _aio_condition_pingpong(asyncio)


def _aio_notify_all(mod: ModuleType, waiters: int = 100) -> Candidate:
    """*n* rounds: *waiters* tasks wait on one Condition, one notify_all lets them all through."""

    async def body(n: int) -> float:
        cond = mod.Condition()
        elapsed = 0.0
        for _ in range(n):
            state = {"go": False, "ready": 0}

            async def waiter() -> None:
                async with cond:
                    state["ready"] += 1
                    await cond.wait_for(lambda: state["go"])

            tasks = [asyncio.ensure_future(waiter()) for _ in range(waiters)]
            while state["ready"] < waiters:
                await asyncio.sleep(0)
            started = time.perf_counter()
            async with cond:
                state["go"] = True
                cond.notify_all()
            await asyncio.gather(*tasks)
            elapsed += time.perf_counter() - started
        return elapsed

    return _timed_on_a_loop(body)


def raw_mutex_pair(n: int) -> float:
    """``RawMutex.lock(); unlock()`` *n* times; the seconds (float) it took."""
    raw = RawMutex()
    lock, unlock = raw.lock, raw.unlock
    started = time.perf_counter()
    for _ in range(n):
        lock()
        unlock()
    return time.perf_counter() - started


def rwlock_read(n: int) -> float:
    """``with RwLock(None).read(): pass`` *n* times; the seconds (float) it took."""
    rw = RwLock(None)
    read = rw.read
    started = time.perf_counter()
    for _ in range(n):
        with read():
            pass
    return time.perf_counter() - started


def _peer_rwlock_read(make_read: Callable[[], Callable[[], Any]]) -> Candidate:
    """*make_read()* sets a peer's lock up and returns what gives a read context manager."""

    def run(n: int) -> float:
        read = make_read()
        started = time.perf_counter()
        for _ in range(n):
            with read():
                pass
        return time.perf_counter() - started

    return run


def _rwlockfair_reader() -> Callable[[], Any]:
    from readerwriterlock import rwlock as rwl  # type: ignore[import-not-found, import-untyped, unused-ignore]

    reader = rwl.RWLockFair().gen_rlock()  # reusable: the same object enters every time
    return lambda: reader


def _fasteners_reader() -> Callable[[], Any]:
    import fasteners  # type: ignore[import-not-found, import-untyped, unused-ignore]

    read: Callable[[], Any] = fasteners.ReaderWriterLock().read_lock  # a fresh context manager per read
    return read


def counter_4_threads(make_cm: Callable[[], Callable[[], Any]]) -> Candidate:
    """A candidate: 4 threads each increment a shared counter ``n // 4`` times under a lock.

    Args:
        make_cm: called once per run; returns what gives the context manager that
            guards each increment (``mutex.lock``, or a lambda returning a lock object).

    Returns:
        ``run(n)``, which returns the seconds (float) from the start signal to the last join.
    """
    def run(n: int) -> float:
        cm = make_cm()
        counter = [0]
        per_thread = n // 4
        ready = _start_barrier(5)

        def work() -> None:
            ready.wait()
            for _ in range(per_thread):
                with cm():
                    counter[0] += 1

        workers = [threading.Thread(target=work, daemon=True) for _ in range(4)]
        for worker in workers:
            worker.start()
        ready.wait()
        started = time.perf_counter()
        _join(workers, "counter_4_threads")
        elapsed = time.perf_counter() - started
        if counter[0] != 4 * per_thread:
            raise AssertionError(f"the lock let increments through: {counter[0]} of {4 * per_thread}")
        return elapsed

    return run


def threads_on_one_lock(threads: int, make_cms: Callable[[], tuple[Callable[[], Any], Callable[[], Any]]],
                        writes_every: int = 1, own_lock: bool = False) -> Candidate:
    """A candidate: *threads* threads share ``n`` rounds on one lock, every *writes_every*-th a write.

    Args:
        threads: how many threads run at once (each does ``n // threads`` rounds).
        make_cms: called once per run; returns ``(read, write)``, each giving the context
            manager of one round (``rw.read``, ``rw.write``; for a plain lock, the same one twice).
        writes_every: 1: every round writes (a shared counter); 10: 9 reads, then a write
            (``value = counter[0]`` under the read lock, ``counter[0] += 1`` under the write lock);
            0: reads only.
        own_lock: each thread makes and uses its own lock instead (the floor: no line shared).

    Returns:
        ``run(n)``, which returns the seconds (float) from the start signal to the last join,
        and checks that no write was lost.
    """
    def run(n: int) -> float:
        shared = make_cms()
        counter = [0]
        per_thread = n // threads
        ready = _start_barrier(threads + 1)

        def work() -> None:
            read, write = make_cms() if own_lock else shared
            ready.wait()
            for i in range(per_thread):
                if writes_every and i % writes_every == writes_every - 1:
                    with write():
                        counter[0] += 1
                else:
                    with read():
                        counter[0]

        workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        ready.wait()
        started = time.perf_counter()
        _join(workers, f"threads_on_one_lock({threads} threads)")
        elapsed = time.perf_counter() - started
        expected = threads * (per_thread // writes_every if writes_every else 0)
        if counter[0] != expected:
            raise AssertionError(f"the lock let writes through: {counter[0]} of {expected}")
        return elapsed

    return run


def _mutex_cms() -> tuple[Callable[[], Any], Callable[[], Any]]:
    mutex = Mutex(None)
    return mutex.lock, mutex.lock


def _rwlock_cms() -> tuple[Callable[[], Any], Callable[[], Any]]:
    rw = RwLock(None)
    return rw.read, rw.write


def _threading_lock_cms() -> tuple[Callable[[], Any], Callable[[], Any]]:
    lock = threading.Lock()
    return _lock_cm(lock), _lock_cm(lock)


def free_threaded_scenarios() -> list[Scenario]:
    """Rows for free-threaded builds: one and two threads on one lock, against ``threading.Lock``.

    The one-thread rows give the scaling: a two-thread row's ops/s over the one-thread row's
    (the same work split over two threads; 2.0 is perfect scaling, 1.0 none).  The last row,
    each thread reading its own RwLock, is the floor two readers of one lock could reach.
    """
    items = []
    for threads in (1, 2):
        label = f"{threads} thread{'s' if threads > 1 else ''}"
        for name, ours_name, make, writes_every in (
            ("Mutex counter", "Mutex", _mutex_cms, 1),
            ("RwLock reads", "RwLock.read()", _rwlock_cms, 0),
            ("RwLock 9 reads:1 write", "RwLock read/write", _rwlock_cms, 10),
        ):
            items.append(Scenario(f"{label}, {name}", ours_name, threads_on_one_lock(threads, make, writes_every),
                                  f"threading.Lock, {label}", threads_on_one_lock(threads, _threading_lock_cms, writes_every),
                                  200_000, 40_000))
    # The floor for two readers: each thread on its own lock (nothing shared but the interpreter).
    items.append(Scenario("2 threads, own RwLock each, reads", "RwLock.read()",
                          threads_on_one_lock(2, _rwlock_cms, 0, own_lock=True), "own threading.Lock each",
                          threads_on_one_lock(2, _threading_lock_cms, 0, own_lock=True), 200_000, 40_000))
    return items


def fairness_spread(make_cm: Callable[[], Any], seconds: float, threads: int = 4) -> float:
    """max/min acquisitions per thread while *threads* threads take ``make_cm()`` for *seconds*.

    1.0 is perfectly even; a lock that lets one thread re-take it while others wait
    (eventual fairness, or none) shows larger figures.
    """
    counts = [0] * threads
    stop = threading.Event()
    ready = _start_barrier(threads + 1)

    def work(index: int) -> None:
        ready.wait()
        while not stop.is_set():
            with make_cm():
                counts[index] += 1

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    time.sleep(seconds)
    stop.set()
    _join(workers, "fairness_spread")
    return max(counts) / max(1, min(counts))


def condvar_pingpong(n: int) -> float:
    """Two threads take turns through a :class:`Mutex` and a :class:`Condvar`, *n* round trips; the seconds taken."""
    mutex, cv = Mutex([0]), Condvar()

    def player(me: int) -> None:
        for _ in range(n):
            with mutex.lock() as guard:
                cv.wait_while(guard, lambda turn: turn[0] != me)
                guard.value[0] = 1 - me
                cv.notify_one()

    other = threading.Thread(target=player, args=(1,), daemon=True)
    started = time.perf_counter()
    other.start()
    player(0)
    _join([other], "condvar_pingpong")
    return time.perf_counter() - started


def condvar_notify_all(rounds: int, waiters: int = 16) -> float:
    """:func:`condition_notify_all`'s protocol on Mutex + Condvar (two condvars, one mutex)."""
    mutex, cv, arrivals = Mutex({"generation": 0, "arrived": 0}), Condvar(), Condvar()

    def waiter() -> None:
        for round_no in range(rounds):
            with mutex.lock() as guard:
                guard.value["arrived"] += 1
                arrivals.notify_one()
                while guard.value["generation"] <= round_no:
                    cv.wait(guard)

    threads = [threading.Thread(target=waiter, daemon=True) for _ in range(waiters)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    for round_no in range(rounds):
        with mutex.lock() as guard:
            while guard.value["arrived"] < waiters * (round_no + 1):
                arrivals.wait(guard)
            guard.value["generation"] += 1
            cv.notify_all()
    _join(threads, "condvar_notify_all")
    return time.perf_counter() - started


# --- the parking lot itself ------------------------------------------------------------------------------


def _pingpong(side_a: Callable[[int], None], side_b: Callable[[int, threading.Barrier], None], rounds: int) -> float:
    """Run two sides of a ping-pong for *rounds* round trips; the seconds side A took."""
    ready = _start_barrier(2)
    b = threading.Thread(target=side_b, args=(rounds, ready), daemon=True)
    b.start()
    ready.wait()
    started = time.perf_counter()
    side_a(rounds)
    elapsed = time.perf_counter() - started
    _join([b], "ping-pong")
    return elapsed


def lot_pingpong(rounds: int) -> float:
    """Two threads pass a ball back and forth with ``park`` / ``unpark_one``; *rounds* round trips."""
    key_a, key_b = id(object()) | 1 << 60, id(object()) | 1 << 61
    ball = {key_a: False, key_b: False}  # "the ball is here", read and written under the key's bucket lock

    def make_side(key: int) -> tuple[Callable[[core.UnparkResult], int], Callable[[], bool]]:
        def give_callback(result: core.UnparkResult) -> int:
            ball[key] = result.unparked_threads == 0  # nobody parked: leave the ball for later
            return 1

        def take_validate() -> bool:
            if ball[key]:
                ball[key] = False
                return False  # the ball was already here: do not park
            return True

        return give_callback, take_validate

    give_to_a, take_a = make_side(key_a)
    give_to_b, take_b = make_side(key_b)
    park, unpark_one = core.park, core.unpark_one

    def side_b(n: int, ready: threading.Barrier) -> None:
        ready.wait()
        for _ in range(n):
            park(key_b, take_b)
            unpark_one(key_a, give_to_a)

    def side_a(n: int) -> None:
        for _ in range(n):
            unpark_one(key_b, give_to_b)
            park(key_a, take_a)

    return _pingpong(side_a, side_b, rounds)


def _symmetric_pingpong(
    rounds: int, pass_to: Callable[[Any, Any], None], wait: Callable[[Any], None], a: Any, b: Any
) -> float:
    """Ping-pong on two waitable objects: ``pass_to(theirs, mine)`` wakes the other side."""

    def side_b(n: int, ready: threading.Barrier) -> None:
        ready.wait()
        for _ in range(n):
            wait(b)
            pass_to(a, b)

    def side_a(n: int) -> None:
        for _ in range(n):
            pass_to(b, a)
            wait(a)

    return _pingpong(side_a, side_b, rounds)


def raw_pingpong(backend: str) -> Candidate:
    """:func:`lot_pingpong` done straight on *backend*'s OS primitive, without the parking lot.

    futex: the futex parker's own C calls; keyed_event: a release per pass (a
    rendezvous); wait_address: WaitOnAddress / WakeByAddressSingle; portable: a
    lock object handed back and forth.
    """
    if backend == "futex":
        from ._ffi._futex import ffi, lib  # type: ignore[import-not-found, unused-ignore]

        def pass_futex(word: Any, mine: Any) -> None:
            lib.pl_atomic_store(mine, 1)
            lib.pl_atomic_store(word, 0)
            lib.pl_futex_wake(word, 1)

        def wait_futex(mine: Any) -> None:
            lib.pl_futex_park(mine, -1)  # the same one-call wait the futex parker uses

        return lambda rounds: _symmetric_pingpong(
            rounds, pass_futex, wait_futex, ffi.new("int32_t *", 1), ffi.new("int32_t *", 1)
        )
    if backend == "keyed_event":
        from ._ffi._keyed_event import ffi as ke_ffi  # type: ignore[import-not-found, unused-ignore]
        from .thread_parker import keyed_event

        event = keyed_event.get_keyed_event()

        def release(key: Any, mine: Any) -> None:
            event.release(key)  # a rendezvous: returns once the other side waits

        def wait_key(key: Any) -> None:
            event.wait(key, None)

        new_key = ke_ffi.new
        return lambda rounds: _symmetric_pingpong(rounds, release, wait_key, new_key("uint64_t *"), new_key("uint64_t *"))
    if backend == "wait_address":
        from ._ffi._wait_address import ffi as wa_ffi  # type: ignore[import-not-found, unused-ignore]
        from .thread_parker import wait_address

        wa_lib = wait_address._load()
        one = wa_ffi.new("size_t *", 1)
        size = wa_ffi.sizeof("size_t")

        def wake(word: Any, mine: Any) -> None:
            mine[0] = 1
            word[0] = 0
            wa_lib.WakeByAddressSingle(word)

        def wait_word(mine: Any) -> None:
            while mine[0] != 0:
                wa_lib.WaitOnAddress(mine, one, size, 0xFFFFFFFF)

        return lambda rounds: _symmetric_pingpong(
            rounds, wake, wait_word, wa_ffi.new("size_t *", 1), wa_ffi.new("size_t *", 1)
        )

    def run(rounds: int) -> float:  # portable: a lock handed back and forth
        lock_a, lock_b = threading.Lock(), threading.Lock()
        lock_a.acquire()
        lock_b.acquire()
        return _symmetric_pingpong(
            rounds, lambda theirs, mine: theirs.release(), lambda mine: mine.acquire(), lock_a, lock_b
        )

    return run


def uncontended_unpark_one(n: int) -> float:
    """*n* ``unpark_one`` calls on a key nobody is parked on."""
    key = id(object())
    unpark_one = core.unpark_one
    started = time.perf_counter()
    for _ in range(n):
        unpark_one(key)
    return time.perf_counter() - started


# --- a thread wakes a task ------------------------------------------------------------------------------


def _with_loop_thread(body: Callable[[asyncio.AbstractEventLoop], float]) -> float:
    """``body(loop)`` with an event loop running forever in a daemon thread, stopped and closed after."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, name="bench loop", daemon=True)
    runner.start()
    try:
        return body(loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        _join([runner], "event loop thread")
        loop.close()


def threads_and_tasks_counter(make_lock: Callable[[], Any]) -> Candidate:
    """Two threads and two asyncio tasks (on a loop in this thread) add 1 to one counter under one
    lock, *n* additions in all; the seconds (float) until all four are done.

    *make_lock()* gives the lock: threads use ``with lock:``, tasks ``async with lock:``
    (:class:`~parking_lot.raw.RawMutex`, or a peer whose lock serves both worlds).
    """

    def run(n: int) -> float:
        lock = make_lock()
        counter = [0]
        each = n // 4
        go = threading.Event()

        def thread_body() -> None:
            if not go.wait(JOIN_BOUND):
                raise ScenarioHung(f"threads_and_tasks_counter: no start signal in {JOIN_BOUND:g}s")
            for _ in range(each):
                with lock:
                    counter[0] += 1

        async def task_body() -> None:
            for _ in range(each):
                async with lock:
                    counter[0] += 1

        async def main() -> float:
            threads = [threading.Thread(target=thread_body) for _ in range(2)]
            for thread in threads:
                thread.start()
            started = time.perf_counter()
            go.set()
            await asyncio.gather(task_body(), task_body())
            _join(threads, "threads_and_tasks_counter")
            elapsed = time.perf_counter() - started
            if counter[0] != 4 * each:
                raise AssertionError(f"lost updates: {counter[0]} of {4 * each}")
            return elapsed

        return asyncio.run(main())

    return run


def _aiologic_lock() -> Any:
    import aiologic  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return aiologic.Lock()


def thread_wakes_task(rounds: int) -> float:
    """*rounds* round trips: this thread wakes (``unpark_one``) a task parked on a key (on a loop in another
    thread); the task, parked again, says so by releasing a lock this thread waits on.

    The task releases the lock from ``before_sleep`` of its next ``park_async``, that is once it is
    queued again, so no wake-up can find nobody parked.
    """
    key = id(object())
    back = _thread.allocate_lock()
    back.acquire()

    async def task() -> None:
        for _ in range(rounds + 1):
            await core.park_async(key, before_sleep=back.release)

    def body(loop: asyncio.AbstractEventLoop) -> float:
        done = asyncio.run_coroutine_threadsafe(task(), loop)
        back.acquire()  # parked the first time
        unpark_one = core.unpark_one
        started = time.perf_counter()
        for _ in range(rounds):
            unpark_one(key)
            back.acquire()
        elapsed = time.perf_counter() - started
        unpark_one(key)
        done.result()
        return elapsed

    return _with_loop_thread(body)


def call_soon_threadsafe_round_trip(rounds: int) -> float:
    """*rounds* round trips: ``loop.call_soon_threadsafe`` of a callback that releases a lock this thread
    waits on (the loop in another thread): the bare cost of reaching a loop from a thread and back."""
    back = _thread.allocate_lock()
    back.acquire()

    def body(loop: asyncio.AbstractEventLoop) -> float:
        call_soon_threadsafe, release = loop.call_soon_threadsafe, back.release
        started = time.perf_counter()
        for _ in range(rounds):
            call_soon_threadsafe(release)
            back.acquire()
        return time.perf_counter() - started

    return _with_loop_thread(body)


# --- deadlock detection ---------------------------------------------------------------------------------


def with_deadlock_detection(fn: Candidate, enabled: bool) -> Candidate:
    """*fn* run with :mod:`parking_lot.deadlock` enabled (or not), and disabled after it either way.

    Disabled, the lock methods are the very functions a run that never enabled it
    calls, so "off" against "never" measures noise.
    """
    from . import deadlock

    def run(n: int) -> float:
        if enabled:
            deadlock.enable()
        try:
            return fn(n)
        finally:
            deadlock.disable()

    return run


# --- the harness ------------------------------------------------------------------------------------------


def _dots_to_stderr(text: str) -> None:
    print(text, end="", file=sys.stderr, flush=True)


@dataclass
class Measurement:
    """One candidate's timed rounds (seconds for *ops* operations each; the warm-up left out)."""

    name: str
    ops: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median round, in seconds."""
        return statistics.median(self.seconds)

    @property
    def ns_per_op(self) -> float:
        """Nanoseconds per operation in the median round."""
        return self.median / self.ops * 1e9

    @property
    def ops_per_second(self) -> float:
        """Operations per second in the median round (the throughput ratios compare these)."""
        return self.ops / self.median


def measure(
    candidates: dict[str, Candidate],
    ops: int,
    rounds: int = 7,
    progress: Callable[[str], None] = _dots_to_stderr,
) -> dict[str, Measurement]:
    """Run every candidate ``fn(ops)`` *rounds* times, interleaved (A B A B ...), after a discarded warm-up.

    *progress* gets one ``"."`` per round (with all candidates run), and ``"\\n"`` at the end.
    """
    results = {name: Measurement(name, ops) for name in candidates}
    for round_index in range(rounds + 1):
        for name, fn in candidates.items():
            seconds = fn(ops)
            if round_index:
                results[name].seconds.append(seconds)
        progress(".")
    progress("\n")
    return results


def report(title: str, results: dict[str, Measurement], reference: str) -> str:
    """A small table: ns/op, ops/s, and each candidate's throughput over *reference*'s (above 1: faster)."""
    base = results[reference].ops_per_second
    lines = [title, f"  {'candidate':<34} {'ns/op':>10} {'ops/s':>12} {'ratio vs ' + reference:>22}"]
    for name, result in results.items():
        lines.append(
            f"  {name:<34} {result.ns_per_op:>10.0f} {result.ops_per_second:>12.0f} "
            f"{result.ops_per_second / base:>21.2f}x"
        )
    return "\n".join(lines)


# --- the table ---------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """One row of the table: our candidate and its reference, each ``fn(n) -> seconds``.

    ``ops`` is *n* for a full run, ``quick_ops`` for ``--quick``; ``note`` is a free remark on the row.
    """

    name: str
    ours_name: str
    ours: Candidate
    reference_name: str
    reference: Candidate
    ops: int
    quick_ops: int
    note: str = ""


@dataclass
class Result:
    """The timings of one scenario: seconds per round (warm-up dropped) for *ops* operations."""

    scenario: str
    ours: str
    reference: str
    ops: int
    ours_seconds: list[float] = field(default_factory=list)
    reference_seconds: list[float] = field(default_factory=list)

    @property
    def ours_ops_per_second(self) -> float:
        """Our operations per second: ``ops`` over the median of ``ours_seconds``."""
        return self.ops / statistics.median(self.ours_seconds)

    @property
    def reference_ops_per_second(self) -> float:
        """The reference's operations per second: ``ops`` over the median of ``reference_seconds``."""
        return self.ops / statistics.median(self.reference_seconds)

    @property
    def ratio(self) -> float:
        """Our throughput over the reference's."""
        return self.ours_ops_per_second / self.reference_ops_per_second


def _lock_cm(lock: Any) -> Callable[[], Any]:
    return lambda: lock


def scenarios() -> tuple[list[Scenario], list[str]]:
    """Every scenario this machine can run, and notes on the peers it cannot."""
    t, c = threading, compat
    mutex, fair = Mutex(None), FairMutex(None)
    items = [
        Scenario("uncontended with-lock", "with Mutex.lock()", with_mutex, "with threading.Lock()",
                 with_lock(t, "Lock"), 300_000, 60_000),
        Scenario("uncontended async with", "async with Mutex.lock_async()", async_with_mutex,
                 "async with asyncio.Lock()", async_with_asyncio_lock, 300_000, 60_000),
        Scenario("aio: async with Lock()", "aio.Lock", _aio_async_with_lock(aio), "asyncio.Lock",
                 _aio_async_with_lock(asyncio), 300_000, 60_000),
        Scenario("aio: await wait() on a set event", "aio.Event", _aio_event_wait_set(aio), "asyncio.Event",
                 _aio_event_wait_set(asyncio), 300_000, 60_000),
        Scenario("aio: async with sem, uncontended", "aio.Semaphore", _aio_semaphore(aio), "asyncio.Semaphore",
                 _aio_semaphore(asyncio), 300_000, 60_000),
        Scenario("aio: Condition ping-pong, 2 tasks", "aio.Condition", _aio_condition_pingpong(aio),
                 "asyncio.Condition", _aio_condition_pingpong(asyncio), 20_000, 4_000),
        Scenario("aio: Event ping-pong, 2 tasks", "aio.Event", _aio_event_pingpong(aio),
                 "asyncio.Event", _aio_event_pingpong(asyncio), 20_000, 4_000),
        Scenario("Condvar ping-pong, 2 tasks", "Mutex + Condvar (async twins)", condvar_pingpong_tasks,
                 "asyncio.Condition", condition_pingpong_tasks, 20_000, 4_000),
        Scenario("aio: notify_all to 100 tasks", "aio.Condition", _aio_notify_all(aio), "asyncio.Condition",
                 _aio_notify_all(asyncio), 200, 40),
        Scenario("uncontended lock/unlock", "RawMutex.lock/unlock", raw_mutex_pair, "Lock.acquire/release",
                 acquire_release(t), 300_000, 60_000),
        Scenario("uncontended read lock", "with RwLock.read()", rwlock_read, "with threading.Lock()",
                 with_lock(t, "Lock"), 300_000, 60_000),
        Scenario("4 threads, shared counter", "Mutex", counter_4_threads(lambda: mutex.lock),
                 "threading.Lock", counter_4_threads(lambda: _lock_cm(threading.Lock())), 200_000, 40_000),
        Scenario("4 threads, shared counter (fair)", "FairMutex", counter_4_threads(lambda: fair.lock),
                 "threading.Lock", counter_4_threads(lambda: _lock_cm(threading.Lock())), 100_000, 20_000),
        Scenario("condition ping-pong", "Mutex + Condvar", condvar_pingpong, "threading.Condition",
                 condition_pingpong(t), 2_000, 300),
        Scenario("notify_all to 16", "Mutex + Condvar", condvar_notify_all, "threading.Condition",
                 condition_notify_all(t), 60, 8),
        Scenario("thread wakes task: round trip", "unpark_one -> park_async", thread_wakes_task,
                 "loop.call_soon_threadsafe", call_soon_threadsafe_round_trip, 2_000, 300,
                 "target: ratio >= 0.83 (<= 1.2x the time)"),
        Scenario("compat: with Lock", "compat.Lock", with_lock(c, "Lock"), "threading.Lock",
                 with_lock(t, "Lock"), 300_000, 60_000),
        Scenario("compat: Lock acquire/release", "compat.Lock", acquire_release(c), "threading.Lock",
                 acquire_release(t), 300_000, 60_000),
        Scenario("compat: with RLock", "compat.RLock", with_lock(c, "RLock"), "threading.RLock",
                 with_lock(t, "RLock"), 300_000, 60_000),
        Scenario("compat: Semaphore acquire/release", "compat.Semaphore", semaphore(c), "threading.Semaphore",
                 semaphore(t), 200_000, 40_000),
        Scenario("compat: Event.wait, set event", "compat.Event", event_wait_set(c), "threading.Event",
                 event_wait_set(t), 300_000, 60_000),
        Scenario("compat: Event ping-pong", "compat.Event", event_pingpong(c), "threading.Event",
                 event_pingpong(t), 2_000, 300),
        Scenario("compat: Barrier, 8 threads", "compat.Barrier", barrier_rounds(c), "threading.Barrier",
                 barrier_rounds(t), 500, 60),
        Scenario("compat: Condition ping-pong", "compat.Condition", condition_pingpong(c), "threading.Condition",
                 condition_pingpong(t), 2_000, 300),
        Scenario("compat: notify_all to 16", "compat.Condition", condition_notify_all(c), "threading.Condition",
                 condition_notify_all(t), 60, 8),
    ]
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        items.extend(free_threaded_scenarios())
    notes = []
    peers = (
        ("readerwriterlock", "readerwriterlock.rwlock", "RWLockFair", _rwlockfair_reader,
         "uncontended read lock vs readerwriterlock"),
        ("fasteners", "fasteners", "ReaderWriterLock", _fasteners_reader, "uncontended read lock vs fasteners"),
    )
    for package, module, lock_name, make_read, scenario_name in peers:
        if not _peer_available(module, lock_name):
            notes.append(f"{package} is not installed: its {lock_name} is left out (pip install {package})")
            continue
        items.append(Scenario(scenario_name, "with RwLock.read()", rwlock_read, f"{package} {lock_name}",
                              _peer_rwlock_read(make_read), 300_000, 60_000))
    if not _peer_available("aiologic", "Lock"):
        notes.append("aiologic is not installed: its Lock is left out (pip install aiologic)")
    else:
        items.append(Scenario("2 threads + 2 tasks, one counter", "RawMutex (with / async with)",
                              threads_and_tasks_counter(RawMutex), "aiologic Lock",
                              threads_and_tasks_counter(_aiologic_lock), 40_000, 8_000,
                              "target: ratio >= 10"))
    return items, notes


def _peer_available(module: str, name: str) -> bool:
    """Whether a peer's *module* imports and has *name* (a folder of that name on the path, a
    namespace package, does not count)."""
    import importlib

    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


class _Watchdog:
    """Fails a scenario loudly when a round takes longer than *bound* seconds, instead of hanging.

    A daemon thread waits for the rounds' progress ticks (:meth:`tick` wraps the progress
    callback); when none comes within *bound*, it writes every thread's stack to stderr
    and interrupts the main thread (``_thread.interrupt_main`` and a SIGINT to it), which
    :func:`run` turns into :class:`ScenarioHung` naming the scenario; a main thread that does
    not stop within 30 seconds more (SIGINT ignored) ends the process, status 1.
    """

    def __init__(self, scenario: str, bound: float) -> None:
        self.scenario = scenario
        self.bound = bound
        self.fired = False
        self._deadline = time.monotonic() + bound
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"bench watchdog: {scenario}", daemon=True)

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join(5.0)

    def tick(self, progress: Callable[[str], None]) -> Callable[[str], None]:
        """*progress*, re-arming the deadline each time a round reports."""
        def ticked(text: str) -> None:
            self._deadline = time.monotonic() + self.bound
            progress(text)
        return ticked

    def _watch(self) -> None:
        while not self._done.wait(max(0.0, min(1.0, self._deadline - time.monotonic()))):
            if time.monotonic() < self._deadline:
                continue
            self.fired = True
            stacks = []
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                stacks.append(f"thread {names.get(ident, ident)!r}:\n{''.join(traceback.format_stack(frame))}")
            print(f"\nbench: {self.scenario!r}: no round finished in {self.bound:g}s; every thread's stack:\n"
                  + "\n".join(stacks), file=sys.stderr, flush=True)
            # interrupt_main runs the SIGINT handler at the main thread's next check; a real
            # SIGINT also breaks a wait that only checks on EINTR (a lock acquire).
            _thread.interrupt_main()
            pthread_kill = getattr(signal, "pthread_kill", None)
            if pthread_kill is not None:
                pthread_kill(threading.main_thread().ident, signal.SIGINT)
            if not self._done.wait(_INTERRUPT_GRACE):  # SIGINT ignored, or a wait deaf to it
                print(f"bench: {self.scenario!r}: the main thread did not stop; exiting", file=sys.stderr, flush=True)
                os._exit(1)
            return


def run(
    selected: list[Scenario], quick: bool, progress: Callable[[str], None], stall_bound: float = STALL_BOUND
) -> list[Result]:
    """Time every scenario: candidates interleaved, a warm-up round discarded, medians kept.

    Raises:
        ScenarioHung: a scenario's helper threads did not finish within :data:`JOIN_BOUND`
            seconds, or one round took longer than *stall_bound* seconds (every thread's stack
            is then written to stderr first); the message names the scenario.
    """
    rounds = 3 if quick else 11
    results = []
    for number, scenario in enumerate(selected, 1):
        ops = scenario.quick_ops if quick else scenario.ops
        result = Result(scenario.name, scenario.ours_name, scenario.reference_name, ops)
        progress(f"[{number}/{len(selected)}] {scenario.name} ")
        watchdog = _Watchdog(scenario.name, stall_bound)
        try:
            with watchdog:
                timed = measure({"ours": scenario.ours, "reference": scenario.reference}, ops, rounds,
                                watchdog.tick(progress))
        except ScenarioHung as exc:
            raise ScenarioHung(f"scenario {scenario.name!r}: {exc}") from exc
        except KeyboardInterrupt:
            if not watchdog.fired:
                raise  # Ctrl-C
            raise ScenarioHung(f"scenario {scenario.name!r}: no round finished in {stall_bound:g}s "
                               "(every thread's stack is on stderr above)") from None
        result.ours_seconds = timed["ours"].seconds
        result.reference_seconds = timed["reference"].seconds
        results.append(result)
    return results


def check_peers() -> list[str]:
    """Problems running each installed peer once (an empty list: all fine)."""
    problems = []
    for scenario in scenarios()[0]:
        if scenario.reference_name.split()[0] in ("readerwriterlock", "fasteners", "aiologic"):
            try:
                scenario.reference(10)
            except Exception as exc:  # a peer's API change should be named, not crash the table
                problems.append(f"{scenario.reference_name}: {exc!r}")
    return problems


def table(results: list[Result]) -> str:
    """The results as a fixed-width table."""
    header = f"{'scenario':<36} {'ours':<22} {'ops/s':>11}  {'reference':<28} {'ops/s':>11}  {'ratio':>6}"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.scenario:<36} {r.ours:<22} {r.ours_ops_per_second:>11,.0f}  {r.reference:<28} "
            f"{r.reference_ops_per_second:>11,.0f}  {r.ratio:>5.2f}x"
        )
    return "\n".join(lines)


def markdown_table(results: list[Result]) -> str:
    """The results as a Markdown table (for the README)."""
    lines = ["| scenario | ours | ops/s | reference | ops/s | ratio |", "|---|---|---:|---|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r.scenario} | {r.ours} | {r.ours_ops_per_second:,.0f} | {r.reference} | "
            f"{r.reference_ops_per_second:,.0f} | {r.ratio:.2f}x |"
        )
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """Where the figures were measured, for ``--json``: versions, platform, CPUs, GIL, backend, date.

    Returns:
        A JSON-ready dict with the keys ``parking_lot``, ``python``, ``implementation``,
        ``platform``, ``machine``, ``processor_count``, ``gil``, ``backend``, ``atomics``
        (the lock state words' implementation, ``c`` or ``portable``), ``date``.
    """
    from . import __version__, thread_parker
    from .raw import _word

    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "parking_lot": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor_count": __import__("os").cpu_count(),
        "gil": True if is_gil_enabled is None else bool(is_gil_enabled()),
        "backend": thread_parker.backend_name(),
        "atomics": _word.implementation(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def write_json(path: str, results: list[Result], quick: bool) -> None:
    """Write *results* and :func:`environment` to *path* as JSON (``bench --json PATH``).

    Each result carries its raw round times (seconds) and the derived
    ``ours_ops_per_second``, ``reference_ops_per_second`` and ``ratio``.

    Raises:
        OSError: *path* cannot be written.
    """
    payload = {
        "environment": environment(),
        "quick": quick,
        "results": [
            {**asdict(r), "ours_ops_per_second": r.ours_ops_per_second,
             "reference_ops_per_second": r.reference_ops_per_second, "ratio": r.ratio}
            for r in results
        ],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)


def plot(path: str, results: list[Result]) -> None:
    """A bar chart of the ratios (needs matplotlib: ``pip install "parking-lot-cffi[plot]"``)."""
    import matplotlib  # type: ignore[import-not-found, import-untyped, unused-ignore]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found, import-untyped, unused-ignore]

    names = [r.scenario for r in results]
    ratios = [r.ratio for r in results]
    figure, axes = plt.subplots(figsize=(9, 0.4 * len(results) + 1.5))
    axes.barh(names, ratios, color=["tab:green" if x >= 1 else "tab:orange" for x in ratios])
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.invert_yaxis()
    axes.set_xlabel("throughput vs reference (1.0 = same; higher is faster)")
    axes.set_title(f"parking_lot vs reference, Python {platform.python_version()}")
    figure.tight_layout()
    figure.savefig(path)
