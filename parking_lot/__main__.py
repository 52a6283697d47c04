"""``python -m parking_lot``: ``info``, ``bench`` and ``demo``.

How every command ends (tests/test_cli.py holds each command to it):

* done: status 0;
* a usage error -- an unknown command or option, a value the command cannot use
  (``--seconds inf``, ``--seconds nan``, ``--threads 1``, an empty ``--only`` name), an
  output file that cannot be written -- is one line on stderr,
  ``python -m parking_lot COMMAND: error: MESSAGE (see --help)``, and status 2, found
  *before* any work starts (a benchmark is not run to have its results thrown away);
* Ctrl-C: one line, ``python -m parking_lot COMMAND: interrupted``, and status 130
  (128 + SIGINT, what a shell reports) within a second.  The demo tells its worker
  threads to stop and joins them; the benchmark's helper threads are daemon threads,
  so one left waiting for a partner the interrupt took away cannot keep the process alive.
  An error raised while the interrupt unwinds the command ends it the same way, after one
  more line naming that error: the standard library is not safe against an interrupt
  everywhere (seen: CPython 3.12.1's ``threading.Condition.wait``, run by
  ``Thread.start``, took the KeyboardInterrupt just after releasing its lock, and its
  ``with`` block's exit then raised ``RuntimeError: release unlocked lock``).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Sequence
from typing import NoReturn

import parking_lot
from parking_lot import FairMutex, Mutex, compat, thread_parker

_FFI_MODULES = ("_keyed_event", "_wait_address", "_futex", "_atomics")
PROG = "python -m parking_lot"
#: The longest ``demo --seconds`` accepted (per mutex): a day.
MAX_DEMO_SECONDS = 86_400.0
#: Exit statuses: a usage error (argparse's), and Ctrl-C (128 + SIGINT, as a shell reports it).
USAGE_ERROR = 2
INTERRUPTED = 130


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


def _atomics_line() -> str:
    from parking_lot.raw import _word

    name = _word.implementation()
    if name == "c":
        return "lock state words: c (compiled cffi atomics, parking_lot._ffi._atomics)"
    return f"lock state words: portable ({_word.why_portable()})"


def info_lines() -> list[str]:
    """What ``info`` prints, one line each."""
    lines = [
        f"parking_lot {parking_lot.__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {sys.platform}"
        f" ({platform.machine() or 'unknown machine'})",
        f"interpreter: {_gil_state()}",
        f"parker backend in use: {thread_parker.backend_name()}",
        _atomics_line(),
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


def _unwritable_reason(path: str) -> str | None:
    """Why *path* cannot be written (None: it can).

    Found the way the write will do it, by opening the file (for appending, so that an
    existing file is not truncated by the check); a file the check created is removed again.
    ``os.access`` would not do: it says yes to root on a read-only file system.
    """
    existed = os.path.lexists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if not existed:
        os.unlink(path)
    return None


def _check_bench_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (a usage error) output files the benchmark could not write, before it runs."""
    outputs = [(option, path) for option, path in (("--json", args.json), ("--plot", args.plot)) if path is not None]
    if len(outputs) == 2 and os.path.realpath(outputs[0][1]) == os.path.realpath(outputs[1][1]):
        parser.error(f"--json and --plot name the same file, {args.json!r}")
    if args.plot is not None:
        try:
            from matplotlib.figure import Figure  # type: ignore[import-not-found, import-untyped, unused-ignore]
        except ImportError:
            parser.error(
                "--plot needs matplotlib, which is not installed "
                '(pip install matplotlib, or pip install "parking-lot-cffi[plot]")'
            )
        formats = Figure().canvas.get_supported_filetypes()
        extension = os.path.splitext(args.plot)[1].lstrip(".").lower()
        if extension not in formats:
            written = ", ".join(sorted(formats))
            parser.error(f"--plot {args.plot!r}: the name must end in a format matplotlib writes ({written})")
    for option, path in outputs:
        reason = _unwritable_reason(path)
        if reason is not None:
            parser.error(f"{option} {path!r}: cannot write there: {reason}")


