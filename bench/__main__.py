"""`python -m bench [NAME...]`: run benchmarks, print a table, then one JSON line per figure.

Run from the repository root with the venv's python. Benchmarks are not tests:
they never fail the command because a goal is missed (the exit code is 1
only when a benchmark could not run at all). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .registry import Figure, Run, load_all


def main(argv: list[str] | None = None) -> int:
    benchmarks = load_all()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(benchmarks)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 10)),
                        help="seconds of each measured load run (default 10)")
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 2)),
                        help="seconds of warm-up load before each measured run (default 2)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="split each measurement into this many alternating turns of baseline and app (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", Run.postgres_url),
                        help="PostgreSQL database to empty and use; its name must start with kundrost_bench")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (databases, logs, session files)")
    args = parser.parse_args(argv)

    if args.list:
        for benchmark in benchmarks.values():
            print(f"{benchmark.name:<20} {benchmark.description}")
        return 0
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(benchmarks)}")
    selected = [benchmarks[name] for name in (args.names or benchmarks)]

    # `kill` ends the run like Ctrl-C does, so the servers started below are stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="kundrost-bench-"))
    run = Run(workdir=workdir, duration=args.duration, warmup=args.warmup, rounds=max(1, args.rounds), threads=args.threads,
              connections=args.connections, postgres_url=args.postgres_url)
    print(f"Kundröst benchmarks, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {_revision()}; scratch folder {workdir}",
          flush=True)
    _check_quiet(run, "before")
    figures: list[Figure] = []
    failed: list[str] = []
    started = time.monotonic()
    try:
        for benchmark in selected:
            print(f"\n== {benchmark.name}: {benchmark.description}", flush=True)
            t0 = time.monotonic()
            try:
                figures += benchmark.function(run)
            except KeyboardInterrupt:
                raise
            except Exception:
                failed.append(benchmark.name)
                print(f"!! {benchmark.name} could not run:\n{traceback.format_exc()}", flush=True)
            print(f"   ({time.monotonic() - t0:.0f} s)", flush=True)
    finally:
        if args.keep:
            print(f"\nScratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    _check_quiet(run, "after")
    print()
    print(table(figures))
    print(f"\n{len(figures)} figures in {time.monotonic() - started:.0f} s"
          + (f"; could not run: {', '.join(failed)}" if failed else ""))
    for figure in figures:
        print(json.dumps(figure.as_json(), ensure_ascii=False))
    return 1 if failed else 0


def _revision() -> str:
    """The commit measured, and whether the working tree differs from it."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "commit unknown"
    return f"commit {commit or 'unknown'}" + (" + uncommitted changes" if changed else "")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _check_quiet(run: Run, when: str) -> None:
    """Say how busy the machine was: other work on its 2 cores skews every rate."""
    try:
        load = float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return
    if when == "before":
        message = f"load average {load:.2f} before the run"
        if load > 0.5:
            message += " - the machine is not idle; rates will be low and noisy (ratios less so)"
        run.note(message)
    else:
        run.note(f"load average {load:.2f} after the run (includes the benchmark's own load)")


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "unit", "baseline", "ratio", "goal", "met", "note")]
    for f in figures:
        ratio = f.ratio
        rows.append((
            f.name,
            _number(f.value),
            f.unit,
            "" if f.baseline is None else _number(f.baseline),
            "" if ratio is None else f"{ratio:.2f}",
            "" if f.goal is None else f"{f.goal[0]} {f.goal[1]:g}",
            {True: "yes", False: "NO", None: ""}[f.goal_met],
            f.note,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.rjust(w) if 0 < i < 6 and i != 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
        if index == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
