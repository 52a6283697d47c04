"""Every program in examples/ runs, exits 0 and prints what it claims to show."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import BOUND, run_child, subprocess_env

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
EXPECTED = {
    "01_futex_style_wait.py": "each saw the new value: [42, 42, 42]",
    "02_bounded_queue.py": "took 500500 in all",
    "03_read_mostly_cache.py": "10 computations",
    "04_once_and_poisoning.py": "state after recovery: Done",
    "05_deadlock_report.py": "waits for:",
    "06_windows_keyed_event.py": "keyed events" if sys.platform != "win32" else "woken by the other thread",
    "07_fair_vs_unfair.py": "FairMutex",
    "08_threads_and_tasks_share_a_cache.py": "each value computed once",
    "09_asyncio_drop_in.py": "consumed 100 items, sum 5050",
}


def test_every_example_is_listed():
    assert sorted(name for name in os.listdir(EXAMPLES) if name.endswith(".py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name):
    result = run_child(
        [sys.executable, os.path.join(EXAMPLES, name)],
        capture_output=True,
        text=True,
        timeout=max(BOUND, 60),
        env=subprocess_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert EXPECTED[name] in result.stdout, result.stdout
