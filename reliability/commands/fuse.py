"""``reliability fuse``: fuse the reports of each event in a file with a saved table."""

from __future__ import annotations

import argparse

from reliability.commands._apply import add_apply_arguments, apply_table

EXAMPLE = """\
example:
  reliability fuse --table tables --reports new-reports.csv --out fused.parquet

Reports are grouped by (event_id, metric, stratum). Output columns: event_id, metric,
stratum, estimate, mean, lo50, hi50, lo90, hi90, n_reports. The format follows the
--out extension (.csv, .parquet, .ndjson).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fuse",
        help="fuse the reports of each event with a saved table",
        description="Fuse reports of the same event into one estimate with a saved score "
        "table (no refit).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_apply_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return apply_table(args, "fuse", lambda model, reports: model.fuse_frame(reports))
