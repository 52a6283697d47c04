"""What each lock method does to what its thread holds: the deadlock detector's bookkeeping, declared by the locks.

Rust's parking_lot has each lock call ``deadlock::acquire_resource`` and
``release_resource`` itself, compiled out unless the ``deadlock_detection``
feature is on.  Python has no such feature flag, and a check on every fast path
would cost every user.  So each lock module *declares*, next to the class that
defines the methods, what every public method does to what the calling thread
holds (:func:`declare`), and :func:`parking_lot.deadlock.enable` turns each
declaration into a recording wrapper around that very method (``disable()``
puts the originals back).  A program that never enables detection runs exactly
the methods as written: detection off costs nothing.

Nothing can be forgotten: ``tests/test_deadlock_tracking.py`` lists every public
method of every lock and guard class (and every class that defines one) and
fails if one is not declared, tracked or :data:`TRANSPARENT`; and ``enable()``
fails if a declared method is not defined on the class that declares it.

The kinds, by what the method does to the hold of the lock whose key ``key``
returns (the key the lock parks on; None: nothing to record):

=====================  ========================================================
``acquires``           holds it afterwards, unless it raises (``conditional``:
                       only when the result is true / not None)
``releases``           gives one hold back (``exclusive``: if the records do not
                       show this thread holding it, whoever they show does not
                       either -- a mutex may be unlocked by another thread)
``reacquires``         gives it back and takes it again (bump and its kind)
``changes_mode``       stays held, its upgradable mark set or cleared
``forgets``            the lock is made anew, free (``_at_fork_reinit``)
``special``            a protocol of its own, named (RLock's owner and count, a
                       Condvar wait's hand-over, Once's running function)
``TRANSPARENT``        every change it makes goes through declared methods, or
                       it changes nothing a thread holds (a query, a notify)
=====================  ========================================================

A class whose instances no thread holds (a semaphore, an event) is declared
:func:`ownerless` as a whole.

*Who holds it: a thread or a task.*  A hold is recorded for :func:`current_owner`:
the asyncio or trio task running in the calling thread, else the thread.  So a lock
a task takes is held by that task (not by its loop's thread, which runs other tasks
meanwhile), and a task's wait in ``park_async`` is its own node in the detector's
wait-for graph.  The awaitable twins of the lock methods are declared exactly like
the blocking ones, with the same kinds (``declare(RawMutex, lock_async=acquires(own_key))``):
``enable()`` wraps a coroutine function in a coroutine function that records after the
await (before it, for a release), for the task that awaited it (``acquires``,
``releases``, ``changes_mode`` and the reentrant protocol; other kinds are refused).  A
method that is no coroutine function but returns an awaitable that completes the
acquisition (an inlined ``__aenter__`` returning a done future) is declared
``acquires(..., awaited=True)``; a method that only hands out a pending acquisition whose
coroutine awaits declared methods is ``TRANSPARENT``.  Code that records by hand calls
``owner_key(current_owner())`` in the task or thread that takes or gives back the hold.
"""

from __future__ import annotations

import _thread
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parking_lot.core._park_async import _in_trio_task

_modules = sys.modules
_get_ident = _thread.get_ident
_running_loop = asyncio._get_running_loop
_current_task = asyncio.current_task

#: A lock's key in the parking lot, from the object the method is called on (None: nothing to record).
KeyOf = Callable[[Any], "int | None"]


@dataclass(frozen=True)
class Tracked:
    """One method's declared effect (see the module's table)."""

    kind: str
    key: KeyOf | None = None
    conditional: bool = False
    exclusive: bool = True
    upgradable: bool = False
    #: For ``changes_mode``: whether the thread holds the upgradable lock afterwards.
    holds_upgradable: bool = False
    #: For ``special``: the name of the protocol in :mod:`parking_lot.deadlock`.
    protocol: str = ""
    #: For ``acquires`` on a method that is not a coroutine function but returns an awaitable
    #: (``__aenter__`` returning a done future or a coroutine): the hold is taken when that
    #: awaitable completes, and recorded then, for the task that awaited it.
    awaited: bool = False
    #: For ``acquires``: the lock object the detector's reports name, when the method's object
    #: is not the lock (a pending acquisition's); None: the method's object.
    lock_of: Callable[[Any], object] | None = None


#: A method whose changes all go through declared methods, or that changes nothing held.
TRANSPARENT = Tracked("transparent")


