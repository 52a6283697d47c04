"""Values that cross the parking lot's API: tokens, results and the callbacks' verdicts."""

from __future__ import annotations

import enum
from typing import Final, NamedTuple

#: A ParkToken is an int a parked thread leaves for unparkers to read (``unpark_filter``).
ParkToken = int
#: An UnparkToken is an int an unparker hands to the thread it wakes.
UnparkToken = int
DEFAULT_PARK_TOKEN: Final[ParkToken] = 0
DEFAULT_UNPARK_TOKEN: Final[UnparkToken] = 0
#: Keys and tokens are machine words in parking_lot: ``0 <= value < 2**64``.
WORD_LIMIT: Final = 2**64


class ParkResult:
    """What :func:`~parking_lot.core.park` returns: ``Unparked(token)``, ``Invalid`` or ``TimedOut``.

    >>> from parking_lot.core import Unparked, TimedOut
    >>> Unparked(7).is_unparked, TimedOut.is_unparked
    (True, False)
    """

    __slots__ = ()
    is_unparked: bool = False


class Unparked(ParkResult):
    """The thread was woken by an unparker, which handed it ``token``.

    >>> Unparked(7).token, Unparked(7) == Unparked(7), Unparked(7).is_unparked
    (7, True, True)
    """

    __slots__ = ("token",)
    __match_args__ = ("token",)
    is_unparked = True

    def __init__(self, token: UnparkToken) -> None:
        self.token = token

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unparked) and other.token == self.token

    def __hash__(self) -> int:
        return hash((Unparked, self.token))

    def __repr__(self) -> str:
        return f"Unparked({self.token})"


class _Singleton(ParkResult):
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


#: ``validate`` returned false: the thread was never queued.
Invalid: Final[ParkResult] = _Singleton("Invalid")
#: The timeout passed (or the wait was given up) before any unparker took the thread.
TimedOut: Final[ParkResult] = _Singleton("TimedOut")


class UnparkResult(NamedTuple):
    """What an unpark operation did; also passed to its ``callback`` before threads wake.

    >>> from parking_lot.core import unpark_one
    >>> unpark_one(id(object()))          # nobody was parked there
    UnparkResult(unparked_threads=0, requeued_threads=0, have_more_threads=False, be_fair=False)

    A named tuple: immutable, cheap to make (unpark operations are hot paths).
    """

    #: How many threads were (are about to be) woken.
    unparked_threads: int = 0
    #: How many threads were moved to another key by ``unpark_requeue``.
    requeued_threads: int = 0
    #: Whether threads remain parked on the key (after this operation).
    have_more_threads: bool = False
    #: Whether a fair unlock is due: the bucket's random 0-1 ms fairness timer expired,
    #: or the (first) thread woken was moved here by ``unpark_requeue`` during its park
    #: (it has waited once already; a condvar waiter moved onto its mutex's queue).
    be_fair: bool = False


#: unpark_one's possible results, made once: ``ONE_THREAD_RESULTS[have_more_threads][be_fair]``.
ONE_THREAD_RESULTS: Final = (
    (UnparkResult(1, 0, False, False), UnparkResult(1, 0, False, True)),
    (UnparkResult(1, 0, True, False), UnparkResult(1, 0, True, True)),
)


class RequeueOp(enum.Enum):
    """What ``unpark_requeue``'s ``validate`` asks for.

    >>> from parking_lot.core import unpark_requeue
    >>> a, b = id(object()), id(object())
    >>> unpark_requeue(a, b, lambda: RequeueOp.RequeueAll, lambda op, result: 0).requeued_threads
    0
    """

    #: Do nothing.
    Abort = "abort"
    #: Wake one thread and move the rest to ``key_to``.
    UnparkOneRequeueRest = "unpark_one_requeue_rest"
    #: Move every thread to ``key_to``.
    RequeueAll = "requeue_all"
    #: Wake one thread; leave the rest where they are.
    UnparkOne = "unpark_one"
    #: Move one thread to ``key_to``; leave the rest where they are.
    RequeueOne = "requeue_one"


class FilterOp(enum.Enum):
    """What ``unpark_filter``'s ``filter`` says of one parked thread.

    >>> from parking_lot.core import unpark_filter
    >>> unpark_filter(id(object()), lambda token: FilterOp.Unpark, lambda result: 0).unparked_threads
    0
    """

    #: Wake this thread.
    Unpark = "unpark"
    #: Leave this thread parked and look at the next.
    Skip = "skip"
    #: Leave this thread parked and stop looking.
    Stop = "stop"


class ParkedThread(NamedTuple):
    """One thread in the parking lot's queues, as :func:`~parking_lot.core.parked_threads` reports it.

    >>> ParkedThread(ident=7, key=0x10, park_token=0, timed=False).key
    16
    """

    #: The thread's identifier (``threading.get_ident()``, ``Thread.ident``).
    ident: int
    #: The key it is parked on (``0 <= key < 2**64``).
    key: int
    #: The park token it left for unparkers (``park(..., park_token=...)``).
    park_token: ParkToken
    #: Whether its wait has a deadline (it may end by itself, as a timeout).
    timed: bool
    #: For a task's wait (:func:`~parking_lot.core.park_async`), the task (an ``asyncio.Task``,
    #: a ``trio.lowlevel.Task``), and ``ident`` is the thread running its loop; None for a thread.
    task: object = None
