"""RawBarrier (parking_lot/raw/barrier.py): rounds, abort and reset, deadlines, bad input, a raising action.

compat.Barrier, its face, is checked against threading.Barrier in tests/test_compat.py and
tests/test_cpython_lock_tests.py; these tests drive the raw barrier's own API.
"""

from __future__ import annotations

import threading
import time

import pytest

from conftest import BOUND, start, wait_until
from lot_helpers import wait_parked
from parking_lot import core
from parking_lot.raw import BrokenBarrierError, RawBarrier
from parking_lot.raw import _tracking


def until(seconds: float) -> int:
    """A ``time.monotonic_ns()`` deadline *seconds* from now."""
    return time.monotonic_ns() + int(seconds * 1e9)


def test_each_round_hands_out_every_index_once_and_runs_the_action_once():
    rounds = 20
    actions = []
    barrier = RawBarrier(3, action=lambda: actions.append(barrier.n_waiting))
    assert barrier.parties == 3 and barrier.n_waiting == 0 and not barrier.broken

    def party():
        return [barrier.wait(until(BOUND)) for _ in range(rounds)]

    workers = [start(party, name=f"party-{i}") for i in range(3)]
    results = [worker.finish() for worker in workers]
    for round_number in range(rounds):
        assert sorted(result[round_number] for result in results) == [0, 1, 2]
    assert actions == [3] * rounds  # the action runs with the round full
    assert barrier.n_waiting == 0 and not barrier.broken


def test_an_arrival_while_the_action_runs_waits_for_the_next_round():
    go = threading.Event()
    in_action = threading.Event()

    def action():
        in_action.set()
        assert go.wait(BOUND)

    barrier = RawBarrier(2, action=action)
    first = start(barrier.wait, until(BOUND), name="first")
    wait_parked(barrier._key, 1)
    last = start(barrier.wait, until(BOUND), name="last")
    assert in_action.wait(BOUND)
    early = start(barrier.wait, until(BOUND), name="early")  # the round is full: it parks for the next one
    wait_parked(barrier._key, 2)
    assert barrier.n_waiting == 2  # still the full round
    go.set()
    assert (first.finish(), last.finish()) == (0, 1)
    wait_until(lambda: barrier.n_waiting == 1, what="the early thread to arrive in the next round")
    assert barrier.wait(until(BOUND)) == 1
    assert early.finish() == 0


def test_abort_breaks_the_waiters_and_later_waits_until_reset():
    barrier = RawBarrier(3)
    waiters = [start(barrier.wait, until(BOUND)) for _ in range(2)]
    wait_until(lambda: barrier.n_waiting == 2, what="two waiters")
    barrier.abort()
    for waiter in waiters:
        with pytest.raises(BrokenBarrierError):
            waiter.finish()
    assert barrier.broken and barrier.n_waiting == 0
    assert "broken" in repr(barrier)
    with pytest.raises(BrokenBarrierError):
        barrier.wait(until(BOUND))
    barrier.reset()
    assert not barrier.broken
    waiters = [start(barrier.wait, until(BOUND)) for _ in range(2)]
    mine = barrier.wait(until(BOUND))
    assert sorted([mine] + [waiter.finish() for waiter in waiters]) == [0, 1, 2]


def test_reset_breaks_the_current_round_but_not_the_barrier():
    barrier = RawBarrier(2)
    waiter = start(barrier.wait, until(BOUND))
    wait_until(lambda: barrier.n_waiting == 1, what="a waiter")
    barrier.reset()
    with pytest.raises(BrokenBarrierError):
        waiter.finish()
    assert not barrier.broken and barrier.n_waiting == 0
    other = start(barrier.wait, until(BOUND))
    assert barrier.wait(until(BOUND)) + other.finish() == 1


