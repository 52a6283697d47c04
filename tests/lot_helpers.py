"""Helpers for the parking-lot tests: park threads, wait until they are really parked."""

from __future__ import annotations

import itertools
from typing import Any

from conftest import BOUND, Worker, start, wait_until
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
    return not any(bucket.lock.locked() for bucket in core.state.table.buckets)
