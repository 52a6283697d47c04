"""park / unpark_one / unpark_all / unpark_requeue / unpark_filter.

Port of the operations half of parking_lot_core's ``parking_lot.rs``, with the
rules Python adds (docs/architecture.md, "The core"):

Locking a bucket
    ``while True: table = state.table; bucket = ...; with bucket.lock: if
    state.table is not table: continue`` -- parking_lot's ``lock_bucket``,
    written inline so that the lock is only ever held inside a ``with``.  Where
    the key itself may move (a requeue), the loop also re-checks ``thread.key``
    (``lock_bucket_checked``).  Two buckets are locked lowest index first, and a
    shared bucket only once.

Callbacks raise
    ``validate``, ``callback`` and ``filter`` run under the bucket lock *before*
    the operation changes any queue, so when one raises, the exception reaches
    the caller and the lot is exactly as it was (only the bucket's fairness timer
    may have advanced).  ``before_sleep`` runs unlocked after the thread is
    queued; if it raises, the thread leaves the queue as if it had timed out
    (``timed_out`` is called) and the exception propagates.  ``timed_out`` runs
    after the thread has left its queue; if it raises, the thread stays out and
    the exception propagates.  Callbacks must not call into the parking lot
    (the bucket lock is held; taken again by the same thread it would let a
    queue change under the code that holds it).

Asynchronous exceptions
    An exception arriving while a thread waits (Ctrl-C) or at any line of this
    package leaves every bucket lock free and every queue entry owned by a live,
    parked thread: a parking thread gives up its wait (a past deadline, which
    settles a keyed-event release already committed to it) and leaves its queue,
    calling ``timed_out`` as a timeout would; an unparker opens an
    :class:`UnparkBatch` before it locks a bucket and takes each thread off its
    queue on the same line that adds the wake-up to the batch, so a thread that
    has left a queue is always woken.  Each step that must not be split is one
    line.  When ``park`` raises this way, :func:`interrupted_result` tells the
    caller whether the thread had already been unparked (and with which token).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from parking_lot.thread_parker import UnparkBatch

from ._hashtable import _FIB_MULTIPLIER, _MASK64, Bucket, ThreadData, release_all_held, release_if_held, state, thread_data
from ._types import (
    ONE_THREAD_RESULTS,
    DEFAULT_PARK_TOKEN,
    DEFAULT_UNPARK_TOKEN,
    WORD_LIMIT,
    FilterOp,
    Invalid,
    ParkedThread,
    ParkResult,
    ParkToken,
    RequeueOp,
    TimedOut,
    Unparked,
    UnparkResult,
    UnparkToken,
)

_monotonic_ns = time.monotonic_ns
_NOTHING_UNPARKED = UnparkResult()
_new_result = tuple.__new__  # UnparkResult is a named tuple: its Python __new__ is skipped on hot paths
_ABORT = RequeueOp.Abort
_UNPARK_ONE = RequeueOp.UnparkOne
_REQUEUE_ONE = RequeueOp.RequeueOne
_UNPARK_ONE_REQUEUE_REST = RequeueOp.UnparkOneRequeueRest
_FILTER_UNPARK = FilterOp.Unpark
_FILTER_SKIP = FilterOp.Skip
_FILTER_STOP = FilterOp.Stop
#: unpark_requeue's RequeueOne results when a thread was moved: ``[have_more_threads]``.
_ONE_MOVED_RESULTS = (UnparkResult(0, 1, False, False), UnparkResult(0, 1, True, False))
_RESULT_ATTRIBUTE = "_parking_lot_park_result"


# --- argument checks: all run before anything is locked or queued -------------------


def _check_word(value: object, name: str) -> int:
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        value = int(value)
    if not 0 <= value < WORD_LIMIT:
        raise ValueError(f"{name} must satisfy 0 <= {name} < 2**64, got {value}")
    return value


def _check_callable(value: object, name: str) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, not {type(value).__name__}")


#: The latest deadline the lot keeps, in ``time.monotonic_ns()`` (about 146 years after the
#: clock's start): a later one is no deadline at all (None), as a wait that long is forever for
#: any program, and every OS wait can take what is left (the futex's int64 deadline included).
LATEST_DEADLINE_NS = 2**62
# Above these many seconds a timeout or a deadline is later than LATEST_DEADLINE_NS whatever
# the clock reads (a shortcut: no huge ints for 1e300); compared exactly, int or float.
_FOREVER_SECONDS = 2 * LATEST_DEADLINE_NS // 1_000_000_000


def _check_seconds(value: object, name: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(value).__name__}")
    if value != value:
        raise ValueError(f"{name} must not be NaN")
    return value


def _ceil_ns(seconds: int | float) -> int:
    """Finite *seconds* as whole nanoseconds, rounded up exactly (no float product)."""
    numerator, denominator = seconds.as_integer_ratio()
    return -(-numerator * 1_000_000_000 // denominator)


def deadline_ns(timeout: float | None, deadline: float | None) -> int | None:
    """Check a public call's time argument and return its ``time.monotonic_ns()`` deadline.

    *timeout* is seconds from now (>= 0); *deadline* a ``time.monotonic()`` value
    (seconds); give at most one.  Any int or float is taken, ``inf`` and ``1e300``
    too: the result is exact, rounded up (a wait never ends early), and None
    (no deadline) when both are None or the deadline would be later than
    :data:`LATEST_DEADLINE_NS`.  A past deadline is clamped to 0.  This is the
    one form the primitives carry through their loops into ``park(deadline_ns=...)``.

    Raises TypeError for a value that is not an int or float (bool neither) or
    for both arguments given, ValueError for NaN or a negative *timeout*; the
    message names the argument.

    >>> import time
    >>> deadline_ns(0.5, None) - time.monotonic_ns() <= 500_000_000
    True
    >>> deadline_ns(None, 2.5), deadline_ns(None, -1.0), deadline_ns(1e300, None)
    (2500000000, 0, None)
    """
    if timeout is not None:
        if deadline is not None:
            raise TypeError("pass timeout or deadline, not both")
        seconds = _check_seconds(timeout, "timeout")
        if seconds < 0:
            raise ValueError(f"timeout must be >= 0, got {timeout!r}")
        if seconds > _FOREVER_SECONDS:  # inf included
            return None
        until = _monotonic_ns() + _ceil_ns(seconds)
    elif deadline is not None:
        seconds = _check_seconds(deadline, "deadline")
        if seconds <= 0:  # -inf included
            return 0
        if seconds > _FOREVER_SECONDS:  # inf included
            return None
        until = _ceil_ns(seconds)
    else:
        return None
    return until if until <= LATEST_DEADLINE_NS else None


_deadline_ns = deadline_ns  # park's keyword argument of the same name hides the function there


def _check_deadline_ns(value: object) -> int | None:
    """``park``'s *deadline_ns*: an int (bool not), any size; a far one is None."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"deadline_ns must be an int (a time.monotonic_ns() value) or None, not {type(value).__name__}")
    return int(value) if value <= LATEST_DEADLINE_NS else None


