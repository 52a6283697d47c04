"""The parking lot's hashtable of buckets, and the per-thread data that lives in it.

Port of the data half of parking_lot_core's ``parking_lot.rs``:

* A :class:`Bucket` is a lock object (``_thread.RLock``, for its owner test: see
  :func:`release_if_held`; never taken twice by one thread) plus a FIFO queue of the threads
  parked on the keys that hash to it (a Python list: O(1) append, C-speed scans
  and removals) and a fairness timer.
* A :class:`HashTable` is ``2**hash_bits`` buckets.  Keys are spread with
  Fibonacci hashing (multiply by 0x9E3779B97F4A7C15, keep the top bits).
* The table starts at 16 buckets and grows to ``next_pow2(3 * threads)`` when a
  thread first parks and the live-thread count says it is too small.  Growing
  locks every bucket of the current table in order, re-checks that the table is
  still current, rehashes every queued thread in queue order (so per-key FIFO
  order survives), publishes the new table and unlocks the old buckets.  A thread
  that locked a bucket of an old table sees ``state.table is not table`` once it
  holds the lock and retries; the garbage collector keeps old tables alive for
  as long as anyone still looks at them.  The table never shrinks.
* :class:`ThreadData` is created on a thread's first park and kept in
  thread-local storage.  The live-thread count is the size of a weak set of
  them: when a thread ends its thread-local storage is cleared, the ThreadData
  dies and leaves the set, with no finaliser of ours that an exception could cut
  short.

Python-specific: after ``os.fork()`` the child gets a fresh table and a live
set holding at most the forking thread, since the parent's other threads do not
exist there.
"""

from __future__ import annotations

import _thread
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parking_lot.thread_parker import ThreadParker, new_parker

from ._types import DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN

LOAD_FACTOR = 3
INITIAL_BUCKETS = 16
_FIB_MULTIPLIER = 0x9E3779B97F4A7C15
_MASK64 = 2**64 - 1
_MASK32 = 2**32 - 1
_FAIR_PERIOD_NS = 1_000_000  # the fairness timer fires after a random 0-1 ms
_monotonic_ns = time.monotonic_ns


def hash_key(key: int, bits: int) -> int:
    """Fibonacci hashing: the top *bits* bits of ``key * 0x9E3779B97F4A7C15 mod 2**64``."""
    return ((key * _FIB_MULTIPLIER) & _MASK64) >> (64 - bits)


def next_power_of_two(value: int) -> int:
    """The smallest power of two >= *value* (1 for values below 1)."""
    return 1 if value <= 1 else 1 << (value - 1).bit_length()


def xorshift32(seed: int) -> int:
    """One step of Marsaglia's xorshift32 generator (never returns 0 for a non-zero seed)."""
    seed ^= (seed << 13) & _MASK32
    seed ^= seed >> 17
    seed ^= (seed << 5) & _MASK32
    return seed


class ThreadData:
    """What the lot knows of one thread: its parker and what it is parked with.

    ``key``, ``park_token``, ``unpark_token`` and ``woken`` are written only under
    the lock of the bucket the thread is queued in (or before it is queued).
    """

    __slots__ = (
        "parker", "key", "park_token", "unpark_token", "woken", "ident", "timed", "on_timeout", "cancel",
        "requeued", "task", "__weakref__",
    )

    def __init__(self, parker: ThreadParker | None = None, task: object = None) -> None:
        self.parker: ThreadParker = new_parker() if parker is None else parker
        self.key = 0
        self.park_token = DEFAULT_PARK_TOKEN
        self.unpark_token = DEFAULT_UNPARK_TOKEN
        #: Set by the unparker that takes this thread off its queue.
        self.woken = False
        #: The owning thread (ThreadData is made by the thread itself, on its first park).
        self.ident = _thread.get_ident()
        #: Whether the current park has a deadline, and its timed_out callback: what
        #: the deadlock detector reports, and what cancel_park runs to remove the
        #: thread exactly as a timeout would.
        self.timed = False
        self.on_timeout: Callable[[int, bool], object] | None = None
        #: An exception cancel_park wants raised in this thread when it wakes.
        self.cancel: BaseException | None = None
        #: Whether unpark_requeue moved this thread during its current park: such a
        #: thread has waited once already, so waking it reports ``be_fair``.
        self.requeued = False
        #: None for a thread; for a waiting task (park_async: one ThreadData per wait, with a
        #: TaskParker), the task.  ``ident`` is then its event loop's thread.
        self.task = task


