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
``_atomics``      API mode (compiled, any platform with a C compiler): the locks'
                  state words (``int64_t``) and the fast paths of
                  ``raw_rwlock.rs`` on them, one C call each
                  (parking_lot/_atomics.py chooses it or its portable twin).

The ABI-mode modules are generated on every platform so that their declarations
and constants can be inspected anywhere; they are only dlopen()ed on Windows.
"""

from __future__ import annotations

import os
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


ffi_atomics = FFI()
ffi_atomics.cdef(
    """
/* Generic operations on one lock state word (sequentially consistent). */
int64_t pl_word_load(int64_t *word);
void pl_word_store(int64_t *word, int64_t value);
int pl_word_cas(int64_t *word, int64_t expected, int64_t desired);
int64_t pl_word_fetch_add(int64_t *word, int64_t delta);
int64_t pl_word_fetch_or(int64_t *word, int64_t bits);
int64_t pl_word_fetch_and(int64_t *word, int64_t mask);

/* RawRwLock's state word (parking_lot/raw/rwlock.py has the layout). */
int pl_rw_try_shared(int64_t *word);
int pl_rw_try_shared_recursive(int64_t *word);
int pl_rw_unlock_shared(int64_t *word);
int pl_rw_try_exclusive(int64_t *word);
int pl_rw_unlock_exclusive(int64_t *word);
int pl_rw_take_writer(int64_t *word, int64_t *owned);
int pl_rw_try_upgradable(int64_t *word);
int pl_rw_unlock_upgradable(int64_t *word);
int64_t pl_rw_unlock_upgradable_slow(int64_t *word, int64_t granted, int64_t parked);
int pl_rw_try_upgrade(int64_t *word);
void pl_rw_upgrade_take_writer(int64_t *word, int64_t *owned);
int64_t pl_rw_downgrade(int64_t *word, int64_t add);
int64_t pl_rw_downgrade_upgradable(int64_t *word);
void pl_rw_give_writer_back(int64_t *word, int64_t prev_value, int64_t *owned);
int pl_rw_set_parked_if(int64_t *word, int64_t flags);
int pl_rw_writer_may_sleep(int64_t *word);
"""
)
_ATOMICS_SOURCE = r"""
#include <stdint.h>

/* RawRwLock's bits (parking_lot/raw/rwlock.py, the layout of raw_rwlock.rs). */
#define PL_PARKED        ((int64_t)0x1)
#define PL_WRITER_PARKED ((int64_t)0x2)
#define PL_UPGRADABLE    ((int64_t)0x4)
#define PL_WRITER        ((int64_t)0x8)
#define PL_READERS_MASK  (~(int64_t)0xF)
#define PL_ONE_READER    ((int64_t)0x10)

