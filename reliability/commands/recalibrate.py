"""``reliability recalibrate``: the batch job that fits the model and publishes a score table.

Load and validate (nothing is written when input is bad), take the table directory's lock, fit,
publish atomically, compare with the previous latest, apply retention, write the optional HTML
report, and summarise. ``docs/batch-job.md`` documents flags, exit codes and guarantees.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
import typing
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import polars as pl

from reliability import exitcodes
from reliability.commands._common import dataset_from_args, fail, warn
from reliability.dataset import Dataset, parse_scale_option
from reliability.htmlreport import render_report
from reliability.jobsummary import JobSummary, metric_summaries, render_summary
from reliability.outlet_model import OutletModel
from reliability.problems import InputError, Problem
from reliability.progress import Phases, wanted
from reliability.scales import Scale
from reliability.table import ScoreTable
from reliability.tablediff import TableDiff, diff_tables
from reliability.tablestore import (
    NoTableError,
    StoreBusyError,
    StoreWriteError,
    TableError,
    TableStore,
    atomic_write,
)

COMMAND = "recalibrate"

EXAMPLE = """\
examples:
  reliability recalibrate --config seeds/acw/dataset.toml --out tables --report report.html
  reliability recalibrate --reports 'data/reports/*.csv' --consensus data/consensus.csv \\
      --outlets data/outlets.csv --scale margin=linear --df 5 --keep 30 --out tables --json

Exit codes: 0 published, 2 bad flags, 3 invalid input (nothing written), 4 fit failed,
5 output could not be written (previous latest kept), 6 another job holds the lock.
"""


def _scale(option: str) -> tuple[str, Scale]:
    try:
        return parse_scale_option(option)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _df(text: str) -> float | str:
    return "auto" if text == "auto" else float(text)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        COMMAND,
        help="fit the model and publish a new score table",
        description="Fit outlet biases and noise from reports and consensus figures, and "
        "publish a versioned score table atomically in a table directory.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inputs = parser.add_argument_group("input")
    inputs.add_argument("--config", type=Path, metavar="TOML", help="a dataset.toml")
    inputs.add_argument("--reports", nargs="+", default=[], metavar="PATH", help="files or globs")
    inputs.add_argument("--consensus", nargs="+", default=[], metavar="PATH", help="files or globs")
    inputs.add_argument("--outlets", metavar="PATH", help="outlet registry file")
    inputs.add_argument(
        "--scale",
        type=_scale,
        action="append",
        default=[],
        metavar="METRIC=log|linear",
        help="the scale of a metric (repeatable; default log for counts)",
    )
    inputs.add_argument("--lenient", action="store_true", help="set bad rows aside, keep going")
    inputs.add_argument("--rejects", type=Path, metavar="DIR", help="where --lenient puts bad rows")
    model = parser.add_argument_group("model (flags override --model-config and [model])")
    model.add_argument("--model-config", type=Path, metavar="TOML", help="TOML with [model]")
    model.add_argument(
        "--df", type=_df, metavar="X", help="Student-t degrees of freedom, or 'auto' to estimate"
    )
    model.add_argument("--cv-folds", type=int, metavar="K", help="cross-validation folds (0: none)")
    model.add_argument("--half-life-days", type=float, metavar="D", help="down-weight old reports")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, required=True, metavar="DIR", help="table directory")
    output.add_argument(
        "--keep", type=_positive_int, metavar="N", help="keep the newest N versions"
    )
    output.add_argument("--report", type=Path, metavar="HTML", help="also write an HTML report")
    output.add_argument(
        "--lock-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another job's lock (default 0: refuse at once)",
    )
    output.add_argument("--json", action="store_true", help="print the summary as JSON")
    output.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=run)


def model_option_types() -> dict[str, object]:
    """The keyword options ``OutletModel`` takes, with their types (``scales`` comes from data)."""
    hints = typing.get_type_hints(OutletModel.__init__)
    return {name: kind for name, kind in hints.items() if name not in {"return", "scales"}}


def _check_options(options: dict[str, object], source: str) -> dict[str, object]:
    """``options`` converted to the model's types; unknown keys and wrong types are problems."""
    types = model_option_types()
    problems = []
    checked: dict[str, object] = {}
    for key, value in options.items():
        if key not in types:
            known = ", ".join(sorted(types))
            reason = f"unknown model option; known: {known}"
            problems.append(Problem(file=source, column=f"model.{key}", reason=reason))
            continue
        try:
            checked[key] = msgspec.convert(value, types[key])
        except msgspec.ValidationError as exc:
            problems.append(Problem(file=source, column=f"model.{key}", reason=str(exc)))
    if problems:
        raise InputError(problems)
    return checked


