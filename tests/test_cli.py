"""``python -m parking_lot``: info, bench, demo; help everywhere; errors as one line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import BOUND, subprocess_env


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parking_lot", *args], capture_output=True, text=True, timeout=max(BOUND, 120),
        env=subprocess_env(),
    )


@pytest.mark.parametrize("command", [[], ["info"], ["bench"], ["demo"]])
def test_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: python -m parking_lot" in result.stdout


def test_info_names_the_backend():
    result = run("info")
    assert result.returncode == 0
    assert "parker backend in use:" in result.stdout and "interpreter:" in result.stdout


def test_bench_only_with_json(tmp_path):
    out = tmp_path / "bench.json"
    result = run("bench", "--quick", "--only", "Semaphore", "Event.wait", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "compat: Semaphore acquire/release" in result.stdout and "ratio" in result.stdout
    assert "[1/2]" in result.stderr  # progress goes to stderr
    data = json.loads(out.read_text())
    assert data["environment"]["backend"] and data["environment"]["python"]
    names = [entry["scenario"] for entry in data["results"]]
    assert names == ["compat: Semaphore acquire/release", "compat: Event.wait, set event"]
    for entry in data["results"]:
        assert entry["ours_ops_per_second"] > 0 and entry["reference_ops_per_second"] > 0
        assert len(entry["ours_seconds"]) == 3
        assert entry["ratio"] == pytest.approx(entry["ours_ops_per_second"] / entry["reference_ops_per_second"])


def test_bench_unknown_scenario_is_one_line_and_non_zero():
    result = run("bench", "--only", "no-such-scenario")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no scenario matches") and result.stderr.count("\n") == 1


def test_bench_plot_without_matplotlib_says_so(tmp_path):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        result = run("bench", "--quick", "--only", "Event.wait", "--plot", str(tmp_path / "x.png"))
        assert result.returncode == 2 and "matplotlib" in result.stderr
    else:
        result = run("bench", "--quick", "--only", "Event.wait", "--plot", str(tmp_path / "x.png"))
        assert result.returncode == 0 and (tmp_path / "x.png").stat().st_size > 0


def test_demo_prints_per_thread_counts():
    result = run("demo", "--seconds", "0.1", "--threads", "3")
    assert result.returncode == 0
    assert result.stdout.count("thread 2:") == 2 and "FairMutex" in result.stdout


@pytest.mark.parametrize(
    "args", [("demo", "--seconds", "0"), ("demo", "--threads", "1"), ("demo", "--seconds", "x"), ("frobnicate",),
             ("bench", "--no-such-option")]
)
def test_bad_input_is_one_line_and_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "error:" in result.stderr, result.stderr


def test_installed_peers_run():
    from parking_lot import bench

    assert bench.check_peers() == []
