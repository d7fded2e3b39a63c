"""The compiled grid posterior behind :mod:`reliability.fusion`, for any number of events.

One kernel serves a single request and a batch of a million events alike: it walks the events
of reports sorted by event, and for each builds the grid, the report log-likelihoods, the
convolution with the shared-error normal, the prior, the posterior and its summaries. Working
in scalars inside one compiled loop removes the temporaries and per-call overhead that
dominated the numpy version at a few hundred cells per event.

The Student-t CDF of censored claims is the finite series for even ``df <= 8`` (the default 4)
inside ``|z| < 8``, and the regularised incomplete beta function (continued fraction) elsewhere
and for every other ``df``, so any positive ``df`` is exact, the default the fastest.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from reliability.jit import kernel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: How far beyond a claim, in its predictive scales, its likelihood can still matter.
REACH_SDS = 8.0
#: The locating pass keeps the range between these posterior tail quantiles.
TAIL_MASS = 1e-9
#: The full grid must put this many cells within the sharpest likelihood's scale.
CELLS_PER_SCALE = 8.0
#: Points of the pass that only locates the posterior mass before the full grid.
LOCATE_CELLS = 64
#: The series CDF loses relative accuracy in the lower tail beyond this ``|z|``.
SERIES_MAX_Z = 8.0
SERIES_MAX_DF = 8
#: The Gaussian smoothing kernel is cut where it falls below exp(-32) of its centre.
SMOOTH_REACH_SDS = 8.0
_TINY = 1e-300
_BLOCK = 8
_CF_EPS = 1e-16
_CF_ITERATIONS = 400


@kernel
def fuse_sorted(
    starts: IntArray,
    lo: FloatArray,
    hi: FloatArray,
    scale: FloatArray,
    prior_of: IntArray,
    prior_logd: FloatArray,
    prior_len: IntArray,
    prior_bounds: FloatArray,
    truth: FloatArray,
    levels: FloatArray,
    df: float,
    event_sd: FloatArray,
    grid_size: int,
    log_scale: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Fuse events whose bias-corrected claims ``[lo, hi]`` are rows ``starts[e]:starts[e+1]``.

    ``event_sd[e]`` is event ``e``'s shared-error sd (events of different periods differ).
    ``prior_logd[k, :prior_len[k]]`` tabulates prior ``k``'s log density on an even grid from
    ``prior_bounds[k, 0]`` to ``prior_bounds[k, 1]``.
    Returns the model-scale quantiles at ``levels`` (one row per event), the natural-scale mean,
    the posterior CDF at ``truth`` (nan where unknown) and each report's share.
    """
    n_events = starts.size - 1
    quantiles = np.empty((n_events, levels.size))
    mean = np.empty(n_events)
    pit = np.empty(n_events)
    weights = np.empty(lo.size)
    coeffs = series_coefficients(df)
    log_beta = math.lgamma(df / 2) + math.lgamma(0.5) - math.lgamma(df / 2 + 0.5)
    pdf_const = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    most = 0
    for e in range(n_events):
        most = max(most, starts[e + 1] - starts[e])
    loglik = np.empty((most, grid_size))
    grid = np.empty(grid_size)
    post = np.empty(grid_size)
    cdf = np.empty(grid_size)
    work = np.empty(grid_size)
    tails = np.array([TAIL_MASS, 1 - TAIL_MASS])
    bounds = np.empty(2)
    for e in range(n_events):
        a, b = starts[e], starts[e + 1]
        k = prior_of[e]
        logd = prior_logd[k, : prior_len[k]]
        p_lo, p_hi = prior_bounds[k, 0], prior_bounds[k, 1]
        lower, upper = _event_range(lo[a:b], hi[a:b], scale[a:b], p_lo, p_hi, event_sd[e])
        sharpest = scale[a:b].min() / math.sqrt(b - a)
        if (upper - lower) / (grid_size - 1) > sharpest / CELLS_PER_SCALE:
            # The full grid would not resolve the sharpest likelihood over the whole range: a
            # coarse pass locates the mass, and the full grid goes where it lies.
            g = min(LOCATE_CELLS, grid_size)
            _posterior(
                lower, upper, g, lo[a:b], hi[a:b], scale[a:b], df, coeffs, log_beta, pdf_const,
                event_sd[e], logd, p_lo, p_hi, grid, loglik, post, work,
            )  # fmt: skip
            _mid_cdf(post, g, cdf)
            _quantiles(grid, cdf, g, tails, bounds)
            step = grid[1] - grid[0]
            lower = max(lower, bounds[0] - 2 * step)
            upper = min(upper, bounds[1] + 2 * step)
        g = grid_size
        _posterior(
            lower, upper, g, lo[a:b], hi[a:b], scale[a:b], df, coeffs, log_beta, pdf_const,
            event_sd[e], logd, p_lo, p_hi, grid, loglik, post, work,
        )  # fmt: skip
        _mid_cdf(post, g, cdf)
        _quantiles(grid, cdf, g, levels, quantiles[e])
        total = 0.0
        for j in range(g):
            total += post[j] * (math.expm1(grid[j]) if log_scale else grid[j])
        mean[e] = total
        pit[e] = _cdf_at(grid, cdf, g, truth[e])
        _shares(grid, loglik, post, lo[a:b], hi[a:b], scale[a:b], df, g, weights[a:b])
    return quantiles, mean, pit, weights


