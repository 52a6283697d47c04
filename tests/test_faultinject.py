"""The fault injector itself: it reads this interpreter's bytecode right, or fails loudly.

An injector that misreads a ``with`` block's exit or a plain ``return`` raises where no
signal can land and strands a lock: these tests catch that on every Python the suite runs on,
before the fault-injection tests of the lot do it by hanging.
"""

from __future__ import annotations

import dis
import importlib.util
import os
import threading
from types import ModuleType

import pytest

import faultinject
from faultinject import FaultInjector, Injected, UnknownBytecode, at_every_line, check_understood

PACKAGE_DIR = os.path.dirname(faultinject.CORE_DIR)

# Every shape of a line the injector must skip.  A with block's normal exit: an injection there
# would skip ``__exit__`` and strand the lock, which no signal can do.  A plain return (marked
# "no injection here"): an injection there would be raised outside an enclosing try (see
# faultinject's docstring), which no signal can do either; each such line must never fire.
SOURCE = """
def with_block(lock, box):
    with lock:
        box.append(1)
    box.append(2)

def with_return(lock, box):
    with lock:
        box.append(1)
        return box

def with_return_constant(lock, box):
    with lock:
        box.append(1)
        return None

def return_local(lock, value):
    lock.locked()
    return value  # no injection here

def return_none(lock):
    lock.locked()
    return None  # no injection here

def return_true(lock):
    lock.locked()
    return True  # no injection here

def return_small_int(lock):
    lock.locked()
    return 1  # no injection here

def return_global(lock):
    lock.locked()
    return GLOBAL  # no injection here

GLOBAL = object()

def bare_return(lock):
    lock.locked()
    return  # no injection here
"""
NO_INJECTION_LINES = {
    number for number, line in enumerate(SOURCE.splitlines(), start=1) if line.endswith("# no injection here")
}


@pytest.fixture
def shapes(tmp_path) -> ModuleType:
    path = tmp_path / "shapes.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("shapes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = [
    ("with_block", lambda lock: (lock, [])),
    ("with_return", lambda lock: (lock, [])),
    ("with_return_constant", lambda lock: (lock, [])),
    ("return_local", lambda lock: (lock, object())),
    ("return_none", lambda lock: (lock,)),
    ("return_true", lambda lock: (lock,)),
    ("return_small_int", lambda lock: (lock,)),
    ("return_global", lambda lock: (lock,)),
    ("bare_return", lambda lock: (lock,)),
]


@pytest.mark.parametrize("name, arguments", CASES, ids=[name for name, _ in CASES])
def test_no_injection_where_no_signal_can_land(shapes, name, arguments):
    function = getattr(shapes, name)
    folder = os.path.dirname(shapes.__file__)
    fired_lines = []

    def scenario(target):
        lock = threading.Lock()
        injector = FaultInjector(target, dirs=(folder,))
        try:
            injector.run(lambda: function(*arguments(lock)))
        except Injected:
            pass
        assert not lock.locked(), f"an injection at {injector.fired_at} left the lock held"
        if injector.fired_at is not None:
            fired_lines.append(injector.fired_at[1])
        return injector

    at_every_line(scenario, minimum=1)
    assert NO_INJECTION_LINES.isdisjoint(fired_lines), f"injected at a plain return: {sorted(fired_lines)}"


def test_the_package_and_the_tests_are_understood():
    faultinject.check_sources_understood((PACKAGE_DIR, os.path.dirname(faultinject.__file__)))


def test_an_unknown_load_fails_loudly(monkeypatch):
    # As if this version loaded a constant with an instruction the injector was never told about.
    code = compile("x = 1\n", "<test>", "exec")
    load = next(i.opname for i in dis.get_instructions(code) if i.opname.startswith("LOAD_"))
    monkeypatch.setattr(faultinject, "KNOWN", faultinject.KNOWN - {load})
    with pytest.raises(UnknownBytecode, match=load):
        check_understood(code)


def test_an_unrecognised_with_exit_fails_loudly(monkeypatch):
    # As if this version's with-exit sequence loaded None some other way.
    monkeypatch.setattr(faultinject, "CONSTANT_LOADS", frozenset())
    monkeypatch.setattr(faultinject, "_exit_offsets_cache", {})
    with pytest.raises(UnknownBytecode, match="with block"):
        check_understood(compile("def f(lock):\n    with lock:\n        pass\n", "<test>", "exec"))


def test_a_test_that_leaves_a_bucket_lock_held_fails_at_once(pytester):
    # The conftest's check, run on a test that strands a bucket lock: that test fails (it does not
    # hang) and the next test, which parks on the same bucket, still runs.
    pytester.makeconftest(open(os.path.join(os.path.dirname(__file__), "conftest.py"), encoding="utf-8").read())
    pytester.makepyfile(
        """
        from parking_lot import core

        def test_strands():
            core.state.table.bucket_for(12345).lock.acquire()

        def test_parks_after():
            assert core.park(12345, timeout=0.001) is core.TimedOut
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*left the parking lot's locks held: bucket*"])


# --- the "one-step" lines -------------------------------------------------------------------


def _lines_with_several_statements(path: str) -> set[int]:
    """Lines of *path* where a statement starts on the line another statement starts or a
    compound statement's header sits (``a; b``, ``if x: y``): steps joined on purpose."""
    import ast

    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    starts: dict[int, int] = {}
    joined = set()
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                if isinstance(node, ast.stmt) and block[0].lineno == node.lineno:
                    joined.add(node.lineno)  # `if x: y`
                for statement in block:
                    starts[statement.lineno] = starts.get(statement.lineno, 0) + 1
    joined.update(line for line, count in starts.items() if count > 1)
    return joined


def _package_files() -> list[str]:
    return [
        os.path.join(folder, name)
        for folder, _, names in os.walk(PACKAGE_DIR)
        for name in names
        if name.endswith(".py")
    ]


def test_every_joined_line_is_marked_with_its_invariant_and_every_mark_is_on_one():
    marked = faultinject.one_step_lines(PACKAGE_DIR)
    joined = {(path, line) for path in _package_files() for line in _lines_with_several_statements(path)}
    assert joined, "no joined lines found: is the parser working?"
    unmarked = sorted(f"{os.path.relpath(p, PACKAGE_DIR)}:{n}" for p, n in joined - marked.keys())
    assert not unmarked, f"statements joined with ';' or ':' but no '# one-step: <invariant>': {unmarked}"
    stale = sorted(f"{os.path.relpath(p, PACKAGE_DIR)}:{n}" for p, n in marked.keys() - joined)
    assert not stale, f"'# one-step:' on a line that holds one statement: {stale}"
    unnamed = sorted(f"{os.path.relpath(p, PACKAGE_DIR)}:{n}" for (p, n), why in marked.items() if len(why.split()) < 3)
    assert not unnamed, f"'# one-step:' must name the invariant it protects (a few words at least): {unnamed}"


def test_no_lint_code_stands_for_the_marker():
    for path in _package_files():
        with open(path, encoding="utf-8") as source:
            for number, line in enumerate(source, 1):
                assert "noqa: E70" not in line, f"{path}:{number}: use '# one-step: <invariant>' instead"


def test_the_joined_line_check_can_fail(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("a = 1; b = 2\nif a: b = 3\nc = 4\nwhile c: c -= 1; break  # one-step: c counts down once\n")
    assert _lines_with_several_statements(str(sample)) == {1, 2, 4}
    marked = faultinject.one_step_lines(str(tmp_path))
    assert marked == {(str(sample), 4): "c counts down once"}
