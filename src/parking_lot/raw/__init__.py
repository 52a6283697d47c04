"""Raw locks on the parking lot: no data, just the locking protocol (parking_lot's ``raw_*.rs``).

Each lock is keyed in the parking lot on its own ``id()``.
"""

from .condvar import Condvar, WaitTimeoutResult
from .mutex import TOKEN_HANDOFF, TOKEN_NORMAL, RawFairMutex, RawMutex

__all__ = ["TOKEN_HANDOFF", "TOKEN_NORMAL", "Condvar", "RawFairMutex", "RawMutex", "WaitTimeoutResult"]
