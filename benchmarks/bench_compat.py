"""parking_lot.compat against threading, class by class (ratios measured in one run).

Targets (issue #6): Semaphore acquire+release >= 2x threading.Semaphore; Event.wait on
a set event >= 3x; set/wait ping-pong >= 1x; Barrier (8 threads) >= 1.5x;
Condition ping-pong >= 1x and notify_all to 16 waiters >= 1.5x; ``with lock:``
>= 0.6x threading.Lock, acquire()/release() >= 0.5x; RLock ``with`` >= 0.4x.

Run: ``python benchmarks/bench_compat.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import measure, report  # noqa: E402

import parking_lot.compat as compat  # noqa: E402

IMPLEMENTATIONS = {"threading": threading, "parking_lot": compat}


def with_lock(mod, kind):
    def run(n: int) -> float:
        lock = getattr(mod, kind)()
        started = time.perf_counter()
        for _ in range(n):
            with lock:
                pass
        return time.perf_counter() - started

    return run


def acquire_release(mod):
    def run(n: int) -> float:
        lock = mod.Lock()
        acquire, release = lock.acquire, lock.release
        started = time.perf_counter()
        for _ in range(n):
            acquire()
            release()
        return time.perf_counter() - started

    return run


def semaphore(mod):
    def run(n: int) -> float:
        sem = mod.Semaphore(1)
        acquire, release = sem.acquire, sem.release
        started = time.perf_counter()
        for _ in range(n):
            acquire()
            release()
        return time.perf_counter() - started

    return run


def event_wait_set(mod):
    def run(n: int) -> float:
        event = mod.Event()
        event.set()
        wait = event.wait
        started = time.perf_counter()
        for _ in range(n):
            wait()
        return time.perf_counter() - started

    return run


def event_pingpong(mod):
    """Two threads alternate through two events, *n* round trips."""

    def run(n: int) -> float:
        ping, pong = mod.Event(), mod.Event()

        def other():
            for _ in range(n):
                ping.wait()
                ping.clear()
                pong.set()

        thread = threading.Thread(target=other)
        started = time.perf_counter()
        thread.start()
        for _ in range(n):
            ping.set()
            pong.wait()
            pong.clear()
        thread.join()
        return time.perf_counter() - started

    return run


def barrier_rounds(mod, parties=8):
    """*parties* threads pass the barrier *n* times."""

    def run(n: int) -> float:
        barrier = mod.Barrier(parties)

        def party():
            for _ in range(n):
                barrier.wait()

        threads = [threading.Thread(target=party) for _ in range(parties - 1)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        party()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    return run


def condition_pingpong(mod):
    def run(n: int) -> float:
        cond = mod.Condition(mod.Lock())
        turn = [0]

        def player(me):
            for _ in range(n):
                with cond:
                    while turn[0] != me:
                        cond.wait()
                    turn[0] = 1 - me
                    cond.notify()

        other = threading.Thread(target=player, args=(1,))
        started = time.perf_counter()
        other.start()
        player(0)
        other.join()
        return time.perf_counter() - started

    return run


def condition_notify_all(mod, waiters=16):
    """*waiters* threads wait; the main thread notify_all()s; all re-take the lock. *n* rounds.

    Arrivals are announced on a second condition of the same lock, so that the
    figure is the broadcast's, not a storm of arrival notifications.
    """

    def run(rounds: int) -> float:
        lock = mod.Lock()
        cond, arrivals = mod.Condition(lock), mod.Condition(lock)
        state = {"generation": 0, "arrived": 0}

        def waiter():
            for round_no in range(rounds):
                with cond:
                    state["arrived"] += 1
                    arrivals.notify()
                    while state["generation"] <= round_no:
                        cond.wait()

        threads = [threading.Thread(target=waiter) for _ in range(waiters)]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        for round_no in range(rounds):
            with cond:
                while state["arrived"] < waiters * (round_no + 1):
                    arrivals.wait()
                state["generation"] += 1
                cond.notify_all()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    return run


SCENARIOS = [
    # name, candidate factory, ops (full, quick)
    ("with Lock", lambda mod: with_lock(mod, "Lock"), (300_000, 50_000)),
    ("Lock acquire/release", acquire_release, (300_000, 50_000)),
    ("with RLock", lambda mod: with_lock(mod, "RLock"), (300_000, 50_000)),
    ("Semaphore acquire/release", semaphore, (200_000, 30_000)),
    ("Event.wait on a set event", event_wait_set, (300_000, 50_000)),
    ("Event set/wait ping-pong", event_pingpong, (3_000, 500)),
    ("Barrier, 8 threads", barrier_rounds, (1_000, 200)),
    ("Condition ping-pong", condition_pingpong, (3_000, 500)),
    ("Condition notify_all x16", condition_notify_all, (100, 20)),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations and rounds")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    print(f"Python {sys.version.split()[0]}", flush=True)
    for name, factory, (full, quick) in SCENARIOS:
        candidates = {f"threading {name}": factory(threading), f"parking_lot {name}": factory(compat)}
        results = measure(candidates, quick if args.quick else full, rounds)
        print(report(name, results, f"threading {name}"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
