"""The ThreadParker contract, run against every backend this platform offers."""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time

import pytest

from conftest import AVAILABLE_BACKENDS, BOUND, ON_WINDOWS, run_child, sigint_main_thread, start, wait_until
from parking_lot import thread_parker
from parking_lot.thread_parker import _timeouts


def _unpark(parker):
    """What an unparker does: the state change (normally under a bucket lock), then the wake."""
    parker.unpark_lock().unpark()


def test_unpark_before_park_returns(parker_class):
    parker = parker_class()
    parker.prepare_park()
    unpark_locked = threading.Event()

    def unpark():
        handle = parker.unpark_lock()  # the unparker's state change comes before the park
        unpark_locked.set()
        handle.unpark()  # keyed events: a rendezvous with the park, so on a thread of its own

    waker = start(unpark)
    assert unpark_locked.wait(BOUND), "unpark_lock() did not return"
    # The park on a thread of its own too: a lost wake-up fails finish() instead of hanging the run.
    start(parker.park, name="parked").finish()
    waker.finish()
    # The wake was consumed by that park: the next one waits out its deadline.
    parker.prepare_park()
    deadline = time.monotonic_ns() + 20_000_000
    assert parker.park_until(deadline) is False
    assert time.monotonic_ns() >= deadline
    assert parker.timed_out() is True


def test_park_then_unpark(parker_class):
    box = {}

    def sleeper():
        box["parker"] = parker = parker_class()
        parker.prepare_park()
        box["armed"] = True
        parker.park()
        return "woke"

    worker = start(sleeper)
    wait_until(lambda: box.get("armed"), what="the sleeper to arm its parker")
    time.sleep(0.01)  # give it time to enter the wait; correctness does not depend on it
    _unpark(box["parker"])
    assert worker.finish() == "woke"


def test_park_until_times_out_never_early(parker_class):
    parker = parker_class()
    for wait_ms in (1, 5, 20):
        parker.prepare_park()
        deadline = time.monotonic_ns() + wait_ms * 1_000_000
        assert parker.park_until(deadline) is False
        assert time.monotonic_ns() >= deadline
        assert parker.timed_out() is True


def test_park_until_past_deadline_returns_at_once(parker_class):
    parker = parker_class()
    parker.prepare_park()
    started = time.monotonic()
    assert parker.park_until(0) is False
    assert parker.timed_out() is True
    assert time.monotonic() - started < BOUND


def test_park_until_unparked_before_deadline(parker_class):
    box = {}

    def sleeper():
        box["parker"] = parker = parker_class()
        parker.prepare_park()
        box["armed"] = True
        return parker.park_until(time.monotonic_ns() + int(BOUND * 1e9))

    worker = start(sleeper)
    wait_until(lambda: box.get("armed"), what="the sleeper to arm")
    _unpark(box["parker"])
    assert worker.finish() is True


def test_huge_deadline_is_a_wait_without_timeout(parker_class):
    box = {}

    def sleeper():
        box["parker"] = parker = parker_class()
        parker.prepare_park()
        box["armed"] = True
        return parker.park_until(time.monotonic_ns() + 2**80)

    worker = start(sleeper)
    wait_until(lambda: box.get("armed"), what="the sleeper to arm")
    _unpark(box["parker"])
    assert worker.finish() is True


def test_timed_out_race_never_strands_the_unparker(parker_class):
    """An unpark racing a timing-out park: the unparker always finishes (keyed-event rendezvous).

    A miniature parking lot: ``queued`` under ``lock`` stands for the thread's place
    in a bucket queue.  Each round the parked thread's timeout and the unparker
    race for it; a stranded unparker (or sleeper) breaks the bounded barrier.
    """
    rounds = 400
    lock = threading.Lock()
    shared = {"queued": False}
    round_start = threading.Barrier(2, timeout=BOUND)
    round_end = threading.Barrier(2, timeout=BOUND)
    outcomes = {"unparked": 0, "timed_out": 0, "taken_by_unparker": 0}

    def parked_side():
        parker = shared["parker"] = parker_class()
        for _ in range(rounds):
            with lock:
                parker.prepare_park()
                shared["queued"] = True
            round_start.wait()
            deadline = time.monotonic_ns() + random.randrange(0, 400_000)
            if parker.park_until(deadline):
                outcomes["unparked"] += 1
            else:
                with lock:
                    if parker.timed_out():
                        assert shared["queued"], "timed_out() but the unparker took the thread"
                        shared["queued"] = False
                        outcomes["timed_out"] += 1
                    else:
                        outcomes["unparked"] += 1
            round_end.wait()

    def unparker_side():
        for _ in range(rounds):
            round_start.wait()
            delay = random.choice((0.0, 0.0, 0.0001, 0.0003))
            if delay:
                time.sleep(delay)
            handle = None
            with lock:
                if shared["queued"]:
                    shared["queued"] = False
                    handle = shared["parker"].unpark_lock()
                    outcomes["taken_by_unparker"] += 1
            if handle is not None:
                handle.unpark()  # the keyed-event release must find its waiter
            round_end.wait()

    parked = start(parked_side, name="parked")
    unparker = start(unparker_side, name="unparker")
    unparker.finish()
    parked.finish()
    assert outcomes["unparked"] + outcomes["timed_out"] == rounds
    assert outcomes["unparked"] == outcomes["taken_by_unparker"]


