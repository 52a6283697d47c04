"""Fault injection for the parking lot: raise an exception at the N-th line of the core.

``FaultInjector(n).run(fn)`` runs *fn* with a trace function that counts the
'line' events of code in ``parking_lot/core/`` (or other folders of the package,
for the primitives' slow paths; only in the calling thread) and raises
:class:`Injected` at the *n*-th.  With ``n=None`` it only counts, which
tells a test how many points there are to try.

Two kinds of line event are skipped.  First, the one CPython emits when a ``with`` block
ends normally, just before it calls ``__exit__``.  An exception raised by a trace
function there makes CPython skip ``__exit__`` (a tracing artifact: no signal
handler can run at that point, since the interpreter checks for pending signals
only at calls, function entries and backward jumps), so it would "prove" that
``with lock:`` leaks locks.  Those events are recognised by the instructions at
``f_lasti``: the three ``None`` arguments of the ``__exit__`` call (``None, DUP_TOP,
DUP_TOP`` on 3.10), after any stack shuffles.  Second, a line that is nothing but
``return <name or constant>``: the interpreter does not check for signals between
loading the value and handing it to the caller, so no signal can arrive there, while
an exception raised by a trace function there is raised *outside* an enclosing
``try`` (CPython closes the ``try`` before the return), which again is a state no
real program can reach.

Both recognisers read bytecode, which changes with every CPython version (3.12 added
``RETURN_CONST``; 3.14 ``LOAD_FAST_BORROW`` and ``LOAD_SMALL_INT``; 3.15 loads ``None``,
``True`` and ``False`` with ``LOAD_COMMON_CONSTANT``).  A recogniser that misses a new
form injects where no signal can land and strands a lock, and every later test that
needs that lock hangs.  So the injector knows every instruction that loads a value,
returns or opens a ``with`` block on the versions it was checked on, and before
tracing it reads all the code it will trace: an instruction of those families that it
does not know raises :class:`UnknownBytecode` at once, naming the instruction and the
version, instead of letting a misread line hang the run.
"""

from __future__ import annotations

import dis
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any

from parking_lot import core

CORE_DIR = os.path.dirname(os.path.abspath(core.__file__))
RAW_DIR = os.path.join(os.path.dirname(CORE_DIR), "raw")


class Injected(Exception):
    """The exception the injector raises."""


class UnknownBytecode(AssertionError):
    """The traced code holds an instruction the injector's recognisers were not checked against."""


#: Loads of one value that run no Python code (3.10-3.15): what a ``return <name or constant>``
#: line may hold before its return.
PURE_LOADS = frozenset(
    {
        "LOAD_CONST",
        "LOAD_FAST",
        "LOAD_FAST_CHECK",  # 3.12+
        "LOAD_FAST_BORROW",  # 3.14+
        "LOAD_SMALL_INT",  # 3.14+
        "LOAD_COMMON_CONSTANT",  # 3.14+ (None, True, False from 3.15 on)
        "LOAD_GLOBAL",
        "LOAD_DEREF",
        "LOAD_NAME",
    }
)
#: Loads of a constant: how the ``None`` arguments of a ``with`` block's ``__exit__`` call are loaded.
CONSTANT_LOADS = frozenset({"LOAD_CONST", "LOAD_COMMON_CONSTANT"})
RETURNS = frozenset({"RETURN_VALUE", "RETURN_CONST"})  # RETURN_CONST: 3.12-3.13
#: Instructions that may stand between the ``with`` block's last line and the ``None`` loads.
SHUFFLES = frozenset({"POP_BLOCK", "ROT_TWO", "SWAP", "NOP"})
#: Instructions that open a ``with`` block: SETUP_WITH (3.10), BEFORE_WITH (3.11-3.13), and from
#: 3.14 on LOAD_SPECIAL of ``__enter__``.
WITH_ENTRIES = frozenset({"SETUP_WITH", "BEFORE_WITH"})
#: The rest of the load/return/with families, checked to play no part in either recogniser.
OTHER_KNOWN = frozenset(
    {
        "LOAD_ATTR",
        "LOAD_METHOD",
        "LOAD_SUPER_ATTR",
        "LOAD_SPECIAL",
        "LOAD_BUILD_CLASS",
        "LOAD_CLOSURE",
        "LOAD_CLASSDEREF",
        "LOAD_ASSERTION_ERROR",
        "LOAD_FAST_AND_CLEAR",
        "LOAD_FAST_LOAD_FAST",
        "LOAD_FAST_BORROW_LOAD_FAST_BORROW",
        "LOAD_FROM_DICT_OR_DEREF",
        "LOAD_FROM_DICT_OR_GLOBALS",
        "LOAD_LOCALS",
        "RETURN_GENERATOR",
        "WITH_EXCEPT_START",
        "BEFORE_ASYNC_WITH",
        "SETUP_ASYNC_WITH",
    }
)
_FAMILIES = re.compile(r"(LOAD|RETURN)_|(BEFORE|SETUP)_.*WITH|WITH_")
KNOWN = PURE_LOADS | CONSTANT_LOADS | RETURNS | SHUFFLES | WITH_ENTRIES | OTHER_KNOWN


