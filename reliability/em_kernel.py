"""Compiled passes over reports for the EM map: the E-step and the grouped sums of the M-step.

In numpy one EM map over a million censored reports costs several dozen full-length
temporaries (gathers of the parameters, the tilted moments at two Gauss–Hermite nodes, the
products summed by ``np.bincount``); at ten million they dominate both time and memory. Here
each pass reads each report once and keeps its values in registers.

The E-step takes the closed forms of ``tdist.point_moments`` and ``tdist._even_interval_moments``;
the few intervals those do not cover (odd or large ``df``, a finite bound beyond ``|z| = 8``,
no usable mass) are flagged and recomputed by ``tdist._interval_moments``, so the results
equal the numpy formulas to rounding.

A pass over more than ``_REPORTS_PER_THREAD`` reports per core is split into contiguous runs of
reports, one thread each (``jit.in_runs``). The E-step's outputs are per report, so a split
pass equals one pass bit for bit; the grouped sums are each run's partial sums added in run
order, which differs from one pass in rounding only (a few ulps of the sums).
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from reliability.jit import in_runs, kernel
from reliability.tdist import _CLOSED_FORM_MAX_DF, _CLOSED_FORM_MAX_Z, _interval_moments

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
A = TypeVar("A", FloatArray, IntArray)

# Stands for an absent per-report or per-event array in the kernels (one signature each).
_NONE = np.zeros(0)
#: Below this many reports per thread, starting threads costs more than it saves.
_REPORTS_PER_THREAD = 25_000


def expect(
    ra: FloatArray,
    rb: FloatArray,
    outlet: IntArray,
    event: IntArray,
    off: FloatArray,
    b: FloatArray,
    sigma2: FloatArray,
    u: FloatArray,
    df: float,
    *,
    weight: FloatArray | None = None,
    extra_var: FloatArray | None = None,
    u_precision: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """The E-step of every report ``i`` (outlet ``o``, event ``e``): its location
    ``m = b[o] + u[e] + off[i]``, scale ``s = sqrt(sigma2[o] + extra_var[i])`` and the tilted
    moments ``E[w]``, ``E[w z]``, ``E[w z^2]`` of its residual interval ``[ra, rb]`` (a point
    where ``ra == rb``) standardised by them, times ``weight``; then ``omega = E[w] / s^2``
    and ``q = E[w z] / s``. Returns ``(m, ew, ewz, ewz2, omega, q)``.

    With ``u_precision`` (per event) the moments are averaged over the two Gauss–Hermite nodes
    ``u_e -+ 1 / sqrt(u_precision[e])`` of a normal event error (docs/model.md, section 5).
    """
    n = ra.size
    m, ew, ewz, ewz2, omega, q = (np.empty(n) for _ in range(6))
    general = np.zeros(n, dtype=np.bool_)
    closed = df % 2 == 0 and df <= _CLOSED_FORM_MAX_DF
    weight = _NONE if weight is None else weight
    extra_var = _NONE if extra_var is None else extra_var
    u_precision = _NONE if u_precision is None else u_precision

    def pass_over(first: int, last: int) -> bool:
        return bool(
            _expect_kernel(
                ra[first:last],
                rb[first:last],
                outlet[first:last],
                event[first:last],
                off[first:last],
                _cut(weight, first, last),
                b,
                sigma2,
                u,
                _cut(extra_var, first, last),
                u_precision,
                df,
                closed,
                m[first:last],
                ew[first:last],
                ewz[first:last],
                ewz2[first:last],
                omega[first:last],
                q[first:last],
                general[first:last],
            )
        )

    # Each report's outputs are its own: a long pass is split across the cores.
    flagged = any(in_runs(n, _REPORTS_PER_THREAD, pass_over))
    if flagged:
        rows = np.flatnonzero(general)
        var = sigma2[outlet[rows]] + (extra_var[rows] if extra_var.size else 0.0)
        s = np.sqrt(var)
        spread = np.zeros(rows.size)
        if u_precision.size:
            spread = 1.0 / np.sqrt(u_precision[event[rows]] * var)
        za = (ra[rows] - m[rows]) / s
        zb = (rb[rows] - m[rows]) / s
        low = _interval_moments(za + spread, zb + spread, df)
        high = _interval_moments(za - spread, zb - spread, df)
        moments = [(x + y) * 0.5 for x, y in zip(low, high, strict=True)]
        if weight.size:
            moments = [v * weight[rows] for v in moments]
        ew[rows], ewz[rows], ewz2[rows] = moments
        omega[rows] = ew[rows] / var
        q[rows] = ewz[rows] / s
    return m, ew, ewz, ewz2, omega, q


@kernel
def _expect_kernel(
    ra: FloatArray,
    rb: FloatArray,
    outlet: IntArray,
    event: IntArray,
    off: FloatArray,
    weight: FloatArray,
    b: FloatArray,
    sigma2: FloatArray,
    u: FloatArray,
    extra_var: FloatArray,
    u_precision: FloatArray,
    df: float,
    closed: bool,
    m: FloatArray,
    ew: FloatArray,
    ewz: FloatArray,
    ewz2: FloatArray,
    omega: FloatArray,
    q: FloatArray,
    general: BoolArray,
) -> int:
    """:func:`expect` without the general path: returns how many reports it flagged in
    ``general`` (their outputs other than ``m`` are unset). Empty ``weight``, ``extra_var``
    and ``u_precision`` stand for none."""
    coefficients, g_const = _constants(df)
    half = coefficients.size - 1
    n = df + 2.0
    k = math.sqrt(n / df)
    c_far = df / (df + _CLOSED_FORM_MAX_Z * _CLOSED_FORM_MAX_Z)
    n_nodes = 2 if u_precision.size else 1
    flagged = 0
    for i in range(ra.size):
        o = outlet[i]
        e = event[i]
        var = sigma2[o] + extra_var[i] if extra_var.size else sigma2[o]
        inverse = 1.0 / math.sqrt(var)
        centre = b[o] + u[e] + off[i]
        m[i] = centre
        point = ra[i] == rb[i]
        za = (ra[i] - centre) * inverse
        zb = (rb[i] - centre) * inverse
        spread = 1.0 / math.sqrt(u_precision[e] * var) if n_nodes == 2 else 0.0
        s_w = 0.0
        s_wz = 0.0
        s_wz2 = 0.0
        covered = True
        for node in range(n_nodes):
            # The location moved by d = -spread, +spread: the bounds move by -d.
            d = (2 * node - 1) * spread
            if point:
                z = za - d
                w = (df + 1.0) / (df + z * z)
                s_w += w
                s_wz += w * z
                s_wz2 += w * z * z
                continue
            if not closed:
                covered = False
                break
            # Per bound (upper minus lower): twice the t_df CDF (x times the series), twice
            # the t_{df+2} CDF at k z (one more term), g(k z) and z g(k z); see
            # tdist._even_interval_moments.
            prob = 0.0
            mass = 0.0
            first = 0.0
            second = 0.0
            far = False
            for side in range(2):
                z = (zb if side else za) - d
                # Clipping at 1e10 makes an infinite bound exact: x = +-1 and c ~ 4e-20.
                zc = min(max(z, -1e10), 1e10)
                inverse_root = 1.0 / math.sqrt(zc * zc + df)
                c = df * inverse_root * inverse_root
                total = coefficients[half - 1]
                power = c
                for j in range(half - 2, -1, -1):
                    total = total * c + coefficients[j]
                    power *= c
                x = zc * inverse_root
                g = g_const * power * inverse_root
                sign = 1.0 if side else -1.0
                prob += sign * x * total
                mass += sign * x * (total + coefficients[half] * power)
                first += sign * g
                second += sign * zc * g
                far = far or (c <= c_far and math.isfinite(z))
            prob *= 0.5
            if prob < 1e-300 or far:
                covered = False
                break
            inverse_prob = 1.0 / prob
            s_w += 0.5 * mass * inverse_prob
            s_wz += first * inverse_prob / k
            s_wz2 += second * (k * df / n) * inverse_prob + 1.0
        if covered:
            a = weight[i] / n_nodes if weight.size else 1.0 / n_nodes
            w = s_w * a
            ew[i] = w
            ewz[i] = s_wz * a
            ewz2[i] = s_wz2 * a
            omega[i] = w * inverse * inverse
            q[i] = s_wz * a * inverse
            continue
        general[i] = True
        flagged += 1
    return flagged


def _cut(values: A, first: int, last: int) -> A:
    """A run of a per-report array; an empty one stands for none and stays empty."""
    return values[first:last] if values.size else values


def _added(parts: list[tuple[FloatArray, ...]]) -> tuple[FloatArray, ...]:
    """The runs' partial sums added in run order (the runs themselves when there is one)."""
    if len(parts) == 1:
        return parts[0]
    return tuple(np.sum(column, axis=0) for column in zip(*parts, strict=True))


