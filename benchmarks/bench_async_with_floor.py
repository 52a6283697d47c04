"""How close the uncontended ``async with m.lock_async()`` can come to ``async with asyncio.Lock()`` (issue #17).

Prints, in one process, ns per iteration of a loop in one task (medians of interleaved
rounds) and each row's ratio to ``asyncio.Lock`` (above 1: faster):

* the bench row's two bodies (``parking_lot.bench``: ``Mutex.lock_async`` and ``asyncio.Lock``);
* two floors, each strictly less work than any correct ``lock_async`` can do:

  - *shell*: ``m.lock_async()`` making its per-use object (a method, an object without a
    Python ``__init__``, one attribute), an ``__aenter__`` and ``__aexit__`` that only return
    the cheapest awaitable: the cost of the API's shape alone, with no lock;
  - *shell + LOCKED bit*: the same with the lock object's ``acquire(False)`` on entry and
    ``release()`` on exit (design rule 1's cheapest real atomic, see below), and nothing
    else: no held flag, no used-twice check, no PARKED handshake, no slow path.  Entry gives
    its value by a done future or by a coroutine, whichever is cheaper on this Python.

  A ``lock_async`` needs its per-use object: ``__aexit__`` must know which entry it ends,
  because a guard released inside the block may let another task lock the mutex before the
  block ends (``MutexGuard._detach``); a shared object cannot tell the two exits apart.
* what each await and each atomic costs, net of the bare loop: ``await READY`` (an
  exhausted generator), a done future, a new coroutine; the lock object's
  ``acquire(False)`` + ``release()`` and a compare-and-swap + store through cffi (the
  state words' functions, when compiled);
* why each lock keeps its own ``new_ready()``: ``async with`` on an ``aio.Lock`` in one
  thread and in two (each thread its own loop and its own lock), with the lock's own
  awaitable and with one shared by all (``READY``); on a free-threaded build the shared
  one's reference count is contended and the two threads hardly scale.

Run: ``python benchmarks/bench_async_with_floor.py [--rounds N] [--n N]``.
"""

from __future__ import annotations

import _thread
import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any

import threading

from parking_lot import aio, bench
from parking_lot._pending import READY


class _Mutexish:
    """The least a mutex has for the floors: the LOCKED bit and the done future entry gives."""

    __slots__ = ("_locked", "_ready")

    def __init__(self) -> None:
        self._locked = _thread.allocate_lock()
        self._ready: asyncio.Future[_Mutexish] | None = None

    def shell_async(self) -> _Shell:
        pending: _Shell = _Shell()
        pending._mutex = self
        return pending

    def locked_future_async(self) -> _LockedFuture:
        pending: _LockedFuture = _LockedFuture()
        pending._mutex = self
        return pending

    def locked_coroutine_async(self) -> _LockedCoroutine:
        pending: _LockedCoroutine = _LockedCoroutine()
        pending._mutex = self
        return pending


class _Shell:
    __slots__ = ("_mutex",)
    __init__ = object.__init__
    _mutex: _Mutexish

    def __aenter__(self) -> Awaitable[None]:
        return READY

    def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                  tb: TracebackType | None) -> Awaitable[None]:
        return READY


class _LockedFuture(_Shell):
    __slots__ = ()

    def __aenter__(self) -> Awaitable[None]:
        mutex = self._mutex
        mutex._locked.acquire(False)
        return mutex._ready  # type: ignore[return-value]

    def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                  tb: TracebackType | None) -> Awaitable[None]:
        self._mutex._locked.release()
        return READY


class _LockedCoroutine(_Shell):
    __slots__ = ()

    async def __aenter__(self) -> _Mutexish:  # type: ignore[override]
        mutex = self._mutex
        mutex._locked.acquire(False)
        return mutex

    def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                  tb: TracebackType | None) -> Awaitable[None]:
        self._mutex._locked.release()
        return READY


def _floor(method: Callable[[_Mutexish], Any]) -> Callable[[int], Coroutine[Any, Any, float]]:
    async def body(n: int) -> float:
        mutex = _Mutexish()
        ready = asyncio.get_running_loop().create_future()
        ready.set_result(mutex)
        mutex._ready = ready
        started = time.perf_counter()
        for _ in range(n):
            async with method(mutex):
                pass
        return time.perf_counter() - started

    return body


