"""Truth-discovery baselines: hand-computed rounds, invariances and properties."""

from __future__ import annotations

import doctest
import math
from collections.abc import Sequence
from types import ModuleType

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from reliability.baselines import (
    BASELINES,
    CATD,
    CRH,
    GTM,
    Claims,
    MeanBaseline,
    MedianBaseline,
    catd,
    claims,
    crh,
    gtm,
    mean,
    median,
)
from reliability.baselines.median import grouped_weighted_median
from reliability.scales import Scale


def make_claims(rows: Sequence[tuple[int, int, float]]) -> Claims:
    event, source, value = zip(*rows, strict=True)
    return Claims(
        event=np.array(event, dtype=np.intp),
        source=np.array(source, dtype=np.intp),
        value=np.array(value, dtype=np.float64),
        n_events=max(event) + 1,
        n_sources=max(source) + 1,
    )


# Sources a=0, b=1, c=2. Event 0: a=1 b=2 c=4; event 1: a=3 b=5 c=6; event 2: a=2 b=4.
SMALL = make_claims(
    [(0, 0, 1), (0, 1, 2), (0, 2, 4), (1, 0, 3), (1, 1, 5), (1, 2, 6), (2, 0, 2), (2, 1, 4)]
)
# Medians 2, 5, 3; squared residuals from them: a 1+4+1 = 6, b 0+0+1 = 1, c 4+1 = 5.


def weighted_truths(w: list[float]) -> list[float]:
    a, b, c = w
    return [
        (1 * a + 2 * b + 4 * c) / (a + b + c),
        (3 * a + 5 * b + 6 * c) / (a + b + c),
        (2 * a + 4 * b) / (a + b),
    ]


def test_mean_and_median_by_hand() -> None:
    assert MeanBaseline().fit(SMALL).truths_ == pytest.approx([7 / 3, 14 / 3, 3])
    assert MedianBaseline().fit(SMALL).truths_ == pytest.approx([2, 5, 3])


def test_catd_one_round_by_hand() -> None:
    # Lower 2.5% chi-square quantiles: with 2 degrees of freedom the cdf is 1 - exp(-x/2),
    # so q2 = -2 ln(0.975) = 0.0506356; q3 = 0.2157953 (tables: 0.216).
    q2 = -2 * math.log(0.975)
    q3 = 0.2157953
    # w = q(n_s) / residual sum: a = q3/6 = 0.035966, b = q3/1 = 0.215795, c = q2/5 = 0.010127.
    expected_weights = [q3 / 6, q3 / 1, q2 / 5]
    model = CATD(max_iter=1).fit(SMALL)
    assert model.source_weights_ == pytest.approx(expected_weights, rel=1e-6)
    # Event 0: (0.035966*1 + 0.215795*2 + 0.010127*4) / 0.261888 = 0.508064 / 0.261888 = 1.9400
    assert model.truths_ == pytest.approx(weighted_truths(expected_weights), rel=1e-6)
    assert model.truths_[0] == pytest.approx(1.9400, abs=1e-4)
    assert model.n_iter_ == 1


def test_catd_uses_the_lower_chi_square_quantile() -> None:
    # Every claim is 1 away from its event's median (0), so per-claim error is equal, but
    # source 0 has 4 claims, source 3 has 3 and source 1 a single one. The lower quantile
    # (confidence-aware) trusts the long record more: q(1)/1 = 0.00098 < q(3)/3 = 0.0719 <
    # q(4)/4 = 0.121. The upper quantile would reverse this: 5.02 > 9.35/3 > 11.14/4.
    rows = [(0, 0, -1.0), (0, 1, 1.0), (0, 2, 0.0)]
    rows += [(e, s, v) for e in (1, 2, 3) for s, v in ((0, -1.0), (2, 0.0), (3, 1.0))]
    model = CATD(max_iter=1).fit(make_claims(rows))
    w = model.source_weights_
    assert w[1] < w[3] < w[0]
    assert w[[0, 1, 3]] == pytest.approx(chi2.ppf(0.025, [4, 1, 3]) / [4, 1, 3])


