"""Deadlock detection for every lock of this library, reported with Python stack traces.

Opt-in, as in Rust's parking_lot (its ``deadlock_detection`` feature)::

    import parking_lot.deadlock
    parking_lot.deadlock.enable()          # or PARKING_LOT_DEADLOCK_DETECTION=1
    ...
    for cycle in parking_lot.deadlock.check_deadlock():
        print(cycle)

Zero cost when off: each lock module declares, next to its classes, what every
public method does to what the calling thread holds (:mod:`parking_lot.raw._tracking`);
``enable()`` swaps each declared method for a recording version and ``disable()``
puts the originals back, so a program that never enables it runs exactly the code
it would run without this module.

*Resource tracking* (as parking_lot's): every acquire records the lock's key on
the acquiring thread, every release removes it.  Mutex, FairMutex, RawMutex,
ReentrantMutex (held once, however deep), RwLock in each mode (a writer
waiting for readers parks on the second key, ``id + 1``, and is counted as
waiting for the lock), Once (the thread running the function holds it),
compat's Lock and RLock, and the Condvar/Condition waits (a waiting thread holds
nothing; it holds the mutex again when it returns) all take part.

*Detection*: the wait-for graph -- parked thread -> the lock its key belongs to
-> the threads holding that lock -- is built from the core's public snapshot of
who is parked on which key (:func:`parking_lot.core.parked_threads`), first in a
quick pass and, if that finds a cycle, again with every bucket held
(:func:`parking_lot.core.parked_threads_frozen`) so that the picture is
consistent.  On a RwLock, the waiter's park token says which mode it asks for.  Each cycle is reported once,
with every thread's id, name, the lock it waits for, the locks it holds (Python
type and repr) and its Python stack.  Unlike parking_lot, threads in a *timed*
wait are included (flagged: their cycle may resolve by itself), and reporting
changes nothing: the threads keep waiting as they were.

``break_deadlock(cycle)`` makes one thread of the cycle raise DeadlockError from
its acquire, which gives up cleanly, as a timeout would, so the others can go on.
"""

from __future__ import annotations

import _thread
import contextvars
import inspect
import logging
import os
import sys
import threading
import traceback
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from . import compat, condvar, mutex, reentrant_mutex, rwlock  # noqa: F401 (imported for their declarations)
from .core import ParkedThread, cancel_park, parked_threads, parked_threads_frozen
from .core._hashtable import release_all_held
from .core._hashtable import state as _core_state
from .raw import _tracking, once  # noqa: F401 (once: imported for its declarations)
from .raw._tracking import TRANSPARENT, Tracked, current_owner, owner_key
from .raw.rwlock import TOKEN_EXCLUSIVE, TOKEN_UPGRADABLE, RawRwLock
from .rwlock import RwLock

__all__ = [
    "Cycle",
    "DeadlockError",
    "LockInfo",
    "Ownership",
    "ThreadReport",
    "break_deadlock",
    "check_deadlock",
    "disable",
    "enable",
    "is_enabled",
    "ownership",
    "start_detector",
    "stop_detector",
]

ENV_VAR = "PARKING_LOT_DEADLOCK_DETECTION"
_log = logging.getLogger("parking_lot.deadlock")


class DeadlockError(RuntimeError):
    """Raised in a thread chosen to break a deadlock: its lock acquisition gave up.

    >>> issubclass(DeadlockError, RuntimeError)
    True
    """


# --- resource tracking ---------------------------------------------------------------------

Held = dict[int, dict[int, int]]


class _Records:
    """The process's ownership records, behind one lock.

    *Finalisers never block.*  A thread's record keeper (:class:`_ThreadRecords`)
    and a lock's weak-reference callback run wherever the garbage collector or
    the interpreter happens to be: in the very thread that holds ``lock`` (a
    collection started inside a locked section), in a fork child inside
    ``os.fork()`` while a thread that did not survive the fork held it, at
    interpreter exit while a frozen daemon thread holds it.  So they put their
    work on a deque (``append`` and ``popleft`` are atomic, with or without the
    GIL), try the lock without blocking, and whoever takes the lock next
    (:meth:`tidy`, first thing under every acquisition) finishes what is left.

    *fork*: the child gets a new lock and keeps only the forking thread's records
    (:func:`_after_fork_in_child`); the other threads do not exist there.
    """

    __slots__ = ("lock", "held", "objects", "upgraders", "ended_threads", "dropped_locks", "task_refs")

    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()
        #: owner (a thread's ident, ``id()`` of a task: _tracking.owner_key) -> {key: times held}
        self.held: Held = {}
        #: key -> the lock object (weakly), for the report
        self.objects: dict[int, weakref.ref[Any]] = {}
        #: (thread ident, RwLock key) for every upgradable read lock held: an upgrader waiting
        #: for the readers to leave waits for the *other* readers, not for itself.
        self.upgraders: set[tuple[int, int]] = set()
        #: Work left by finalisers: (ident, the keys dict of that ended thread) ...
        self.ended_threads: deque[tuple[int, dict[int, int]]] = deque()
        #: ... and (key, the dead weak reference) of locks that are gone.
        self.dropped_locks: deque[tuple[int, weakref.ref[Any]]] = deque()
        #: id() of each task that holds or held something -> a weak reference whose callback
        #: (the task is gone) puts its records on ``ended_threads``, as a thread's end does.
        self.task_refs: dict[int, weakref.ref[Any]] = {}

    def tidy(self) -> None:
        """Finish the finalisers' work.  Call with ``lock`` held."""
        ended, dropped = self.ended_threads, self.dropped_locks
        while ended:
            ident, keys = ended.popleft()
            if self.held.get(ident) is keys:  # not a new thread that was given the same ident
                del self.held[ident]
                ref = self.task_refs.get(ident)
                if ref is not None and ref() is None:
                    del self.task_refs[ident]
        while dropped:
            key, ref = dropped.popleft()
            if self.objects.get(key) is ref:
                del self.objects[key]

    def tidy_if_free(self) -> None:
        """For finalisers: :meth:`tidy` if the lock is free right now, else leave it for later."""
        lock = self.lock
        if lock.acquire(False):
            try:
                self.tidy()
            finally:
                lock.release()


