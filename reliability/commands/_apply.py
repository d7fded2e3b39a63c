"""Shared by ``score`` and ``fuse``: load a table and reports, apply the model, write a frame."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import polars as pl

from reliability import exitcodes
from reliability.commands._common import (
    expand_inputs,
    fail,
    load_table,
    output_format,
    warn,
    write_frame,
)
from reliability.figures import FigureError
from reliability.loaders import load_reports
from reliability.outlet_model import OutletModel, UnknownMetricError
from reliability.problems import InputError
from reliability.scales import Scale
from reliability.tablestore import TableError

Apply = Callable[[OutletModel, pl.DataFrame], pl.DataFrame]


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table",
        type=Path,
        required=True,
        metavar="PATH",
        help="a table file, or a table directory (its latest table)",
    )
    parser.add_argument(
        "--reports",
        nargs="+",
        required=True,
        metavar="PATH",
        help="report files or glob patterns (CSV, Parquet, NDJSON, JSON)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="output file: .csv, .parquet or .ndjson",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="set bad report rows aside (see --rejects) instead of failing",
    )
    parser.add_argument(
        "--rejects", type=Path, metavar="PATH", help="where --lenient puts bad rows"
    )


def apply_table(args: argparse.Namespace, command: str, apply: Apply) -> int:
    """Run ``apply`` on the reports with the table's model and write the result to ``--out``."""
    try:
        output_format(args.out)
    except ValueError as exc:
        fail(command, str(exc))
        return exitcodes.USAGE
    try:
        table = load_table(args.table)
    except TableError as exc:
        fail(command, str(exc))
        return exitcodes.INPUT_ERROR
    scales = {m.metric: Scale(m.scale) for m in table.metrics}
    try:
        loaded = load_reports(
            expand_inputs(args.reports, "report"),
            scales=scales,
            lenient=args.lenient,
            rejects=args.rejects,
        )
    except InputError as exc:
        fail(command, str(exc))
        return exitcodes.INPUT_ERROR
    for note in loaded.notes:
        warn(command, note)
    try:
        result = apply(OutletModel.from_table(table), loaded.frame)
    except UnknownMetricError as exc:
        fail(command, f"{exc.args[0] if exc.args else exc} (table {args.table})")
        return exitcodes.INPUT_ERROR
    except (FigureError, ValueError) as exc:
        fail(command, str(exc))
        return exitcodes.INPUT_ERROR
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_frame(result, args.out)
    except OSError as exc:
        fail(command, f"{args.out}: cannot write: {exc.strerror or exc}")
        return exitcodes.OUTPUT_FAILURE
    print(f"wrote {result.height:,} rows to {args.out}")
    return exitcodes.OK
