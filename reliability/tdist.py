"""Student-t numerics for interval-censored residuals, vectorised.

The fit treats every residual as an interval ``[za, zb]`` in standard units (a point when
``za == zb``) under a Student-t with ``df`` degrees of freedom, written as a scale mixture
``z | w ~ N(0, 1/w)``, ``w ~ Gamma(df/2, df/2)``. EM needs the tilted moments
``E[w | A]``, ``E[w z | A]`` and ``E[w z^2 | A]`` for ``A = {za <= z <= zb}``. They have closed
forms: the w-tilted density of z is a Student-t with ``df + 2`` degrees of freedom rescaled
by ``k = sqrt((df + 2) / df)``. See docs/model.md, "Censored residuals".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]


def log_t_pdf(z: FloatArray, df: float) -> FloatArray:
    """Log density of the standard Student-t."""
    const = special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi)
    return np.asarray(const - (df + 1) / 2 * np.log1p(z * z / df), dtype=np.float64)


def t_interval_prob(za: FloatArray, zb: FloatArray, df: float) -> FloatArray:
    """P(za <= Z <= zb) for Z ~ t(df), accurate in both tails."""
    upper = za > 0
    lo_tail = special.stdtr(df, np.where(upper, -zb, za))
    hi_tail = special.stdtr(df, np.where(upper, -za, zb))
    return np.asarray(np.maximum(hi_tail - lo_tail, 0.0), dtype=np.float64)


def log_likelihood(za: FloatArray, zb: FloatArray, scale: FloatArray, df: float) -> FloatArray:
    """Log-likelihood of residual intervals: density for points, probability for intervals.

    ``scale`` converts a point's standard density into a density on the data scale.
    """
    point = za == zb
    dens = log_t_pdf(za, df) - np.log(scale)
    with np.errstate(divide="ignore"):
        prob = np.log(t_interval_prob(za, np.where(point, za + 1.0, zb), df))
    return np.where(point, dens, prob)


def tilted_moments(
    za: FloatArray, zb: FloatArray, df: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return ``E[w]``, ``E[w z]``, ``E[w z^2]`` given ``za <= z <= zb`` (points where equal)."""
    point = za == zb
    n = df + 2.0
    k = np.sqrt(n / df)
    a = np.where(point, -np.inf, za)
    b = np.where(point, np.inf, zb)
    prob = t_interval_prob(a, b, df)
    ya, yb = k * a, k * b
    mass_w = t_interval_prob(ya, yb, n)

    def g(y: FloatArray) -> FloatArray:
        finite = np.isfinite(y)
        yf = np.where(finite, y, 0.0)
        val = -(n + yf * yf) / (n - 1) * np.exp(log_t_pdf(yf, n))
        return np.where(finite, val, 0.0)

    def yg(y: FloatArray) -> FloatArray:
        finite = np.isfinite(y)
        return np.where(finite, np.where(finite, y, 0.0) * g(y), 0.0)

    first = (g(yb) - g(ya)) / k
    second = (df / n) * (yg(yb) - yg(ya)) + prob
    tiny = prob < 1e-300
    safe = np.where(tiny, 1.0, prob)
    ew = mass_w / safe
    ewz = first / safe
    ewz2 = second / safe
    # Far in a tail the interval carries no usable mass: treat it as a point at its nearer bound.
    near = np.where(np.abs(a) < np.abs(b), a, b)
    near = np.where(np.isfinite(near), near, np.where(np.isfinite(a), a, b))
    zp = np.where(point, za, near)
    zp = np.where(np.isfinite(zp), zp, 0.0)
    wp = (df + 1) / (df + zp * zp)
    use_point = point | tiny
    return (
        np.where(use_point, wp, ew),
        np.where(use_point, wp * zp, ewz),
        np.where(use_point, wp * zp * zp, ewz2),
    )
