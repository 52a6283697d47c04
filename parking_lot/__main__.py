"""``python -m parking_lot``: ``info``, ``bench`` and ``demo``."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from collections.abc import Sequence
from typing import NoReturn

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


def _progress(text: str) -> None:
    print(text, end="", file=sys.stderr, flush=True)


def _cmd_bench(args: argparse.Namespace) -> int:
    from parking_lot import bench

    if args.plot:
        try:
            import matplotlib  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: F401
        except ImportError:
            print(
                "error: --plot needs matplotlib, which is not installed "
                '(pip install matplotlib, or pip install "parking-lot-cffi[plot]")',
                file=sys.stderr,
            )
            return 2
    available, notes = bench.scenarios()
    selected = available
    if args.only:
        wanted = [name.lower() for name in args.only]
        selected = [s for s in available if any(w in s.name.lower() for w in wanted)]
        if not selected:
            names = ", ".join(repr(s.name) for s in available)
            print(f"error: no scenario matches {' '.join(args.only)!r}; scenarios: {names}", file=sys.stderr)
            return 2
    env = bench.environment()
    print(
        f"parking_lot {env['parking_lot']} on Python {env['python']} ({'GIL' if env['gil'] else 'free-threaded'}), "
        f"{env['platform']}, {env['processor_count']} CPUs, backend {env['backend']}, {env['date']}"
    )
    print("ratio = our throughput / the reference's (> 1: faster); medians of interleaved rounds", flush=True)
    _progress(f"running {len(selected)} scenarios{' (quick)' if args.quick else ''}\n")
    results = bench.run(selected, args.quick, _progress)
    print(bench.markdown_table(results) if args.markdown else bench.table(results))
    for note in notes:
        print(f"note: {note}")
    if args.json:
        bench.write_json(args.json, results, args.quick)
        print(f"wrote {args.json}")
    if args.plot:
        bench.plot(args.plot, results)
        print(f"wrote {args.plot}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import threading
    import time

    from parking_lot import FairMutex, Mutex

    if not args.seconds > 0:
        print(f"error: --seconds must be > 0, got {args.seconds}", file=sys.stderr)
        return 2
    print(f"{args.threads} threads each take the lock, add 1 to their count, release it, for {args.seconds} s.")
    print("An unfair mutex lets the running thread take it straight back; a fair one hands it over.\n")
    for name, mutex in (("Mutex (eventually fair)", Mutex(None)), ("FairMutex (always fair)", FairMutex(None))):
        counts = [0] * args.threads
        stop = threading.Event()
        ready = threading.Barrier(args.threads + 1)

        def work(index: int, mutex: Mutex[None] = mutex, counts: list[int] = counts) -> None:
            ready.wait()
            while not stop.is_set():
                with mutex.lock():
                    counts[index] += 1

        threads = [threading.Thread(target=work, args=(i,)) for i in range(args.threads)]
        for thread in threads:
            thread.start()
        ready.wait()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        total = sum(counts)
        spread = max(counts) / max(1, min(counts))
        print(f"{name}: {total:,} acquisitions, max/min per thread {spread:.2f}")
        for index, count in enumerate(counts):
            bar = "#" * round(40 * count / max(1, max(counts)))
            print(f"  thread {index}: {count:>9,} {bar}")
        print()
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2), as every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _thread_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 2 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 2 to 64, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m parking_lot",
        description="Rust's parking lot for Python, on the OS wait primitives through cffi.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    info = commands.add_parser("info", help="version, platform, interpreter, parker backends, cffi modules")
    info.set_defaults(handler=_cmd_info)
    bench = commands.add_parser(
        "bench",
        help="time our primitives against threading (and peers when installed); print one table",
        description="Time each scenario: our primitive and its reference, interleaved, medians; "
        "ratio = our throughput / the reference's.",
    )
    bench.add_argument("--quick", action="store_true", help="fewer operations and rounds (under a minute)")
    bench.add_argument("--json", metavar="FILE", help="write every figure, with machine, Python and backend")
    bench.add_argument("--plot", metavar="FILE.png", help="draw the ratios as a bar chart (needs matplotlib)")
    bench.add_argument("--only", metavar="NAME", nargs="+", help="only scenarios whose name contains NAME")
    bench.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    bench.set_defaults(handler=_cmd_bench)
    demo = commands.add_parser("demo", help="threads contending on a Mutex and a FairMutex: fairness you can see")
    demo.add_argument("--threads", type=_thread_count, default=4, metavar="N", help="2-64 (default 4)")
    demo.add_argument("--seconds", type=float, default=1.0, help="per mutex (default 1.0)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        result: int = handler(args)
    except KeyboardInterrupt:
        print(f"python -m parking_lot {args.command}: interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
