"""Benchmarks of the parking lot (the core).

1. Ping-pong between two threads on the parking lot (park / unpark_one), against
   the same ping-pong done straight on the backend's OS primitive without the lot
   (futex through cffi on Linux; the keyed event or WaitOnAddress on Windows; a
   pair of locks for the portable parker).  Target: the lot's throughput >= 0.8x
   the raw one (a round trip at most 1.25x as long).
2. Uncontended ``unpark_one`` on a key nobody is parked on: ns per call
   (``threading.Lock`` acquire+release as a yardstick measured in the same run).

Ratios are a candidate's throughput over the reference's (above 1: faster), as in
``python -m parking_lot bench``; the scenarios and the harness are in ``parking_lot.bench``.

Run: ``python benchmarks/bench_core.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import threading

from parking_lot import thread_parker
from parking_lot.bench import acquire_release, lot_pingpong, measure, raw_pingpong, report, uncontended_unpark_one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations and rounds")
    args = parser.parse_args(argv)
    backend = thread_parker.backend_name()
    rounds = 3 if args.quick else 7
    pingpong_ops = 2000 if args.quick else 10000
    print(f"backend: {backend}, Python {sys.version.split()[0]}", flush=True)
    raw = f"raw {backend} ping-pong"
    results = measure({raw: raw_pingpong(backend), "parking lot ping-pong": lot_pingpong}, pingpong_ops, rounds)
    print(report("round trips between two threads", results, raw))
    yardstick = "threading.Lock acquire+release"
    results = measure(
        {yardstick: acquire_release(threading), "unpark_one, no waiter": uncontended_unpark_one},
        20000 if args.quick else 200000,
        rounds,
    )
    print(report("uncontended calls", results, yardstick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
