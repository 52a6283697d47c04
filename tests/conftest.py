"""Shared helpers: bounded waits only, so that a bug fails a test instead of hanging CI."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import parking_lot
from parking_lot import thread_parker

pytest_plugins = ["pytester"]  # tests/test_faultinject.py runs the conftest's own checks on a test file

# A runner started in the background by a shell without job control (`cmd &` in a script) has
# SIGINT ignored, and Python then leaves it ignored: the Ctrl-C tests would send signals nobody
# sees.  Restore Python's own handler, so those tests do not depend on how the run was started;
# the children the tests start then begin with SIGINT at its default, as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: "full" (the default, and the README's test command): every long randomized test at its full
#: length.  "quick" (CI's other interpreter lanes, which run the same suite twenty times over):
#: the long randomized deadlock-records runs are shortened, and the check that they reached every
#: path is left to the full run.  Nothing else changes.
TEST_DEPTH = os.environ.get("PARKING_LOT_TEST_DEPTH", "full")
QUICK = TEST_DEPTH == "quick"

#: Generous bound for anything that should happen "soon" (slow CI, Wine).
BOUND = float(os.environ.get("PARKING_LOT_TEST_BOUND", "30"))
AVAILABLE_BACKENDS = thread_parker.available_backends()
ON_WINDOWS = sys.platform == "win32"


def wait_until(predicate: Callable[[], bool], timeout: float = BOUND, what: str = "condition") -> None:
    """Poll *predicate* until true; fail the test after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.0005)


class Worker(threading.Thread):
    """A thread that records its target's result or exception; join() is bounded."""

    def __init__(self, target: Callable[..., Any], *args: Any, name: str | None = None) -> None:
        super().__init__(daemon=True, name=name)
        self._fn = target
        self._args = args
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = self._fn(*self._args)
        except BaseException as exc:  # reported by finish()
            self.error = exc
        finally:
            self.done.set()

    def finish(self, timeout: float = BOUND) -> Any:
        """Join within *timeout* (fail otherwise) and return the result or raise the error."""
        self.join(timeout)
        if self.is_alive():
            pytest.fail(f"thread {self.name} still running after {timeout}s (lost wake-up or deadlock)")
        if self.error is not None:
            raise self.error
        return self.result


def sigint_main_thread() -> None:
    """Deliver a real SIGINT to the main thread (on Windows: CPython's C handler, as Ctrl-C does)."""
    if ON_WINDOWS:
        signal.raise_signal(signal.SIGINT)
    else:
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


#: The folder the package under test was imported from (a checkout, or site-packages).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(parking_lot.__file__)))


def subprocess_env() -> dict[str, str]:
    """The environment for a child Python that must import the same parking_lot as this process.

    The child gets PACKAGE_PARENT first on its path, so ``python -m parking_lot`` or an example
    script tests the copy the suite is testing, whatever the child's working folder holds.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, env.get("PYTHONPATH")]))
    return env


#: Windows' ERROR_INTERNAL_ERROR: Wine's CreateProcess fails with it now and then under load (seen
#: once in ~30 child processes of a busy Windows lane); a real Windows does not.
_WINE_SPAWN_HICCUP = 1359


def run_child(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(args, **kwargs)``, retried (three tries) when the spawn itself fails with
    ERROR_INTERNAL_ERROR under Wine.  Nothing else is retried: the child's own outcome is the test's."""
    for attempt in range(3):
        try:
            return subprocess.run(args, **kwargs)
        except OSError as exc:
            if getattr(exc, "winerror", None) != _WINE_SPAWN_HICCUP or attempt == 2:
                raise
    raise AssertionError("unreachable")


_TRIO_PROBE: list[str | None] = []


def trio_or_skip() -> Any:
    """Import trio for a test, or skip it saying why: not installed, or unable to run here.

    trio's Windows I/O manager polls sockets through AFD, which Wine does not provide
    (``trio.run`` fails with WinError 10045), so under the Windows lane trio tests skip
    with that reason instead of failing on something outside this project.  The probe
    (one ``trio.run``) runs once per session.
    """
    trio = pytest.importorskip("trio")
    if not _TRIO_PROBE:
        try:
            trio.run(trio.sleep, 0)
            _TRIO_PROBE.append(None)
        except OSError as exc:
            _TRIO_PROBE.append(f"trio cannot run here ({exc}); under Wine its I/O manager lacks AFD polling")
    if _TRIO_PROBE[0] is not None:
        pytest.skip(_TRIO_PROBE[0], allow_module_level=True)
    return trio


def start(target: Callable[..., Any], *args: Any, name: str | None = None) -> Worker:
    worker = Worker(target, *args, name=name)
    worker.start()
    return worker


def lot_lock_held(lock: Any) -> bool:
    """Whether *lock*, one of the lot's (a ``_thread.RLock``: ``locked()`` only from 3.14 on), is held
    by any thread, this one included."""
    if lock._is_owned():
        return True
    if lock.acquire(False):
        lock.release()
        return False
    return True


def _held_lot_locks() -> list[tuple[str, Any, Any]]:
    """The parking lot's own locks (every bucket lock, the thread registry's) that are held now:
    (name, the object holding the lock, the lock's attribute name)."""
    from parking_lot import core

    state = core.state
    locks = [(f"bucket {index}", bucket, "lock") for index, bucket in enumerate(state.table.buckets)]
    locks.append(("thread registry", state, "_threads_lock"))
    return [(name, owner, attr) for name, owner, attr in locks if lot_lock_held(getattr(owner, attr))]


@pytest.fixture(autouse=True)
def _no_lot_lock_left_held() -> Iterator[None]:
    """Fail the test that leaves a lock of the lot held, and free it so the rest of the run goes on.

    Another thread may hold a bucket lock for a moment as the test ends, so a lock counts as left
    held only if it stays held for a second.  Without this check the next test that parks on that
    bucket would hang until CI's time runs out.
    """
    yield
    deadline = time.monotonic() + 1.0
    while (held := _held_lot_locks()) and time.monotonic() < deadline:
        time.sleep(0.001)
    if held:
        for _, owner, attr in held:
            lock = getattr(owner, attr)
            if lock._is_owned():
                while lock._is_owned():
                    lock.release()
            else:  # held by another thread: only it may release an RLock; the lot gets a fresh one
                setattr(owner, attr, _thread.RLock())
        pytest.fail(f"the test left the parking lot's locks held: {', '.join(name for name, _, _ in held)}")


@pytest.fixture(params=AVAILABLE_BACKENDS)
def parker_class(request: pytest.FixtureRequest) -> Iterator[Callable[[], thread_parker.ThreadParker]]:
    """Each parker backend this machine can run, one test run per backend."""
    yield thread_parker.parker_class(request.param)
