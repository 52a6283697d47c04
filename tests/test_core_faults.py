"""Fault injection: an exception at every line of the core, then the lot's invariants.

For each scenario the test first counts the core's line events in the acting
thread, then, for every N, runs the scenario again with an exception raised at
the N-th.  After each run:

* every bucket lock is free;
* every thread in a queue is a live, still-parked victim, queued in the bucket its
  key hashes to, and every victim is either queued or has returned ``Unparked`` (a
  victim taken off a queue but never woken would stay parked until its bound and
  return ``TimedOut``);
* the acting thread is in no queue and can park again;
* the lot still works: ``unpark_all`` releases every remaining victim.
"""

from __future__ import annotations

import threading
import time

import pytest

from conftest import BOUND, start, wait_until
from faultinject import FaultInjector, Injected, at_every_line
from lot_helpers import all_bucket_locks_free, fresh_key
from parking_lot import core
from parking_lot.core import FilterOp, RequeueOp, TimedOut, Unparked
from parking_lot.core._hashtable import thread_data


class Victim:
    """A thread parked on a key (bounded by BOUND) whose ThreadData we can recognise."""

    def __init__(self, key: int, token: int = 0) -> None:
        self.data = None
        ready = threading.Event()

        def body():
            self.data = thread_data()
            ready.set()
            return core.park(key, park_token=token, timeout=BOUND)

        before = core.parked_count(key)
        self.worker = start(body, name=f"victim-{token}")
        assert ready.wait(BOUND)
        wait_until(lambda: core.parked_count(key) > before, what="a victim to park")


def _queued_threads():
    return [(bucket, data) for bucket in core.state.table.buckets for data in list(bucket.queue)]


def _scenario_park_times_out(actor_key):
    calls = []
    return lambda: core.park(actor_key, timed_out=lambda k, last: calls.append(last), timeout=0.002), [], []


def _scenario_park_unparked(actor_key):
    def helper():
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            if core.unpark_one(actor_key, lambda r: 9).unparked_threads:
                return
            if stop.is_set():
                return
            time.sleep(0.0002)

    stop = threading.Event()
    helper_thread = start(helper, name="helper")

    def act():
        try:
            return core.park(actor_key, validate=lambda: True, before_sleep=lambda: None, timeout=BOUND)
        finally:
            stop.set()

    return act, [], [helper_thread]


def _victims(key, tokens):
    return [Victim(key, token) for token in tokens]


def _scenario_unpark_one(key):
    victims = _victims(key, [1, 2, 3])
    return lambda: core.unpark_one(key, lambda r: 5), victims, []


def _scenario_unpark_all(key):
    victims = _victims(key, [1, 2, 3])
    return lambda: core.unpark_all(key, 6), victims, []


def _scenario_requeue(op, same_key=False):
    # key + 1 is (almost always) in another bucket: two bucket locks; the same key: one.
    def scenario(key):
        victims = _victims(key, [1, 2, 3])
        key_to = key if same_key else key + 1
        return lambda: core.unpark_requeue(key, key_to, lambda: op, lambda o, r: 7), victims, []

    return scenario


def _scenario_filter(key):
    victims = _victims(key, [1, 2, 3, 4])
    decisions = {1: FilterOp.Unpark, 2: FilterOp.Skip, 3: FilterOp.Unpark, 4: FilterOp.Stop}
    return lambda: core.unpark_filter(key, decisions.__getitem__, lambda r: 8), victims, []


SCENARIOS = {
    "park-times-out": _scenario_park_times_out,
    "park-unparked": _scenario_park_unparked,
    "unpark_one": _scenario_unpark_one,
    "unpark_all": _scenario_unpark_all,
    "requeue-unpark-one-requeue-rest": _scenario_requeue(RequeueOp.UnparkOneRequeueRest),
    "requeue-one": _scenario_requeue(RequeueOp.RequeueOne),
    "requeue-all": _scenario_requeue(RequeueOp.RequeueAll),
    "requeue-unpark-one": _scenario_requeue(RequeueOp.UnparkOne),
    "requeue-one-same-key": _scenario_requeue(RequeueOp.RequeueOne, same_key=True),
    "requeue-all-same-key": _scenario_requeue(RequeueOp.RequeueAll, same_key=True),
    "unpark_filter": _scenario_filter,
}


def _run(scenario, target):
    """Run one scenario with an exception at line event *target*; check the invariants."""
    key = fresh_key()
    act, victims, helpers = scenario(key)
    injector = FaultInjector(target)
    outcome = {}

    def actor():
        outcome["data"] = thread_data()
        try:
            outcome["result"] = injector.run(act)
        except Injected as exc:
            outcome["injected"] = exc
        # The acting thread's own state is usable: it can park (and time out) again.
        outcome["again"] = core.park(fresh_key(), timeout=0)

    start(actor, name="actor").finish()
    for helper in helpers:
        helper.finish()
    assert outcome["again"] is TimedOut
    wait_until(all_bucket_locks_free, what="every bucket lock to be free")

    # Every victim is queued or has returned Unparked; nothing else is queued.
    victim_data = {id(v.data): v for v in victims}

    def settled():
        queued = {id(data) for _, data in _queued_threads()}
        return all(v.worker.done.is_set() or id(v.data) in queued for v in victims)

    wait_until(settled, what="every victim to be queued or woken")
    table = core.state.table
    seen = set()
    for bucket, data in _queued_threads():
        if data is outcome["data"]:
            pytest.fail(f"the actor is still queued after {outcome.get('injected')}")
        if id(data) not in victim_data:
            continue  # a thread of another test
        assert id(data) not in seen, "a thread is queued twice"
        seen.add(id(data))
        assert not victim_data[id(data)].worker.done.is_set(), "a finished thread is still queued"
        assert table.bucket_for(data.key) is bucket, "a thread is queued in the wrong bucket"
    for victim in victims:
        if victim.worker.done.is_set():
            assert isinstance(victim.worker.finish(), Unparked), "a victim was lost (it timed out)"

    # The lot still works: release everyone who is left.
    core.unpark_all(key, 99)
    core.unpark_all(key + 1, 99)
    for victim in victims:
        assert isinstance(victim.worker.finish(), Unparked)
    assert all_bucket_locks_free()
    return injector


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_an_exception_at_every_line_of_the_core_leaves_the_lot_consistent(name):
    scenario = SCENARIOS[name]
    total = _run(scenario, None).count
    fired = at_every_line(lambda target: _run(scenario, target), minimum=6)
    # Timing can shorten a later run a little, but most points must have been hit.
    assert fired >= total * 0.8
