"""park_async: an asyncio or trio task parks on a key like a thread.

A waiting task is a queue entry like a parked thread: a :class:`ThreadData` of its own
(one per wait) whose parker is a task parker.  So the per-key FIFO, the park and unpark
tokens, ``unpark_one``, ``unpark_all``, ``unpark_requeue``, ``unpark_filter`` and the
fairness timer treat threads and tasks alike, with no change to the unparkers.

The parker is chosen per wait from the library the task runs under: a trio task (trio
already imported and :func:`trio.lowlevel.in_trio_task` true) gets a ``TrioTaskParker``
(``core/_park_trio.py``, imported only then: importing parking_lot never imports trio),
anything else the asyncio :class:`TaskParker`.  Both share the protocol of
:class:`TaskParkerBase` and differ only in how the task suspends and is resumed:

=====================  ====================================  ==========================================
step                   asyncio (:class:`TaskParker`)         trio (``TrioTaskParker``)
=====================  ====================================  ==========================================
``prepare_park``       nothing: the parker is the future     nothing to make
suspend                ``await parker`` (+ a loop timer)     ``wait_task_rescheduled`` (+ a cancel scope)
wake, own thread       ``call_soon`` of the task's step      ``trio.lowlevel.reschedule``
wake, other thread     ``call_soon_threadsafe``: step it     ``TrioToken.run_sync_soon``
loop / run gone        ``RuntimeError``: wake dropped        ``RunFinishedError``: wake dropped
cancellation           ``CancelledError`` at the await       ``Cancelled`` through the abort function
=====================  ====================================  ==========================================

The shared part: ``_state`` (PARKED / UNPARKED / TIMED_OUT) is written only under the
bucket lock of the task's key; ``prepare_park`` (bucket lock held) arms the parker;
``unpark_lock`` (bucket lock held) marks it unparked and returns a handle whose
``unpark`` (no lock held) resumes the task without blocking and without raising.

A wait ends in one of three ways, as a thread's does:

* an unparker takes the task off its queue: ``Unparked(token)``;
* the deadline passes: under the bucket lock the task leaves its queue, unless an
  unparker took it first (then ``Unparked``), and ``timed_out`` runs: ``TimedOut``;
* the task is cancelled (``task.cancel()``, ``asyncio.timeout``, ``wait_for``; trio's
  cancel scopes, ``move_on_after``, ``fail_after``): it leaves the queue exactly as at a
  timeout (``timed_out`` runs) and the library's cancellation exception propagates.
  If an unparker had already taken it -- and, for example, handed it a lock with its
  token -- :func:`interrupted_result` of that exception says ``Unparked(token)``, so
  the primitive can pass on what it was given.  Any other exception raised at the
  await is treated the same way.

Nothing here waits under a bucket lock, and a task never makes a blocking call.
"""

from __future__ import annotations

import _thread
import asyncio
import contextvars
import sys
import time
from collections.abc import Awaitable, Callable, Generator
from types import ModuleType
from typing import Any

from ._hashtable import ThreadData, release_if_held, state
from ._park import _RESULT_ATTRIBUTE, _first_index, _leave_queue, _take_cancel, checked_park_arguments
from ._types import DEFAULT_PARK_TOKEN, WORD_LIMIT, Invalid, ParkResult, ParkToken, TimedOut, Unparked

_monotonic_ns = time.monotonic_ns
_get_ident = _thread.get_ident
_get_running_loop = asyncio._get_running_loop
_current_task = asyncio.current_task
_PARKED, _UNPARKED, _TIMED_OUT = 1, 0, 2
#: What a suspension returns when its deadline passed (an unparker's wake returns None).
EXPIRED = object()
#: A TaskParker's outcome while no wake-up, deadline or cancel has decided it.
_PENDING = object()
#: ``Unparked(0)`` and ``Unparked(1)``, the tokens the locks hand over (normal, hand-off), made once.
_UNPARKED_BY_TOKEN = (Unparked(0), Unparked(1))


