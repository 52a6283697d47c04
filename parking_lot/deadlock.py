"""Deadlock detection for every lock of this library, reported with Python stack traces.

Opt-in, as in Rust's parking_lot (its ``deadlock_detection`` feature):

    import parking_lot.deadlock
    parking_lot.deadlock.enable()          # or PARKING_LOT_DEADLOCK_DETECTION=1
    ...
    for cycle in parking_lot.deadlock.check_deadlock():
        print(cycle)

Zero cost when off: ``enable()`` swaps the acquire and release methods of the
lock classes for recording versions, ``disable()`` puts the originals back, so a
program that never enables it runs exactly the code it would run without this
module.

*Resource tracking* (as parking_lot's): every acquire records the lock's key on
the acquiring thread, every release removes it.  Mutex, FairMutex, RawMutex,
ReentrantMutex (through its inner raw mutex), RwLock in each mode (a writer
waiting for readers parks on the second key, ``id + 1``, and is counted as
waiting for the lock), Once (the thread running the function holds it),
compat's Lock and RLock, and the Condvar/Condition waits (a waiting thread holds
nothing; it holds the mutex again when it returns) all take part.

*Detection*: the wait-for graph -- parked thread -> the lock its key belongs to
-> the threads holding that lock -- is built from the parking lot's buckets, first
in a quick pass without locks and, if that finds a cycle, again with every
bucket locked so that the picture is consistent.  Each cycle is reported once,
with every thread's id, name, the lock it waits for, the locks it holds (Python
type and repr) and its Python stack.  Unlike parking_lot, threads in a *timed*
wait are included (flagged: their cycle may resolve by itself), and reporting
changes nothing: the threads keep waiting as they were.

``break_deadlock(cycle)`` makes one thread of the cycle raise DeadlockError from
its acquire, which gives up cleanly, as a timeout would, so the others can go on.
"""

from __future__ import annotations

import _thread
import logging
import os
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from . import compat
from .core import cancel_park
from .core._hashtable import state
from .mutex import Mutex, MutexGuard
from .raw.condvar import Condvar
from .raw.mutex import RawFairMutex, RawMutex
from .raw.once import Once
from .raw.rwlock import RawRwLock
from .rwlock import ReadGuard, RwLock