def acquires(
    key: KeyOf, *, conditional: bool = False, upgradable: bool = False, awaited: bool = False,
    lock_of: Callable[[Any], object] | None = None,
) -> Tracked:
    """The method takes a hold of the lock (when its result is true, if *conditional*).

    *awaited*: the method is no coroutine function but returns an awaitable, and the hold
    is had (and recorded, for the awaiting task) when that completes.  A coroutine
    function needs no flag: it is recorded after its await.  *lock_of*: the lock object
    (for the reports) when the method's object is not the lock itself.
    """
    return Tracked("acquires", key, conditional=conditional, upgradable=upgradable, awaited=awaited, lock_of=lock_of)


def releases(key: KeyOf, *, exclusive: bool, upgradable: bool = False) -> Tracked:
    """The method gives one hold back (*exclusive*: the lock is free afterwards)."""
    return Tracked("releases", key, exclusive=exclusive, upgradable=upgradable)


def reacquires(key: KeyOf, *, exclusive: bool, upgradable: bool = False) -> Tracked:
    """The method lets the lock go and takes it back (not held while it waits to)."""
    return Tracked("reacquires", key, exclusive=exclusive, upgradable=upgradable)


def changes_mode(key: KeyOf, *, holds_upgradable: bool) -> Tracked:
    """The lock stays held in another mode (a try that returns False changes nothing)."""
    return Tracked("changes_mode", key, holds_upgradable=holds_upgradable)


def forgets(key: KeyOf) -> Tracked:
    """The lock is made anew and free: whoever held the old one holds nothing."""
    return Tracked("forgets", key)


def special(protocol: str) -> Tracked:
    """A protocol of its own, implemented in :mod:`parking_lot.deadlock` under *protocol*."""
    return Tracked("special", protocol=protocol)


#: (class, {method name: effect}) for every lock and guard class, in the order declared.
DECLARED: list[tuple[type, dict[str, Tracked]]] = []


def declare(cls: type, **methods: Tracked) -> None:
    """Declare what the methods *cls* defines do to what the calling thread holds.

    Each name must be defined in *cls* itself (an inherited method is declared
    by the class that defines it): ValueError otherwise.
    """
    for name in methods:
        if name not in cls.__dict__:
            raise ValueError(f"{cls.__qualname__}.{name} is not defined by {cls.__qualname__}")
    DECLARED.append((cls, dict(methods)))
    for hook in DECLARE_HOOKS:
        hook(cls, dict(methods))


#: Called with each declaration after it is recorded: :mod:`parking_lot.deadlock` applies one made
#: while detection is on (a lock module imported after ``enable()``, such as ``parking_lot.aio``).
DECLARE_HOOKS: list[Callable[[type, dict[str, Tracked]], None]] = []


#: Classes of primitives that no thread holds (semaphores, events, barriers): nothing of theirs is
#: tracked, and a thread parked on one waits for no one the detector could name.
OWNERLESS: list[type] = []


def ownerless(cls: type) -> None:
    """Declare that no thread ever holds an instance of *cls* (none of its methods is tracked)."""
    OWNERLESS.append(cls)


def own_key(lock: Any) -> int:
    """The key of a raw lock that parks on its own ``_key``."""
    return int(lock._key)


def current_owner() -> object:
    """Who a hold taken here and now belongs to: the running task, else this thread.

    The asyncio or trio task running in the calling thread (an ``asyncio.Task``, a
    ``trio.lowlevel.Task``: :func:`parking_lot.core.running_task`), else the calling
    thread's ident (an int, ``threading.get_ident()``).  Lock code that records holds
    itself calls it in the acquiring and the releasing code, and keys its records with
    :func:`owner_key`.  It is also the owner of a ``RawReentrantMutex`` (on its fast
    path: ``running_task()`` inlined, trio asked only when imported; never imports it).

    >>> import asyncio, threading
    >>> current_owner() == threading.get_ident()
    True
    >>> async def main():
    ...     return current_owner() is asyncio.current_task()
    >>> asyncio.run(main())
    True
    """
    if "trio" in _modules:  # (trio is asked only when imported: the common case pays one lookup)
        trio = _modules["trio"]
        if trio is not None and _in_trio_task(trio):
            task: object = trio.lowlevel.current_task()
            return task
    loop = _running_loop()
    if loop is not None:
        task = _current_task(loop)
        if task is not None:
            return task
    return _get_ident()


def owner_key(owner: object) -> int:
    """The int an owner is known by in the records: a thread's ident, or ``id()`` of a task.

    (A live task's ``id()`` is the address of its object, which no thread's ident shares.)
    """
    return owner if type(owner) is int else id(owner)