def checked_park_arguments(
    key: object,
    validate: object,
    before_sleep: object,
    timed_out: object,
    park_token: object,
    timeout: float | None,
    deadline: float | None,
    deadline_ns: int | None,
) -> tuple[int, int, int | None]:
    """:func:`park`'s argument checks, for :func:`park_async`: ``(key, park_token, until_ns)``.

    Raises what ``park`` raises for the same arguments, before anything is queued.
    """
    key = _check_word(key, "key")
    _check_callable(validate, "validate")
    _check_callable(before_sleep, "before_sleep")
    _check_callable(timed_out, "timed_out")
    token = _check_word(park_token, "park_token")
    if deadline_ns is None:
        until_ns = None if timeout is None and deadline is None else _deadline_ns(timeout, deadline)
    elif timeout is not None or deadline is not None:
        raise TypeError("pass only one of timeout, deadline and deadline_ns")
    else:
        until_ns = _check_deadline_ns(deadline_ns)
    return key, token, until_ns


def interrupted_result(exc: BaseException) -> ParkResult | None:
    """For an exception that came out of :func:`park`: how the wait really ended.

    ``Unparked(token)`` means an unparker had already taken the thread (and, for
    example, handed it a lock) when the exception arrived; ``TimedOut`` means the
    thread left the queue by itself.  None if the exception was not raised while
    the thread was queued (a bad argument, ``validate`` raising).
    """
    result: ParkResult | None = getattr(exc, _RESULT_ATTRIBUTE, None)
    return result


# --- helpers run with the bucket lock held -----------------------------------------------


