"""``python -m parking_lot``: info, bench, demo; help everywhere; errors as one line and a non-zero exit.

The contract (``parking_lot/__main__.py``'s docstring): a usage error is one line,
``python -m parking_lot[ COMMAND]: error: MESSAGE (see --help)``, status 2, before any
work; Ctrl-C ends every command with status 130 and one line, ``...: interrupted``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import BOUND, ON_WINDOWS, run_child, subprocess_env

USAGE_ERROR = re.compile(r"python -m parking_lot( [a-z]+)?: error: [^\n]+ \(see --help\)\n")
#: How long after SIGINT a command may take to exit here (the promise is a second; the
#: machines running this suite are shared and slow, so the bound is generous).
EXIT_BOUND = 10.0


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_child(
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
    assert USAGE_ERROR.fullmatch(result.stderr), result.stderr
    assert result.stderr.startswith("python -m parking_lot bench: error: no scenario matches")


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


BAD_VALUES = [
    ("demo", "--seconds", "0"),
    ("demo", "--seconds", "-0.0"),
    ("demo", "--seconds", "-1"),
    ("demo", "--seconds", "inf"),
    ("demo", "--seconds", "-inf"),
    ("demo", "--seconds", "nan"),
    ("demo", "--seconds", "1e300"),
    ("demo", "--seconds", "86401"),
    ("demo", "--seconds", "x"),
    ("demo", "--seconds", ""),
    ("demo", "--threads", "1"),
    ("demo", "--threads", "65"),
    ("demo", "--threads", "2.5"),
    ("demo", "--threads", "inf"),
    ("demo", "--threads", "-4"),
    ("demo", "extra"),
    ("bench", "--only", ""),
    ("bench", "--only", "  "),
    ("bench", "--only"),
    ("bench", "--no-such-option"),
    ("info", "--verbose"),
    ("frobnicate",),
    (),
]


@pytest.mark.parametrize("args", BAD_VALUES, ids=lambda args: " ".join(args) or "no command")
def test_bad_input_is_one_line_and_exit_2(args):
    result = run(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert USAGE_ERROR.fullmatch(result.stderr), result.stderr
    assert result.stdout == ""  # nothing ran
    command = args[0] if args and args[0] in ("info", "bench", "demo") else None
    assert result.stderr.startswith(f"python -m parking_lot {command}: " if command else "python -m parking_lot: ")


# --- output files: checked before the benchmark runs ------------------------------------


def _unwritable(tmp_path, kind):
    if kind == "missing folder":
        return str(tmp_path / "no-such-folder" / "x.out")
    if kind == "a folder":
        return str(tmp_path)
    if kind == "under a file":
        (tmp_path / "file").write_text("")
        return str(tmp_path / "file" / "x.out")
    if kind == "read-only folder":
        if ON_WINDOWS or os.geteuid() == 0:
            pytest.skip("root (or Windows) writes to a read-only folder: no such path to try here")
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        return str(folder / "x.out")
    if kind == "empty name":
        return ""
    raise AssertionError(kind)


UNWRITABLE = ["missing folder", "a folder", "under a file", "read-only folder", "empty name"]


@pytest.mark.parametrize("kind", UNWRITABLE)
@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_bench_refuses_an_unwritable_output_before_running(tmp_path, option, kind):
    path = _unwritable(tmp_path, kind)
    if option == "--plot" and path:
        path += ".png"
    result = run("bench", "--quick", "--only", "Event.wait", option, path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert USAGE_ERROR.fullmatch(result.stderr), result.stderr
    assert option in result.stderr
    assert result.stdout == "" and "[1/1]" not in result.stderr  # the benchmark did not run


def test_bench_refuses_one_file_for_json_and_plot(tmp_path):
    path = str(tmp_path / "out.png")
    result = run("bench", "--quick", "--only", "Event.wait", "--json", path, "--plot", path)
    assert result.returncode == 2 and USAGE_ERROR.fullmatch(result.stderr), result.stderr
    assert "same file" in result.stderr
    assert not os.path.exists(path)


def test_bench_output_check_leaves_files_as_they_were(tmp_path):
    """The check opens for appending and removes what it created: no trace when a later check fails."""
    existing, new = tmp_path / "existing.json", tmp_path / "new.json"
    existing.write_text("keep me")
    for path in (existing, new):
        result = run("bench", "--json", str(path), "--only", "no-such-scenario")
        assert result.returncode == 2 and "no scenario matches" in result.stderr
    assert existing.read_text() == "keep me"
    assert not new.exists()


def test_bench_plot_name_must_be_a_format_matplotlib_writes(tmp_path):
    pytest.importorskip("matplotlib")
    result = run("bench", "--quick", "--only", "Event.wait", "--plot", str(tmp_path / "x.json"))
    assert result.returncode == 2 and USAGE_ERROR.fullmatch(result.stderr), result.stderr
    assert "format" in result.stderr and result.stdout == ""


# --- help ----------------------------------------------------------------------------------


def _description(help_text):
    """The paragraph between a --help's usage and its options."""
    head = re.split(r"\n(?:options|optional arguments|positional arguments):", help_text)[0]
    usage, _, rest = head.partition("\n\n")
    return " ".join(rest.split())


