"""``python -m parking_lot``: the command line (``info`` for now)."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from collections.abc import Sequence

import parking_lot
from parking_lot import thread_parker

_FFI_MODULES = ("_keyed_event", "_wait_address", "_futex")


def _gil_state() -> str:
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_gil_enabled is None:
        return "GIL (this Python has no free-threaded build)"
    return "GIL enabled" if is_gil_enabled() else "free-threaded (GIL disabled)"


def _ffi_module_status(name: str) -> str:
    try:
        module = importlib.import_module(f"parking_lot._ffi.{name}")
    except ImportError as exc:
        return f"missing ({exc})"
    kind = "compiled (API mode)" if not module.__file__ or not module.__file__.endswith(".py") else "ABI mode"
    return f"{kind}: {module.__file__}"


def info_lines() -> list[str]:
    """What ``info`` prints, one line each."""
    lines = [
        f"parking_lot {parking_lot.__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {sys.platform}"
        f" ({platform.machine() or 'unknown machine'})",
        f"interpreter: {_gil_state()}",
        f"parker backend in use: {thread_parker.backend_name()}",
        "parker backends:",
    ]
    for name in thread_parker.BACKENDS:
        reason = thread_parker.unavailable_reason(name)
        lines.append(f"  {name:<13} {'available' if reason is None else 'unavailable: ' + reason}")
    lines.append("cffi modules:")
    for name in _FFI_MODULES:
        lines.append(f"  {name:<13} {_ffi_module_status(name)}")
    return lines


def _cmd_info(args: argparse.Namespace) -> int:
    print("\n".join(info_lines()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m parking_lot",
        description="Rust's parking lot for Python, on the OS wait primitives through cffi.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser("info", help="version, platform, interpreter, parker backends, cffi modules")
    info.set_defaults(handler=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
