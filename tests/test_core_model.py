"""Hypothesis stateful test: the parking lot against a model of per-key FIFO queues.

Real threads park on three keys with unique park tokens; the rules drive every
unpark operation and timeouts, and each result (which threads woke, with which
token, every UnparkResult field, ``was_last_thread``) must match the model.  After
every step the real queues are read back in order (``unpark_filter`` that skips
everything reports the park tokens in queue order) and compared with the model.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import BOUND, Worker, start
from lot_helpers import expect_unpark_one, expect_unpark_requeue, fresh_key, wait_parked
from parking_lot import core
from parking_lot.core import FilterOp, RequeueOp, TimedOut, Unparked

KEY_COUNT = 3
MAX_PARKED = 10
keys_index = st.integers(0, KEY_COUNT - 1)
tokens = st.integers(0, 2**64 - 1)


class Parked:
    def __init__(self, worker: Worker, park_token: int) -> None:
        self.worker = worker
        self.park_token = park_token
        #: Moved by unpark_requeue during this park: waking it first must report be_fair
        #: (be_fair may also come from the bucket's fairness timer, so only True is checked).
        self.moved = False


class ParkingLotModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.keys = [fresh_key() for _ in range(KEY_COUNT)]
        self.queues: dict[int, list[Parked]] = {key: [] for key in self.keys}
        self.park_tokens = itertools.count(1)

    def _parked_total(self) -> int:
        return sum(len(queue) for queue in self.queues.values())

    def _expect_woken(self, parked: list[Parked], token: int) -> None:
        for thread in parked:
            assert thread.worker.finish() == Unparked(token)

    @precondition(lambda self: self._parked_total() < MAX_PARKED)
    @rule(index=keys_index)
    def park(self, index: int) -> None:
        key = self.keys[index]
        park_token = next(self.park_tokens)
        worker = start(lambda: core.park(key, park_token=park_token, timeout=BOUND))
        wait_parked(key, len(self.queues[key]) + 1)
        self.queues[key].append(Parked(worker, park_token))

    @rule(index=keys_index)
    def park_and_time_out(self, index: int) -> None:
        key = self.keys[index]
        calls = []
        result = core.park(key, timed_out=lambda k, last: calls.append((k, last)), timeout=0.001)
        assert result is TimedOut
        assert calls == [(key, not self.queues[key])]

    @rule(index=keys_index, token=tokens, with_callback=st.booleans())
    def unpark_one(self, index: int, token: int, with_callback: bool) -> None:
        key = self.keys[index]
        queue = self.queues[key]
        seen = []
        callback = (lambda result: seen.append(result) or token) if with_callback else None
        result = core.unpark_one(key, callback)
        woken = expect_unpark_one(queue, result, seen, with_callback)
        if woken is not None:
            self._expect_woken([woken], token if with_callback else core.DEFAULT_UNPARK_TOKEN)

    @rule(index=keys_index, token=tokens)
    def unpark_all(self, index: int, token: int) -> None:
        key = self.keys[index]
        queue = self.queues[key]
        assert core.unpark_all(key, token) == len(queue)
        self._expect_woken(queue, token)
        queue.clear()

    @rule(source=keys_index, destination=keys_index, op=st.sampled_from(RequeueOp), token=tokens)
    def unpark_requeue(self, source: int, destination: int, op: RequeueOp, token: int) -> None:
        key_from, key_to = self.keys[source], self.keys[destination]
        queue = self.queues[key_from]
        seen = []
        result = core.unpark_requeue(key_from, key_to, lambda: op, lambda o, r: seen.append((o, r)) or token)
        expected = expect_unpark_requeue(queue, op, result, seen)
        if expected is None:
            return
        woken, moved = expected
        for thread in moved:
            thread.moved = True
        remaining = [t for t in queue if t not in woken and t not in moved]
        self.queues[key_from] = remaining
        self.queues[key_to] = self.queues[key_to] + moved if key_to != key_from else remaining + moved
        self._expect_woken(woken, token)

    @rule(index=keys_index, decisions=st.lists(st.sampled_from(FilterOp), min_size=MAX_PARKED, max_size=MAX_PARKED), token=tokens)
    def unpark_filter(self, index: int, decisions: list[FilterOp], token: int) -> None:
        key = self.keys[index]
        queue = self.queues[key]
        calls = iter(decisions)
        result = core.unpark_filter(key, lambda park_token: next(calls), lambda r: token)
        chosen, have_more = [], False
        for thread, decision in zip(queue, decisions):
            if decision is FilterOp.Unpark:
                chosen.append(thread)
            else:
                have_more = True
                if decision is FilterOp.Stop:
                    break
        assert result.unparked_threads == len(chosen)
        assert result.have_more_threads is have_more
        if chosen and chosen[0].moved:
            assert result.be_fair
        self.queues[key] = [t for t in queue if t not in chosen]
        self._expect_woken(chosen, token)

    @invariant()
    def queues_match_the_model(self) -> None:
        for key, queue in self.queues.items():
            order = []
            core.unpark_filter(key, lambda park_token: order.append(park_token) or FilterOp.Skip, lambda r: 0)
            assert order == [thread.park_token for thread in queue]
            assert core.parked_count(key) == len(queue)
            assert not any(thread.worker.done.is_set() for thread in queue)

    def teardown(self) -> None:
        for key, queue in self.queues.items():
            core.unpark_all(key, 1)
            for thread in queue:
                thread.worker.finish()


ParkingLotModel.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_parking_lot_matches_the_model = ParkingLotModel.TestCase
