"""Recency weighting tracks an outlet whose bias changes halfway through the record."""

from __future__ import annotations

import numpy as np
import polars as pl

from reliability.outlet_model import OutletModel
from reliability.synth import generate, preset


def test_half_life_tracks_the_current_bias_of_drifting_outlets() -> None:
    data = generate(
        preset(
            "core", n_outlets=120, n_events=4000, n_reports=24000, seed=5, p_drift=0.1, drift=0.4
        )
    )
    truth = data.truth_outlets.filter(pl.col("drift") != 0)
    current = {row["outlet"]: row["bias"] + row["drift"] for row in truth.iter_rows(named=True)}
    former = {row["outlet"]: row["bias"] for row in truth.iter_rows(named=True)}
    assert len(current) >= 5

    def error(model: OutletModel, target: dict[str, float]) -> float:
        fitted = {s.outlet: s for s in model.outlets_}
        big = [o for o in target if fitted[o].n_reports >= 50]
        return float(np.mean([abs(fitted[o].bias.estimate - target[o]) for o in big]))

    everything = OutletModel(cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    recent = OutletModel(cv_folds=0, half_life_days=365.0).fit(
        data.reports, data.consensus, data.outlets
    )
    # Unweighted, a drifting outlet's bias sits between its old and new bias, nearer the old.
    assert error(everything, current) > error(everything, former)
    # With a one-year half-life it has moved to the new bias' side, though pooling toward the
    # group (fewer effective reports) keeps it from reaching it.
    assert error(recent, current) < error(recent, former)
    assert error(recent, current) < 0.75 * error(everything, current)