/* Memory ordering, argued as raw_rwlock.rs argues it.
 *
 * A word is touched by many threads with no lock around it, so every access is
 * an atomic operation on the whole int64_t (a plain access would be a data race,
 * undefined behaviour, and on a free-threaded build nothing else serialises the
 * threads).  Taking a lock in any mode is an Acquire read-modify-write: what the
 * last holder wrote before its release is visible to the new holder.  Giving a
 * lock up (or giving the write lock down to a read lock) is a Release
 * read-modify-write: what this holder wrote is published to whoever acquires
 * next.  A failed compare-and-swap takes nothing and publishes nothing: Relaxed.
 * Every read-modify-write of one word reads the latest value in that word's
 * modification order, whatever its ordering, so the checks made on the value
 * read ("no writer", "the last reader", "someone is parked") are never stale when
 * the exchange succeeds.
 *
 * The slow paths (validate and callbacks run under a bucket lock of the parking
 * lot, a writer trading its bits, the generic pl_word_* operations Python uses
 * there) are sequentially consistent: the bucket lock already orders them, Rust
 * uses Relaxed or Acquire/Release there, and seq_cst is at least as strong and
 * costs nothing next to a park.  Each function is one call from Python, and a C
 * call cannot be cut in two by an asynchronous exception (signal handlers run
 * between bytecodes): that is what makes each transition one step.
 *
 * The reader count (bits 4..62) would overflow after 2**59 readers; Rust checks
 * for it because its count has 60 bits on 64-bit targets too, and neither can be
 * reached by threads that each hold a Python object. */

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
/* MSVC: every _Interlocked operation is a full barrier, stronger than any order asked. */
#define PL_RELAXED 0
#define PL_ACQUIRE 0
#define PL_RELEASE 0
#define PL_SEQ_CST 0
static __inline int pl_cas(int64_t *p, int64_t *expected, int64_t desired, int success, int failure)
{
    int64_t seen = _InterlockedCompareExchange64((volatile __int64 *)p, desired, *expected);
    (void)success; (void)failure;
    if (seen == *expected)
        return 1;
    *expected = seen;
    return 0;
}
static __inline int64_t pl_load(int64_t *p, int order)
{
    (void)order;
    return _InterlockedCompareExchange64((volatile __int64 *)p, 0, 0);
}
static __inline int64_t pl_rmw(int64_t *p, int op, int64_t operand)
{
    int64_t state = pl_load(p, 0);
    for (;;) {
        int64_t next = op == 0 ? state + operand : op == 1 ? state | operand : op == 2 ? state & operand : operand;
        if (pl_cas(p, &state, next, 0, 0))
            return state;
    }
}
#define pl_store(p, v, order) ((void)pl_rmw((p), 3, (v)))
#define pl_fetch_add(p, v, order) pl_rmw((p), 0, (v))
#define pl_fetch_or(p, v, order) pl_rmw((p), 1, (v))
#define pl_fetch_and(p, v, order) pl_rmw((p), 2, (v))
#else
#define PL_RELAXED __ATOMIC_RELAXED
#define PL_ACQUIRE __ATOMIC_ACQUIRE
#define PL_RELEASE __ATOMIC_RELEASE
#define PL_SEQ_CST __ATOMIC_SEQ_CST
#define pl_cas(p, expected, desired, success, failure) \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, (success), (failure))
#define pl_load(p, order) __atomic_load_n((p), (order))
#define pl_store(p, v, order) __atomic_store_n((p), (v), (order))
#define pl_fetch_add(p, v, order) __atomic_fetch_add((p), (v), (order))
#define pl_fetch_or(p, v, order) __atomic_fetch_or((p), (v), (order))
#define pl_fetch_and(p, v, order) __atomic_fetch_and((p), (v), (order))
#endif

/* --- generic: the slow paths' loads, stores and read-modify-writes (seq_cst) --- */

static int64_t pl_word_load(int64_t *word) { return pl_load(word, PL_SEQ_CST); }
static void pl_word_store(int64_t *word, int64_t value) { pl_store(word, value, PL_SEQ_CST); }
static int pl_word_cas(int64_t *word, int64_t expected, int64_t desired)
{
    return pl_cas(word, &expected, desired, PL_SEQ_CST, PL_SEQ_CST);
}
static int64_t pl_word_fetch_add(int64_t *word, int64_t delta) { return pl_fetch_add(word, delta, PL_SEQ_CST); }
static int64_t pl_word_fetch_or(int64_t *word, int64_t bits) { return pl_fetch_or(word, bits, PL_SEQ_CST); }
static int64_t pl_word_fetch_and(int64_t *word, int64_t mask) { return pl_fetch_and(word, mask, PL_SEQ_CST); }

/* --- RawRwLock ---------------------------------------------------------------------- */

/* try_lock_shared_fast and its retry loop: one more reader unless WRITER is set
   (recursive: unless WRITER is set with no reader left).  Acquire on success:
   the reader sees what the last writer wrote before its Release unlock. */
static int pl_rw_try_shared(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (state & PL_WRITER)
            return 0;
        if (pl_cas(word, &state, state + PL_ONE_READER, PL_ACQUIRE, PL_RELAXED))
            return 1;
    }
}

static int pl_rw_try_shared_recursive(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if ((state & PL_WRITER) && !(state & PL_READERS_MASK))
            return 0;
        if (pl_cas(word, &state, state + PL_ONE_READER, PL_ACQUIRE, PL_RELAXED))
            return 1;
    }
}

