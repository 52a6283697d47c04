"""RawRwLock: modes, task fairness, upgrades and downgrades, timeouts, interrupts, fault injection."""

from __future__ import annotations

import threading
import time

import pytest

from conftest import BOUND, sigint_main_thread, start, wait_until
from faultinject import CORE_DIR, RAW_DIR, FaultInjector, Injected, at_every_line
from lot_helpers import all_bucket_locks_free
from parking_lot import core
from parking_lot.raw.rwlock import RawRwLock


def _parked(rw, count, second_key=False):
    key = id(rw) + (1 if second_key else 0)
    wait_until(lambda: core.parked_count(key) == count, what=f"{count} threads parked on {rw!r}")


def test_readers_share_a_writer_excludes():
    rw = RawRwLock()
    rw.lock_shared()
    assert start(rw.try_lock_shared).finish() is True
    assert rw.readers == 2 and not rw.try_lock_exclusive()
    rw.unlock_shared()
    rw.unlock_shared()
    rw.lock_exclusive()
    assert rw.is_locked_exclusive() and not start(rw.try_lock_shared).finish()
    assert not start(rw.try_lock_upgradable).finish()
    rw.unlock_exclusive()
    assert not rw.is_locked() and "unlocked" in repr(rw)


def test_a_waiting_writer_blocks_new_readers_but_not_recursive_ones():
    rw = RawRwLock()
    rw.lock_shared()
    writer = start(lambda: (rw.lock_exclusive(), rw.unlock_exclusive(), "wrote")[2])
    _parked(rw, 1, second_key=True)  # the writer holds WRITER and waits for us to leave
    assert "a writer waiting" in repr(rw)
    assert start(rw.try_lock_shared_for, 0.01).finish() is False  # task-fair: no new readers
    rw.lock_shared_recursive()  # we already read: no deadlock behind the writer
    rw.unlock_shared()
    rw.unlock_shared()
    assert writer.finish() == "wrote"
    assert not rw.is_locked()


def test_upgradable_shares_with_readers_and_upgrade_waits_for_them():
    rw = RawRwLock()
    rw.lock_upgradable()
    assert start(rw.try_lock_upgradable).finish() is False  # one upgradable at a time
    reader_may_go = threading.Event()

    def reader():
        rw.lock_shared()
        reader_may_go.wait(BOUND)
        rw.unlock_shared()

    worker = start(reader)
    wait_until(lambda: rw.readers == 2, what="the reader to enter")
    assert rw.try_upgrade() is False
    assert rw.try_upgrade_for(0.01) is False  # timed out: still upgradable, reader still in
    assert rw.readers == 2 and not rw.is_locked_exclusive()
    upgrader = start(lambda: None)
    upgrader.finish()
    reader_may_go.set()
    rw.upgrade()
    worker.finish()
    assert rw.is_locked_exclusive() and rw.readers == 0
    rw.downgrade_to_upgradable()
    assert rw.readers == 1 and start(rw.try_lock_shared).finish() is True
    rw.downgrade_upgradable()
    assert start(rw.try_lock_upgradable).finish() is True  # another thread may now be upgradable


def test_timeouts_never_early_and_leave_no_trace():
    rw = RawRwLock()
    rw.lock_exclusive()
    for call in (rw.try_lock_shared_for, rw.try_lock_exclusive_for, rw.try_lock_upgradable_for):
        started = time.monotonic()
        assert start(call, 0.01).finish() is False
        assert time.monotonic() - started >= 0.01
    deadline = time.monotonic() + 0.01
    assert start(rw.try_lock_shared_until, deadline).finish() is False
    assert time.monotonic() >= deadline
    rw.unlock_exclusive()
    assert rw._state == 0  # no PARKED bit left behind
    with pytest.raises(ValueError):
        rw.try_lock_shared_for(-1)


def test_a_writer_timing_out_on_readers_lets_the_blocked_threads_in():
    rw = RawRwLock()
    rw.lock_shared()
    writer = start(rw.try_lock_exclusive_for, 0.2)
    _parked(rw, 1, second_key=True)
    # While the writer waits, an upgrader and a reader queue behind its WRITER bit.
    upgrader = start(lambda: (rw.lock_upgradable(), "upgradable")[1])
    reader = start(lambda: (rw.lock_shared(), "reader")[1])
    _parked(rw, 2)
    assert writer.finish() is False  # timed out: WRITER given back, the parked woken
    assert upgrader.finish() == "upgradable" and reader.finish() == "reader"
    assert rw.readers == 3 and not rw.is_locked_exclusive()


def test_fair_unlock_hands_the_lock_to_all_readers_and_one_writer():
    rw = RawRwLock()
    rw.lock_exclusive()
    release = threading.Event()

    def read():
        rw.lock_shared()
        release.wait(BOUND)
        rw.unlock_shared()

    readers = [start(read) for _ in range(3)]
    _parked(rw, 3)
    writer = start(lambda: (rw.lock_exclusive(), rw.unlock_exclusive()))
    _parked(rw, 4)
    rw.unlock_exclusive_fair()
    # Handed over: the three readers hold it already, before they even run, and the
    # writer was handed WRITER: it now waits (on the second key) for them to leave.
    assert rw.readers == 3 and rw.is_locked_exclusive()
    _parked(rw, 1, second_key=True)
    assert core.parked_count(id(rw)) == 0
    release.set()
    for r in readers:
        r.finish()
    writer.finish()
    assert not rw.is_locked()


