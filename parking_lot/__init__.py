"""parking_lot: Rust's parking lot for Python, on the OS wait primitives through cffi.

The locks users touch are importable from here:

* ``Mutex``, ``FairMutex``, ``ReentrantMutex``, ``RwLock`` (data-owning, with
  guards), ``Condvar`` and ``Once`` -- the port of Rust's ``parking_lot`` crate;
* ``Lock``, ``RLock``, ``Condition``, ``Semaphore``, ``BoundedSemaphore``,
  ``Event``, ``Barrier`` -- drop-ins for ``threading``'s (``parking_lot.compat``).

``parking_lot.core`` is the parking lot itself (``park`` / ``unpark_one`` /
``unpark_all`` / ``unpark_requeue`` / ``unpark_filter`` on integer keys);
``parking_lot.raw`` the raw locks without data; ``parking_lot.thread_parker`` the
per-OS backends the lot sleeps on (futex, NT keyed events, WaitOnAddress, a
portable one).  ``python -m parking_lot info`` says which backend this machine uses.

>>> from parking_lot import Mutex
>>> counter = Mutex(0)
>>> with counter.lock() as guard:
...     guard.value += 1
>>> with counter.lock() as guard:
...     guard.value
1
"""

__version__ = "0.1.0.dev0"

from .compat import Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, RLock, Semaphore
from .condvar import Condvar, WaitTimeoutResult
from .mutex import FairMutex, Mutex, MutexGuard
from .raw.once import Once, OnceState, PoisonError
from .reentrant_mutex import ReentrantMutex
from .rwlock import ReadGuard, RwLock, UpgradableReadGuard, WriteGuard

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Condvar",
    "Event",
    "FairMutex",
    "Lock",
    "Mutex",
    "MutexGuard",
    "Once",
    "OnceState",
    "PoisonError",
    "RLock",
    "ReadGuard",
    "ReentrantMutex",
    "RwLock",
    "Semaphore",
    "UpgradableReadGuard",
    "WaitTimeoutResult",
    "WriteGuard",
    "__version__",
]

import os as _os

if _os.environ.get("PARKING_LOT_DEADLOCK_DETECTION", "").strip():
    from . import deadlock as _deadlock  # noqa: F401  (enables tracking at import when the variable says so)
del _os