def test_gtm_one_round_by_hand() -> None:
    # Event 0: a=9 b=10 c=11 (median 10, std sqrt(2/3)); event 1: a=20 b=17 c=23 (median 20,
    # std sqrt(6)); event 2: a=4 c=6 (median 5, std 1). Standardised, z = ±sqrt(1.5) or 0 on
    # events 0 and 1 and ±1 on event 2; truths start at z = 0.
    rows = [
        (0, 0, 9),
        (0, 1, 10),
        (0, 2, 11),
        (1, 0, 20),
        (1, 1, 17),
        (1, 2, 23),
        (2, 0, 4),
        (2, 2, 6),
    ]
    model = GTM(max_iter=1).fit(make_claims(rows))
    # sigma_s^2 = (2*10 + sum z^2) / (2*(10+1) + n_s): a (20+1.5+0+1)/25 = 0.9,
    # b (20+0+1.5)/24 = 0.895833, c (20+1.5+1.5+1)/25 = 0.96
    assert model.source_variances_ == pytest.approx([0.9, 21.5 / 24, 0.96])
    pa, pb, pc = 1 / 0.9, 24 / 21.5, 1 / 0.96
    r = math.sqrt(1.5)
    # mu_e = (mu0/sigma0^2 + sum z p_s) / (1/sigma0^2 + sum p_s), mu0 = 0, sigma0 = 1
    mu = [
        (-r * pa + 0 * pb + r * pc) / (1 + pa + pb + pc),  # -0.019923
        (0 * pa - r * pb + r * pc) / (1 + pa + pb + pc),  # -0.021405
        (-1 * pa + 1 * pc) / (1 + pa + pc),  # -0.022026
    ]
    expected = [10 + math.sqrt(2 / 3) * mu[0], 20 + math.sqrt(6) * mu[1], 5 + mu[2]]
    assert model.truths_ == pytest.approx(expected, rel=1e-9)
    assert model.truths_[0] == pytest.approx(9.98373, abs=1e-5)  # 10 + 0.816497 * -0.019923


def test_crh_one_round_by_hand() -> None:
    # Spreads: events 0 and 1 have std sqrt(14)/3 = 1.24722 (variance 42/27), event 2 std 1.
    # Losses from the medians: a 1/s + 4/s + 1 = 5.00892, b 0 + 0 + 1 = 1, c 4/s + 1/s = 4.00892.
    s = math.sqrt(14) / 3
    loss = [5 / s + 1, 1.0, 5 / s]
    total = sum(loss)  # 10.01784
    expected_weights = [
        -math.log(x / total) for x in loss
    ]  # a has half the loss: ln 2 = 0.6931; b 2.3044; c 0.9158
    model = CRH(max_iter=1).fit(SMALL)
    assert model.source_weights_ == pytest.approx(expected_weights, rel=1e-9)
    assert model.source_weights_ == pytest.approx([0.6931, 2.3044, 0.9158], abs=1e-4)
    assert model.truths_ == pytest.approx(weighted_truths(expected_weights), rel=1e-9)


@pytest.mark.parametrize("estimator", [CATD, GTM, CRH])
def test_iterative_baselines_stop_at_convergence(estimator: type[CATD | GTM | CRH]) -> None:
    model = estimator().fit(SMALL)
    tight = estimator(tol=1e-13, max_iter=10_000).fit(SMALL)
    assert 1 < model.n_iter_ < 100
    assert tight.n_iter_ > model.n_iter_
    assert model.truths_ == pytest.approx(tight.truths_, abs=1e-5)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_a_source_with_zero_residual_stays_finite(name: str) -> None:
    # Source 0 is alone on events 0 and 1 and sits on the median of event 2, so its
    # residual is exactly zero from the start.
    rows = [
        (0, 0, 3.0),
        (1, 0, 7.0),
        (2, 0, 5.0),
        (2, 1, 4.0),
        (2, 2, 9.0),
        (3, 1, 1.0),
        (3, 2, 2.0),
    ]
    model = BASELINES[name]().fit(make_claims(rows))
    assert np.all(np.isfinite(model.truths_))
    assert model.truths_[:2] == pytest.approx([3.0, 7.0])
    for attribute in ("source_weights_", "source_variances_"):
        values = getattr(model, attribute, np.ones(1))
        assert np.all(np.isfinite(values)), attribute
        assert np.all(values >= 0), attribute


