"""``reliability diff OLD NEW``: what changed between two score tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from reliability import exitcodes
from reliability.commands._common import fail, load_table
from reliability.table import ScoreTable
from reliability.tablediff import diff_tables, render_diff
from reliability.tablestore import TableError, TableStore

EXAMPLE = """\
examples:
  reliability diff tables/20261101T020000Z-1a2b3c4d.json tables/latest.json
  reliability diff tables 20261101T020000Z-1a2b3c4d latest --json

An outlet's bias or sd counts as shifted when |new - old| exceeds sqrt(h_old^2 + h_new^2),
h being the half-width of each 90% interval (docs/batch-job.md).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two score tables",
        description="Compare two score tables: shifted, new and dropped outlets, calibration.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "tables",
        nargs="+",
        metavar="TABLE",
        help="OLD NEW as two table files (or table directories, meaning their latest), "
        "or DIR OLD NEW with versions of one table directory ('latest' allowed)",
    )
    parser.add_argument("--json", action="store_true", help="print the diff as JSON")
    parser.add_argument("--limit", type=int, default=20, help="lines per list (default 20)")
    parser.set_defaults(handler=run)


def _resolve(args: list[str]) -> tuple[ScoreTable, ScoreTable]:
    if len(args) == 2:
        return load_table(Path(args[0])), load_table(Path(args[1]))
    if len(args) == 3:
        store = TableStore(Path(args[0]))
        old, new = (store.latest() if v == "latest" else store.read(v) for v in args[1:])
        return old, new
    raise ValueError(f"expected OLD NEW or DIR OLD NEW, got {len(args)} arguments")


def run(args: argparse.Namespace) -> int:
    try:
        old, new = _resolve(args.tables)
    except ValueError as exc:
        fail("diff", str(exc))
        return exitcodes.USAGE
    except TableError as exc:
        fail("diff", str(exc))
        return exitcodes.INPUT_ERROR
    diff = diff_tables(old, new)
    if args.json:
        sys.stdout.write(msgspec.json.encode(diff).decode() + "\n")
    else:
        print(render_diff(diff, limit=args.limit))
    return exitcodes.OK