class Bucket:
    """One lock, one FIFO queue, one fairness timer."""

    __slots__ = ("lock", "queue", "fair_deadline_ns", "seed")

    def __init__(self, now_ns: int, seed: int) -> None:
        self.lock = _thread.RLock()  # an owner test for release_if_held; never taken twice
        self.queue: list[ThreadData] = []
        self.fair_deadline_ns = now_ns
        self.seed = seed

    def should_be_fair(self) -> bool:
        """True once the fairness timer has expired, re-arming it at a random 0-1 ms.

        Call with the bucket lock held.
        """
        now = _monotonic_ns()
        if now > self.fair_deadline_ns:
            self.seed = xorshift32(self.seed)
            self.fair_deadline_ns = now + self.seed % _FAIR_PERIOD_NS
            return True
        return False


class HashTable:
    """``2**hash_bits`` buckets, sized for a number of threads."""

    __slots__ = ("buckets", "hash_bits", "_shift")

    def __init__(self, num_threads: int) -> None:
        size = max(INITIAL_BUCKETS, next_power_of_two(num_threads * LOAD_FACTOR))
        now = _monotonic_ns()
        # Seeds must be non-zero for xorshift; bucket index + 1 is cheap and distinct.
        self.buckets = [Bucket(now, index + 1) for index in range(size)]
        self.hash_bits = size.bit_length() - 1
        self._shift = 64 - self.hash_bits

    def bucket_for(self, key: int) -> Bucket:
        """The bucket of *key* (:func:`hash_key`, inlined: this is on every operation's path)."""
        return self.buckets[((key * _FIB_MULTIPLIER) & _MASK64) >> self._shift]


@dataclass(frozen=True)
class Statistics:
    """A snapshot of the parking lot (taken without locking: counts may be a moment old).

    >>> from parking_lot.core import statistics
    >>> snapshot = statistics()
    >>> snapshot.buckets >= 16, snapshot.threads_parked >= 0
    (True, True)
    """

    #: Threads in some bucket's queue.
    threads_parked: int
    #: Distinct keys with at least one parked thread.
    keys_parked: int
    #: Buckets in the current table.
    buckets: int
    #: Times the table has grown since the process (or fork child) started.
    table_growths: int
    #: Threads alive that have parked at least once (each owns a ThreadData).
    live_threads: int


def release_if_held(lock: Any | None) -> None:
    """Release *lock*, a lock of the lot (or nothing for None), if this thread holds it: the handler of every
    ``with`` on one, and of every loop that takes them all.

    An asynchronous exception (Ctrl-C, any signal handler's) can land just after a lock
    is taken and before the code that would release it is in force: on CPython 3.14,
    between a ``with`` statement's ``__enter__`` and its block (python/cpython#148874:
    the ``CALL`` of ``__enter__`` runs the signal handlers as it ends, and ``__exit__`` is
    not yet armed); on every version, between an ``acquire()`` and whatever records it
    (``ExitStack.enter_context`` leaked 111-128 of some 290 interrupts in a signal
    storm on 3.11-3.14).  The lot's locks are ``_thread.RLock`` for their owner test:
    after the exception, this thread holds one iff it was stranded so (the lot never
    takes one twice, and a ``with`` block that was entered has released its lock by the
    time the exception reaches the handler).
    """
    if lock is not None and lock._is_owned():
        lock.release()


def _threads_of(threads: weakref.WeakSet[ThreadData], ident: int) -> list[ThreadData]:
    """The members of *threads* whose ident is *ident*: a function of its own, not a
    comprehension in the caller's ``with`` block, so that a signal handler's exception at
    its loop's back edge reaches the ``with`` (python/cpython#108214; see
    ``_park._wake_every_one_on``)."""
    return [thread for thread in threads if thread.ident == ident]


def release_all_held(table: HashTable) -> None:
    """:func:`release_if_held` for every bucket lock of *table* (after locking them all)."""
    for bucket in table.buckets:
        release_if_held(bucket.lock)


