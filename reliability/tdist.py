"""Student-t numerics for interval-censored residuals, vectorised.

The fit treats every residual as an interval ``[za, zb]`` in standard units (a point when
``za == zb``) under a Student-t with ``df`` degrees of freedom, written as a scale mixture
``z | w ~ N(0, 1/w)``, ``w ~ Gamma(df/2, df/2)``. EM needs the tilted moments
``E[w | A]``, ``E[w z | A]`` and ``E[w z^2 | A]`` for ``A = {za <= z <= zb}``. They have closed
forms: the w-tilted density of z is a Student-t with ``df + 2`` degrees of freedom rescaled
by ``k = sqrt((df + 2) / df)``. See docs/model.md, "Censored residuals".
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]


def log_t_pdf(z: FloatArray, df: float) -> FloatArray:
    """Log density of the standard Student-t."""
    out = np.log1p(z * z / df)
    out *= -(df + 1) / 2
    out += _log_t_constant(df)
    return np.asarray(out, dtype=np.float64)


@cache
def _log_t_constant(df: float) -> float:
    # Cached: scoring one report evaluates the density a few times, and two gammaln calls
    # cost as much as the density itself at that size.
    return float(special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi))


_CLOSED_FORM_MAX_DF = 8
# Beyond this the series loses relative accuracy in the lower tail to cancellation.
_CLOSED_FORM_MAX_Z = 8.0
_FAR_Y = 1e6
_BLOCK = 65_536


def t_cdf(z: FloatArray, df: float) -> FloatArray:
    """CDF of the standard Student-t.

    For even integer ``df`` (the default 4, and 6 for its tilted moments) it uses the finite
    series ``1/2 + x/2 * sum_j c_j (1 - x^2)^j`` with ``x = z / sqrt(df + z^2)``, several times
    faster than the incomplete beta function; far tails fall back to scipy for accuracy.
    """
    z = np.asarray(z, dtype=np.float64)
    if df % 2 or df > _CLOSED_FORM_MAX_DF:
        return np.asarray(special.stdtr(df, z), dtype=np.float64)
    # Clipping keeps the series finite for infinite bounds; those are recomputed below.
    zc = np.clip(z, -_CLOSED_FORM_MAX_Z, _CLOSED_FORM_MAX_Z)
    r2 = zc * zc + df
    c = df / r2
    coefficients = [1.0]
    for j in range(1, int(df) // 2):
        coefficients.append(coefficients[-1] * (2 * j - 1) / (2 * j))
    total = np.full_like(zc, coefficients[-1])
    for a in reversed(coefficients[:-1]):
        total *= c
        total += a
    out = np.asarray(0.5 + 0.5 * (zc / np.sqrt(r2)) * total, dtype=np.float64)
    # Open bounds of censored claims are exact without scipy (a whole grid row per claim).
    out[z == np.inf] = 1.0
    out[z == -np.inf] = 0.0
    far = (np.abs(z) >= _CLOSED_FORM_MAX_Z) & np.isfinite(z)
    if far.any():
        out[far] = special.stdtr(df, z[far])
    return out


def t_interval_prob(za: FloatArray, zb: FloatArray, df: float) -> FloatArray:
    """P(za <= Z <= zb) for Z ~ t(df), accurate in both tails."""
    upper = za > 0
    lo_tail = t_cdf(np.where(upper, -zb, za), df)
    hi_tail = t_cdf(np.where(upper, -za, zb), df)
    return np.asarray(np.maximum(hi_tail - lo_tail, 0.0), dtype=np.float64)


def log_likelihood(za: FloatArray, zb: FloatArray, scale: FloatArray, df: float) -> FloatArray:
    """Log-likelihood of residual intervals: density for points, probability for intervals.

    ``scale`` converts a point's standard density into a density on the data scale.
    """
    za, zb = np.broadcast_arrays(za, zb)
    out = np.asarray(log_t_pdf(za, df) - np.log(scale), dtype=np.float64)
    interval = za != zb
    if interval.any():
        with np.errstate(divide="ignore"):
            out[interval] = np.log(t_interval_prob(za[interval], zb[interval], df))
    return out


def tilted_moments(
    za: FloatArray, zb: FloatArray, df: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return ``E[w]``, ``E[w z]``, ``E[w z^2]`` given ``za <= z <= zb`` (points where equal).

    >>> import numpy as np
    >>> ew, ewz, ewz2 = tilted_moments(np.array([-np.inf]), np.array([np.inf]), 4.0)
    >>> float(ew[0]), float(ewz[0]), round(float(ewz2[0]), 12)
    (1.0, 0.0, 1.0)
    """
    with np.errstate(invalid="ignore"):
        ew, ewz, ewz2 = point_moments(za, df)
    interval = za != zb
    if interval.any():
        ew[interval], ewz[interval], ewz2[interval] = interval_moments(
            za[interval], zb[interval], df
        )
    return ew, ewz, ewz2


