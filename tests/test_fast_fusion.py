"""The single-event and batched entries to the fusion kernel agree, and the model answers
through them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reliability import fusion
from reliability.event_prior import LAST_SPIKE, SPIKE_SD, TabulatedPrior, build_event_prior
from reliability.fusion import FusionSpec, ReportBatch, fuse_event, fuse_events
from reliability.intervals import report_interval
from reliability.outlet_model import OutletModel
from reliability.records import Report
from reliability.scales import Scale
from reliability.synth import generate, preset

KINDS = ("exact", "at_least", "at_most", "range")
PRIORS = {
    scale: TabulatedPrior.of(
        build_event_prior(
            np.random.default_rng(3).normal(4.0 if scale is Scale.LOG else 0.0, 1.0, 300),
            count=scale is Scale.LOG,
        )
    )
    for scale in Scale
}


@st.composite
def events(draw: st.DrawFn) -> tuple[Scale, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Natural-unit claims of one event with each report's bias and predictive scale."""
    scale = draw(st.sampled_from(list(Scale)))
    n = draw(st.integers(1, 30))
    centre = draw(st.floats(1.0, 7.0)) if scale is Scale.LOG else draw(st.floats(-3.0, 3.0))
    low, high = np.empty(n), np.empty(n)
    for i in range(n):
        x = centre + draw(st.floats(-1.5, 1.5))
        y = float(np.round(np.expm1(x))) if scale is Scale.LOG else x
        kind = draw(st.sampled_from(KINDS))
        width = abs(y) * draw(st.floats(0.1, 0.6)) + 1.0
        low[i] = -np.inf if kind == "at_most" else (y if kind != "range" else y - width)
        high[i] = np.inf if kind == "at_least" else (y if kind != "range" else y + width)
        if scale is Scale.LOG:
            low[i] = max(low[i], 0.0) if kind != "at_most" else 0.0
    bias = np.array(draw(st.lists(st.floats(-0.5, 0.5), min_size=n, max_size=n)))
    # Cold outlets carry wide predictive scales; fitted ones narrow.
    sd = np.exp(draw(st.lists(st.floats(np.log(0.02), np.log(1.5)), min_size=n, max_size=n)))
    return scale, low, high, bias, sd


@settings(max_examples=150, deadline=None)
@given(event=events(), event_sd=st.sampled_from([0.0, 0.03, 0.15, 0.6]))
def test_single_event_path_matches_the_batched_path(
    event: tuple[Scale, np.ndarray, np.ndarray, np.ndarray, np.ndarray], event_sd: float
) -> None:
    scale, low, high, bias, sd = event
    lo, hi = report_interval(low, high, scale)
    spec = FusionSpec(scale=scale, df=4.0, event_sd=event_sd)
    prior = PRIORS[scale]
    batch = ReportBatch(
        event=np.zeros(lo.size, dtype=np.intp), lo=lo, hi=hi, bias=bias, scale=sd, n_events=1
    )
    want = fuse_events(batch, [prior], np.zeros(1, dtype=np.intp), spec)
    got = fuse_event(lo, hi, bias, sd, prior, spec)
    # One kernel behind both: the batched entry's sorting and padded prior table must not
    # change a bit of the answer.
    spread = float(want.quantiles[0, -1] - want.quantiles[0, 0])
    np.testing.assert_allclose(got.quantiles, want.quantiles[0], rtol=0, atol=1e-12 * spread)
    np.testing.assert_allclose(got.mean_natural, want.mean_natural[0], rtol=1e-12)
    np.testing.assert_allclose(got.weights, want.weights, rtol=0, atol=1e-12)