def check_understood(code: CodeType) -> None:
    """Raise UnknownBytecode if *code* (or code nested in it) has an unknown load/return/with instruction."""
    for instruction in dis.get_instructions(code):
        if instruction.opname not in KNOWN and _FAMILIES.match(instruction.opname):
            raise UnknownBytecode(
                f"{code.co_filename}:{code.co_firstlineno} ({code.co_name}): instruction "
                f"{instruction.opname} on Python {sys.version.split()[0]} is unknown to tests/faultinject.py; "
                "find out whether it loads a value, returns or opens a with block, and add it to the "
                "matching set there"
            )
    entries = sum(_opens_with(instruction) for instruction in dis.get_instructions(code))
    if entries > len(with_exit_offsets(code)):
        raise UnknownBytecode(
            f"{code.co_filename}:{code.co_firstlineno} ({code.co_name}): {entries} with block(s) but "
            f"{len(with_exit_offsets(code))} recognised normal exit(s) on Python {sys.version.split()[0]}: "
            "the with-exit recogniser of tests/faultinject.py does not know this version's exit sequence"
        )
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            check_understood(constant)


def _opens_with(instruction: dis.Instruction) -> bool:
    if instruction.opname in WITH_ENTRIES:
        return True
    return instruction.opname == "LOAD_SPECIAL" and "__enter__" in (str(instruction.argval), instruction.argrepr)


_checked_dirs: set[tuple[str, ...]] = set()


def check_sources_understood(dirs: tuple[str, ...]) -> None:
    """Compile every ``.py`` file under *dirs* (a folder or a file each) and check its bytecode."""
    if dirs in _checked_dirs:
        return
    for place in dirs:
        if os.path.isfile(place):
            files = [place]
        else:
            files = [
                os.path.join(folder, name)
                for folder, _, names in os.walk(place)
                for name in names
                if name.endswith(".py")
            ]
        for path in files:
            with open(path, encoding="utf-8") as source:
                check_understood(compile(source.read(), path, "exec"))
    _checked_dirs.add(dirs)


def _is_none_load(instruction: dis.Instruction) -> bool:
    return instruction.opname in CONSTANT_LOADS and instruction.argval is None


_exit_offsets_cache: dict[CodeType, frozenset[int]] = {}


def with_exit_offsets(code: CodeType) -> frozenset[int]:
    """Offsets at which a ``with`` block's normal exit sequence begins.

    The sequence is the three ``None`` arguments of the ``__exit__`` call, possibly
    after stack shuffles that set a return value aside (``SWAP``/``ROT_TWO``) or
    close the block (``POP_BLOCK``, 3.10).
    """
    cached = _exit_offsets_cache.get(code)
    if cached is None:
        instructions = list(dis.get_instructions(code))
        offsets = set()
        for index, instruction in enumerate(instructions):
            start = index
            while start < len(instructions) and instructions[start].opname in SHUFFLES:
                start += 1
            window = instructions[start : start + 3]
            if len(window) < 3 or not _is_none_load(window[0]):
                continue
            rest = window[1:]
            if all(_is_none_load(i) for i in rest) or [i.opname for i in rest] == ["DUP_TOP", "DUP_TOP"]:
                offsets.add(instruction.offset)
        cached = _exit_offsets_cache[code] = frozenset(offsets)
    return cached