_records = _Records()


class _ThreadRecords:
    """Kept in the thread's local storage: when the thread ends, its records go too.

    (Otherwise a thread that ended holding a lock would haunt the next thread that
    is given the same ident.)  Holds its own reference to the records: at
    interpreter exit the module's globals may already be gone.
    """

    __slots__ = ("ident", "keys", "_records")

    def __init__(self, ident: int, keys: dict[int, int]) -> None:
        self.ident = ident
        self.keys = keys
        self._records = _records

    def __del__(self) -> None:
        records = self._records
        records.ended_threads.append((self.ident, self.keys))  # never blocks: see _Records
        records.tidy_if_free()


def _forget_object(key: int) -> Callable[[weakref.ref[Any]], None]:
    records = _records

    def forget(ref: weakref.ref[Any]) -> None:  # a weakref callback: never blocks (see _Records)
        records.dropped_locks.append((key, ref))
        records.tidy_if_free()

    return forget


def _task_ended(ident: int, keys: dict[int, int]) -> Callable[[weakref.ref[Any]], None]:
    records = _records

    def ended(ref: weakref.ref[Any]) -> None:  # a weakref callback: never blocks (see _Records)
        records.ended_threads.append((ident, keys))
        records.tidy_if_free()

    return ended


def _acquired(key: int, obj: object) -> None:
    owner = current_owner()
    me = owner_key(owner)
    records = _records
    new_keys = None
    with records.lock:
        records.tidy()
        keys = records.held.get(me)
        if keys is None:
            keys = new_keys = records.held[me] = {}
            if owner is not me:  # a task: its records go when it does
                try:
                    records.task_refs[me] = weakref.ref(owner, _task_ended(me, keys))
                except TypeError:  # a task type without weak references: kept until disable()
                    pass
        keys[key] = keys.get(key, 0) + 1
        ref = records.objects.get(key)
        if ref is None or ref() is None:
            try:
                records.objects[key] = weakref.ref(obj, _forget_object(key))
            except TypeError:
                pass
    if new_keys is not None and owner is me:
        _local.records = _ThreadRecords(me, new_keys)  # outside the lock: a replaced one's __del__ tries it


def _released(key: int, exclusive: bool) -> None:
    me = owner_key(current_owner())
    records = _records
    with records.lock:
        records.tidy()
        keys = records.held.get(me)
        if keys is None or key not in keys:
            if not exclusive:
                return  # a shared lock this thread's records do not show (taken before enable())
            # An exclusive lock released by another thread than the one that locked it
            # (allowed for RawMutex and Lock): it is free now, take it off whoever holds it.
            keys = next((held for held in records.held.values() if key in held), None)
            if keys is None:
                return
        count = keys[key] - 1
        if count:
            keys[key] = count
        else:
            del keys[key]


def _holds(key: int) -> bool:
    with _records.lock:
        return key in _records.held.get(owner_key(current_owner()), ())


def _mark_upgradable(key: int, holds: bool) -> None:
    with _records.lock:
        if holds:
            _records.upgraders.add((owner_key(current_owner()), key))
        else:
            _records.upgraders.discard((owner_key(current_owner()), key))


def _forget_key(key: int) -> None:
    """Nobody holds *key* any more (its lock was re-made, as after fork)."""
    with _records.lock:
        _forget_key_locked(key)


def _forget_key_locked(key: int) -> None:
    """_forget_key's work, records lock held; a function of its own so that its loops are
    not in the ``with`` block (an exception at a loop's back edge can skip the block's
    exit: python/cpython#108214, see ``core._park._wake_every_one_on``)."""
    for keys in _records.held.values():
        keys.pop(key, None)
    for entry in [entry for entry in _records.upgraders if entry[1] == key]:
        _records.upgraders.discard(entry)


@dataclass(frozen=True)
class Ownership:
    """What the detector believes each thread and task holds (a consistent snapshot).

    ``held`` maps an owner -- a thread's ident, or ``id()`` of an asyncio or trio task
    for what a task took (:func:`parking_lot.raw._tracking.current_owner`) -- to
    ``{lock key: times held}`` (a reentrant lock
    counts once however deep; each read lock of a RwLock counts); ``upgradable``
    holds ``(owner, RwLock key)`` for every upgradable read lock.  The key
    of a lock is the key it parks on (``id()`` of the raw lock inside).

    >>> enable()
    >>> from parking_lot import Mutex
    >>> m = Mutex(None)
    >>> with m.lock():
    ...     ownership().held[threading.get_ident()] == {id(m.raw): 1}
    True
    >>> disable()
    """

    held: dict[int, dict[int, int]]
    upgradable: frozenset[tuple[int, int]]


def ownership() -> Ownership:
    """The ownership records as they stand (empty while detection is off)."""
    records = _records
    with records.lock:
        records.tidy()
        return Ownership(_held_copy(records.held), frozenset(records.upgraders))


def _held_copy(held: dict[int, dict[int, int]]) -> dict[int, dict[int, int]]:
    """A copy of *held* without its empty entries (records lock held; a function of its own
    for the reason ``_forget_key_locked`` gives)."""
    return {ident: dict(keys) for ident, keys in held.items() if keys}