class TaskParkerBase:
    """The ThreadParker contract for a task; subclasses say how a task suspends and resumes.

    ``park``/``park_until`` are awaits in :func:`park_async` (:meth:`suspend`), never
    blocking calls.  ``_state`` is written only under the bucket lock of the task's key.
    A subclass sets ``task`` (the waiting task object) and implements :meth:`_arm`,
    :meth:`_handle`, :meth:`suspend` and :meth:`run_soon`.
    """

    __slots__ = ("_state", "task")

    def __init__(self, task: object) -> None:
        self._state = _UNPARKED
        #: The waiting task (an ``asyncio.Task``, a ``trio.lowlevel.Task``).
        self.task = task

    def prepare_park(self) -> None:
        """Arm the parker (bucket lock held; no blocking call)."""
        self._arm()
        self._state = _PARKED

    def park(self) -> None:
        """Not for tasks: a task awaits :meth:`suspend` in :func:`park_async`."""
        raise TypeError("a task parker cannot block; await park_async() instead")

    def park_until(self, deadline_ns: int) -> bool:
        """Not for tasks (see :meth:`park`)."""
        raise TypeError("a task parker cannot block; await park_async() instead")

    def timed_out(self) -> bool:
        """Bucket lock held, the wait over: True if no unparker took the task (it now leaves)."""
        if self._state == _PARKED:
            self._state = _TIMED_OUT
            return True
        return False

    def unpark_lock(self) -> Any:
        """Mark the task unparked (bucket lock held); the handle's ``unpark()`` resumes it later."""
        self._state = _UNPARKED
        return self._handle()

    # --- what each library does its own way ---------------------------------------------

    def _arm(self) -> None:
        """``prepare_park``'s library part (bucket lock held)."""
        raise NotImplementedError

    def _handle(self) -> Any:
        """``unpark_lock``'s library part: a handle whose ``unpark()`` never blocks nor raises."""
        raise NotImplementedError

    def suspend(self, until_ns: int | None) -> Awaitable[object]:
        """Suspend the task until an unparker's handle resumes it (None) or ``time.monotonic_ns()``
        reaches *until_ns* (:data:`EXPIRED`; never early).  Cancellation raises at the await."""
        raise NotImplementedError

    def disarm(self) -> None:
        """After a timed suspension (*until_ns* not None), however it ended: drop what
        :meth:`suspend` armed (a timer).  Not called for an untimed one, which arms nothing."""

    def run_soon(self, function: Callable[..., object], *args: Any) -> None:
        """Run ``function(*args)`` on the task's loop thread soon, from any thread; dropped
        (nothing raised) when that loop or run is over."""
        raise NotImplementedError


def _complete(future: asyncio.Future[Any], value: object) -> None:
    if not future.done():
        future.set_result(value)


class TaskUnparkHandle:
    """Wakes one waiting asyncio task: completes its future on its loop, without blocking."""

    __slots__ = ("_loop", "_future")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        self._loop = loop
        self._future = future

    def unpark(self) -> None:
        """Complete the task's future (called once, after the bucket lock is released).

        On the task's loop thread the future is completed at once; from any other thread
        (or another loop) through ``call_soon_threadsafe``.  A closed loop will never
        run the task again: the wake-up is dropped and nothing is raised.
        """
        if asyncio._get_running_loop() is self._loop:  # (None outside a loop: no exception to pay for)
            _complete(self._future, None)
            return
        try:
            self._loop.call_soon_threadsafe(_complete, self._future, None)
        except RuntimeError:  # the loop is closed
            pass