def _first_index(queue: list[ThreadData], key: int, start: int = 0) -> int:
    for index in range(start, len(queue)):
        if queue[index].key == key:
            return index
    return -1


def _threads_on(queue: list[ThreadData], key: int) -> list[ThreadData]:
    # A loop, not a list comprehension: on 3.12+ comprehensions are inlined, and
    # an exception raised inside one by a trace function skips the enclosing
    # with-block's __exit__ (seen with the fault injector), leaking the bucket lock.
    threads = []
    for thread in queue:
        if thread.key == key:
            threads.append(thread)
    return threads


def _check_token(token: object, name: str) -> UnparkToken:
    if type(token) is int and 0 <= token < WORD_LIMIT:
        return token
    return _check_word(token, f"the token returned by {name}")


# --- park ------------------------------------------------------------------------------


def park(
    key: int,
    validate: Callable[[], bool] | None = None,
    before_sleep: Callable[[], object] | None = None,
    timed_out: Callable[[int, bool], object] | None = None,
    park_token: ParkToken = DEFAULT_PARK_TOKEN,
    timeout: float | None = None,
    deadline: float | None = None,
    *,
    deadline_ns: int | None = None,
) -> ParkResult:
    """Park the current thread on *key* until an unparker wakes it or the time runs out.

    Under the lock of *key*'s bucket, ``validate()`` is called; if it returns
    false the thread does not park and ``Invalid`` is returned.  Otherwise the
    thread joins the back of *key*'s queue with *park_token*, the lock is
    released, ``before_sleep()`` is called, and the thread sleeps.  It returns
    ``Unparked(token)`` when woken, with the token the unparker chose, or
    ``TimedOut`` when the time runs out first; in that case
    ``timed_out(key, was_last_thread)`` is called under the bucket lock after
    the thread left the queue (*key* is the key it was parked on at the end,
    which a requeue may have changed).

    The time is at most one of: *timeout*, seconds from now; *deadline*, a
    ``time.monotonic()`` value (seconds); *deadline_ns*, a ``time.monotonic_ns()``
    int, the form a primitive gets once from :func:`deadline_ns` and carries
    through its loops.  None for all three waits forever, as does a timeout or
    deadline too far away to matter (``inf``, ``1e300``; see :func:`deadline_ns`).

    Keys are ints with ``0 <= key < 2**64``; ``id(obj)`` is the usual one.
    Raises TypeError or ValueError naming the argument, before anything is
    queued, for a bad key, token, callback or time (see :func:`deadline_ns`;
    *deadline_ns* may be any int, a past one times out at once).

    >>> import threading
    >>> from parking_lot.core import park, unpark_one, parked_count
    >>> key = id(object())
    >>> def waker():
    ...     while parked_count(key) == 0: pass
    ...     unpark_one(key, lambda result: 42)
    >>> t = threading.Thread(target=waker); t.start()
    >>> park(key, timeout=10)
    Unparked(42)
    >>> t.join()
    """
    if type(key) is not int or not 0 <= key < WORD_LIMIT:
        key = _check_word(key, "key")
    if (
        (validate is not None and not callable(validate))
        or (before_sleep is not None and not callable(before_sleep))
        or (timed_out is not None and not callable(timed_out))
    ):
        _check_callable(validate, "validate")
        _check_callable(before_sleep, "before_sleep")
        _check_callable(timed_out, "timed_out")
    if type(park_token) is not int or not 0 <= park_token < WORD_LIMIT:
        park_token = _check_word(park_token, "park_token")
    if deadline_ns is None:
        until_ns = None if timeout is None and deadline is None else _deadline_ns(timeout, deadline)
    elif timeout is not None or deadline is not None:
        raise TypeError("pass only one of timeout, deadline and deadline_ns")
    elif type(deadline_ns) is int and deadline_ns <= LATEST_DEADLINE_NS:
        until_ns = deadline_ns
    else:
        until_ns = _check_deadline_ns(deadline_ns)
    thread = thread_data()
    parker = thread.parker
    queued = False
    lock = None  # the bucket lock last taken: released by the handler if an exception strands it
    try:
        while True:
            table = state.table
            bucket = table.bucket_for(key)
            lock = bucket.lock
            with lock:
                if state.table is not table:
                    continue
                if validate is not None and not validate():
                    return Invalid
                thread.key = key
                thread.park_token = park_token
                thread.woken = False
                thread.timed = until_ns is not None
                thread.on_timeout = timed_out
                thread.requeued = False
                parker.prepare_park()
                queued = True; bucket.queue.append(thread)  # one-step: queued iff the thread is in the bucket's queue
            break
        if before_sleep is not None:
            before_sleep()
        if until_ns is None:
            parker.park()
        elif not parker.park_until(until_ns):
            return _leave_queue(thread, timed_out)
        if thread.cancel is not None:  # cancel_park took us off the queue, as a timeout would
            queued = False; raise _take_cancel(thread)  # one-step: queued is cleared only by the cancel that took the thread off the queue
        return Unparked(thread.unpark_token)
    except BaseException as exc:
        release_if_held(lock)
        if queued:
            # Give the wait up: a deadline in the past settles a wake-up that an
            # unparker already committed to (the keyed-event rendezvous).
            result: ParkResult
            if parker.park_until(0):
                result = Unparked(thread.unpark_token)
            else:
                result = _leave_queue(thread, timed_out)
            if thread.cancel is not None:
                # cancel_park took the thread off its queue (as a timeout: its timed_out ran), and
                # this exception came before the cancel was raised: no unparker handed it anything
                # (unpark_token is whatever an earlier park was given).  The exception in flight
                # stands for the cancel's.
                thread.cancel = None
                result = TimedOut
            setattr(exc, _RESULT_ATTRIBUTE, result)
        raise


