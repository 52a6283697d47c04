"""Windows NT keyed-event parker (the port of parking_lot_core's ``windows/keyed_event.rs``).

A keyed event is one kernel object on which any number of threads wait, each on
its own *key* (an aligned address, low bit clear).  ``NtReleaseKeyedEvent(key)``
is a rendezvous: it wakes one thread waiting on that key, and if none is waiting
yet it **blocks until one arrives**.  That single fact shapes the design:

* ``unpark_lock`` (bucket lock held) swaps the state to UNPARKED; only if the old
  state was PARKED does the handle call ``NtReleaseKeyedEvent`` later.
* A ``park_until`` whose wait times out swaps the state to TIMED_OUT.  If the old
  state was UNPARKED an unparker has already committed to a release, which will
  block until someone waits on our key, so we wait once more, untimed, to take it.
* After taking a release the state becomes IDLE, so a thread that gives its wait
  up (``park_until`` with a past deadline, after an exception) never waits for a
  release that was already consumed.

The handle is created once per process, by the first parker, and never closed:
a thread may be waiting on it until the process ends.  Key addresses come from
``ffi.new`` (8-byte aligned), one per parker, kept alive by the parker.

Ctrl-C: CPython runs signal handlers only between bytecodes, and a thread inside
``NtWaitForKeyedEvent`` runs none.  The main thread therefore waits in slices of
``MAIN_THREAD_SLICE_NS``; between two slices the interpreter runs its handlers.
An unparker that releases during the gap simply blocks for the microseconds until
the next slice begins, and if a handler raises instead, the parking lot gives
the wait up with a past deadline, which takes the pending release (see above).

The state is a Python int guarded by a per-parker lock object (no C atomics
are available in ABI mode, and nothing may rely on the GIL).
"""

from __future__ import annotations

import _thread
import os
import sys
import time
from typing import Any

from ._base import NOOP_UNPARK_HANDLE, UnparkHandle, wait_slice_ns
from ._timeouts import nt_relative_timeout

from parking_lot._ffi._keyed_event import ffi

STATUS_SUCCESS = ffi.integer_const("STATUS_SUCCESS")
STATUS_TIMEOUT = ffi.integer_const("STATUS_TIMEOUT")
_GENERIC_READ_WRITE = ffi.integer_const("GENERIC_READ") | ffi.integer_const("GENERIC_WRITE")

UNPARKED = 0
PARKED = 1
TIMED_OUT = 2
IDLE = 3  # Python addition: not parked, and no release pending

_monotonic_ns = time.monotonic_ns


class KeyedEventError(OSError):
    """The keyed-event machinery could not be set up (names the step that failed)."""


class KeyedEvent:
    """The process-wide keyed-event handle and the two ntdll entry points."""

    def __init__(self) -> None:
        if sys.platform != "win32":
            raise KeyedEventError("NT keyed events exist only on Windows")
        self.kernel32: Any = ffi.dlopen("kernel32.dll")
        create = lookup_ntdll("NtCreateKeyedEvent", self.kernel32)
        self.release_fn: Any = lookup_ntdll("NtReleaseKeyedEvent", self.kernel32)
        self.wait_fn: Any = lookup_ntdll("NtWaitForKeyedEvent", self.kernel32)
        handle = ffi.new("HANDLE *")
        status = create(handle, _GENERIC_READ_WRITE, ffi.NULL, 0)
        if status != STATUS_SUCCESS:
            raise KeyedEventError(f"NtCreateKeyedEvent failed with NTSTATUS {status & 0xFFFFFFFF:#010x}")
        self.handle: Any = handle[0]

    def wait(self, key: Any, nt_timeout: int | None) -> int:
        """NtWaitForKeyedEvent on *key*; None waits forever. Returns the NTSTATUS."""
        timeout = ffi.NULL if nt_timeout is None else ffi.new("LARGE_INTEGER *", nt_timeout)
        return int(self.wait_fn(self.handle, key, 0, timeout))

    def release(self, key: Any) -> int:
        """NtReleaseKeyedEvent on *key* (blocks until a waiter takes it)."""
        return int(self.release_fn(self.handle, key, 0, ffi.NULL))


def lookup_ntdll(name: str, kernel32: Any) -> Any:
    """Find *name* in ntdll.dll at run time, as a typed function pointer.

    Raises KeyedEventError naming the function when ntdll lacks it.
    """
    module = kernel32.GetModuleHandleA(b"ntdll.dll")
    if module == ffi.NULL:
        raise KeyedEventError("GetModuleHandleA(ntdll.dll) failed")
    address = kernel32.GetProcAddress(module, name.encode("ascii"))
    if address == ffi.NULL:
        raise KeyedEventError(f"ntdll.dll has no function {name}")
    pointer_type = "PFN_" + name
    try:
        return ffi.cast(pointer_type, address)
    except ffi.error:  # a name we have no prototype for: hand back the raw address
        return address


_keyed_event: KeyedEvent | None = None
_create_lock = _thread.allocate_lock()
creation_count = 0  # how many handles this process created (tests: exactly one)


