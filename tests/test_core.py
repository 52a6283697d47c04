"""parking_lot.core: the semantics of park and the unpark family, one behaviour per test."""

from __future__ import annotations

import gc
import math
import os
import time

import pytest

from conftest import BOUND, start, wait_until
from lot_helpers import all_bucket_locks_free, fresh_key, park_thread, wait_parked
from parking_lot import core
from parking_lot.core import FilterOp, Invalid, RequeueOp, TimedOut, Unparked, UnparkResult
from parking_lot.core._hashtable import hash_key, next_power_of_two, xorshift32


@pytest.fixture(autouse=True)
def _lot_left_clean():
    yield
    assert all_bucket_locks_free()


# --- park -------------------------------------------------------------------------------


def test_park_times_out_and_never_early():
    key = fresh_key()
    started = time.monotonic()
    assert core.park(key, timeout=0.03) is TimedOut
    assert time.monotonic() - started >= 0.03
    assert core.parked_count(key) == 0


def test_park_with_a_deadline():
    key = fresh_key()
    deadline = time.monotonic() + 0.02
    assert core.park(key, deadline=deadline) is TimedOut
    assert time.monotonic() >= deadline
    assert core.park(key, deadline=time.monotonic() - 1) is TimedOut


def test_zero_timeout_queues_and_leaves_at_once():
    key = fresh_key()
    calls = []
    assert core.park(key, timed_out=lambda k, last: calls.append((k, last)), timeout=0) is TimedOut
    assert calls == [(key, True)]


def test_validate_false_is_invalid_and_queues_nothing():
    key = fresh_key()
    calls = []
    result = core.park(key, validate=lambda: False, before_sleep=lambda: calls.append("sleep"), timeout=BOUND)
    assert result is Invalid
    assert calls == []
    assert core.parked_count(key) == 0


def test_validate_runs_under_the_bucket_lock_and_before_sleep_after_it():
    key = fresh_key()
    seen = {}

    def validate():
        seen["locked_in_validate"] = core.state.table.bucket_for(key).lock._is_owned()
        return True

    def before_sleep():
        seen["locked_in_before_sleep"] = core.state.table.bucket_for(key).lock._is_owned()
        seen["parked_in_before_sleep"] = core.parked_count(key)

    assert core.park(key, validate, before_sleep, timeout=0.001) is TimedOut
    assert seen == {"locked_in_validate": True, "locked_in_before_sleep": False, "parked_in_before_sleep": 1}


def test_unpark_one_wakes_in_fifo_order_with_tokens():
    key = fresh_key()
    workers = [park_thread(key, park_token=i) for i in range(4)]
    for i, worker in enumerate(workers):
        result = core.unpark_one(key, lambda r, i=i: 100 + i)
        assert result == UnparkResult(unparked_threads=1, have_more_threads=i < 3, be_fair=result.be_fair)
        assert worker.finish() == Unparked(100 + i)


def test_unpark_one_without_waiters_still_calls_back():
    key = fresh_key()
    seen = []
    assert core.unpark_one(key, lambda r: seen.append(r) or 0) == UnparkResult()
    assert seen == [UnparkResult()]


def test_unpark_one_default_token():
    key = fresh_key()
    worker = park_thread(key)
    core.unpark_one(key)
    assert worker.finish() == Unparked(core.DEFAULT_UNPARK_TOKEN)


def test_keys_sharing_a_bucket_are_independent():
    bits = core.state.table.hash_bits
    key = fresh_key()
    other = next(k for k in range(key + 1, key + 100000) if hash_key(k, bits) == hash_key(key, bits))
    a = park_thread(key)
    b = park_thread(other)
    assert core.unpark_one(other).unparked_threads == 1
    assert b.finish() == Unparked(0)
    assert core.parked_count(key) == 1
    assert core.unpark_all(key, 9) == 1
    assert a.finish() == Unparked(9)


def test_unpark_all_wakes_everyone_on_the_key_only():
    key, other = fresh_key(), fresh_key()
    workers = [park_thread(key) for _ in range(5)]
    bystander = park_thread(other)
    assert core.unpark_all(key, 7) == 5
    assert [w.finish() for w in workers] == [Unparked(7)] * 5
    assert core.parked_count(other) == 1
    assert core.unpark_all(key) == 0
    core.unpark_one(other)
    bystander.finish()


