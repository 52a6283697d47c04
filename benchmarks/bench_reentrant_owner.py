"""Who owns a ReentrantMutex, on its hot path: the uncontended ``with ReentrantMutex.lock():``.

``RawReentrantMutex`` asks ``current_owner()`` twice per lock/unlock pair.  It used to
have an asyncio-only definition of its own; it now uses the one the deadlock detector's
records use (``parking_lot.raw._tracking.current_owner``: asyncio and trio).  This
script times the loop with each candidate swapped in, interleaved round by round, in
one process, and prints the medians and the ratios (throughput over the old
asyncio-only one's; above 1: faster), in a thread and in an asyncio task.  ``--trio``
imports trio first (not running: the shared one then asks trio before asyncio).

Run: ``python benchmarks/bench_reentrant_owner.py [--trio] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from _thread import get_ident
from collections.abc import Callable

from parking_lot import ReentrantMutex
from parking_lot.core import running_task
from parking_lot.raw import _tracking, reentrant

_running_loop, _current_task = asyncio._get_running_loop, asyncio.current_task


def asyncio_only() -> object:
    """raw/reentrant.py's own definition before it used the shared one (asyncio only)."""
    loop = _running_loop()
    if loop is not None:
        task = _current_task(loop)
        if task is not None:
            return task
    return get_ident()


def via_running_task() -> object:
    """The shared definition before it was inlined: ``core.running_task()``, else the thread."""
    task = running_task()
    return get_ident() if task is None else task


CANDIDATES: dict[str, Callable[[], object]] = {
    "asyncio-only (before)": asyncio_only,
    "via running_task()": via_running_task,
    "_tracking.current_owner": _tracking.current_owner,
}


def _loop_ns(mutex: ReentrantMutex[int], ops: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(ops):
        with mutex.lock():
            pass
    return (time.perf_counter_ns() - start) / ops


def _measure(where: str, ops: int, rounds: int) -> None:
    mutex = ReentrantMutex(0)
    results: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    try:
        for _ in range(rounds):
            for name, candidate in CANDIDATES.items():
                reentrant.current_owner = candidate  # (module global: what RawReentrantMutex calls)
                results[name].append(_loop_ns(mutex, ops))
    finally:
        reentrant.current_owner = _tracking.current_owner
    base = statistics.median(results["asyncio-only (before)"])
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{where:13} {name:24} {median:8.1f} ns/op  {base / median:5.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trio", action="store_true", help="import trio first (not running)")
    args = parser.parse_args(argv)
    if args.trio:
        import trio  # noqa: F401
    ops, rounds = (20_000, 5) if args.quick else (100_000, 15)
    print(f"Python {sys.version.split()[0]}{', trio imported' if args.trio else ''}")
    _measure("thread", ops, rounds)

    async def in_task() -> None:
        _measure("asyncio task", ops, rounds)

    asyncio.run(in_task())
    return 0


if __name__ == "__main__":
    sys.exit(main())