async def _bare_loop(n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        pass
    return time.perf_counter() - started


async def _await_ready(n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await READY
    return time.perf_counter() - started


async def _await_done_future(n: int) -> float:
    future = asyncio.get_running_loop().create_future()
    future.set_result(None)
    started = time.perf_counter()
    for _ in range(n):
        await future
    return time.perf_counter() - started


async def _nothing() -> None:
    return None


async def _await_new_coroutine(n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await _nothing()
    return time.perf_counter() - started


async def _lock_object_pair(n: int) -> float:
    locked = _thread.allocate_lock()
    started = time.perf_counter()
    for _ in range(n):
        locked.acquire(False)
        locked.release()
    return time.perf_counter() - started


def _cffi_pair() -> Callable[[int], Coroutine[Any, Any, float]] | None:
    try:
        from parking_lot._ffi._atomics import ffi, lib
    except ImportError:
        return None

    async def body(n: int) -> float:
        word = ffi.new("int64_t *")
        started = time.perf_counter()
        for _ in range(n):
            lib.pl_word_cas(word, 0, 1)
            lib.pl_word_store(word, 0)
        return time.perf_counter() - started

    return body


class _SharedReadyLock(aio.Lock):
    """``aio.Lock`` whose exit returns the one shared ``READY``, not the lock's own."""

    __slots__ = ()

    def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                  tb: TracebackType | None) -> Awaitable[None]:
        self.release()
        return READY


def _seconds_in_threads(make: Callable[[], aio.Lock], threads: int, n: int) -> float:
    """Wall seconds for *threads* threads, each running its own loop, to ``async with`` its own lock *n* times."""

    async def loop_body() -> None:
        lock = make()
        for _ in range(n):
            async with lock:
                pass

    workers = [threading.Thread(target=asyncio.run, args=(loop_body(),)) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def _medians(bodies: dict[str, Callable[[int], Coroutine[Any, Any, float]]], n: int, rounds: int) -> dict[str, float]:
    """ns per iteration of each body: the median of *rounds* interleaved runs of *n*."""
    seen: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(rounds):
        for name, body in bodies.items():
            seen[name].append(asyncio.run(body(n)) / n * 1e9)
    return {name: statistics.median(values) for name, values in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000, help="iterations per run (default 300,000)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved runs of each body (default 7)")
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]}, {args.rounds} interleaved runs of {args.n:,}, medians")
    rows = _medians({
        "async with asyncio.Lock()": bench._async_with_asyncio_lock,
        "async with Mutex.lock_async()": bench._async_with_mutex,
        "floor: shell": _floor(_Mutexish.shell_async),
        "floor: shell + LOCKED bit, entry by done future": _floor(_Mutexish.locked_future_async),
        "floor: shell + LOCKED bit, entry by coroutine": _floor(_Mutexish.locked_coroutine_async),
    }, args.n, args.rounds)
    reference = rows["async with asyncio.Lock()"]
    print(f"{'per iteration':52} {'ns':>7}  vs asyncio.Lock")
    for name, ns in rows.items():
        print(f"{name:52} {ns:7.1f}  {reference / ns:5.2f}x")

    costs: dict[str, Callable[[int], Coroutine[Any, Any, float]]] = {
        "await READY": _await_ready,
        "await a done future": _await_done_future,
        "await a new coroutine": _await_new_coroutine,
        "lock object acquire(False) + release()": _lock_object_pair,
    }
    cffi_pair = _cffi_pair()
    if cffi_pair is not None:
        costs["cffi pl_word_cas + pl_word_store"] = cffi_pair
    loop = _medians({"bare loop": _bare_loop}, args.n, args.rounds)["bare loop"]
    print(f"\n{'net of the bare loop (' + format(loop, '.1f') + ' ns)':52} {'ns':>7}")
    for name, ns in _medians(costs, args.n, args.rounds).items():
        print(f"{name:52} {ns - loop:7.1f}")

    print(f"\n{'aio.Lock, each thread its own loop and lock':52} {'1 thread':>9} {'2 threads':>10}  scaling")
    for name, make in (("the lock's own new_ready()", aio.Lock), ("one READY shared by all", _SharedReadyLock)):
        one = statistics.median(_seconds_in_threads(make, 1, args.n) for _ in range(args.rounds))
        two = statistics.median(_seconds_in_threads(make, 2, args.n) for _ in range(args.rounds))
        print(f"{name:52} {one * 1e3:6.1f} ms {two * 1e3:7.1f} ms  {2 * one / two:5.2f}x")


if __name__ == "__main__":
    main()
