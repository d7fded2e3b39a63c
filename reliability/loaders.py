"""Read and validate reports, consensus figures and the outlet registry.

Files are CSV, Parquet, NDJSON (``.ndjson``/``.jsonl``) or JSON (an array of objects), chosen
by extension, with the column names of :mod:`reliability.records`. Every problem is collected
with its file, row and column and raised together as one :class:`InputError`; in lenient mode
bad rows are set aside in a rejects file instead. ``docs/data-contract.md`` is the user-facing
description of everything checked here.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import polars as pl

from reliability import frames
from reliability.figures import FigureError, resolve_figure
from reliability.problems import InputError, Problem
from reliability.readers import ROW, read_table
from reliability.records import DEFAULT_METRIC, FigureKind
from reliability.scales import Scale

NAME_MAX = 200
TEXT_MAX = 1000
#: The report fields hashed into a missing ``report_id``, in hashing order: every file column
#: but the id itself and the derived figure kind.
CONTENT_FIELDS = tuple(name for name in frames.REPORTS if name not in ("report_id", "kind"))

# Working columns; the double underscore keeps them apart from any user column.
_FILE = "__file"
_ROW = ROW
_COLUMN = "__column"
_REASON = "__reason"
_HASH = "__hash"
_COUNT = "__count"
_PROBLEM_SCHEMA = {_FILE: pl.Int64(), _ROW: pl.Int64(), _COLUMN: pl.String(), _REASON: pl.String()}

# Date-times are normalised to a space separator and a numeric offset before these are tried.
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


class Kind(enum.Enum):
    """How a column's values are read."""

    NAME = "name"
    TEXT = "text"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"


@dataclass(frozen=True)
class TableSpec:
    """The columns of one kind of input file."""

    role: str
    columns: Mapping[str, Kind]
    required: tuple[str, ...]
    #: At least one of these must be a column of the file.
    figure_columns: tuple[str, ...]
    #: Columns a file may carry that are recomputed on loading.
    derived: tuple[str, ...] = ()


REPORTS = TableSpec(
    role="reports",
    columns={
        "report_id": Kind.NAME,
        "event_id": Kind.NAME,
        "outlet": Kind.NAME,
        "metric": Kind.NAME,
        "stratum": Kind.NAME,
        "value": Kind.NUMBER,
        "low": Kind.NUMBER,
        "high": Kind.NUMBER,
        "figure_text": Kind.TEXT,
        "published_at": Kind.DATETIME,
        "event_date": Kind.DATE,
        "cites": Kind.NAME,
    },
    required=("event_id", "outlet"),
    figure_columns=("value", "low", "high", "figure_text"),
    derived=("kind",),
)

CONSENSUS = TableSpec(
    role="consensus",
    columns={
        "event_id": Kind.NAME,
        "metric": Kind.NAME,
        "stratum": Kind.NAME,
        "value": Kind.NUMBER,
        "low": Kind.NUMBER,
        "high": Kind.NUMBER,
        "established_at": Kind.DATETIME,
        "source": Kind.TEXT,
    },
    required=("event_id",),
    figure_columns=("value", "low", "high"),
    derived=("kind",),
)

OUTLETS = TableSpec(
    role="outlets",
    columns={"outlet": Kind.NAME, "name": Kind.TEXT, "group": Kind.NAME, "country": Kind.NAME},
    required=("outlet",),
    figure_columns=(),
)


@dataclass(frozen=True)
class Loaded:
    """A validated frame with what loading found along the way."""

    frame: pl.DataFrame
    #: Non-fatal findings a user should see (unknown outlets, collapsed duplicates, aliases).
    notes: list[str]
    #: Rows set aside in lenient mode.
    rejected: int
    #: Each input file with its number of data rows as read.
    files: list[tuple[Path, int]]


@dataclass(frozen=True)
class Registry:
    """The outlet registry: ``frame`` conforms to :data:`reliability.frames.OUTLETS`."""

    frame: pl.DataFrame
    #: alias -> canonical outlet id.
    aliases: Mapping[str, str]

    def resolve(self, names: pl.Series) -> pl.Series:
        """Map aliases to canonical outlet ids; other names (and nulls) pass through.

        >>> registry = Registry(pl.DataFrame(), {"BBC News": "bbc"})
        >>> registry.resolve(pl.Series(["BBC News", "bbc", "cnn"])).to_list()
        ['bbc', 'bbc', 'cnn']
        """
        if not self.aliases:
            return names
        return names.replace(dict(self.aliases))

    @property
    def outlets(self) -> pl.Series:
        """The canonical outlet ids."""
        return self.frame.get_column("outlet")


# Typing columns --------------------------------------------------------------------------------


