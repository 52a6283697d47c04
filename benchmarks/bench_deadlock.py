"""What deadlock detection costs: the uncontended ``with Mutex.lock():`` with the feature off, on, and off again.

"Off" runs the very methods a build without the feature would (``enable()`` swaps
them in, ``disable()`` puts the originals back; this script checks identity), so
off-versus-never is a measurement of noise.  "On" adds one recorded acquire and
one recorded release per iteration.  Ratios are throughput over the never-enabled
run's (above 1: faster), as in ``python -m parking_lot bench``.

Run: ``python benchmarks/bench_deadlock.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys

from parking_lot import Mutex, compat
from parking_lot.bench import measure, report, with_deadlock_detection, with_lock, with_mutex
from parking_lot.mutex import MutexGuard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    pristine = (Mutex.lock, MutexGuard.__exit__, compat.Lock.__enter__, compat.Lock.__exit__)
    ops, rounds = (50_000, 3) if args.quick else (300_000, 7)
    print(f"Python {sys.version.split()[0]}")
    for name, fn in (("with Mutex.lock()", with_mutex), ("with compat.Lock()", with_lock(compat, "Lock"))):
        results = measure(
            {
                f"{name}, never enabled": fn,
                f"{name}, detection on": with_deadlock_detection(fn, True),
                f"{name}, after disable()": with_deadlock_detection(fn, False),
            },
            ops,
            rounds,
        )
        print(report(name, results, f"{name}, never enabled"))
    assert (Mutex.lock, MutexGuard.__exit__, compat.Lock.__enter__, compat.Lock.__exit__) == pristine
    print("after disable() the lock methods are the original functions (checked by identity)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
