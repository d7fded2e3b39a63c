"""Choosing the Student-t degrees of freedom by marginal likelihood (``df="auto"``)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import integrate, stats

from reliability.df_select import DF_CANDIDATES, NODES
from reliability.event_error import log_marginal_likelihood
from reliability.outlet_model import OutletModel
from reliability.synth import SynthData, generate, preset


def _planted(nu: float) -> SynthData:
    return generate(
        preset("core", n_outlets=40, n_events=500, n_reports=3000, seed=11, nu=nu, p_gross=0.0)
    )


@pytest.mark.slow
@pytest.mark.parametrize(("nu", "allowed"), [(3.0, (2.0, 3.0, 4.0)), (30.0, (10.0, 30.0))])
def test_planted_df_is_recovered_and_recorded(nu: float, allowed: tuple[float, ...]) -> None:
    data = _planted(nu)
    model = OutletModel(df="auto", cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    params = model.metrics_["killed"]
    assert params.df in allowed
    selection = params.df_selection
    assert selection is not None
    assert selection.candidates == list(DF_CANDIDATES)
    assert params.df == selection.candidates[int(np.argmax(selection.log_likelihood))]
    table = model.to_table(version="v1", created_at=datetime(2026, 1, 1, tzinfo=UTC), inputs=None)
    assert table.config["df"] == "auto"
    assert table.metrics[0].df_selection == selection
    rebuilt = OutletModel.from_table(table)
    assert rebuilt.df == "auto"
    assert rebuilt.metrics_["killed"].df == params.df


def test_marginal_likelihood_integrates_the_event_error_out() -> None:
    # Two events: three exact reports, and one exact report with an "at least" claim.
    ra = np.array([0.10, -0.05, 0.30, 0.20, 0.15])
    rb = np.array([0.10, -0.05, 0.30, 0.20, np.inf])
    mean = np.array([0.05, 0.0, 0.10, 0.0, 0.0])
    scale = np.array([0.20, 0.10, 0.30, 0.25, 0.25])
    event = np.array([0, 0, 0, 1, 1])
    df, tau = 3.0, 0.15

    def density(u: float, e: int) -> float:
        rows = event == e
        out = stats.norm.pdf(u, 0.0, tau)
        for a, b, m, s in zip(ra[rows], rb[rows], mean[rows], scale[rows], strict=True):
            z = (a - m - u) / s
            out *= stats.t.pdf(z, df) / s if a == b else stats.t.sf(z, df)
        return float(out)

    want = sum(np.log(integrate.quad(density, -2.0, 2.0, args=(e,))[0]) for e in (0, 1))
    u_hat, u_var = np.array([0.05, 0.1]), np.array([0.01, 0.02])
    got = log_marginal_likelihood(ra, rb, mean, scale, event, u_hat, u_var, df, tau, 10, NODES)
    assert got == pytest.approx(want, abs=1e-4)


def test_a_fixed_df_records_no_selection() -> None:
    data = _planted(4.0)
    fixed = OutletModel(df=4.0, cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    assert fixed.metrics_["killed"].df == 4.0
    assert fixed.metrics_["killed"].df_selection is None


@pytest.mark.parametrize("df", [0.0, -1.0, "many"])
def test_df_must_be_positive_or_auto(df: object) -> None:
    data = _planted(4.0)
    with pytest.raises(ValueError, match="df must be positive or 'auto'"):
        OutletModel(df=df, cv_folds=0).fit(data.reports, data.consensus)  # type: ignore[arg-type]