/* unlock_shared: -1 (nothing changed) if no plain read lock is held, else one
   reader less, returning 1 if this was the last reader and a writer is parked
   waiting for the readers (the caller wakes it), 0 otherwise.  Release: what
   this reader did under the lock happens before the writer that acquires next. */
static int pl_rw_unlock_shared(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if ((state >> 4) <= ((state & PL_UPGRADABLE) ? 1 : 0))
            return -1;
        if (pl_cas(word, &state, state - PL_ONE_READER, PL_RELEASE, PL_RELAXED))
            return (state & (PL_READERS_MASK | PL_WRITER_PARKED)) == (PL_ONE_READER | PL_WRITER_PARKED);
    }
}

/* try_lock_exclusive: WRITER if nobody holds the lock in any mode (parked bits
   may be set: they do not stop a barging writer).  Acquire on success. */
static int pl_rw_try_exclusive(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (state & ~(PL_PARKED | PL_WRITER_PARKED))
            return 0;
        if (pl_cas(word, &state, state | PL_WRITER, PL_ACQUIRE, PL_RELAXED))
            return 1;
    }
}

/* unlock_exclusive's fast path: WRITER -> 0 (Release) when nobody is parked,
   returning 0; 1 when threads are parked (the caller takes the slow path,
   under the bucket lock); -1 (nothing changed) if no writer holds the lock. */
static int pl_rw_unlock_exclusive(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (!(state & PL_WRITER) || (state & PL_READERS_MASK))
            return -1;
        if (state != PL_WRITER)
            return 1;
        if (pl_cas(word, &state, 0, PL_RELEASE, PL_RELAXED))
            return 0;
    }
}

/* The writer's step 1 in lock_exclusive_slow: take WRITER unless a writer or an
   upgradable reader has it, recording the ownership in *owned (this thread's
   own cell) in the same call, so no exception can fall between the two.
   Acquire on success, as Rust's compare_exchange_weak there. */
static int pl_rw_take_writer(int64_t *word, int64_t *owned)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (state & (PL_WRITER | PL_UPGRADABLE))
            return 0;
        if (pl_cas(word, &state, state | PL_WRITER, PL_ACQUIRE, PL_RELAXED)) {
            *owned = 1;
            return 1;
        }
    }
}

/* try_lock_upgradable: a reader that is also UPGRADABLE, unless a writer or
   another upgradable reader holds the lock.  Acquire on success. */
static int pl_rw_try_upgradable(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (state & (PL_WRITER | PL_UPGRADABLE))
            return 0;
        if (pl_cas(word, &state, state + PL_ONE_READER + PL_UPGRADABLE, PL_ACQUIRE, PL_RELAXED))
            return 1;
    }
}

/* unlock_upgradable's fast path: -1 if no upgradable lock is held; 1 if threads
   are parked (slow path); else drop it (Release) and return 0. */
static int pl_rw_unlock_upgradable(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (!(state & PL_UPGRADABLE))
            return -1;
        if (state & PL_PARKED)
            return 1;
        if (pl_cas(word, &state, state - PL_ONE_READER - PL_UPGRADABLE, PL_RELEASE, PL_RELAXED))
            return 0;
    }
}

/* unlock_upgradable's callback, under the main key's bucket lock: drop the
   upgradable lock, add what was handed to the woken threads (0 if nothing was),
   and set PARKED to *parked* (PL_PARKED if threads remain queued, else 0).
   Returns the new state. */
static int64_t pl_rw_unlock_upgradable_slow(int64_t *word, int64_t granted, int64_t parked)
{
    int64_t state = pl_load(word, PL_SEQ_CST);
    for (;;) {
        int64_t next = ((state - PL_ONE_READER - PL_UPGRADABLE + granted) & ~PL_PARKED) | parked;
        if (pl_cas(word, &state, next, PL_SEQ_CST, PL_SEQ_CST))
            return next;
    }
}

/* try_upgrade: -1 if no upgradable lock is held; 0 if other readers remain;
   else trade ONE_READER | UPGRADABLE for WRITER and return 1.  Acquire: the
   readers that left released what they read before this thread writes. */