def _new_create_lock_after_fork() -> None:
    # (No fork on Windows; this keeps the module's one lock safe wherever it is imported.)
    global _create_lock
    _create_lock = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_create_lock_after_fork)


def get_keyed_event() -> KeyedEvent:
    """The process-wide keyed event, created on first use."""
    global _keyed_event, creation_count
    event = _keyed_event
    if event is None:
        with _create_lock:
            event = _keyed_event
            if event is None:
                event = KeyedEvent()
                creation_count += 1
                _keyed_event = event
    return event


def unavailable_reason() -> str | None:
    """None when this backend can run here, else why not."""
    if sys.platform != "win32":
        return "NT keyed events exist only on Windows"
    try:
        get_keyed_event()
    except (OSError, AttributeError) as exc:
        return str(exc)
    return None


class _KeyedEventUnparkHandle:
    __slots__ = ("_event", "_key")

    def __init__(self, event: KeyedEvent, key: Any) -> None:
        self._event = event
        self._key = key

    def unpark(self) -> None:
        self._event.release(self._key)


class KeyedEventParker:
    """ThreadParker on the process-wide NT keyed event."""

    __slots__ = ("_event", "_key", "_state", "_state_lock", "_slice_ns")

    def __init__(self) -> None:
        self._event = get_keyed_event()
        self._key = ffi.new("uint64_t *")  # its address is our key: aligned, low bit clear
        self._state = IDLE
        self._state_lock = _thread.allocate_lock()
        self._slice_ns = wait_slice_ns()

    def _swap(self, new: int) -> int:
        with self._state_lock:
            old = self._state
            self._state = new
        return old

    def prepare_park(self) -> None:
        """Arm the parker for one park; called with the bucket lock held, makes no system call.

        The contract is :class:`parking_lot.thread_parker.ThreadParker`'s.
        Port of ``prepare_park`` in parking_lot_core's
        ``src/thread_parker/windows/keyed_event.rs``.
        """
        self._swap(PARKED)

    def timed_out(self) -> bool:
        """After :meth:`park_until` returned False: True if no unparker took this thread.

        Called with the bucket lock held; makes no system call.
        Port of ``timed_out`` in parking_lot_core's
        ``src/thread_parker/windows/keyed_event.rs``.
        """
        return self._state == TIMED_OUT

    def _take_release(self) -> None:
        # An unparker has committed: its release arrives as soon as we wait.
        self._event.wait(self._key, None)
        self._state = IDLE

    def park(self) -> None:
        """Block until an :meth:`unpark_lock` handle wakes this thread (bucket lock not held).

        On the main thread the wait is cut into slices so that signal handlers run; an
        exception a handler raises (``KeyboardInterrupt``) propagates from here.
        Port of ``park`` in parking_lot_core's
        ``src/thread_parker/windows/keyed_event.rs``.
        """
        if self._slice_ns is None:
            self._take_release()
            return
        while True:
            status = self._event.wait(self._key, nt_relative_timeout(self._slice_ns))
            if status == STATUS_SUCCESS:
                self._state = IDLE
                return
            # STATUS_TIMEOUT: a slice ended; signal handlers run here.

    def park_until(self, deadline_ns: int) -> bool:
        """Block until unparked or until *deadline_ns* passes (bucket lock not held).

        A past deadline does not wait; it settles a wake-up an unparker has already
        committed to.  Signals as in :meth:`park`.
        Port of ``park_until`` in parking_lot_core's
        ``src/thread_parker/windows/keyed_event.rs``.

        Args:
            deadline_ns: a ``time.monotonic_ns()`` deadline (int, nanoseconds).

        Returns:
            True if unparked, False if the deadline passed first (never before it).
        """
        while True:
            remaining = deadline_ns - _monotonic_ns()
            if remaining <= 0:
                break
            if self._slice_ns is not None:
                remaining = min(remaining, self._slice_ns)
            nt_timeout = nt_relative_timeout(remaining)
            if nt_timeout is None:  # overflow: sleep without a timeout
                self._take_release()
                return True
            if self._event.wait(self._key, nt_timeout) == STATUS_SUCCESS:
                self._state = IDLE
                return True
        # The deadline passed.  If an unparker got in first it is (or soon will
        # be) blocked in NtReleaseKeyedEvent on our key: take that release.
        old = self._swap(TIMED_OUT)
        if old == UNPARKED:
            self._take_release()
            return True
        return False

    def unpark_lock(self) -> UnparkHandle:
        """Mark the parked thread unparked (bucket lock held; no system call).
        Port of ``unpark_lock`` in parking_lot_core's
        ``src/thread_parker/windows/keyed_event.rs``.

        Returns:
            The handle whose ``unpark()`` wakes the thread: call it once, after the
            bucket lock is released.
        """
        if self._swap(UNPARKED) == PARKED:
            return _KeyedEventUnparkHandle(self._event, self._key)
        return NOOP_UNPARK_HANDLE
