"""Raw locks on the parking lot: no data, just the locking protocol (parking_lot's ``raw_*.rs``).

Each lock is keyed in the parking lot on its own ``id()``.
"""

from .condvar import Condvar, WaitTimeoutResult
from .mutex import TOKEN_HANDOFF, TOKEN_NORMAL, RawFairMutex, RawMutex
from .once import Once, OnceState, PoisonError
from .reentrant import RawReentrantMutex
from .rwlock import RawRwLock

__all__ = [
    "TOKEN_HANDOFF",
    "TOKEN_NORMAL",
    "Condvar",
    "Once",
    "OnceState",
    "PoisonError",
    "RawFairMutex",
    "RawMutex",
    "RawReentrantMutex",
    "RawRwLock",
    "WaitTimeoutResult",
]