# --- the patches -----------------------------------------------------------------------------
#
# The rule that keeps the records true: each method that changes what the calling
# thread holds records its *net* effect, once, at the outermost tracked call; the
# tracked calls it makes inside run with recording off (``_busy``, a context variable: per
# thread, and per task across the awaits of an awaitable twin).  So a
# method that releases and takes the lock again through paths of its own (bump,
# whose fair unlock is not ``unlock()``) is tracked as a whole: it records the
# release before it starts and the acquisition when it returns.  A release is
# recorded before the real release and an acquisition after the real one, so the
# records never claim a lock that is free; while a bump waits to take the lock
# back, it is recorded as holding nothing of it.  An acquisition that raises
# records nothing: every acquiring and re-acquiring path of the library gives
# the lock back before it lets an exception out.
#
# What each method does is declared by the module that defines it, next to the class
# (parking_lot/raw/_tracking.py has the kinds); a method declared TRANSPARENT is not
# wrapped: its every change goes through declared methods -- the Condvar waits (unlock
# in before_sleep, lock afterwards; only a hand-over is recorded by the wait's own
# wrapper), the data-owning locks' guards and the RwLock guards' transitions.
# tests/test_deadlock_tracking.py fails if a public method of a lock is declared
# nowhere; tests/test_deadlock_records.py drives every path against a model.

_ALWAYS = "always"  # the call acquires unless it raises
_IF_TRUE = "if-true"  # acquires when the result is true / not None


_local = threading.local()  # .relock_failed: see _condvar_waiting
_busy: contextvars.ContextVar[bool] = contextvars.ContextVar("parking_lot_deadlock_busy", default=False)


#: Thread ident -> the asyncio or trio task running in that thread while it makes a tracked
#: call (a blocking ``lock()`` inside a coroutine, say).  Should that call park the thread, the
#: park is the task's wait in the graph (:func:`_node`), as what the task holds is the task's.
#: Each thread writes only its own key; the detector reads it inside the lot's frozen snapshot,
#: where a parked thread is still inside its call.
_blocking_tasks: dict[int, object] = {}


def _quietly(fn: Callable[..., Any], self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call *fn* with recording off for the calls it makes (they are part of this one).

    Made inside a task, the call is entered in :data:`_blocking_tasks` while it runs.
    """
    owner = current_owner()
    if type(owner) is not int:
        return _quietly_in_task(owner, fn, self, args, kwargs)
    token = _busy.set(True)
    try:
        return fn(self, *args, **kwargs)
    finally:
        _busy.reset(token)


def _quietly_in_task(
    task: object, fn: Callable[..., Any], self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """:func:`_quietly` for a call made inside *task*: a park in it is the task's wait."""
    token = _busy.set(True)
    try:
        return _as_task_wait(task, fn, self, args, kwargs)
    finally:
        _busy.reset(token)


def _as_task_wait(task: object, fn: Callable[..., Any], self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call *fn* with *task* entered in :data:`_blocking_tasks` for this thread while it runs."""
    ident = _thread.get_ident()
    outer = _blocking_tasks.get(ident)
    try:
        _blocking_tasks[ident] = task  # (inside the try: an exception anywhere leaves no stale entry)
        return fn(self, *args, **kwargs)
    finally:
        if outer is None:
            _blocking_tasks.pop(ident, None)
        else:
            _blocking_tasks[ident] = outer


async def _quietly_awaited(awaitable: Awaitable[Any]) -> Any:
    """Await *awaitable* with recording off for the calls it makes (:func:`_quietly` for a task:
    the flag is set in the task's context, so what runs inside the await is part of this call)."""
    token = _busy.set(True)
    try:
        return await awaitable
    finally:
        _busy.reset(token)


KeyOf = Callable[[Any], "int | None"]  # the lock's key, or None: nothing to record


def _acquiring(
    fn: Callable[..., Any], key_of: KeyOf, when: str, upgradable: bool = False, awaited: bool = False,
    lock_of: Callable[[Any], object] | None = None,
) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):
        return _acquiring_async(fn, key_of, when, upgradable, lock_of)
    if awaited:
        return _acquiring_awaitable(fn, key_of, when, upgradable, lock_of)

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, *args, **kwargs)
        try:
            result = _quietly(fn, self, args, kwargs)
        except BaseException:
            _local.relock_failed = True  # (read by a Condvar wait around this call)
            raise
        _record_acquired(self, result, key_of, when, upgradable, lock_of)
        return result

    return tracked


def _acquiring_async(
    fn: Callable[..., Any], key_of: KeyOf, when: str, upgradable: bool, lock_of: Callable[[Any], object] | None
) -> Callable[..., Any]:
    """An awaitable twin's acquisition: recorded after the await, for the task that awaited."""

    @wraps(fn)
    async def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return await fn(self, *args, **kwargs)
        result = await _quietly_awaited(fn(self, *args, **kwargs))
        _record_acquired(self, result, key_of, when, upgradable, lock_of)
        return result

    return tracked


def _record_acquired(
    self: Any, result: Any, key_of: KeyOf, when: str, upgradable: bool, lock_of: Callable[[Any], object] | None
) -> None:
    """After an acquisition returned *result*: record it for the caller (thread or task).

    The lock object the reports name is *self*, or ``lock_of(self)`` (*self* a pending acquisition).
    """
    if when == _ALWAYS or (result is not None and result is not False):
        key = key_of(self)
        if key is not None:
            _acquired(key, self if lock_of is None else lock_of(self))
            if upgradable:
                _mark_upgradable(key, True)


def _acquiring_awaitable(
    fn: Callable[..., Any], key_of: KeyOf, when: str, upgradable: bool, lock_of: Callable[[Any], object] | None
) -> Callable[..., Any]:
    """A method that is no coroutine function but returns an awaitable whose completion acquires.

    (``__aenter__`` that takes the lock at once and returns a done future, or else a
    coroutine that waits for it.)  The call and the awaiting of what it returns are one
    acquisition, recorded when the awaitable completes, for the task that awaited it.
    Installed by enable() only: with detection off the method keeps its fast path.
    """

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, *args, **kwargs)
        return _awaited_then_recorded(_quietly(fn, self, args, kwargs), self, key_of, when, upgradable, lock_of)

    return tracked


