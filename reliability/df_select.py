"""The Student-t degrees of freedom of report errors, chosen by profile likelihood.

``df`` is a hyperparameter of the whole metric, so it is chosen outside the EM: the metric is
fitted at each candidate of a small grid and the candidate whose fitted parameters give the
reports the highest marginal likelihood wins (docs/model.md, "Degrees of freedom"). The
likelihood integrates each event's shared error out (:func:`event_error.log_marginal_likelihood`)
and keeps every report's censoring, so a gross error or a spike of exact agreements counts as
it would in the fit itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from reliability.effects import Effects
from reliability.event_error import log_marginal_likelihood
from reliability.grouped import group_sum
from reliability.metric_fit import MetricData, MetricFit
from reliability.table import DfSelection

FloatArray = npt.NDArray[np.float64]

#: From Cauchy-like tails to nearly normal ones; 4 (the default) is on the grid, and the
#: steps are even in log df, where the likelihood changes about evenly.
DF_CANDIDATES = (1.0, 2.0, 3.0, 4.0, 6.0, 10.0, 30.0)
#: Events whose quadrature enters the criterion (a seeded sample beyond; the same for every
#: candidate, so the comparison is paired).
MAX_EVENTS = 20_000
#: Quadrature nodes per event. The normal approximation the nodes are centred on can be off by
#: a posterior sd or more (a gross error in the event); 16 nodes then err by about 0.01 per
#: event, which summed over thousands of events would decide between neighbouring candidates.
NODES = 48


def select_df(
    data: MetricData,
    fit_at: Callable[[float], MetricFit],
    candidates: tuple[float, ...] = DF_CANDIDATES,
) -> tuple[MetricFit, DfSelection]:
    """Fit at every candidate ``df`` and keep the fit of highest marginal likelihood.

    Returns the winning fit and the criterion of every candidate.
    """
    fits = [fit_at(df) for df in candidates]
    scores = [marginal_log_likelihood(data, fit) for fit in fits]
    best = int(np.argmax(scores))
    return fits[best], DfSelection(candidates=list(candidates), log_likelihood=scores)


def marginal_log_likelihood(data: MetricData, fit: MetricFit) -> float:
    """Log-likelihood of ``data``'s report intervals under ``fit``, event errors integrated.

    Each report's expected residual is its outlet's bias plus its stratum, lag, period and
    drift effects (every fitted offset, as in the fit of the event sd), its
    scale the outlet's t scale; the event error has the fitted sd (plus the variance of an
    estimated truth). Report weights are not applied: every report counts once.
    """
    effects = data.effects if data.effects is not None else Effects.none(data.outlet.size)
    ra = data.lo - data.truth_hi[data.event] - data.offset
    rb = data.hi - data.truth_lo[data.event] - data.offset
    mean = fit.bias[data.outlet] + effects.offset(
        fit.stratum_delta, fit.lag_effect, fit.period_effect
    )
    if fit.drift_effect is not None:
        mean += effects.drift_offset(fit.drift_effect)
    scale = fit.sd[data.outlet]
    extra = np.zeros(data.n_events) if data.truth_var is None else data.truth_var
    u_hat, u_var = _event_posterior(ra, rb, mean, scale, data, fit.event_sd**2 + extra)
    return log_marginal_likelihood(
        ra,
        rb,
        mean,
        scale,
        data.event,
        u_hat,
        u_var,
        fit.df,
        fit.event_sd,
        MAX_EVENTS,
        NODES,
        extra,
    )


def _event_posterior(
    ra: FloatArray,
    rb: FloatArray,
    mean: FloatArray,
    scale: FloatArray,
    data: MetricData,
    prior_var: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Normal approximation of each event error's posterior, to centre the quadrature on.

    Only the nodes' placement depends on it; reports with an open bound are left out.
    """
    bounded = np.isfinite(ra) & np.isfinite(rb)
    precision = np.where(bounded, 1.0 / scale**2, 0.0)
    pull = np.where(bounded, 0.5 * (ra + rb) - mean, 0.0) * precision
    total = 1.0 / prior_var + group_sum(data.event, precision, data.n_events)
    return group_sum(data.event, pull, data.n_events) / total, 1.0 / total
