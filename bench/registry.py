"""The list of benchmarks and the shape of what they report.

A benchmark is a function that takes a `Run` (shared settings, a scratch
folder) and returns a list of `Figure`s. To add one:

1. write `bench/<name>.py` with a function decorated `@benchmark("<name>", ...)`;
2. add the module name to `MODULES` below.

`python -m bench <name>` then runs it; with no name every benchmark runs,
in the order of `MODULES`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

#: Modules that register benchmarks, in the order `python -m bench` runs them.
MODULES = (
    "bench.page_weight",
    "bench.submit_throughput",
    "bench.submit_cell_size",
    "bench.survey_get",
    "bench.request_cpu",
    "bench.analytics",
)


@dataclass(frozen=True)
class Figure:
    """One measured number, compared with a baseline measured in the same run (or a budget)."""

    name: str
    value: float
    unit: str
    #: What the value is compared with; None when there is nothing to compare with.
    baseline: float | None = None
    #: The goal for `ratio`, e.g. (">=", 0.5) or ("<=", 1.0); None for figures without one.
    goal: tuple[str, float] | None = None
    #: Short free text for the human table (e.g. "3 non-303 responses").
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    @property
    def goal_met(self) -> bool | None:
        if self.goal is None or self.ratio is None:
            return None
        op, limit = self.goal
        return self.ratio >= limit if op == ">=" else self.ratio <= limit

    def as_json(self) -> dict:
        ratio = self.ratio
        return {
            "name": self.name,
            "value": round(self.value, 3) if isinstance(self.value, float) else self.value,
            "unit": self.unit,
            "baseline": round(self.baseline, 3) if isinstance(self.baseline, float) else self.baseline,
            "ratio": None if ratio is None else round(ratio, 4),
        }


@dataclass
class Run:
    """Settings shared by all benchmarks of one `python -m bench` invocation."""

    #: Scratch folder for databases, logs and session files; removed afterwards unless kept.
    workdir: Path
    #: Seconds of each measured load run and of the warm-up before it.
    duration: float = 10.0
    warmup: float = 2.0
    #: Measured load is split into this many turns of baseline and candidate (A B B A ...).
    rounds: int = 2
    #: wrk threads and open connections.
    threads: int = 2
    connections: int = 8
    #: PostgreSQL database the benchmarks may empty (its name must start with "kundrost_bench").
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/kundrost_bench"
    #: Lines for the human report that are not figures (warnings, context).
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        print(f"  . {text}", flush=True)
        self.notes.append(text)


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    function: Callable[[Run], list[Figure]]


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, description: str):
    def register(function: Callable[[Run], list[Figure]]):
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} registered twice")
        BENCHMARKS[name] = Benchmark(name, description, function)
        return function

    return register


def load_all() -> dict[str, Benchmark]:
    for module in MODULES:
        importlib.import_module(module)
    return BENCHMARKS
