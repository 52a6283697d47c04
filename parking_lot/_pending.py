"""PendingGuard: what the awaitable twin of a guard-returning lock method returns.

The naming convention of the whole library: the awaitable twin of a blocking method
``m`` is ``m_async`` (``lock`` / ``lock_async``, ``try_lock_for`` /
``try_lock_for_async``, ``read`` / ``read_async``, as ``parking_lot.core.park`` /
``park_async``), with the same arguments, timeouts, fairness, result and errors.

Where ``m`` always returns a guard (``Mutex.lock``, ``RwLock.read``, ...), ``m_async()``
returns a :class:`PendingGuard`, which is both

* awaitable: ``guard = await mutex.lock_async()`` waits for the lock and gives the
  guard, the same guard ``m`` gives (a ``with guard:`` block or ``guard.unlock()``
  releases it; releasing never waits, so that is fine inside a coroutine too); and
* an asynchronous context manager: ``async with mutex.lock_async() as guard:`` waits
  for the lock on entry and releases it at the end of the block, as
  ``with mutex.lock() as guard:`` does.

Nothing happens until it is awaited or entered (creating one and dropping it takes no
lock), and each one is used once.  The twins of the ``try_*`` methods, which may give
None instead of a guard, are plain coroutines: ``guard = await m.try_lock_for_async(1.0)``.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar


@types.coroutine
def _finished() -> Generator[None, None, None]:
    return
    yield  # never reached: the yield only makes this a generator function


def new_ready() -> Awaitable[None]:
    """A new awaitable that is complete at once with None, reusable for ever, from any thread and loop.

    ``__aexit__`` methods whose work never waits (a release), and ``__aenter__`` fast
    paths whose ``async with ... as`` value is None, return one: ``async with`` then awaits
    it without a coroutine being made or the loop being visited.  It is a generator of a
    function marked by ``types.coroutine`` (so ``await`` accepts it as it is), run to its
    end: resumed, an exhausted generator stops at once with None, and doing so only reads
    its state.  The cheapest await measured on every Python here, 10-20 ns net of the loop
    on 3.10-3.15 and 3.14t, against 14-22 ns (3.10, 3.11, 3.15) and 68-88 ns (3.12-3.14,
    3.14t) for a done future and 43-63 ns for a new coroutine
    (``benchmarks/bench_async_with_floor.py`` prints the figures).

    Each lock keeps its own (made in 77 ns; 176 bytes): on a free-threaded build, one object
    that the exits of every thread returned would have its reference count contended --
    ``async with`` on two ``aio.Lock``s in two threads (3.14t, each thread its own loop and
    lock) scaled 1.48-1.64x from one thread to two with one shared object and 1.75-1.81x with
    one per lock; with an enter that made no coroutine either, 1.09-1.20x against 1.66-1.89x
    (``benchmarks/bench_async_with_floor.py``, its last table).
    """
    generator = _finished()
    for _ in generator:
        pass
    return generator


#: A :func:`new_ready` shared by the paths that are not hot (a guard released inside its block).
READY: Awaitable[None] = new_ready()


class _Guard(Protocol):
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> object: ...


G = TypeVar("G", bound=_Guard)


class PendingGuard(Generic[G]):
    """A lock acquisition not yet started: ``await`` it for the guard, or ``async with`` it.

    >>> import asyncio
    >>> from parking_lot import Mutex
    >>> async def main():
    ...     m = Mutex(0)
    ...     async with m.lock_async() as guard:      # released at the block's end
    ...         guard.value += 1
    ...     guard = await m.lock_async()             # or awaited: the guard itself
    ...     with guard:
    ...         return guard.value
    >>> asyncio.run(main())
    1

    Raises RuntimeError when awaited or entered a second time.
    """

    __slots__ = ("_acquire", "_guard")

    def __init__(self, acquire: Callable[[], Coroutine[Any, Any, G]]) -> None:
        #: The acquisition to run; None once it has been started (each PendingGuard is used once).
        self._acquire: Callable[[], Coroutine[Any, Any, G]] | None = acquire
        self._guard: G | None = None

    def _start(self) -> Coroutine[Any, Any, G]:
        acquire = self._acquire
        if acquire is None:
            raise _used_twice()
        self._acquire = None
        return acquire()

    def __await__(self) -> Generator[Any, None, G]:
        return self._start().__await__()

    async def __aenter__(self) -> G:
        guard = await self._start()
        self._guard = guard
        return guard

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A coroutine, made per use, rather than READY: one object that every thread's exit
        # returned would be contended on free-threaded builds (see new_ready).
        guard = self._guard
        if guard is not None:
            self._guard = None
            guard.__exit__(exc_type, exc, tb)


def _used_twice() -> RuntimeError:
    return RuntimeError("this pending lock has been awaited or entered already; call the *_async method again")
