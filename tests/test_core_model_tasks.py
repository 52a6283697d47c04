"""Hypothesis stateful test: threads and asyncio tasks on the same queues, against a FIFO model.

The actors are threads (``core.park`` in a :class:`Worker`) and asyncio tasks
(``core.park_async``, added with ``asyncio.run_coroutine_threadsafe`` to one of two event
loops, each running in a thread of its own).  They park on three keys with unique park
tokens.  The model is one FIFO queue per key holding threads and tasks together; the rules
drive every unpark operation (from the test's thread, or from a loop's thread, where a task
of that loop is woken by completing its future directly), cancellation of a parked task
(``task.cancel()``: it leaves as at a timeout and its ``timed_out`` runs), cancellation racing
an unparker that took the task first (``interrupted_result`` says ``Unparked(token)``),
``cancel_park`` of a thread or a task, and short timeouts of a thread and of a task.

After each step every woken actor has reported (bounded) exactly the outcome the model
says, and the real queues match the model: the park tokens in queue order (an
``unpark_filter`` that skips everything), ``parked_count``, and ``parked_threads()`` (which
entries are tasks, on which loop thread, and which are threads).  Nothing is timing-based:
the race between an unparker and a cancellation is made deterministic by holding the
task's loop while both are sent to it, and timeouts are taken while nothing else moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import BOUND, QUICK, Worker, start, wait_until
from lot_helpers import expect_unpark_one, expect_unpark_requeue, fresh_key, wait_parked
from parking_lot import core
from parking_lot.core import FilterOp, RequeueOp, TimedOut, Unparked, UnparkResult, interrupted_result

KEY_COUNT = 3
LOOP_COUNT = 2
MAX_PARKED = 10
keys_index = st.integers(0, KEY_COUNT - 1)
loops_index = st.integers(0, LOOP_COUNT - 1)
#: Where an unpark operation runs: None for the test's thread, else on that loop's thread.
unparker_place = st.sampled_from([None, *range(LOOP_COUNT)])
tokens = st.integers(0, 2**64 - 1)
picks = st.integers(0, MAX_PARKED - 1)

#: What an actor's wait ended with: ("returned", result) or ("raised", exception, interrupted_result).
Outcome = tuple[Any, ...]


class LoopThread:
    """An asyncio event loop running forever in a daemon thread of its own."""

    def __init__(self, index: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"model-loop-{index}", daemon=True)
        self.thread.start()

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function()`` on the loop's thread; return its result (bounded wait)."""

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(BOUND)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Keep the loop's thread busy (no callback, no task step runs) for the ``with`` block."""
        running, release = threading.Event(), threading.Event()

        def hold() -> None:
            running.set()
            release.wait(BOUND)

        self.loop.call_soon_threadsafe(hold)
        assert running.wait(BOUND), "the loop never ran the hold callback"
        try:
            yield
        finally:
            release.set()

    def stop(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(BOUND)
            assert not self.thread.is_alive(), "an event loop of the model did not stop"
            self.loop.close()


class Actor:
    """One parked thread or task, as the model knows it."""

    def __init__(self, park_token: int, key: int, loop: LoopThread | None) -> None:
        self.park_token = park_token
        self.key = key  # where it is queued now (unpark_requeue moves it)
        self.loop = loop  # None for a thread
        #: Moved by unpark_requeue during this park: waking it first must report be_fair
        #: (be_fair may also come from the bucket's fairness timer, so only True is checked).
        self.moved = False
        #: ``timed_out(key, was_last)`` calls, in the order they ran.
        self.timed_out_calls: list[tuple[int, bool]] = []
        self.task: asyncio.Task[Any] | None = None
        self.worker: Worker | None = None
        self.future: Any = None  # concurrent.futures.Future of the task's outcome

    def wait(self) -> Outcome:
        try:
            result = core.park(self.key, timed_out=self._timed_out, park_token=self.park_token, timeout=BOUND)
        except BaseException as exc:
            return ("raised", exc, interrupted_result(exc))
        return ("returned", result)

    async def wait_async(self) -> Outcome:
        self.task = asyncio.current_task()
        try:
            result = await core.park_async(
                self.key, timed_out=self._timed_out, park_token=self.park_token, timeout=BOUND
            )
        except BaseException as exc:  # CancelledError included: reported, not propagated
            return ("raised", exc, interrupted_result(exc))
        return ("returned", result)

    def _timed_out(self, key: int, was_last: bool) -> None:
        self.timed_out_calls.append((key, was_last))

    @property
    def is_task(self) -> bool:
        return self.loop is not None

    def done(self) -> bool:
        """Whether the wait has ended (the actor reported)."""
        if self.is_task:
            return bool(self.future.done())
        assert self.worker is not None
        return self.worker.done.is_set()

    def outcome(self) -> Outcome:
        """The wait's outcome, once it has ended (bounded)."""
        if self.is_task:
            outcome: Outcome = self.future.result(BOUND)
            return outcome
        assert self.worker is not None
        outcome = self.worker.finish()
        return outcome

    def ident(self) -> int:
        """What ``cancel_park`` takes: the thread's ident, or ``id()`` of the task."""
        if self.is_task:
            return id(self.task)
        assert self.worker is not None and self.worker.ident is not None
        return self.worker.ident

    def entry(self) -> tuple[int, object]:
        """``(ident, task)`` as ``parked_threads()`` reports this actor."""
        if self.loop is not None:
            assert self.loop.thread.ident is not None
            return (self.loop.thread.ident, self.task)
        assert self.worker is not None and self.worker.ident is not None
        return (self.worker.ident, None)

    def __repr__(self) -> str:
        return f"<{'task' if self.is_task else 'thread'} token={self.park_token}>"


class ThreadsAndTasksModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.keys = [fresh_key() for _ in range(KEY_COUNT)]
        self.queues: dict[int, list[Actor]] = {key: [] for key in self.keys}
        self.park_tokens = itertools.count(1)
        self.loops = [LoopThread(index) for index in range(LOOP_COUNT)]
        self.everyone: list[Actor] = []

    # --- helpers -------------------------------------------------------------------------

    def _parked(self) -> list[Actor]:
        return [actor for queue in self.queues.values() for actor in queue]

    def _parked_tasks(self) -> list[Actor]:
        return [actor for actor in self._parked() if actor.is_task]

    def _run(self, where: int | None, function: Callable[[], Any]) -> Any:
        return function() if where is None else self.loops[where].call(function)

    def _remove(self, actor: Actor) -> bool:
        """Take *actor* out of the model's queue; return ``was_last`` as ``timed_out`` sees it."""
        queue = self.queues[actor.key]
        queue.remove(actor)
        return not queue

    def _expect_woken(self, woken: list[Actor], token: int) -> None:
        # Bounded, and quick to fail when the lot woke someone the model keeps queued (else
        # the actor it should have woken would only report at its BOUND timeout).
        still_parked = [actor for actor in self._parked() if actor not in woken]
        wait_until(
            lambda: all(actor.done() for actor in woken) or any(actor.done() for actor in still_parked),
            what=f"{woken} to report",
        )
        wrongly_woken = [actor for actor in still_parked if actor.done()]
        assert not wrongly_woken, (f"woke {wrongly_woken} instead of {woken}", [a.outcome() for a in wrongly_woken])
        for actor in woken:
            assert actor.outcome() == ("returned", Unparked(token)), actor
            assert actor.timed_out_calls == [], actor

    def _expect_left_as_timed_out(self, actor: Actor, exc_type: type[BaseException], was_last: bool) -> BaseException:
        outcome = actor.outcome()
        assert outcome[0] == "raised" and type(outcome[1]) is exc_type, (actor, outcome)
        assert outcome[2] is TimedOut, (actor, outcome)
        assert actor.timed_out_calls == [(actor.key, was_last)], actor
        exc: BaseException = outcome[1]
        return exc

    def _park(self, index: int, loop: LoopThread | None) -> None:
        key = self.keys[index]
        actor = Actor(next(self.park_tokens), key, loop)
        self.everyone.append(actor)
        if loop is None:
            actor.worker = start(actor.wait)
        else:
            actor.future = asyncio.run_coroutine_threadsafe(actor.wait_async(), loop.loop)
        wait_parked(key, len(self.queues[key]) + 1)
        self.queues[key].append(actor)

    # --- rules ---------------------------------------------------------------------------

    @precondition(lambda self: len(self._parked()) < MAX_PARKED)
    @rule(index=keys_index)
    def park_thread(self, index: int) -> None:
        self._park(index, None)

    @precondition(lambda self: len(self._parked()) < MAX_PARKED)
    @rule(index=keys_index, loop=loops_index)
    def park_task(self, index: int, loop: int) -> None:
        self._park(index, self.loops[loop])

    @rule(index=keys_index, loop=st.sampled_from([None, *range(LOOP_COUNT)]))
    def park_and_time_out(self, index: int, loop: int | None) -> None:
        """A thread (None) or a task parks with a short timeout; nothing else moves meanwhile."""
        key = self.keys[index]
        calls: list[tuple[int, bool]] = []
        timed_out = lambda k, last: calls.append((k, last))  # noqa: E731
        if loop is None:
            result = core.park(key, timed_out=timed_out, timeout=0.001)
        else:
            result = asyncio.run_coroutine_threadsafe(
                core.park_async(key, timed_out=timed_out, timeout=0.001), self.loops[loop].loop
            ).result(BOUND)
        assert result is TimedOut
        assert calls == [(key, not self.queues[key])]

    @rule(index=keys_index, token=tokens, with_callback=st.booleans(), where=unparker_place)
    def unpark_one(self, index: int, token: int, with_callback: bool, where: int | None) -> None:
        key = self.keys[index]
        queue = self.queues[key]
        seen: list[UnparkResult] = []
        callback = (lambda result: seen.append(result) or token) if with_callback else None
        result = self._run(where, lambda: core.unpark_one(key, callback))
        woken = expect_unpark_one(queue, result, seen, with_callback)
        if woken is not None:
            self._expect_woken([woken], token if with_callback else core.DEFAULT_UNPARK_TOKEN)

    @rule(index=keys_index, token=tokens, where=unparker_place)
    def unpark_all(self, index: int, token: int, where: int | None) -> None:
        key = self.keys[index]
        queue = self.queues[key]
        assert self._run(where, lambda: core.unpark_all(key, token)) == len(queue)
        self._expect_woken(queue, token)
        self.queues[key] = []

    @rule(
        source=keys_index,
        destination=keys_index,
        op=st.sampled_from(RequeueOp),
        token=tokens,
        where=unparker_place,
    )
    def unpark_requeue(self, source: int, destination: int, op: RequeueOp, token: int, where: int | None) -> None:
        key_from, key_to = self.keys[source], self.keys[destination]
        queue = self.queues[key_from]
        seen: list[tuple[RequeueOp, UnparkResult]] = []
        result = self._run(
            where,
            lambda: core.unpark_requeue(key_from, key_to, lambda: op, lambda o, r: seen.append((o, r)) or token),
        )
        expected = expect_unpark_requeue(queue, op, result, seen)
        if expected is None:
            return
        woken, moved = expected
        for actor in moved:
            actor.moved = True
            actor.key = key_to
        remaining = [a for a in queue if a not in woken and a not in moved]
        self.queues[key_from] = remaining
        self.queues[key_to] = self.queues[key_to] + moved if key_to != key_from else remaining + moved
        self._expect_woken(woken, token)

    @rule(
        index=keys_index,
        decisions=st.lists(st.sampled_from(FilterOp), min_size=MAX_PARKED, max_size=MAX_PARKED),
        token=tokens,
        where=unparker_place,
    )
    def unpark_filter(self, index: int, decisions: list[FilterOp], token: int, where: int | None) -> None:
        key = self.keys[index]
        queue = self.queues[key]
        calls = iter(decisions)
        offered: list[int] = []

        def decide(park_token: int) -> FilterOp:
            offered.append(park_token)
            return next(calls)

        seen: list[UnparkResult] = []
        result = self._run(where, lambda: core.unpark_filter(key, decide, lambda r: seen.append(r) or token))
        chosen, have_more, expected_offers = [], False, []
        for actor, decision in zip(queue, decisions):
            expected_offers.append(actor.park_token)
            if decision is FilterOp.Unpark:
                chosen.append(actor)
            else:
                have_more = True
                if decision is FilterOp.Stop:
                    break
        assert offered == expected_offers
        assert seen == [result]
        assert result.unparked_threads == len(chosen)
        assert result.requeued_threads == 0
        assert result.have_more_threads is have_more
        if chosen and chosen[0].moved:
            assert result.be_fair
        self.queues[key] = [a for a in queue if a not in chosen]
        self._expect_woken(chosen, token)

    @precondition(lambda self: self._parked_tasks())
    @rule(pick=picks)
    def cancel_task(self, pick: int) -> None:
        """``task.cancel()`` on a parked task: it leaves as at a timeout, its timed_out runs."""
        tasks = self._parked_tasks()
        actor = tasks[pick % len(tasks)]
        assert actor.loop is not None and actor.task is not None
        actor.loop.loop.call_soon_threadsafe(actor.task.cancel)
        was_last = self._remove(actor)
        self._expect_left_as_timed_out(actor, asyncio.CancelledError, was_last)

    @precondition(lambda self: self._parked_tasks())
    @rule(pick=picks, token=tokens, cancel_first=st.booleans())
    def cancel_task_an_unparker_took(self, pick: int, token: int, cancel_first: bool) -> None:
        """An unparker takes a task off its queue, and the task is cancelled around the wake-up.

        The task's loop is held while both happen, so the unparker always takes the task
        off its queue (a cancel sent first still waits in the loop's queue), and no
        ``timed_out`` runs.  A cancel the loop runs first ends the wait: the task raises
        CancelledError and ``interrupted_result`` is ``Unparked(token)``, what the
        unparker handed over.  A cancel sent after the wake-up finds the wait over (a
        wake from another thread steps the task in the loop iteration that delivers it):
        the task returns ``Unparked(token)``.
        """
        tasks = self._parked_tasks()
        actor = tasks[pick % len(tasks)]
        assert actor.loop is not None and actor.task is not None
        key = actor.key
        queue = self.queues[key]
        with actor.loop.held():
            if cancel_first:
                actor.loop.loop.call_soon_threadsafe(actor.task.cancel)
            result = core.unpark_filter(
                key,
                lambda park_token: FilterOp.Unpark if park_token == actor.park_token else FilterOp.Skip,
                lambda r: token,
            )
            if not cancel_first:
                actor.loop.loop.call_soon_threadsafe(actor.task.cancel)
        assert result.unparked_threads == 1 and result.requeued_threads == 0
        assert result.have_more_threads is (len(queue) > 1)
        if actor.moved:
            assert result.be_fair
        self._remove(actor)
        outcome = actor.outcome()
        if cancel_first:
            assert outcome[0] == "raised" and type(outcome[1]) is asyncio.CancelledError, (actor, outcome)
            assert outcome[2] == Unparked(token), (actor, outcome)
        else:
            assert outcome == ("returned", Unparked(token)), (actor, outcome)
        assert actor.timed_out_calls == []

    @precondition(lambda self: self._parked())
    @rule(pick=picks, of_task=st.booleans())
    def cancel_park(self, pick: int, of_task: bool) -> None:
        """``cancel_park`` of a parked thread or task: it raises the exception, left as at a timeout."""
        parked = [actor for actor in self._parked() if actor.is_task is of_task] or self._parked()
        actor = parked[pick % len(parked)]
        exc = LookupError(f"cancelled by the model: {actor}")
        assert core.cancel_park(actor.ident(), exc) is True
        was_last = self._remove(actor)
        assert self._expect_left_as_timed_out(actor, LookupError, was_last) is exc

    # --- after every step ----------------------------------------------------------------

    @invariant()
    def queues_match_the_model(self) -> None:
        for key, queue in self.queues.items():
            order: list[int] = []
            core.unpark_filter(key, lambda park_token: order.append(park_token) or FilterOp.Skip, lambda r: 0)
            assert order == [actor.park_token for actor in queue]
            assert core.parked_count(key) == len(queue)
            assert not any(actor.done() for actor in queue)
        ours = set(self.keys)
        snapshot: dict[int, list[tuple[int, int, object, bool]]] = {key: [] for key in self.keys}
        for entry in core.parked_threads():
            if entry.key in ours:
                snapshot[entry.key].append((entry.ident, entry.park_token, entry.task, entry.timed))
        for key, queue in self.queues.items():
            expected = []
            for actor in queue:
                ident, task = actor.entry()
                expected.append((ident, actor.park_token, task, True))
            assert snapshot[key] == expected

    def teardown(self) -> None:
        try:
            for key in self.keys:
                core.unpark_all(key, 1)
            for actor in self.everyone:
                actor.outcome()
            for key in self.keys:
                assert core.parked_count(key) == 0
        finally:
            for loop in self.loops:
                loop.stop()


ThreadsAndTasksModel.TestCase.settings = settings(
    max_examples=40 if QUICK else 150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_threads_and_tasks_match_the_model = ThreadsAndTasksModel.TestCase
