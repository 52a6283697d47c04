"""Many threads, many keys, a growing table: no lost wake-up, no hang, all bounded."""

from __future__ import annotations

import itertools
import random
import threading


from conftest import BOUND, ON_WINDOWS, start, wait_until
from lot_helpers import all_bucket_locks_free, fresh_key
from parking_lot import core
from parking_lot.core import Invalid, TimedOut, Unparked

HANDOFF = 1


class BatonRing:
    """Threads in a ring pass batons on the parking lot, futex style.

    Thread *i* waits on ``keys[i]``.  Its ``validate`` (under the bucket lock)
    takes a baton if one is waiting for it, else it parks; a passer's
    ``unpark_one`` callback (under the same lock) hands the baton straight to a
    parked thread, or leaves it in ``batons[i]`` when none is parked.  Parks use
    short random timeouts, so timeouts race with hand-offs all the time.  A lost
    wake-up or a lost baton stalls the ring and fails the bounded wait.
    """

    def __init__(self, threads: int, batons: int, passes: int) -> None:
        self.keys = [fresh_key() for _ in range(threads)]
        self.batons = [1 if i < batons else 0 for i in range(threads)]
        self.target = passes
        self.passes = 0
        self.passes_lock = threading.Lock()
        self.stop = False
        self.timeouts = 0
        self.operations = itertools.count()  # next() is atomic: a cheap shared counter

    def _take_or_park(self, me: int) -> bool:
        def validate() -> bool:
            if self.stop:
                return False
            if self.batons[me]:
                self.batons[me] -= 1
                return False
            return True

        while True:
            timeout = random.choice((None, None, 0.0002, 0.001))
            result = core.park(self.keys[me], validate, timeout=BOUND if timeout is None else timeout)
            next(self.operations)
            if result is Invalid:
                return not self.stop  # took a baton, unless the ring is stopping
            if result == Unparked(HANDOFF):
                return True
            if result is TimedOut:
                self.timeouts += 1
                continue
            return False  # woken by the final unpark_all

    def _pass(self, me: int) -> None:
        nxt = (me + 1) % len(self.keys)

        def callback(result: core.UnparkResult) -> int:
            if result.unparked_threads:
                return HANDOFF
            self.batons[nxt] += 1
            return 0

        core.unpark_one(self.keys[nxt], callback)
        next(self.operations)

    def run_thread(self, me: int) -> int:
        done = 0
        while self._take_or_park(me):
            if self.stop:
                break
            with self.passes_lock:
                self.passes += 1
                finished = self.passes >= self.target
            self._pass(me)
            done += 1
            if finished:
                self.stop = True
                for key in self.keys:
                    core.unpark_all(key, 0)
                break
        return done


def test_stress_64_threads_pass_batons_while_the_table_grows():
    growths_before = core.statistics().table_growths
    ring = BatonRing(threads=64, batons=8, passes=100_000 if not ON_WINDOWS else 30_000)
    old_stack = threading.stack_size()
    threading.stack_size(512 * 1024)
    try:
        workers = [start(ring.run_thread, i, name=f"ring-{i}") for i in range(64)]
    finally:
        threading.stack_size(old_stack)
    wait_until(lambda: ring.stop, timeout=300, what="the ring to finish its passes (a stall is a lost wake-up)")
    counts = [w.finish() for w in workers]
    assert sum(counts) >= ring.target
    operations = next(ring.operations)
    assert operations >= 2 * ring.target  # every pass is one unpark_one and at least one park
    assert ring.timeouts > 0, "the timeouts never raced the hand-offs"
    stats = core.statistics()
    assert stats.buckets >= 3 * 64 or stats.table_growths > growths_before
    assert all_bucket_locks_free()
    for key in ring.keys:
        assert core.parked_count(key) == 0


def test_scale_2000_threads_on_2000_keys_then_all_woken():
    count = 2000
    keys = [fresh_key() for _ in range(count)]
    old_stack = threading.stack_size()
    threading.stack_size(256 * 1024)
    try:
        workers = [start(core.park, key, None, None, None, 0, BOUND * 4) for key in keys]
    finally:
        threading.stack_size(old_stack)
    wait_until(lambda: core.statistics().threads_parked >= count, timeout=BOUND * 2, what="every thread to park")
    stats = core.statistics()
    # The table grows to next_pow2(3 * threads) as threads first park.
    assert stats.buckets >= 3 * count
    assert stats.buckets & (stats.buckets - 1) == 0
    assert stats.keys_parked >= count
    random.shuffle(keys)
    for key in keys:
        assert core.unpark_one(key, lambda r: 3).unparked_threads == 1
    assert all(w.finish() == Unparked(3) for w in workers)
    assert core.statistics().threads_parked == 0 or all(core.parked_count(k) == 0 for k in keys)
