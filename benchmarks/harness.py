"""A small benchmark harness: interleave the candidates, repeat, quote medians and ratios.

Each candidate is ``fn(n) -> seconds`` for *n* operations.  Rounds interleave the
candidates (A B A B ...) so that a noisy neighbour slows them alike, and the
median of the rounds is quoted.  Absolute times mean little on a shared machine;
the ratio between candidates measured in the same run is the figure to read.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

Candidate = Callable[[int], float]


@dataclass
class Measurement:
    name: str
    ops: int
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def ns_per_op(self) -> float:
        return self.median / self.ops * 1e9

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.median


def measure(candidates: dict[str, Candidate], ops: int, rounds: int = 7) -> dict[str, Measurement]:
    """Run every candidate *rounds* times, interleaved; a warm-up round is discarded."""
    results = {name: Measurement(name, ops, []) for name in candidates}
    for round_index in range(rounds + 1):
        for name, fn in candidates.items():
            seconds = fn(ops)
            if round_index:
                results[name].seconds.append(seconds)
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return results


def report(title: str, results: dict[str, Measurement], baseline: str) -> str:
    """A small table: ns/op, ops/s and the ratio of time against *baseline* (lower is faster)."""
    base = results[baseline].median
    lines = [title, f"  {'candidate':<34} {'ns/op':>10} {'ops/s':>12} {'time vs ' + baseline:>22}"]
    for name, result in results.items():
        lines.append(
            f"  {name:<34} {result.ns_per_op:>10.0f} {result.ops_per_second:>12.0f} {result.median / base:>21.2f}x"
        )
    return "\n".join(lines)
