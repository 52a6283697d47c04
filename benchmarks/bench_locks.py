"""Benchmarks of the locks built so far (Mutex, FairMutex, RawMutex, RwLock, Condvar) against threading.

1. Uncontended ``with m.lock():`` against ``with threading.Lock():`` (target >= 0.5x the
   throughput), and the raw ``lock()``/``unlock()`` pair against ``acquire()``/``release()``.
2. Uncontended ``with rw.read():`` against ``with threading.Lock():`` (target >= 0.25x)
   and readerwriterlock's RWLockFair read lock (target >= 4x; when installed).
3. Four threads incrementing a shared counter under the lock: total time against
   threading.Lock's (target <= 1.25x), and the fairness spread: max/min acquisitions
   per thread while all four compete for a fixed time.

Run: ``python benchmarks/bench_locks.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import measure, report  # noqa: E402

from parking_lot.mutex import FairMutex, Mutex  # noqa: E402
from parking_lot.bench import (  # noqa: E402
    _peer_rwlock_read,
    _rwlockfair_reader,
    acquire_release,
    condition_notify_all,
    condition_pingpong,
    condvar_notify_all,
    condvar_pingpong,
    with_lock,
    with_mutex,
)
from parking_lot.bench import raw_mutex_pair as raw_lock_unlock  # noqa: E402
from parking_lot.bench import rwlock_read as with_rwlock_read  # noqa: E402


# The scenarios are those of `python -m parking_lot bench` (one definition each, so that
# threading and ours always run the same protocol).
with_threading_lock = with_lock(threading, "Lock")
threading_condition_pingpong = condition_pingpong(threading)
threading_condition_notify_all = condition_notify_all(threading)
lock_acquire_release = acquire_release(threading)
with_rwlock_fair_read_peer = _peer_rwlock_read(_rwlockfair_reader)


def _contended(make_cm, threads: int, per_thread: int) -> float:
    """*threads* threads each add 1 to a counter *per_thread* times; seconds for all."""
    counter = [0]
    ready = threading.Barrier(threads + 1)

    def work():
        ready.wait()
        for _ in range(per_thread):
            with make_cm():
                counter[0] += 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    assert counter[0] == threads * per_thread
    return time.perf_counter() - started


def contended_candidates() -> dict:
    lock = threading.Lock()
    mutex = Mutex(None)
    fair = FairMutex(None)
    return {
        "threading.Lock, 4 threads": lambda n: _contended(lambda: lock, 4, n // 4),
        "Mutex, 4 threads": lambda n: _contended(mutex.lock, 4, n // 4),
        "FairMutex, 4 threads": lambda n: _contended(fair.lock, 4, n // 4),
    }


def fairness_spread(make_cm, seconds: float, threads: int = 4) -> float:
    """max/min acquisitions per thread while *threads* threads compete for *seconds*."""
    counts = [0] * threads
    stop = threading.Event()
    ready = threading.Barrier(threads + 1)

    def work(index):
        ready.wait()
        while not stop.is_set():
            with make_cm():
                counts[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return max(counts) / max(1, min(counts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations and rounds")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    ops = 50_000 if args.quick else 300_000
    print(f"Python {sys.version.split()[0]}", flush=True)
    results = measure({"with threading.Lock()": with_threading_lock, "with Mutex.lock()": with_mutex}, ops, rounds)
    print(report("uncontended with-statement", results, "with threading.Lock()"))
    candidates = {"with threading.Lock()": with_threading_lock, "with RwLock.read()": with_rwlock_read}
    try:
        import readerwriterlock  # noqa: F401
    except ImportError:
        print("(readerwriterlock is not installed: its RWLockFair is left out; pip install readerwriterlock)")
    else:
        candidates["readerwriterlock RWLockFair read"] = with_rwlock_fair_read_peer
    results = measure(candidates, ops, rounds)
    print(report("uncontended read lock", results, "with threading.Lock()"))
    results = measure({"Lock.acquire/release": lock_acquire_release, "RawMutex.lock/unlock": raw_lock_unlock}, ops, rounds)
    print(report("uncontended raw pair", results, "Lock.acquire/release"))
    results = measure(contended_candidates(), 40_000 if args.quick else 200_000, rounds)
    print(report("4 threads incrementing a counter (total time)", results, "threading.Lock, 4 threads"))
    results = measure(
        {"threading.Condition ping-pong": threading_condition_pingpong, "Condvar ping-pong": condvar_pingpong},
        500 if args.quick else 3000,
        rounds,
    )
    print(report("two threads taking turns on a condition", results, "threading.Condition ping-pong"))
    results = measure(
        {"threading.Condition notify_all x16": threading_condition_notify_all, "Condvar notify_all x16": condvar_notify_all},
        20 if args.quick else 100,
        rounds,
    )
    print(report("notify_all to 16 waiters that all re-take the lock (per round)", results, "threading.Condition notify_all x16"))
    window = 0.5 if args.quick else 2.0
    lock, mutex, fair = threading.Lock(), Mutex(None), FairMutex(None)
    print(f"fairness spread (max/min acquisitions per thread in {window} s, 4 threads; 1.0 is perfectly even)")
    for name, make_cm in (("threading.Lock", lambda: lock), ("Mutex", mutex.lock), ("FairMutex", fair.lock)):
        print(f"  {name:<16} {fairness_spread(make_cm, window):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
