"""parking_lot.compat against threading, class by class (ratios measured in one run).

Targets (issue #6): Semaphore acquire+release >= 2x threading.Semaphore; Event.wait on
a set event >= 3x; set/wait ping-pong >= 1x; Barrier (8 threads) >= 1.5x;
Condition ping-pong >= 1x and notify_all to 16 waiters >= 1.5x; ``with lock:``
>= 0.6x threading.Lock, acquire()/release() >= 0.5x; RLock ``with`` >= 0.4x.
Ratios are our throughput over threading's (above 1: faster), as in
``python -m parking_lot bench``; the scenarios and the harness are in ``parking_lot.bench``.

Run: ``python benchmarks/bench_compat.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import threading

import parking_lot.compat as compat
from parking_lot.bench import (
    acquire_release,
    barrier_rounds,
    condition_notify_all,
    condition_pingpong,
    event_pingpong,
    event_wait_set,
    measure,
    report,
    semaphore,
    with_lock,
)

SCENARIOS = [
    # name, candidate factory (given threading or parking_lot.compat), ops (full, quick)
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