class TaskParker(TaskParkerBase):
    """The asyncio task parker, and the Future-like object its task awaits.

    asyncio's ``Task`` suspends on any object it recognises as a future
    (:func:`asyncio.isfuture`: one with an ``_asyncio_future_blocking`` attribute), calling
    its ``get_loop``, ``add_done_callback``, ``result`` and ``cancel``.  The parker is
    that object, so a wait makes no future of its own and a wake-up can run the task's
    step itself: from another thread, ``call_soon_threadsafe`` of a callback that
    steps the task at once, in the loop iteration it runs in (a real future would be
    completed there and step the task one iteration later).  On the loop thread, a wake
    schedules the step with ``call_soon``, as completing a future does.

    The outcome (woken, expired, cancelled) is decided once, always on the loop thread:
    by :meth:`unpark` there, by :meth:`_wake_here` for a wake from elsewhere, by the
    deadline timer, or by :meth:`cancel` (``task.cancel()``).  What decides second finds
    the outcome taken and does nothing, so the task is stepped exactly once.  Whether
    the task left its queue is the lot's business (``_state``, under the bucket lock),
    as for a thread: a cancel that wins here after an unparker took the task off its
    queue is reported by :func:`park_async` as that unparker's ``Unparked``.
    """

    __slots__ = ("_loop", "_ident", "_timer", "_outcome", "_callback", "_context", "_asyncio_future_blocking")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: object = None) -> None:
        self._state = _UNPARKED  # TaskParkerBase.__init__, inlined (one per wait)
        self.task = task
        self._loop = loop
        #: The thread the parker was made in: the task's, its loop's (see :meth:`unpark`).
        self._ident = _get_ident()
        self._timer: asyncio.TimerHandle | None = None
        self._outcome: object = _PENDING
        self._callback: Callable[[TaskParker], object] | None = None
        self._context: contextvars.Context | None = None
        #: asyncio's mark of a future that is being awaited (see :meth:`__await__`).
        self._asyncio_future_blocking = False

    def _arm(self) -> None:
        pass  # nothing to make: the parker is the future (see prepare_park)

    def prepare_park(self) -> None:
        """Arm the parker (bucket lock held; :meth:`TaskParkerBase.prepare_park`, one call less)."""
        self._state = _PARKED

    def unpark_lock(self) -> TaskParker:
        """Mark the task unparked (bucket lock held); the parker is its own handle (see :meth:`unpark`)."""
        self._state = _UNPARKED
        return self

    def _handle(self) -> TaskParker:
        # The parker is its own handle (one wait, one outcome: nothing to copy out), so a
        # wake-up allocates nothing.
        return self

    def unpark(self) -> None:
        """The handle's ``unpark`` (called once, after the bucket lock is released): wake the task.

        On the task's loop thread the outcome is settled at once and the task's step
        scheduled; from any other thread (or another loop) through
        ``call_soon_threadsafe`` (:meth:`_wake_here`).  A closed loop will never run the
        task again: the wake-up is dropped and nothing is raised.
        """
        # The thread test first: on 3.11 asyncio._get_running_loop() costs ~140 ns, get_ident
        # ~25, and a wake from another thread (the "thread wakes task" row) then skips it.  Only
        # the running loop says for sure (a loop may be run by another thread later on).
        if _get_ident() == self._ident and _get_running_loop() is self._loop:
            self._settle(None)
            return
        try:
            # The function and the parker, not a bound method: asyncio's debug mode then names
            # the parker, and so the task, in its "Executing <Handle ...> took" warning.
            self._loop.call_soon_threadsafe(_WAKE_HERE, self)
        except RuntimeError:  # the loop is closed
            pass

    def _settle(self, outcome: object) -> bool:
        """On the loop thread: decide the outcome unless decided, and schedule the task's step.

        Returns False when the outcome was already decided (nothing done).  Deciding and
        scheduling are one step: an exception before it leaves the outcome open and has
        the decision made again on the loop soon (the exception still propagates), so a
        wake-up, a deadline or a cancel is never lost nor decided with no step to come.
        """
        if self._outcome is not _PENDING:
            return False
        callback = self._callback
        if callback is None:  # the task has not suspended yet: add_done_callback schedules its step
            self._outcome = outcome
            return True
        try:
            self._outcome = outcome; self._callback = None; self._loop.call_soon(callback, self, context=self._context)  # one-step: an outcome once decided has the task's step scheduled
        except BaseException:
            if self._outcome is _PENDING:  # stopped before deciding: decide on the loop soon, or nobody will
                self._loop.call_soon(self._settle, outcome)
            raise
        return True

    def _wake_here(self) -> None:
        """A wake-up from another thread, run by the loop: step the waiting task now.

        The task has yielded this parker by now (the wake-up was sent after the task
        queued, so it runs after the step that queued it), unless that step raised
        before it suspended; then there is no step to run.  As in :meth:`_settle`,
        deciding and stepping are one step, tried again on the loop soon if an exception
        stops it first."""
        if self._outcome is not _PENDING:
            return  # cancelled (or expired) first
        callback = self._callback
        if callback is None:  # the step that queued the task raised before it suspended
            self._outcome = None
            return
        try:
            self._outcome = None; self._callback = None; self._context.run(callback, self)  # type: ignore[union-attr]  # one-step: an outcome once decided has the task stepped
        except BaseException:
            if self._outcome is _PENDING:  # stopped before deciding: this wake-up is still owed
                self._loop.call_soon(_WAKE_HERE, self)
            raise

    def _expire(self, until_ns: int) -> None:
        """The deadline timer: settle EXPIRED once ``time.monotonic_ns() >= until_ns``.

        asyncio may run a timer up to its clock's resolution early: the clock is checked
        and the timer re-armed for what is left, so a wait never ends early."""
        if self._outcome is not _PENDING:
            return
        left_ns = until_ns - _monotonic_ns()
        if left_ns > 0:
            self._timer = self._loop.call_later(left_ns / 1e9, self._expire, until_ns)
        else:
            self._settle(EXPIRED)

    def suspend(self, until_ns: int | None) -> Awaitable[object]:
        """The parker itself, to await (None once woken, EXPIRED at the deadline), with a deadline timer if timed."""
        if until_ns is not None:
            self._timer = self._loop.call_later(max(0, until_ns - _monotonic_ns()) / 1e9, self._expire, until_ns)
        return self

    def disarm(self) -> None:
        """Cancel the deadline timer, if any."""
        if self._timer is not None:
            self._timer.cancel()

    def run_soon(self, function: Callable[..., object], *args: Any) -> None:
        """``loop.call_soon_threadsafe``; nothing when the loop is closed."""
        try:
            self._loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop is closed
            pass

    # --- the Future-like protocol asyncio.Task uses (all on the loop thread) ---------------

    def __await__(self) -> Generator[TaskParker, None, object]:
        if self._outcome is _PENDING:
            self._asyncio_future_blocking = True
            yield self  # the task calls get_loop and add_done_callback
            # Stepped by the callback, so decided: a cancellation was thrown in at the
            # yield, so what is left is None (woken) or EXPIRED (result() without the call).
            outcome = self._outcome
            if outcome is not _PENDING and type(outcome) is not _Cancelled:
                return outcome
        return self.result()

    __iter__ = __await__

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The loop of the waiting task."""
        return self._loop

    def add_done_callback(self, fn: Callable[[TaskParker], object], *, context: contextvars.Context | None = None) -> None:
        """Run ``fn(self)`` (in *context*, else a copy of the current one) once the outcome is
        decided; the task registers its wake-up here.

        Raises:
            RuntimeError: a callback is registered already (one task awaits a parker).
        """
        if context is None:
            context = contextvars.copy_context()
        if self._outcome is not _PENDING:
            self._loop.call_soon(fn, self, context=context)
            return
        if self._callback is not None:
            raise RuntimeError("a task parker is awaited by one task only")
        self._context = context
        self._callback = fn
        if self._outcome is not _PENDING and self._callback is fn:
            # Decided between the first test and the store (a signal handler's wake-up ran
            # there) by a _settle that found no callback to schedule: schedule it here.
            self._callback = None
            self._loop.call_soon(fn, self, context=context)

    def remove_done_callback(self, fn: Callable[[TaskParker], object]) -> int:
        """Forget *fn* if it is the registered callback; how many were removed (0 or 1)."""
        if self._callback is not None and self._callback == fn:
            self._callback = None
            return 1
        return 0

    def done(self) -> bool:
        """Whether the outcome is decided (woken, expired or cancelled)."""
        return self._outcome is not _PENDING

    def cancelled(self) -> bool:
        """Whether the wait was cancelled (:meth:`cancel` decided the outcome)."""
        return type(self._outcome) is _Cancelled

    def result(self) -> object:
        """None once woken, :data:`EXPIRED` at the deadline.

        Raises:
            asyncio.CancelledError: the wait was cancelled.
            asyncio.InvalidStateError: the outcome is not decided yet.
        """
        outcome = self._outcome
        if type(outcome) is _Cancelled:
            raise outcome.error()
        if outcome is _PENDING:
            raise asyncio.InvalidStateError("the task is still parked")
        return outcome

    def exception(self) -> BaseException | None:
        """None (a wait ends with no exception of its own); CancelledError is raised if cancelled."""
        self.result()
        return None

    def cancel(self, msg: object = None) -> bool:
        """``task.cancel()`` of the waiting task: end the wait with CancelledError unless it has ended.

        Returns False when the outcome was already decided (a wake-up or the deadline
        came first: asyncio then throws the cancellation in at the task's next step).
        """
        return self._settle(_Cancelled(msg))

    def __repr__(self) -> str:
        outcome = self._outcome
        state = "pending" if outcome is _PENDING else "cancelled" if type(outcome) is _Cancelled else "finished"
        get_name = getattr(self.task, "get_name", None)  # the name only: the task's repr shows this one
        return f"<{type(self).__name__} {state}>" if get_name is None else f"<{type(self).__name__} {state} of task {get_name()!r}>"


_WAKE_HERE = TaskParker._wake_here


class _Cancelled:
    """A cancelled wait's outcome: the message ``task.cancel(msg)`` gave."""

    __slots__ = ("msg",)

    def __init__(self, msg: object) -> None:
        self.msg = msg

    def error(self) -> asyncio.CancelledError:
        return asyncio.CancelledError() if self.msg is None else asyncio.CancelledError(self.msg)


_trio_parker: Callable[[], TaskParkerBase] | None = None


def _in_trio_task(trio: ModuleType) -> bool:
    lowlevel = trio.lowlevel
    in_task = getattr(lowlevel, "in_trio_task", None)
    if in_task is not None:
        return bool(in_task())
    try:  # trio before in_trio_task
        lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def running_task() -> object | None:
    """The asyncio or trio task running in this thread right now, else None.

    trio's (``trio.lowlevel.current_task()``) when trio is imported and a trio task
    runs here, else asyncio's (``asyncio.current_task()`` of the running loop), else
    None.  Never imports trio, never raises.

    >>> import asyncio
    >>> async def main():
    ...     return running_task() is asyncio.current_task()
    >>> asyncio.run(main()), running_task()
    (True, None)
    """
    trio = sys.modules.get("trio")
    if trio is not None and _in_trio_task(trio):
        task: object = trio.lowlevel.current_task()
        return task
    loop = asyncio._get_running_loop()
    return None if loop is None else asyncio.current_task(loop)


def task_parker() -> TaskParkerBase:
    """A parker for the task running in this thread, of the library it runs under.

    trio when trio is imported and a trio task runs here, else asyncio.  Raises
    RuntimeError when neither runs (asyncio's "no running event loop").
    """
    global _trio_parker
    trio = sys.modules.get("trio")
    if trio is not None and _in_trio_task(trio):
        if _trio_parker is None:
            from ._park_trio import TrioTaskParker

            _trio_parker = TrioTaskParker
        return _trio_parker()
    loop = asyncio.get_running_loop()
    return TaskParker(loop, asyncio.current_task(loop))


async def park_async(
    key: int,
    validate: Callable[[], bool] | None = None,
    before_sleep: Callable[[], object] | None = None,
    timed_out: Callable[[int, bool], object] | None = None,
    park_token: ParkToken = DEFAULT_PARK_TOKEN,
    timeout: float | None = None,
    deadline: float | None = None,
    *,
    deadline_ns: int | None = None,
) -> ParkResult:
    """Park the current asyncio or trio task on *key*: :func:`park`'s semantics, awaited.

    The task joins the back of *key*'s queue, shared with parked threads, and the
    event loop runs other tasks meanwhile.  Returns ``Unparked(token)`` when an
    unparker (a thread or a task, on this loop or any other) wakes it, ``TimedOut``
    when the time runs out first (``timed_out(key, was_last)`` having run under the
    bucket lock), ``Invalid`` when ``validate()`` returned false.  The callbacks,
    tokens, time arguments (seconds *timeout*, ``time.monotonic()`` *deadline*, or
    ``time.monotonic_ns()`` *deadline_ns*; at most one) and the errors for bad
    arguments are :func:`park`'s; callbacks run on the task's loop thread and must
    not await.

    Cancellation is a way for the wait to end: the task leaves the queue as at a
    timeout (``timed_out`` runs) and ``asyncio.CancelledError`` (trio: ``trio.Cancelled``)
    propagates; if an unparker had already taken the task, ``interrupted_result(exc)``
    is ``Unparked(token)``, else ``TimedOut``.  Under trio, a cancellation that comes
    after an unparker on the task's own thread resumed it is raised at the caller's
    next checkpoint, as trio's own primitives do: the wait returns ``Unparked``.
    Raises RuntimeError when neither an asyncio event loop nor a trio task runs in
    this thread.

    >>> import asyncio
    >>> from parking_lot.core import park_async, unpark_one, TimedOut
    >>> async def main():
    ...     key = id(object())
    ...     waiter = asyncio.ensure_future(park_async(key, timeout=10))
    ...     await asyncio.sleep(0)                   # the task parks
    ...     unpark_one(key, lambda result: 7)        # from a thread or a task alike
    ...     return await waiter, await park_async(key, timeout=0.001)
    >>> asyncio.run(main())
    (Unparked(7), TimedOut)
    """
    if (
        type(key) is int and type(park_token) is int and 0 <= key < WORD_LIMIT and 0 <= park_token < WORD_LIMIT
        and timeout is None and deadline is None and deadline_ns is None
        and (validate is None or callable(validate)) and (before_sleep is None or callable(before_sleep))
        and (timed_out is None or callable(timed_out))
    ):  # the common call, checked inline: checked_park_arguments would accept it unchanged
        until_ns = None
    else:
        key, park_token, until_ns = checked_park_arguments(
            key, validate, before_sleep, timed_out, park_token, timeout, deadline, deadline_ns
        )
    loop = _get_running_loop() if sys.modules.get("trio") is None else None
    # task_parker(), inlined for the common case: asyncio, trio not even imported.
    parker = task_parker() if loop is None else TaskParker(loop, _current_task(loop))
    thread = ThreadData(parker, parker.task)
    state.register_task_wait(thread)
    queued = False
    lock = None  # the bucket lock last taken: released by the handlers if an exception strands it
    try:
        while True:
            table = state.table
            bucket = table.bucket_for(key)
            lock = bucket.lock
            with lock:
                if state.table is not table:
                    continue
                if validate is not None and not validate():
                    return Invalid
                thread.key = key
                thread.park_token = park_token
                thread.woken = False
                thread.timed = until_ns is not None
                thread.on_timeout = timed_out
                thread.requeued = False
                parker.prepare_park()
                queued = True; bucket.queue.append(thread)  # one-step: queued iff recorded, for the exception path
            break
        if before_sleep is not None:
            before_sleep()
        # From here on, an exception at any line finds the task queued or already out:
        # _leave_queue is idempotent (a task out of its queue is not removed twice, its
        # timed_out callback not run twice), so no flag needs resetting.
        if await parker.suspend(until_ns) is EXPIRED:
            return _leave_queue(thread, timed_out)
        if thread.cancel is not None:  # cancel_park took us off the queue, as a timeout would
            queued = False; raise _take_cancel(thread)  # one-step: queued is cleared only by the cancel that took the task off the queue
        token = thread.unpark_token
        return _UNPARKED_BY_TOKEN[token] if token < 2 else Unparked(token)  # the common tokens' results made once
    except GeneratorExit:
        # The coroutine is being closed outside its loop: by the garbage collector (a task
        # whose loop was closed), which runs it inside a finaliser, perhaps in a thread that
        # holds a bucket lock right now (table growth holds them all).  Nothing here may block.
        # Nor release one: the coroutine was suspended at its await, holding none, and one
        # this thread holds now is held by the code the collector interrupted.
        if queued:
            _abandon(thread, parker)
        raise
    except BaseException as exc:
        release_if_held(lock)
        if queued:
            # Cancelled (or another exception) at the await: leave as at a timeout,
            # unless an unparker took us first; say which.  A cancel_park that took us off
            # first counts as the timeout it stands for (as in park's exception path).
            result = _leave_queue(thread, timed_out)
            if thread.cancel is not None:
                thread.cancel = None
                result = TimedOut
            setattr(exc, _RESULT_ATTRIBUTE, result)
        raise
    finally:
        if until_ns is not None:  # only a timed wait arms anything to drop (TaskParkerBase.disarm)
            parker.disarm()
        state.task_wait_over(thread)


def _abandon(thread: ThreadData, parker: TaskParkerBase) -> None:
    """Take a closed coroutine's wait off its queue without blocking, or leave that to its loop.

    With the bucket lock free, the wait leaves at once, as at a timeout (its ``timed_out``
    runs).  Otherwise the loop, if it still runs, does it later; a closed loop's wait stays
    queued until an unparker takes it, whose wake-up is then dropped (the primitive's
    hand-over to a task that can never run again is lost with the task).
    """
    key = thread.key
    table = state.table
    bucket = table.bucket_for(key)
    lock = bucket.lock
    # Not if this thread holds it (the collector ran inside the lot): the lock would be taken
    # twice and the queue changed under the code that holds it.
    if not lock._is_owned():  # type: ignore[attr-defined]  # _thread.RLock's owner test (typeshed omits it)
        try:
            if lock.acquire(False):
                if state.table is table and thread.key == key:  # else grown or requeued: the loop's turn
                    queue = bucket.queue
                    if thread in queue and thread.parker.timed_out():
                        queue.remove(thread)
                        if thread.on_timeout is not None:
                            thread.on_timeout(key, _first_index(queue, key) < 0)
                    return
        finally:
            release_if_held(lock)  # taken here iff held now: it was not before
    parker.run_soon(_leave_queue, thread, thread.on_timeout)