_plain_return_cache: dict[CodeType, frozenset[int]] = {}


def plain_return_offsets(code: CodeType) -> frozenset[int]:
    """Offsets of ``return <name or constant>`` lines: one pure load then RETURN_VALUE, or RETURN_CONST."""
    cached = _plain_return_cache.get(code)
    if cached is None:
        instructions = list(dis.get_instructions(code))
        offsets = set()
        for index, instruction in enumerate(instructions):
            if instruction.opname == "RETURN_CONST":
                offsets.add(instruction.offset)
            elif (
                instruction.opname in PURE_LOADS
                and index + 1 < len(instructions)
                and instructions[index + 1].opname == "RETURN_VALUE"
            ):
                offsets.add(instruction.offset)
        cached = _plain_return_cache[code] = frozenset(offsets)
    return cached


#: While :func:`only_at` is in force: the (path, line) pairs whose line events count; the others are skipped.
_only_at: frozenset[tuple[str, int]] | None = None
#: While :func:`only_at` is in force: the (path, line) pairs where an injector raised.
_injected_at: set[tuple[str, int]] | None = None


@contextmanager
def only_at(lines: frozenset[tuple[str, int]]) -> Iterator[set[tuple[str, int]]]:
    """Make every FaultInjector count (and raise at) only the line events of *lines*, (path, line)
    pairs; yield the set of pairs where one raised, filled as the injections fire.

    A fault-injection scenario run under it tries an exception at each of those lines
    it reaches, and nowhere else: a few runs instead of one per line of the folders.
    """
    global _only_at, _injected_at
    if _only_at is not None:
        raise RuntimeError("only_at() does not nest")
    fired: set[tuple[str, int]] = set()
    _only_at, _injected_at = frozenset(lines), fired
    try:
        yield fired
    finally:
        _only_at = _injected_at = None


class FaultInjector:
    """Count (target None) or raise at (target N) the line events of code under *dirs*
    (under :func:`only_at`: of its lines among them)."""

    def __init__(self, target: int | None, dirs: tuple[str, ...] = (CORE_DIR,)) -> None:
        check_sources_understood(dirs)
        self.target = target
        self.dirs = dirs
        self.count = 0
        self.fired_at: tuple[str, int] | None = None

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename.startswith(self.dirs):
            return self._local
        return None

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and self.fired_at is None:
            code = frame.f_code
            if frame.f_lasti in with_exit_offsets(code) or frame.f_lasti in plain_return_offsets(code):
                return self._local
            if _only_at is not None and (code.co_filename, frame.f_lineno) not in _only_at:
                return self._local
            self.count += 1
            if self.count == self.target:
                self.fired_at = (os.path.basename(frame.f_code.co_filename), frame.f_lineno)
                if _injected_at is not None:
                    _injected_at.add((code.co_filename, frame.f_lineno))
                raise Injected(f"injected at {self.fired_at[0]}:{self.fired_at[1]} (line event {self.count})")
        return self._local

    def run(self, fn: Callable[[], Any]) -> Any:
        sys.settrace(self._global)
        try:
            return fn()
        finally:
            sys.settrace(None)


def at_every_line(scenario: Callable[[int | None], FaultInjector], minimum: int) -> int:
    """Run *scenario* once counting line events, then once with an exception at each.

    *scenario(target)* sets a fresh situation up, runs it under ``FaultInjector(target)``,
    checks its invariants and returns the injector.  Returns how many injections fired.
    """
    total = scenario(None).count
    assert total >= minimum, f"only {total} line events: is the tracer working?"
    return sum(scenario(target).fired_at is not None for target in range(1, total + 1))


#: The marker of a line that holds several steps on purpose (docs/architecture.md, "Marking
#: subtle code"): ``# one-step: <the invariant it protects>``.
ONE_STEP = re.compile(r"#\s*one-step:\s*(?P<invariant>.*\S)?\s*$")


def one_step_lines(root: str) -> dict[tuple[str, int], str]:
    """Every ``# one-step:`` line of the ``.py`` files under *root*: (path, line) -> the invariant named."""
    marked = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as source:
                    for number, line in enumerate(source, 1):
                        found = ONE_STEP.search(line)
                        if found:
                            marked[(path, number)] = found.group("invariant") or ""
    return marked