def test_many_parkers_on_distinct_keys(parker_class):
    count = 32
    parkers = [None] * count
    armed = threading.Semaphore(0)

    def sleeper(index):
        parker = parkers[index] = parker_class()
        parker.prepare_park()
        armed.release()
        return parker.park_until(time.monotonic_ns() + int(BOUND * 1e9))

    workers = [start(sleeper, i) for i in range(count)]
    for _ in range(count):
        assert armed.acquire(timeout=BOUND)
    for parker in reversed(parkers):
        _unpark(parker)
    assert [w.finish() for w in workers] == [True] * count


def test_thousands_of_round_trips_lose_no_wakeup(parker_class):
    """Two threads pass a turn back and forth, parking while it is not theirs.

    ``turn`` and ``queued`` under ``lock`` play the parking lot's part: an unparker
    only wakes a thread that armed its parker and queued itself.  A lost wake-up
    leaves a thread parked until the bound and fails the test.
    """
    rounds = 2000
    lock = threading.Lock()
    shared = {"turn": "a", "queued": {"a": False, "b": False}}
    parkers = {name: None for name in "ab"}
    ready = threading.Barrier(2, timeout=BOUND)

    def player(me, other):
        parker = parkers[me] = parker_class()
        ready.wait()
        for _ in range(rounds):
            with lock:
                must_park = shared["turn"] != me
                if must_park:
                    parker.prepare_park()
                    shared["queued"][me] = True
            if must_park and not parker.park_until(time.monotonic_ns() + int(BOUND * 1e9)):
                raise AssertionError(f"{me}: lost wake-up")
            handle = None
            with lock:
                assert shared["turn"] == me
                shared["turn"] = other
                if shared["queued"][other]:
                    shared["queued"][other] = False
                    handle = parkers[other].unpark_lock()
            if handle is not None:
                handle.unpark()
        return rounds

    a = start(player, "a", "b", name="a")
    b = start(player, "b", "a", name="b")
    assert a.finish() == rounds and b.finish() == rounds


# --- Ctrl-C ----------------------------------------------------------------------------


def _interrupt_main_repeatedly(stop: threading.Event, parker) -> str:
    """Deliver SIGINT to the main thread every 20 ms until told to stop.

    If the main thread has not woken within BOUND seconds, wake it by unparking
    instead, so that a deaf wait fails the test rather than hanging it.
    """
    give_up = time.monotonic() + BOUND
    while not stop.wait(0.02):
        if time.monotonic() > give_up:
            parker.unpark_lock().unpark()
            return "gave up: the parked main thread ignored SIGINT"
        sigint_main_thread()
    return "interrupted"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
@pytest.mark.parametrize("timed", [False, True], ids=["park", "park_until"])
def test_ctrl_c_reaches_a_parked_main_thread(parker_class, timed):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    parker = parker_class()
    parker.prepare_park()
    stop = threading.Event()
    sender = start(_interrupt_main_repeatedly, stop, parker, name="sigint-sender")
    try:
        with pytest.raises(KeyboardInterrupt):
            if timed:
                parker.park_until(time.monotonic_ns() + int(4 * BOUND * 1e9))
            else:
                parker.park()
    finally:
        stop.set()
        outcome = sender.finish()
    assert outcome == "interrupted"
    # The interrupted wait is given up the way the parking lot does it.
    assert parker.park_until(0) is False
    assert parker.timed_out() is True


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_one_sigint_sent_as_the_main_thread_goes_to_sleep_is_never_lost(parker_class):
    # One signal per park, sent the moment the main thread heads for the wait. If it
    # lands after the interpreter's last look at pending signals but before the wait
    # begins in C, no EINTR comes; the wait must still end within a slice (found
    # with the GIL off, where the sender really runs alongside: a parked main thread
    # slept through Ctrl-C until something else woke it).
    late = []
    for trial in range(100):
        parker = parker_class()
        parker.prepare_park()
        go, done = threading.Event(), threading.Event()

        def sender(parker=parker, go=go, done=done, trial=trial):
            go.wait(BOUND)
            sigint_main_thread()
            if not done.wait(5.0):  # slices are 50 ms: 5 s is lost, not slow
                late.append(trial)
                parker.unpark_lock().unpark()  # wake it, so that the test fails instead of hanging

        worker = start(sender, name="sigint-sender")
        try:
            with pytest.raises(KeyboardInterrupt):
                go.set()
                parker.park()
        finally:
            done.set()
            worker.finish()
        parker.park_until(0)  # give the wait up, as the parking lot does after an exception
    assert late == []