@kernel
def series_coefficients(df: float) -> FloatArray:
    """Coefficients of the even-``df`` series of the t CDF; empty where it does not apply."""
    if df % 2 != 0 or df > SERIES_MAX_DF:
        return np.empty(0)
    half = int(df) // 2
    out = np.empty(half)
    out[0] = 1.0
    for j in range(1, half):
        out[j] = out[j - 1] * (2 * j - 1) / (2 * j)
    return out


@kernel
def _event_range(
    lo: FloatArray,
    hi: FloatArray,
    scale: FloatArray,
    p_lo: float,
    p_hi: float,
    event_sd: float,
) -> tuple[float, float]:
    """Where one event's posterior can lie: within reach of every claim, inside the prior."""
    lower, upper = math.inf, -math.inf
    open_lo = open_hi = True
    for i in range(lo.size):
        reach = REACH_SDS * scale[i]
        a_known, b_known = math.isfinite(lo[i]), math.isfinite(hi[i])
        open_lo = open_lo and not a_known
        open_hi = open_hi and not b_known
        end = lo[i] if a_known else (hi[i] if b_known else -math.inf)
        lower = min(lower, end - reach)
        end = hi[i] if b_known else (lo[i] if a_known else math.inf)
        upper = max(upper, end + reach)
    lower -= 4 * event_sd
    upper += 4 * event_sd
    # An event known only through one-sided claims is bounded on its open side by the prior.
    if open_lo or not math.isfinite(lower):
        lower = p_lo
    if open_hi or not math.isfinite(upper):
        upper = p_hi
    lower = min(max(lower, p_lo), p_hi)
    upper = min(max(upper, p_lo), p_hi)
    if upper - lower <= 1e-9:
        return p_lo, p_hi
    return lower, upper