def point_moments(z: FloatArray, df: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``E[w]``, ``E[w z]``, ``E[w z^2]`` of exactly observed standardised residuals ``z``."""
    ew = z * z
    ew += df
    np.divide(df + 1.0, ew, out=ew)
    ewz = ew * z
    return ew, ewz, ewz * z


def interval_moments(
    a: FloatArray, b: FloatArray, df: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``E[w]``, ``E[w z]``, ``E[w z^2]`` given ``a <= z <= b``, for proper intervals ``a < b``."""
    if df % 2 or df > _CLOSED_FORM_MAX_DF:
        return _interval_moments(a, b, df)
    # In blocks, so that the dozen temporaries per bound stay in cache.
    ew, ewz, ewz2 = np.empty_like(a), np.empty_like(a), np.empty_like(a)
    for start in range(0, a.size, _BLOCK):
        block = slice(start, start + _BLOCK)
        ew[block], ewz[block], ewz2[block] = _even_interval_moments(a[block], b[block], df)
    return ew, ewz, ewz2


def _even_interval_moments(
    a: FloatArray, b: FloatArray, df: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The closed forms of ``_interval_moments`` for even ``df``, from one square root per bound.

    With ``c = df / (df + z^2)`` and ``x = z / sqrt(df + z^2)``, both CDFs (``t_df`` at ``z`` and
    ``t_{df+2}`` at ``k z``) are ``1/2 + x/2 * sum_j a_j c^j`` with the same ``x``, ``c`` and
    coefficients (``df/2`` and ``df/2 + 1`` terms), and the antiderivative ``g`` at ``k z`` is a
    constant times ``c^((df+1)/2)``. Bounds with a finite ``|z| >= 8`` (where the series loses
    relative accuracy in the lower tail) and intervals without usable mass go to the general
    path.
    """
    half = int(df) // 2
    n = df + 2.0
    k = np.sqrt(n / df)
    coefficients = [1.0]
    for j in range(1, half + 1):
        coefficients.append(coefficients[-1] * (2 * j - 1) / (2 * j))
    density = np.exp(special.gammaln((n + 1) / 2) - special.gammaln(n / 2)) / np.sqrt(n * np.pi)
    g_const = -n / (n - 1.0) * density * np.sqrt(df)
    c_far = df / (df + _CLOSED_FORM_MAX_Z**2)

    def bound(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        # Clipping at 1e10 makes an infinite bound exact: x = +-1 and c ~ 4e-20.
        zc = np.clip(z, -1e10, 1e10)
        r2 = zc * zc
        r2 += df
        root = np.sqrt(r2)
        c = np.divide(df, r2, out=r2)
        if half == 1:
            total = np.ones_like(c)
            power = c.copy()
        else:
            total = c * coefficients[half - 1]
            total += coefficients[half - 2]
            for coefficient in reversed(coefficients[: half - 2]):
                total *= c
                total += coefficient
            power = c * c
            for _ in range(half - 2):
                power *= c
        x = zc / root
        cdf = x * total
        # One more term of the same series gives the t_{df+2} CDF.
        total += coefficients[half] * power
        cdf_w = np.multiply(x, total, out=total)
        power /= root
        g = np.multiply(power, g_const, out=power)
        return cdf, cdf_w, g, np.multiply(zc, g, out=zc), c

    cdf_a, cdf_w_a, g_a, zg_a, c_a = bound(a)
    cdf_b, cdf_w_b, g_b, zg_b, c_b = bound(b)
    prob = cdf_b - cdf_a
    prob *= 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        ew = cdf_w_b - cdf_w_a
        ew *= 0.5
        ew /= prob
        ewz = g_b - g_a
        ewz /= k * prob
        # (df / n) [y g(y)] at y = k z.
        ewz2 = zg_b - zg_a
        ewz2 *= k * df / n
        ewz2 /= prob
        ewz2 += 1.0
    general = (
        (prob < 1e-300) | ((c_a <= c_far) & np.isfinite(a)) | ((c_b <= c_far) & np.isfinite(b))
    )
    if general.any():
        ew[general], ewz[general], ewz2[general] = _interval_moments(a[general], b[general], df)
    return ew, ewz, ewz2


def _interval_moments(
    a: FloatArray, b: FloatArray, df: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = df + 2.0
    k = np.sqrt(n / df)
    prob = t_interval_prob(a, b, df)
    mass_w = t_interval_prob(k * a, k * b, n)
    # Beyond |y| = 1e6 the terms below are < 1e-20 of a unit mass: clipping makes infinite
    # bounds contribute nothing without special cases.
    ya = np.clip(k * a, -_FAR_Y, _FAR_Y)
    yb = np.clip(k * b, -_FAR_Y, _FAR_Y)
    ga = -(n + ya * ya) / (n - 1) * np.exp(log_t_pdf(ya, n))
    gb = -(n + yb * yb) / (n - 1) * np.exp(log_t_pdf(yb, n))
    first = (gb - ga) / k
    second = (df / n) * (yb * gb - ya * ga) + prob
    tiny = prob < 1e-300
    safe = np.where(tiny, 1.0, prob)
    ew, ewz, ewz2 = mass_w / safe, first / safe, second / safe
    if tiny.any():
        # Far in a tail the interval carries no usable mass: a point at its nearer bound.
        near = np.where(np.abs(a) < np.abs(b), a, b)[tiny]
        zp = np.where(np.isfinite(near), near, 0.0)
        wp = (df + 1) / (df + zp * zp)
        ew[tiny], ewz[tiny], ewz2[tiny] = wp, wp * zp, wp * zp * zp
    return ew, ewz, ewz2


def location_score(
    za: FloatArray, zb: FloatArray, scale: FloatArray, df: float
) -> tuple[FloatArray, FloatArray]:
    """First derivative and negative second derivative of the log-likelihood in the location.

    For residual intervals standardised by ``scale`` (points where ``za == zb``). These give
    the robust ("sandwich") information about an outlet's bias.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        z2 = za * za
        grad = (df + 1) * za / ((df + z2) * scale)
        curv = (df + 1) * (df - z2) / ((df + z2) ** 2 * scale * scale)
    interval = za != zb
    if interval.any():
        a, b, s = za[interval], zb[interval], np.broadcast_to(scale, za.shape)[interval]
        prob = t_interval_prob(a, b, df)

        def dens(z: FloatArray) -> FloatArray:
            finite = np.isfinite(z)
            zf = np.where(finite, z, 0.0)
            return np.where(finite, np.exp(log_t_pdf(zf, df)), 0.0)

        def slope(z: FloatArray) -> FloatArray:
            finite = np.isfinite(z)
            zf = np.where(finite, z, 0.0)
            return np.where(finite, -dens(z) * (df + 1) * zf / (df + zf * zf), 0.0)

        tiny = prob < 1e-300
        safe = np.where(tiny, 1.0, prob)
        first = -(dens(b) - dens(a)) / s / safe
        second = (slope(b) - slope(a)) / (s * s) / safe
        near = np.where(np.abs(a) < np.abs(b), a, b)
        zp = np.where(np.isfinite(near), near, 0.0)
        g_point = (df + 1) * zp / ((df + zp * zp) * s)
        c_point = (df + 1) * (df - zp * zp) / ((df + zp * zp) ** 2 * s * s)
        grad[interval] = np.where(tiny, g_point, first)
        curv[interval] = np.where(tiny, c_point, first * first - second)
    return grad, curv
