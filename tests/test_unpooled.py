"""The unpooled bias estimates (metric_fit._unpooled): where their own EM steps stop.

They start from the last round's estimates when given and stop once no outlet moves by
``_UNPOOLED_TOL`` of its standard error; the answer is checked against the same steps run to
their fixed point.
"""

from __future__ import annotations

import numpy as np
import pytest

from reliability import metric_fit
from reliability.em_kernel import pair_sums
from reliability.metric_fit import FloatArray, IntArray, _unpooled
from tests.test_em_step import _data, _step


def _theta(seed: int, n_out: int, n_ev: int, n_cells: int, n_lags: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            rng.normal(0.1, 0.2, n_out),
            np.log(rng.uniform(0.05, 0.2, n_out)),
            rng.normal(0.0, 0.1, n_ev),
            rng.normal(0.0, 0.05, n_cells),
            rng.normal(0.0, 0.1, n_lags),
        ]
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_warm_started_steps_stop_at_the_fixed_point(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(seed)
    step = _step(data)
    fx = step.effects
    theta = _theta(seed + 10, data.n_outlets, data.n_events, fx.n_cells, fx.n_lag_bins)
    with monkeypatch.context() as m:
        m.setattr(metric_fit, "_UNPOOLED_STEPS", 1_000)
        m.setattr(metric_fit, "_UNPOOLED_TOL", 0.0)
        fixed, var = _unpooled(step, theta)
    # A previous round's estimates: a few hundredths of a standard error off, as in the later
    # rounds of a fit.
    rng = np.random.default_rng(seed)
    previous = fixed + rng.normal(0.0, 0.05, fixed.size) * np.sqrt(var)
    steps = 0

    def counted(
        code: IntArray, n: int, x: FloatArray, y: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        nonlocal steps
        steps += 1
        return pair_sums(code, n, x, y)

    monkeypatch.setattr(metric_fit, "pair_sums", counted)
    own, _ = _unpooled(step, theta, previous=previous)
    warm_steps, steps = steps, 0
    # Each step contracts by about 0.4, so the last step's 1e-3 standard errors leave less.
    assert np.max(np.abs(own - fixed) / np.sqrt(var)) < 2e-3
    cold, _ = _unpooled(step, theta)
    # From the pooled biases it takes longer, and still stops by the rule, not the cap.
    assert warm_steps < steps < metric_fit._UNPOOLED_STEPS
    assert np.max(np.abs(cold - fixed) / np.sqrt(var)) < 2e-3