async def _awaited_then_recorded(
    awaitable: Awaitable[Any], self: Any, key_of: KeyOf, when: str, upgradable: bool,
    lock_of: Callable[[Any], object] | None,
) -> Any:
    result = await _quietly_awaited(awaitable)
    _record_acquired(self, result, key_of, when, upgradable, lock_of)
    return result


def _releasing(
    fn: Callable[..., Any], key_of: KeyOf, exclusive: bool, upgradable: bool = False
) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):
        return _releasing_async(fn, key_of, exclusive, upgradable)

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, *args, **kwargs)
        # Forget it first: once really released, another thread may take and record it.
        key = key_of(self)
        if key is not None:
            if upgradable:
                _mark_upgradable(key, False)
            _released(key, exclusive)
        return _quietly(fn, self, args, kwargs)

    return tracked


def _releasing_async(
    fn: Callable[..., Any], key_of: KeyOf, exclusive: bool, upgradable: bool
) -> Callable[..., Any]:
    """An awaitable release: forgotten before the await (as the blocking one does)."""

    @wraps(fn)
    async def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return await fn(self, *args, **kwargs)
        key = key_of(self)
        if key is not None:
            if upgradable:
                _mark_upgradable(key, False)
            _released(key, exclusive)
        return await _quietly_awaited(fn(self, *args, **kwargs))

    return tracked


def _reacquiring(
    fn: Callable[..., Any], key_of: KeyOf, exclusive: bool, upgradable: bool = False
) -> Callable[..., Any]:
    """bump and its kind: release (by whatever path), then take the lock back."""

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, *args, **kwargs)
        key = key_of(self)
        if key is None:
            return fn(self, *args, **kwargs)
        if upgradable:
            _mark_upgradable(key, False)
        _released(key, exclusive)
        result = _quietly(fn, self, args, kwargs)  # if it raises, the lock was given back
        _acquired(key, self)
        if upgradable:
            _mark_upgradable(key, True)
        return result

    return tracked


def _upgradable_mode(fn: Callable[..., Any], key_of: KeyOf, holds: bool) -> Callable[..., Any]:
    """upgrade, downgrade_upgradable (*holds* False), downgrade_to_upgradable (True):
    the lock stays held, in another mode.  A try that returns False changes nothing."""
    if inspect.iscoroutinefunction(fn):
        return _upgradable_mode_async(fn, key_of, holds)

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, *args, **kwargs)
        result = _quietly(fn, self, args, kwargs)
        key = key_of(self)
        if result is not False and key is not None:
            _mark_upgradable(key, holds)
        return result

    return tracked


def _upgradable_mode_async(fn: Callable[..., Any], key_of: KeyOf, holds: bool) -> Callable[..., Any]:
    """An awaitable upgrade (``upgrade_async``): the new mode recorded after the await, for the task.

    While it waits for the other readers to leave, the task still holds the upgradable read
    lock (and is recorded so: an upgrader waits for the *other* readers).
    """

    @wraps(fn)
    async def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return await fn(self, *args, **kwargs)
        result = await _quietly_awaited(fn(self, *args, **kwargs))
        key = key_of(self)
        if result is not False and key is not None:
            _mark_upgradable(key, holds)
        return result

    return tracked


def _forgetting(fn: Callable[..., Any], key_of: KeyOf) -> Callable[..., Any]:
    """_at_fork_reinit: the lock is made anew, free; whoever held the old one holds nothing."""

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = key_of(self)
        if key is not None:
            _forget_key(key)
        return fn(self, *args, **kwargs)

    return tracked


#: The kinds of effect an awaitable method (a coroutine function, or ``acquires(awaited=True)``)
#: may be declared with; the others (bump's reacquires, fork's forgets, the Condvar and Once
#: protocols) have no awaitable form to record.
_AWAITABLE_KINDS = ("acquires", "releases", "changes_mode", "transparent")
_AWAITABLE_PROTOCOLS = ("reentrant acquires", "reentrant releases")


def _wrapper(spec: Tracked) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The recording wrapper maker for one declared effect (see :mod:`parking_lot.raw._tracking`)."""
    key = spec.key
    if spec.kind not in _AWAITABLE_KINDS and not (spec.kind == "special" and spec.protocol in _AWAITABLE_PROTOCOLS):

        def synchronous_only(fn: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(fn):
                raise TypeError(f"deadlock detection: {fn.__qualname__} is a coroutine function; "
                                f"only 'acquires', 'releases', 'changes_mode' and the reentrant protocol "
                                f"are tracked for awaitable methods")
            return make(fn)

        make = _wrapper_of(spec, key)
        return synchronous_only
    return _wrapper_of(spec, key)


def _wrapper_of(spec: Tracked, key: KeyOf | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if spec.kind == "special":
        return _SPECIAL[spec.protocol]
    assert key is not None, spec
    if spec.kind == "acquires":
        when = _IF_TRUE if spec.conditional else _ALWAYS
        return lambda fn: _acquiring(fn, key, when, spec.upgradable, spec.awaited, spec.lock_of)
    if spec.kind == "releases":
        return lambda fn: _releasing(fn, key, spec.exclusive, spec.upgradable)
    if spec.kind == "reacquires":
        return lambda fn: _reacquiring(fn, key, spec.exclusive, spec.upgradable)
    if spec.kind == "changes_mode":
        return lambda fn: _upgradable_mode(fn, key, spec.holds_upgradable)
    if spec.kind == "forgets":
        return lambda fn: _forgetting(fn, key)
    raise AssertionError(f"deadlock detection: unknown kind of effect {spec.kind!r}")


def _owned_by_caller(lock: Any) -> bool:
    """Whether the calling thread or task owns the reentrant *lock*, in the lock's own notion of owner.

    Asked of the lock itself: ``RawReentrantMutex.is_owned_by_current_thread()`` (the task
    inside one, else the thread: :func:`parking_lot.raw._tracking.current_owner`), or
    threading's ``_is_owned()`` hook (``compat.RLock``: the thread's ident today, whatever it
    becomes), so that a task is never taken for its loop's thread, nor the reverse, where the
    lock does not.  Otherwise: ``_owner`` compared with the task inside one, else the thread.
    """
    is_owned = getattr(lock, "is_owned_by_current_thread", None)
    if is_owned is None:
        is_owned = getattr(lock, "_is_owned", None)
    if is_owned is not None:
        return bool(is_owned())
    return bool(lock._owner == current_owner())


def _rlock_acquiring(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Held once, from the lock that makes the caller the owner to the unlock that ends its last hold."""
    if inspect.iscoroutinefunction(fn):
        return _rlock_acquiring_async(fn)

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, *args, **kwargs)
        # Only the owner writes the owner field: "was it mine before" is a safe read
        # (the count is not: another owner's count may be seen while we wait).
        had = _owned_by_caller(self)
        result = _quietly(fn, self, args, kwargs)
        if not had and _owned_by_caller(self):
            _acquired(id(self._mutex), self)
        return result

    return tracked


