"""A dataset: report, consensus and outlet files named by a TOML config, loaded and validated.

The config (``docs/data-contract.md`` has the full description)::

    [dataset]
    name = "acw"
    reports = ["reports/*.csv"]     # files or globs, relative to the TOML file
    consensus = ["consensus.csv"]
    outlets = "outlets.csv"
    [scales]
    margin = "linear"               # unlisted metrics are counts on the log scale
    [model]
    df = 4.0                        # passed to the estimator as they are
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec
import polars as pl

from reliability.loaders import (
    Loaded,
    Registry,
    check_coverage,
    load_consensus,
    load_registry,
    load_reports,
)
from reliability.problems import InputError, Problem
from reliability.scales import Scale
from reliability.table import InputFile, InputFingerprint

SHOWN_OUTLETS = 20

T = TypeVar("T")


class DatasetSection(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    description: str = ""
    reports: str | list[str] = msgspec.field(default_factory=list)
    consensus: str | list[str] = msgspec.field(default_factory=list)
    outlets: str | None = None


class DatasetConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The dataset TOML, as written."""

    dataset: DatasetSection
    scales: dict[str, Scale] = msgspec.field(default_factory=dict)
    model: dict[str, object] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """Validated frames of one dataset, with where they came from."""

    name: str
    description: str
    reports: pl.DataFrame
    consensus: pl.DataFrame | None
    registry: Registry | None
    scales: dict[str, Scale]
    model_options: dict[str, object]
    notes: list[str]
    rejected: int
    fingerprint: InputFingerprint