@pytest.mark.parametrize("command", ["info", "bench", "demo"])
def test_every_command_says_what_it_does(command):
    result = run(command, "--help")
    assert result.returncode == 0
    description = _description(result.stdout)
    assert len(description) > 40, result.stdout
    top = run("--help").stdout
    assert re.search(rf"^\s+{command}\s+\S", top, re.M), top  # listed with a line of help


def test_descriptions_differ():
    assert len({_description(run(command, "--help").stdout) for command in ("info", "bench", "demo")}) == 3


def test_demo_help_names_the_ranges():
    text = " ".join(run("demo", "--help").stdout.split())
    assert "2-64" in text and "86400" in text


# --- Ctrl-C: a real SIGINT to a child, for every command -----------------------------------


class _Child:
    """A child Python whose stdout and stderr are read as they come, chunk by chunk, not line by line
    (bench's progress dots end no line), so no pipe fills up and a marker is seen when it is written."""

    def __init__(self, argv):
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env())
        self.out: list[str] = []
        self.err: list[str] = []
        self.changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, into):
        for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
            with self.changed:
                into.append(chunk.decode(errors="replace"))
                self.changed.notify_all()

    def wait_for_output(self, marker, timeout=BOUND):
        """Until *marker* shows on stdout or stderr (fail after *timeout* s, or if the child ends)."""
        with self.changed:
            ok = self.changed.wait_for(
                lambda: marker in "".join(self.out + self.err) or self.process.poll() is not None, timeout
            )
            seen = "".join(self.out + self.err)
        assert ok and marker in seen, f"never saw {marker!r}; output so far: {seen!r}"

    def interrupt(self):
        """SIGINT, then the exit status and the seconds it took to exit (fails, killing it, if it hangs)."""
        signalled = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            status = self.process.wait(max(BOUND, EXIT_BOUND))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(BOUND)
            pytest.fail(f"still running {max(BOUND, EXIT_BOUND)} s after SIGINT; output: {self.out + self.err!r}")
        elapsed = time.monotonic() - signalled
        for reader in self._readers:
            reader.join(BOUND)
        return status, elapsed

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(BOUND)


def _interrupted(argv, marker):
    child = _Child(argv)
    try:
        child.wait_for_output(marker)
        status, elapsed = child.interrupt()
    finally:
        child.close()
    return status, elapsed, "".join(child.err)


def _assert_interrupted(status, elapsed, stderr, command):
    assert status == 130, stderr
    assert elapsed < EXIT_BOUND, f"took {elapsed:.1f} s to exit after SIGINT"
    assert stderr.endswith(f"python -m parking_lot {command}: interrupted\n"), stderr
    assert "Traceback" not in stderr, stderr


needs_sigint = pytest.mark.skipif(ON_WINDOWS, reason="SIGINT to a child process is a POSIX signal")

#: A child that runs the real ``python -m parking_lot`` (the package's __main__) with one of the
#: functions the command calls first replaced by one that announces itself and sleeps: the
#: SIGINT then lands while the command is certainly running, however short the command is.
_STALLED = """
import runpy, sys, time
import {module} as target

def stalled(*args, **kwargs):
    print("stalled", file=sys.stderr, flush=True)
    while True:  # short sleeps: one long sleep can miss a SIGINT that lands just before it starts
        time.sleep(0.05)

target.{function} = stalled
sys.argv = ["parking_lot", *{argv!r}]
runpy.run_module("parking_lot", run_name="__main__", alter_sys=True)
"""