def read_model_config(path: Path) -> dict[str, object]:
    """The ``[model]`` section of a TOML file; problems name the file and key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(
            [Problem(file=str(path), reason=f"cannot read: {exc.strerror or exc}")]
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(file=str(path), reason=f"not valid TOML: {exc}")]) from None
    unexpected = sorted(set(document) - {"model"})
    if unexpected:
        raise InputError(
            [
                Problem(file=str(path), column=key, reason="unknown section; only [model] is read")
                for key in unexpected
            ]
        )
    section = document.get("model", {})
    if not isinstance(section, dict):
        raise InputError([Problem(file=str(path), column="model", reason="must be a table")])
    return _check_options(section, str(path))


def model_options(args: argparse.Namespace, dataset: Dataset) -> dict[str, object]:
    """Options for ``OutletModel``: dataset [model] < --model-config [model] < flags."""
    options = _check_options(dict(dataset.model_options), str(args.config))
    if args.model_config is not None:
        options |= read_model_config(args.model_config)
    flags = {"df": args.df, "cv_folds": args.cv_folds, "half_life_days": args.half_life_days}
    options |= {key: value for key, value in flags.items() if value is not None}
    return options


def _previous(store: TableStore) -> tuple[ScoreTable | None, str | None]:
    """The current latest and, when there is none to diff against, why."""
    try:
        return store.latest(), None
    except NoTableError:
        return None, "no previous table"
    except TableError as exc:
        return None, f"the previous latest could not be read ({exc})"


def run(args: argparse.Namespace) -> int:
    phases = Phases(enabled=wanted(quiet=args.quiet))
    try:
        with phases.phase("Loading and validating input"):
            dataset = dataset_from_args(args)
        options = model_options(args, dataset)
    except InputError as exc:
        fail(COMMAND, f"{exc}\nnothing was written")
        return exitcodes.INPUT_ERROR
    store = TableStore(args.out)
    try:
        with store.lock(args.lock_timeout):
            return _fit_and_publish(args, dataset, options, store, phases)
    except StoreBusyError as exc:
        fail(COMMAND, str(exc))
        return exitcodes.BUSY
    except StoreWriteError as exc:
        fail(COMMAND, str(exc))
        return exitcodes.OUTPUT_FAILURE


def _fit_and_publish(
    args: argparse.Namespace,
    dataset: Dataset,
    options: dict[str, object],
    store: TableStore,
    phases: Phases,
) -> int:
    warnings: list[str] = []
    try:
        with phases.phase("Fitting the model and cross-validating") as advance:
            # Option values come from TOML/flags untyped; the model validates them in fit.
            model = OutletModel(scales=dataset.scales, **options).fit(  # type: ignore[arg-type]
                dataset.reports,
                dataset.consensus,
                dataset.registry.frame if dataset.registry is not None else None,
                progress=advance,
            )
            table = model.to_table(
                version="", created_at=datetime.now(UTC), inputs=dataset.fingerprint
            )
    except Exception as exc:  # any fit error is reported as exit 4, not a traceback
        fail(COMMAND, f"the model could not be fitted: {type(exc).__name__}: {exc}")
        return exitcodes.FIT_FAILURE
    previous, skipped = _previous(store)
    if previous is None and skipped != "no previous table":
        warnings.append(f"{skipped}; the diff is skipped and the new table is still published")
    with phases.phase("Writing the table"):
        try:
            path = store.publish(table)
        except TableError as exc:
            fail(COMMAND, f"the fitted table is invalid, nothing was written: {exc}")
            return exitcodes.FIT_FAILURE
        published = store.latest()
        pruned = store.prune(args.keep) if args.keep else []
    diff: TableDiff | None = diff_tables(previous, published) if previous else None
    status = exitcodes.OK
    if args.report is not None:
        try:
            atomic_write(args.report, render_report(published).encode("utf-8"))
        except OSError as exc:
            fail(
                COMMAND,
                f"{args.report}: cannot write the report: {exc.strerror or exc} "
                f"(the table {path.name} was published)",
            )
            status = exitcodes.OUTPUT_FAILURE
    for message in warnings:
        warn(COMMAND, message)
    summary = JobSummary(
        version=published.version,
        table_path=str(path),
        latest_path=str(store.latest_path),
        n_reports=dataset.reports.height,
        n_events=dataset.reports.select(pl.col("event_id").n_unique()).item(),
        n_outlets=dataset.reports.select(pl.col("outlet").n_unique()).item(),
        n_consensus=dataset.consensus.height if dataset.consensus is not None else 0,
        metrics=metric_summaries(published),
        previous_version=previous.version if previous else None,
        diff=diff,
        diff_skipped=skipped,
        pruned=pruned,
        report_path=str(args.report) if args.report and status == exitcodes.OK else None,
        notes=dataset.notes,
        warnings=warnings,
        seconds=phases.seconds,
    )
    if args.json:
        sys.stdout.write(msgspec.json.encode(summary).decode() + "\n")
    else:
        print(render_summary(summary))
    return status
