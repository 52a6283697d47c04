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

from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar


class Ready(tuple[()]):
    """An awaitable that is complete at once with None, at no cost (``await`` iterates an empty tuple).

    Returned by ``__aexit__`` methods whose work never waits (a release): ``async with``
    awaits it without a coroutine being made.
    """

    __slots__ = ()
    if TYPE_CHECKING:
        def __await__(self) -> Generator[Any, None, None]:
            """Complete at once with None (at run time: ``tuple.__iter__`` of the empty tuple)."""
    else:
        __await__ = tuple.__iter__


#: The one instance of :class:`Ready`.
READY = Ready()


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
        guard = self._guard
        if guard is not None:
            self._guard = None
            guard.__exit__(exc_type, exc, tb)


def _used_twice() -> RuntimeError:
    return RuntimeError("this pending lock has been awaited or entered already; call the *_async method again")