def event_precision(
    outlet: IntArray, event: IntArray, weight: FloatArray, sigma2: FloatArray, prior: FloatArray
) -> FloatArray:
    """``prior[e] + sum_{i in e} a_i / sigma_o^2``: each event error's posterior precision under
    the normal model (``weight`` empty for unit weights)."""

    def run(first: int, last: int) -> tuple[FloatArray]:
        sums = _precision_kernel(
            outlet[first:last], event[first:last], _cut(weight, first, last), sigma2, prior.size
        )
        return (sums,)

    (sums,) = _added(in_runs(outlet.size, _REPORTS_PER_THREAD, run))
    return prior + sums


@kernel
def _precision_kernel(
    outlet: IntArray, event: IntArray, weight: FloatArray, sigma2: FloatArray, n: int
) -> FloatArray:
    out = np.zeros(n)
    weighted = weight.size > 0
    for i in range(outlet.size):
        a = weight[i] if weighted else 1.0
        out[event[i]] += a / sigma2[outlet[i]]
    return out


def pair_sums(
    code: IntArray, n: int, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``x`` and ``y`` summed by ``code`` into ``n`` bins, in one pass split across the cores."""

    def run(first: int, last: int) -> tuple[FloatArray, FloatArray]:
        return _pair_kernel(code[first:last], n, x[first:last], y[first:last])

    sx, sy = _added(in_runs(code.size, _REPORTS_PER_THREAD, run))
    return sx, sy


@kernel
def _pair_kernel(
    code: IntArray, n: int, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    sx = np.zeros(n)
    sy = np.zeros(n)
    for i in range(code.size):
        sx[code[i]] += x[i]
        sy[code[i]] += y[i]
    return sx, sy


def residual_sums(
    code: IntArray,
    n: int,
    outlet: IntArray,
    event: IntArray,
    cell: IntArray,
    lag: IntArray,
    epoch: IntArray,
    du: FloatArray,
    db: FloatArray,
    ddelta: FloatArray,
    dlam: FloatArray,
    ddrift: FloatArray,
    omega: FloatArray,
    q: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Per ``code``: the information ``sum omega_i`` and the weighted residual after the
    parameter changes made so far, ``sum (q_i - omega_i * shift_i)`` with ``shift_i = du[e] +
    db[o] + ddelta[cell] + dlam[lag]`` (the changes of the parameters not yet updated are
    zero), plus ``ddrift[epoch]`` where ``epoch`` (each report's drift cell) is not empty.
    ``cell`` and ``lag`` point at a trailing zero of ``ddelta`` and ``dlam`` where a report
    has none."""

    def run(first: int, last: int) -> tuple[FloatArray, FloatArray]:
        return _residual_kernel(
            code[first:last],
            n,
            outlet[first:last],
            event[first:last],
            cell[first:last],
            lag[first:last],
            _cut(epoch, first, last),
            du,
            db,
            ddelta,
            dlam,
            ddrift,
            omega[first:last],
            q[first:last],
        )

    info, net = _added(in_runs(code.size, _REPORTS_PER_THREAD, run))
    return info, net


@kernel
def _residual_kernel(
    code: IntArray,
    n: int,
    outlet: IntArray,
    event: IntArray,
    cell: IntArray,
    lag: IntArray,
    epoch: IntArray,
    du: FloatArray,
    db: FloatArray,
    ddelta: FloatArray,
    dlam: FloatArray,
    ddrift: FloatArray,
    omega: FloatArray,
    q: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    info = np.zeros(n)
    net = np.zeros(n)
    for i in range(code.size):
        shift = du[event[i]] + db[outlet[i]] + ddelta[cell[i]] + dlam[lag[i]]
        if epoch.size:
            shift += ddrift[epoch[i]]
        c = code[i]
        info[c] += omega[i]
        net[c] += q[i] - omega[i] * shift
    return info, net


def spread_sums(
    n: int,
    outlet: IntArray,
    event: IntArray,
    cell: IntArray,
    lag: IntArray,
    epoch: IntArray,
    du: FloatArray,
    db: FloatArray,
    ddelta: FloatArray,
    dlam: FloatArray,
    ddrift: FloatArray,
    ew: FloatArray,
    ewz: FloatArray,
    ewz2: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per outlet: ``sum E[w z^2]``, ``sum E[w z] shift`` and ``sum E[w] shift^2``, the three
    terms of the expected squared residual at the new location (``shift`` as in
    :func:`residual_sums`, every parameter changed)."""

    def run(first: int, last: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        return _spread_kernel(
            n,
            outlet[first:last],
            event[first:last],
            cell[first:last],
            lag[first:last],
            _cut(epoch, first, last),
            du,
            db,
            ddelta,
            dlam,
            ddrift,
            ew[first:last],
            ewz[first:last],
            ewz2[first:last],
        )

    square, cross, moved = _added(in_runs(outlet.size, _REPORTS_PER_THREAD, run))
    return square, cross, moved


@kernel
def _spread_kernel(
    n: int,
    outlet: IntArray,
    event: IntArray,
    cell: IntArray,
    lag: IntArray,
    epoch: IntArray,
    du: FloatArray,
    db: FloatArray,
    ddelta: FloatArray,
    dlam: FloatArray,
    ddrift: FloatArray,
    ew: FloatArray,
    ewz: FloatArray,
    ewz2: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    square = np.zeros(n)
    cross = np.zeros(n)
    moved = np.zeros(n)
    for i in range(outlet.size):
        o = outlet[i]
        # Written out as in _residual_kernel: a shared kernel for the shift is not inlined, and
        # the call cost 40% of the EM's time at 1M reports.
        shift = du[event[i]] + db[o] + ddelta[cell[i]] + dlam[lag[i]]
        if epoch.size:
            shift += ddrift[epoch[i]]
        square[o] += ewz2[i]
        cross[o] += ewz[i] * shift
        moved[o] += ew[i] * shift * shift
    return square, cross, moved


@kernel
def _constants(df: float) -> tuple[FloatArray, float]:
    """Series coefficients ``a_j = prod (2i - 1) / (2i)`` and the constant of ``g`` of the
    even-df closed forms (see ``tdist._even_interval_moments``)."""
    # Unused beyond the closed forms' range of df, where they are not built to full length.
    half = min(max(int(df) // 2, 1), _CLOSED_FORM_MAX_DF // 2)
    coefficients = np.ones(half + 1)
    for j in range(1, half + 1):
        coefficients[j] = coefficients[j - 1] * (2 * j - 1) / (2 * j)
    n = df + 2.0
    density = math.exp(math.lgamma((n + 1) / 2) - math.lgamma(n / 2)) / math.sqrt(n * math.pi)
    return coefficients, -n / (n - 1.0) * density * math.sqrt(df)
