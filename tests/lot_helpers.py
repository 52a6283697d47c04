"""Helpers for the parking-lot tests: park threads, wait until they are really parked, and the
models' checks of an unparker's result against a per-key FIFO queue."""

from __future__ import annotations

import itertools
from typing import Any

from conftest import BOUND, Worker, lot_lock_held, start, wait_until
from parking_lot import core

_keys = itertools.count(1 << 40)


def fresh_key() -> int:
    """A key no other test uses (spaced so that key + 1 is free too)."""
    return next(_keys) * 2


def wait_parked(key: int, count: int) -> None:
    """Wait (bounded) until exactly *count* threads are parked on *key*."""
    wait_until(lambda: core.parked_count(key) == count, what=f"{count} threads parked on {key:#x}")


def park_thread(key: int, **kwargs: Any) -> Worker:
    """Start a thread parked on *key* (timeout defaults to BOUND so nothing hangs) and wait for it."""
    kwargs.setdefault("timeout", BOUND)
    before = core.parked_count(key)
    worker = start(lambda: core.park(key, **kwargs))
    wait_until(
        lambda: core.parked_count(key) > before or worker.done.is_set(),
        what=f"a thread to park on {key:#x}",
    )
    return worker


def all_bucket_locks_free() -> bool:
    return not any(lot_lock_held(bucket.lock) for bucket in core.state.table.buckets)


# --- the state-machine models' expectations (tests/test_core_model.py, tests/test_core_model_tasks.py) ---
# A model keeps, per key, the FIFO list of its parked actors; each has ``moved``: whether
# unpark_requeue moved it during this park (waking it first must report be_fair).


def expect_unpark_one(queue: list[Any], result: core.UnparkResult, seen: list[core.UnparkResult], with_callback: bool) -> Any:
    """Check ``unpark_one``'s *result* (and what its callback *seen*) against the model's *queue*;
    take the woken actor off *queue* and return it (None when nobody was parked)."""
    assert (result.unparked_threads, result.requeued_threads) == (1 if queue else 0, 0)
    assert result.have_more_threads is (len(queue) > 1)
    if with_callback:
        assert seen == [result]
    if not queue:
        assert result == core.UnparkResult()
        return None
    if queue[0].moved:
        assert result.be_fair
    return queue.pop(0)


def expect_unpark_requeue(
    queue: list[Any], op: core.RequeueOp, result: core.UnparkResult, seen: list[tuple[core.RequeueOp, core.UnparkResult]]
) -> tuple[list[Any], list[Any]] | None:
    """Check ``unpark_requeue``'s *result* (and what its callback *seen*) for *op* against the model's
    source *queue*; return the actors it woke and those it moved, in queue order (None for Abort)."""
    if op is core.RequeueOp.Abort:
        assert result == core.UnparkResult() and seen == []
        return None
    wakes = op in (core.RequeueOp.UnparkOne, core.RequeueOp.UnparkOneRequeueRest)
    woken = queue[:1] if wakes else []
    rest = queue[len(woken) :]
    moved = {core.RequeueOp.UnparkOne: [], core.RequeueOp.RequeueOne: rest[:1]}.get(op, rest)
    one_only = op in (core.RequeueOp.UnparkOne, core.RequeueOp.RequeueOne)
    assert seen == [(op, result)]
    assert result.unparked_threads == len(woken)
    assert result.requeued_threads == len(moved)
    assert result.have_more_threads is (one_only and len(queue) > 1)
    if woken and woken[0].moved:
        assert result.be_fair
    return woken, moved
