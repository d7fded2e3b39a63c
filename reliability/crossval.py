"""K-fold cross-validation by event: calibration and accuracy of fused estimates.

Every settled event is held out once: its reports are fused with parameters fitted without
it, and the fused posterior is compared with the consensus. The truth-discovery baselines
(which use no consensus) are scored on the same events. See docs/model.md, "Calibration".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from reliability import frames
from reliability.baselines import BASELINES, Claims
from reliability.intervals import truth_interval, truth_point
from reliability.scales import Scale
from reliability.table import Accuracy, CalibrationBin, MetricDiagnostics

if TYPE_CHECKING:
    from reliability.outlet_model import OutletModel

FloatArray = npt.NDArray[np.float64]

KEY = list(frames.QUANTITY_KEY)
#: Events are grouped by how many reports they have when calibration is reported.
REPORT_BINS = ((1, 1), (2, 2), (3, 5), (6, 10), (11, 30), (31, 1_000_000))
PIT_BINS = 10


def cross_validate(
    model: OutletModel,
    reports: pl.DataFrame,
    consensus: pl.DataFrame,
    registry: pl.DataFrame,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[MetricDiagnostics]:
    """Diagnostics per metric for ``model``'s options on these canonical frames."""
    settled = consensus.select(KEY).unique()
    events = reports.join(settled, on=KEY, nulls_equal=True)["event_id"].unique().sort().to_list()
    if len(events) < model.cv_folds:
        return []
    order = np.random.default_rng(model.seed).permutation(len(events))
    fold_of = pl.DataFrame({"event_id": events, "fold": (order % model.cv_folds).astype(np.int64)})
    options = {k: v for k, v in model.get_params().items() if k != "scales"}
    options["cv_folds"] = 0
    truth = consensus.select([*KEY, "low", "high"])
    held_out: list[pl.DataFrame] = []
    for fold in range(model.cv_folds):
        out_events = fold_of.filter(pl.col("fold") == fold)["event_id"]
        inside = pl.col("event_id").is_in(out_events.implode())
        sub = type(model)(scales=model.scales, **options).fit(  # type: ignore[arg-type]
            reports.filter(~inside), consensus.filter(~inside), registry
        )
        test = reports.filter(inside & pl.col("metric").is_in(list(sub.metrics_)))
        test = test.join(settled, on=KEY, nulls_equal=True)
        if test.height:
            held_out.append(sub.fuse_quantities(test, truth=truth))
        if progress is not None:
            progress("cross-validation folds", fold + 1, model.cv_folds)
    if not held_out:
        return []
    results = pl.concat(held_out).join(truth, on=KEY, nulls_equal=True)
    return [
        _diagnostics(
            metric,
            model.scale_of(metric),
            results.filter(pl.col("metric") == metric),
            reports.filter(pl.col("metric") == metric),
            model.cv_folds,
        )
        for metric in sorted(results["metric"].unique().to_list())
    ]


def _diagnostics(
    metric: str, scale: Scale, results: pl.DataFrame, reports: pl.DataFrame, folds: int
) -> MetricDiagnostics:
    t_lo, t_hi = truth_interval(results["low"].to_numpy(), results["high"].to_numpy(), scale)
    point = truth_point(t_lo, t_hi)
    exact = t_lo == t_hi
    value = results["low"].to_numpy()
    # The figure a user is given (for counts, the whole-number median), not the latent median.
    err = scale.forward(results["estimate"].to_numpy()) - point
    cover50 = (results["lo50"].to_numpy() <= value) & (value <= results["hi50"].to_numpy())
    cover90 = (results["lo90"].to_numpy() <= value) & (value <= results["hi90"].to_numpy())
    n_rep = results["n_reports"].to_numpy()
    model = Accuracy(
        method="model",
        n_events=results.height,
        mae=float(np.mean(np.abs(err))),
        rmse=float(np.sqrt(np.mean(err**2))),
        coverage50=_share(cover50[exact]),
        coverage90=_share(cover90[exact]),
    )
    bins = []
    for lo, hi in REPORT_BINS:
        mask = exact & (n_rep >= lo) & (n_rep <= hi)
        if mask.any():
            bins.append(
                CalibrationBin(
                    min_reports=lo,
                    max_reports=hi,
                    n_events=int(mask.sum()),
                    coverage50=float(np.mean(cover50[mask])),
                    coverage90=float(np.mean(cover90[mask])),
                    mae=float(np.mean(np.abs(err[mask]))),
                )
            )
    pit = results["pit"].to_numpy()[exact]
    hist = np.histogram(pit, bins=PIT_BINS, range=(0.0, 1.0))[0]
    return MetricDiagnostics(
        metric=metric,
        folds=folds,
        model=model,
        baselines=_baselines(
            scale, results.select([*KEY]).with_columns(pl.Series("truth", point)), reports
        ),
        by_n_reports=bins,
        pit_histogram=[float(h) / max(int(hist.sum()), 1) for h in hist],
    )


def _baselines(scale: Scale, truth: pl.DataFrame, reports: pl.DataFrame) -> list[Accuracy]:
    """Each baseline on every claim of the metric (they use no consensus), scored on ``truth``."""
    own = reports.filter(pl.col("cites").is_null())
    claims, events, _ = Claims.from_frame(own, scale)
    out = []
    for name, make in BASELINES.items():
        estimates = events.with_columns(pl.Series("estimate", make().fit(claims).truths_))
        joined = truth.join(estimates, on=KEY, nulls_equal=True)
        err = joined["estimate"].to_numpy() - joined["truth"].to_numpy()
        out.append(
            Accuracy(
                method=name,
                n_events=joined.height,
                mae=float(np.mean(np.abs(err))),
                rmse=float(np.sqrt(np.mean(err**2))),
            )
        )
    return out


def _share(mask: npt.NDArray[np.bool_]) -> float | None:
    return float(np.mean(mask)) if mask.size else None
