"""Raw locks on the parking lot: no data, just the locking protocol (parking_lot's ``raw_*.rs``).

Each lock is keyed in the parking lot on its own ``id()`` (or, kept inside a
``compat`` face, on the face's).
"""

from .barrier import BrokenBarrierError, RawBarrier
from .condvar import Condvar, WaitTimeoutResult
from .event import RawEvent
from .mutex import TOKEN_HANDOFF, TOKEN_NORMAL, RawFairMutex, RawMutex
from .once import Once, OnceState, PoisonError
from .reentrant import RawReentrantMutex
from .rwlock import RawRwLock
from .semaphore import RawSemaphore

__all__ = [
    "TOKEN_HANDOFF",
    "TOKEN_NORMAL",
    "BrokenBarrierError",
    "Condvar",
    "Once",
    "OnceState",
    "PoisonError",
    "RawBarrier",
    "RawEvent",
    "RawFairMutex",
    "RawMutex",
    "RawReentrantMutex",
    "RawRwLock",
    "RawSemaphore",
    "WaitTimeoutResult",
]