def _random_event(
    rng: np.random.Generator, scale: Scale
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Model-scale claims of 1-29 reports of mixed kinds, with biases and predictive scales."""
    n = int(rng.integers(1, 30))
    centre = rng.uniform(1, 7) if scale is Scale.LOG else rng.uniform(-3, 3)
    x = centre + rng.uniform(-1.5, 1.5, n)
    y = np.round(np.expm1(x)) if scale is Scale.LOG else x
    kind = rng.integers(0, 4, n)  # exact, at least, at most, range
    width = np.abs(y) * rng.uniform(0.1, 0.6, n) + 1
    low = np.where(kind == 2, -np.inf, np.where(kind == 3, y - width, y))
    high = np.where(kind == 1, np.inf, np.where(kind == 3, y + width, y))
    if scale is Scale.LOG:
        low = np.where(kind == 2, 0.0, np.maximum(low, 0.0))
    lo, hi = report_interval(low, high, scale)
    return lo, hi, rng.uniform(-0.5, 0.5, n), np.exp(rng.uniform(np.log(0.02), np.log(1.5), n))


@pytest.mark.parametrize("event_sd", [0.0, 0.03, 0.15, 0.6])
def test_the_default_grid_agrees_with_a_fine_one(event_sd: float) -> None:
    """256 cells against 4096: the grid's error, not a different answer.

    The FFT convolution this kernel replaced was off by up to several times the 90% spread on
    such events at small event sds (benchmarks/RESULTS.md, "Compiled fusion").
    """
    rng = np.random.default_rng(1)
    for k in range(60):
        scale = Scale.LOG if k % 2 == 0 else Scale.LINEAR
        lo, hi, bias, sd = _random_event(rng, scale)
        coarse = fuse_event(lo, hi, bias, sd, PRIORS[scale], FusionSpec(scale, 4.0, event_sd))
        fine = fuse_event(lo, hi, bias, sd, PRIORS[scale], FusionSpec(scale, 4.0, event_sd, 4096))
        spread = float(fine.quantiles[-1] - fine.quantiles[0])
        # Quantiles inside a whole count's spike (event_prior.SPIKE_SD wide) are resolved to a
        # fraction of the spike. The reports' shares of a posterior that reaches the spikes
        # depend on how the grid samples them: they agree to 0.15 there, 0.05 elsewhere
        # (docs/model.md, section 10).
        spiky = scale is Scale.LOG and fine.quantiles[0] < np.log1p(LAST_SPIKE) + 2 * SPIKE_SD
        floor = SPIKE_SD / 4 if scale is Scale.LOG else 0.0
        np.testing.assert_allclose(
            coarse.quantiles, fine.quantiles, rtol=0, atol=max(0.05 * spread, floor)
        )
        np.testing.assert_allclose(
            coarse.weights, fine.weights, rtol=0, atol=0.15 if spiky else 0.05
        )


@pytest.fixture(scope="module")
def fitted() -> tuple[OutletModel, pl.DataFrame]:
    data = generate(preset("core", n_outlets=30, n_events=150, n_reports=900, seed=5))
    model = OutletModel(cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    return model, data.reports


def test_fuse_and_score_answer_as_the_frame_path(fitted: tuple[OutletModel, pl.DataFrame]) -> None:
    """``fuse`` (single-event path) against ``fuse_frame`` (batched path), cold outlets too."""
    model, reports = fitted
    event = reports.filter(pl.col("event_id") == reports["event_id"][0])
    rows = [
        Report(
            event_id=r["event_id"],
            outlet=r["outlet"] if k % 3 else f"unknown-{k}",
            metric=r["metric"],
            low=r["low"],
            high=r["high"] if np.isfinite(r["high"]) else None,
        )
        for k, r in enumerate(event.iter_rows(named=True))
    ]
    frame = pl.DataFrame(
        {
            "event_id": [r.event_id for r in rows],
            "outlet": [r.outlet for r in rows],
            "metric": [r.metric for r in rows],
            "low": [r.low for r in rows],
            "high": [np.inf if r.high is None else r.high for r in rows],
        }
    )
    fused = model.fuse(rows).posterior
    want = model.fuse_frame(frame).row(0, named=True)
    for name in ("estimate", "lo50", "hi50", "lo90", "hi90"):
        assert getattr(fused, name) == want[name]
    assert fused.mean == pytest.approx(want["mean"], rel=1e-9)
    scored = model.score(rows[1]).corrected
    alone = model.fuse_frame(frame[1:2]).row(0, named=True)
    assert scored.estimate == alone["estimate"]
    assert scored.mean == pytest.approx(alone["mean"], rel=1e-9)


def test_a_batch_split_across_threads_answers_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    n_events = 40
    event = np.repeat(np.arange(n_events), rng.integers(1, 6, n_events))
    rng.shuffle(event)
    x = rng.uniform(1, 6, n_events)[event] + rng.normal(0, 0.3, event.size)
    y = np.round(np.expm1(x)).astype(np.float64)
    lo, hi = report_interval(y, y, Scale.LOG)
    batch = ReportBatch(
        event=event,
        lo=lo,
        hi=hi,
        bias=rng.normal(0, 0.1, event.size),
        scale=rng.uniform(0.1, 0.5, event.size),
        n_events=n_events,
    )
    spec = FusionSpec(Scale.LOG, 4.0, 0.1)
    index = np.zeros(n_events, dtype=np.intp)
    monkeypatch.setattr(fusion, "_EVENTS_PER_THREAD", 10**9)
    whole = fuse_events(batch, [PRIORS[Scale.LOG]], index, spec)
    monkeypatch.setattr(fusion, "_EVENTS_PER_THREAD", 7)
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    split = fuse_events(batch, [PRIORS[Scale.LOG]], index, spec)
    np.testing.assert_array_equal(split.quantiles, whole.quantiles)
    np.testing.assert_array_equal(split.mean_natural, whole.mean_natural)
    np.testing.assert_array_equal(split.weights, whole.weights)
