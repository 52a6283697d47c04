"""Once: exactly one run under a race, poisoning, recovery with force."""

from __future__ import annotations

import threading
import time

import pytest

from conftest import BOUND, start, wait_until
from parking_lot import core
from parking_lot.raw import Once, OnceState, PoisonError


def test_exactly_one_caller_runs_the_function_however_many_race():
    for _ in range(20):
        once = Once()
        runs = []
        go = threading.Barrier(16, timeout=BOUND)

        def init():
            runs.append(threading.get_ident())
            time.sleep(0.002)  # let the others pile up and park

        def racer():
            go.wait()
            once.call_once(init)
            assert once.is_completed()  # nobody returns before the run finished

        workers = [start(racer) for _ in range(16)]
        for worker in workers:
            worker.finish()
        assert len(runs) == 1
        assert once.state is OnceState.Done


def test_waiters_park_while_it_runs_and_wake_when_done():
    once = Once()
    release = threading.Event()
    runner = start(once.call_once, lambda: release.wait(BOUND))
    wait_until(lambda: once.state is OnceState.InProgress, what="the run to start")
    waiters = [start(once.call_once, lambda: pytest.fail("ran twice")) for _ in range(3)]
    wait_until(lambda: core.parked_count(id(once)) == 3, what="the waiters to park")
    release.set()
    runner.finish()
    for waiter in waiters:
        waiter.finish()
    assert core.parked_count(id(once)) == 0


class Boom(Exception):
    pass


def test_a_raising_function_poisons_and_force_recovers():
    once = Once()

    def fail():
        raise Boom

    with pytest.raises(Boom):
        once.call_once(fail)
    assert once.state is OnceState.Poisoned and once.state.poisoned
    with pytest.raises(PoisonError, match="poisoned"):
        once.call_once(lambda: None)
    seen = []
    once.call_once_force(seen.append)
    assert seen == [OnceState.Poisoned]
    assert once.is_completed() and once.state.done
    once.call_once_force(seen.append)
    assert seen == [OnceState.Poisoned]
    assert "done" in repr(once)


def test_waiters_of_a_poisoned_run_get_poison_error():
    once = Once()
    release = threading.Event()

    def fail():
        release.wait(BOUND)
        raise Boom

    runner = start(once.call_once, fail)
    wait_until(lambda: once.state is OnceState.InProgress, what="the run to start")
    waiter = start(once.call_once, lambda: None)
    wait_until(lambda: core.parked_count(id(once)) == 1, what="the waiter to park")
    release.set()
    with pytest.raises(Boom):
        runner.finish()
    with pytest.raises(PoisonError):
        waiter.finish()


def test_force_on_a_new_once_reports_new():
    once = Once()
    seen = []
    once.call_once_force(seen.append)
    assert seen == [OnceState.New]
