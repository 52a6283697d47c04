"""Benchmarks of the parking lot (issue: the core).

1. Ping-pong between two threads on the parking lot (park / unpark_one), against
   the same ping-pong done straight on the backend's OS primitive without the lot
   (futex through cffi on Linux; the keyed event or WaitOnAddress on Windows; a
   pair of locks for the portable parker).  Target: lot <= 1.25x the raw round trip.
2. Uncontended ``unpark_one`` on a key nobody is parked on: ns per call
   (``threading.Lock`` acquire+release as a yardstick measured in the same run).

Run: ``python benchmarks/bench_core.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import measure, report  # noqa: E402

from parking_lot.bench import acquire_release  # noqa: E402

from parking_lot import core, thread_parker  # noqa: E402


def _pingpong(side_a, side_b, rounds: int) -> float:
    """Run two sides of a ping-pong for *rounds* round trips; return the elapsed seconds."""
    ready = threading.Barrier(2)
    b = threading.Thread(target=side_b, args=(rounds, ready), daemon=True)
    b.start()
    ready.wait()
    started = time.perf_counter()
    side_a(rounds)
    elapsed = time.perf_counter() - started
    b.join()
    return elapsed


def lot_pingpong(rounds: int) -> float:
    key_a, key_b = id(object()) | 1 << 60, id(object()) | 1 << 61
    ball = {key_a: False, key_b: False}  # "the ball is here", read and written under the key's bucket lock

    def make_side(key):
        def give_callback(result):
            ball[key] = result.unparked_threads == 0  # nobody parked: leave the ball for later
            return 1

        def take_validate():
            if ball[key]:
                ball[key] = False
                return False  # the ball was already here: do not park
            return True

        return give_callback, take_validate

    give_to_a, take_a = make_side(key_a)
    give_to_b, take_b = make_side(key_b)
    park, unpark_one = core.park, core.unpark_one

    def side_b(n, ready):
        ready.wait()
        for _ in range(n):
            park(key_b, take_b)
            unpark_one(key_a, give_to_a)

    def side_a(n):
        for _ in range(n):
            unpark_one(key_b, give_to_b)
            park(key_a, take_a)

    return _pingpong(side_a, side_b, rounds)


def _symmetric_pingpong(rounds: int, pass_to, wait, a, b) -> float:
    """Ping-pong on two waitable objects: ``pass_to(theirs, mine)`` wakes the other side."""

    def side_b(n, ready):
        ready.wait()
        for _ in range(n):
            wait(b)
            pass_to(a, b)

    def side_a(n):
        for _ in range(n):
            pass_to(b, a)
            wait(a)

    return _pingpong(side_a, side_b, rounds)


def raw_pingpong_factory(backend: str):
    """The same ping-pong straight on the backend's OS primitive, without the parking lot."""
    if backend == "futex":
        from parking_lot._ffi._futex import ffi, lib

        def pass_to(word, mine):
            lib.pl_atomic_store(mine, 1)
            lib.pl_atomic_store(word, 0)
            lib.pl_futex_wake(word, 1)

        def wait(mine):
            lib.pl_futex_park(mine, -1)  # the same one-call wait the futex parker uses

        return lambda rounds: _symmetric_pingpong(
            rounds, pass_to, wait, ffi.new("int32_t *", 1), ffi.new("int32_t *", 1)
        )
    if backend == "keyed_event":
        from parking_lot.thread_parker import keyed_event

        event = keyed_event.get_keyed_event()

        def release(key, mine):
            event.release(key)  # a rendezvous: returns once the other side waits

        def wait_key(key):
            event.wait(key, None)

        new_key = keyed_event.ffi.new
        return lambda rounds: _symmetric_pingpong(rounds, release, wait_key, new_key("uint64_t *"), new_key("uint64_t *"))
    if backend == "wait_address":
        from parking_lot.thread_parker import wait_address

        lib, ffi = wait_address._load(), wait_address.ffi
        one = ffi.new("size_t *", 1)
        size = ffi.sizeof("size_t")

        def wake(word, mine):
            mine[0] = 1
            word[0] = 0
            lib.WakeByAddressSingle(word)

        def wait_word(mine):
            while mine[0] != 0:
                lib.WaitOnAddress(mine, one, size, 0xFFFFFFFF)

        return lambda rounds: _symmetric_pingpong(rounds, wake, wait_word, ffi.new("size_t *", 1), ffi.new("size_t *", 1))

    def run(rounds: int) -> float:  # portable: a lock handed back and forth
        lock_a, lock_b = threading.Lock(), threading.Lock()
        lock_a.acquire()
        lock_b.acquire()
        return _symmetric_pingpong(rounds, lambda theirs, mine: theirs.release(), lambda mine: mine.acquire(), lock_a, lock_b)

    return run


def uncontended_unpark_one(n: int) -> float:
    key = id(object())
    unpark_one = core.unpark_one
    started = time.perf_counter()
    for _ in range(n):
        unpark_one(key)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations and rounds")
    args = parser.parse_args(argv)
    backend = thread_parker.backend_name()
    rounds = 3 if args.quick else 7
    pingpong_ops = 2000 if args.quick else 10000
    print(f"backend: {backend}, Python {sys.version.split()[0]}", flush=True)
    results = measure(
        {f"raw {backend} ping-pong": raw_pingpong_factory(backend), "parking lot ping-pong": lot_pingpong},
        pingpong_ops,
        rounds,
    )
    print(report("round trips between two threads", results, f"raw {backend} ping-pong"))
    results = measure(
        {"threading.Lock acquire+release": acquire_release(threading), "unpark_one, no waiter": uncontended_unpark_one},
        20000 if args.quick else 200000,
        rounds,
    )
    print(report("uncontended calls", results, "threading.Lock acquire+release"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
