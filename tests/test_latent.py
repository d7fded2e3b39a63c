"""Latent consensus: events without a settled figure inform the fit (semi- and unsupervised)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reliability.outlet_model import OutletModel
from reliability.synth import SynthData, generate, preset

KEY = ["event_id", "metric", "stratum"]


@pytest.fixture(scope="module")
def data() -> SynthData:
    return generate(preset("core", n_outlets=200, n_events=3000, n_reports=15000, seed=21))


def _withheld(data: SynthData, share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Consensus with ``share`` of the events hidden, and the reports of the hidden events."""
    events = data.consensus["event_id"].unique().sort().to_numpy()
    hidden = events[np.random.default_rng(1).random(events.size) < share].tolist()
    settled = data.consensus.filter(~pl.col("event_id").is_in(hidden))
    return settled, data.reports.filter(pl.col("event_id").is_in(hidden))


def _mae(model: OutletModel, reports: pl.DataFrame, data: SynthData) -> float:
    truth = data.truth_events.select(*KEY, pl.col("true").log1p().alias("t"))
    fused = model.fuse_quantities(reports).join(truth, on=KEY, nulls_equal=True)
    return float(np.mean(np.abs(fused["q50"].to_numpy() - fused["t"].to_numpy())))


def test_unsettled_events_improve_the_fit_when_most_consensus_is_missing(
    data: SynthData,
) -> None:
    settled, held = _withheld(data, 0.9)
    with_latent = OutletModel(cv_folds=0).fit(data.reports, settled, data.outlets)
    without = OutletModel(cv_folds=0, latent_consensus=False).fit(
        data.reports, settled, data.outlets
    )
    assert _mae(with_latent, held, data) < _mae(without, held, data)


def test_outlets_seen_only_on_unsettled_events_get_a_record(data: SynthData) -> None:
    settled, held = _withheld(data, 0.9)
    only_unsettled = set(held["outlet"].to_list()) - set(
        data.reports.join(settled.select(KEY), on=KEY, nulls_equal=True)["outlet"].to_list()
    )
    assert only_unsettled, "the split should leave some outlets without settled events"
    with_latent = OutletModel(cv_folds=0).fit(data.reports, settled, data.outlets)
    without = OutletModel(cv_folds=0, latent_consensus=False).fit(
        data.reports, settled, data.outlets
    )
    cold = {s.outlet: s.cold_start for s in with_latent.outlets_}
    assert not any(cold[o] for o in only_unsettled)
    assert all({s.outlet: s.cold_start for s in without.outlets_}[o] for o in only_unsettled)


def test_unsupervised_fit_holds_its_identifiability_constraint_exactly(data: SynthData) -> None:
    model = OutletModel(cv_folds=0).fit(data.reports, None, data.outlets)
    active = [s for s in model.outlets_ if s.n_reports > 0]
    weights = np.array([s.n_reports for s in active], dtype=float)
    biases = np.array([s.bias.estimate for s in active])
    assert abs(np.average(biases, weights=weights)) < 1e-12
    # Relative biases are still learnt: the planted ordering of groups survives the shift.
    group_bias = {g.group: g.bias_mean for g in model.groups_}
    assert group_bias["militant"] > group_bias["regime-aligned"] > group_bias["monitor"]
