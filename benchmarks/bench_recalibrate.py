"""End-to-end benchmark of ``reliability recalibrate`` on synthetic Parquet data.

For each size it writes a synthetic dataset (once, kept under ``--work``), runs the batch job
as a subprocess and measures its wall time, its peak RSS (``os.wait4`` rusage of that child)
and the share of the time spent outside the model fit (from the job's ``--json`` phase
timings). Results are printed and appended to ``benchmarks/RESULTS.md``.

    .venv/bin/python benchmarks/bench_recalibrate.py --sizes 1000000 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
FIT_PHASE = "Fitting the model and cross-validating"


@dataclass(frozen=True)
class Run:
    n_reports: int
    generate_seconds: float | None
    wall_seconds: float
    fit_seconds: float
    peak_rss_mib: float

    @property
    def outside_fit(self) -> float:
        return 1.0 - self.fit_seconds / self.wall_seconds


def generate(n_reports: int, directory: Path) -> float | None:
    """Write the ``core`` preset scaled to ``n_reports`` with ``reliability synth``.

    Returns the seconds it took, or None when the dataset was already there.
    """
    if (directory / "dataset.toml").exists():
        return None
    start = time.perf_counter()
    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "reliability"),
            "synth",
            "--preset",
            "core",
            "--reports",
            str(n_reports),
            "--events",
            str(max(n_reports // 5, 1)),
            "--outlets",
            str(max(min(n_reports // 50, 5000), 10)),
            "--out",
            str(directory),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def recalibrate(directory: Path, tables: Path, cv_folds: int) -> tuple[float, float, float]:
    """Run the job; return wall seconds, fit seconds and the child's peak RSS in MiB."""
    command = [
        str(ROOT / ".venv" / "bin" / "reliability"),
        "recalibrate",
        "--config",
        str(directory / "dataset.toml"),
        "--out",
        str(tables),
        "--cv-folds",
        str(cv_folds),
        "--json",
        "--quiet",
    ]
    print("$", shlex.join(command), file=sys.stderr)
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"recalibrate failed with exit code {child.returncode}")
    summary = json.loads(output)
    # ru_maxrss is in KiB on Linux.
    return wall, float(summary["seconds"][FIT_PHASE]), usage.ru_maxrss / 1024


def append_header(argv: list[str], cv_folds: int) -> None:
    lines = [
        "",
        f"## recalibrate end to end, {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"- command: `{shlex.join([sys.executable, 'benchmarks/bench_recalibrate.py', *argv])}`",
        f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"{platform.platform()}, Python {platform.python_version()}",
        f"- data: `reliability synth --preset core`, cv_folds={cv_folds}",
        "",
        "| reports | generate (s) | wall (s) | fit (s) | outside fit | peak RSS (MiB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def append_row(run: Run) -> None:
    """One row per size as soon as it is measured, so an interrupted run keeps what it got."""
    generated = "cached" if run.generate_seconds is None else f"{run.generate_seconds:.1f}"
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(
            f"| {run.n_reports:,} | {generated} | {run.wall_seconds:.1f} | "
            f"{run.fit_seconds:.1f} | {run.outside_fit:.1%} | {run.peak_rss_mib:,.0f} |\n"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--cv-folds", type=int, default=5)
    args = parser.parse_args(argv)
    append_header(argv, args.cv_folds)
    for n_reports in args.sizes:
        data = args.work / f"synth-{n_reports}"
        generate_seconds = generate(n_reports, data)
        wall, fit, rss = recalibrate(data, args.work / f"tables-{n_reports}", args.cv_folds)
        run = Run(n_reports, generate_seconds, wall, fit, rss)
        print(
            f"{n_reports:>12,} reports: {wall:8.1f} s wall, fit {fit:8.1f} s, "
            f"{run.outside_fit:6.1%} outside fit, peak RSS {rss:,.0f} MiB"
        )
        append_row(run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
