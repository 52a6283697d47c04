"""Hypothesis state machines for RawRwLock, Condvar and Once against sequential models.

As in test_locks_model.py, actor threads run the commands (a lock belongs to the
thread that took it) and the model says what each command must return and who
must be blocked.  After every step the real primitive must agree with the model,
down to the number of threads parked on each of its keys.

RawRwLock: each actor holds at most one mode, and at most one actor is blocked at a
time, which keeps the model exact (who gets the lock when several wait depends
on wake-up order, which is the stress tests' business) while still covering
every path a blocked request can take: a writer waiting on the main key, a
writer holding WRITER while the readers drain (second key), an upgrade, and
readers and upgraders held off by a writer.
"""

from __future__ import annotations

import threading

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import wait_until
from parking_lot import core
from parking_lot.condvar import Condvar
from parking_lot.mutex import Mutex
from parking_lot.raw import Once, OnceState, PoisonError, RawRwLock
from test_locks_model import ACTORS, Actor, actor_index

SHARED, UPGRADABLE, EXCLUSIVE = "shared", "upgradable", "exclusive"


class RwLockModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rw = RawRwLock()
        self.key = id(self.rw)
        self.actors = [Actor() for _ in range(ACTORS)]
        self.held: dict[int, str] = {}  # actor -> mode
        # The one blocked request: (actor, wanted mode, whether it holds WRITER while
        # readers drain) or None.
        self.blocked: tuple[int, str, bool] | None = None

    # --- the rules of the task-fair lock, as the model sees them -----------------------

    def _writer_bit(self) -> bool:
        """WRITER is set: a writer holds the lock or waits (holding the bit) for readers."""
        return EXCLUSIVE in self.held.values() or (self.blocked is not None and self.blocked[2])

    def _readers(self) -> int:
        return sum(1 for mode in self.held.values() if mode in (SHARED, UPGRADABLE))

    def _grantable(self, mode: str) -> bool:
        if mode == SHARED:
            return not self._writer_bit()
        if mode == UPGRADABLE:
            return not self._writer_bit() and UPGRADABLE not in self.held.values()
        return not self.held  # exclusive

    def _blocked_state(self, actor: int, mode: str) -> tuple[int, str, bool]:
        """How a request that cannot be granted now waits."""
        if mode == EXCLUSIVE:
            if actor in self.held:  # an upgrade: holds WRITER, waits for the other readers
                return (actor, mode, True)
            takes_bit = not self._writer_bit() and UPGRADABLE not in self.held.values()
            return (actor, mode, takes_bit)  # readers only: take WRITER and wait for them to leave
        return (actor, mode, False)

    def _free(self, index: int) -> bool:
        return self.blocked is None or self.blocked[0] != index

    def _idle(self) -> list[int]:
        """Actors that hold nothing and are not blocked."""
        return [i for i in range(ACTORS) if i not in self.held and self._free(i)]

    def _holding(self, *modes: str) -> list[int]:
        return [i for i, mode in self.held.items() if mode in modes and self._free(i)]

    # --- rules ------------------------------------------------------------------------------

    @precondition(lambda self: self._idle())
    @rule(data=st.data(), mode=st.sampled_from([SHARED, UPGRADABLE, EXCLUSIVE]))
    def try_lock(self, data: st.DataObject, mode: str) -> None:
        index = data.draw(st.sampled_from(self._idle()))
        call = {SHARED: self.rw.try_lock_shared, UPGRADABLE: self.rw.try_lock_upgradable,
                EXCLUSIVE: self.rw.try_lock_exclusive}[mode]
        self.actors[index].send(call)
        expected = self._grantable(mode)
        assert self.actors[index].result() is expected
        if expected:
            self.held[index] = mode

    @precondition(lambda self: self._idle())
    @rule(data=st.data(), mode=st.sampled_from([SHARED, UPGRADABLE, EXCLUSIVE]))
    def timed_lock_times_out_or_succeeds(self, data: st.DataObject, mode: str) -> None:
        index = data.draw(st.sampled_from(self._idle()))
        call = {SHARED: self.rw.try_lock_shared_for, UPGRADABLE: self.rw.try_lock_upgradable_for,
                EXCLUSIVE: self.rw.try_lock_exclusive_for}[mode]
        self.actors[index].send(lambda: call(0.002))
        expected = self._grantable(mode)
        assert self.actors[index].result() is expected  # and a timed-out writer left no WRITER behind
        if expected:
            self.held[index] = mode

    @precondition(lambda self: self.blocked is None and self._idle())
    @rule(data=st.data(), mode=st.sampled_from([SHARED, UPGRADABLE, EXCLUSIVE]))
    def lock(self, data: st.DataObject, mode: str) -> None:
        index = data.draw(st.sampled_from(self._idle()))
        call = {SHARED: self.rw.lock_shared, UPGRADABLE: self.rw.lock_upgradable,
                EXCLUSIVE: self.rw.lock_exclusive}[mode]
        self.actors[index].send(call)
        if self._grantable(mode):
            self.actors[index].result()
            self.held[index] = mode
        else:
            self.blocked = self._blocked_state(index, mode)
            self._wait_parked()

    @precondition(lambda self: self.blocked is None and self._holding(UPGRADABLE))
    @rule(data=st.data())
    def upgrade(self, data: st.DataObject) -> None:
        index = data.draw(st.sampled_from(self._holding(UPGRADABLE)))
        self.actors[index].send(self.rw.upgrade)
        if self._readers() == 1:
            self.actors[index].result()
            self.held[index] = EXCLUSIVE
        else:
            self.blocked = (index, EXCLUSIVE, True)
            self._wait_parked()

    @precondition(lambda self: self._holding(UPGRADABLE))
    @rule(data=st.data())
    def try_upgrade(self, data: st.DataObject) -> None:
        index = data.draw(st.sampled_from(self._holding(UPGRADABLE)))
        self.actors[index].send(self.rw.try_upgrade)
        expected = self._readers() == 1
        assert self.actors[index].result() is expected
        if expected:
            self.held[index] = EXCLUSIVE

    @precondition(lambda self: self._holding(EXCLUSIVE, UPGRADABLE))
    @rule(data=st.data())
    def downgrade(self, data: st.DataObject) -> None:
        index = data.draw(st.sampled_from(self._holding(EXCLUSIVE, UPGRADABLE)))
        mode = self.held.get(index)
        if mode == EXCLUSIVE:
            self.actors[index].send(self.rw.downgrade)
            self.held[index] = SHARED
        else:
            self.actors[index].send(self.rw.downgrade_upgradable)
            self.held[index] = SHARED
        self.actors[index].result()
        self._settle()

    @precondition(lambda self: self._holding(SHARED, UPGRADABLE, EXCLUSIVE))
    @rule(data=st.data(), fair=st.booleans())
    def unlock(self, data: st.DataObject, fair: bool) -> None:
        self._release(data.draw(st.sampled_from(self._holding(SHARED, UPGRADABLE, EXCLUSIVE))), fair)

    def _release(self, index: int, fair: bool) -> None:
        mode = self.held[index]
        if mode == SHARED:
            call = self.rw.unlock_shared
        elif mode == UPGRADABLE:
            call = self.rw.unlock_upgradable_fair if fair else self.rw.unlock_upgradable
        else:
            call = self.rw.unlock_exclusive_fair if fair else self.rw.unlock_exclusive
        self.actors[index].send(call)
        self.actors[index].result()
        del self.held[index]
        self._settle()

    # --- helpers ---------------------------------------------------------------------------

    def _settle(self) -> None:
        """After a release: the blocked request goes through if the rules now allow it."""
        if self.blocked is None:
            return
        actor, mode, holds_bit = self.blocked
        upgrading = self.held.get(actor) == UPGRADABLE
        if upgrading:
            ready = self._readers() == 1
        elif mode == EXCLUSIVE and holds_bit:
            ready = self._readers() == 0
        elif mode == EXCLUSIVE:
            # Woken from the main key when WRITER/UPGRADABLE clear: it takes WRITER and,
            # if readers remain, waits for them on the second key.
            if EXCLUSIVE in self.held.values() or UPGRADABLE in self.held.values():
                ready = False
            elif self._readers():
                self.blocked = (actor, mode, True)
                self._wait_parked()
                return
            else:
                ready = True
        else:
            ready = self._grantable(mode)
        if ready:
            self.actors[actor].result()
            self.held[actor] = mode
            self.blocked = None
        self._wait_parked()

    def _wait_parked(self) -> None:
        main, second = self._expected_parked()
        wait_until(
            lambda: core.parked_count(self.key) == main and core.parked_count(self.key + 1) == second,
            what=f"{main} parked on the main key and {second} on the second",
        )

    def _expected_parked(self) -> tuple[int, int]:
        if self.blocked is None:
            return 0, 0
        return (0, 1) if self.blocked[2] else (1, 0)

    @invariant()
    def agrees_with_the_model(self) -> None:
        main, second = self._expected_parked()
        assert core.parked_count(self.key) == main
        assert core.parked_count(self.key + 1) == second
        assert self.rw.is_locked() is bool(self.held or (self.blocked is not None and self.blocked[2]))
        assert self.rw.is_locked_exclusive() is self._writer_bit()
        for index, actor in enumerate(self.actors):
            if self.blocked is not None and self.blocked[0] == index:
                assert actor.idle()  # still blocked

    def teardown(self) -> None:
        while self.held:
            index = next(iter(self.held))
            if not self._free(index):  # the upgrader itself is blocked: release the others first
                index = next(i for i in self.held if self._free(i))
            self._release(index, False)
        assert self.blocked is None
        for actor in self.actors:
            actor.send(None)
            actor.thread.join(10)


