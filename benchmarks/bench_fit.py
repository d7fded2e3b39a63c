"""Wall time, peak RSS and phases of ``OutletModel.fit`` on synthetic reports, and of its CV.

Each size n draws the ``core`` preset with n/500 outlets and n/5 events (so 10M is 20k outlets
and 2M events). By default every event has a consensus; ``--latent`` sizes settle only
``--latent-share`` of them (10%) and fit the rest as latent consensus. The data are drawn
once per configuration by a child process and cached as Parquet under ``--work``; each fit then
runs in a fresh child process, after a fit of a tiny data set that loads the compiled kernels,
so its peak RSS (``ru_maxrss``) is that of loading the frames and fitting, not of drawing them.
CPU time is printed beside wall time: on a shared machine it is the steadier figure. ``fit``
runs with ``cv_folds=0``; cross-validation's cost is the time of ``cv_folds=5`` minus that fit
(``--cv-sizes``).

The phases are wall times of the model's own steps, timed by wrapping them: ``prep`` is
``_fit_frame`` outside ``fit_metric`` (polars joins, codes, the score table), ``EM`` the SQUAREM
runs, ``unpooled`` / ``tau_u`` / ``sd prior`` / ``pooling`` the hyperparameter steps,
``summary`` the standard errors, ``latent`` the fusion of unsettled events between rounds.

Targets (two cores): 1M reports <= 10 s; 10M reports <= 30 s and <= 8 GB peak RSS; latent
1M with 10% consensus <= 60 s:

    .venv/bin/python benchmarks/bench_fit.py --sizes 1M 3M 10M --latent 1M --cv-sizes

Run it against other code (say a base commit checked out in /tmp/fit-base) with
``PYTHONPATH=/tmp/fit-base``: the children import whatever ``reliability`` that path gives.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from accuracy import provenance

import reliability
from reliability.outlet_model import OutletModel
from reliability.synth import generate, preset

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10.0
TARGET_REPORTS = 1_000_000
_SUFFIXES = {"k": 1_000, "M": 1_000_000}
#: Timed steps: (label, module, attribute); a class method is ``Class.method``.
PHASES = (
    ("fit_frame", "reliability.outlet_model", "OutletModel._fit_frame"),
    ("fit_metric", "reliability.outlet_model", "fit_metric"),
    ("EM", "reliability.metric_fit", "_squarem"),
    ("EM map", "reliability.metric_fit", "_EmStep.__call__"),
    ("unpooled", "reliability.metric_fit", "_unpooled"),
    ("strata prior", "reliability.metric_fit", "_stratum_prior"),
    ("pooling", "reliability.metric_fit", "_group_hyper"),
    ("sd prior", "reliability.metric_fit", "fit_sd_prior"),
    ("tau_u", "reliability.metric_fit", "fit_event_sd"),
    ("summary", "reliability.metric_fit", "_summarise"),
    ("latent", "reliability.outlet_model", "OutletModel._latent_truths"),
)


def parse_size(text: str) -> int:
    """``300k`` -> 300000, ``1M`` -> 1000000, ``5000`` -> 5000.

    >>> parse_size("1M"), parse_size("300k"), parse_size("5000")
    (1000000, 300000, 5000)
    """
    text = text.strip()
    factor = _SUFFIXES.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in _SUFFIXES else text
    try:
        return int(float(digits) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 300k, 1M)") from None


def _dataset(work: Path, n: int, share: float, seed: int) -> Path:
    """Draw (once) and cache the configuration's frames; return their directory."""
    directory = work / f"core-{n}-{share:g}-{seed}"
    if not (directory / "outlets.parquet").exists():
        _child(
            ["--draw", str(n), "--share", str(share), "--seed", str(seed), "--dir", str(directory)]
        )
    return directory


def _child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1])) if done.stdout.strip() else {}


