"""What only real Windows (or Wine) can show: the keyed event and WaitOnAddress for real."""

from __future__ import annotations

import threading
import time

import pytest

from conftest import ON_WINDOWS, start
from parking_lot import thread_parker
from parking_lot.thread_parker import _timeouts

pytestmark = pytest.mark.skipif(not ON_WINDOWS, reason="needs Windows (the Windows lane runs these under Wine)")


def _keyed():
    from parking_lot.thread_parker import keyed_event

    if thread_parker.unavailable_reason("keyed_event") is not None:
        pytest.skip(thread_parker.unavailable_reason("keyed_event"))
    return keyed_event


def test_keyed_event_handle_is_created_once_per_process():
    keyed_event = _keyed()
    parkers = []
    workers = [start(lambda: parkers.append(keyed_event.KeyedEventParker())) for _ in range(16)]
    for worker in workers:
        worker.finish()
    assert keyed_event.creation_count == 1
    assert len({id(parker._event) for parker in parkers}) == 1


def test_a_function_ntdll_lacks_is_a_clear_error():
    keyed_event = _keyed()
    kernel32 = keyed_event.get_keyed_event().kernel32
    with pytest.raises(keyed_event.KeyedEventError, match="ntdll.dll has no function NtNoSuchFunctionForParkingLot"):
        keyed_event.lookup_ntdll("NtNoSuchFunctionForParkingLot", kernel32)
    # and a real one resolves to a typed function pointer
    assert "int32_t(*)" in str(keyed_event.ffi.typeof(keyed_event.lookup_ntdll("NtWaitForKeyedEvent", kernel32)))


@pytest.mark.parametrize("wait_ms", [2, 5, 15])
def test_nt_100ns_timeouts_against_real_waits(wait_ms):
    keyed_event = _keyed()
    event = keyed_event.get_keyed_event()
    key = keyed_event.ffi.new("uint64_t *")
    started = time.monotonic_ns()
    status = event.wait(key, _timeouts.nt_relative_timeout(wait_ms * 1_000_000))
    elapsed = time.monotonic_ns() - started
    assert status == keyed_event.STATUS_TIMEOUT
    # NT rounds waits to its timer tick; never much shorter than asked for.
    assert elapsed >= wait_ms * 1_000_000 - 1_000_000


def test_release_with_no_waiter_blocks_until_a_waiter_arrives():
    """The rendezvous that the keyed-event parker is built around."""
    keyed_event = _keyed()
    event = keyed_event.get_keyed_event()
    key = keyed_event.ffi.new("uint64_t *")
    releaser = start(event.release, key)
    time.sleep(0.05)
    assert releaser.is_alive(), "NtReleaseKeyedEvent returned with nobody waiting"
    assert event.wait(key, None) == keyed_event.STATUS_SUCCESS
    assert releaser.finish() == keyed_event.STATUS_SUCCESS


def test_wait_on_address_times_out_with_error_timeout():
    if thread_parker.unavailable_reason("wait_address") is not None:
        pytest.skip(thread_parker.unavailable_reason("wait_address"))
    from parking_lot.thread_parker import wait_address

    lib = wait_address._load()
    ffi = wait_address.ffi
    word = ffi.new("size_t *", 1)
    compare = ffi.new("size_t *", 1)
    started = time.monotonic_ns()
    assert not lib.WaitOnAddress(word, compare, ffi.sizeof("size_t"), 5)
    assert ffi.getwinerror()[0] == wait_address.ERROR_TIMEOUT
    assert time.monotonic_ns() - started >= 4_000_000


def test_main_thread_waits_in_slices_other_threads_do_not():
    for name in ("keyed_event", "wait_address"):
        if thread_parker.unavailable_reason(name) is not None:
            continue
        cls = thread_parker.parker_class(name)
        assert cls()._slice_ns == thread_parker._base.MAIN_THREAD_SLICE_NS
        assert start(lambda: cls()._slice_ns).finish() is None
    assert threading.current_thread() is threading.main_thread()
