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
``f_lasti``: the ``None, None, None`` (or ``None, DUP_TOP, DUP_TOP`` on 3.10)
arguments of the ``__exit__`` call, after any stack shuffles.  Second, a line that
is nothing but ``return <name or constant>``: the interpreter does not check for
signals between loading the value and handing it to the caller, so no signal can
arrive there, while an exception raised by a trace function there is raised
*outside* an enclosing ``try`` (CPython closes the ``try`` before the return), which
again is a state no real program can reach.
"""

from __future__ import annotations

import dis
import os
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from parking_lot import core

CORE_DIR = os.path.dirname(os.path.abspath(core.__file__))
RAW_DIR = os.path.join(os.path.dirname(CORE_DIR), "raw")
_exit_offsets_cache: dict[CodeType, frozenset[int]] = {}


class Injected(Exception):
    """The exception the injector raises."""


def _is_none_const(instruction: dis.Instruction) -> bool:
    return instruction.opname == "LOAD_CONST" and instruction.argval is None


_SHUFFLES = {"POP_BLOCK", "ROT_TWO", "SWAP", "NOP"}


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
            while start < len(instructions) and instructions[start].opname in _SHUFFLES:
                start += 1
            window = instructions[start : start + 3]
            if len(window) < 3 or not _is_none_const(window[0]):
                continue
            rest = window[1:]
            if all(_is_none_const(i) for i in rest) or [i.opname for i in rest] == ["DUP_TOP", "DUP_TOP"]:
                offsets.add(instruction.offset)
        cached = _exit_offsets_cache[code] = frozenset(offsets)
    return cached


_RETURN_LOADS = {"LOAD_CONST", "LOAD_FAST", "LOAD_GLOBAL", "LOAD_DEREF"}
_plain_return_cache: dict[CodeType, frozenset[int]] = {}


def plain_return_offsets(code: CodeType) -> frozenset[int]:
    """Offsets of ``return <name or constant>`` lines: a load then RETURN_VALUE, or RETURN_CONST."""
    cached = _plain_return_cache.get(code)
    if cached is None:
        instructions = list(dis.get_instructions(code))
        offsets = set()
        for index, instruction in enumerate(instructions):
            if instruction.opname == "RETURN_CONST":
                offsets.add(instruction.offset)
            elif (
                instruction.opname in _RETURN_LOADS
                and index + 1 < len(instructions)
                and instructions[index + 1].opname == "RETURN_VALUE"
            ):
                offsets.add(instruction.offset)
        cached = _plain_return_cache[code] = frozenset(offsets)
    return cached


class FaultInjector:
    """Count (target None) or raise at (target N) the line events of code under *dirs*."""

    def __init__(self, target: int | None, dirs: tuple[str, ...] = (CORE_DIR,)) -> None:
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
            self.count += 1
            if self.count == self.target:
                self.fired_at = (os.path.basename(frame.f_code.co_filename), frame.f_lineno)
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