def test_timed_out_reports_whether_it_was_the_last_thread():
    key = fresh_key()
    calls = []
    first = park_thread(key)
    # A second thread that times out while `first` is still queued: not the last one.
    assert core.park(key, timed_out=lambda k, last: calls.append(last), timeout=0.01) is TimedOut
    core.unpark_one(key)
    first.finish()
    assert core.park(key, timed_out=lambda k, last: calls.append(last), timeout=0.01) is TimedOut
    assert calls == [False, True]


def test_a_timed_out_thread_in_the_middle_leaves_the_queue_in_order():
    timeout_ns = 500_000_000
    while True:
        key = fresh_key()
        first = park_thread(key, park_token=1)

        def middle_park(timeout: float = timeout_ns / 1e9) -> tuple[object, int]:
            return core.park(key, None, None, None, 2, timeout), time.monotonic_ns()

        started_ns = time.monotonic_ns()
        middle = start(middle_park)
        wait_parked(key, 2)
        last = park_thread(key, park_token=3)
        queued_behind = not middle.done.is_set()  # `last` parked while `middle` still waited
        result, ended_ns = middle.finish()
        # Never early, whether or not `last` made it in time: an early timeout is just
        # what would have `middle` gone before `last` parks.
        assert result is TimedOut
        assert ended_ns - started_ns >= timeout_ns, f"timed out after {ended_ns - started_ns} ns of {timeout_ns}"
        if queued_behind:
            tokens = []
            core.unpark_filter(key, lambda t: tokens.append(t) or FilterOp.Skip, lambda r: 0)
            assert tokens == [1, 3]
        core.unpark_all(key)
        first.finish(), last.finish()
        if queued_behind:
            return
        # The machine was too slow to park `last` within the timeout: again, with twice as long.
        timeout_ns *= 2
        assert timeout_ns <= BOUND * 1e9, "could not park three threads within BOUND"


# --- requeue --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "woken", "moved", "have_more"),
    [
        (RequeueOp.UnparkOneRequeueRest, [0], [1, 2], False),
        (RequeueOp.RequeueAll, [], [0, 1, 2], False),
        (RequeueOp.UnparkOne, [0], [], True),
        (RequeueOp.RequeueOne, [], [0], True),
        (RequeueOp.Abort, [], [], False),
    ],
)
def test_unpark_requeue_ops(op, woken, moved, have_more):
    key_from, key_to = fresh_key(), fresh_key()
    workers = [park_thread(key_from, park_token=i) for i in range(3)]
    seen = []

    def callback(op_seen, result):
        seen.append((op_seen, result))
        return 55

    result = core.unpark_requeue(key_from, key_to, lambda: op, callback)
    assert result.unparked_threads == len(woken)
    assert result.requeued_threads == len(moved)
    assert result.have_more_threads is have_more
    if op is RequeueOp.Abort:
        assert seen == []
    else:
        assert seen == [(op, result)]
    for index in woken:
        assert workers[index].finish() == Unparked(55)
    assert core.parked_count(key_to) == len(moved)
    assert core.parked_count(key_from) == 3 - len(moved) - len(woken)
    # The moved threads keep their order on key_to.
    order = []
    core.unpark_filter(key_to, lambda t: order.append(t) or FilterOp.Skip, lambda r: 0)
    assert order == moved
    core.unpark_all(key_to, 1)
    core.unpark_all(key_from, 2)
    for index, worker in enumerate(workers):
        if index in moved:
            assert worker.finish() == Unparked(1)
        elif index not in woken:
            assert worker.finish() == Unparked(2)


def test_requeue_to_the_same_key_and_timeout_after_requeue():
    key_from, key_to = fresh_key(), fresh_key()
    calls = []
    worker = start(core.park, key_from, None, None, lambda k, last: calls.append((k, last)), 0, 0.3)
    wait_parked(key_from, 1)
    assert core.unpark_requeue(key_from, key_to, lambda: RequeueOp.RequeueAll, lambda op, r: 0).requeued_threads == 1
    assert worker.finish() is TimedOut
    # timed_out reports the key the thread was on at the end
    assert calls == [(key_to, True)]
    assert core.parked_count(key_to) == 0


