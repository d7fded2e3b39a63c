"""Read input files into polars frames, turning every reader failure into a :class:`Problem`.

The format is chosen by extension. CSV columns are read as strings so that the loaders can
cast them and name every value that does not fit; Parquet and NDJSON are scanned lazily.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import msgspec
import polars as pl

from reliability.problems import InputError, Problem

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
}

#: The 1-based data row number added to every frame read.
ROW = "__row"


def read_table(path: Path) -> pl.DataFrame:
    """Read one file as it is (CSV columns all as strings) with a 1-based ``__row`` column.

    Raises :class:`InputError` with one file-level problem for a missing, empty, unreadable or
    badly encoded file, or an unknown extension.
    """
    name = str(path)
    file_format = FORMATS.get(path.suffix.lower())
    if file_format is None:
        expected = ", ".join(FORMATS)
        raise _file_error(name, f"unknown file extension {path.suffix!r} (expected {expected})")
    if not path.exists():
        raise _file_error(name, "file not found")
    if not path.is_file():
        raise _file_error(name, "not a regular file")
    if path.stat().st_size == 0:
        raise _file_error(name, "file is empty")
    try:
        frame = _read(path, file_format)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InputError([_diagnose(path, file_format, exc)]) from None
    duplicated = [column for column in frame.columns if "_duplicated_" in column]
    if duplicated:
        original = duplicated[0].split("_duplicated_")[0]
        raise _file_error(name, f"column {original!r} appears more than once in the header")
    if frame.height == 0:
        reason = "has a header but no rows" if file_format == "csv" else "has no rows"
        raise _file_error(name, reason)
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _read(path: Path, file_format: str) -> pl.DataFrame:
    if file_format == "csv":
        return pl.scan_csv(path, infer_schema=False).collect()
    if file_format == "parquet":
        return pl.scan_parquet(path).collect()
    if file_format == "ndjson":
        return pl.scan_ndjson(path, infer_schema_length=None).collect()
    return _read_json_array(path)


def _read_json_array(path: Path) -> pl.DataFrame:
    data = path.read_bytes()
    data.decode("utf-8")  # a UnicodeDecodeError is diagnosed with its line by the caller
    try:
        decoded = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise _JsonError(f"invalid JSON: {exc}") from None
    if not isinstance(decoded, list):
        raise _JsonError(f"expected a JSON array of objects, found {_json_type(decoded)}")
    for index, item in enumerate(decoded, start=1):
        if not isinstance(item, dict):
            raise _JsonError(f"expected a JSON object, found {_json_type(item)}", row=index)
    if not decoded:
        return pl.DataFrame()
    return pl.read_json(io.BytesIO(data), infer_schema_length=None)


class _JsonError(ValueError):
    def __init__(self, reason: str, row: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    for kind, label in names.items():
        if isinstance(value, kind):
            return label
    return "null" if value is None else "a number"


def _diagnose(path: Path, file_format: str, exc: Exception) -> Problem:
    """Turn a reader's failure into a problem that says where the file is broken."""
    name = str(path)
    if isinstance(exc, _JsonError):
        return Problem(file=name, row=exc.row, reason=exc.reason)
    if isinstance(exc, pl.exceptions.NoDataError):
        return Problem(file=name, reason="file is empty")
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        row = line - 1 if file_format == "csv" else line
        byte = data[err.start]
        reason = f"not valid UTF-8 (byte 0x{byte:02x} on line {line}); save the file as UTF-8"
        return Problem(file=name, row=row if row >= 1 else None, reason=reason)
    except OSError as err:
        return Problem(file=name, reason=f"cannot read file: {err.strerror or err}")
    if file_format == "csv":
        return _diagnose_csv(name, text, exc)
    if file_format == "ndjson":
        return _diagnose_ndjson(name, text, exc)
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Problem(file=name, reason=f"cannot read {file_format} file: {first_line}")


def _diagnose_csv(name: str, text: str, exc: Exception) -> Problem:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    for row, record in enumerate(reader, start=1):
        if len(record) > len(header):
            reason = f"has {len(record)} fields but the header has {len(header)}"
            return Problem(file=name, row=row, reason=reason)
    message = str(exc).strip().splitlines()
    return Problem(file=name, reason=f"cannot read CSV: {message[0] if message else exc}")


def _diagnose_ndjson(name: str, text: str, exc: Exception) -> Problem:
    row = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        row += 1
        try:
            item = msgspec.json.decode(line)
        except msgspec.DecodeError as err:
            return Problem(file=name, row=row, reason=f"invalid JSON: {err}")
        if not isinstance(item, dict):
            reason = f"expected a JSON object, found {_json_type(item)}"
            return Problem(file=name, row=row, reason=reason)
    message = str(exc).strip().splitlines()
    return Problem(file=name, reason=f"cannot read NDJSON: {message[0] if message else exc}")


def _file_error(name: str, reason: str) -> InputError:
    return InputError([Problem(file=name, reason=reason)])
