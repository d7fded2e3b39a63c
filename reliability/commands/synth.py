"""``reliability synth``: write a synthetic dataset with planted, known outlet parameters."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from reliability import exitcodes
from reliability.synth import MARGIN, PRESETS, generate, preset, write

EXAMPLE = """\
example:
  reliability synth --outlets 500 --events 5000 --reports 50000 --seed 7 \\
      --preset core --p-consensus 0.5 --out data/synth
  reliability recalibrate --config data/synth/dataset.toml --out tables
"""

# Config fields settable from the command line: flag --p-consensus sets p_consensus.
FLOAT_OVERRIDES = (
    "p_consensus",
    "p_consensus_range",
    "p_gross",
    "p_at_least",
    "p_range",
    "p_cite",
    "p_drift",
    "tau_u",
    "tau_c",
    "nu0",
    "outlet_alpha",
    "lag_amplitude",
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic dataset with known truth",
        description=(
            "Draw reports, consensus and an outlet registry from the generative model the\n"
            "estimator assumes, with planted outlet biases and noise scales, and write them as\n"
            "Parquet with the truth tables, truth.json and a dataset.toml (docs/synthetic.md)."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--outlets", type=int, default=200, help="number of outlets")
    parser.add_argument("--events", type=int, default=2000, help="number of events")
    parser.add_argument("--reports", type=int, default=10000, help="number of reports")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="core", help="core (default) or full"
    )
    parser.add_argument(
        "--nu", type=float, help="Student-t df of report noise; inf for normal noise"
    )
    parser.add_argument(
        "--linear", action="store_true", help="add the linear metric 'margin' to the preset's"
    )
    for field in FLOAT_OVERRIDES:
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            dest=field,
            type=float,
            metavar="X",
            help=f"override the preset's {field} (docs/synthetic.md)",
        )
    parser.add_argument("--name", help="dataset name in dataset.toml (default synth-seed<S>)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {
        field: getattr(args, field) for field in FLOAT_OVERRIDES if getattr(args, field) is not None
    }
    if args.nu is not None:
        overrides["nu"] = None if math.isinf(args.nu) else args.nu
    if args.linear and all(m.name != MARGIN.name for m in PRESETS[args.preset].metrics):
        overrides["metrics"] = (*PRESETS[args.preset].metrics, MARGIN)
    try:
        config = preset(
            args.preset,
            n_outlets=args.outlets,
            n_events=args.events,
            n_reports=args.reports,
            seed=args.seed,
            **overrides,
        )
        data = generate(config)
    except ValueError as error:
        print(f"reliability synth: {error}", file=sys.stderr)
        return exitcodes.USAGE
    try:
        paths = write(data, args.out, args.name)
    except OSError as error:
        print(f"reliability synth: cannot write to {args.out}: {error}", file=sys.stderr)
        return exitcodes.OUTPUT_FAILURE
    rows = {
        "reports.parquet": data.reports.height,
        "consensus.parquet": data.consensus.height,
        "outlets.parquet": data.outlets.height,
        "truth_outlets.parquet": data.truth_outlets.height,
        "truth_events.parquet": data.truth_events.height,
        "truth_reports.parquet": data.truth_reports.height,
    }
    print(f"wrote synthetic dataset (preset {args.preset}, seed {args.seed}) to {args.out}")
    for path in paths:
        count = f"{rows[path.name]:>10,} rows" if path.name in rows else " " * 15
        print(f"  {path.name:<22} {count}  {path.stat().st_size:>12,} bytes")
    return exitcodes.OK