STALL_POINTS = {
    "info": ("parking_lot.thread_parker", "backend_name", ["info"]),
    "bench": ("parking_lot.bench", "run", ["bench", "--quick"]),
}


@needs_sigint
@pytest.mark.parametrize("command", ["info", "bench", "demo"])
def test_ctrl_c_ends_every_command_with_130(command):
    if command == "demo":  # long enough by itself: no stall needed
        argv, marker = [sys.executable, "-m", "parking_lot", "demo", "--seconds", "600"], "threads each take the lock"
    else:
        module, function, args = STALL_POINTS[command]
        argv, marker = [sys.executable, "-c", _STALLED.format(module=module, function=function, argv=args)], "stalled"
    status, elapsed, stderr = _interrupted(argv, marker)
    _assert_interrupted(status, elapsed, stderr, command)


@needs_sigint
@pytest.mark.parametrize(
    "scenario", ["Barrier, 8 threads", "compat: Event ping-pong", "compat: Condition ping-pong", "notify_all to 16",
                 "4 threads, shared counter (fair)"]
)
def test_ctrl_c_in_the_middle_of_a_bench_scenario_ends_it(scenario):
    """The interrupt lands while helper threads wait for the main thread: they must not hold the exit."""
    status, elapsed, stderr = _interrupted(
        [sys.executable, "-m", "parking_lot", "bench", "--only", scenario], "[1/"
    )
    _assert_interrupted(status, elapsed, stderr, "bench")


def _interrupted_then(error):
    """A command handler that is interrupted and whose unwinding then raises *error* (as
    ``threading.Condition.wait`` did under ``Thread.start`` in CPython 3.12.1: ``RuntimeError:
    release unlocked lock``), or, for ``error=None``, that raises the interrupt alone."""
    def handler(args):
        try:
            raise KeyboardInterrupt
        finally:
            if error is not None:
                raise error
    return handler


@pytest.mark.parametrize("command", ["info", "bench", "demo"])
def test_an_error_raised_while_ctrl_c_unwinds_a_command_still_ends_it_with_130(command, monkeypatch, capsys):
    """Regression (CI, 3.12.1): Ctrl-C landed inside the standard library's Thread.start, whose
    cleanup then raised RuntimeError; the command ended with a traceback and status 1."""
    from parking_lot import __main__ as cli

    monkeypatch.setattr(cli, f"_cmd_{command}", _interrupted_then(RuntimeError("release unlocked lock")))
    assert cli.main([command]) == cli.INTERRUPTED
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"python -m parking_lot {command}: while Ctrl-C unwound it: RuntimeError: release unlocked lock",
                     f"python -m parking_lot {command}: interrupted"]


def test_an_error_not_raised_by_an_interrupt_is_not_called_one(monkeypatch, capsys):
    """Neither an error of its own nor one that hid the interrupt on purpose (``raise ... from
    None``, as the benchmark's watchdog reports a hung scenario) becomes "interrupted"."""
    from parking_lot import __main__ as cli
    from parking_lot.bench import ScenarioHung

    def hung(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ScenarioHung("scenario 'x': no round finished") from None

    for handler, expected in ((_interrupted_then(None), None), (_raise(ValueError("own")), ValueError),
                              (hung, ScenarioHung)):
        monkeypatch.setattr(cli, "_cmd_info", handler)
        if expected is None:
            assert cli.main(["info"]) == cli.INTERRUPTED
            assert capsys.readouterr().err == "python -m parking_lot info: interrupted\n"
        else:
            with pytest.raises(expected):
                cli.main(["info"])
            assert "interrupted" not in capsys.readouterr().err


def _raise(error):
    def handler(args):
        raise error
    return handler


@needs_sigint
@pytest.mark.parametrize("threads", ["2", "16"])
def test_ctrl_c_while_demo_workers_run_ends_it(threads):
    """The workers are running (first results printed or not): they are told to stop."""
    status, elapsed, stderr = _interrupted(
        [sys.executable, "-m", "parking_lot", "demo", "--seconds", "600", "--threads", threads],
        "threads each take the lock",
    )
    _assert_interrupted(status, elapsed, stderr, "demo")


def test_installed_peers_run():
    from parking_lot import bench

    assert bench.check_peers() == []
