"""Out-of-line cffi builders for parking_lot's thread parkers.

Run at build time only (setuptools calls the builders named in ``setup.py``;
``python build_ffi.py OUTDIR`` writes the ABI-mode modules by hand, which is how
the Windows test lane stages the package).  Nothing imports this file at run time.

Three modules, all under ``parking_lot._ffi``:

``_keyed_event``  ABI mode, no compiler: NT keyed events from ntdll.dll, reached
                  through kernel32's GetModuleHandleA/GetProcAddress exactly as
                  parking_lot looks them up, plus CloseHandle.
``_wait_address`` ABI mode, no compiler: WaitOnAddress / WakeByAddress* from
                  api-ms-win-core-synch-l1-2-0.dll, GetLastError from kernel32.
``_futex``        API mode (compiled, Linux only): FUTEX_WAIT_PRIVATE with a
                  relative timeout, FUTEX_WAKE_PRIVATE, and the C11 atomics the
                  futex word needs.  See docs/architecture.md for why API mode.

The ABI-mode modules are generated on every platform so that their declarations
and constants can be inspected anywhere; they are only dlopen()ed on Windows.
"""

from __future__ import annotations

import sys

from cffi import FFI

# Windows integer types are spelled with fixed widths so that the declarations
# mean the same thing when inspected on an LP64 system (where C `long` is 64-bit).
_WINDOWS_TYPES = """
typedef int32_t NTSTATUS;
typedef void *HANDLE;
typedef void *HMODULE;
typedef int64_t LARGE_INTEGER;
typedef uint32_t ACCESS_MASK;
typedef uint32_t ULONG;
typedef uint32_t DWORD;
typedef unsigned char BOOLEAN;
typedef int BOOL;
"""

ffi_keyed_event = FFI()
ffi_keyed_event.cdef(
    _WINDOWS_TYPES
    + """
#define STATUS_SUCCESS 0
#define STATUS_TIMEOUT 0x102
#define GENERIC_READ 0x80000000
#define GENERIC_WRITE 0x40000000

/* ntdll.dll (declared for inspection and direct use) */
NTSTATUS WINAPI NtCreateKeyedEvent(HANDLE *KeyedEventHandle, ACCESS_MASK DesiredAccess,
                                   void *ObjectAttributes, ULONG Flags);
NTSTATUS WINAPI NtWaitForKeyedEvent(HANDLE EventHandle, void *Key, BOOLEAN Alertable,
                                    LARGE_INTEGER *Timeout);
NTSTATUS WINAPI NtReleaseKeyedEvent(HANDLE EventHandle, void *Key, BOOLEAN Alertable,
                                    LARGE_INTEGER *Timeout);

/* The same three as pointer types, for the dynamic lookup the backend does. */
typedef NTSTATUS (WINAPI *PFN_NtCreateKeyedEvent)(HANDLE *, ACCESS_MASK, void *, ULONG);
typedef NTSTATUS (WINAPI *PFN_NtWaitForKeyedEvent)(HANDLE, void *, BOOLEAN, LARGE_INTEGER *);
typedef NTSTATUS (WINAPI *PFN_NtReleaseKeyedEvent)(HANDLE, void *, BOOLEAN, LARGE_INTEGER *);

/* kernel32.dll */
HMODULE WINAPI GetModuleHandleA(const char *lpModuleName);
void *WINAPI GetProcAddress(HMODULE hModule, const char *lpProcName);
BOOL WINAPI CloseHandle(HANDLE hObject);
"""
)
ffi_keyed_event.set_source("parking_lot._ffi._keyed_event", None)

ffi_wait_address = FFI()
ffi_wait_address.cdef(
    _WINDOWS_TYPES
    + """
#define ERROR_TIMEOUT 1460
#define INFINITE 0xFFFFFFFF

/* api-ms-win-core-synch-l1-2-0.dll (Windows 8 and later) */
BOOL WINAPI WaitOnAddress(void *Address, void *CompareAddress, size_t AddressSize,
                          DWORD dwMilliseconds);
void WINAPI WakeByAddressSingle(void *Address);
void WINAPI WakeByAddressAll(void *Address);

/* kernel32.dll */
DWORD WINAPI GetLastError(void);
"""
)
ffi_wait_address.set_source("parking_lot._ffi._wait_address", None)