@pytest.mark.parametrize("waker", ["unpark_one", "unpark_filter", "unpark_requeue"])
def test_waking_a_requeued_thread_reports_be_fair(monkeypatch, waker):
    # The fairness timer is switched off, so be_fair can come only from the requeue rule:
    # a thread moved by unpark_requeue has waited once already and is due a hand-off.
    from parking_lot.core._hashtable import Bucket

    monkeypatch.setattr(Bucket, "should_be_fair", lambda self: False)
    key_from, key_to = fresh_key(), fresh_key()
    direct = park_thread(key_to, park_token=1)
    moved = park_thread(key_from, park_token=2)
    assert core.unpark_requeue(key_from, key_to, lambda: RequeueOp.RequeueAll, lambda op, r: 0).requeued_threads == 1
    seen = []

    def wake_first():
        if waker == "unpark_one":
            return core.unpark_one(key_to, lambda r: seen.append(r) or 0)
        return core.unpark_requeue(key_to, key_to, lambda: RequeueOp.UnparkOne, lambda op, r: seen.append(r) or 0)

    if waker == "unpark_filter":
        # Pick the moved thread (park token 2) past the direct one: a fair hand-off...
        assert core.unpark_filter(key_to, lambda t: FilterOp.Unpark if t == 2 else FilterOp.Skip, lambda r: 0).be_fair
        # ...and then the directly parked one: none due.
        assert core.unpark_filter(key_to, lambda t: FilterOp.Unpark, lambda r: 0).be_fair is False
    else:
        # The directly parked thread is first in line: no fairness due.
        assert wake_first().be_fair is False
        assert seen[-1].be_fair is False
        # Now the moved one is first: waking it is a fair hand-off.
        assert wake_first().be_fair is True
        assert seen[-1].be_fair is True
    direct.finish()
    moved.finish()


def test_the_requeued_mark_lasts_one_park(monkeypatch):
    from parking_lot.core._hashtable import Bucket

    monkeypatch.setattr(Bucket, "should_be_fair", lambda self: False)
    key_from, key_to = fresh_key(), fresh_key()
    worker = start(lambda: (core.park(key_from, timeout=BOUND), core.park(key_to, timeout=BOUND)))
    wait_parked(key_from, 1)
    assert core.unpark_requeue(key_from, key_to, lambda: RequeueOp.RequeueAll, lambda op, r: 0).requeued_threads == 1
    assert core.unpark_one(key_to, lambda r: 5).be_fair is True
    wait_parked(key_to, 1)  # the same thread, parked again: not requeued this time
    assert core.unpark_one(key_to, lambda r: 6).be_fair is False
    assert worker.finish() == (Unparked(5), Unparked(6))


# --- filter -----------------------------------------------------------------------------


def test_unpark_filter_unpark_skip_stop():
    key = fresh_key()
    workers = [park_thread(key, park_token=t) for t in (1, 2, 3, 4, 5)]
    decisions = {1: FilterOp.Unpark, 2: FilterOp.Skip, 3: FilterOp.Unpark, 4: FilterOp.Stop, 5: FilterOp.Unpark}
    seen = []
    result = core.unpark_filter(key, lambda t: (seen.append(t), decisions[t])[1], lambda r: 77)
    assert seen == [1, 2, 3, 4]
    assert result.unparked_threads == 2 and result.have_more_threads
    assert workers[0].finish() == Unparked(77) and workers[2].finish() == Unparked(77)
    assert core.parked_count(key) == 3
    assert core.unpark_all(key) == 3
    for index in (1, 3, 4):
        workers[index].finish()


# --- callbacks that raise ---------------------------------------------------------------


class Boom(Exception):
    pass


def _raise(*args):
    raise Boom(args)


def test_validate_raising_queues_nothing():
    key = fresh_key()
    with pytest.raises(Boom):
        core.park(key, validate=_raise, timeout=BOUND)
    assert core.parked_count(key) == 0


def test_before_sleep_raising_leaves_the_queue_and_calls_timed_out():
    key = fresh_key()
    calls = []
    with pytest.raises(Boom) as info:
        core.park(key, before_sleep=_raise, timed_out=lambda k, last: calls.append((k, last)), timeout=BOUND)
    assert core.parked_count(key) == 0
    assert calls == [(key, True)]
    assert core.interrupted_result(info.value) is TimedOut