@dataclass
class _Typed:
    """One file's rows with typed columns, and the problems found while typing them."""

    name: str
    frame: pl.DataFrame
    raw: pl.DataFrame
    problems: pl.DataFrame
    file_problems: list[Problem]
    notes: list[str]


def _type_file(index: int, path: Path, spec: TableSpec) -> _Typed:
    name = str(path)
    raw = read_table(path).with_columns(pl.lit(index, pl.Int64()).alias(_FILE))
    columns = [c for c in raw.columns if c not in (_ROW, _FILE)]
    file_problems = [
        Problem(file=name, column=column, reason=f"required column {column!r} is missing")
        for column in spec.required
        if column not in columns
    ]
    if spec.figure_columns and not set(spec.figure_columns) & set(columns):
        listed = ", ".join(spec.figure_columns)
        reason = f"no figure column: give at least one of {listed}"
        file_problems.append(Problem(file=name, reason=reason))
    notes = []
    unknown = [c for c in columns if c not in spec.columns and c not in spec.derived]
    if unknown:
        notes.append(f"{name}: ignored unknown column(s) {', '.join(map(repr, unknown))}")
    derived = [c for c in columns if c in spec.derived]
    if derived:
        notes.append(f"{name}: recomputed derived column(s) {', '.join(map(repr, derived))}")

    typed: list[pl.Expr] = [pl.col(_FILE), pl.col(_ROW)]
    checked: list[tuple[str, str]] = []
    for column, kind in spec.columns.items():
        if column not in columns:
            typed.append(pl.lit(None, _dtype(spec, column)).alias(column))
            continue
        cast = _cast(column, kind, raw.schema[column], _dtype(spec, column))
        if isinstance(cast, str):
            file_problems.append(Problem(file=name, column=column, reason=cast))
            typed.append(pl.lit(None, _dtype(spec, column)).alias(column))
            continue
        value, failure = cast
        typed.append(value.alias(column))
        if failure is not None:
            checked.append((column, failure))
    frame = raw.select(typed)
    checks = [_empty_problems()]
    for column, failure in checked:
        given = pl.col("__given")
        failed = given.str.strip_chars().ne("") & pl.col(column).is_null()
        pair = frame.select(_FILE, _ROW, column).with_columns(
            raw.get_column(column).alias("__given")
        )
        message = pl.when(failed).then(pl.lit(failure) + pl.lit("'") + given + pl.lit("'"))
        checks.append(_problems(pair, message, column))
    problems = pl.concat(checks)
    return _Typed(name, frame, raw.drop(_FILE), problems, file_problems, notes)


def _dtype(spec: TableSpec, column: str) -> pl.DataType:
    schema = {"reports": frames.REPORTS, "consensus": frames.CONSENSUS, "outlets": frames.OUTLETS}
    return schema[spec.role][column]


def _cast(
    column: str, kind: Kind, source: pl.DataType, target: pl.DataType
) -> tuple[pl.Expr, str | None] | str:
    """The typed value of a column and, for text sources, the reason prefix of a failed cast.

    Returns a reason string when the whole column has a type that cannot hold such values.
    """
    col = pl.col(column)
    if source == pl.Null:
        return pl.lit(None, target), None
    if source == pl.String:
        stripped = col.str.strip_chars()
        text = pl.when(stripped != "").then(stripped)
        if kind in (Kind.NAME, Kind.TEXT):
            return text, None
        return _parse(text, kind), _CAST_REASONS[kind]
    if kind in (Kind.NAME, Kind.TEXT) and isinstance(source, pl.Categorical | pl.Enum):
        stripped = col.cast(pl.String).str.strip_chars()
        return pl.when(stripped != "").then(stripped), None
    if kind in (Kind.NAME, Kind.TEXT) and (source.is_numeric() or source == pl.Boolean):
        return col.cast(pl.String), None
    if kind is Kind.NUMBER and source.is_numeric():
        return col.cast(pl.Float64), None
    if kind is Kind.DATETIME and isinstance(source, pl.Datetime):
        value = col.cast(pl.Datetime("us", source.time_zone))
        if source.time_zone is None:
            return value.dt.replace_time_zone("UTC"), None
        return value.dt.convert_time_zone("UTC"), None
    if kind is Kind.DATETIME and source == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), None
    if kind is Kind.DATE and source == pl.Date:
        return col, None
    if kind is Kind.DATE and isinstance(source, pl.Datetime):
        return col.dt.date(), None
    return f"expected {_EXPECTED[kind]}, but the column holds {source}"


