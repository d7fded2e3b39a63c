"""The ``size_prior`` option: the kernel-density event-size prior or only its broad component."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import numpy as np
import polars as pl
import pytest
from scipy import stats

from reliability.event_prior import BROAD_SD_FACTOR, build_event_prior, prior_grid
from reliability.outlet_model import OutletModel
from reliability.records import Report
from reliability.scales import Scale
from reliability.table import ScoreTable


def test_broad_prior_is_the_normal_around_the_median() -> None:
    theta = np.random.default_rng(1).normal(3.0, 2.0, size=400)
    prior = build_event_prior(theta, count=False, density=False)
    grid = prior_grid(prior)
    expected = stats.norm.logpdf(grid, np.median(theta), BROAD_SD_FACTOR * np.std(theta))
    inside = expected > expected.max() - 20
    np.testing.assert_allclose(np.array(prior.log_density)[inside], expected[inside], atol=1e-3)


def test_density_prior_differs_from_the_broad_one() -> None:
    theta = np.random.default_rng(1).normal(3.0, 2.0, size=400)
    density = build_event_prior(theta, count=False)
    broad = build_event_prior(theta, count=False, density=False)
    assert density.grid_start == broad.grid_start
    gap = np.abs(np.array(density.log_density) - np.array(broad.log_density))
    assert gap.max() > 1.0


def _polls() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Truths N(0, 1), reports truth + N(0, 1) by ten pollsters without bias."""
    rng = np.random.default_rng(7)
    events = [f"e{k}" for k in range(300)]
    truth = rng.normal(0.0, 1.0, size=len(events))
    rows = [
        {"event_id": e, "outlet": f"p{j}", "value": float(t + rng.normal())}
        for e, t in zip(events, truth, strict=True)
        for j in rng.choice(10, size=3, replace=False)
    ]
    consensus = pl.DataFrame({"event_id": events, "value": truth})
    return pl.DataFrame(rows), consensus


@pytest.mark.parametrize("size_prior", ["density", "broad"])
def test_option_survives_the_score_table(size_prior: str) -> None:
    reports, consensus = _polls()
    model = OutletModel(
        scales={"killed": Scale.LINEAR},
        cv_folds=0,
        size_prior=size_prior,  # type: ignore[arg-type]
    ).fit(reports, consensus)
    table = model.to_table(version="v1", created_at=datetime(2026, 1, 1, tzinfo=UTC), inputs=None)
    decoded = msgspec.json.decode(msgspec.json.encode(table), type=ScoreTable)
    assert OutletModel.from_table(decoded).size_prior == size_prior


def test_broad_prior_shrinks_a_lone_report_less() -> None:
    """A lone report at +3 (truths sd 1, report noise sd 1): the density prior pulls it to
    about the normal posterior 3 * 1 / (1 + 1) = 1.5; the broad prior (sd 3) to about
    3 * 9 / (9 + 1) = 2.7."""
    reports, consensus = _polls()
    scales = {"killed": Scale.LINEAR}
    report = [Report(event_id="new", outlet="p0", value=3.0)]
    density = OutletModel(scales=scales, cv_folds=0).fit(reports, consensus).fuse(report)
    broad = (
        OutletModel(scales=scales, cv_folds=0, size_prior="broad")
        .fit(reports, consensus)
        .fuse(report)
    )
    assert density.posterior.estimate == pytest.approx(1.5, abs=0.35)
    assert broad.posterior.estimate == pytest.approx(2.7, abs=0.3)


def test_unknown_size_prior_is_refused() -> None:
    reports, consensus = _polls()
    with pytest.raises(ValueError, match="size_prior"):
        OutletModel(cv_folds=0, size_prior="flat").fit(reports, consensus)  # type: ignore[arg-type]
