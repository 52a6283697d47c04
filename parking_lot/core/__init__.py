"""The parking lot: threads park on integer keys and are unparked by key.

A port of Rust's ``parking_lot_core`` (Amanieu d'Antras): a global hashtable of
buckets, each a lock and a FIFO queue of the threads parked on the keys that hash
to it.  Primitives keep their own state in a word-sized field and use the lot
only for their slow paths: to sleep until a condition they validate under the
bucket lock changes, and to wake, hand off to, or move the sleepers.

>>> from parking_lot.core import park, TimedOut
>>> park(id(object()), timeout=0.01) is TimedOut
True

See docs/architecture.md for the design, its invariants and what Python adds.
"""

from ._hashtable import Statistics, state
from ._park import (
    LATEST_DEADLINE_NS,
    cancel_park,
    deadline_ns,
    interrupted_result,
    park,
    parked_count,
    parked_threads,
    parked_threads_frozen,
    unpark_all,
    unpark_filter,
    unpark_one,
    unpark_requeue,
)
from ._park_async import TaskParker, TaskParkerBase, TaskUnparkHandle, park_async, running_task
from ._types import (
    DEFAULT_PARK_TOKEN,
    DEFAULT_UNPARK_TOKEN,
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
from .spinwait import SpinWait

__all__ = [
    "DEFAULT_PARK_TOKEN",
    "DEFAULT_UNPARK_TOKEN",
    "LATEST_DEADLINE_NS",
    "FilterOp",
    "Invalid",
    "ParkedThread",
    "ParkResult",
    "ParkToken",
    "RequeueOp",
    "SpinWait",
    "TaskParker",
    "TaskParkerBase",
    "TaskUnparkHandle",
    "Statistics",
    "TimedOut",
    "UnparkResult",
    "UnparkToken",
    "Unparked",
    "deadline_ns",
    "cancel_park",
    "interrupted_result",
    "park",
    "park_async",
    "parked_count",
    "parked_threads",
    "parked_threads_frozen",
    "running_task",
    "statistics",
    "unpark_all",
    "unpark_filter",
    "unpark_one",
    "unpark_requeue",
]


def statistics() -> Statistics:
    """A snapshot of the lot: parked threads and keys, table size, growths, live threads.

    >>> statistics().buckets >= 16
    True
    """
    return state.statistics()
