"""Hypothesis state machines: RawMutex, RawFairMutex and RawReentrantMutex against a sequential model.

Three actor threads each run the commands the state machine sends them (a lock
belongs to a thread, so the calls must come from the same threads every time).
The model says who holds the lock (and how many times, for the reentrant one)
and which actors are blocked in ``lock()``, in order.  After every step the real
lock must agree: ``is_locked()``, the number of threads parked on its key, and
which actor each unlock lets in (the longest waiter: no one else is competing).
"""

from __future__ import annotations

import queue
import threading

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import BOUND, wait_until
from parking_lot import core
from parking_lot.raw import RawFairMutex, RawMutex, RawReentrantMutex

ACTORS = 3
actor_index = st.integers(0, ACTORS - 1)


class Actor:
    """A thread that runs callables sent to it, one at a time, and reports each result."""

    def __init__(self) -> None:
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            command = self.commands.get()
            if command is None:
                return
            try:
                self.results.put(("ok", command()))
            except BaseException as exc:  # reported to the test
                self.results.put(("error", exc))

    def send(self, command) -> None:
        self.commands.put(command)

    def result(self):
        kind, value = self.results.get(timeout=BOUND)
        if kind == "error":
            raise value
        return value

    def idle(self) -> bool:
        return self.results.empty()


class MutexModel(RuleBasedStateMachine):
    mutex_class = RawMutex
    reentrant = False

    def __init__(self) -> None:
        super().__init__()
        self.mutex = self.mutex_class()
        self.key = id(self.mutex._mutex) if self.reentrant else id(self.mutex)
        self.actors = [Actor() for _ in range(ACTORS)]
        self.holder: int | None = None
        self.count = 0
        self.waiters: list[int] = []

    def _free_to_act(self, index: int) -> bool:
        return index not in self.waiters

    def _can_lock(self, index: int) -> bool:
        return self._free_to_act(index) and (self.reentrant or self.holder != index)

    @rule(index=actor_index)
    def lock(self, index: int) -> None:
        if not self._can_lock(index):
            return
        self.actors[index].send(self.mutex.lock)
        if self.holder is None or self.holder == index:
            self.actors[index].result()
            self.holder = index
            self.count += 1
        else:
            self.waiters.append(index)
            wait_until(lambda: core.parked_count(self.key) == len(self.waiters), what="the actor to park")

    @rule(index=actor_index)
    def try_lock(self, index: int) -> None:
        if not self._can_lock(index):
            return
        self.actors[index].send(self.mutex.try_lock)
        expected = self.holder is None or self.holder == index
        assert self.actors[index].result() is expected
        if expected:
            self.holder = index
            self.count += 1

    @rule(index=actor_index)
    def try_lock_for_times_out(self, index: int) -> None:
        if not self._can_lock(index) or self.holder in (None, index):
            return
        self.actors[index].send(lambda: self.mutex.try_lock_for(0.002))
        assert self.actors[index].result() is False

    @rule(fair=st.booleans())
    def unlock(self, fair: bool) -> None:
        if self.holder is None:
            return
        holder = self.actors[self.holder]
        holder.send(self.mutex.unlock_fair if fair else self.mutex.unlock)
        holder.result()
        self.count -= 1
        if self.count:
            return
        self.holder = None
        if self.waiters:
            # The longest waiter gets it (woken or handed the lock; nobody else competes).
            nxt = self.waiters.pop(0)
            self.actors[nxt].result()
            self.holder, self.count = nxt, 1

    @precondition(lambda self: not self.reentrant)
    @rule(index=actor_index)
    def unlock_from_another_thread(self, index: int) -> None:
        # parking_lot's RawMutex may be released by any thread.
        if self.holder is None or index == self.holder or not self._free_to_act(index):
            return
        self.holder = index  # the releasing actor plays the holder's part
        self.unlock(False)

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.mutex.is_locked() is (self.holder is not None)
        assert core.parked_count(self.key) == len(self.waiters)

    def teardown(self) -> None:
        while self.holder is not None:
            self.unlock(False)
        for actor in self.actors:
            actor.send(None)
            actor.thread.join(BOUND)
            assert not actor.thread.is_alive()


class FairMutexModel(MutexModel):
    mutex_class = RawFairMutex


class ReentrantMutexModel(MutexModel):
    mutex_class = RawReentrantMutex
    reentrant = True


_settings = settings(max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
for machine in (MutexModel, FairMutexModel, ReentrantMutexModel):
    machine.TestCase.settings = _settings
test_raw_mutex_matches_the_model = MutexModel.TestCase
test_raw_fair_mutex_matches_the_model = FairMutexModel.TestCase
test_raw_reentrant_mutex_matches_the_model = ReentrantMutexModel.TestCase