class LotState:
    """The process-wide state: the current table and the live-thread count."""

    def __init__(self) -> None:
        self.table = HashTable(0)
        self.growths = 0
        self._threads: weakref.WeakSet[ThreadData] = weakref.WeakSet()
        self._threads_lock = _thread.RLock()  # an owner test for release_if_held
        #: How many threads :meth:`register_thread` ever counted: at least the live ones.
        self._threads_registered = 0
        #: Each task's wait in park_async: ``id(wait)`` -> a weak reference to its ThreadData
        #: (weak: a coroutine left to the garbage collector must stay collectable), dropped
        #: by :meth:`task_wait_over` when the wait is over.  The table grows with them as
        #: with threads.  A dict, not a WeakSet: registering is on
        #: every task wait's path, and the WeakSet's Python-level bookkeeping cost more than
        #: the rest of the registration.
        self._task_waits: dict[int, weakref.ReferenceType[ThreadData]] = {}

    @property
    def live_threads(self) -> int:
        """Threads alive that own a ThreadData."""
        return len(self._threads)

    def register_thread(self, thread: ThreadData) -> None:
        """Count *thread* as live until it is garbage (the table grows in :func:`thread_data`)."""
        lock = self._threads_lock
        try:
            with lock:
                self._threads.add(thread)
                self._threads_registered += 1
        except BaseException:
            release_if_held(lock)
            raise

    @property
    def waiting_tasks(self) -> int:
        """Tasks' waits in progress (park_async), as the table's growth counts them."""
        return len(self._task_waits)

    def register_task_wait(self, wait: ThreadData) -> None:
        """Count a task's wait until :meth:`task_wait_over`; grow the table if needed.

        No lock: adding one dict entry is a single atomic step (as removing it is).  The
        live threads are counted (``len`` of their WeakSet, Python-level) only when the
        number of threads ever registered, an upper bound, says the table may be too small.
        """
        task_waits = self._task_waits
        task_waits[id(wait)] = weakref.ref(wait)
        waits = len(task_waits)
        buckets = len(self.table.buckets)
        if buckets < LOAD_FACTOR * (waits + self._threads_registered):
            waiters = len(self._threads) + waits
            if buckets < LOAD_FACTOR * waiters:
                self.grow(waiters)

    def task_wait_over(self, wait: ThreadData) -> None:
        """Stop counting *wait* (registered by :meth:`register_task_wait`).

        Takes no lock: a wait can end inside a finaliser (a coroutine closed by the garbage
        collector), perhaps in a thread that holds our locks; removing one dict entry is a
        single atomic step (free-threaded builds too).  *wait* is alive, so ``id(wait)``
        is still its own key.
        """
        self._task_waits.pop(id(wait), None)

    def find_threads(self, ident: int) -> list[ThreadData]:
        """The ThreadData of thread *ident* (more than one if a dead thread's lingers on)."""
        lock = self._threads_lock
        try:
            with lock:
                return _threads_of(self._threads, ident)
        except BaseException:
            release_if_held(lock)
            raise

    def find_task_waits(self, task_id: int) -> list[ThreadData]:
        """The waits in progress of the task whose ``id()`` is *task_id* (park_async)."""
        lock = self._threads_lock
        try:
            with lock:
                refs = list(self._task_waits.values())  # a copy: a wait may end (a finaliser) meanwhile
        except BaseException:
            release_if_held(lock)
            raise
        waits = []
        for ref in refs:
            wait = ref()
            if wait is not None and wait.task is not None and id(wait.task) == task_id:
                waits.append(wait)
        return waits

    def grow(self, num_threads: int) -> None:
        """Make the table big enough for *num_threads* (parking_lot's grow_hashtable)."""
        while True:
            table = self.table
            if len(table.buckets) >= LOAD_FACTOR * num_threads:
                return
            try:
                for bucket in table.buckets:
                    bucket.lock.acquire()
                if self.table is not table:
                    continue  # someone else grew it while we were locking
                new_table = HashTable(num_threads)
                for bucket in table.buckets:
                    for thread in bucket.queue:
                        new_table.bucket_for(thread.key).queue.append(thread)
                self.table = new_table
                self.growths += 1
                return
            finally:
                release_all_held(table)

    def statistics(self) -> Statistics:
        table = self.table
        queued = [thread for bucket in table.buckets for thread in list(bucket.queue)]
        return Statistics(
            threads_parked=len(queued),
            keys_parked=len({thread.key for thread in queued}),
            buckets=len(table.buckets),
            table_growths=self.growths,
            live_threads=self.live_threads,
        )

    def after_fork_in_child(self) -> None:
        """Forget the parent's threads: fresh locks, an empty table, only this thread live."""
        self._threads_lock = _thread.RLock()
        self.table = HashTable(0)
        self.growths = 0
        self._threads = weakref.WeakSet()
        self._threads_registered = 0
        self._task_waits = {}  # the parent's event loops do not run in the child
        current = getattr(_local, "data", None)
        if current is not None:
            # The forking thread is the child's main thread: a new parker, made by it,
            # waits as a main thread must (in slices, for Ctrl-C), whatever it was.
            current.parker = new_parker()
            self._threads.add(current)
            self._threads_registered = 1


state = LotState()
_local = threading.local()


def thread_data() -> ThreadData:
    """This thread's ThreadData, created (and the table grown) on first use."""
    try:
        data: ThreadData = _local.data
    except AttributeError:
        data = _local.data = ThreadData()
        state.register_thread(data)
        state.grow(state.live_threads + state.waiting_tasks)
    return data


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=state.after_fork_in_child)
