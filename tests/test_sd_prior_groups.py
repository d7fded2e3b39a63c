"""Spread prior per registry group: planted recovery, pooled fallback, cold start, tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from scipy import optimize, stats

from reliability.outlet_model import OutletModel
from reliability.pooling import MIN_SD_PRIOR_OUTLETS, fit_group_sd_priors, fit_sd_prior
from reliability.table import ScoreTable
from tests.planted import planted_frames

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Group levels of sigma, as in the synthetic preset's monitors and militant outlets.
LEVEL = {"lo": 0.15, "hi": 0.5, "tiny": 0.3}
NU0 = 10.0


def _planted_ss(
    rng: np.random.Generator, scale: FloatArray, group: IntArray, dof: FloatArray
) -> FloatArray:
    sigma2 = NU0 * scale[group] ** 2 / rng.chisquare(NU0, group.size)
    return np.asarray(sigma2 * rng.chisquare(dof), dtype=np.float64)


def test_group_scales_are_the_maximum_likelihood_at_the_pooled_dof() -> None:
    rng = np.random.default_rng(3)
    group = np.repeat([0, 1], 300).astype(np.intp)
    dof = rng.integers(2, 8, group.size).astype(np.float64)
    ss = _planted_ss(rng, np.array([0.15, 0.5]), group, dof)
    nu0, s0 = fit_group_sd_priors(ss, dof, group, 2)
    pooled_nu0, pooled_s0 = fit_sd_prior(ss, dof)
    # Every group shares the pooled dof; no outlet is without a group, so that entry is pooled.
    np.testing.assert_array_equal(nu0, np.full(3, pooled_nu0))
    assert s0[2] == pooled_s0
    # The pooled dof absorbs the spread between the groups' levels.
    assert pooled_nu0 < 0.5 * NU0
    for g in (0, 1):
        mask = group == g

        def negloglik(log_s2: float, mask: npt.NDArray[np.bool_] = mask) -> float:
            scale = dof[mask] * np.exp(log_s2)
            return float(
                -np.sum(stats.f.logpdf(ss[mask] / scale, dof[mask], pooled_nu0) - np.log(scale))
            )

        ref = optimize.minimize_scalar(
            negloglik, bounds=(-10, 5), method="bounded", options={"xatol": 1e-9}
        )
        assert s0[g] == pytest.approx(np.sqrt(np.exp(ref.x)), rel=1e-6)
    # At the pooled dof, below the within-group one, the scales sit somewhat under the planted
    # levels on clean chi^2 data, but far nearer to them than the pooled scale.
    for g, level in enumerate([0.15, 0.5]):
        assert abs(np.log(s0[g] / level)) < 0.25 < abs(np.log(pooled_s0 / level))


def test_small_groups_fall_back_to_the_pooled_prior_exactly() -> None:
    rng = np.random.default_rng(4)
    small = MIN_SD_PRIOR_OUTLETS - 1
    group = np.concatenate([np.zeros(200), np.ones(small), np.full(50, 3)]).astype(np.intp)
    dof = rng.integers(2, 8, group.size).astype(np.float64)
    # Group 1 is far from the rest, but nine outlets are not enough to say how far.
    ss = _planted_ss(rng, np.array([0.2, 2.0, 0.0, 0.3]), group, dof)
    nu0, s0 = fit_group_sd_priors(ss, dof, group, 3)
    pooled = fit_sd_prior(ss, dof)
    assert (nu0[1], s0[1]) == pooled
    assert (nu0[2], s0[2]) == pooled  # a group without outlets
    assert (nu0[3], s0[3]) == pooled  # no group
    assert s0[0] == pytest.approx(0.2, rel=0.15)
    assert s0[0] != pooled[1]
    # Padding the small group up to the minimum gives it its own scale.
    grown = np.concatenate([group, [1]]).astype(np.intp)
    nu0, s0 = fit_group_sd_priors(np.append(ss, 4.0 * 5), np.append(dof, 5.0), grown, 3)
    assert s0[1] > 3 * s0[0]


@dataclass(frozen=True)
class Fitted:
    model: OutletModel
    sigma: FloatArray
    group: list[str]
    n_reports: IntArray
    names: list[str]


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    """Log counts from the model: two large groups with sigma 0.15 and 0.5, a tiny third one."""
    rng = np.random.default_rng(12)
    sizes = {"lo": 150, "hi": 150, "tiny": 4}
    group = [g for g, k in sizes.items() for _ in range(k)]
    n_out, n_ev, per = len(group), 500, 3
    level = np.array([LEVEL[g] for g in group])
    sigma = level * np.sqrt(NU0 / rng.chisquare(NU0, n_out))
    o = np.concatenate([rng.choice(n_out, per, replace=False) for _ in range(n_ev)])
    e = np.repeat(np.arange(n_ev), per)
    theta = rng.normal(5.0, 1.0, n_ev)
    x = theta[e] + 0.1 + rng.normal(0, 0.05, n_ev)[e] + sigma[o] * rng.standard_t(4, o.size)
    names, reports, consensus = planted_frames(e, o, x, theta, n_out)
    registry = pl.DataFrame({"outlet": [*names, "newcomer"], "group": [*group, "lo"]})
    model = OutletModel(cv_folds=0, stratum_bias=False, lag_effect=False).fit(
        reports, consensus, registry
    )
    return Fitted(model, sigma, group, np.bincount(o, minlength=n_out).astype(np.intp), names)


def test_fit_recovers_each_groups_spread_level(fitted: Fitted) -> None:
    groups = {g.group: g for g in fitted.model.groups_}
    params = fitted.model.metrics_["killed"]
    assert groups["lo"].sd_prior_scale == pytest.approx(0.15, rel=0.15)
    assert groups["hi"].sd_prior_scale == pytest.approx(0.5, rel=0.15)
    assert groups["lo"].sd_prior_dof == groups["hi"].sd_prior_dof == params.sd_prior_dof
    assert groups["lo"].sd_prior_scale < 0.75 * params.sd_prior_scale
    assert groups["hi"].sd_prior_scale > 1.5 * params.sd_prior_scale
    tiny = groups["tiny"]
    assert (tiny.sd_prior_dof, tiny.sd_prior_scale) == (params.sd_prior_dof, params.sd_prior_scale)


def test_few_report_outlets_centre_on_their_groups_level(fitted: Fitted) -> None:
    scores = {s.outlet: s for s in fitted.model.outlets_}
    few = fitted.n_reports <= 6
    for g in ("lo", "hi"):
        mask = few & (np.array(fitted.group) == g)
        assert mask.sum() >= 50
        sd = np.array([scores[n].sd.estimate for n in np.array(fitted.names)[mask]])
        ratio = np.median(sd / fitted.sigma[mask])
        assert ratio == pytest.approx(1.0, abs=0.15)


def test_cold_start_in_a_known_group_uses_the_group_prior(fitted: Fitted) -> None:
    model = fitted.model
    lookup = model.lookup("killed")
    params = model.metrics_["killed"]
    lo = next(g for g in model.groups_ if g.group == "lo")
    # A registry outlet without reports sits at its group's prior after the fit...
    newcomer = next(s for s in model.outlets_ if s.outlet == "newcomer")
    assert newcomer.cold_start
    assert newcomer.sd.estimate == pytest.approx(lo.sd_prior_scale, rel=1e-9)
    assert newcomer.sd_dof == pytest.approx(lo.sd_prior_dof, rel=1e-9)
    # ...and an outlet the table does not know, reported with a known group, starts there too.
    cold = lookup.cold("lo")
    assert cold.sd.estimate == lo.sd_prior_scale
    assert cold.sd.lo90 == pytest.approx(newcomer.sd.lo90, rel=1e-9)
    assert cold.sd.hi90 == pytest.approx(newcomer.sd.hi90, rel=1e-9)
    assert cold.scale == pytest.approx(np.hypot(lo.sd_prior_scale, cold.bias_se))
    for unknown in (None, "nobody's group"):
        assert lookup.cold(unknown).sd.estimate == params.sd_prior_scale
    assert lookup.predict("stranger").sd.estimate == params.sd_prior_scale


def test_table_round_trip_keeps_group_spread_priors(fitted: Fitted) -> None:
    model = fitted.model
    table = model.to_table(version="t", created_at=datetime(2026, 1, 1, tzinfo=UTC), inputs=None)
    decoded = msgspec.json.decode(msgspec.json.encode(table), type=ScoreTable)
    rebuilt = OutletModel.from_table(decoded)
    assert rebuilt.groups_ == model.groups_
    for group in ("lo", "hi", "tiny", None):
        assert rebuilt.lookup("killed").cold(group) == model.lookup("killed").cold(group)
