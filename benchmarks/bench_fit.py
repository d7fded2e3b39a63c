"""Wall time of ``OutletModel.fit`` on synthetic reports with consensus, and of its CV.

Each size n draws the ``core`` preset with n/500 outlets and n/5 events (every event has a
consensus), outside the timing. ``fit`` runs with ``cv_folds=0``; cross-validation's cost is
the time of ``cv_folds=5`` minus that fit. Sizes run in one process, so the ratios between
them share the machine's state; the load average is printed because the machine may be
shared. The target is a fit of one million reports in at most 10 s on two cores.

By default CV runs at 100k only (about two minutes in all); CV at 1M takes several minutes more:

    .venv/bin/python benchmarks/bench_fit.py --sizes 100k 300k 1M --cv-sizes 100k 1M
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

from accuracy import provenance

from reliability.outlet_model import OutletModel
from reliability.synth import generate, preset

TARGET_SECONDS = 10.0
TARGET_REPORTS = 1_000_000
_SUFFIXES = {"k": 1_000, "M": 1_000_000}


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


def timed_fit(n: int, cv_folds: int, seed: int) -> tuple[float, float]:
    """Seconds to fit ``n`` synthetic reports, and to fit with ``cv_folds``-fold CV (0: skipped)."""
    data = generate(
        preset("core", n_outlets=max(n // 500, 2), n_events=n // 5, n_reports=n, seed=seed)
    )
    started = time.perf_counter()
    OutletModel(cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    fit = time.perf_counter() - started
    with_cv = 0.0
    if cv_folds >= 2:
        started = time.perf_counter()
        model = OutletModel(cv_folds=cv_folds).fit(data.reports, data.consensus, data.outlets)
        with_cv = time.perf_counter() - started
        if not model.diagnostics_:
            raise RuntimeError(f"cross-validation produced no diagnostics at n = {n}")
    return fit, with_cv


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[100_000, 300_000, 10**6])
    parser.add_argument(
        "--cv-sizes", nargs="*", type=parse_size, default=[100_000], help="sizes that also run CV"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(provenance())

    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}")
    rows = []
    for n in args.sizes:
        folds = args.folds if n in args.cv_sizes else 0
        fit, with_cv = timed_fit(n, folds, args.seed)
        rows.append((n, fit, with_cv))
        print(f"  n={n:,}: fit {fit:.2f} s" + (f", fit+CV {with_cv:.2f} s" if folds else ""))
    print(f"load average after {os.getloadavg()}")

    base_n, base_fit, _ = rows[0]
    print("\n| reports | fit s | x first size | s per 100k reports | fit+CV s | CV only s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, fit, with_cv in rows:
        cv = f"{with_cv:.1f} | {with_cv - fit:.1f}" if with_cv else "- | -"
        print(f"| {n:,} | {fit:.2f} | {fit / base_fit:.2f} | {fit / n * 1e5:.2f} | {cv} |")
    print(f"\nsize ratio of the last to the first size: {rows[-1][0] / base_n:.0f}x")
    for n, fit, _ in rows:
        if n == TARGET_REPORTS:
            verdict = "holds" if fit <= TARGET_SECONDS else "FAILS"
            print(f"target fit(1M) <= {TARGET_SECONDS:.0f} s: {fit:.2f} s, {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