def _take_cancel(thread: ThreadData) -> BaseException:
    exc = thread.cancel
    assert exc is not None
    thread.cancel = None
    setattr(exc, _RESULT_ATTRIBUTE, TimedOut)  # what interrupted_result(exc) reports
    return exc


def cancel_park(ident: int, exc: BaseException) -> bool:
    """Make the thread *ident*, if parked, leave its queue and raise *exc* from ``park``.

    The thread leaves exactly as if its park had timed out (its ``timed_out``
    callback runs under the bucket lock, so the primitive's parked bits stay
    right), then raises *exc*; ``interrupted_result(exc)`` is ``TimedOut``, so the
    primitive's exception path gives up the wait cleanly.  False if the thread
    was not parked.  *ident* may also be ``id()`` of an asyncio or trio task waiting
    in :func:`park_async` (a task is its own node in the deadlock detector's graph):
    the task is resumed, without blocking, and *exc* raised from its ``park_async``.
    The deadlock detector breaks cycles with this.
    """
    waits = state.find_threads(ident) + state.find_task_waits(ident)
    return any(_cancel_one(thread, exc) for thread in waits)


def _cancel_one(thread: ThreadData, exc: BaseException) -> bool:
    taken_from = None  # the key whose queue the thread was taken off, until it is woken
    lock = None
    try:
        with UnparkBatch() as wake:
            while True:
                key = thread.key
                table = state.table
                bucket = table.bucket_for(key)
                lock = bucket.lock
                with lock:
                    if state.table is not table or thread.key != key:
                        continue  # grown or requeued meanwhile
                    queue = bucket.queue
                    if thread not in queue:
                        return False
                    try:
                        queue.remove(thread); taken_from = key  # one-step: taken_from is set iff the thread is off its queue
                        if thread.on_timeout is not None:  # as a timeout would, before the thread runs
                            thread.on_timeout(key, _first_index(queue, key) < 0)
                    finally:
                        # Whatever the callback does, the thread is off the queue: wake it.
                        thread.cancel = exc; thread.woken = True; wake.append(thread.parker.unpark_lock()); taken_from = None  # one-step: a thread taken off its queue is always woken
                    return True
    except BaseException:
        release_if_held(lock)
        if taken_from is not None:  # cut short between taking the thread off its queue and waking it
            _wake_taken(thread, taken_from)
        raise


def _wake_taken(thread: ThreadData, key: int) -> None:
    """Wake *thread*, which a cancel took off *key*'s queue but an exception kept from waking.

    It wakes as from a spurious wake-up (``Unparked`` with the default token, which every
    primitive re-checks); the cancel's exception is the canceller's.  Nothing is done if
    the thread has moved on meanwhile (its own timeout let it go, and it parked again).
    """
    lock = None
    try:
        with UnparkBatch() as wake:
            while True:
                table = state.table
                bucket = table.bucket_for(key)
                lock = bucket.lock
                with lock:
                    if state.table is not table:
                        continue
                    if thread.key != key or thread in bucket.queue:
                        return  # parked again since: not ours to wake
                    # Already on an exception's path: no second one is guarded against here.
                    thread.unpark_token = DEFAULT_UNPARK_TOKEN
                    thread.woken = True
                    wake.append(thread.parker.unpark_lock())
                    return
    except BaseException:
        release_if_held(lock)
        raise