__all__ = [
    "Cycle",
    "DeadlockError",
    "LockInfo",
    "ThreadReport",
    "break_deadlock",
    "check_deadlock",
    "disable",
    "enable",
    "is_enabled",
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

_track_lock = _thread.allocate_lock()
#: thread ident -> {key: times held}
_held: dict[int, dict[int, int]] = {}
#: key -> the lock object (weakly), for the report
_objects: dict[int, weakref.ref[Any]] = {}


class _ThreadRecords:
    """Kept in the thread's local storage: when the thread ends, its records go too.

    (Otherwise a thread that ended holding a lock would haunt the next thread that
    is given the same ident.)
    """

    __slots__ = ("ident", "keys", "_lock", "_held")

    def __init__(self, ident: int, keys: dict[int, int]) -> None:
        self.ident = ident
        self.keys = keys
        # Kept here: at interpreter exit the module's globals may already be gone.
        self._lock = _track_lock
        self._held = _held

    def __del__(self) -> None:
        with self._lock:
            if self._held.get(self.ident) is self.keys:
                del self._held[self.ident]


def _forget_object(key: int) -> Callable[[object], None]:
    def forget(ref: object) -> None:
        if _objects.get(key) is ref:
            del _objects[key]

    return forget


def _acquired(key: int, obj: object) -> None:
    me = _thread.get_ident()
    new_keys = None
    with _track_lock:
        keys = _held.get(me)
        if keys is None:
            keys = new_keys = _held[me] = {}
        keys[key] = keys.get(key, 0) + 1
        ref = _objects.get(key)
        if ref is None or ref() is None:
            try:
                _objects[key] = weakref.ref(obj, _forget_object(key))
            except TypeError:
                pass
    if new_keys is not None:
        _local.records = _ThreadRecords(me, new_keys)  # outside the lock: a replaced one's __del__ takes it


def _released(key: int) -> None:
    me = _thread.get_ident()
    with _track_lock:
        keys = _held.get(me)
        if keys is None or key not in keys:
            # Released by another thread than the one that locked it (allowed for
            # RawMutex and Lock): take it off whoever holds it.
            keys = next((held for held in _held.values() if key in held), None)
            if keys is None:
                return
        count = keys[key] - 1
        if count:
            keys[key] = count
        else:
            del keys[key]


def _holds(key: int) -> bool:
    with _track_lock:
        return key in _held.get(_thread.get_ident(), ())


#: (thread ident, RwLock key) for every upgradable read lock held: an upgrader waiting for
#: the readers to leave waits for the *other* readers, not for itself.
_upgraders: set[tuple[int, int]] = set()

Held = dict[int, dict[int, int]]


def _snapshot_held() -> tuple[Held, frozenset[tuple[int, int]]]:
    with _track_lock:
        return {ident: dict(keys) for ident, keys in _held.items() if keys}, frozenset(_upgraders)


def _mark_upgradable(key: int, holds: bool) -> None:
    with _track_lock:
        if holds:
            _upgraders.add((_thread.get_ident(), key))
        else:
            _upgraders.discard((_thread.get_ident(), key))


# --- the patches -----------------------------------------------------------------------------

_ALWAYS = "always"  # the call acquires unless it raises
_IF_TRUE = "if-true"  # acquires when the result is true / not None


_local = threading.local()  # .busy: inside a tracked call (nested calls do not record again)


def _quietly(fn: Callable[..., Any], self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call *fn* with recording off for the calls it makes (they are part of this one)."""
    _local.busy = True
    try:
        return fn(self, *args, **kwargs)
    finally:
        _local.busy = False


def _acquiring(
    fn: Callable[..., Any], key_of: Callable[[Any], int], when: str, upgradable: bool = False
) -> Callable[..., Any]:
    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "busy", False):
            return fn(self, *args, **kwargs)
        result = _quietly(fn, self, args, kwargs)
        if when == _ALWAYS or (result is not None and result is not False):
            _acquired(key_of(self), self)
            if upgradable:
                _mark_upgradable(key_of(self), True)
        return result

    return tracked


def _releasing(fn: Callable[..., Any], key_of: Callable[[Any], int], upgradable: bool = False) -> Callable[..., Any]:
    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "busy", False):
            return fn(self, *args, **kwargs)
        # Forget it first: once really released, another thread may take and record it.
        if upgradable:
            _mark_upgradable(key_of(self), False)
        _released(key_of(self))
        return _quietly(fn, self, args, kwargs)

    return tracked


def _plan() -> list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]]:
    """(class, method name, wrapper maker) for every method that acquires or releases."""
    def own(obj: Any) -> int:
        return int(obj._key)

    def raw_key(obj: Any) -> int:  # Mutex, MutexGuard, RwLock: the key of the raw lock inside
        return int(obj._raw._key)

    def rlock(obj: Any) -> int:
        return id(obj._mutex)

    def read_guard(obj: Any) -> int:
        lock = obj._lock
        return int(lock._raw._key) if lock is not None else 0

    def acq(key_of: Callable[[Any], int], when: str = _ALWAYS) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return lambda fn: _acquiring(fn, key_of, when)

    def rel(key_of: Callable[[Any], int]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return lambda fn: _releasing(fn, key_of)

    plan: list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = []
    for name in ("lock", "__enter__"):
        plan.append((RawMutex, name, acq(own)))
    for name in ("try_lock", "try_lock_for", "try_lock_until"):
        plan.append((RawMutex, name, acq(own, _IF_TRUE)))
    for name in ("unlock", "unlock_fair", "__exit__"):
        plan.append((RawMutex, name, rel(own)))
    plan.append((RawFairMutex, "unlock", rel(own)))
    plan.append((Mutex, "lock", acq(raw_key)))
    for name in ("try_lock", "try_lock_for", "try_lock_until"):
        plan.append((Mutex, name, acq(raw_key, _IF_TRUE)))
    for name in ("__exit__", "unlock", "unlock_fair"):
        plan.append((MutexGuard, name, rel(raw_key)))
    # (Nested calls, e.g. Mutex.try_lock -> RawMutex.try_lock, record once: see _local.busy.)
    # RwLock: every mode on the one key; upgrades and downgrades keep holding it.
    for name in ("lock_shared", "lock_shared_recursive", "lock_exclusive"):
        plan.append((RawRwLock, name, acq(own)))
    plan.append((RawRwLock, "lock_upgradable", lambda fn: _acquiring(fn, own, _ALWAYS, upgradable=True)))
    for name in ("try_lock_upgradable", "try_lock_upgradable_for", "try_lock_upgradable_until"):
        plan.append((RawRwLock, name, lambda fn: _acquiring(fn, own, _IF_TRUE, upgradable=True)))
    for name in ("unlock_upgradable", "unlock_upgradable_fair"):
        plan.append((RawRwLock, name, lambda fn: _releasing(fn, own, upgradable=True)))
    for name in ("upgrade", "try_upgrade", "try_upgrade_for", "try_upgrade_until", "downgrade_upgradable"):
        plan.append((RawRwLock, name, _upgradable_ended))
    for name in (
        "try_lock_shared", "try_lock_shared_for", "try_lock_shared_until", "try_lock_shared_recursive",
        "try_lock_exclusive", "try_lock_exclusive_for", "try_lock_exclusive_until",
    ):
        if hasattr(RawRwLock, name):
            plan.append((RawRwLock, name, acq(own, _IF_TRUE)))
    for name in (
        "unlock_shared", "unlock_shared_fair", "unlock_exclusive", "unlock_exclusive_fair",
    ):
        if hasattr(RawRwLock, name):
            plan.append((RawRwLock, name, rel(own)))
    plan.append((RwLock, "read", acq(raw_key)))
    plan.append((ReadGuard, "__exit__", rel(read_guard)))
    # compat: Lock inlines its fast paths, RLock keeps owner and count itself.
    for name in ("acquire",):
        plan.append((compat.Lock, name, acq(own, _IF_TRUE)))
    plan.append((compat.Lock, "__enter__", acq(own)))
    for name in ("release", "__exit__"):
        plan.append((compat.Lock, name, rel(own)))
    plan.append((compat.RLock, "acquire", _rlock_acquiring))
    plan.append((compat.RLock, "__enter__", _rlock_acquiring))
    plan.append((compat.RLock, "release", _rlock_releasing))
    plan.append((compat.RLock, "__exit__", _rlock_releasing))
    plan.append((compat.RLock, "_release_save", rel(rlock)))
    plan.append((compat.RLock, "_acquire_restore", acq(rlock)))
    # Waits: a thread waiting holds nothing, and holds the mutex again afterwards,
    # also when it was handed over without a lock() call.
    plan.append((Condvar, "wait_raw", _condvar_waiting))
    plan.append((Once, "_call_slow", _once_running))
    return plan


def _upgradable_ended(fn: Callable[..., Any]) -> Callable[..., Any]:
    """upgrade/downgrade_upgradable: the lock stays held, no longer as the upgradable read."""

    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = fn(self, *args, **kwargs)
        if result is not False:
            _mark_upgradable(int(self._key), False)
        return result

    return tracked


def _rlock_acquiring(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        had = self._count
        result = _quietly(fn, self, args, kwargs)
        if had == 0 and self._count == 1 and self._owner == _thread.get_ident():
            _acquired(id(self._mutex), self)
        return result

    return tracked


def _rlock_releasing(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def tracked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._count == 1 and self._owner == _thread.get_ident():
            _released(id(self._mutex))
        return _quietly(fn, self, args, kwargs)

    return tracked


def _condvar_waiting(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def tracked(self: Any, mutex: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, mutex, *args, **kwargs)
        finally:
            if not _holds(mutex._key):  # handed over (no lock() call recorded it)
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
                _released(self._key)

        return fn(self, ignore_poison, running)

    return tracked


_originals: list[tuple[type, str, Any]] = []
_enable_lock = threading.Lock()


def enable() -> None:
    """Start tracking lock ownership (locks already held now are not known to the detector)."""
    with _enable_lock:
        if _originals:
            return
        for cls, name, make in _plan():
            original = cls.__dict__.get(name)
            if original is None:  # inherited: patch where it is defined, once
                continue
            _originals.append((cls, name, original))
            setattr(cls, name, make(original))


def disable() -> None:
    """Stop tracking: the original methods come back; what was recorded is forgotten."""
    with _enable_lock:
        while _originals:
            cls, name, original = _originals.pop()
            setattr(cls, name, original)
        with _track_lock:
            _held.clear()
            _objects.clear()
            _upgraders.clear()


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
    """One thread of a deadlock cycle.

    >>> a, b = LockInfo(0x10, "Mutex", "<a>"), LockInfo(0x20, "Mutex", "<b>")
    >>> print(ThreadReport(1, "worker", a, (b,), False, "  File ...\\n").__str__().splitlines()[1])
      waits for: Mutex at 0x10: <a>
    """

    ident: int
    name: str
    waiting_for: LockInfo
    holding: tuple[LockInfo, ...]
    timed: bool
    stack: str

    def __str__(self) -> str:
        timed = " (timed wait: may still give up by itself)" if self.timed else ""
        held = ", ".join(str(lock) for lock in self.holding) or "nothing"
        return (
            f"Thread {self.name!r} (id {self.ident}){timed}\n"
            f"  waits for: {self.waiting_for}\n"
            f"  holds:     {held}\n"
            f"  stack (most recent call last):\n{self.stack}"
        )


@dataclass(frozen=True)
class Cycle:
    """Threads each waiting for a lock the next one holds (the last waits for the first's).

    >>> a, b = LockInfo(0x10, "Mutex", "<a>"), LockInfo(0x20, "Mutex", "<b>")
    >>> cycle = Cycle((ThreadReport(1, "t1", a, (b,), False, ""), ThreadReport(2, "t2", b, (a,), True, "")))
    >>> str(cycle).splitlines()[0], sorted(cycle.idents)
    ('Deadlock: 2 thread(s) in a cycle', [1, 2])
    """

    threads: tuple[ThreadReport, ...] = field(default_factory=tuple)

    @property
    def idents(self) -> frozenset[int]:
        return frozenset(report.ident for report in self.threads)

    def __str__(self) -> str:
        header = f"Deadlock: {len(self.threads)} thread(s) in a cycle"
        return "\n".join([header, *(str(report) for report in self.threads)])


@dataclass(frozen=True)
class _Parked:
    ident: int
    key: int
    timed: bool


def _snapshot(consistent: bool) -> tuple[list[_Parked], tuple[Held, frozenset[tuple[int, int]]]]:
    """Who is parked on which key, and who holds what.

    The consistent form holds every bucket lock while it reads both, so that no
    thread can leave a queue and record the lock it got in between (which would
    show it holding the lock it waits for).
    """
    if consistent:
        with state.all_buckets_locked() as table:
            parked = [_Parked(t.ident, t.key, t.timed) for b in table.buckets for t in b.queue]
            return parked, _snapshot_held()
    table = state.table
    parked = [_Parked(t.ident, t.key, t.timed) for b in table.buckets for t in list(b.queue)]
    return parked, _snapshot_held()


def _resource_of(key: int) -> int | None:
    """The tracked lock a thread parked on *key* waits for (None: a condvar, event, ...)."""
    if key in _objects:
        return key
    ref = _objects.get(key - 1)
    if ref is not None and isinstance(ref(), (RawRwLock, RwLock)):  # whichever recorded it first
        return key - 1  # a writer waiting for the readers to leave
    return None


def _describe(key: int) -> LockInfo:
    ref = _objects.get(key)
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


def _cycles_from(
    parked: list[_Parked], ownership: tuple[Held, frozenset[tuple[int, int]]]
) -> tuple[list[list[int]], dict[int, _Parked]]:
    held, upgraders = ownership
    by_thread = {entry.ident: entry for entry in parked}
    holders: dict[int, set[int]] = {}
    for ident, keys in held.items():
        for key in keys:
            holders.setdefault(key, set()).add(ident)
    edges: dict[int, set[int]] = {}
    for entry in parked:
        resource = _resource_of(entry.key)
        if resource is None:
            continue
        blockers = {ident for ident in holders.get(resource, ()) if ident in by_thread}
        if entry.key != resource and (entry.ident, resource) in upgraders:
            blockers.discard(entry.ident)  # an upgrade waits for the *other* readers
        if blockers:
            edges[entry.ident] = blockers
    return _find_cycles(edges), by_thread


def check_deadlock() -> list[Cycle]:
    """Every deadlock cycle among the threads parked right now, each reported once.

    Needs :func:`enable` (without it nothing is tracked and nothing is found).
    The threads are left exactly as they were.
    """
    if not is_enabled():
        return []
    cycles, _ = _cycles_from(*_snapshot(False))
    if not cycles:
        return []  # a deadlock does not change: the quick pass cannot miss one for long
    parked, ownership = _snapshot(True)
    cycles, by_thread = _cycles_from(parked, ownership)
    held = ownership[0]
    frames = sys._current_frames()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    reports = []
    for cycle in cycles:
        threads = []
        for ident in cycle:
            entry = by_thread[ident]
            resource = _resource_of(entry.key)
            stack = _format_stack(frames.get(ident))
            threads.append(
                ThreadReport(
                    ident=ident,
                    name=names.get(ident, f"<thread {ident}>"),
                    waiting_for=_describe(resource if resource is not None else entry.key),
                    holding=tuple(_describe(key) for key in sorted(held.get(ident, {}))),
                    timed=entry.timed,
                    stack=stack,
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


def break_deadlock(cycle: Cycle, ident: int | None = None) -> bool:
    """Raise DeadlockError in one thread of *cycle* (*ident*, or the first), from its acquire.

    The thread leaves the lock's queue as a timed-out acquire would, so the lock's
    state stays right; the exception propagates from its ``lock()``/``acquire()``
    and, as it unwinds, its ``with`` blocks release what it held.  False if that
    thread was no longer parked.
    """
    chosen = ident if ident is not None else cycle.threads[0].ident
    if chosen not in cycle.idents:
        raise ValueError(f"thread {chosen} is not in this cycle")
    report = next(r for r in cycle.threads if r.ident == chosen)
    return cancel_park(chosen, DeadlockError(f"deadlock broken: this thread waited for {report.waiting_for}"))


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
    if _detector is not None and _detector is not threading.current_thread():
        _detector.join(timeout)
    _detector = _detector_stop = None


if os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on"):
    enable()