ffi_futex = FFI()
ffi_futex.cdef(
    """
#define FUTEX_WAIT_PRIVATE ...
#define FUTEX_WAKE_PRIVATE ...
#define EINTR ...
#define EAGAIN ...
#define ETIMEDOUT ...

/* One FUTEX_WAIT_PRIVATE: sleep while *word == expected.  timeout_ns < 0 (or
   one too long for a time_t) waits forever.  Returns 0 when woken (possibly spuriously), else the errno
   (EINTR, EAGAIN, ETIMEDOUT, ...).  The GIL is released around the call. */
int pl_futex_wait(int32_t *word, int32_t expected, int64_t timeout_ns);
/* The futex parker's whole wait in one call (one GIL release): loop on
   FUTEX_WAIT_PRIVATE while *word != 0.  deadline_ns is a CLOCK_MONOTONIC time
   (time.monotonic_ns() on Linux), < 0 for none.  Returns 0 once *word == 0,
   ETIMEDOUT at the deadline, EINTR when a signal arrived (so that Python can
   run its handlers before calling again). */
int pl_futex_park(int32_t *word, int64_t deadline_ns);
/* FUTEX_WAKE_PRIVATE: returns the number of threads woken, or -errno. */
int pl_futex_wake(int32_t *word, int32_t count);

/* Sequentially consistent loads and stores of a 32-bit word. */
int32_t pl_atomic_load(int32_t *word);
void pl_atomic_store(int32_t *word, int32_t value);
"""
)
_FUTEX_SOURCE = r"""
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>

static int pl_futex_wait(int32_t *word, int32_t expected, int64_t timeout_ns)
{
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (timeout_ns >= 0) {
        int64_t seconds = timeout_ns / 1000000000;
        /* A timeout a time_t cannot hold (over 68 years where it has 32 bits)
           is forever for any program: wait without one. */
        if ((int64_t)(time_t)seconds == seconds) {
            ts.tv_sec = (time_t)seconds;
            ts.tv_nsec = (long)(timeout_ns % 1000000000);
            tsp = &ts;
        }
    }
    if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0) == 0)
        return 0;
    return errno;
}

static int pl_futex_park(int32_t *word, int64_t deadline_ns)
{
    for (;;) {
        int64_t timeout_ns = -1;
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == 0)
            return 0;
        if (deadline_ns >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
            if (now_ns >= deadline_ns)
                return ETIMEDOUT;
            timeout_ns = deadline_ns - now_ns;
        }
        if (pl_futex_wait(word, 1, timeout_ns) == EINTR)
            return EINTR;
        /* 0 (woken, maybe spuriously), EAGAIN (word already changed) or
           ETIMEDOUT (re-checked against the clock above): look again. */
    }
}

static int pl_futex_wake(int32_t *word, int32_t count)
{
    long woken = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
    return woken < 0 ? -errno : (int)woken;
}

static int32_t pl_atomic_load(int32_t *word)
{
    return __atomic_load_n(word, __ATOMIC_SEQ_CST);
}

static void pl_atomic_store(int32_t *word, int32_t value)
{
    __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
}
"""
# optional=True: a Linux machine without a C compiler still installs the
# package; the futex backend is then reported unavailable and the portable
# parker is used.
ffi_futex.set_source("parking_lot._ffi._futex", _FUTEX_SOURCE, optional=True)


def cffi_module_specs() -> list[str]:
    """The ``cffi_modules`` entries for setup(): what can exist on this platform."""
    specs = ["build_ffi.py:ffi_keyed_event", "build_ffi.py:ffi_wait_address"]
    if sys.platform.startswith("linux"):
        specs.append("build_ffi.py:ffi_futex")
    return specs


def write_abi_modules(outdir: str) -> list[str]:
    """Write the two ABI-mode modules (pure Python) into *outdir*; return their paths."""
    import os

    paths = []
    for ffi, name in ((ffi_keyed_event, "_keyed_event"), (ffi_wait_address, "_wait_address")):
        path = os.path.join(outdir, name + ".py")
        ffi.emit_python_code(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python build_ffi.py OUTDIR   (writes the ABI-mode modules)")
    for written in write_abi_modules(sys.argv[1]):
        print(written)
