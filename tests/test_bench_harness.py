"""The benchmark harness fails loudly instead of hanging (parking_lot/bench.py).

A scenario whose helper thread never finishes, or whose round never ends, must raise
``bench.ScenarioHung`` naming the scenario (and, for a stalled round, print every thread's
stack first), so that ``python -m parking_lot bench`` cannot sit asleep forever.
"""

from __future__ import annotations

import threading
import time

import pytest

from conftest import BOUND
from parking_lot import bench


def _scenario(name: str, ours: bench.Candidate) -> bench.Scenario:
    return bench.Scenario(name, "ours", ours, "reference", lambda n: 0.001, 1, 1)


def test_a_helper_thread_that_never_finishes_is_named_not_waited_for():
    release = threading.Event()

    def stuck_partner(n: int) -> float:
        helper = threading.Thread(target=release.wait, args=(BOUND,), name="stuck partner", daemon=True)
        helper.start()
        bench._join([helper], "stuck_partner", bound=0.2)
        return 0.001

    try:
        with pytest.raises(bench.ScenarioHung, match=r"scenario 'a stuck scenario': stuck_partner: thread 'stuck partner'"):
            bench.run([_scenario("a stuck scenario", stuck_partner)], True, lambda text: None)
    finally:
        release.set()


def test_a_round_that_never_ends_prints_the_stacks_and_raises(capsys):
    never = threading.Lock()
    never.acquire()

    def stuck_round(n: int) -> float:
        # Short waits, so that the interrupt is seen between them on every platform (a SIGINT
        # also breaks a long one on POSIX); the watchdog fires long before BOUND.
        deadline = time.monotonic() + BOUND
        while not never.acquire(timeout=0.05) and time.monotonic() < deadline:
            pass
        return 0.001

    try:
        with pytest.raises(bench.ScenarioHung, match=r"scenario 'a stalled scenario': no round finished in 0.3s"):
            bench.run([_scenario("a stalled scenario", stuck_round)], True, lambda text: None, stall_bound=0.3)
    finally:
        never.release()
    err = capsys.readouterr().err
    assert "bench: 'a stalled scenario': no round finished in 0.3s; every thread's stack:" in err
    assert "in stuck_round" in err


def test_a_start_barrier_whose_partner_never_arrives_breaks():
    barrier = bench._start_barrier(2)
    assert barrier._timeout == bench.JOIN_BOUND  # the bound the harness relies on (CPython's attribute)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(0.05)


def test_a_folder_named_like_a_peer_is_not_taken_for_the_peer(tmp_path, monkeypatch):
    # A folder called like a peer (say, "aiologic", where its wheel was downloaded) in the
    # working directory imports as an empty namespace package when the peer is not installed:
    # it must count as absent (the row left out with a note), not crash the table with
    # AttributeError (seen with `bench` run from such a folder on 3.14t).
    from parking_lot import bench

    (tmp_path / "peer_not_installed_here").mkdir()
    (tmp_path / "peer_with_lock").mkdir()
    (tmp_path / "peer_with_lock" / "__init__.py").write_text("Lock = object\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert __import__("peer_not_installed_here")  # importable: a namespace package
    assert not bench._peer_available("peer_not_installed_here", "Lock")
    assert bench._peer_available("peer_with_lock", "Lock")
    assert not bench._peer_available("no_such_module_anywhere", "Lock")
