"""The hierarchical fit of one metric: outlet bias and spread against consensus, by EM.

Model (docs/model.md): report ``i`` of outlet ``o`` on event ``e`` has residual
``r_i = x_i - theta_e = b_o + c_p + u_e + sigma_o * t_df`` on the metric's scale (``c_p`` the
error of the event's period, when periods are given), observed as an
interval when the report (or the consensus) is censored or a range. Priors:
``b_o ~ N(mu_g, tau_g^2)``, ``mu_g ~ N(mu_0, omega^2)``, ``sigma_o^2 ~ Scaled-Inv-chi^2(nu_0,
s_0^2)``, ``u_e ~ N(0, tau_u^2)``, ``c_p ~ N(0, tau_c^2)``. EM treats the Student-t as a normal
scale mixture; every update is a closed form over grouped sums, and only hyperparameters are
optimised.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import stats

from reliability.drift import oldest_epochs, smooth, step_variance
from reliability.effects import Effects
from reliability.em_kernel import event_precision, expect, pair_sums, residual_sums, spread_sums
from reliability.event_error import fit_event_sd
from reliability.grouped import group_sum
from reliability.pooling import fit_group_sd_priors, paule_mandel
from reliability.tdist import location_score

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_HYPER_ROUNDS = 8
_ROUGH = 30.0
_UNPOOLED_STEPS = 20
#: The unpooled steps stop early once no unit's location moves by this fraction of its standard
#: error in a step.
_UNPOOLED_TOL = 1e-3
_MAX_EXTRAPOLATION = -8.0
_MIN_VAR = 1e-10
# Stands for an absent per-report or per-event array in the kernels (one signature each).
_NONE = np.zeros(0)
_NONE_CODES = np.zeros(0, dtype=np.intp)


@dataclass(frozen=True)
class MetricData:
    """One metric's reports matched to consensus, on the model scale.

    ``outlet_group[o]`` is the registry group code of outlet ``o``, or ``-1`` when it has none.
    ``offset`` holds known shifts of a report's expectation, ``weight`` its likelihood weight,
    ``effects`` the stratum cells and lag bins whose effects are estimated with the biases;
    ``truth_var`` the variance of each event's truth where it is itself an estimate (zero for a
    settled figure), added to the prior variance of the event's shared error.
    """

    outlet: IntArray
    event: IntArray
    lo: FloatArray
    hi: FloatArray
    truth_lo: FloatArray
    truth_hi: FloatArray
    outlet_group: IntArray
    n_groups: int
    offset: FloatArray
    weight: FloatArray
    effects: Effects | None = None
    truth_var: FloatArray | None = None

    @property
    def n_outlets(self) -> int:
        return int(self.outlet_group.size)

    @property
    def n_events(self) -> int:
        return int(self.truth_lo.size)


@dataclass(frozen=True)
class MetricFit:
    """Fitted parameters of one metric. Per-outlet arrays are indexed by outlet code."""

    df: float
    bias: FloatArray
    bias_se: FloatArray
    bias_dof: FloatArray
    sd: FloatArray
    sd_dof: FloatArray
    n_reports: FloatArray
    effective_n: FloatArray
    group_mean: FloatArray
    group_mean_se: FloatArray
    group_between_sd: FloatArray
    group_n_outlets: IntArray
    group_sd_prior_dof: FloatArray
    group_sd_prior_scale: FloatArray
    global_bias: float
    global_bias_se: float
    between_group_sd: float
    pooled_between_sd: float
    sd_prior_dof: float
    sd_prior_scale: float
    event_sd: float
    iterations: int
    converged: bool
    stratum_delta: FloatArray
    stratum_delta_se: FloatArray
    stratum_sd: float
    lag_effect: FloatArray
    lag_se: FloatArray
    period_effect: FloatArray
    period_se: FloatArray
    period_sd: float
    state: FitState
    #: With drift (``Effects.n_epochs``): ``bias`` is the current bias, ``overall_bias`` the
    #: record-weighted mean of the epoch biases, ``drift_sd`` the random walk's step sd.
    drift_sd: float | None = None
    overall_bias: FloatArray | None = None
    #: With drift: each (outlet, epoch) cell's departure from the outlet's current bias.
    drift_effect: FloatArray | None = None

    def bias_interval(self, level: float = 0.90) -> tuple[FloatArray, FloatArray]:
        half = stats.t.ppf(0.5 + level / 2, self.bias_dof) * self.bias_se
        return self.bias - half, self.bias + half

    def sd_interval(self, level: float = 0.90) -> tuple[FloatArray, FloatArray]:
        scaled = self.sd_dof * self.sd**2
        lo = np.sqrt(scaled / stats.chi2.ppf(0.5 + level / 2, self.sd_dof))
        hi = np.sqrt(scaled / stats.chi2.ppf(0.5 - level / 2, self.sd_dof))
        return lo, hi


@dataclass(frozen=True)
class FitState:
    """Where a fit ended, for a refit of the same outlets to start from (``fit_metric``'s
    ``start``): the parameters on the EM's scale and the hyperparameters.

    ``event_error`` and ``stratum_delta`` (with the stratum prior's leans) are ``None`` when the
    refit's events or stratum cells are not the fitted ones; those then start cold.
    """

    bias: FloatArray
    log_var: FloatArray
    event_error: FloatArray | None
    stratum_delta: FloatArray | None
    stratum_mean: FloatArray | None
    stratum_var: float
    lag_effect: FloatArray
    hyper: _Hyper

    def outlets_only(self) -> FitState:
        """The state without what belongs to the fitted events and cells."""
        return replace(self, event_error=None, stratum_delta=None, stratum_mean=None)


@dataclass
class _Hyper:
    group_mean: FloatArray
    group_var: FloatArray
    group_mean_var: FloatArray
    global_bias: float
    global_bias_var: float
    between_group_var: float
    pooled_var: float
    # Spread prior per group code; the last entry (no group) is the pooled metric-wide prior.
    nu0: FloatArray
    s0: FloatArray
    event_var: float


def fit_metric(
    data: MetricData,
    *,
    df: float,
    sd_floor: float | None = None,
    between_sd_floor: float | None = None,
    max_iter: int = 500,
    tol: float = 1e-4,
    start: FitState | None = None,
) -> MetricFit:
    """Fit one metric by SQUAREM-accelerated EM, vectorised over reports, outlets and events.

    The scaled-inverse-chi^2 prior of the spreads is refitted between EM runs until it settles.
    ``sd_floor`` bounds every outlet's spread from below (default: 1% of the residual spread):
    a source that copies the consensus would otherwise get zero spread and infinite weight.
    ``between_sd_floor`` bounds the between-outlet and between-group sd of bias from below
    (default: 5% of the residual spread). ``start`` (a previous fit's ``state``, of the same
    outlets) replaces the cold start of the parameters and hyperparameters: a refit of slightly
    changed data then takes a fraction of the maps.
    """
    ra, rb = _residual_bounds(data)
    o, w = data.outlet, data.weight
    n_out, n_ev = data.n_outlets, data.n_events
    group = np.where(data.outlet_group >= 0, data.outlet_group, data.n_groups)
    n_rep = group_sum(o, w, n_out)

    # Claims such as "at least 0" bound nothing and carry no information about the start.
    points = _midpoints(ra, rb)
    mid = points[np.isfinite(points)]
    centre = float(np.median(mid)) if mid.size else 0.0
    spread = max(float(np.median(np.abs(mid - centre))) * 1.4826, 1e-3) if mid.size else 1.0
    floor2 = (0.01 * spread if sd_floor is None else sd_floor) ** 2
    located = np.nan_to_num(points, nan=centre, posinf=centre, neginf=centre)
    b0 = group_sum(o, w * np.clip(located, centre - 3 * spread, centre + 3 * spread), n_out)
    b0 = np.where(n_rep > 0, b0 / np.maximum(n_rep, 1e-12), centre)
    effects = data.effects if data.effects is not None else Effects.none(o.size)
    theta = np.concatenate(
        [
            b0,
            np.full(n_out, np.log(spread**2)),
            np.zeros(
                n_ev
                + effects.n_cells
                + effects.n_lag_bins
                + effects.n_periods
                + effects.n_epoch_cells
            ),
        ]
    )
    step = _EmStep(
        data,
        ra,
        rb,
        group,
        n_rep,
        df,
        nu0=np.full(data.n_groups + 1, 4.0),
        s0=np.full(data.n_groups + 1, spread),
        event_var=0.25 * spread**2,
        floor2=floor2,
        effects=effects,
        between_floor2=(0.05 * spread if between_sd_floor is None else between_sd_floor) ** 2,
        truth_var=np.zeros(n_ev) if data.truth_var is None else data.truth_var,
    )
    step.groups = _group_hyper(
        b0, spread**2 / np.maximum(n_rep, 1.0), group, data.n_groups, n_rep, step.between_floor2
    )
    if start is not None:
        theta = _warm(step, theta, start)
    iterations = 0
    own: FloatArray | None = None
    # Hyperparameter rounds only need a rough EM solution; the last run is tight.
    for _ in range(_HYPER_ROUNDS):
        theta, used, _ = _squarem(step, theta, max_iter, _ROUGH * tol * spread)
        iterations += used
        theta = _centre_periods(step, theta)
        own, own_var = _unpooled(step, theta, _overall_units(step, theta), previous=own)
        step.stratum_mean, step.stratum_var = _stratum_prior(step, theta)
        period_var = _period_var(step, theta)
        drift_var = _drift_prior(step, theta)
        groups = _group_hyper(own, own_var, group, data.n_groups, n_rep, step.between_floor2)
        moved = float(np.max(np.abs(np.log(groups.group_var / step.groups.group_var))))
        step.groups = groups
        nu0, s0 = fit_group_sd_priors(
            step.last.ss, n_rep - step.last.leverage, group, data.n_groups
        )
        s0 = np.maximum(s0, np.sqrt(floor2))
        b, sigma2, u = step.unpack(theta)
        event_sd = fit_event_sd(
            ra,
            rb,
            b[o] + step.offset(theta),
            np.sqrt(sigma2[o]),
            data.event,
            u,
            step.last.u_var,
            df,
            upper=3 * spread,
            extra_var=step.truth_var,
        )
        settled = (
            np.max(np.abs(np.log(nu0 / step.nu0))) < 0.05
            and np.max(np.abs(np.log(s0 / step.s0))) < 0.005
            and abs(event_sd - np.sqrt(step.event_var)) < 0.01 * spread
            and moved < 0.02
            and abs(np.sqrt(period_var) - np.sqrt(step.period_var)) < 0.01 * spread
            and abs(np.sqrt(drift_var) - np.sqrt(step.drift_var)) < 0.005 * spread
        )
        step.nu0, step.s0, step.event_var = nu0, s0, max(event_sd**2, _MIN_VAR)
        step.period_var = period_var
        step.drift_var = drift_var
        if settled:
            break
    theta, used, converged = _squarem(step, theta, max_iter, tol * spread)
    # One more step so the returned parameters and the hyperparameters come from one state.
    theta = step(theta)
    return _summarise(step, theta, iterations + used + 1, converged)


def _warm(step: _EmStep, theta: FloatArray, start: FitState) -> FloatArray:
    """``theta`` and the step's hyperparameters taken from ``start`` where it covers them."""
    n_out, n_ev = step.data.n_outlets, step.data.n_events
    u = theta[2 * n_out : 2 * n_out + n_ev]
    delta, lam = step.unpack_effects(theta)
    if start.event_error is not None:
        u = start.event_error
    if start.stratum_delta is not None and start.stratum_mean is not None:
        delta, step.stratum_mean = start.stratum_delta, start.stratum_mean
    if start.lag_effect.size == lam.size:
        lam = start.lag_effect
    step.groups, step.stratum_var = start.hyper, start.stratum_var
    step.nu0, step.s0, step.event_var = start.hyper.nu0, start.hyper.s0, start.hyper.event_var
    # Period effects and drift deviations start cold: a refit's periods and epochs need not be
    # the fitted ones.
    rest = theta[2 * n_out + n_ev + delta.size + lam.size :]
    return np.concatenate([start.bias, start.log_var, u, delta, lam, rest])


def _residual_bounds(data: MetricData) -> tuple[FloatArray, FloatArray]:
    """Each report's residual interval ``[ra, rb]`` against its event's truth (a point where
    ``ra == rb``)."""
    ra = data.lo - data.truth_hi[data.event]
    ra -= data.offset
    rb = data.hi - data.truth_lo[data.event]
    rb -= data.offset
    return ra, rb


def _squarem(
    step: _EmStep, theta: FloatArray, max_iter: int, tol: float
) -> tuple[FloatArray, int, bool]:
    """SQUAREM (Varadhan & Roland 2008, scheme S3) around the EM map, with an EM fallback."""
    used = 0
    while used < max_iter:
        t1 = step(theta)
        r = t1 - theta
        if float(np.max(np.abs(r), initial=0.0)) < tol:
            return t1, used + 1, True
        t2 = step(t1)
        v = t2 - t1 - r
        used += 2
        # Norms by plain reductions: a threaded BLAS dot stalls on a busy machine.
        v_norm = float(np.sqrt(np.sum(v * v)))
        alpha = -float(np.sqrt(np.sum(r * r))) / v_norm if v_norm > 0 else -1.0
        alpha = min(-1.0, max(alpha, _MAX_EXTRAPOLATION))
        jump = theta - 2 * alpha * r + alpha * alpha * v
        candidate = step(jump)
        used += 1
        theta = candidate if np.all(np.isfinite(candidate)) else t2
    return theta, used, False


@dataclass(frozen=True)
class _Expectation:
    """Per-report E-step quantities; ``ew``, ``ewz``, ``ewz2``, ``omega`` and ``q`` carry the
    report weights.

    ``m`` is the report's expected residual, ``off`` its effects' part of it;
    ``omega = E[w] / sigma^2`` is the report's precision and ``q = omega * (ytil - m)`` its
    weighted pull on the location, where ``ytil`` is the working response: the report's
    expected residual given its interval.
    """

    m: FloatArray
    off: FloatArray
    ew: FloatArray
    ewz: FloatArray
    ewz2: FloatArray
    omega: FloatArray
    q: FloatArray

    def ytil(self) -> FloatArray:
        # Reports of zero weight pull nowhere; their working response is their location.
        return np.asarray(self.m + self.q / np.maximum(self.omega, 1e-300), dtype=np.float64)


@dataclass
class _Moments:
    ss: FloatArray
    u_var: FloatArray
    leverage: FloatArray
    hyper: _Hyper


class _EmStep:
    """The EM map over ``[b, log sigma^2, u]`` at fixed hyperparameters."""

    def __init__(
        self,
        data: MetricData,
        ra: FloatArray,
        rb: FloatArray,
        group: IntArray,
        n_rep: FloatArray,
        df: float,
        *,
        nu0: FloatArray,
        s0: FloatArray,
        event_var: float,
        floor2: float,
        effects: Effects,
        between_floor2: float,
        truth_var: FloatArray,
    ) -> None:
        self.data, self.ra, self.rb, self.group, self.n_rep = data, ra, rb, group, n_rep
        self.df, self.nu0, self.s0, self.event_var = df, nu0, s0, event_var
        self.floor2, self.between_floor2 = floor2, between_floor2
        self.effects = effects
        self.truth_var = truth_var
        # Unit weights (no recency weighting) need no multiplications.
        self.weighted = bool(np.any(data.weight != 1.0))
        self.stratum_var = max(0.25 * float(s0[-1]) ** 2, between_floor2)
        self.stratum_mean = np.zeros(effects.n_cells)
        # Started like the event error's variance; refitted between EM runs (_period_var).
        self.period_var = event_var
        self.drift_var = between_floor2
        # Where each outlet's random walk meets its group prior (drift.py).
        self.prior_epoch = np.zeros(0, dtype=np.intp)
        if effects.n_epochs:
            record = effects.epoch_sum(data.weight).reshape(-1, effects.n_epochs)
            self.prior_epoch = oldest_epochs(record)
        # Variance of a Student-t location estimate relative to a normal one.
        self.kappa = (df + 3.0) / (df + 1.0)
        self.groups: _Hyper
        self.last: _Moments

    def unpack(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        n_out, n_ev = self.data.n_outlets, self.data.n_events
        return (
            theta[:n_out],
            np.exp(theta[n_out : 2 * n_out]),
            theta[2 * n_out : 2 * n_out + n_ev],
        )

    def unpack_effects(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        start = 2 * self.data.n_outlets + self.data.n_events
        middle = start + self.effects.n_cells
        return theta[start:middle], theta[middle : middle + self.effects.n_lag_bins]

    def unpack_period(self, theta: FloatArray) -> FloatArray:
        fx = self.effects
        start = 2 * self.data.n_outlets + self.data.n_events + fx.n_cells + fx.n_lag_bins
        return theta[start : start + fx.n_periods]

    def unpack_drift(self, theta: FloatArray) -> FloatArray:
        return theta[theta.size - self.effects.n_epoch_cells :]

    def offset(self, theta: FloatArray) -> FloatArray:
        off = self.effects.offset(*self.unpack_effects(theta), self.unpack_period(theta))
        if self.effects.n_epochs:
            off += self.effects.drift_offset(self.unpack_drift(theta))
        return off

    def expect(self, theta: FloatArray) -> _Expectation:
        """The E-step at ``theta``: each report's expected location and tilted moments."""
        data = self.data
        b, sigma2, u = self.unpack(theta)
        off = self.offset(theta)
        # The weights are averaged over the event error's posterior, not taken at its mean,
        # so a shift shared by the event's reports does not pass for noise of each.
        m, ew, ewz, ewz2, omega, q = expect(
            self.ra,
            self.rb,
            data.outlet,
            data.event,
            off,
            b,
            sigma2,
            u,
            self.df,
            weight=data.weight if self.weighted else None,
            u_precision=self.u_precision(sigma2),
        )
        return _Expectation(m=m, off=off, ew=ew, ewz=ewz, ewz2=ewz2, omega=omega, q=q)

    def u_precision(self, sigma2: FloatArray) -> FloatArray | None:
        """Each event error's posterior precision under the normal model (every ``E[w] = 1``,
        so it is a function of theta alone); ``None`` when the event error and the truths are
        fixed (no spread to average over)."""
        if self.event_var == 0 and not np.any(self.truth_var):
            return None
        with np.errstate(divide="ignore"):
            prior_prec = 1.0 / (self.event_var + self.truth_var)
        weight = self.data.weight if self.weighted else _NONE
        return event_precision(self.data.outlet, self.data.event, weight, sigma2, prior_prec)

    def __call__(self, theta: FloatArray) -> FloatArray:
        """One EM map. Every sum is written through ``q`` and parameter changes, so the
        working response ``ytil`` itself is never formed: ``omega * (ytil - m) = q``. Each
        update's sums are one compiled pass over the reports (``em_kernel.residual_sums``)
        with the changes of the parameters updated before it."""
        data = self.data
        o, e = data.outlet, data.event
        n_out, n_ev = data.n_outlets, data.n_events
        b, sigma2, u = self.unpack(theta)
        delta, lam = self.unpack_effects(theta)
        fx = self.effects
        x = self.expect(theta)
        # Changes per parameter, with a trailing zero for reports without a cell or lag bin.
        du, db = np.zeros(n_ev), np.zeros(n_out)
        ddelta, dlam = np.zeros(fx.n_cells + 1), np.zeros(fx.n_lag_bins + 1)
        # Every report's stratum cell and lag bin, one past the last where it has none.
        cell, lag = fx._cell_code, fx._lag_code

        # Every report's drift cell (an empty array without drift) and its changes.
        epoch = _NONE_CODES if fx.epoch_cell is None else fx.epoch_cell
        ddrift = np.zeros(fx.n_epoch_cells if epoch.size else 0)

        def sums(code: IntArray, n: int) -> tuple[FloatArray, FloatArray]:
            return residual_sums(
                code, n, o, e, cell, lag, epoch, du, db, ddelta, dlam, ddrift, x.omega, x.q
            )

        # Event errors.
        event_info, event_net = sums(e, n_ev)
        precision_e = 1.0 / (self.event_var + self.truth_var) + event_info
        u_new = (event_net + u * event_info) / precision_e
        v_e = 1.0 / precision_e
        du = u_new - u

        # Biases.
        info, net = sums(o, n_out)
        hyper = self.groups
        prior_mean = hyper.group_mean[self.group]
        prior_var = hyper.group_var[self.group]
        b_new = (prior_mean / prior_var + net + b * info) / (1.0 / prior_var + info)
        db = b_new - b

        # Stratum deviations.
        delta_new = delta
        if fx.n_cells:
            cell_info, cell_net = (v[:-1] for v in sums(cell, fx.n_cells + 1))
            delta_new = fx.update_strata(
                cell_net + delta * cell_info, cell_info, self.stratum_mean, self.stratum_var
            )
            ddelta = np.append(delta_new - delta, 0.0)

        # Drifting bias: the current bias and the epochs' deviations from it, jointly and
        # exactly; the new current bias replaces the bias update.
        drift = self.unpack_drift(theta)
        drift_new = drift
        if fx.n_epochs:
            epoch_info, epoch_net = sums(epoch, fx.n_epoch_cells)
            total = epoch_net + (np.repeat(b_new, fx.n_epochs) + drift) * epoch_info
            beta, _ = smooth(
                total.reshape(n_out, fx.n_epochs),
                epoch_info.reshape(n_out, fx.n_epochs),
                prior_mean,
                prior_var,
                self.prior_epoch,
                self.drift_var,
            )
            drift_new = (beta - beta[:, :1]).ravel()
            b_new = beta[:, 0]
            db = b_new - b
            ddrift = drift_new - drift

        # Lag effects.
        lam_new = lam
        if fx.n_lag_bins:
            lag_info, lag_net = (v[:-1] for v in sums(lag, fx.n_lag_bins + 1))
            lam_new = fx.update_lag(lag_net + lam * lag_info, lag_info)
            dlam = np.append(lam_new - lam, 0.0)

        # Period effects, jointly with the event errors; a period's change moves every report
        # of its events, so it travels with the event errors' changes.
        period = self.unpack_period(theta)
        period_new = period
        if fx.n_periods:
            _, event_net = sums(e, n_ev)
            before = event_net + event_info * (u_new + fx.event_period_value(period))
            period_new, u_new = fx.update_period(
                before, event_info, self.event_var + self.truth_var, self.period_var
            )
            du = u_new - u + fx.event_period_value(period_new - period)

        # Spreads: the expected squared residual at the new location, m - m_new = -shift.
        # The event error's variance is already in E[w z^2], averaged over its posterior.
        square, cross, moved = spread_sums(
            n_out, o, e, cell, lag, epoch, du, db, ddelta, dlam, ddrift, x.ew, x.ewz, x.ewz2
        )
        ss = sigma2 * square - 2.0 * np.sqrt(sigma2) * cross + moved
        nu0, s0 = self.nu0[self.group], self.s0[self.group]
        sigma2_new = np.maximum((nu0 * s0**2 + ss) / (nu0 + self.n_rep), self.floor2)
        hyper = replace(hyper, event_var=self.event_var, nu0=self.nu0, s0=self.s0)
        self.last = _Moments(
            ss=ss, u_var=v_e, leverage=info / (info + 1.0 / prior_var), hyper=hyper
        )
        return np.concatenate(
            [b_new, np.log(sigma2_new), u_new, delta_new, lam_new, period_new, drift_new]
        )


def _unpooled(
    step: _EmStep,
    theta: FloatArray,
    units: tuple[IntArray, IntArray, FloatArray, FloatArray] | None = None,
    previous: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Each outlet's own bias estimate and its variance, for Paule–Mandel.

    The pooled fit evaluates censored imputations and Student-t weights at the *shrunk*
    bias, and its event errors absorb part of each outlet's deviation; estimates taken from
    it are pulled toward the group and the between-outlet spread comes out too small. Here
    each outlet's location is re-estimated by its own EM steps, against event errors learnt
    from the other reports of each event, with a Student-t efficiency variance.

    ``units`` (each report's unit code, each unit's outlet, the units' starting locations,
    each report's known offset beside its unit's location) re-estimates other units than
    outlets the same way. The steps start from ``previous`` (the last round's estimates of the
    same units, which move little between rounds) if given, else from the units' locations,
    and stop once no unit moves by ``_UNPOOLED_TOL`` of its standard error.
    """
    data = step.data
    o, e, w = data.outlet, data.event, data.weight
    n_ev = data.n_events
    b, sigma2, _ = step.unpack(theta)
    code, unit_sigma2, start = o, sigma2, b
    known = None
    if units is not None:
        code, unit_outlet, start, known = units
        unit_sigma2 = sigma2[unit_outlet]
    n_units = start.size
    # Each report is standardised by (bound - u_without - off - own) / sqrt(sigma2 + v_without).
    centre_shift, v_without = _leave_one_out(step, theta, known)
    no_event = np.zeros(n_ev)
    weight = w if step.weighted else None
    own = (start if previous is None else previous).copy()
    info = np.zeros(n_units)
    for _ in range(_UNPOOLED_STEPS):
        *_, omega, q = expect(
            step.ra,
            step.rb,
            code,
            e,
            centre_shift,
            own,
            unit_sigma2,
            no_event,
            step.df,
            weight=weight,
            extra_var=v_without,
        )
        info, pull = pair_sums(code, n_units, omega, q)
        # Each report's target is own + scale * E[wz] / E[w], weighted by E[w] / scale^2.
        total = pull + own * info
        own = np.where(info > 0, total / np.maximum(info, 1e-300), start)
        # The step moved each unit by pull / info, against a standard error sqrt(kappa / info).
        if np.max(np.abs(pull) / np.sqrt(step.kappa * np.maximum(info, 1e-300))) < _UNPOOLED_TOL:
            break
    return own, step.kappa / np.maximum(info, 1e-300)


def _leave_one_out(
    step: _EmStep, theta: FloatArray, known: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Each report's expected shift from its unit's location, with the event error learnt from
    the other reports of its event, and that error's variance; the rest of the shift is
    ``known``, or the report's effects' offset.

    A function of its own so that the E-step's arrays are freed before the unpooled steps
    allocate theirs: at ten million reports each is 80 MB.
    """
    e, n_ev = step.data.event, step.data.n_events
    _, _, u = step.unpack(theta)
    x = step.expect(theta)
    omega = x.omega
    precision_e = 1.0 / (step.event_var + step.truth_var) + group_sum(e, omega, n_ev)
    v_without = 1.0 / np.maximum(precision_e[e] - omega, 1e-300)
    # omega * (ytil - b - off), each report's weighted pull on its event error.
    pull = x.q + omega * u[e]
    u_without = (group_sum(e, pull, n_ev)[e] - pull) * v_without
    u_without += x.off if known is None else known
    return u_without, v_without


def _stratum_prior(step: _EmStep, theta: FloatArray) -> tuple[FloatArray, float]:
    """Prior of the stratum deviations: each group's lean per stratum, and the spread around it.

    From unshrunk cell biases (outlet x stratum): the spread is the between-cell variance
    *within* each outlet, by Paule–Mandel with one group per outlet, pooled over outlets; a
    group's lean on a stratum is the mean deviation of its outlets' cells from their own
    outlet's mean. Leans are zero for outlets without a group.
    """
    fx = step.effects
    if fx.n_cells < 2:
        return step.stratum_mean, step.stratum_var
    data = step.data
    _, _, u = step.unpack(theta)
    _, lam = step.unpack_effects(theta)
    x = step.expect(theta)
    lag_only = fx.offset(np.zeros(fx.n_cells), lam, step.unpack_period(theta))
    if fx.n_epochs:
        lag_only += fx.drift_offset(step.unpack_drift(theta))
    info = fx.cell_sum(x.omega)
    total = fx.cell_sum(x.omega * (x.ytil() - u[data.event] - lag_only))
    cell_bias = total / np.maximum(info, 1e-300)
    keep = info > 0
    owner = fx.cell_outlet[keep]
    k = np.bincount(owner, minlength=data.n_outlets)
    tau2, outlet_mean, _ = paule_mandel(
        cell_bias[keep], step.kappa / info[keep], owner, data.n_outlets
    )
    usable = (k >= 2) & np.isfinite(tau2)
    if not usable.any():
        return step.stratum_mean, step.stratum_var
    pooled = float(np.average(tau2[usable], weights=k[usable] - 1))
    n_strata = int(fx.cell_stratum.max()) + 1
    cell_group = (step.group[fx.cell_outlet] * n_strata + fx.cell_stratum)[keep]
    paired = usable[owner]
    n_cell_groups = (data.n_groups + 1) * n_strata
    weight = np.where(paired, info[keep], 0.0)
    deviation = cell_bias[keep] - outlet_mean[owner]
    lean = group_sum(cell_group, weight * deviation, n_cell_groups) / np.maximum(
        group_sum(cell_group, weight, n_cell_groups), 1e-300
    )
    lean = lean.reshape(data.n_groups + 1, n_strata)
    lean[data.n_groups] = 0.0
    prior = lean[step.group[fx.cell_outlet], fx.cell_stratum]
    return np.asarray(prior, dtype=np.float64), max(pooled, step.between_floor2)


def _centre_periods(step: _EmStep, theta: FloatArray) -> FloatArray:
    """Move the period effects' mean into the biases.

    A common shift of every ``c_p`` against every ``b_o`` leaves the likelihood unchanged, and
    within an EM run the biases' prior means are held fixed, so the run settles the level
    wherever those means put it. With the means free, the mode has the effects centred on
    their prior mean: the mean of ``c_p`` is 0 (each has the same prior variance). Centring
    between runs lets the group means follow.
    """
    fx = step.effects
    if not fx.n_periods:
        return theta
    out = theta.copy()
    period = step.unpack_period(out)
    level = float(np.mean(period))
    period -= level
    out[: step.data.n_outlets] += level
    return out


def _period_evidence(step: _EmStep, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each period's unshrunk effect and its variance, with the event errors integrated out.

    An event's weighted mean residual, net of biases, strata and lag but not of its period
    effect, has variance ``kappa / info + tau_u^2`` (plus its truth's) around that effect;
    a period's estimate is the inverse-variance weighted mean of its events' (``kappa``, the
    Student-t efficiency, as in the outlets' information).
    """
    fx, e, n_ev = step.effects, step.data.event, step.data.n_events
    _, _, u = step.unpack(theta)
    x = step.expect(theta)
    info = group_sum(e, x.omega, n_ev)
    before = group_sum(e, x.q, n_ev) + info * (u + fx.event_period_value(step.unpack_period(theta)))
    with np.errstate(divide="ignore"):
        weight = np.where(
            info > 0, 1.0 / (step.kappa / info + step.event_var + step.truth_var), 0.0
        )
    precision = fx.period_sum(weight)
    mean = fx.period_sum(weight * before / np.maximum(info, 1e-300)) / np.maximum(precision, 1e-300)
    return mean, 1.0 / np.maximum(precision, 1e-300)


def _period_var(step: _EmStep, theta: FloatArray) -> float:
    """``tau_c^2`` by Paule–Mandel over the periods' unshrunk effects.

    Unlike ``tau_g`` it is not floored: zero only says the periods differ no more than their
    noise, and it turns the effect off rather than claiming anything about outlets' precision.
    """
    fx = step.effects
    if fx.n_periods < 2:
        return step.period_var
    mean, var = _period_evidence(step, theta)
    tau2, _, _ = paule_mandel(mean, var, np.zeros(fx.n_periods, dtype=np.intp), 1)
    return max(float(np.nan_to_num(tau2[0])), _MIN_VAR)


def _overall_units(
    step: _EmStep, theta: FloatArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray] | None:
    """With drift, the outlets' own biases for the group prior are constant over the record
    (offsets without the drift deviations). Taken on top of the fitted walk, they would be
    the current epoch's alone, pulled to the group by the walk itself, and the group's spread
    would collapse to its floor while the walk took up the outlets' deviations."""
    fx = step.effects
    if not fx.n_epochs:
        return None
    b, _, _ = step.unpack(theta)
    known = fx.offset(*step.unpack_effects(theta), step.unpack_period(theta))
    return step.data.outlet, np.arange(b.size), b, known


def _drift_prior(step: _EmStep, theta: FloatArray) -> float:
    """Step variance of the bias random walk, from unshrunk (outlet, epoch) biases.

    Each cell's own bias is re-estimated by ``_unpooled`` with the cells as units: a bias
    read off the pooled fit's working responses is pulled toward the fitted (smoothed) walk,
    and its event errors absorb part of the deviation, so the drift would be underestimated
    (by about half at ``df`` = 4 with the walk held flat).
    """
    fx = step.effects
    if not fx.n_epochs:
        return step.drift_var
    assert fx.epoch_cell is not None
    b, _, _ = step.unpack(theta)
    drift = step.unpack_drift(theta)
    beta = np.repeat(b, fx.n_epochs) + drift
    known = fx.offset(*step.unpack_effects(theta), step.unpack_period(theta))
    unit_outlet = np.repeat(np.arange(b.size), fx.n_epochs)
    own, _ = _unpooled(step, theta, (fx.epoch_cell, unit_outlet, beta, known))
    # The variance from the expected (Fisher) information, not the observed weights: a cell of
    # one report sits at its own centre, where the Student-t weight is at its maximum
    # (nu + 1) / nu, and its variance would come out a fifth too small. The moment equation
    # charges any such shortfall to the walk, many times over where cells are noisy.
    data = step.data
    _, sigma2, _ = step.unpack(theta)
    omega = step.expect(theta).omega
    precision_e = 1.0 / (step.event_var + step.truth_var) + group_sum(
        data.event, omega, data.n_events
    )
    v_without = 1.0 / np.maximum(precision_e[data.event] - omega, 1e-300)
    fisher = fx.epoch_sum(data.weight / (sigma2[data.outlet] + v_without))
    keep = np.flatnonzero(fisher > 0)
    q = step_variance(own[keep], step.kappa / fisher[keep], keep // fx.n_epochs, keep % fx.n_epochs)
    return max(q, _MIN_VAR)


def _lag_se(fx: Effects, omega: FloatArray, kappa: float) -> FloatArray:
    """Standard errors of the lag effects relative to the reference bin (zero there)."""
    if not fx.n_lag_bins:
        return np.zeros(0)
    var = kappa / np.maximum(fx.lag_sum(omega), 1e-300)
    relative = np.sqrt(var + var[fx.reference])
    return np.asarray(np.where(np.arange(fx.n_lag_bins) == fx.reference, 0.0, relative))


def _midpoints(ra: FloatArray, rb: FloatArray) -> FloatArray:
    """A point per residual interval: its midpoint or finite bound (nan when both are open)."""
    both = np.isfinite(ra) & np.isfinite(rb)
    ra = np.where(np.isfinite(ra), ra, np.nan)
    rb = np.where(np.isfinite(rb), rb, np.nan)
    return np.where(both, (ra + rb) / 2, np.where(np.isfinite(ra), ra, rb))


def _group_hyper(
    raw: FloatArray,
    raw_var: FloatArray,
    group: IntArray,
    n_groups: int,
    n_rep: FloatArray,
    floor2: float,
) -> _Hyper:
    """Paule–Mandel within groups, then groups around the global mean.

    Between-unit variances are kept at or above ``floor2``: an estimate of exactly zero would
    claim that outlets (or groups) share one bias, and their intervals would inherit the
    precision of the most precise outlet.
    """
    hyper = _Hyper(
        group_mean=np.zeros(n_groups + 1),
        group_var=np.zeros(n_groups + 1),
        group_mean_var=np.zeros(n_groups + 1),
        global_bias=0.0,
        global_bias_var=0.0,
        between_group_var=0.0,
        pooled_var=0.0,
        nu0=np.zeros(0),
        s0=np.zeros(0),
        event_var=0.0,
    )
    active = n_rep > 0
    est, var, grp = raw[active], raw_var[active], group[active]
    real = grp < n_groups
    k = np.bincount(grp, minlength=n_groups + 1)
    tau2, mean, mean_var = paule_mandel(est, var, grp, n_groups + 1)
    real_groups = np.flatnonzero(k[:n_groups] > 0)
    if real_groups.size == 0:
        # No registry groups: every outlet shrinks straight toward the global mean.
        t2, mu, mv = paule_mandel(est, var, np.zeros(est.size, dtype=np.intp), 1)
        pooled = float(np.nan_to_num(t2[0]))
        hyper.global_bias, hyper.global_bias_var = float(mu[0]), float(np.nan_to_num(mv[0]))
        hyper.between_group_var = 0.0
    else:
        usable = np.flatnonzero(k[:n_groups] >= 2)
        if usable.size:
            pooled = float(np.average(np.nan_to_num(tau2[usable]), weights=k[usable] - 1))
        else:
            t2, _, _ = paule_mandel(est[real], var[real], np.zeros(int(real.sum()), np.intp), 1)
            pooled = float(np.nan_to_num(t2[0]))
        if real_groups.size >= 2:
            omega2, mu0, mu0_var = paule_mandel(
                mean[real_groups],
                mean_var[real_groups],
                np.zeros(real_groups.size, dtype=np.intp),
                1,
            )
            hyper.between_group_var = max(float(np.nan_to_num(omega2[0])), floor2)
            hyper.global_bias, hyper.global_bias_var = float(mu0[0]), float(mu0_var[0])
        else:
            only = real_groups[0]
            hyper.between_group_var = 0.0
            hyper.global_bias, hyper.global_bias_var = float(mean[only]), float(mean_var[only])
    pooled = max(pooled, floor2, _MIN_VAR)
    hyper.pooled_var = pooled
    group_var = np.where(k >= 2, np.nan_to_num(tau2, nan=pooled), pooled)
    hyper.group_var = np.maximum(group_var, max(floor2, _MIN_VAR))
    between = hyper.between_group_var
    mean_var_safe = np.where(k > 0, np.nan_to_num(mean_var, nan=np.inf), np.inf)
    if between > 0:
        shrunk_prec = 1.0 / mean_var_safe + 1.0 / between
        group_mean = (mean / mean_var_safe + hyper.global_bias / between) / shrunk_prec
        group_mean_var = 1.0 / shrunk_prec
    else:
        group_mean = np.full(k.size, hyper.global_bias)
        group_mean_var = np.full(k.size, hyper.global_bias_var)
    if real_groups.size:
        # Outlets without a registry group shrink toward the global prior.
        group_mean[n_groups] = hyper.global_bias
        group_mean_var[n_groups] = hyper.global_bias_var
        hyper.group_var[n_groups] = pooled + between
    else:
        group_mean[n_groups] = hyper.global_bias
        group_mean_var[n_groups] = hyper.global_bias_var
    hyper.group_mean = group_mean
    hyper.group_mean_var = group_mean_var
    return hyper


def _robust_information(
    step: _EmStep,
    b: FloatArray,
    sigma2: FloatArray,
    omega: FloatArray,
    ytil: FloatArray,
    v_without: FloatArray,
    off: FloatArray,
) -> FloatArray:
    """Sandwich information ``H^2 / S`` about each outlet's bias.

    Scores and curvatures are taken against each report's prediction from the *other*
    reports of its event (leave-one-out event error, with its variance added to the scale),
    so a report does not vouch for itself through the shared error.
    """
    data = step.data
    o, e, w = data.outlet, data.event, data.weight
    n_out, n_ev = data.n_outlets, data.n_events
    shifted = ytil - b[o] - off
    u_without = (group_sum(e, omega * shifted, n_ev)[e] - omega * shifted) * v_without
    scale = np.sqrt(sigma2[o] + v_without)
    centre = b[o] + u_without + off
    grad, curv = location_score(
        (step.ra - centre) / scale, (step.rb - centre) / scale, scale, step.df
    )
    h = group_sum(o, w * curv, n_out)
    g2 = group_sum(o, w * w * grad * grad, n_out)
    with np.errstate(divide="ignore", invalid="ignore"):
        robust = np.where(g2 > 0, np.maximum(h, 0.0) ** 2 / g2, np.inf)
    return np.asarray(robust, dtype=np.float64)


def _summarise(step: _EmStep, theta: FloatArray, iterations: int, converged: bool) -> MetricFit:
    data, df, group, n_rep = step.data, step.df, step.group, step.n_rep
    hyper = step.last.hyper
    o, e = data.outlet, data.event
    n_out, n_ev = data.n_outlets, data.n_events
    b, sigma2, _ = step.unpack(theta)
    delta, lam = step.unpack_effects(theta)
    fx = step.effects
    x = step.expect(theta)
    off, omega, ytil = x.off, x.omega, x.ytil()
    # The other moments are not needed below; the sandwich's temporaries take their place.
    del x
    precision_e = 1.0 / (hyper.event_var + step.truth_var) + group_sum(e, omega, n_ev)
    # Information about b_o: each report's Student-t efficiency, plus the uncertainty of the
    # shared event error that the other reports of its event leave.
    kappa = step.kappa
    v_without = 1.0 / np.maximum(precision_e[e] - omega, 1e-300)
    with np.errstate(divide="ignore"):
        per_report = np.where(omega > 0, 1.0 / (kappa / omega + v_without), 0.0)
    model_info = group_sum(o, per_report, n_out)
    info = np.minimum(model_info, _robust_information(step, b, sigma2, omega, ytil, v_without, off))
    prior_prec = 1.0 / hyper.group_var[group]
    post_prec = prior_prec + info
    pull = prior_prec / post_prec
    bias_se = np.sqrt(1.0 / post_prec + pull**2 * hyper.group_mean_var[group])
    drift_sd, overall = None, None
    if fx.n_epochs:
        robust_share = np.where(model_info > 0, info / np.maximum(model_info, 1e-300), 1.0)
        bias_se, overall = _current_bias(step, theta, per_report, robust_share)
        drift_sd = float(np.sqrt(step.drift_var))
    k = np.bincount(group, minlength=data.n_groups + 1)[: data.n_groups]
    period_se = np.zeros(0)
    if fx.n_periods:
        _, period_var = _period_evidence(step, theta)
        period_se = np.sqrt(1.0 / (1.0 / period_var + 1.0 / step.period_var))
    return MetricFit(
        df=df,
        bias=b,
        bias_se=bias_se,
        # An outlet without reports has a purely normal prior on its bias.
        bias_dof=np.where(n_rep > 0, hyper.nu0[group] + n_rep, np.inf),
        sd=np.sqrt(sigma2),
        sd_dof=hyper.nu0[group] + n_rep * df / (df + 3.0),
        n_reports=n_rep,
        effective_n=model_info * sigma2,
        group_mean=hyper.group_mean[: data.n_groups],
        group_mean_se=np.sqrt(hyper.group_mean_var[: data.n_groups]),
        group_between_sd=np.sqrt(hyper.group_var[: data.n_groups]),
        group_n_outlets=k.astype(np.intp),
        group_sd_prior_dof=hyper.nu0[: data.n_groups],
        group_sd_prior_scale=hyper.s0[: data.n_groups],
        global_bias=hyper.global_bias,
        global_bias_se=float(np.sqrt(hyper.global_bias_var)),
        between_group_sd=float(np.sqrt(hyper.between_group_var)),
        pooled_between_sd=float(np.sqrt(hyper.pooled_var)),
        sd_prior_dof=float(hyper.nu0[data.n_groups]),
        sd_prior_scale=float(hyper.s0[data.n_groups]),
        event_sd=float(np.sqrt(hyper.event_var)),
        iterations=iterations,
        converged=converged,
        stratum_delta=delta,
        stratum_delta_se=1.0 / np.sqrt(1.0 / step.stratum_var + fx.cell_sum(omega) / kappa),
        stratum_sd=float(np.sqrt(step.stratum_var)),
        lag_effect=lam,
        # The reference bin is held at zero; the others are known relative to it.
        lag_se=_lag_se(fx, omega, kappa),
        period_effect=step.unpack_period(theta),
        period_se=period_se,
        period_sd=float(np.sqrt(step.period_var)) if fx.n_periods else 0.0,
        drift_sd=drift_sd,
        overall_bias=overall,
        drift_effect=step.unpack_drift(theta) if fx.n_epochs else None,
        state=FitState(
            bias=b,
            log_var=np.log(sigma2),
            event_error=theta[2 * n_out : 2 * n_out + n_ev],
            stratum_delta=delta,
            stratum_mean=step.stratum_mean,
            stratum_var=step.stratum_var,
            lag_effect=lam,
            hyper=hyper,
        ),
    )


def _current_bias(
    step: _EmStep, theta: FloatArray, per_report: FloatArray, robust_share: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Standard error of each outlet's current bias, and its record-weighted mean bias.

    The smoother is rerun on each epoch's model information (Student-t efficiency and the
    event error left by the other reports), scaled per outlet by the robust share that caps
    the constant-bias information; the prior-mean uncertainty enters as for a constant bias,
    through the current bias' sensitivity to the prior mean.
    """
    fx, hyper, group = step.effects, step.last.hyper, step.group
    n_out = step.data.n_outlets
    b, _, _ = step.unpack(theta)
    beta = b[:, None] + step.unpack_drift(theta).reshape(n_out, fx.n_epochs)
    info = fx.epoch_sum(per_report).reshape(n_out, fx.n_epochs) * robust_share[:, None]
    # The posterior is linear in the prior mean: run at prior mean 1 with no evidence, the
    # smoother gives the current bias' sensitivity to it (its variance needs no values).
    pull, var = smooth(
        np.zeros_like(info),
        info,
        np.ones(n_out),
        hyper.group_var[group],
        step.prior_epoch,
        step.drift_var,
    )
    se = np.sqrt(var[:, 0] + pull[:, 0] ** 2 * hyper.group_mean_var[group])
    record = fx.epoch_sum(step.data.weight).reshape(n_out, fx.n_epochs)
    overall = np.where(
        record.sum(axis=1) > 0,
        (record * beta).sum(axis=1) / np.maximum(record.sum(axis=1), 1e-300),
        b,
    )
    return np.asarray(se, dtype=np.float64), np.asarray(overall, dtype=np.float64)