def _progress(text: str) -> None:
    print(text, end="", file=sys.stderr, flush=True)


def _cmd_bench(args: argparse.Namespace) -> int:
    from parking_lot import bench

    parser: argparse.ArgumentParser = args.parser
    _check_bench_outputs(parser, args)
    available, notes = bench.scenarios()
    selected = available
    if args.only:
        wanted = [name.lower() for name in args.only]
        selected = [s for s in available if any(w in s.name.lower() for w in wanted)]
        if not selected:
            names = ", ".join(repr(s.name) for s in available)
            parser.error(f"no scenario matches {' '.join(args.only)!r}; scenarios: {names}")
    env = bench.environment()
    print(
        f"parking_lot {env['parking_lot']} on Python {env['python']} ({'GIL' if env['gil'] else 'free-threaded'}), "
        f"{env['platform']}, {env['processor_count']} CPUs, backend {env['backend']}, atomics {env['atomics']}, {env['date']}"
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


#: The longest single sleep of the main thread while a command waits (see _sleep).
SLEEP_SLICE = 0.05


def _sleep(seconds: float) -> None:
    """``time.sleep(seconds)`` in short slices, so that Ctrl-C is never slept through.

    A SIGINT that lands after the interpreter last looked for signals but before the
    sleep's system call has begun does not interrupt that call: one long sleep would
    run to its end with the KeyboardInterrupt pending (seen: ``demo --seconds 600``
    ignoring Ctrl-C about one time in 150).  Between slices the interpreter runs its
    signal handlers, so the interrupt is raised within one slice.
    """
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(remaining, SLEEP_SLICE))


def _contend(mutex: Mutex[None], threads: int, seconds: float) -> list[int]:
    """*threads* workers lock *mutex* in a loop for *seconds*; how often each got it.

    However this ends -- the time is up, or Ctrl-C lands anywhere in it -- the workers
    are told to stop and are joined before it returns or raises, so an interrupt ends
    the demo and not only its main thread.  (They are daemon threads as well: a second
    Ctrl-C during the join cannot leave the process waiting for them.)
    """
    counts = [0] * threads
    # This library's Event and Barrier, not threading's: the finally below calls them after an
    # interrupt that may have landed inside one of their calls, and ours are built to leave no
    # lock held when it does (threading.Barrier's lock can stay held if the interrupt lands
    # just after its ``with`` took it, and abort() would then wait for ever).
    stop = compat.Event()
    ready = compat.Barrier(threads + 1)

    def work(index: int) -> None:
        try:
            ready.wait()
        except compat.BrokenBarrierError:
            return  # interrupted before the start
        while not stop.is_set():
            with mutex.lock():
                counts[index] += 1

    started: list[threading.Thread] = []
    try:
        for index in range(threads):
            worker = threading.Thread(target=work, args=(index,), name=f"demo worker {index}", daemon=True)
            worker.start()
            started.append(worker)
        ready.wait()
        _sleep(seconds)
    finally:
        stop.set()
        ready.abort()  # releases workers still at the start line (a no-op once all have passed it)
        for worker in started:
            worker.join()
    return counts


def _cmd_demo(args: argparse.Namespace) -> int:
    print(f"{args.threads} threads each take the lock, add 1 to their count, release it, for {args.seconds:g} s.")
    print("An unfair mutex lets the running thread take it straight back; a fair one hands it over.\n", flush=True)
    for name, mutex in (("Mutex (eventually fair)", Mutex(None)), ("FairMutex (always fair)", FairMutex(None))):
        counts = _contend(mutex, args.threads, args.seconds)
        total = sum(counts)
        spread = max(counts) / max(1, min(counts))
        print(f"{name}: {total:,} acquisitions, max/min per thread {spread:.2f}")
        for index, count in enumerate(counts):
            bar = "#" * round(40 * count / max(1, max(counts)))
            print(f"  thread {index}: {count:>9,} {bar}")
        print(flush=True)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2), as every other error here."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG COMMAND: error: MESSAGE (see --help)`` and exit with status 2."""
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def _thread_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 2 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 2 to 64, not {text!r}")
    return value