def test_readers_never_see_a_half_done_write_and_writers_are_not_starved():
    rw = RawRwLock()
    pair = [0, 0]
    stop = threading.Event()
    torn = []

    def reader():
        reads = 0
        while not stop.is_set():
            rw.lock_shared()
            a, b = pair
            rw.unlock_shared()
            if a != b:
                torn.append((a, b))
            reads += 1
        return reads

    def writer():
        for _ in range(300):
            rw.lock_exclusive()
            pair[0] += 1
            time.sleep(0)  # invite readers in mid-write: they must not get in
            pair[1] += 1
            rw.unlock_exclusive()
        return "done"

    readers = [start(reader) for _ in range(4)]
    writers = [start(writer) for _ in range(2)]
    for w in writers:
        assert w.finish(timeout=BOUND * 2) == "done"  # a stream of readers did not starve them
    stop.set()
    assert all(r.finish() > 0 for r in readers)
    assert torn == [] and pair == [600, 600]


def test_upgrades_serialise_read_modify_write():
    rw = RawRwLock()
    total = [0]

    def work():
        for _ in range(300):
            rw.lock_upgradable()
            value = total[0]
            rw.upgrade()
            total[0] = value + 1
            rw.downgrade()
            rw.unlock_shared()

    workers = [start(work) for _ in range(4)]
    for w in workers:
        w.finish()
    assert total[0] == 1200 and rw._state == 0


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
@pytest.mark.parametrize("mode", ["exclusive", "shared", "writer-waiting-for-readers"])
def test_ctrl_c_in_a_blocked_acquire_leaves_the_lock_usable(mode):
    rw = RawRwLock()
    if mode == "writer-waiting-for-readers":
        holder_release = threading.Event()
        holder = start(lambda: (rw.lock_shared(), holder_release.wait(BOUND), rw.unlock_shared()))
        wait_until(lambda: rw.readers == 1, what="the reader")
        sender = start(lambda: (_parked(rw, 1, second_key=True), sigint_main_thread()))
        with pytest.raises(KeyboardInterrupt):
            rw.lock_exclusive()
        assert not rw.is_locked_exclusive() and rw.readers == 1  # WRITER given back
        holder_release.set()
    else:
        holder_release = threading.Event()
        holder = start(lambda: (rw.lock_exclusive(), holder_release.wait(BOUND), rw.unlock_exclusive()))
        wait_until(rw.is_locked_exclusive, what="the writer")
        sender = start(lambda: (_parked(rw, 1), sigint_main_thread()))
        with pytest.raises(KeyboardInterrupt):
            rw.lock_exclusive() if mode == "exclusive" else rw.lock_shared()
        holder_release.set()
    sender.finish()
    holder.finish()
    assert rw.try_lock_exclusive_for(BOUND)
    rw.unlock_exclusive()
    assert rw._state == 0


def _fault_scenario(target, mode):
    """The actor takes the lock in *mode* while a holder releases it; exception at line *target*."""
    rw = RawRwLock()
    holder_mode = "shared" if mode in ("exclusive", "upgrade") else "exclusive"
    getattr(rw, f"lock_{holder_mode}")()
    injector = FaultInjector(target, dirs=(CORE_DIR, RAW_DIR))
    outcome = {}
    done = threading.Event()

    def actor():
        if mode == "upgrade":
            rw.lock_upgradable()
        try:
            injector.run(rw.upgrade if mode == "upgrade" else getattr(rw, f"lock_{mode}"))
            outcome["locked"] = True
        except Injected as exc:
            outcome["injected"] = exc
        if mode == "upgrade":
            # upgraded, or (after the exception) still holding the upgradable lock
            rw.unlock_exclusive() if outcome.get("locked") else rw.unlock_upgradable()
        elif outcome.get("locked"):
            getattr(rw, f"unlock_{mode}")()
        done.set()

    def release_when_parked():
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline and not done.is_set():
            if core.parked_count(id(rw)) or core.parked_count(id(rw) + 1):
                break
            time.sleep(0.0002)
        if holder_mode == "exclusive":
            rw.unlock_exclusive_fair()
        else:
            rw.unlock_shared()

    releaser = start(release_when_parked)
    start(actor).finish()
    releaser.finish()
    assert start(rw.try_lock_exclusive_for, BOUND).finish() is True, f"rwlock stuck after {outcome}: {rw!r}"
    rw.unlock_exclusive()
    assert rw._state == 0, f"state {rw._state:#b} left after {outcome}"
    wait_until(all_bucket_locks_free, what="bucket locks to be free")
    return injector


@pytest.mark.parametrize("mode", ["exclusive", "shared", "upgradable", "upgrade"])
def test_an_exception_at_every_line_of_the_acquire_slow_paths(mode):
    assert at_every_line(lambda target: _fault_scenario(target, mode), minimum=10) > 0