def _leave_queue(thread: ThreadData, timed_out: Callable[[int, bool], object] | None) -> ParkResult:
    """After a failed ``park_until``: leave the queue unless an unparker took us first."""
    lock = None
    try:
        while True:
            key = thread.key
            table = state.table
            bucket = table.bucket_for(key)
            lock = bucket.lock
            with lock:
                if state.table is not table or thread.key != key:
                    continue  # grown or requeued meanwhile: find the right bucket
                queue = bucket.queue
                if not thread.parker.timed_out() or thread not in queue:
                    # An unparker took us between the timeout and the lock, or we
                    # already left (an earlier attempt was interrupted).
                    return Unparked(thread.unpark_token) if thread.woken else TimedOut
                queue.remove(thread)
                was_last_thread = _first_index(queue, key) < 0
                if timed_out is not None:
                    timed_out(key, was_last_thread)
                return TimedOut
    except BaseException:
        release_if_held(lock)
        raise


# --- unpark ----------------------------------------------------------------------------


def unpark_one(key: int, callback: Callable[[UnparkResult], UnparkToken] | None = None) -> UnparkResult:
    """Wake the thread that has waited longest on *key*, if any.

    ``callback(result)`` runs under the bucket lock before the thread wakes and
    returns the UnparkToken it receives (DEFAULT_UNPARK_TOKEN without a callback);
    it is called even when no thread was parked.  ``result.have_more_threads``
    says whether others remain; ``result.be_fair`` whether a fair hand-off is due (the
    bucket's fairness timer fired, or the thread was moved here by ``unpark_requeue``).
    """
    if type(key) is not int or not 0 <= key < WORD_LIMIT:
        key = _check_word(key, "key")
    if callback is not None and not callable(callback):
        _check_callable(callback, "callback")
    lock = None
    try:
        with UnparkBatch() as wake:
            while True:
                table = state.table
                bucket = table.bucket_for(key)
                lock = bucket.lock
                with lock:
                    if state.table is not table:
                        continue
                    queue = bucket.queue
                    # _first_index, with the usual case (the bucket's first thread is ours) inlined
                    index = 0 if queue and queue[0].key == key else _first_index(queue, key)
                    if index < 0:
                        if callback is not None:
                            _check_token(callback(_NOTHING_UNPARKED), "callback")
                        return _NOTHING_UNPARKED
                    thread = queue[index]
                    more = index + 1 < len(queue) and _first_index(queue, key, index + 1) >= 0
                    # bucket.should_be_fair() asked only once its timer can have fired (the clock
                    # read first: the method call is most of its cost, and the timer rarely fires)
                    result = ONE_THREAD_RESULTS[more][
                        thread.requeued or (_monotonic_ns() > bucket.fair_deadline_ns and bucket.should_be_fair())
                    ]
                    token = DEFAULT_UNPARK_TOKEN
                    if callback is not None:
                        token = callback(result)
                        if type(token) is not int or not 0 <= token < WORD_LIMIT:  # _check_token's test, inlined
                            token = _check_token(token, "callback")
                    thread.unpark_token = token
                    thread.woken = True
                    wake.append(queue.pop(index).parker.unpark_lock())
                    return result
    except BaseException:
        release_if_held(lock)
        raise


def unpark_all(key: int, unpark_token: UnparkToken = DEFAULT_UNPARK_TOKEN) -> int:
    """Wake every thread parked on *key*, each with *unpark_token*; return how many."""
    if type(key) is not int or not 0 <= key < WORD_LIMIT:
        key = _check_word(key, "key")
    if type(unpark_token) is not int or not 0 <= unpark_token < WORD_LIMIT:
        unpark_token = _check_word(unpark_token, "unpark_token")
    lock = None
    try:
        with UnparkBatch() as wake:
            while True:
                table = state.table
                bucket = table.bucket_for(key)
                lock = bucket.lock
                with lock:
                    if state.table is not table:
                        continue
                    return _wake_every_one_on(bucket.queue, key, unpark_token, wake)
    except BaseException:
        release_if_held(lock)
        raise