def test_a_deadline_that_passes_breaks_the_barrier_for_every_waiter():
    barrier = RawBarrier(3)
    patient = start(barrier.wait, until(BOUND))
    wait_until(lambda: barrier.n_waiting == 1, what="a waiter")
    started = time.monotonic_ns()
    deadline = until(0.02)
    with pytest.raises(BrokenBarrierError):
        barrier.wait(deadline)
    assert time.monotonic_ns() >= deadline > started  # never early
    with pytest.raises(BrokenBarrierError):
        patient.finish()
    assert barrier.broken


def test_a_past_deadline_gives_up_at_once_but_the_last_arrival_does_not_wait():
    barrier = RawBarrier(2)
    with pytest.raises(BrokenBarrierError):
        barrier.wait(0)
    assert barrier.broken
    barrier.reset()
    waiter = start(barrier.wait, until(BOUND))
    wait_until(lambda: barrier.n_waiting == 1, what="a waiter")
    assert barrier.wait(0) == 1  # last: it lets the round go, no deadline involved
    assert waiter.finish() == 0 and not barrier.broken


def test_a_raising_action_breaks_the_barrier_and_reaches_the_last_arrival():
    def action():
        raise ZeroDivisionError

    barrier = RawBarrier(2, action=action)
    waiter = start(barrier.wait, until(BOUND))
    wait_until(lambda: barrier.n_waiting == 1, what="a waiter")
    with pytest.raises(ZeroDivisionError):
        barrier.wait(until(BOUND))
    with pytest.raises(BrokenBarrierError):
        waiter.finish()
    assert barrier.broken


def test_a_waiter_that_leaves_by_an_exception_takes_itself_out_of_the_round():
    barrier = RawBarrier(3)
    idents = []

    def leaver():
        idents.append(threading.get_ident())
        return barrier.wait(until(BOUND))

    waiter = start(leaver)
    wait_parked(barrier._key, 1)
    assert barrier.n_waiting == 1
    assert core.cancel_park(idents[0], KeyError("cancelled"))
    with pytest.raises(KeyError):
        waiter.finish()
    assert barrier.n_waiting == 0 and not barrier.broken
    # The round still needs three arrivals.
    others = [start(barrier.wait, until(BOUND)) for _ in range(2)]
    wait_until(lambda: barrier.n_waiting == 2, what="two waiters")
    assert barrier.wait(until(BOUND)) == 2
    assert sorted(other.finish() for other in others) == [0, 1]


@pytest.mark.parametrize(
    "parties, action, error",
    [("2", None, TypeError), (2.0, None, TypeError), (True, None, TypeError), (0, None, ValueError),
     (-1, None, ValueError), (2, 5, TypeError)],
)
def test_bad_arguments_to_the_constructor(parties, action, error):
    with pytest.raises(error, match="parties|action"):
        RawBarrier(parties, action)


@pytest.mark.parametrize("until_ns", [1.5, "soon", True, float("nan")])
def test_a_bad_deadline_raises_before_the_thread_arrives(until_ns):
    barrier = RawBarrier(2)
    waiter = start(barrier.wait, until(BOUND))
    wait_until(lambda: barrier.n_waiting == 1, what="a waiter")
    with pytest.raises(TypeError, match="until_ns"):
        barrier.wait(until_ns)
    # Nothing changed: the waiter is still alone in its round, which a good wait completes.
    assert barrier.n_waiting == 1 and not barrier.broken and not waiter.done.is_set()
    assert barrier.wait(until(BOUND)) == 1
    assert waiter.finish() == 0


def test_no_thread_holds_a_barrier():
    assert RawBarrier in _tracking.OWNERLESS


def test_a_face_parks_its_raw_barrier_on_the_faces_key():
    from parking_lot.compat import Barrier

    face = Barrier(2)
    assert face._raw._key == id(face) and face._raw.parties == 2
    waiter = start(face.wait, BOUND)
    wait_parked(id(face), 1)
    assert face.wait(BOUND) == 1 and waiter.finish() == 0
