"""core.parked_threads() and core.parked_threads_frozen(): the public snapshot of who is parked on what."""

from __future__ import annotations

import threading

from conftest import BOUND, start, wait_until
from parking_lot import core


_KEYS = [object() for _ in range(4)]  # kept alive: their ids are distinct keys no other test uses


def _mine(parked: tuple[core.ParkedThread, ...], *keys: int) -> list[core.ParkedThread]:
    return [entry for entry in parked if entry.key in keys]


def test_the_snapshot_names_each_parked_thread_its_key_token_and_whether_it_is_timed():
    untimed_key, timed_key = id(_KEYS[0]), id(_KEYS[1])
    untimed = start(lambda: core.park(untimed_key, park_token=7))
    wait_until(lambda: core.parked_count(untimed_key) == 1, what="the untimed thread to park")
    timed = start(lambda: core.park(timed_key, park_token=2**64 - 1, timeout=BOUND))
    wait_until(lambda: core.parked_count(timed_key) == 1, what="the timed thread to park")
    expected = {
        core.ParkedThread(untimed.ident, untimed_key, 7, False),
        core.ParkedThread(timed.ident, timed_key, 2**64 - 1, True),
    }
    assert set(_mine(core.parked_threads(), untimed_key, timed_key)) == expected
    with core.parked_threads_frozen() as frozen:
        assert set(_mine(frozen, untimed_key, timed_key)) == expected
    core.unpark_all(untimed_key)
    core.unpark_all(timed_key)
    assert isinstance(untimed.finish(), core.Unparked) and isinstance(timed.finish(), core.Unparked)
    assert _mine(core.parked_threads(), untimed_key, timed_key) == []


def test_threads_on_one_key_appear_in_the_order_they_will_be_woken():
    key = id(_KEYS[2])
    workers = []
    for count in range(1, 4):
        workers.append(start(lambda: core.park(key)))
        wait_until(lambda count=count: core.parked_count(key) == count, what="the next thread to park")
    assert [entry.ident for entry in _mine(core.parked_threads(), key)] == [w.ident for w in workers]
    assert core.unpark_all(key) == 3
    for worker in workers:
        worker.finish()


def test_nothing_parks_or_leaves_while_the_snapshot_is_frozen():
    key = id(_KEYS[3])
    waiter = start(lambda: core.park(key))
    wait_until(lambda: core.parked_count(key) == 1, what="the waiter to park")
    unparking = threading.Event()

    def unpark() -> int:
        unparking.set()
        return core.unpark_one(key).unparked_threads

    with core.parked_threads_frozen() as frozen:
        unparker = start(unpark)
        unparking.wait(BOUND)
        assert unparker.join(0.05) is None and unparker.is_alive()  # held off by the frozen buckets
        assert [entry.ident for entry in _mine(frozen, key)] == [waiter.ident]
    assert unparker.finish() == 1
    assert isinstance(waiter.finish(), core.Unparked)