def _rlock_acquiring_async(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The awaitable reentrant acquisition (``lock_async``): recorded after the await, for the task."""

    @wraps(fn)
    async def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return await fn(self, *args, **kwargs)
        had = _owned_by_caller(self)
        result = await _quietly_awaited(fn(self, *args, **kwargs))
        if not had and _owned_by_caller(self):
            _acquired(id(self._mutex), self)
        return result

    return tracked


def _rlock_releasing(fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):
        return _rlock_releasing_async(fn)

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, *args, **kwargs)
        if self._count == 1 and _owned_by_caller(self):
            _released(id(self._mutex), exclusive=True)
        return _quietly(fn, self, args, kwargs)

    return tracked


def _rlock_releasing_async(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An awaitable reentrant release (``__aexit__``): forgotten before the await, as the blocking one."""

    @wraps(fn)
    async def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return await fn(self, *args, **kwargs)
        if self._count == 1 and _owned_by_caller(self):
            _released(id(self._mutex), exclusive=True)
        return await _quietly_awaited(fn(self, *args, **kwargs))

    return tracked


def _condvar_waiting(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Transparent: the wait's unlock and relock are tracked calls.  What it adds is
    the hand-over: a notifier's unlock may hand the mutex to the waiter directly, with
    no lock() call to record it.  So when the wait ends and the records do not show
    the mutex held, it was handed over -- unless the relock itself raised."""

    @wraps(fn)
    def tracked(self: Any, mutex: Any, *args: Any, **kwargs: Any) -> Any:
        if _busy.get():
            return fn(self, mutex, *args, **kwargs)
        _local.relock_failed = False
        try:
            return fn(self, mutex, *args, **kwargs)
        finally:
            if not _local.relock_failed and mutex.is_locked() and not _holds(mutex._key):
                _acquired(mutex._key, mutex)

    return tracked


def _once_running(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def tracked(self: Any, ignore_poison: bool, call: Callable[..., Any]) -> Any:
        def running(*args: Any) -> Any:
            _acquired(self._key, self)
            try:
                return call(*args)
            finally:
                _released(self._key, exclusive=True)

        owner = current_owner()
        if type(owner) is int:
            return fn(self, ignore_poison, running)
        return _as_task_wait(owner, fn, self, (ignore_poison, running), {})  # a task waiting for another's run

    return tracked


#: The declared protocols of their own (``special(...)`` in the lock modules).
_SPECIAL: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "reentrant acquires": _rlock_acquiring,
    "reentrant releases": _rlock_releasing,
    "condvar wait": _condvar_waiting,
    "once call": _once_running,
}


_originals: list[tuple[type, str, Any]] = []
_enable_lock = _thread.allocate_lock()


def enable() -> None:
    """Start tracking lock ownership (locks already held now are not known to the detector).

    A lock module imported later (``parking_lot.aio``) is tracked from its import on.
    """
    with _enable_lock:
        if _originals:
            return
        for cls, methods in list(_tracking.DECLARED):
            _wrap_declared(cls, methods)


def _wrap_declared(cls: type, methods: dict[str, Tracked]) -> None:
    """Install the recording wrappers of one declaration (with ``_enable_lock`` held)."""
    for name, spec in methods.items():
        if spec is TRANSPARENT or any(c is cls and n == name for c, n, _ in _originals):
            continue
        make = _wrapper(spec)  # (declare() checked that cls defines the method)
        _originals.append((cls, name, cls.__dict__[name]))
        setattr(cls, name, make(cls.__dict__[name]))


def _declared_late(cls: type, methods: dict[str, Tracked]) -> None:
    """A declaration made while detection is on (its module imported after enable()): apply it now.

    Else the module's locks would be half tracked: the raw calls they make inside recorded,
    their own releases not, and holds that never end would show as false cycles.
    """
    with _enable_lock:
        if _originals:
            _wrap_declared(cls, methods)


_tracking.DECLARE_HOOKS.append(_declared_late)


def _restore_originals() -> None:
    """Put every patched method back (enable lock held; a function of its own for the reason
    ``_forget_key_locked`` gives)."""
    while _originals:
        cls, name, original = _originals.pop()
        setattr(cls, name, original)


def disable() -> None:
    """Stop tracking: the original methods come back; what was recorded is forgotten."""
    with _enable_lock:
        _restore_originals()
        with _records.lock:
            _records.held.clear()
            _records.objects.clear()
            _records.upgraders.clear()
            _records.ended_threads.clear()
            _records.dropped_locks.clear()
            _records.task_refs.clear()


def is_enabled() -> bool:
    """Whether ownership is being tracked."""
    return bool(_originals)


# --- detection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LockInfo:
    """A lock in a report: its key in the parking lot, Python type and repr.

    >>> str(LockInfo(0x10, "Mutex", "<Mutex locked>"))
    'Mutex at 0x10: <Mutex locked>'
    """

    key: int
    type_name: str
    description: str

    def __str__(self) -> str:
        return f"{self.type_name} at {self.key:#x}: {self.description}"


@dataclass(frozen=True)
class ThreadReport:
    """One thread, or one asyncio or trio task, of a deadlock cycle.

    For a task, ``ident`` is ``id()`` of the task (its node in the graph, what
    :func:`break_deadlock` takes), ``name`` the task's name, ``loop_thread`` the ident
    of the thread running its loop and ``stack`` its coroutine stack (the awaits
    from the task's coroutine down to the wait); for a thread ``loop_thread`` is None.
    A task that waits in a *blocking* call (``lock()`` inside a coroutine) parks its
    loop's thread: ``blocking`` is True and ``stack`` is that thread's stack.

    >>> a, b = LockInfo(0x10, "Mutex", "<a>"), LockInfo(0x20, "Mutex", "<b>")
    >>> print(ThreadReport(1, "worker", a, (b,), False, "  File ...\\n").__str__().splitlines()[1])
      waits for: Mutex at 0x10: <a>
    >>> print(ThreadReport(9, "fetch", a, (b,), False, "", loop_thread=1).__str__().splitlines()[0])
    Task 'fetch' (id 9, its loop on thread 1)
    >>> print(ThreadReport(9, "fetch", a, (b,), False, "", loop_thread=1, blocking=True).__str__().splitlines()[0])
    Task 'fetch' (id 9, in a blocking call that parks its loop's thread 1)
    """

    ident: int
    name: str
    waiting_for: LockInfo
    holding: tuple[LockInfo, ...]
    timed: bool
    stack: str
    loop_thread: int | None = None
    blocking: bool = False

    @property
    def is_task(self) -> bool:
        """Whether this is an asyncio or trio task (else a thread)."""
        return self.loop_thread is not None

    def __str__(self) -> str:
        timed = " (timed wait: may still give up by itself)" if self.timed else ""
        held = ", ".join(str(lock) for lock in self.holding) or "nothing"
        if self.blocking:
            who = f"Task {self.name!r} (id {self.ident}, in a blocking call that parks its loop's thread {self.loop_thread})"
            stack = "its loop's thread's stack (most recent call last)"
        elif self.loop_thread is not None:
            who = f"Task {self.name!r} (id {self.ident}, its loop on thread {self.loop_thread})"
            stack = "coroutine stack (outermost first)"
        else:
            who, stack = f"Thread {self.name!r} (id {self.ident})", "stack (most recent call last)"
        return (
            f"{who}{timed}\n"
            f"  waits for: {self.waiting_for}\n"
            f"  holds:     {held}\n"
            f"  {stack}:\n{self.stack}"
        )


@dataclass(frozen=True)
class Cycle:
    """Threads and tasks each waiting for a lock the next one holds (the last waits for the first's).

    >>> a, b = LockInfo(0x10, "Mutex", "<a>"), LockInfo(0x20, "Mutex", "<b>")
    >>> cycle = Cycle((ThreadReport(1, "t1", a, (b,), False, ""), ThreadReport(2, "t2", b, (a,), True, "")))
    >>> str(cycle).splitlines()[0], sorted(cycle.idents)
    ('Deadlock: 2 thread(s) in a cycle', [1, 2])
    """

    threads: tuple[ThreadReport, ...] = field(default_factory=tuple)

    @property
    def idents(self) -> frozenset[int]:
        """The ``threading.get_ident()`` values of the threads in the cycle, ``id()`` of its tasks."""
        return frozenset(report.ident for report in self.threads)

    def __str__(self) -> str:
        header = f"Deadlock: {len(self.threads)} thread(s) in a cycle"
        return "\n".join([header, *(str(report) for report in self.threads)])


def _snapshot(consistent: bool) -> tuple[tuple[ParkedThread, ...], Ownership, dict[int, object]]:
    """Who is parked on which key, who holds what, and which parked threads wait for a task.

    The consistent form reads the records while the core holds every bucket
    (:func:`~parking_lot.core.parked_threads_frozen`), so that no thread can leave
    a queue and record the lock it got in between (which would show it holding
    the lock it waits for).
    """
    if consistent:
        try:
            with parked_threads_frozen() as parked:
                return parked, ownership(), dict(_blocking_tasks)
        except BaseException:
            release_all_held(_core_state.table)  # an interrupt between __enter__ and the block (CPython 3.14)
            raise
    return parked_threads(), ownership(), dict(_blocking_tasks)


def _resource_of(key: int) -> int | None:
    """The tracked lock a thread parked on *key* waits for (None: a condvar, event, ...)."""
    objects = _records.objects
    if key in objects:
        return key
    ref = objects.get(key - 1)
    if ref is not None and isinstance(ref(), (RawRwLock, RwLock)):  # whichever recorded it first
        return key - 1  # a writer waiting for the readers to leave
    return None


def _raw_rwlock(key: int) -> RawRwLock | None:
    """The RawRwLock recorded under *key* (that of an RwLock, for one), else None."""
    ref = _records.objects.get(key)
    obj = ref() if ref is not None else None
    if isinstance(obj, RwLock):
        return obj._raw
    return obj if isinstance(obj, RawRwLock) else None


def _describe(key: int) -> LockInfo:
    ref = _records.objects.get(key)
    obj = ref() if ref is not None else None
    if obj is None:
        return LockInfo(key, "<gone>", f"key {key:#x}")
    try:
        description = repr(obj)
    except Exception as exc:  # a repr must not stop the report
        description = f"<repr failed: {exc!r}>"
    return LockInfo(key, type(obj).__qualname__, description)


def _find_cycles(edges: dict[int, set[int]]) -> list[list[int]]:
    """One cycle per strongly connected component that has one (Tarjan's algorithm)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    counter = [0]

    def visit(node: int) -> None:  # recursion depth is bounded by the number of parked threads
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    cycles = []
    for component in components:
        members = set(component)
        start = min(component)
        path, seen, node = [start], {start}, start
        while True:  # walk inside the component until the walk closes
            # In a component of two or more every member reaches another: never walk a self-loop.
            node = min((n for n in edges[node] if n in members and (n != node or len(members) == 1)))
            if node in seen:
                cycles.append(path[path.index(node):])
                break
            path.append(node)
            seen.add(node)
    return cycles


def _node(entry: ParkedThread, blocking: dict[int, object]) -> int:
    """A parked thread's node in the wait-for graph: its ident; a task's: ``id()`` of the task.

    A task is a node of its own, not its loop's thread, which runs other tasks meanwhile
    (the records name a task's holds the same way: _tracking.owner_key).  A thread parked
    in a blocking call that a task made (*blocking*: :data:`_blocking_tasks`) is that task's
    node: the task is what waits, and what it holds is recorded for it.
    """
    if entry.task is not None:
        return id(entry.task)
    task = blocking.get(entry.ident)
    return entry.ident if task is None else id(task)


def _parked_for_tasks(parked: tuple[ParkedThread, ...], blocking: dict[int, object]) -> dict[int, int]:
    """Thread ident -> the node of the task whose blocking call parks that thread.

    What the thread itself holds (taken outside any task, before it ran the loop) waits
    with it: in the graph those holds are the task's node's too.
    """
    return {entry.ident: id(blocking[entry.ident]) for entry in parked
            if entry.task is None and entry.ident in blocking}


def _cycles_from(
    parked: tuple[ParkedThread, ...], owned: Ownership, blocking: dict[int, object]
) -> tuple[list[list[int]], dict[int, ParkedThread]]:
    held, upgraders = owned.held, owned.upgradable
    by_thread = {_node(entry, blocking): entry for entry in parked}
    merged = _parked_for_tasks(parked, blocking)
    if merged:
        upgraders = frozenset((merged.get(owner, owner), key) for owner, key in upgraders)
    holders: dict[int, set[int]] = {}
    for ident, keys in held.items():
        for key in keys:
            holders.setdefault(key, set()).add(merged.get(ident, ident))
    edges: dict[int, set[int]] = {}
    for entry in parked:
        resource = _resource_of(entry.key)
        if resource is None:
            continue
        node = _node(entry, blocking)
        blockers = {ident for ident in holders.get(resource, ()) if ident in by_thread}
        if entry.key != resource and (node, resource) in upgraders:
            blockers.discard(node)  # an upgrade waits for the *other* readers
        raw = _raw_rwlock(resource) if entry.key == resource else None
        if raw is not None:
            # On an RwLock's main queue.  A writer parked on key + 1 already holds the WRITER
            # bit (it waits for the readers to leave) and keeps every new reader out ...
            writers = {_node(other, blocking) for other in parked if other.key == resource + 1}
            blockers |= writers
            # ... and the waiter's own read hold blocks its request only if the request is
            # exclusive, or upgradable while it holds the upgradable lock, or it is the writer
            # (the park token says what it asks for: raw/rwlock.py's TOKEN_*).
            if node in blockers and not (
                entry.park_token == TOKEN_EXCLUSIVE
                or (entry.park_token == TOKEN_UPGRADABLE and (node, resource) in upgraders)
                or (not writers and raw.is_locked_exclusive())
            ):
                blockers.discard(node)
        if blockers:
            edges[node] = blockers
    return _find_cycles(edges), by_thread


def check_deadlock() -> list[Cycle]:
    """Every deadlock cycle among the threads and tasks parked right now, each reported once.

    Needs :func:`enable` (without it nothing is tracked and nothing is found).
    The threads are left exactly as they were.
    """
    if not is_enabled():
        return []
    cycles, _ = _cycles_from(*_snapshot(False))
    if not cycles:
        return []  # a deadlock does not change: the quick pass cannot miss one for long
    parked, owned, blocking = _snapshot(True)
    cycles, by_thread = _cycles_from(parked, owned, blocking)
    held = owned.held
    frames = sys._current_frames()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    reports = []
    for cycle in cycles:
        threads = []
        for ident in cycle:
            entry = by_thread[ident]
            resource = _resource_of(entry.key)
            blocked_loop = entry.task is None and ident != entry.ident  # a task's blocking call
            holds = held.get(ident, {})
            if blocked_loop:
                task = blocking[entry.ident]
                name, stack, loop_thread = _task_name(task), _format_stack(frames.get(entry.ident)), entry.ident
                holds = {**held.get(entry.ident, {}), **holds}  # its thread's own holds wait with it
            elif entry.task is None:
                name, stack, loop_thread = names.get(ident, f"<thread {ident}>"), _format_stack(frames.get(ident)), None
            else:
                name, stack, loop_thread = _task_name(entry.task), _format_task_stack(entry.task), entry.ident
            threads.append(
                ThreadReport(
                    ident=ident,
                    name=name,
                    waiting_for=_describe(resource if resource is not None else entry.key),
                    holding=tuple(_describe(key) for key in sorted(holds)),
                    timed=entry.timed,
                    stack=stack,
                    loop_thread=loop_thread,
                    blocking=blocked_loop,
                )
            )
        reports.append(Cycle(tuple(threads)))
    return reports


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _format_stack(frame: Any) -> str:
    """The thread's Python stack, traceback style, ending at the caller's line (our frames cut)."""
    if frame is None:
        return "  <no frame>\n"
    summary = traceback.extract_stack(frame)
    while len(summary) > 1 and os.path.abspath(summary[-1].filename).startswith(_PACKAGE_DIR + os.sep):
        summary.pop()
    return "".join(summary.format())


def _task_name(task: Any) -> str:
    """An asyncio task's ``get_name()``, a trio task's ``name``."""
    get_name = getattr(task, "get_name", None)
    name = get_name() if callable(get_name) else getattr(task, "name", None)
    return str(name) if name is not None else repr(task)


def _format_task_stack(task: Any) -> str:
    """A task's coroutine stack: from its coroutine down the chain of awaits, our frames cut.

    Walks ``cr_await`` (``gi_yieldfrom`` for a generator-based one, ``ag_await``) from the
    task's coroutine (asyncio's ``get_coro()``, trio's ``coro``); each frame is shown at
    the line where it awaits.
    """
    get_coro = getattr(task, "get_coro", None)
    awaitable = get_coro() if callable(get_coro) else getattr(task, "coro", None)
    frames = []
    for _ in range(1000):  # a bound, in case of a cycle of awaitables
        frame = None
        for frame_name in ("cr_frame", "gi_frame", "ag_frame"):
            frame = getattr(awaitable, frame_name, None)
            if frame is not None:
                break
        if frame is None:
            break
        frames.append((frame, frame.f_lineno))
        awaitable = next(
            (getattr(awaitable, name) for name in ("cr_await", "gi_yieldfrom", "ag_await") if hasattr(awaitable, name)),
            None,
        )
    summary = traceback.StackSummary.extract(frames)
    while len(summary) > 1 and os.path.abspath(summary[-1].filename).startswith(_PACKAGE_DIR + os.sep):
        summary.pop()
    return "".join(summary.format()) if frames else "  <no coroutine frame>\n"


def break_deadlock(cycle: Cycle, ident: int | None = None) -> bool:
    """Raise DeadlockError in one thread or task of *cycle* (*ident*, or the first), from its acquire.

    The thread leaves the lock's queue as a timed-out acquire would, so the lock's
    state stays right; the exception propagates from its ``lock()``/``acquire()``
    and, as it unwinds, its ``with`` blocks release what it held.  A task is resumed
    (without blocking) and the exception raised from its wait the same way; a task in a
    blocking call (``ThreadReport.blocking``) gets it from that call, its loop's thread
    leaving the queue as a thread does.  False if that thread or task was no longer parked.
    """
    chosen = ident if ident is not None else cycle.threads[0].ident
    if chosen not in cycle.idents:
        raise ValueError(f"thread {chosen} is not in this cycle")
    report = next(r for r in cycle.threads if r.ident == chosen)
    who = "task" if report.is_task else "thread"
    parked = report.loop_thread if report.blocking else chosen  # a task's blocking call parks its thread
    assert parked is not None
    return cancel_park(parked, DeadlockError(f"deadlock broken: this {who} waited for {report.waiting_for}"))


# --- the background detector -------------------------------------------------------------

_detector: threading.Thread | None = None
_detector_stop: threading.Event | None = None


def _log_report(cycles: list[Cycle]) -> None:
    for cycle in cycles:
        _log.error("%s", cycle)


def start_detector(
    interval: float = 1.0,
    on_deadlock: Callable[[list[Cycle]], object] | None = None,
    break_cycles: bool = False,
) -> None:
    """Check every *interval* seconds in a daemon thread (and enable tracking).

    New cycles go to *on_deadlock* (default: logged at ERROR on the
    ``parking_lot.deadlock`` logger).  With *break_cycles*, each new cycle is then
    broken with :func:`break_deadlock`.
    """
    global _detector, _detector_stop
    if not interval > 0:
        raise ValueError(f"interval must be > 0, got {interval!r}")
    stop_detector()
    enable()
    stop = threading.Event()
    handler = on_deadlock if on_deadlock is not None else _log_report

    def run() -> None:
        seen: set[frozenset[int]] = set()
        while not stop.wait(interval):
            try:
                cycles = check_deadlock()
                new = [cycle for cycle in cycles if cycle.idents not in seen]
                seen = {cycle.idents for cycle in cycles}
                if new:
                    handler(new)
                if break_cycles:  # every cycle still there, also one a break missed last time
                    for cycle in cycles:
                        break_deadlock(cycle)
            except Exception:  # the detector must outlive a failing handler
                _log.exception("deadlock detector: check or handler failed")

    _detector_stop = stop
    _detector = threading.Thread(target=run, name="parking_lot deadlock detector", daemon=True)
    _detector.start()


def stop_detector(timeout: float | None = 10.0) -> None:
    """Stop the background detector (tracking stays enabled until :func:`disable`)."""
    global _detector, _detector_stop
    if _detector_stop is not None:
        _detector_stop.set()
    if _detector is not None and _detector.ident != threading.get_ident():
        _detector.join(timeout)
    _detector = _detector_stop = None


# --- fork --------------------------------------------------------------------------------


def _after_fork_in_child() -> None:
    """Only the forking thread lives on in the child: new locks, and only its records.

    The parent's other threads may have held either lock at the moment of the fork
    (the records' lock is taken on every tracked acquire and release); they will
    never release it in the child.  Their records go (their idents may be given to
    the child's new threads), and so does the background detector's thread.
    """
    global _enable_lock, _detector, _detector_stop
    _enable_lock = _thread.allocate_lock()
    records = _records
    records.lock = _thread.allocate_lock()
    me = _thread.get_ident()
    for ident in [ident for ident in records.held if ident != me]:
        del records.held[ident]  # (tasks' too: the parent's event loops do not run in the child)
    records.task_refs.clear()
    for entry in [entry for entry in records.upgraders if entry[0] != me]:
        records.upgraders.discard(entry)
    _detector = _detector_stop = None  # (tracking stays enabled; start_detector() starts a new one)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


if os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on"):
    enable()
