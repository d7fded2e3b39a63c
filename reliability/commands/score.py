"""``reliability score``: score each report in a file with a saved table, without refitting."""

from __future__ import annotations

import argparse

from reliability.commands._apply import add_apply_arguments, apply_table

EXAMPLE = """\
example:
  reliability score --table tables --reports new-reports.csv --out scored.csv

Output columns: report_id, outlet, metric, estimate, lo50, hi50, lo90, hi90,
relative_weight, cold_start, censored. The format follows the --out extension
(.csv, .parquet, .ndjson).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "score",
        help="bias-correct and weigh each report with a saved table",
        description="Score each report of a file with a saved score table (no refit).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_apply_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return apply_table(args, "score", lambda model, reports: model.score_frame(reports))