def _wake_every_one_on(queue: list[ThreadData], key: int, unpark_token: UnparkToken, wake: UnparkBatch) -> int:
    """unpark_all's work, bucket lock held: take every thread on *key* off *queue* into *wake*.

    A function of its own, not a loop in unpark_all's ``with`` block: a signal handler's
    exception raised at a loop's back edge right after a conditional jump finds no
    handler in that frame on CPython 3.11-3.15 (python/cpython#108214), so it would leave
    the ``with`` without releasing the bucket lock; raised here, it reaches the caller at
    a call, inside the block (tests/test_interrupt_storm.py checks every ``with`` of the
    package for such loops).
    """
    count = 0
    index = _first_index(queue, key)
    while index >= 0:
        thread = queue[index]
        thread.unpark_token = unpark_token
        thread.woken = True
        wake.append(queue.pop(index).parker.unpark_lock()); count += 1  # one-step: a thread taken off its queue is always woken, and counted
        index = _first_index(queue, key, index)
    return count


def unpark_requeue(
    key_from: int,
    key_to: int,
    validate: Callable[[], RequeueOp],
    callback: Callable[[RequeueOp, UnparkResult], UnparkToken],
) -> UnparkResult:
    """Wake and/or move threads parked on *key_from* to *key_to*, as ``validate()`` decides.

    With both buckets locked (lowest index first), ``validate()`` returns a
    :class:`RequeueOp`; then ``callback(op, result)`` runs, still locked, and
    returns the token for the woken thread (if any).  Moved threads keep their
    order and join the back of *key_to*'s queue; they wake later through *key_to*.
    ``Abort`` changes nothing and does not call ``callback``.
    """
    if type(key_from) is not int or not 0 <= key_from < WORD_LIMIT:
        key_from = _check_word(key_from, "key_from")
    if type(key_to) is not int or not 0 <= key_to < WORD_LIMIT:
        key_to = _check_word(key_to, "key_to")
    if not callable(validate):
        raise TypeError(f"validate must be callable, not {type(validate).__name__}")
    if not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}")
    lock = second_lock = None  # the bucket locks taken: released by the handler if an exception strands one
    try:
        with UnparkBatch() as wake:
            while True:
                table = state.table
                shift = table._shift  # hash_key, inlined (as in HashTable.bucket_for)
                index_from = ((key_from * _FIB_MULTIPLIER) & _MASK64) >> shift
                index_to = ((key_to * _FIB_MULTIPLIER) & _MASK64) >> shift
                bucket_from = table.buckets[index_from]
                if index_from == index_to:  # one bucket, locked once
                    lock = bucket_from.lock
                    with lock:
                        if state.table is not table:
                            continue
                        return _requeue_locked(bucket_from, bucket_from, key_from, key_to, validate, callback, wake)
                bucket_to = table.buckets[index_to]
                first, second = (bucket_from, bucket_to) if index_from < index_to else (bucket_to, bucket_from)
                lock, second_lock = first.lock, second.lock
                with lock:
                    if state.table is not table:
                        continue
                    with second_lock:
                        return _requeue_locked(bucket_from, bucket_to, key_from, key_to, validate, callback, wake)
    except BaseException:
        release_if_held(second_lock)
        release_if_held(lock)
        raise