@st.composite
def claim_sets(draw: st.DrawFn) -> Claims:
    n_events = draw(st.integers(1, 5))
    n_sources = draw(st.integers(1, 5))
    values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    # Cover every event and every source, then add any extra claims.
    pairs = [(e, e % n_sources) for e in range(n_events)]
    pairs += [(s % n_events, s) for s in range(n_sources)]
    pairs += draw(
        st.lists(
            st.tuples(st.integers(0, n_events - 1), st.integers(0, n_sources - 1)), max_size=15
        )
    )
    return make_claims([(e, s, draw(values)) for e, s in pairs])


@given(claims=claim_sets())
@settings(max_examples=60, deadline=None)
def test_truths_lie_within_each_events_claims_and_weights_are_non_negative(claims: Claims) -> None:
    low = np.full(claims.n_events, np.inf)
    high = np.full(claims.n_events, -np.inf)
    np.minimum.at(low, claims.event, claims.value)
    np.maximum.at(high, claims.event, claims.value)
    slack = 1e-9 * (1 + np.abs(claims.value).max())
    for name, factory in BASELINES.items():
        model = factory().fit(claims)
        truths = model.truths_
        assert truths.shape == (claims.n_events,)
        assert np.all(np.isfinite(truths)), name
        assert np.all(truths >= low - slack), name
        assert np.all(truths <= high + slack), name
        weights = getattr(model, "source_weights_", np.zeros(claims.n_sources))
        assert weights.shape == (claims.n_sources,)
        assert np.all(np.isfinite(weights)), name
        assert np.all(weights >= 0), name