class CondvarModel(RuleBasedStateMachine):
    """Actors wait on one Condvar with one Mutex; the model is a FIFO of waiters."""

    def __init__(self) -> None:
        super().__init__()
        self.mutex, self.cv = Mutex(0), Condvar()
        self.actors = [Actor() for _ in range(ACTORS)]
        self.waiting: list[int] = []

    def _wait(self) -> bool:
        with self.mutex.lock() as guard:
            return not self.cv.wait_for(guard, 30).timed_out

    @rule(index=actor_index)
    def wait(self, index: int) -> None:
        if index in self.waiting:
            return
        self.actors[index].send(self._wait)
        self.waiting.append(index)
        wait_until(lambda: core.parked_count(id(self.cv)) == len(self.waiting), what="the waiter to park")

    @rule(index=actor_index)
    def wait_times_out(self, index: int) -> None:
        if index in self.waiting:
            return

        def timed() -> bool:
            with self.mutex.lock() as guard:
                return self.cv.wait_for(guard, 0.002).timed_out

        self.actors[index].send(timed)
        assert self.actors[index].result() is True

    @rule(hold_mutex=st.booleans())
    def notify_one(self, hold_mutex: bool) -> None:
        if hold_mutex:
            with self.mutex.lock():
                assert self.cv.notify_one() is bool(self.waiting)
                if self.waiting:  # moved onto the mutex's queue, not yet running
                    wait_until(lambda: core.parked_count(id(self.mutex.raw)) == 1, what="the requeue")
        else:
            assert self.cv.notify_one() is bool(self.waiting)
        if self.waiting:
            first = self.waiting.pop(0)  # FIFO: the longest waiter
            assert self.actors[first].result() is True

    @rule()
    def notify_all(self) -> None:
        assert self.cv.notify_all() == len(self.waiting)
        for index in self.waiting:
            assert self.actors[index].result() is True
        self.waiting.clear()

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert core.parked_count(id(self.cv)) == len(self.waiting)
        assert core.parked_count(id(self.mutex.raw)) == 0
        assert not self.mutex.is_locked()
        for index in self.waiting:
            assert self.actors[index].idle()

    def teardown(self) -> None:
        self.notify_all()
        for actor in self.actors:
            actor.send(None)
            actor.thread.join(10)