_CAST_REASONS = {
    Kind.NUMBER: "not a number: ",
    Kind.DATETIME: "not a date-time (use ISO 8601, e.g. 2024-03-01T12:00:00Z): ",
    Kind.DATE: "not a date (use YYYY-MM-DD): ",
}
_EXPECTED = {
    Kind.NAME: "text",
    Kind.TEXT: "text",
    Kind.NUMBER: "numbers",
    Kind.DATETIME: "date-times",
    Kind.DATE: "dates",
}


def _parse(text: pl.Expr, kind: Kind) -> pl.Expr:
    if kind is Kind.NUMBER:
        return text.cast(pl.Float64, strict=False)
    if kind is Kind.DATE:
        return text.str.to_date("%Y-%m-%d", strict=False)
    zoned = text.str.replace(r"[zZ]$", "+00:00").str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt]", "$1 ")
    # Rows may mix formats, so every accepted format is tried and the first match kept.
    candidates = [
        zoned.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
        for fmt in _DATETIME_FORMATS
    ]
    return pl.coalesce(candidates)


def _problems(frame: pl.DataFrame, reason: pl.Expr, column: str | None) -> pl.DataFrame:
    """The rows of ``frame`` where ``reason`` is not null, as problems."""
    return (
        frame.select(
            pl.col(_FILE),
            pl.col(_ROW),
            pl.lit(column, pl.String()).alias(_COLUMN),
            reason.cast(pl.String).alias(_REASON),
        )
        .filter(pl.col(_REASON).is_not_null())
        .cast(_PROBLEM_SCHEMA)  # type: ignore[arg-type]
    )


def _empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=_PROBLEM_SCHEMA)


def _typed_files(paths: Sequence[Path], spec: TableSpec) -> list[_Typed]:
    """Type every file, raising one :class:`InputError` for all files that cannot be read."""
    typed: list[_Typed] = []
    unreadable: list[Problem] = []
    for index, path in enumerate(paths):
        try:
            typed.append(_type_file(index, Path(path), spec))
        except InputError as err:
            unreadable += err.problems
    if unreadable:
        raise InputError(unreadable + [p for t in typed for p in t.file_problems])
    if not typed:
        raise InputError([Problem(file=spec.role, reason=f"no {spec.role} files given")])
    return typed


# Row checks ------------------------------------------------------------------------------------