def test_timed_out_raising_propagates_after_leaving_the_queue():
    key = fresh_key()
    with pytest.raises(Boom):
        core.park(key, timed_out=_raise, timeout=0.001)
    assert core.parked_count(key) == 0


def test_unpark_callbacks_raising_change_nothing():
    key, key_to = fresh_key(), fresh_key()
    workers = [park_thread(key, park_token=i) for i in range(3)]
    with pytest.raises(Boom):
        core.unpark_one(key, _raise)
    with pytest.raises(Boom):
        core.unpark_requeue(key, key_to, _raise, lambda op, r: 0)
    with pytest.raises(Boom):
        core.unpark_requeue(key, key_to, lambda: RequeueOp.UnparkOneRequeueRest, _raise)
    with pytest.raises(Boom):
        core.unpark_filter(key, lambda t: FilterOp.Unpark if t < 2 else _raise(), lambda r: 0)
    with pytest.raises(Boom):
        core.unpark_filter(key, lambda t: FilterOp.Unpark, _raise)
    assert core.parked_count(key) == 3 and core.parked_count(key_to) == 0
    assert not any(w.done.is_set() for w in workers)
    assert core.unpark_all(key, 3) == 3
    assert [w.finish() for w in workers] == [Unparked(3)] * 3


def test_invalid_ops_and_tokens_from_callbacks_are_type_errors_before_changes():
    key, key_to = fresh_key(), fresh_key()
    worker = park_thread(key)
    with pytest.raises(TypeError, match="RequeueOp"):
        core.unpark_requeue(key, key_to, lambda: "requeue_all", lambda op, r: 0)
    with pytest.raises(TypeError, match="FilterOp"):
        core.unpark_filter(key, lambda t: True, lambda r: 0)
    with pytest.raises(TypeError, match="token returned by callback"):
        core.unpark_one(key, lambda r: "token")
    with pytest.raises(ValueError, match="token returned by callback"):
        core.unpark_one(key, lambda r: -1)
    assert core.parked_count(key) == 1
    core.unpark_one(key)
    worker.finish()


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: core.park("1"), TypeError, "key must be an int"),
        (lambda: core.park(1.0), TypeError, "key must be an int"),
        (lambda: core.park(True), TypeError, "key must be an int"),
        (lambda: core.park(-1), ValueError, r"0 <= key < 2\*\*64"),
        (lambda: core.park(2**64), ValueError, r"0 <= key < 2\*\*64"),
        (lambda: core.park(1, timeout=-0.5), ValueError, "timeout must be >= 0"),
        (lambda: core.park(1, timeout=math.nan), ValueError, "timeout must not be NaN"),
        (lambda: core.park(1, timeout="1"), TypeError, "timeout must be a number"),
        (lambda: core.park(1, deadline=math.nan), ValueError, "deadline must not be NaN"),
        (lambda: core.park(1, timeout=1, deadline=2), TypeError, "not both"),
        (lambda: core.park(1, validate=5), TypeError, "validate must be callable"),
        (lambda: core.park(1, before_sleep="x"), TypeError, "before_sleep must be callable"),
        (lambda: core.park(1, timed_out=1), TypeError, "timed_out must be callable"),
        (lambda: core.park(1, park_token=-3), ValueError, "park_token"),
        (lambda: core.park(1, park_token=0.0), TypeError, "park_token"),
        (lambda: core.park(1, park_token=False), TypeError, "park_token"),
        (lambda: core.unpark_one(2**70), ValueError, "key"),
        (lambda: core.unpark_one(1, callback=3), TypeError, "callback must be callable"),
        (lambda: core.unpark_all(1, unpark_token="t"), TypeError, "unpark_token"),
        (lambda: core.unpark_requeue(1, -2, lambda: RequeueOp.Abort, lambda o, r: 0), ValueError, "key_to"),
        (lambda: core.unpark_requeue(1, 2, None, lambda o, r: 0), TypeError, "validate must be callable"),
        (lambda: core.unpark_filter(1, None, lambda r: 0), TypeError, "filter must be callable"),
        (lambda: core.unpark_filter(1, lambda t: FilterOp.Skip, None), TypeError, "callback must be callable"),
        (lambda: core.parked_count(None), TypeError, "key"),
    ],
)
def test_bad_input_is_rejected_before_anything_is_queued(call, error, match):
    before = core.statistics().threads_parked
    with pytest.raises(error, match=match):
        call()
    assert core.statistics().threads_parked == before


