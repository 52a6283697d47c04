"""The task-to-task ping-pong rows of ``python -m parking_lot bench`` (parking_lot/bench.py).

Each candidate runs a few round trips for real (bounded: a lost wake-up fails the test instead
of hanging it), and the rows' check that the two sides really took turns fails when they do not.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest

from conftest import Worker
from parking_lot import aio, bench

ROWS = {
    "aio: Event ping-pong, 2 tasks": ("aio.Event", "asyncio.Event"),
    "Condvar ping-pong, 2 tasks": ("Mutex + Condvar (async twins)", "asyncio.Condition"),
    "aio: Condition ping-pong, 2 tasks": ("aio.Condition", "asyncio.Condition"),
}


def _finish(candidate: bench.Candidate, n: int) -> float:
    worker = Worker(candidate, n, name="ping-pong")
    worker.start()
    seconds: float = worker.finish()
    return seconds


@pytest.mark.parametrize("name", sorted(ROWS))
def test_the_row_is_in_the_table_and_both_candidates_run(name: str) -> None:
    rows = {scenario.name: scenario for scenario in bench.scenarios()[0]}
    scenario = rows[name]
    assert (scenario.ours_name, scenario.reference_name) == ROWS[name]
    for candidate in (scenario.ours, scenario.reference):
        assert _finish(candidate, 300) > 0


class _EventThatNeverWaits:
    """An Event whose wait() returns at once: the sides no longer take turns."""

    def __init__(self) -> None:
        self.flag = False

    def set(self) -> None:
        self.flag = True

    def clear(self) -> None:
        self.flag = False

    async def wait(self) -> bool:
        return True


def test_the_event_row_fails_when_the_sides_do_not_alternate() -> None:
    broken = types.SimpleNamespace(Event=_EventThatNeverWaits)
    with pytest.raises(AssertionError, match="aio event ping-pong: the sides did not alternate"):
        _finish(bench._aio_event_pingpong(broken), 20)


class _CondvarThatNeverWaits:
    async def wait_while_async(self, guard: Any, predicate: Any) -> None:
        await asyncio.sleep(0)  # returns whatever the predicate says

    def notify_one(self) -> bool:
        return False


def test_the_condvar_row_fails_when_the_sides_do_not_alternate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "Condvar", _CondvarThatNeverWaits)
    with pytest.raises(AssertionError, match="condvar ping-pong, 2 tasks: the sides did not alternate"):
        _finish(bench.condvar_pingpong_tasks, 20)


class _ConditionThatNeverWaits(aio.Condition):
    async def wait_for(self, predicate: Any) -> Any:
        return True


def test_the_condition_row_fails_when_the_sides_do_not_alternate() -> None:
    broken = types.SimpleNamespace(Condition=_ConditionThatNeverWaits)
    with pytest.raises(AssertionError, match="aio condition ping-pong: the sides did not alternate"):
        _finish(bench._aio_condition_pingpong(broken), 20)


def test_a_ctrl_c_before_the_loop_starts_the_coroutine_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    async def body(n: int) -> float:
        return 0.0

    def make(n: int) -> Any:
        made.append(body(n))
        return made[-1]

    def interrupted_run(coroutine: Any) -> float:
        raise KeyboardInterrupt

    monkeypatch.setattr(bench.asyncio, "run", interrupted_run)
    with pytest.raises(KeyboardInterrupt):
        bench._timed_on_a_loop(make)(1)
    assert made[0].cr_frame is None  # closed: no "coroutine was never awaited" warning later


def _breakdown_script() -> types.ModuleType:
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_task_pingpong.py"
    if not path.exists():  # an installed copy run from elsewhere has no benchmarks folder
        pytest.skip("benchmarks/ is not next to this test")
    spec = importlib.util.spec_from_file_location("bench_task_pingpong", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_breakdown_script_runs_every_row_including_the_floors() -> None:
    # benchmarks/bench_task_pingpong.py: the rows' bodies, the bare core ping-pong and the
    # floor Events (no lot; a cffi lot's least where the _atomics module is built) all complete
    # (bounded: a lost wake-up in a measuring stick fails here) and give a time per round trip.
    script = _breakdown_script()
    worker = Worker(script.round_trips, 200, 1, name="breakdown")
    worker.start()
    micros = worker.finish()
    expected = {"park_async / unpark_one alone", "asyncio.Event", "floor Event: asyncio future, no lot",
                "floor Event: TaskParker, no lot"}
    if script._atomics_built():
        expected.add("floor Event: a cffi lot's least")
    assert expected <= set(micros)
    assert all(value > 0 for value in micros.values()), micros