def _requeue_locked(
    bucket_from: Bucket,
    bucket_to: Bucket,
    key_from: int,
    key_to: int,
    validate: Callable[[], RequeueOp],
    callback: Callable[[RequeueOp, UnparkResult], UnparkToken],
    wake: UnparkBatch,
) -> UnparkResult:
    """unpark_requeue's work, with both buckets locked.  Nothing changes until ``callback`` returns."""
    op = validate()
    if op is _ABORT:
        return _NOTHING_UNPARKED
    from_queue = bucket_from.queue
    if op is _UNPARK_ONE or op is _REQUEUE_ONE:  # the condvar's notify_one: no lists made
        index = _first_index(from_queue, key_from)
        if index < 0:
            _check_token(callback(op, _NOTHING_UNPARKED), "callback")
            return _NOTHING_UNPARKED
        thread = from_queue[index]
        more = _first_index(from_queue, key_from, index + 1) >= 0
        if op is _REQUEUE_ONE:
            result = _ONE_MOVED_RESULTS[more]
            token = callback(op, result)
            if type(token) is not int or not 0 <= token < WORD_LIMIT:  # _check_token's test, inlined
                _check_token(token, "callback")
            # One line: the thread is never in a queue under the wrong key.
            from_queue.pop(index); thread.key = key_to; thread.requeued = True; bucket_to.queue.append(thread)  # one-step: a thread is never in a queue under the wrong key, nor in none
            return result
        result = ONE_THREAD_RESULTS[more][thread.requeued or bucket_from.should_be_fair()]
        token = callback(op, result)
        if type(token) is not int or not 0 <= token < WORD_LIMIT:  # _check_token's test, inlined
            token = _check_token(token, "callback")
        thread.unpark_token = token
        thread.woken = True
        wake.append(from_queue.pop(index).parker.unpark_lock())
        return result
    if not isinstance(op, RequeueOp):
        raise TypeError(f"validate must return a RequeueOp, not {op!r}")
    # RequeueAll or UnparkOneRequeueRest.  Plan first: nothing changes until the callback has returned.
    matching = _threads_on(from_queue, key_from)
    to_wake = matching[:1] if op is _UNPARK_ONE_REQUEUE_REST else []
    to_move = matching[len(to_wake):]
    result = _new_result(
        UnparkResult,
        (len(to_wake), len(to_move), False, bool(to_wake) and (to_wake[0].requeued or bucket_from.should_be_fair())),
    )
    token = _check_token(callback(op, result), "callback")
    to_queue = bucket_to.queue
    for thread in to_move:
        # One line: the thread is never in a queue under the wrong key.
        from_queue.remove(thread); thread.key = key_to; thread.requeued = True; to_queue.append(thread)  # one-step: a thread is never in a queue under the wrong key, nor in none
    for thread in to_wake:
        thread.unpark_token = token
        thread.woken = True
        from_queue.remove(thread); wake.append(thread.parker.unpark_lock())  # one-step: a thread taken off its queue is always woken
    return result


def unpark_filter(
    key: int,
    filter: Callable[[ParkToken], FilterOp],  # noqa: A002 (parking_lot's name)
    callback: Callable[[UnparkResult], UnparkToken],
) -> UnparkResult:
    """Wake the threads on *key* that ``filter(park_token)`` picks, in queue order.

    ``filter`` sees each parked thread's ParkToken and returns a
    :class:`FilterOp`: ``Unpark`` it, ``Skip`` it, or ``Stop`` looking.  Then
    ``callback(result)`` runs under the bucket lock and returns the token every
    woken thread receives.
    """
    if type(key) is not int or not 0 <= key < WORD_LIMIT:
        key = _check_word(key, "key")
    if not callable(filter):
        raise TypeError(f"filter must be callable, not {type(filter).__name__}")
    if not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}")
    lock = None
    try:
        with UnparkBatch() as wake:
            while True:
                table = state.table
                bucket = table.bucket_for(key)
                lock = bucket.lock
                with lock:
                    if state.table is not table:
                        continue
                    queue = bucket.queue
                    if _first_index(queue, key) < 0:  # nobody on the key: no filter call, nothing made
                        token = callback(_NOTHING_UNPARKED)
                        if type(token) is not int or not 0 <= token < WORD_LIMIT:  # _check_token's test, inlined
                            _check_token(token, "callback")
                        return _NOTHING_UNPARKED
                    chosen: list[ThreadData] = []
                    have_more = _choose(queue, key, filter, chosen)
                    result = _new_result(
                        UnparkResult,
                        (len(chosen), 0, have_more, bool(chosen) and (
                            chosen[0].requeued or (_monotonic_ns() > bucket.fair_deadline_ns and bucket.should_be_fair())
                        )),
                    )
                    token = callback(result)
                    if type(token) is not int or not 0 <= token < WORD_LIMIT:  # _check_token's test, inlined
                        token = _check_token(token, "callback")
                    for thread in chosen:
                        thread.unpark_token = token
                        thread.woken = True
                        queue.remove(thread); wake.append(thread.parker.unpark_lock())  # one-step: a thread taken off its queue is always woken
                    return result
    except BaseException:
        release_if_held(lock)
        raise