def read_config(path: Path) -> DatasetConfig:
    """Decode a dataset TOML; a syntax error, unknown key or wrong type names the key's path."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(file=str(path), reason="file not found")]) from None
    except OSError as err:
        reason = f"cannot read file: {err.strerror or err}"
        raise InputError([Problem(file=str(path), reason=reason)]) from None
    try:
        return msgspec.toml.decode(data, type=DatasetConfig)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise InputError([Problem(file=str(path), reason=str(err))]) from None


def parse_scale_option(option: str) -> tuple[str, Scale]:
    """Parse ``METRIC=SCALE`` as given to ``--scale``.

    >>> parse_scale_option("margin=linear")
    ('margin', <Scale.LINEAR: 'linear'>)
    """
    metric, sep, scale = option.partition("=")
    metric, scale = metric.strip(), scale.strip()
    if not sep or not metric:
        raise ValueError(f"expected METRIC=SCALE (e.g. margin=linear), got {option!r}")
    try:
        return metric, Scale(scale)
    except ValueError:
        choices = " or ".join(repr(s.value) for s in Scale)
        raise ValueError(f"unknown scale {scale!r} for {metric!r}: use {choices}") from None


def load_dataset(
    config: Path | None,
    *,
    reports: Sequence[str] = (),
    consensus: Sequence[str] = (),
    outlets: str | None = None,
    scales: Mapping[str, Scale] | None = None,
    lenient: bool = False,
    rejects_dir: Path | None = None,
) -> Dataset:
    """Load and validate a dataset.

    Paths in ``config`` are relative to the TOML file; explicit ``reports`` and ``consensus``
    (relative to the working directory) are added to the config's, an explicit ``outlets``
    replaces the config's, and explicit ``scales`` override the config's per metric. Every
    problem in every file is raised together as one :class:`InputError`.
    """
    settings = read_config(config) if config is not None else None
    base = config.parent if config is not None else Path()
    section = settings.dataset if settings is not None else None
    problems: list[Problem] = []

    report_paths = _expand(_listed(section.reports if section else []), base, problems)
    report_paths += _expand(list(reports), Path(), problems)
    consensus_paths = _expand(_listed(section.consensus if section else []), base, problems)
    consensus_paths += _expand(list(consensus), Path(), problems)
    outlets_path = (
        Path(outlets) if outlets else _relative(section.outlets if section else None, base)
    )
    if not report_paths and not problems:
        where = str(config) if config is not None else "arguments"
        reason = "no report files given (list them in [dataset] reports or pass --reports)"
        problems.append(Problem(file=where, reason=reason))
    merged_scales = {**(settings.scales if settings else {}), **(scales or {})}

    registry = _attempt(lambda: load_registry(outlets_path), problems) if outlets_path else None
    rejects = {
        role: rejects_dir / f"{role}.rejects.csv" if rejects_dir else None
        for role in ("reports", "consensus")
    }
    loaded_reports = (
        _attempt(
            lambda: load_reports(
                report_paths,
                scales=merged_scales,
                registry=registry,
                lenient=lenient,
                rejects=rejects["reports"],
            ),
            problems,
        )
        if report_paths
        else None
    )
    loaded_consensus = (
        _attempt(
            lambda: load_consensus(
                consensus_paths,
                scales=merged_scales,
                lenient=lenient,
                rejects=rejects["consensus"],
            ),
            problems,
        )
        if consensus_paths
        else None
    )
    if problems or loaded_reports is None:
        raise InputError(problems)

    notes = [f"reports: {note}" for note in loaded_reports.notes]
    if loaded_consensus is not None:
        notes += [f"consensus: {note}" for note in loaded_consensus.notes]
        notes += check_coverage(loaded_reports.frame, loaded_consensus.frame)
    return Dataset(
        name=section.name if section else "unnamed",
        description=section.description if section else "",
        reports=loaded_reports.frame,
        consensus=loaded_consensus.frame if loaded_consensus else None,
        registry=registry,
        scales=merged_scales,
        model_options=dict(settings.model) if settings else {},
        notes=notes,
        rejected=loaded_reports.rejected + (loaded_consensus.rejected if loaded_consensus else 0),
        fingerprint=_fingerprint(loaded_reports, loaded_consensus, outlets_path, registry, base),
    )


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _relative(path: str | None, base: Path) -> Path | None:
    return base / path if path else None


def _expand(patterns: list[str], base: Path, problems: list[Problem]) -> list[Path]:
    """Paths for each pattern in order: globs sorted; a glob that matches nothing is an error."""
    paths: list[Path] = []
    for pattern in patterns:
        full = str(base / pattern)
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(full, recursive=True))
            if not matches:
                problems.append(Problem(file=full, reason="glob matches no files"))
            paths += [Path(match) for match in matches]
        else:
            paths.append(Path(full))
    return list(dict.fromkeys(paths))


def _attempt(load: Callable[[], T], problems: list[Problem]) -> T | None:
    try:
        return load()
    except InputError as err:
        problems += err.problems
        return None


def _fingerprint(
    reports: Loaded,
    consensus: Loaded | None,
    outlets: Path | None,
    registry: Registry | None,
    base: Path,
) -> InputFingerprint:
    files = [("reports", path, rows) for path, rows in reports.files]
    if consensus is not None:
        files += [("consensus", path, rows) for path, rows in consensus.files]
    if outlets is not None and registry is not None:
        files.append(("outlets", outlets, registry.frame.height))
    inputs = [
        InputFile(path=_display(path, base), role=role, sha256=_sha256(path), rows=rows)
        for role, path, rows in files
    ]
    digest = hashlib.sha256(msgspec.json.encode([(f.role, f.sha256) for f in inputs]))
    published = reports.frame.get_column("published_at")
    return InputFingerprint(
        files=inputs,
        n_reports=reports.frame.height,
        n_consensus=consensus.frame.height if consensus else 0,
        n_outlets=reports.frame.get_column("outlet").n_unique(),
        first_report_at=published.min(),  # type: ignore[arg-type]
        last_report_at=published.max(),  # type: ignore[arg-type]
        digest=digest.hexdigest(),
    )


def _display(path: Path, base: Path) -> str:
    """A path relative to the config's directory when it lies inside it, so fingerprints match
    across machines."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def summarize(dataset: Dataset) -> str:
    """A readable summary: counts, tables by outlet, metric and figure kind, and the notes."""
    reports = dataset.reports
    lines = [
        f"Dataset {dataset.name}" + (f": {dataset.description}" if dataset.description else "")
    ]
    lines.append(
        f"  {reports.height} reports of {reports.get_column('event_id').n_unique()} events "
        f"by {reports.get_column('outlet').n_unique()} outlets "
        f"on {reports.get_column('metric').n_unique()} metric(s)"
    )
    if dataset.consensus is not None:
        lines.append(
            f"  {dataset.consensus.height} consensus figures for "
            f"{dataset.consensus.get_column('event_id').n_unique()} events"
        )
    if dataset.registry is not None:
        lines.append(f"  {dataset.registry.frame.height} outlets in the registry")
    if dataset.rejected:
        lines.append(f"  {dataset.rejected} rows rejected")

    by_outlet = (
        reports.group_by("outlet")
        .agg(pl.len().alias("reports"), pl.col("event_id").n_unique().alias("events"))
        .sort(["reports", "outlet"], descending=[True, False])
    )
    lines += ["", "Reports by outlet:"]
    lines += _table(by_outlet.head(SHOWN_OUTLETS))
    if by_outlet.height > SHOWN_OUTLETS:
        lines.append(f"  … {by_outlet.height - SHOWN_OUTLETS} more")

    scale = pl.col("metric").replace_strict(
        {m: s.value for m, s in dataset.scales.items()}, default=Scale.LOG.value
    )
    by_metric = (
        reports.group_by("metric")
        .agg(pl.len().alias("reports"), pl.col("event_id").n_unique().alias("events"))
        .with_columns(scale.alias("scale"))
        .select("metric", "scale", "reports", "events")
        .sort("metric")
    )
    lines += ["", "Reports by metric:", *_table(by_metric)]
    by_kind = reports.group_by("kind").agg(pl.len().alias("reports")).sort("kind")
    lines += ["", "Reports by figure kind:", *_table(by_kind)]
    if dataset.notes:
        lines += ["", "Notes:", *[f"  - {note}" for note in dataset.notes]]
    return "\n".join(lines)


def _table(frame: pl.DataFrame) -> list[str]:
    """A fixed-width text table: text left-aligned, numbers right-aligned."""
    cells = [[str(v) for v in row] for row in frame.iter_rows()]
    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    widths = [
        max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(frame.columns)
    ]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  " + "  ".join(padded).rstrip()

    return [line(frame.columns), *(line(row) for row in cells)]