def test_int_subclasses_are_accepted_as_keys():
    class Key(int):
        pass

    assert core.park(Key(fresh_key()), timeout=0) is TimedOut


# --- machinery ---------------------------------------------------------------------------


def test_fibonacci_hash_and_sizes():
    assert hash_key(0, 4) == 0
    assert hash_key(1, 4) == 0x9E3779B97F4A7C15 >> 60
    assert hash_key(2**64 - 1, 10) == ((2**64 - 1) * 0x9E3779B97F4A7C15 % 2**64) >> 54
    assert [next_power_of_two(n) for n in (0, 1, 2, 3, 48, 49)] == [1, 1, 2, 4, 64, 64]
    seed = 1
    seen = set()
    for _ in range(1000):
        seed = xorshift32(seed)
        assert 0 < seed < 2**32
        seen.add(seed)
    assert len(seen) == 1000


def test_be_fair_fires_about_once_a_millisecond():
    key = fresh_key()
    fair = 0
    started = time.monotonic()
    while time.monotonic() - started < 0.2:
        worker = park_thread(key)
        fair += core.unpark_one(key).be_fair
        worker.finish()
    # The timer re-arms at a random 0-1 ms, so a 200 ms run sees it at least a few times,
    # and never on every unpark (an unpark takes far less than a millisecond here).
    assert fair >= 3


def test_statistics_and_parked_count():
    key = fresh_key()
    workers = [park_thread(key) for _ in range(3)]
    stats = core.statistics()
    assert stats.threads_parked >= 3 and stats.keys_parked >= 1
    assert stats.buckets == len(core.state.table.buckets) >= 16
    assert stats.live_threads >= 4
    core.unpark_all(key)
    for worker in workers:
        worker.finish()


def test_ten_thousand_short_lived_threads_leave_the_live_count_where_it_was():
    gc.collect()
    before = core.statistics().live_threads
    for _batch in range(100):
        workers = [start(core.park, fresh_key(), None, None, None, 0, 0) for _ in range(100)]
        assert all(worker.finish() is TimedOut for worker in workers)
        assert core.statistics().live_threads <= before + 200  # dead threads do not pile up
    gc.collect()
    wait_until(lambda: core.statistics().live_threads == before, what="live thread count to return")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_from_another_thread_gives_the_child_a_main_thread_parker():
    # The forking thread becomes the child's main thread, the one that receives Ctrl-C:
    # its parker must wait in slices as a main thread's does (every backend has _slice_ns).
    from parking_lot.core._hashtable import thread_data
    from parking_lot.thread_parker._base import MAIN_THREAD_SLICE_NS

    read_fd, write_fd = os.pipe()

    def fork_here():
        core.park(fresh_key(), timeout=0)  # this thread has its ThreadData (and parker) now
        assert thread_data().parker._slice_ns is None  # not the main thread here
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # child
            try:
                ok = thread_data().parker._slice_ns == MAIN_THREAD_SLICE_NS
                ok = ok and core.park(fresh_key(), timeout=0.001) is TimedOut
                os.write(write_fd, b"ok" if ok else b"not sliced")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        return os.read(read_fd, 100)

    try:
        assert start(fork_here).finish() == b"ok"
    finally:
        os.close(read_fd)
        os.close(write_fd)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_an_empty_table():
    key = fresh_key()
    core.park(fresh_key(), timeout=0)  # the forking thread has its ThreadData (else the child has none)
    worker = park_thread(key)
    read_fd, write_fd = os.pipe()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # child
        try:
            stats = core.statistics()
            ok = (
                core.parked_count(key) == 0
                and stats.threads_parked == 0
                and stats.live_threads == 1
                and core.park(key, timeout=0.001) is TimedOut
            )
            os.write(write_fd, b"ok" if ok else repr(stats).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    report = os.read(read_fd, 1000)
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert report == b"ok"
    assert core.parked_count(key) == 1
    core.unpark_one(key)
    worker.finish()