def _choose(queue: list[ThreadData], key: int, filter: Callable[[ParkToken], FilterOp], chosen: list[ThreadData]) -> bool:  # noqa: A002
    """unpark_filter's choice, bucket lock held: append to *chosen* the threads on *key* that
    ``filter`` unparks; whether it skipped or stopped at one (others stay).  A function of
    its own for the reason :func:`_wake_every_one_on` gives."""
    have_more = False
    # The queue itself, not a copy: nothing changes it before the loop ends (the bucket
    # lock is held, and callbacks must not call into the lot).
    for thread in queue:
        if thread.key != key:
            continue
        op = filter(thread.park_token)
        if op is _FILTER_UNPARK:
            chosen.append(thread)
        elif op is _FILTER_SKIP:
            have_more = True
        elif op is _FILTER_STOP:
            return True
        else:
            raise TypeError(f"filter must return a FilterOp, not {op!r}")
    return have_more


# --- introspection ---------------------------------------------------------------------


def parked_count(key: int) -> int:
    """How many threads are parked on *key* right now (exact: taken under the bucket lock)."""
    key = _check_word(key, "key")
    lock = None
    try:
        while True:
            table = state.table
            bucket = table.bucket_for(key)
            lock = bucket.lock
            with lock:
                if state.table is not table:
                    continue
                return sum(1 for thread in bucket.queue if thread.key == key)
    except BaseException:
        release_if_held(lock)
        raise


def parked_threads() -> tuple[ParkedThread, ...]:
    """Every thread parked right now: ident, key, park token, whether the wait is timed.

    Each bucket is read under its own lock, one after the other, so each entry is
    exact but the whole may mix moments (a thread may show up twice or not at all
    if it moved while the buckets were read); :func:`parked_threads_frozen`
    gives one consistent moment.  In queue order within each bucket, so threads
    parked on one key appear in the order they will be woken.

    >>> parked_threads() == () or all(isinstance(entry, ParkedThread) for entry in parked_threads())
    True
    """
    lock = None
    try:
        while True:
            table = state.table
            parked: list[ParkedThread] = []
            for bucket in table.buckets:
                lock = bucket.lock
                with lock:
                    parked.extend(ParkedThread(t.ident, t.key, t.park_token, t.timed, t.task) for t in bucket.queue)
            if state.table is table:  # else the table grew meanwhile: its threads moved, read the new one
                return tuple(parked)
    except BaseException:
        release_if_held(lock)
        raise


def parked_threads_frozen() -> contextlib.AbstractContextManager[tuple[ParkedThread, ...]]:
    """Hold every bucket lock of the lot for the ``with`` block; give who is parked on what.

    While the block runs no thread parks, is unparked, times out or is requeued,
    so what else the block reads about them (a lock's owner records) belongs to
    the same moment.  The block must be short and must not park, unpark or wait
    for a thread that might (it would wait forever: the buckets are held).

    An exception that lands while the locks are being taken leaves none held.  On CPython
    3.14 an asynchronous one (Ctrl-C) can also land between the ``with`` statement's
    ``__enter__`` and its block (python/cpython#148874), where no ``__exit__`` will run:
    code that must survive that catches ``BaseException`` around the ``with`` and calls
    ``release_all_held(state.table)`` of ``parking_lot.core._hashtable``, as the deadlock
    detector does.

    >>> with parked_threads_frozen() as parked:
    ...     isinstance(parked, tuple)
    True
    """
    return _FrozenLot()


class _FrozenLot:
    """:func:`parked_threads_frozen`'s context manager: a class, whose ``__enter__`` runs in one
    frame, and not a generator, between whose ``yield`` and the caller's ``with`` block
    contextlib's own code runs (an interrupt there left every bucket locked until the
    generator was collected, in whatever thread, which cannot release another's lock)."""

    __slots__ = ("_table",)

    def __enter__(self) -> tuple[ParkedThread, ...]:
        while True:
            table = state.table
            try:
                for bucket in table.buckets:
                    bucket.lock.acquire()
                if state.table is table:
                    self._table = table
                    return tuple(
                        ParkedThread(t.ident, t.key, t.park_token, t.timed, t.task) for b in table.buckets for t in b.queue
                    )
            except BaseException:
                release_all_held(table)
                raise
            release_all_held(table)  # grown meanwhile: lock the new table's buckets

    def __exit__(self, *exc_info: object) -> None:
        release_all_held(self._table)
