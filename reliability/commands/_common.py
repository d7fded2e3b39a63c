"""What several commands share: finding a table, expanding input globs, writing frames."""

from __future__ import annotations

import argparse
import glob
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from reliability.dataset import Dataset, load_dataset
from reliability.problems import InputError, Problem
from reliability.table import ScoreTable
from reliability.tablestore import TEMP_PREFIX, TableStore, read_table_file

OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".ndjson": "ndjson", ".jsonl": "ndjson"}


def fail(command: str, message: str) -> None:
    """Print an error for ``command`` on stderr."""
    print(f"reliability {command}: error: {message}", file=sys.stderr)


def warn(command: str, message: str) -> None:
    print(f"reliability {command}: warning: {message}", file=sys.stderr)


def dataset_from_args(args: argparse.Namespace) -> Dataset:
    """Load the dataset named by the shared input flags (``--config``, ``--reports``, ...)."""
    return load_dataset(
        args.config,
        reports=args.reports,
        consensus=args.consensus,
        outlets=args.outlets,
        scales=dict(args.scale),
        lenient=args.lenient,
        rejects_dir=args.rejects,
    )


def load_table(path: Path) -> ScoreTable:
    """A table file, or the latest table of a table directory (raises ``TableError``)."""
    if path.is_dir():
        return TableStore(path).latest()
    return read_table_file(path)


def expand_inputs(patterns: Sequence[str], role: str) -> list[Path]:
    """Paths and glob patterns to files; a pattern that matches nothing is an input problem.

    A plain path is kept even when missing, so the loader reports it with its own message.
    """
    paths: list[Path] = []
    problems = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                problems.append(
                    Problem(file=pattern, reason=f"no {role} file matches this pattern")
                )
            paths += [Path(m) for m in matches]
        else:
            paths.append(Path(pattern))
    if problems:
        raise InputError(problems)
    return paths


def output_format(path: Path) -> str:
    """The frame format an output path asks for by its extension (``ValueError`` if none)."""
    try:
        return OUTPUT_FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(OUTPUT_FORMATS)
        raise ValueError(
            f"{path}: unknown output format {path.suffix!r}; use one of {known}"
        ) from None


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` in the format its path extension names, atomically (raises ``OSError``)."""
    kind = output_format(path)
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        if kind == "csv":
            frame.write_csv(temp)
        elif kind == "parquet":
            frame.write_parquet(temp)
        else:
            frame.write_ndjson(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
