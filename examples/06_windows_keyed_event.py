"""The Windows keyed-event bindings used directly: create the handle, wait with a timeout,
release from another thread.

NT keyed events are the primitive parking_lot's Windows parker sleeps on when
WaitOnAddress is missing: any address is a key; NtWaitForKeyedEvent sleeps on
it, NtReleaseKeyedEvent wakes exactly one sleeper (and itself waits for one).
On other systems this example says why it cannot run and exits 0.
"""

import sys
import threading

if sys.platform != "win32":
    print(f"NT keyed events exist only on Windows (this is {sys.platform}); "
          "tools/windows-tests.sh runs the suite on them under Wine.")
    sys.exit(0)

from parking_lot._ffi._keyed_event import ffi  # noqa: E402
from parking_lot.thread_parker.keyed_event import lookup_ntdll  # noqa: E402

kernel32 = ffi.dlopen("kernel32.dll")
create = lookup_ntdll("NtCreateKeyedEvent", kernel32)
wait = lookup_ntdll("NtWaitForKeyedEvent", kernel32)
release = lookup_ntdll("NtReleaseKeyedEvent", kernel32)
access = ffi.integer_const("GENERIC_READ") | ffi.integer_const("GENERIC_WRITE")

handle = ffi.new("HANDLE *")
status = create(handle, access, ffi.NULL, 0)
print(f"NtCreateKeyedEvent -> status {status & 0xFFFFFFFF:#x}")
assert status == ffi.integer_const("STATUS_SUCCESS")
key = ffi.new("int32_t *")  # any aligned address is a key

timeout = ffi.new("LARGE_INTEGER *", -100 * 10_000)  # negative: relative, in 100 ns units (100 ms)
status = wait(handle[0], key, 0, timeout)
print(f"wait with a 100 ms timeout, nobody releasing -> status {status & 0xFFFFFFFF:#x} (STATUS_TIMEOUT is 0x102)")
assert status == ffi.integer_const("STATUS_TIMEOUT")


def releaser() -> None:
    # NtReleaseKeyedEvent waits until a thread waits on the key, then wakes it.
    status = release(handle[0], key, 0, ffi.NULL)
    print(f"  another thread released the key -> status {status & 0xFFFFFFFF:#x}")


thread = threading.Thread(target=releaser)
thread.start()
status = wait(handle[0], key, 0, ffi.NULL)
thread.join(10)
print(f"wait without a timeout, woken by the other thread -> status {status & 0xFFFFFFFF:#x}")
assert status == ffi.integer_const("STATUS_SUCCESS")
kernel32.CloseHandle(handle[0])
