"""``reliability report TABLE --out report.html``: a self-contained HTML report of a table."""

from __future__ import annotations

import argparse
from pathlib import Path

from reliability import exitcodes
from reliability.commands._common import fail, load_table
from reliability.htmlreport import render_report
from reliability.tablestore import TableError, atomic_write

EXAMPLE = """\
examples:
  reliability report tables --out report.html
  reliability report tables/20261101T020000Z-1a2b3c4d.json --out old.html

The page has no scripts and loads nothing from the network: open it anywhere.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML report of a score table",
        description="Write one self-contained HTML page with charts of a score table.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("table", type=Path, metavar="TABLE", help="table file or table directory")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="HTML file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        table = load_table(args.table)
    except TableError as exc:
        fail("report", str(exc))
        return exitcodes.INPUT_ERROR
    try:
        atomic_write(args.out, render_report(table).encode("utf-8"))
    except OSError as exc:
        fail("report", f"{args.out}: cannot write: {exc.strerror or exc}")
        return exitcodes.OUTPUT_FAILURE
    print(f"wrote {args.out}")
    return exitcodes.OK