@kernel
def _posterior(
    lower: float,
    upper: float,
    g: int,
    lo: FloatArray,
    hi: FloatArray,
    scale: FloatArray,
    df: float,
    coeffs: FloatArray,
    log_beta: float,
    pdf_const: float,
    event_sd: float,
    logd: FloatArray,
    p_lo: float,
    p_hi: float,
    grid: FloatArray,
    loglik: FloatArray,
    post: FloatArray,
    work: FloatArray,
) -> None:
    """Fill ``grid[:g]``, ``post[:g]`` and the log-likelihood rows ``loglik[i, :g]`` of the
    interval claims (a point claim's information has a closed form, see :func:`_shares`)."""
    step = (upper - lower) / (g - 1)
    for j in range(g):
        grid[j] = lower + j * step
    grid[g - 1] = upper
    inv_df = 1.0 / df
    # Point claims: sum_i log(1 + z_i^2 / df) as the log of products over blocks of claims,
    # one logarithm per cell and block instead of one per claim and cell. A block's product
    # stays finite while every |z| < 1e19: z is a distance within the grid in units of a
    # claim's scale, and the grid spans a few of the widest scales around the claims.
    offsets = 0.0
    for j in range(g):
        work[j] = 0.0
    in_block = 0
    for i in range(lo.size):
        if lo[i] != hi[i]:
            continue
        if in_block == 0:
            for j in range(g):
                post[j] = 1.0
        inv = 1.0 / scale[i]
        offsets += pdf_const - math.log(scale[i])
        x = lo[i]
        for j in range(g):
            z = (x - grid[j]) * inv
            post[j] *= 1.0 + z * z * inv_df
        in_block += 1
        if in_block == _BLOCK:
            for j in range(g):
                work[j] += math.log(post[j])
            in_block = 0
    if in_block:
        for j in range(g):
            work[j] += math.log(post[j])
    power = -(df + 1) / 2
    for j in range(g):
        work[j] = offsets + power * work[j]
    for i in range(lo.size):
        if lo[i] == hi[i]:
            continue
        inv = 1.0 / scale[i]
        for j in range(g):
            za = (lo[i] - grid[j]) * inv
            zb = (hi[i] - grid[j]) * inv
            value = _log_interval_prob(za, zb, df, coeffs, log_beta)
            loglik[i, j] = value
            work[j] += value
    top = -math.inf
    for j in range(g):
        top = max(top, work[j])
    for j in range(g):
        work[j] = math.exp(work[j] - top)
    if event_sd > 0:
        _smooth(work, g, event_sd / step, post)
        for j in range(g):
            work[j] = post[j]
    # Cells wider than the prior's table take the prior's mass over the cell, not its density
    # at the centre: a whole count's narrow spike would otherwise count fully or not at all.
    coarse = step > (p_hi - p_lo) / (logd.size - 1)
    top = -math.inf
    for j in range(g):
        value = math.log(work[j]) if work[j] > 0 else -math.inf
        if coarse:
            value += _log_prior_mass(grid[j], step, logd, p_lo, p_hi)
        else:
            value += _log_prior(grid[j], logd, p_lo, p_hi)
        post[j] = value
        top = max(top, value)
    total = 0.0
    for j in range(g):
        post[j] = math.exp(post[j] - top)
        total += post[j]
    for j in range(g):
        post[j] /= total


@kernel
def _smooth(rows: FloatArray, g: int, sd_cells: float, out: FloatArray) -> None:
    """``rows[:g]`` convolved with a normal of ``sd_cells`` cells (zero beyond the grid)."""
    reach = min(g - 1, math.ceil(SMOOTH_REACH_SDS * sd_cells))
    norm = 1.0
    for k in range(1, reach + 1):
        norm += 2 * math.exp(-0.5 * (k / sd_cells) ** 2)
    centre = 1.0 / norm
    for j in range(g):
        out[j] = rows[j] * centre
    # One tap at a time over the whole grid: contiguous loops the compiler vectorises.
    for k in range(1, reach + 1):
        tap = math.exp(-0.5 * (k / sd_cells) ** 2) / norm
        for j in range(g - k):
            out[j] += tap * rows[j + k]
            out[j + k] += tap * rows[j]


@kernel
def _log_prior(x: float, logd: FloatArray, p_lo: float, p_hi: float) -> float:
    """The tabulated prior's log density at ``x`` by linear interpolation; -inf outside."""
    if not (p_lo <= x <= p_hi):
        return -math.inf
    last = logd.size - 1
    pos = min((x - p_lo) / (p_hi - p_lo) * last, float(last))
    k = min(int(pos), last - 1)
    frac = pos - k
    left: float = logd[k]
    right: float = logd[k + 1]
    return left + frac * (right - left) if frac > 0 else left


@kernel
def _log_prior_mass(x: float, step: float, logd: FloatArray, p_lo: float, p_hi: float) -> float:
    """log of the prior's mass over the cell ``x +- step / 2`` per unit length, the density
    linear between table points; -inf outside. Summed cell by cell of the table rather than as
    a difference of the cumulative mass, which would lose the far tails to rounding."""
    last = logd.size - 1
    width = (p_hi - p_lo) / last
    start = (max(x - step / 2, p_lo) - p_lo) / width
    stop = (min(x + step / 2, p_hi) - p_lo) / width
    mass = 0.0
    k = min(int(start), last - 1)
    while k < last and k < stop:
        lo = max(start - k, 0.0)
        hi = min(stop - k, 1.0)
        left = math.exp(logd[k])
        right = math.exp(logd[k + 1])
        mass += width * ((hi - lo) * left + 0.5 * (right - left) * (hi * hi - lo * lo))
        k += 1
    return math.log(mass / step) if mass > 0 else -math.inf