def _draw(n: int, share: float, seed: int, directory: Path) -> None:
    data = generate(
        preset(
            "core",
            n_outlets=max(n // 500, 2),
            n_events=n // 5,
            n_reports=n,
            seed=seed,
            p_consensus=share,
        )
    )
    directory.mkdir(parents=True, exist_ok=True)
    data.reports.write_parquet(directory / "reports.parquet")
    data.consensus.write_parquet(directory / "consensus.parquet")
    data.outlets.write_parquet(directory / "outlets.parquet")
    print("{}")


def _timed(
    totals: dict[str, float], calls: dict[str, int], label: str, function: Callable[..., Any]
) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[label] += 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - started

    return wrapper


def _instrument(totals: dict[str, float], calls: dict[str, int]) -> None:
    for label, module_name, attribute in PHASES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if hasattr(owner, name):
            setattr(owner, name, _timed(totals, calls, label, getattr(owner, name)))


def _warm_up() -> None:
    """Fit a tiny data set first, so that loading (or compiling) the numba kernels is not timed."""
    data = generate(preset("core", n_outlets=20, n_events=60, n_reports=300, p_consensus=0.5))
    OutletModel(cv_folds=0).fit(data.reports, data.consensus, data.outlets)


def _fit(directory: Path, cv_folds: int) -> None:
    _warm_up()
    reports = pl.read_parquet(directory / "reports.parquet")
    consensus = pl.read_parquet(directory / "consensus.parquet")
    outlets = pl.read_parquet(directory / "outlets.parquet")
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    totals: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    _instrument(totals, calls)
    started, cpu_started = time.perf_counter(), time.process_time()
    model = OutletModel(cv_folds=cv_folds).fit(reports, consensus, outlets)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if cv_folds >= 2 and not model.diagnostics_:
        raise RuntimeError("cross-validation produced no diagnostics")
    result = {
        "wall": wall,
        "cpu": cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loaded_rss_mib": loaded_rss,
        "phases": dict(totals),
        "code": str(Path(reliability.__file__).resolve().parent),
        "calls": dict(calls),
    }
    print(json.dumps(result))


def _phase_text(phases: dict[str, float]) -> str:
    p = defaultdict(float, phases)
    inner = ("EM", "unpooled", "strata prior", "pooling", "sd prior", "tau_u", "summary")
    rest = p["fit_metric"] - sum(p[k] for k in inner)
    parts = [
        ("prep", p["fit_frame"] - p["fit_metric"]),
        *((k, p[k]) for k in inner),
        ("other fit", rest),
        ("latent", p["latent"]),
    ]
    return ", ".join(f"{k} {v:.1f}" for k, v in parts if v >= 0.05)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", nargs="*", type=parse_size, default=[100_000, 300_000, 10**6])
    parser.add_argument(
        "--latent", nargs="*", type=parse_size, default=[], help="sizes fitted with latent truths"
    )
    parser.add_argument("--latent-share", type=float, default=0.1)
    parser.add_argument(
        "--cv-sizes", nargs="*", type=parse_size, default=[100_000], help="sizes that also run CV"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench-fit")
    parser.add_argument("--draw", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--share", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fit", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.draw is not None:
        _draw(args.draw, args.share, args.seed, args.dir)
        return 0
    if args.fit is not None:
        _fit(args.fit, args.folds)
        return 0

    print(provenance())
    print(f"python path: {os.environ.get('PYTHONPATH', '')}")
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}")
    configs = [(n, 1.0) for n in args.sizes] + [(n, args.latent_share) for n in args.latent]
    rows = []
    for n, share in configs:
        directory = _dataset(args.work, n, share, args.seed)
        fit = _child(["--fit", str(directory), "--folds", "0"])
        with_cv = 0.0
        if share == 1.0 and n in args.cv_sizes and args.folds >= 2:
            with_cv = _child(["--fit", str(directory), "--folds", str(args.folds)])["wall"]
        rows.append((n, share, fit, with_cv))
        print(
            f"  n={n:,} consensus {share:.0%}: fit {fit['wall']:.2f} s (CPU {fit['cpu']:.2f} s), "
            f"peak RSS {fit['peak_rss_mib']:,.0f} MiB (frames loaded {fit['loaded_rss_mib']:,.0f})"
            + (f", fit+CV {with_cv:.2f} s" if with_cv else "")
            + f"\n    phases (s): {_phase_text(fit['phases'])}"
            + f"\n    calls: {fit['calls']}\n    code: {fit['code']}",
            flush=True,
        )
    print(f"load average after {os.getloadavg()}")

    base = rows[0][2]["wall"] / rows[0][0]
    print(
        "\n| reports | consensus | fit s | s per 1M reports | x per-report cost of first "
        "| peak RSS MiB | fit+CV s | CV only s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, share, fit, with_cv in rows:
        wall = fit["wall"]
        cv = f"{with_cv:.1f} | {with_cv - wall:.1f}" if with_cv else "- | -"
        print(
            f"| {n:,} | {share:.0%} | {wall:.2f} | {wall / n * 1e6:.2f} | {wall / n / base:.2f} "
            f"| {fit['peak_rss_mib']:,.0f} | {cv} |"
        )
    for n, share, fit, _ in rows:
        if n == TARGET_REPORTS and share == 1.0:
            verdict = "holds" if fit["wall"] <= TARGET_SECONDS else "FAILS"
            print(f"target fit(1M) <= {TARGET_SECONDS:.0f} s: {fit['wall']:.2f} s, {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