# --- the pure conversions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "expected"),
    [(0, 0), (1, -1), (99, -1), (100, -1), (101, -2), (1_000_000, -10_000), (10**9 + 1, -10_000_001)],
)
def test_nt_timeout_is_negative_100ns_units_rounded_up(ns, expected):
    assert _timeouts.nt_relative_timeout(ns) == expected


def test_nt_timeout_overflow_means_no_timeout():
    assert _timeouts.nt_relative_timeout(100 * 2**63) == -(2**63)  # INT64_MIN still fits
    assert _timeouts.nt_relative_timeout(100 * 2**63 + 1) is None
    assert _timeouts.nt_relative_timeout(2**100) is None


@pytest.mark.parametrize(
    ("ns", "expected"),
    [(0, 0), (1, 1), (999_999, 1), (1_000_000, 1), (1_000_001, 2), (10**9, 1000)],
)
def test_wait_address_timeout_is_ms_rounded_up(ns, expected):
    assert _timeouts.wait_address_timeout_ms(ns) == expected


def test_wait_address_timeout_overflow_is_infinite():
    infinite = _timeouts.INFINITE_MS
    assert _timeouts.wait_address_timeout_ms((infinite - 1) * 1_000_000) == infinite - 1
    assert _timeouts.wait_address_timeout_ms(infinite * 1_000_000) == infinite
    assert _timeouts.wait_address_timeout_ms(2**100) == infinite


def test_conversions_reject_negative_input():
    with pytest.raises(ValueError, match="remaining_ns"):
        _timeouts.nt_relative_timeout(-1)
    with pytest.raises(ValueError, match="remaining_ns"):
        _timeouts.wait_address_timeout_ms(-1)


# --- declarations, selection ---------------------------------------------------------------


def test_keyed_event_declarations_and_constants():
    from parking_lot._ffi._keyed_event import ffi

    assert ffi.integer_const("STATUS_SUCCESS") == 0
    assert ffi.integer_const("STATUS_TIMEOUT") == 0x102
    assert ffi.integer_const("GENERIC_READ") | ffi.integer_const("GENERIC_WRITE") == 0xC0000000
    assert ffi.sizeof("LARGE_INTEGER") == 8
    assert ffi.sizeof("NTSTATUS") == 4
    wait = ffi.typeof("PFN_NtWaitForKeyedEvent")
    assert [t.cname for t in wait.args] == ["void *", "void *", "unsigned char", "int64_t *"]
    assert wait.result.cname == "int32_t"
    create = ffi.typeof("PFN_NtCreateKeyedEvent")
    assert [t.cname for t in create.args] == ["void * *", "uint32_t", "void *", "uint32_t"]
    assert ffi.typeof("PFN_NtReleaseKeyedEvent").args == wait.args


def test_wait_address_declarations_and_constants():
    from parking_lot._ffi._wait_address import ffi

    assert ffi.integer_const("ERROR_TIMEOUT") == 1460
    assert ffi.integer_const("INFINITE") == 0xFFFFFFFF == _timeouts.INFINITE_MS


@pytest.mark.skipif(ON_WINDOWS, reason="checks the error off Windows")
def test_windows_backends_say_why_they_cannot_run_here():
    for name in ("keyed_event", "wait_address"):
        reason = thread_parker.unavailable_reason(name)
        assert reason is not None and "Windows" in reason
        with pytest.raises(RuntimeError, match=name):
            thread_parker.parker_class(name)
    from parking_lot.thread_parker.keyed_event import KeyedEvent, KeyedEventError

    with pytest.raises(KeyedEventError, match="only on Windows"):
        KeyedEvent()


def test_backend_in_use_is_available_and_honours_the_environment():
    assert thread_parker.backend_name() in AVAILABLE_BACKENDS
    forced = os.environ.get("PARKING_LOT_PARKER")
    if forced:
        assert thread_parker.backend_name() == forced
    elif sys.platform.startswith("linux"):
        assert thread_parker.backend_name() == "futex"
    elif ON_WINDOWS:
        assert thread_parker.backend_name() == "wait_address"


def test_unknown_backend_names_are_rejected():
    with pytest.raises(ValueError, match="unknown parker backend 'nope'"):
        thread_parker.backend_module("nope")


@pytest.mark.parametrize("name", ["no_such_parker", "keyed_event", "futex"])
def test_forcing_an_unusable_backend_fails_at_import_with_the_choices(name):
    if name in AVAILABLE_BACKENDS:
        pytest.skip(f"{name} is usable here")
    env = dict(os.environ, PARKING_LOT_PARKER=name)
    proc = run_child(
        [sys.executable, "-c", "import parking_lot.thread_parker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert proc.returncode != 0
    last_line = proc.stderr.strip().splitlines()[-1]
    assert f"PARKING_LOT_PARKER='{name}'" in last_line
    assert "this platform offers: " + ", ".join(AVAILABLE_BACKENDS) in last_line