def _demo_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_DEMO_SECONDS:  # also false for NaN
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {MAX_DEMO_SECONDS:g}, not {text!r}"
        )
    return value


def _scenario_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty (an empty name would match every scenario)")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m parking_lot`` and its commands (every one with a description)."""
    parser = _Parser(
        prog=PROG,
        description="Rust's parking lot for Python, on the OS wait primitives through cffi. "
        "Ctrl-C ends any command with status 130; a usage error exits with status 2.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    info = commands.add_parser(
        "info",
        help="version, platform, interpreter, parker backends, cffi modules",
        description="Print what this installation runs on: the parking_lot version, the Python, its "
        "platform and whether the GIL is on, the parker backend in use, every backend and why one is "
        "unavailable, and which cffi modules were built.",
    )
    info.set_defaults(handler=_cmd_info, parser=info)
    bench = commands.add_parser(
        "bench",
        help="time our primitives against threading (and peers when installed); print one table",
        description="Time each scenario: our primitive and its reference, interleaved, medians; "
        "ratio = our throughput / the reference's. Output files are checked before anything runs.",
    )
    bench.add_argument("--quick", action="store_true", help="fewer operations and rounds (under a minute)")
    bench.add_argument("--json", metavar="FILE", help="write every figure, with machine, Python and backend")
    bench.add_argument("--plot", metavar="FILE.png", help="draw the ratios as a bar chart (needs matplotlib)")
    bench.add_argument(
        "--only", metavar="NAME", nargs="+", type=_scenario_name, help="only scenarios whose name contains NAME"
    )
    bench.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    bench.set_defaults(handler=_cmd_bench, parser=bench)
    demo = commands.add_parser(
        "demo",
        help="threads contending on a Mutex and a FairMutex: fairness you can see",
        description="Start N threads that take a lock, count, and release it, first on a Mutex "
        "(eventually fair: the running thread may take it straight back), then on a FairMutex "
        "(hands it to the next in line); print each thread's count, so the difference shows.",
    )
    demo.add_argument("--threads", type=_thread_count, default=4, metavar="N", help="2-64 (default 4)")
    demo.add_argument(
        "--seconds",
        type=_demo_seconds,
        default=1.0,
        metavar="S",
        help=f"how long each mutex runs: above 0, at most {MAX_DEMO_SECONDS:g} (default 1)",
    )
    demo.set_defaults(handler=_cmd_demo, parser=demo)
    return parser


def _interrupt_behind(exc: BaseException) -> bool:
    """Whether *exc* was raised while a KeyboardInterrupt was being handled or unwound: one is
    in the chain a traceback shows (``__cause__``, and ``__context__`` unless a ``raise ...
    from None`` hid it, as the benchmark's watchdog does when it turns its own interrupt into
    :class:`~parking_lot.bench.ScenarioHung`)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        if isinstance(link, KeyboardInterrupt):
            return True
        if link.__cause__ is not None:
            pending.append(link.__cause__)
        if link.__context__ is not None and not link.__suppress_context__:
            pending.append(link.__context__)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (0, 2 for a usage error, 130 after Ctrl-C)."""
    parser = build_parser()
    command = ""
    try:
        args, extra = parser.parse_known_args(argv)
        command = args.command or ""
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.error("choose a command: info, bench or demo")
        if extra:  # reported by the command's parser, so that the message names the command
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
        result: int = handler(args)
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        if not _interrupt_behind(exc):
            raise
        print(f"{PROG}{' ' + command if command else ''}: while Ctrl-C unwound it: {type(exc).__name__}: {exc}",
              file=sys.stderr, flush=True)
    else:
        return result
    print(f"{PROG}{' ' + command if command else ''}: interrupted", file=sys.stderr, flush=True)
    return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