@kernel
def _log_interval_prob(
    za: float, zb: float, df: float, coeffs: FloatArray, log_beta: float
) -> float:
    """log P(za <= Z <= zb) for Z ~ t(df), from the nearer tail for accuracy."""
    if za > 0:
        p = t_cdf(-za, df, coeffs, log_beta) - t_cdf(-zb, df, coeffs, log_beta)
    else:
        p = t_cdf(zb, df, coeffs, log_beta) - t_cdf(za, df, coeffs, log_beta)
    return math.log(p) if p > 0 else -math.inf


@kernel
def t_cdf(z: float, df: float, coeffs: FloatArray, log_beta: float) -> float:
    """CDF of the standard Student-t; ``coeffs`` from :func:`series_coefficients`,
    ``log_beta`` the log of B(df/2, 1/2)."""
    if z == math.inf:
        return 1.0
    if z == -math.inf:
        return 0.0
    r2 = z * z + df
    if coeffs.size > 0 and abs(z) < SERIES_MAX_Z:
        c = df / r2
        total: float = coeffs[coeffs.size - 1]
        for k in range(coeffs.size - 2, -1, -1):
            total = total * c + coeffs[k]
        return 0.5 + 0.5 * (z / math.sqrt(r2)) * total
    tail = 0.5 * _incomplete_beta(df / 2, 0.5, df / r2, z * z / r2, log_beta)
    return tail if z < 0 else 1.0 - tail


@kernel
def _incomplete_beta(a: float, b: float, x: float, y: float, log_beta: float) -> float:
    """Regularised incomplete beta I_x(a, b), with ``y = 1 - x`` given to full precision."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(a * math.log(x) + b * math.log(y) - log_beta)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


@kernel
def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function, by Lentz's method."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _CF_ITERATIONS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _CF_EPS:
            break
    return h


@kernel
def _mid_cdf(post: FloatArray, g: int, cdf: FloatArray) -> None:
    """The posterior CDF at each cell's centre: the mass below it plus half its own."""
    total = 0.0
    for j in range(g):
        total += post[j]
        cdf[j] = total - post[j] / 2


@kernel
def _quantiles(grid: FloatArray, cdf: FloatArray, g: int, qs: FloatArray, out: FloatArray) -> None:
    """Quantiles ``qs`` (increasing) by linear interpolation of the mid-cell CDF."""
    k = 1
    for n in range(qs.size):
        q = qs[n]
        while k < g - 1 and cdf[k] < q:
            k += 1
        c0, c1 = cdf[k - 1], cdf[k]
        frac = min(max((q - c0) / (c1 - c0 if c1 > c0 else 1.0), 0.0), 1.0)
        out[n] = grid[k - 1] + frac * (grid[k] - grid[k - 1])


@kernel
def _cdf_at(grid: FloatArray, cdf: FloatArray, g: int, x: float) -> float:
    """The posterior CDF at ``x`` (nan for an unknown ``x``)."""
    if math.isnan(x):
        return math.nan
    if x < grid[0]:
        return 0.0
    if x > grid[g - 1]:
        return 1.0
    pos = min((x - grid[0]) / (grid[1] - grid[0]), g - 1.0)
    k = int(pos)
    k1 = min(k + 1, g - 1)
    frac = pos - k
    value: float = cdf[k] * (1 - frac) + cdf[k1] * frac
    return value


@kernel
def _shares(
    grid: FloatArray,
    loglik: FloatArray,
    post: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    scale: FloatArray,
    df: float,
    g: int,
    out: FloatArray,
) -> None:
    """Each report's share of the posterior-expected observed information.

    The information is the negative second derivative of the report's log-likelihood in the
    true value: in closed form for a point claim, by central differences of its grid row for
    an interval claim.
    """
    n = lo.size
    if n == 1:
        out[0] = 1.0
        return
    step = grid[1] - grid[0]
    total = 0.0
    for i in range(n):
        info = 0.0
        if lo[i] == hi[i]:
            inv = 1.0 / scale[i]
            for j in range(1, g - 1):
                z = (lo[i] - grid[j]) * inv
                r2 = df + z * z
                info += post[j] * (df + 1) * (df - z * z) / (r2 * r2)
            info *= inv * inv
        else:
            for j in range(1, g - 1):
                curvature = -(loglik[i, j + 1] - 2 * loglik[i, j] + loglik[i, j - 1]) / (
                    step * step
                )
                if math.isfinite(curvature):
                    info += post[j] * curvature
        out[i] = max(info, 0.0)
        total += out[i]
    for i in range(n):
        out[i] = out[i] / total if total > 0 else 1.0 / n
