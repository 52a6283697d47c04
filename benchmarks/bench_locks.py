"""Benchmarks of the locks (Mutex, FairMutex, RawMutex, RwLock, Condvar) against threading.

1. Uncontended ``with m.lock():`` against ``with threading.Lock():`` (target >= 0.5x the
   throughput), and the raw ``lock()``/``unlock()`` pair against ``acquire()``/``release()``.
2. Uncontended ``with rw.read():`` against ``with threading.Lock():`` (target >= 0.25x)
   and readerwriterlock's RWLockFair read lock (target >= 4x; when installed).
3. Four threads incrementing a shared counter under the lock: throughput against
   threading.Lock's (target >= 0.8x, a total time at most 1.25x as long), and the
   fairness spread: max/min acquisitions per thread while all four compete for a fixed time.
4. Two threads taking turns on a condition, and notify_all to 16 waiters, against threading.Condition.

Ratios are a candidate's throughput over the reference's (above 1: faster), as in
``python -m parking_lot bench``; the scenarios and the harness are in ``parking_lot.bench``.

Run: ``python benchmarks/bench_locks.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import Any

from parking_lot.bench import (
    _peer_rwlock_read,
    _rwlockfair_reader,
    acquire_release,
    condition_notify_all,
    condition_pingpong,
    condvar_notify_all,
    condvar_pingpong,
    counter_4_threads,
    fairness_spread,
    measure,
    raw_mutex_pair,
    report,
    rwlock_read,
    with_lock,
    with_mutex,
)
from parking_lot.mutex import FairMutex, Mutex


def _always(lock: Any) -> Callable[[], Any]:
    """A context-manager factory that gives *lock* itself every time (threading's locks)."""
    return lambda: lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations and rounds")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    ops = 50_000 if args.quick else 300_000
    print(f"Python {sys.version.split()[0]}", flush=True)
    with_threading_lock = with_lock(threading, "Lock")

    results = measure({"with threading.Lock()": with_threading_lock, "with Mutex.lock()": with_mutex}, ops, rounds)
    print(report("uncontended with-statement", results, "with threading.Lock()"))

    candidates = {"with threading.Lock()": with_threading_lock, "with RwLock.read()": rwlock_read}
    try:
        import readerwriterlock  # noqa: F401
    except ImportError:
        print("(readerwriterlock is not installed: its RWLockFair is left out; pip install readerwriterlock)")
    else:
        candidates["readerwriterlock RWLockFair read"] = _peer_rwlock_read(_rwlockfair_reader)
    results = measure(candidates, ops, rounds)
    print(report("uncontended read lock", results, "with threading.Lock()"))

    results = measure({"Lock.acquire/release": acquire_release(threading), "RawMutex.lock/unlock": raw_mutex_pair},
                      ops, rounds)
    print(report("uncontended raw pair", results, "Lock.acquire/release"))

    lock, mutex, fair = threading.Lock(), Mutex(None), FairMutex(None)
    results = measure(
        {
            "threading.Lock, 4 threads": counter_4_threads(lambda: _always(lock)),
            "Mutex, 4 threads": counter_4_threads(lambda: mutex.lock),
            "FairMutex, 4 threads": counter_4_threads(lambda: fair.lock),
        },
        40_000 if args.quick else 200_000,
        rounds,
    )
    print(report("4 threads incrementing a counter", results, "threading.Lock, 4 threads"))

    results = measure(
        {"threading.Condition ping-pong": condition_pingpong(threading), "Condvar ping-pong": condvar_pingpong},
        500 if args.quick else 3000,
        rounds,
    )
    print(report("two threads taking turns on a condition", results, "threading.Condition ping-pong"))
    results = measure(
        {"threading.Condition notify_all x16": condition_notify_all(threading),
         "Condvar notify_all x16": condvar_notify_all},
        20 if args.quick else 100,
        rounds,
    )
    print(report("notify_all to 16 waiters that all re-take the lock (per round)", results,
                 "threading.Condition notify_all x16"))

    window = 0.5 if args.quick else 2.0
    print(f"fairness spread (max/min acquisitions per thread in {window} s, 4 threads; 1.0 is perfectly even)")
    for name, make_cm in (("threading.Lock", _always(lock)), ("Mutex", mutex.lock), ("FairMutex", fair.lock)):
        print(f"  {name:<16} {fairness_spread(make_cm, window):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