def _field_checks(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """Problems with text fields: empty required fields and overlong names."""
    checks = [
        _problems(frame, pl.when(pl.col(c).is_null()).then(pl.lit("required value is empty")), c)
        for c in spec.required
    ]
    for column, kind in spec.columns.items():
        limit = {Kind.NAME: NAME_MAX, Kind.TEXT: TEXT_MAX}.get(kind)
        if limit is not None:
            too_long = pl.col(column).str.len_chars() > limit
            reason = pl.when(too_long).then(pl.lit(f"longer than {limit} characters"))
            checks.append(_problems(frame, reason, column))
    return pl.concat(checks)


def _number_checks(
    frame: pl.DataFrame, typed_ok: pl.DataFrame, spec: TableSpec, count: pl.Expr
) -> pl.DataFrame:
    """Problems with the figure numbers: NaN, infinite, negative counts, low > high, none.

    ``typed_ok`` holds the rows whose values all had the right type: only there does an empty
    figure mean that no figure was given.
    """
    checks = []
    for column in ("value", "low", "high"):
        col = pl.col(column)
        reason = (
            pl.when(col.is_nan())
            .then(pl.lit(f"{column} is NaN"))
            .when(col.is_infinite())
            .then(pl.lit(f"{column} is infinite"))
            .when(count & (col < 0))
            .then(pl.lit("negative count ") + _number_text(col))
        )
        checks.append(_problems(frame, reason, column))
    low, high = pl.col("low"), pl.col("high")
    inverted = pl.when(low.is_finite() & high.is_finite() & (low > high)).then(
        pl.format("low {} is greater than high {}", _number_text(low), _number_text(high))
    )
    checks.append(_problems(frame, inverted, "low"))
    nothing = pl.all_horizontal([pl.col(c).is_null() for c in spec.figure_columns])
    give = (
        "value, low/high or figure text" if "figure_text" in spec.columns else "value or low/high"
    )
    missing = pl.when(nothing).then(pl.lit(f"no figure: give {give}"))
    checks.append(_problems(typed_ok, missing, "value"))
    return pl.concat(checks)


def _number_text(col: pl.Expr) -> pl.Expr:
    """A number as a user would write it: whole numbers without a trailing ``.0``."""
    whole = (col.round(0) == col) & (col.abs() < 1e15)
    return pl.when(whole).then(col.cast(pl.Int64).cast(pl.String)).otherwise(col.cast(pl.String))


def _count_expr(scales: Mapping[str, Scale] | None) -> pl.Expr:
    """True for rows whose metric is a count (every metric not declared linear)."""
    linear = [metric for metric, scale in (scales or {}).items() if not scale.is_count]
    return ~pl.col("metric").is_in(linear)


# Figures ---------------------------------------------------------------------------------------


def _resolve_figures(frame: pl.DataFrame, count: pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fill ``__low``/``__high``/``kind`` from the input figure columns.

    Plain numbers are resolved with vectorised expressions that follow the rules of
    :func:`reliability.figures.resolve_figure`; figure text, and numbers that need an agreement
    check (a value with bounds), go through ``resolve_figure`` once per distinct combination.
    """
    value, low, high, text = pl.col("value"), pl.col("low"), pl.col("high"), pl.col("figure_text")
    work = frame.with_columns(count.alias(_COUNT))
    if "figure_text" not in work.columns:
        work = work.with_columns(pl.lit(None, pl.String()).alias("figure_text"))
    no_numbers = value.is_null() & low.is_null() & high.is_null()
    per_row = (value.is_not_null() & (low.is_not_null() | high.is_not_null())) | (
        no_numbers & text.is_not_null()
    )
    keys = ["value", "low", "high", "figure_text", _COUNT]
    todo = work.filter(per_row).select(keys).unique(maintain_order=True)
    resolved = _resolve_each(todo)
    work = work.join(resolved, on=keys, how="left", nulls_equal=True)

    only_value = value.is_not_null() & low.is_null() & high.is_null()
    bounds = value.is_null() & low.is_not_null() & high.is_not_null()
    only_low = value.is_null() & low.is_not_null() & high.is_null()
    only_high = value.is_null() & low.is_null() & high.is_not_null()
    open_low = pl.when(pl.col(_COUNT)).then(0.0).otherwise(float("-inf"))
    work = work.with_columns(
        pl.coalesce(
            pl.col("__fig_low"),
            pl.when(only_value)
            .then(value)
            .when(bounds | only_low)
            .then(low)
            .when(only_high)
            .then(open_low),
        ).alias("__low"),
        pl.coalesce(
            pl.col("__fig_high"),
            pl.when(only_value)
            .then(value)
            .when(bounds | only_high)
            .then(high)
            .when(only_low)
            .then(float("inf")),
        ).alias("__high"),
        pl.coalesce(
            pl.col("__fig_kind"),
            pl.when(only_value | (bounds & (low == high)))
            .then(pl.lit(FigureKind.EXACT.value))
            .when(bounds)
            .then(pl.lit(FigureKind.RANGE.value))
            .when(only_low)
            .then(pl.lit(FigureKind.AT_LEAST.value))
            .when(only_high)
            .then(pl.lit(FigureKind.AT_MOST.value)),
        ).alias("kind"),
    )
    column = pl.when(no_numbers).then(pl.lit("figure_text")).otherwise(pl.lit("value"))
    problems = (
        work.filter(pl.col("__fig_reason").is_not_null())
        .select(
            pl.col(_FILE),
            pl.col(_ROW),
            column.alias(_COLUMN),
            pl.col("__fig_reason").alias(_REASON),
        )
        .cast(_PROBLEM_SCHEMA)  # type: ignore[arg-type]
    )
    return work.drop(_COUNT, "__fig_low", "__fig_high", "__fig_kind", "__fig_reason"), problems


def _resolve_each(todo: pl.DataFrame) -> pl.DataFrame:
    rows: list[tuple[object, ...]] = []
    for value, low, high, text, count in todo.iter_rows():
        try:
            figure = resolve_figure(value=value, low=low, high=high, text=text, count=count)
        except FigureError as err:
            rows.append((value, low, high, text, count, None, None, None, err.reason))
        else:
            result = (figure.low, figure.high, figure.kind.value, None)
            rows.append((value, low, high, text, count, *result))
    schema = {
        "value": pl.Float64(),
        "low": pl.Float64(),
        "high": pl.Float64(),
        "figure_text": pl.String(),
        _COUNT: pl.Boolean(),
        "__fig_low": pl.Float64(),
        "__fig_high": pl.Float64(),
        "__fig_kind": pl.String(),
        "__fig_reason": pl.String(),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


# Identity and duplicates -----------------------------------------------------------------------


def content_hash(frame: pl.DataFrame) -> pl.Series:
    """The stable id of each report: sha256 of its content fields, first 16 hex characters.

    The content is the JSON array of :data:`CONTENT_FIELDS` (outlet and cites after alias
    resolution, the figure as given rather than as resolved), encoded by msgspec: floats in
    shortest round-trip form, nulls as ``null``, date-times as UTC text with six fractional
    digits (``2024-03-01T12:00:00.000000Z``) and dates as ``2024-03-01``.

    >>> frame = pl.DataFrame({"event_id": ["e1"], "outlet": ["bbc"], "value": [12.0]})
    >>> content_hash(frames.conform(frame, frames.REPORTS).with_columns(metric=pl.lit("killed")))[0]
    'e1299729a1cc8b24'
    """
    texts = {
        "published_at": pl.col("published_at").dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ"),
        "event_date": pl.col("event_date").dt.to_string("%Y-%m-%d"),
    }
    content = frame.select(texts.get(c, pl.col(c)) for c in CONTENT_FIELDS)
    columns = [content.get_column(c).to_list() for c in CONTENT_FIELDS]
    encode = msgspec.json.Encoder().encode
    # sha256 has no polars expression; encoding and hashing are in C, only the loop is Python.
    digests = [hashlib.sha256(encode(row)).hexdigest()[:16] for row in zip(*columns, strict=True)]
    return pl.Series(_HASH, digests, dtype=pl.String())


def _duplicates(
    frame: pl.DataFrame, key: list[str], label: pl.Expr, names: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Collapse rows that repeat a key with the same ``__hash``; report keys with different ones.

    Returns the frame without collapsed rows, the conflict problems (each row names another
    row of its group) and how many rows were collapsed.
    """
    grouped = frame.with_columns(
        pl.col(_HASH).n_unique().over(key).alias("__variants"),
        pl.int_range(pl.len()).over(key).alias("__rank"),
    )
    conflicts = grouped.filter(pl.col("__variants") > 1).with_columns(
        pl.when(pl.col("__rank") == 0)
        .then(pl.struct(pl.col(_FILE).get(1), pl.col(_ROW).get(1)))
        .otherwise(pl.struct(pl.col(_FILE).first(), pl.col(_ROW).first()))
        .over(key)
        .struct.unnest()
        .name.prefix("__other")
    )
    file_name = pl.col(f"__other{_FILE}").replace_strict(
        dict(enumerate(names)), return_dtype=pl.String
    )
    reason = pl.format(
        "{} with different content at {} row {}", label, file_name, pl.col(f"__other{_ROW}")
    )
    problems = conflicts.select(
        pl.col(_FILE), pl.col(_ROW), pl.lit(key[0]).alias(_COLUMN), reason.alias(_REASON)
    ).cast(_PROBLEM_SCHEMA)  # type: ignore[arg-type]
    collapse = (pl.col("__variants") == 1) & (pl.col("__rank") > 0)
    collapsed = grouped.filter(collapse).height
    kept = grouped.filter(~collapse).drop("__variants", "__rank")
    return kept, problems, collapsed


# Assembling ------------------------------------------------------------------------------------


def _settle(
    typed: list[_Typed],
    spec: TableSpec,
    problems: pl.DataFrame,
    *,
    lenient: bool,
    rejects: Path | None,
    notes: list[str],
) -> pl.DataFrame:
    """Raise for the problems, or in lenient mode set their rows aside; returns bad row keys."""
    names = [str(Path(name)) for name in _names(typed)]
    file_problems = [p for t in typed for p in t.file_problems]
    position = {column: index for index, column in enumerate(spec.columns)}
    ordered = (
        problems.unique(maintain_order=True)
        .with_columns(pl.col(_COLUMN).replace_strict(position, default=-1).alias("__position"))
        .sort([_FILE, _ROW, "__position"], maintain_order=True)
        .drop("__position")
    )
    row_problems = [
        Problem(file=names[file], row=row, column=column, reason=reason)
        for file, row, column, reason in ordered.iter_rows()
    ]
    if file_problems:
        # Lenient mode sets bad rows aside, so only what stops loading altogether is listed.
        raise InputError(_in_file_order(file_problems + ([] if lenient else row_problems), names))
    if row_problems and not lenient:
        raise InputError(row_problems)
    bad = ordered.group_by([_FILE, _ROW], maintain_order=True).agg(
        pl.format("{}: {}", pl.col(_COLUMN).fill_null("row"), pl.col(_REASON))
        .str.join("; ")
        .alias("reason")
    )
    if not lenient:
        return bad
    if rejects is not None:
        _write_rejects(typed, bad, names, rejects)
    if bad.height:
        where = f"written to {rejects}" if rejects is not None else "not written anywhere"
        notes.append(f"rejected {bad.height} row(s) with problems ({where})")
        if rejects is None:
            notes += [f"  {p}" for p in row_problems[:20]]
    return bad


def _names(typed: list[_Typed]) -> list[str]:
    return [t.name for t in typed]


def _in_file_order(problems: list[Problem], names: list[str]) -> list[Problem]:
    position = {name: index for index, name in enumerate(names)}
    return sorted(problems, key=lambda p: (position.get(p.file, -1), p.row or 0))


def _write_rejects(typed: list[_Typed], bad: pl.DataFrame, names: list[str], path: Path) -> None:
    parts = []
    for index, item in enumerate(typed):
        rows = bad.filter(pl.col(_FILE) == index).drop(_FILE)
        if rows.height == 0:
            continue
        joined = item.raw.join(rows, on=_ROW, how="inner")
        columns = [c for c in item.raw.columns if c != _ROW]
        parts.append(
            joined.select(
                *[_as_text(c, joined.schema[c]) for c in columns],
                pl.lit(names[index]).alias("file"),
                pl.col(_ROW).alias("row"),
                pl.col("reason"),
            )
        )
    empty = pl.DataFrame(schema={"file": pl.String(), "row": pl.Int64(), "reason": pl.String()})
    out = pl.concat(parts, how="diagonal") if parts else empty
    path.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(path)


def _as_text(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_nested():
        encoded = pl.struct(pl.col(column)).struct.json_encode()
        return encoded.str.json_path_match(f"$.{column}").alias(column)
    return pl.col(column).cast(pl.String)


def _load(
    paths: Sequence[Path],
    spec: TableSpec,
    *,
    scales: Mapping[str, Scale] | None,
    registry: Registry | None,
    lenient: bool,
    rejects: Path | None,
) -> Loaded:
    typed = _typed_files(paths, spec)
    names = _names(typed)
    notes = [note for t in typed for note in t.notes]
    # An infinite bound on the open side is how frames.REPORTS writes an open interval, so a
    # saved canonical frame loads back; it means the same as leaving the bound empty.
    frame = pl.concat([t.frame for t in typed]).with_columns(
        pl.col("metric").fill_null(DEFAULT_METRIC),
        pl.when(pl.col("low") != float("-inf")).then(pl.col("low")).alias("low"),
        pl.when(pl.col("high") != float("inf")).then(pl.col("high")).alias("high"),
    )
    count = _count_expr(scales)
    problems = [t.problems for t in typed]
    problems.append(_field_checks(frame, spec))
    # In a file missing a figure column, or rows with a mistyped number, an empty figure is a
    # consequence already reported rather than a problem of its own.
    broken = [i for i, t in enumerate(typed) if t.file_problems]
    typed_ok = _without(frame, problems[: len(typed)]).filter(~pl.col(_FILE).is_in(broken))
    problems.append(_number_checks(frame, typed_ok, spec, count))
    frame, figure_problems = _resolve_figures(_without(frame, problems), count)
    problems.append(figure_problems)
    if registry is not None and spec is REPORTS:
        frame = _apply_registry(frame, registry, notes)
    if spec is REPORTS:
        frame = frame.with_columns(content_hash(frame))
        frame = frame.with_columns(pl.col("report_id").fill_null(pl.col(_HASH)))
        label = pl.format("report_id '{}' is used", pl.col("report_id"))
        key = ["report_id"]
    else:
        frame = frame.with_columns(
            pl.struct("value", "low", "high").hash().cast(pl.String).alias(_HASH)
        )
        label = pl.format(
            "another consensus figure for event_id '{}', metric '{}', stratum '{}'",
            pl.col("event_id"),
            pl.col("metric"),
            pl.col("stratum").fill_null("(all)"),
        )
        key = list(frames.QUANTITY_KEY)
    frame, conflicts, collapsed = _duplicates(frame, key, label, names)
    problems.append(conflicts)
    if collapsed:
        notes.append(f"collapsed {collapsed} identical duplicate row(s)")
    bad = _settle(typed, spec, pl.concat(problems), lenient=lenient, rejects=rejects, notes=notes)
    frame = frame.join(bad.select(_FILE, _ROW), on=[_FILE, _ROW], how="anti")
    if frame.height == 0:
        raise InputError([Problem(file=", ".join(names), reason=f"no valid {spec.role} rows left")])
    frame = frame.with_columns(pl.col("__low").alias("low"), pl.col("__high").alias("high"))
    schema = frames.REPORTS if spec is REPORTS else frames.CONSENSUS
    return Loaded(
        frame=frames.conform(frame, schema),
        notes=notes,
        rejected=bad.height if lenient else 0,
        files=[(Path(t.name), t.raw.height) for t in typed],
    )


def _without(frame: pl.DataFrame, problems: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """``frame`` without the rows named in ``problems``."""
    bad = pl.concat(list(problems)).select(_FILE, _ROW)
    return frame.join(bad, on=[_FILE, _ROW], how="anti")


def _apply_registry(frame: pl.DataFrame, registry: Registry, notes: list[str]) -> pl.DataFrame:
    for column in ("outlet", "cites"):
        given = frame.get_column(column)
        resolved = registry.resolve(given)
        changes = (
            pl.DataFrame({"alias": given, "outlet": resolved})
            .filter(pl.col("alias") != pl.col("outlet"))
            .group_by("alias", "outlet")
            .len()
            .sort("len", "alias", descending=[True, False])
        )
        if changes.height:
            listed = ", ".join(f"{a!r} -> {o!r} ({n})" for a, o, n in changes.iter_rows())
            notes.append(f"resolved aliases in {column}: {listed}")
        frame = frame.with_columns(resolved.alias(column))
    unknown = (
        frame.filter(~pl.col("outlet").is_in(registry.outlets.implode()))
        .group_by("outlet")
        .len()
        .sort("len", "outlet", descending=[True, False])
    )
    if unknown.height:
        shown = ", ".join(f"{o!r} ({n})" for o, n in unknown.head(10).iter_rows())
        more = f", and {unknown.height - 10} more" if unknown.height > 10 else ""
        notes.append(
            f"{unknown.height} outlet(s) not in the registry, scored without a group: {shown}{more}"
        )
    return frame


# Public loaders --------------------------------------------------------------------------------


def load_reports(
    paths: Sequence[Path],
    *,
    scales: Mapping[str, Scale] | None = None,
    registry: Registry | None = None,
    lenient: bool = False,
    rejects: Path | None = None,
) -> Loaded:
    """Read, validate and combine report files into one frame conformed to ``frames.REPORTS``.

    Figures are resolved (``low``/``high``/``kind``), ``outlet`` and ``cites`` are mapped
    through the registry's aliases, and a missing ``report_id`` is the content hash. Raises
    :class:`InputError` listing every problem; with ``lenient`` bad rows are dropped and written
    to ``rejects`` instead (file-level problems still raise).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "reports.csv"
    >>> _ = path.write_text("event_id,outlet,value\\ne1,bbc,12\\ne1,cnn,15\\n")
    >>> load_reports([path]).frame.select("outlet", "low", "high", "kind").rows()
    [('bbc', 12.0, 12.0, 'exact'), ('cnn', 15.0, 15.0, 'exact')]
    """
    return _load(paths, REPORTS, scales=scales, registry=registry, lenient=lenient, rejects=rejects)


def load_consensus(
    paths: Sequence[Path],
    *,
    scales: Mapping[str, Scale] | None = None,
    lenient: bool = False,
    rejects: Path | None = None,
) -> Loaded:
    """Read and validate consensus files into one frame conformed to ``frames.CONSENSUS``.

    Two rows for the same quantity (event, metric, stratum) are collapsed when their figures
    agree and are an error when they differ.
    """
    return _load(paths, CONSENSUS, scales=scales, registry=None, lenient=lenient, rejects=rejects)


def load_registry(path: Path) -> Registry:
    """Read the outlet registry; raises :class:`InputError` for any problem.

    ``aliases`` is a ``;``-separated string in CSV files and a list elsewhere. An alias that
    belongs to two outlets, or that is another outlet's id, is an error; an outlet listed
    twice is an error.
    """
    typed = _typed_files([path], OUTLETS)[0]
    name = typed.name
    file_problems = list(typed.file_problems)
    aliases = _aliases(typed.raw)
    if isinstance(aliases, str):
        file_problems.append(Problem(file=name, column="aliases", reason=aliases))
        aliases = pl.lit([], pl.List(pl.String()))
    frame = typed.frame.with_columns(typed.raw.select(aliases.alias("aliases")).to_series())
    checks = [typed.problems, _field_checks(frame, OUTLETS)]
    if file_problems:
        raise InputError(file_problems)
    checks += _registry_conflicts(frame)
    problems = pl.concat(checks).unique(maintain_order=True).sort(_ROW, maintain_order=True)
    if problems.height:
        raise InputError(
            Problem(file=name, row=row, column=column, reason=reason)
            for _, row, column, reason in problems.iter_rows()
        )
    canonical = frames.conform(frame, frames.OUTLETS)
    pairs = canonical.select("outlet", "aliases").explode("aliases").drop_nulls()
    mapping = {alias: outlet for outlet, alias in pairs.iter_rows() if alias != outlet}
    return Registry(frame=canonical, aliases=mapping)


def _aliases(raw: pl.DataFrame) -> pl.Expr | str:
    """The ``aliases`` column as a list of stripped, non-blank names (or why it cannot be)."""
    if "aliases" not in raw.columns:
        return pl.lit([], pl.List(pl.String()))
    dtype = raw.schema["aliases"]
    col = pl.col("aliases")
    if dtype == pl.Null:
        return pl.lit([], pl.List(pl.String()))
    if dtype == pl.String:
        listed = col.fill_null("").str.split(";")
    elif isinstance(dtype, pl.List) and dtype.inner in (pl.String, pl.Null):
        listed = col.fill_null([]).cast(pl.List(pl.String()))
    else:
        return f"expected a list of names (or a ';'-separated string), found {dtype}"
    stripped = listed.list.eval(pl.element().str.strip_chars())
    return stripped.list.eval(pl.element().filter(pl.element() != "")).list.unique(
        maintain_order=True
    )


def _registry_conflicts(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Problems for outlets listed twice and aliases that are ambiguous."""
    rows = frame.select(_FILE, _ROW, "outlet")
    repeated = rows.filter(pl.col("outlet").is_duplicated()).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col(_ROW).get(1))
        .otherwise(pl.col(_ROW).first())
        .over("outlet")
        .alias("__other")
    )
    twice = _problems(
        repeated,
        pl.format("outlet '{}' is listed twice (also row {})", "outlet", "__other"),
        "outlet",
    )
    aliases = (
        frame.select(_FILE, _ROW, "outlet", "aliases")
        .explode("aliases")
        .drop_nulls("aliases")
        .filter(pl.col("aliases") != pl.col("outlet"))
    )
    ids = rows.select(pl.col("outlet").alias("aliases"), pl.col(_ROW).alias("__other"))
    is_id = aliases.join(ids, on="aliases", how="inner")
    taken = _problems(
        is_id,
        pl.format("alias '{}' is the id of another outlet (row {})", "aliases", "__other"),
        "aliases",
    )
    shared = (
        aliases.unique([_ROW, "aliases"])
        .filter(pl.col("outlet").n_unique().over("aliases") > 1)
        .sort(_ROW)
        .with_columns(
            pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.struct(pl.col("outlet").get(1), pl.col(_ROW).get(1)))
            .otherwise(pl.struct(pl.col("outlet").first(), pl.col(_ROW).first()))
            .over("aliases")
            .struct.unnest()
            .name.prefix("__other_")
        )
    )
    ambiguous = _problems(
        shared,
        pl.format(
            "alias '{}' also belongs to outlet '{}' (row {})",
            "aliases",
            "__other_outlet",
            f"__other_{_ROW}",
        ),
        "aliases",
    )
    return [twice, taken, ambiguous]


# Coverage --------------------------------------------------------------------------------------


def check_coverage(reports: pl.DataFrame, consensus: pl.DataFrame) -> list[str]:
    """Notes on quantities (event, metric, stratum) reported but never settled, and the reverse.

    >>> reports = pl.DataFrame({"event_id": ["a", "b"], "metric": "killed", "stratum": None})
    >>> consensus = pl.DataFrame({"event_id": ["b", "c"], "metric": "killed", "stratum": None})
    >>> for note in check_coverage(reports, consensus):
    ...     print(note)
    1 report quantity (1 report) has no consensus figure, e.g. a/killed/(all)
    1 consensus quantity has no reports, e.g. c/killed/(all)
    """
    key = list(frames.QUANTITY_KEY)
    reported = reports.group_by(key, maintain_order=True).len()
    settled = consensus.select(key).unique(maintain_order=True)
    unsettled = reported.join(settled, on=key, how="anti", nulls_equal=True)
    unreported = settled.join(reported.select(key), on=key, how="anti", nulls_equal=True)
    notes = []
    if unsettled.height:
        n_reports = int(unsettled.get_column("len").sum())
        notes.append(
            f"{_plural(unsettled.height, 'report quantity', 'report quantities')} "
            f"({_plural(n_reports, 'report', 'reports')}) "
            f"{'has' if unsettled.height == 1 else 'have'} no consensus figure, "
            f"e.g. {_examples(unsettled)}"
        )
    if unreported.height:
        verb = "has" if unreported.height == 1 else "have"
        notes.append(
            f"{_plural(unreported.height, 'consensus quantity', 'consensus quantities')} "
            f"{verb} no reports, e.g. {_examples(unreported)}"
        )
    return notes


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _examples(frame: pl.DataFrame, limit: int = 3) -> str:
    shown = [
        f"{event}/{metric}/{stratum if stratum is not None else '(all)'}"
        for event, metric, stratum in frame.select(frames.QUANTITY_KEY).head(limit).iter_rows()
    ]
    more = f" (and {frame.height - limit} more)" if frame.height > limit else ""
    return ", ".join(shown) + more