class OnceModel(RuleBasedStateMachine):
    """The state and who runs: New -> Done or Poisoned; Poisoned -> recovered by force."""

    def __init__(self) -> None:
        super().__init__()
        self.once = Once()
        self.state = OnceState.New
        self.calls: list[object] = []

    @rule(raises=st.booleans(), force=st.booleans())
    def call(self, raises: bool, force: bool) -> None:
        seen: list[OnceState] = []

        def fn(*state: OnceState) -> None:
            seen.extend(state)
            if raises:
                raise KeyError("init failed")

        outcome: object = None
        try:
            (self.once.call_once_force if force else self.once.call_once)(fn if force else lambda: fn())
        except BaseException as exc:
            outcome = type(exc)
        if self.state is OnceState.Done:
            assert outcome is None and not seen  # never runs again
        elif self.state is OnceState.Poisoned and not force:
            assert outcome is PoisonError and not seen
        else:
            if force:
                assert seen == [self.state]  # told whether it is recovering
            assert outcome is (KeyError if raises else None)
            self.state = OnceState.Poisoned if raises else OnceState.Done

    @rule(racers=st.integers(2, 6))
    def race(self, racers: int) -> None:
        runs: list[int] = []
        start = threading.Barrier(racers)

        def racer() -> None:
            start.wait(10)
            try:
                self.once.call_once(lambda: runs.append(1))
            except PoisonError:
                pass

        threads = [threading.Thread(target=racer) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
            assert not thread.is_alive()
        if self.state is OnceState.New:
            assert runs == [1]
            self.state = OnceState.Done
        else:
            assert runs == []

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.once.state is self.state
        assert self.once.is_completed() is (self.state is OnceState.Done)
        assert core.parked_count(id(self.once)) == 0


_settings = settings(max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
for machine in (RwLockModel, CondvarModel, OnceModel):
    machine.TestCase.settings = _settings
test_raw_rwlock_matches_the_model = RwLockModel.TestCase
test_condvar_matches_the_model = CondvarModel.TestCase
test_once_matches_the_model = OnceModel.TestCase
