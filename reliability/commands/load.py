"""``reliability load``: validate a dataset's files and summarise what they hold."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reliability import exitcodes
from reliability.commands._common import dataset_from_args, fail
from reliability.dataset import parse_scale_option, summarize
from reliability.problems import InputError
from reliability.scales import Scale

EPILOG = """\
Examples:
  reliability load --config seeds/acw/dataset.toml
  reliability load --reports 'reports/*.csv' --consensus consensus.csv --outlets outlets.csv
  reliability load --reports polls.parquet --scale margin=linear --lenient --rejects rejects/

Prints counts by outlet, metric and figure kind, and notes such as unknown outlets and collapsed
duplicates. Any problem in the input (with its file, row and column) gives exit code 3. With
--lenient, bad rows are written to DIR/reports.rejects.csv and DIR/consensus.rejects.csv and
the rest is loaded. The file formats are described in docs/data-contract.md.
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "load",
        help="validate input files and summarise them",
        description="Load and validate reports, consensus figures and the outlet registry.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, metavar="TOML", help="dataset config file")
    parser.add_argument(
        "--reports", nargs="+", default=[], metavar="PATH", help="report files or globs"
    )
    parser.add_argument(
        "--consensus", nargs="+", default=[], metavar="PATH", help="consensus files or globs"
    )
    parser.add_argument("--outlets", metavar="PATH", help="outlet registry file")
    parser.add_argument(
        "--scale",
        action="append",
        type=_scale,
        default=[],
        metavar="METRIC=SCALE",
        help="scale of a metric, log (counts, the default) or linear; repeatable",
    )
    parser.add_argument(
        "--lenient", action="store_true", help="set bad rows aside instead of failing"
    )
    parser.add_argument(
        "--rejects", type=Path, metavar="DIR", help="where --lenient writes the rejected rows"
    )
    parser.set_defaults(handler=run)


def _scale(option: str) -> tuple[str, Scale]:
    try:
        return parse_scale_option(option)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def run(args: argparse.Namespace) -> int:
    if args.config is None and not args.reports:
        fail("load", "give --config or --reports")
        return exitcodes.USAGE
    if args.lenient and args.rejects is None:
        fail("load", "--lenient needs --rejects DIR, so that no rejected row is lost")
        return exitcodes.USAGE
    if args.rejects is not None and not args.lenient:
        fail("load", "--rejects is only used with --lenient")
        return exitcodes.USAGE
    try:
        dataset = dataset_from_args(args)
    except InputError as err:
        fail("load", str(err))
        return exitcodes.INPUT_ERROR
    print(summarize(dataset))
    return exitcodes.OK