@given(claims=claim_sets(), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_permuting_claims_and_relabelling_permutes_outputs(claims: Claims, seed: int) -> None:
    rng = np.random.default_rng(seed)
    order = rng.permutation(claims.n_claims)
    event_map = rng.permutation(claims.n_events)
    source_map = rng.permutation(claims.n_sources)
    shuffled = Claims(
        event=event_map[claims.event[order]],
        source=source_map[claims.source[order]],
        value=claims.value[order],
        n_events=claims.n_events,
        n_sources=claims.n_sources,
    )
    for name, factory in BASELINES.items():
        model, other = factory().fit(claims), factory().fit(shuffled)
        # Summation order changes, so allow rounding-level differences.
        assert other.truths_[event_map] == pytest.approx(model.truths_, rel=1e-6, abs=1e-6), name
        if isinstance(model, CATD | GTM | CRH) and isinstance(other, CATD | GTM | CRH):
            assert other.source_weights_[source_map] == pytest.approx(
                model.source_weights_, rel=1e-6, abs=1e-6
            ), name


@given(
    data=st.lists(
        st.tuples(st.integers(0, 3), st.integers(-20, 20), st.integers(1, 4)),
        min_size=1,
        max_size=30,
    )
)
def test_grouped_weighted_median_matches_a_per_group_definition(
    data: list[tuple[int, int, int]],
) -> None:
    group = np.array([g for g, _, _ in data], dtype=np.intp)
    value = np.array([v for _, v, _ in data], dtype=np.float64)
    weight = np.array([w for _, _, w in data], dtype=np.float64)
    present = np.unique(group)
    got = grouped_weighted_median(group, value, weight, 4)[present]
    unit = grouped_weighted_median(group, value, np.ones_like(value), 4)[present]
    for g, weighted, plain in zip(present, got, unit, strict=True):
        v, w = value[group == g], weight[group == g]
        assert plain == np.median(v)
        # Weighted median by expanding each value into `weight` copies (integer weights).
        assert weighted == np.median(np.repeat(v, w.astype(int)))


def test_from_frame_maps_each_kind_to_one_point() -> None:
    reports = pl.DataFrame(
        {
            "event_id": ["e2", "e1", "e1", "e1", "e1", "e1"],
            "metric": ["killed"] * 6,
            "stratum": [None, None, None, "civilians", None, None],
            "outlet": ["z", "y", "x", "x", "y", "z"],
            "low": [9.0, 10.0, 0.0, 3.0, 20.0, 99.0],
            "high": [9.0, float("inf"), 50.0, 15.0, 40.0, 99.0],
            "kind": ["exact", "at_least", "at_most", "range", "approximate", "exact"],
        }
    )
    claims, events, sources = Claims.from_frame(reports, Scale.LOG)
    f = np.log1p
    expected = [f(9), f(10), f(50), (f(3) + f(15)) / 2, (f(20) + f(40)) / 2, f(99)]
    assert claims.value == pytest.approx(expected)
    assert events.rows() == [
        ("e1", "killed", "civilians"),
        ("e1", "killed", None),
        ("e2", "killed", None),
    ]
    assert claims.event.tolist() == [2, 1, 1, 0, 1, 1]
    assert sources["outlet"].to_list() == ["x", "y", "z"]
    assert claims.source.tolist() == [2, 1, 0, 0, 1, 2]
    assert (claims.n_events, claims.n_sources) == (3, 3)

    reordered, _, _ = Claims.from_frame(reports.reverse(), Scale.LOG)
    assert reordered.event.tolist() == claims.event.tolist()[::-1]
    assert reordered.source.tolist() == claims.source.tolist()[::-1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"low": [1.0, None]}, r"row 1 \(0-based\), column 'low': is null or infinite"),
        ({"high": [2.0, float("inf")], "kind": ["exact", "range"]}, r"row 1 .*column 'high'"),
        ({"kind": ["exact", "roughly"]}, r"row 1 .*column 'kind': is not one of exact"),
        ({"outlet": [None, "a"]}, r"row 0 .*column 'outlet': is null"),
    ],
)
def test_from_frame_names_the_bad_row_and_column(
    change: dict[str, list[object]], message: str
) -> None:
    columns: dict[str, list[object]] = {
        "event_id": ["e1", "e1"],
        "metric": ["killed", "killed"],
        "stratum": [None, None],
        "outlet": ["a", "b"],
        "low": [1.0, 2.0],
        "high": [1.0, 2.0],
        "kind": ["exact", "at_least"],
    }
    columns.update(change)
    schema = {"low": pl.Float64, "high": pl.Float64, "stratum": pl.String, "outlet": pl.String}
    with pytest.raises(ValueError, match=message):
        Claims.from_frame(pl.DataFrame(columns, schema_overrides=schema), Scale.LINEAR)


def test_from_frame_rejects_a_frame_without_needed_columns() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['kind'\]"):
        Claims.from_frame(
            pl.DataFrame(
                {
                    "event_id": ["e"],
                    "metric": ["m"],
                    "stratum": ["s"],
                    "outlet": ["o"],
                    "low": [1.0],
                    "high": [1.0],
                }
            ),
            Scale.LINEAR,
        )


def test_claims_reject_inconsistent_arrays() -> None:
    ok = {"event": np.array([0, 1]), "source": np.array([0, 0]), "value": np.array([1.0, 2.0])}
    with pytest.raises(ValueError, match=r"Claims.event\[1\] = 1 is outside 0..0"):
        Claims(**ok, n_events=1, n_sources=1)
    with pytest.raises(ValueError, match="source 1 has no claims"):
        Claims(**ok, n_events=2, n_sources=2)
    with pytest.raises(ValueError, match=r"Claims.value\[0\] is nan"):
        Claims(**{**ok, "value": np.array([np.nan, 1.0])}, n_events=2, n_sources=1)
    with pytest.raises(ValueError, match="same length"):
        Claims(**{**ok, "value": np.array([1.0])}, n_events=2, n_sources=1)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (CATD(alpha=1.5), "alpha must lie strictly between 0 and 1"),
        (CATD(max_iter=0), "max_iter must be at least 1"),
        (GTM(beta=0.0), "beta must be positive"),
        (CRH(tol=float("inf")), "tol must be a finite non-negative number"),
    ],
)
def test_bad_parameters_are_rejected_at_fit(model: CATD | GTM | CRH, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.fit(SMALL)


@pytest.mark.parametrize("module", [catd, claims, crh, gtm, mean, median], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