static int pl_rw_try_upgrade(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (!(state & PL_UPGRADABLE))
            return -1;
        if ((state & PL_READERS_MASK) != PL_ONE_READER)
            return 0;
        if (pl_cas(word, &state, state - PL_ONE_READER - PL_UPGRADABLE + PL_WRITER, PL_ACQUIRE, PL_RELAXED))
            return 1;
    }
}

/* upgrade's slow path, step 1: trade the upgradable read lock for WRITER
   (readers still inside drain out), recording the ownership in *owned. */
static void pl_rw_upgrade_take_writer(int64_t *word, int64_t *owned)
{
    pl_fetch_add(word, PL_WRITER - PL_ONE_READER - PL_UPGRADABLE, PL_SEQ_CST);
    *owned = 1;
}

/* downgrade / downgrade_to_upgradable: -1 (nothing changed) unless a writer
   holds the lock; else WRITER becomes *add* (ONE_READER, or ONE_READER |
   UPGRADABLE) and the old state is returned.  Release: the new readers see
   what the writer wrote. */
static int64_t pl_rw_downgrade(int64_t *word, int64_t add)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (!(state & PL_WRITER) || (state & PL_READERS_MASK))
            return -1;
        if (pl_cas(word, &state, state - PL_WRITER + add, PL_RELEASE, PL_RELAXED))
            return state;
    }
}

/* downgrade_upgradable: -1 unless an upgradable lock is held; else clear
   UPGRADABLE (the holder stays a reader) and return the old state. */
static int64_t pl_rw_downgrade_upgradable(int64_t *word)
{
    int64_t state = pl_load(word, PL_RELAXED);
    for (;;) {
        if (!(state & PL_UPGRADABLE))
            return -1;
        if (pl_cas(word, &state, state - PL_UPGRADABLE, PL_RELEASE, PL_RELAXED))
            return state;
    }
}

/* A writer (or upgrader) gives WRITER back after a timeout or an exception:
   clear WRITER and WRITER_PARKED, add back what it held before (an upgradable
   read lock, for an upgrade), and clear its ownership record, in one call. */
static void pl_rw_give_writer_back(int64_t *word, int64_t prev_value, int64_t *owned)
{
    int64_t state = pl_load(word, PL_SEQ_CST);
    while (!pl_cas(word, &state, (state & ~(PL_WRITER | PL_WRITER_PARKED)) + prev_value, PL_SEQ_CST, PL_SEQ_CST))
        ;
    *owned = 0;
}

/* validate for the main key, under its bucket lock: 0 if none of *flags* is set
   (the lock became available: do not sleep), else set PARKED and return 1. */
static int pl_rw_set_parked_if(int64_t *word, int64_t flags)
{
    int64_t state = pl_load(word, PL_SEQ_CST);
    for (;;) {
        if (!(state & flags))
            return 0;
        if (pl_cas(word, &state, state | PL_PARKED, PL_SEQ_CST, PL_SEQ_CST))
            return 1;
    }
}

/* validate for the second key (a writer waiting for readers), under its bucket
   lock: 0 if no reader is left, else set WRITER_PARKED and return 1. */
static int pl_rw_writer_may_sleep(int64_t *word)
{
    int64_t state = pl_load(word, PL_SEQ_CST);
    for (;;) {
        if (!(state & PL_READERS_MASK))
            return 0;
        if (pl_cas(word, &state, state | PL_WRITER_PARKED, PL_SEQ_CST, PL_SEQ_CST))
            return 1;
    }
}
"""
# optional=True: without a C compiler (or with one this source does not suit) the
# install still succeeds and parking_lot._atomics runs its portable implementation.
ffi_atomics.set_source("parking_lot._ffi._atomics", _ATOMICS_SOURCE, optional=True)


def cffi_module_specs() -> list[str]:
    """The ``cffi_modules`` entries for setup(): what can exist on this platform."""
    specs = ["build_ffi.py:ffi_keyed_event", "build_ffi.py:ffi_wait_address", "build_ffi.py:ffi_atomics"]
    if sys.platform.startswith("linux"):
        specs.append("build_ffi.py:ffi_futex")
    return specs


def write_abi_modules(outdir: str) -> list[str]:
    """Write the two ABI-mode modules (pure Python) into *outdir*; return their paths."""
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
