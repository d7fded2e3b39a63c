"""Synthetic reports, consensus and outlets with planted, known parameters.

The generative model is the one the estimator assumes (``docs/synthetic.md`` states it with
formulas). Everything is drawn from one ``np.random.default_rng(seed)`` in a fixed order, so a
config reproduces its data exactly, and every draw is vectorised over outlets, quantities or
reports, so ten million reports take seconds.

>>> data = generate(preset("core", n_outlets=50, n_events=300, n_reports=2000, seed=1))
>>> data.reports.height, data.outlets.height
(2000, 50)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl

from reliability.frames import CONSENSUS, OUTLETS, REPORTS, conform
from reliability.records import FigureKind
from reliability.scales import Scale

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Positive = Annotated[float, msgspec.Meta(gt=0.0)]
Count = Annotated[int, msgspec.Meta(ge=1)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

DAY_US = 86_400_000_000
EPOCH = date(1970, 1, 1)
EPOCH_DAY = np.datetime64("1970-01-01", "D")
# Rewiring rounds shrink the repeated (outlet, quantity) pairs geometrically, slowly only when
# outlets cover much of the quantities; this many rounds without a new low means no progress.
REWIRE_PATIENCE = 1000
CITATION_DELAY_DAYS = 1.0

_KINDS = (FigureKind.EXACT, FigureKind.AT_LEAST, FigureKind.RANGE)
_EXACT, _AT_LEAST, _RANGE = 0, 1, 2


class GroupSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A kind of outlet: its mean bias ``mu``, between-outlet sd ``tau``, noise prior scale ``s``.

    ``share`` is the group's relative share of outlets.
    """

    name: Label
    mu: float
    tau: NonNegative
    s: Positive
    share: Positive = 1.0


class MetricSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A reported metric. ``f(T) ~ N(mean, sd^2)`` on the metric's scale.

    Bias, noise, event error, lag, stratum and drift parameters are given for a log-scale count
    and multiplied by ``unit`` for this metric.
    """

    name: Label
    scale: Scale
    mean: float
    sd: NonNegative
    unit: Positive = 1.0


class PartisanSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Outlets of ``group`` shift their figures for ``stratum`` by ``shift`` on the model scale."""

    group: Label
    stratum: Label
    shift: float


DEFAULT_GROUPS = (
    GroupSpec(name="monitor", mu=0.0, tau=0.1, s=0.15),
    GroupSpec(name="wire", mu=0.02, tau=0.1, s=0.2),
    GroupSpec(name="regional", mu=0.1, tau=0.1, s=0.3),
    GroupSpec(name="regime-aligned", mu=0.35, tau=0.1, s=0.4),
    GroupSpec(name="militant", mu=0.6, tau=0.1, s=0.5),
)
KILLED = MetricSpec(name="killed", scale=Scale.LOG, mean=2.5, sd=1.3)
MARGIN = MetricSpec(name="margin", scale=Scale.LINEAR, mean=0.0, sd=10.0, unit=10.0)


class SynthConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every knob of the generator; the defaults are the ``core`` preset.

    ``nu`` is the Student-t degrees of freedom of report noise (``None``: normal noise).
    A quantity is one (event, metric, stratum); ``n_reports`` must cover every outlet and
    every quantity at least once.
    """

    seed: int = 0
    n_outlets: Count = 200
    n_events: Count = 2000
    n_reports: Count = 10000
    groups: tuple[GroupSpec, ...] = DEFAULT_GROUPS
    metrics: tuple[MetricSpec, ...] = (KILLED,)
    nu0: Positive = 8.0
    nu: Positive | None = 4.0
    tau_u: NonNegative = 0.1
    #: sd of the period effect: an error shared by every report of the events of one calendar
    #: year (of ``event_date``); 0 draws none.
    tau_c: NonNegative = 0.0
    outlet_alpha: Positive = 1.1
    event_popularity_sd: NonNegative = 1.0
    p_gross: Probability = 0.005
    p_typo: Probability = 0.0
    p_at_least: Probability = 0.1
    p_range: Probability = 0.05
    start: date = date(2015, 1, 1)
    span_days: Count = 3650
    lag_mean: Positive = 4.0
    lag_amplitude: NonNegative = 0.0
    lag_scale: Positive = 2.0
    strata: tuple[Label, ...] = ()
    tau_s: NonNegative = 0.1
    partisan: tuple[PartisanSpec, ...] = ()
    p_drift: Probability = 0.0
    drift: float = 0.3
    p_cite: Probability = 0.0
    p_consensus: Probability = 1.0
    p_consensus_range: Probability = 0.0
    consensus_delay_days: NonNegative = 180.0

    @property
    def n_quantities(self) -> int:
        return self.n_events * len(self.metrics) * max(len(self.strata), 1)


PRESETS: dict[str, SynthConfig] = {
    "core": SynthConfig(),
    "full": SynthConfig(
        metrics=(KILLED, MARGIN),
        lag_amplitude=0.3,
        strata=("side_a", "side_b"),
        partisan=(PartisanSpec(group="militant", stratum="side_b", shift=0.5),),
        p_drift=0.02,
        p_cite=0.05,
        p_consensus=0.9,
        p_consensus_range=0.1,
    ),
}


class Truth(msgspec.Struct, frozen=True, kw_only=True):
    """The hyperparameters the data were drawn from, plus the full config that reproduces them."""

    mu: dict[str, float]
    tau: dict[str, float]
    s: dict[str, float]
    nu0: float
    nu: float | None
    tau_u: float
    tau_c: float
    lag_amplitude: float
    lag_scale: float
    tau_s: float
    drift_at: datetime | None
    config: SynthConfig


@dataclass(frozen=True)
class SynthData:
    """Canonical frames (``reliability.frames`` schemas) and the truth they were drawn from."""

    reports: pl.DataFrame
    consensus: pl.DataFrame
    outlets: pl.DataFrame
    truth_outlets: pl.DataFrame
    truth_events: pl.DataFrame
    truth_reports: pl.DataFrame
    truth: Truth


def preset(name: str, **overrides: Any) -> SynthConfig:
    """The named preset (``core`` or ``full``) with ``overrides`` applied and validated.

    >>> preset("full", p_cite=0.2).p_cite
    0.2
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    fields = msgspec.to_builtins(PRESETS[name], builtin_types=(date,))
    fields.update(msgspec.to_builtins(overrides, builtin_types=(date,)))
    try:
        config = msgspec.convert(fields, SynthConfig, strict=False)
    except msgspec.ValidationError as error:
        raise ValueError(f"invalid synth config: {error}") from error
    return validate(config)


def validate(config: SynthConfig) -> SynthConfig:
    """Check field ranges and cross-field consistency; raise ``ValueError`` naming the field."""
    try:
        msgspec.convert(msgspec.to_builtins(config, builtin_types=(date,)), SynthConfig)
    except msgspec.ValidationError as error:
        raise ValueError(f"invalid synth config: {error}") from error
    groups = [g.name for g in config.groups]
    problems = [
        f"{field} has repeated names"
        for field, names in (
            ("groups", groups),
            ("metrics", [m.name for m in config.metrics]),
            ("strata", list(config.strata)),
        )
        if len(set(names)) != len(names)
    ]
    if not groups:
        problems.append("groups is empty")
    if not config.metrics:
        problems.append("metrics is empty")
    problems += [
        f"partisan[{i}] names unknown group {p.group!r} or stratum {p.stratum!r}"
        for i, p in enumerate(config.partisan)
        if p.group not in groups or p.stratum not in config.strata
    ]
    if config.p_at_least + config.p_range > 1:
        problems.append("p_at_least + p_range exceeds 1")
    if config.n_reports < max(config.n_outlets, config.n_quantities):
        problems.append(
            f"n_reports ({config.n_reports}) must be at least n_outlets ({config.n_outlets}) "
            f"and the number of quantities ({config.n_quantities} = events x metrics x strata)"
        )
    if problems:
        raise ValueError("invalid synth config: " + "; ".join(problems))
    return config


@dataclass(frozen=True)
class _Outlets:
    group: IntArray  # (N,)
    bias: FloatArray  # (N, metrics)
    sigma: FloatArray  # (N, metrics)
    delta: FloatArray  # (N, metrics, strata): stratum bias, zero when strata are off
    drift: FloatArray  # (N, metrics): bias change at the midpoint of the span
    weight: FloatArray  # (N,): activity


@dataclass(frozen=True)
class _Quantities:
    event: IntArray
    metric: IntArray
    stratum: IntArray
    true: FloatArray  # natural units
    f_true: FloatArray  # model scale
    u: FloatArray
    event_day: IntArray  # days since 1970-01-01
    popularity: FloatArray
    period_effect: FloatArray  # the error shared by every quantity of the event's year


def generate(config: SynthConfig) -> SynthData:
    """Draw reports, consensus and outlets from the generative model of ``config``.

    >>> a = generate(preset("core", n_outlets=20, n_events=100, n_reports=500, seed=3))
    >>> b = generate(preset("core", n_outlets=20, n_events=100, n_reports=500, seed=3))
    >>> a.reports.equals(b.reports)
    True
    """
    config = validate(config)
    rng = np.random.default_rng(config.seed)
    outlets = _draw_outlets(rng, config)
    quantities = _draw_quantities(rng, config)
    outlet_counts = _capped_counts(
        rng, config.n_reports, outlets.weight, config.n_quantities, "outlet"
    )
    quantity_counts = _capped_counts(
        rng, config.n_reports, quantities.popularity, config.n_outlets, "quantity"
    )
    outlet, quantity = _assign(rng, outlet_counts, quantity_counts)
    draws = _draw_reports(rng, config, outlets, quantities, outlet, quantity, quantity_counts)
    return _frames(config, outlets, quantities, quantity_counts, draws, rng)


def _draw_outlets(rng: np.random.Generator, config: SynthConfig) -> _Outlets:
    n, n_metrics, n_strata = config.n_outlets, len(config.metrics), max(len(config.strata), 1)
    shares = np.array([g.share for g in config.groups])
    group = rng.choice(len(config.groups), size=n, p=shares / shares.sum()).astype(np.int64)
    mu, tau, s = (np.array([getattr(g, k) for g in config.groups]) for k in ("mu", "tau", "s"))
    unit = np.array([m.unit for m in config.metrics])
    bias = (mu[group, None] + tau[group, None] * rng.standard_normal((n, n_metrics))) * unit
    # sigma^2 ~ Scaled-Inv-chi^2(nu0, s^2) = nu0 s^2 / chi^2_nu0
    chi2 = rng.chisquare(config.nu0, size=(n, n_metrics))
    sigma = np.sqrt(config.nu0 * s[group, None] ** 2 / chi2) * unit
    delta = np.zeros((n, n_metrics, n_strata))
    if config.strata:
        shift = np.zeros((len(config.groups), n_strata))
        names = [g.name for g in config.groups]
        for p in config.partisan:
            shift[names.index(p.group), config.strata.index(p.stratum)] += p.shift
        noise = config.tau_s * rng.standard_normal((n, n_metrics, n_strata))
        delta = (noise + shift[group][:, None, :]) * unit[None, :, None]
    drift = np.zeros((n, n_metrics))
    if config.p_drift > 0:
        drifting = rng.choice(n, size=math.ceil(config.p_drift * n), replace=False)
        sign = rng.choice(np.array([-1.0, 1.0]), size=drifting.size)
        drift[drifting] = (sign * config.drift)[:, None] * unit
    weight = rng.pareto(config.outlet_alpha, size=n) + 1.0
    return _Outlets(group, bias, sigma, delta, drift, weight)


def _draw_quantities(rng: np.random.Generator, config: SynthConfig) -> _Quantities:
    n_metrics, n_strata = len(config.metrics), max(len(config.strata), 1)
    q = np.arange(config.n_quantities, dtype=np.int64)
    event, metric, stratum = q // (n_metrics * n_strata), (q // n_strata) % n_metrics, q % n_strata
    mean, sd, unit = (
        np.array([getattr(m, k) for m in config.metrics]) for k in ("mean", "sd", "unit")
    )
    is_count = np.array([m.scale.is_count for m in config.metrics])[metric]
    latent = mean[metric] + sd[metric] * rng.standard_normal(q.size)
    true, f_true = latent.copy(), latent.copy()
    true[is_count] = np.maximum(np.round(np.expm1(latent[is_count])), 0.0)
    f_true[is_count] = np.log1p(true[is_count])
    u = config.tau_u * unit[metric] * rng.standard_normal(q.size)
    first_day = (config.start - EPOCH).days
    event_day = first_day + rng.integers(0, config.span_days, size=config.n_events)
    popularity = rng.lognormal(0.0, config.event_popularity_sd, size=q.size)
    period_effect = np.zeros(q.size)
    # Drawn only when on, so configs without it keep their exact draws.
    if config.tau_c > 0:
        year = (EPOCH_DAY + event_day.astype("timedelta64[D]")).astype("datetime64[Y]")
        index = year.astype(np.int64) - int(year.min().astype(np.int64))
        effect = config.tau_c * rng.standard_normal(int(index.max()) + 1)
        period_effect = effect[index[event]] * unit[metric]
    return _Quantities(
        event, metric, stratum, true, f_true, u, event_day[event], popularity, period_effect
    )


def _capped_counts(
    rng: np.random.Generator, total: int, weight: FloatArray, partners: int, what: str
) -> IntArray:
    """One item each, the rest multinomial by ``weight``; items over a cap pass on their excess.

    Each item pairs with distinct ``partners``. The cap (a tenth of them, at least twice the
    mean count, at most half) leaves enough free partners to rewire repeated pairs quickly.
    """
    mean = -(-total // weight.size)
    cap = max(1, min(max(partners // 10, 2 * mean), partners // 2))
    if total > weight.size * cap:
        raise ValueError(
            f"cannot place {total} reports: at most {cap} per {what} over {weight.size} {what}s"
        )
    counts = np.ones(weight.size, dtype=np.int64)
    remaining, weight = total - weight.size, weight.copy()
    while remaining > 0:
        counts += rng.multinomial(remaining, weight / weight.sum())
        excess = np.maximum(counts - cap, 0)
        counts -= excess
        remaining = int(excess.sum())
        weight[counts >= cap] = 0.0
    return counts


def _occurrences(sorted_keys: IntArray, keys: IntArray) -> IntArray:
    """How often each of ``keys`` occurs in ``sorted_keys``."""
    # Sorted queries make the binary searches walk memory in order: far faster on big arrays.
    order = np.argsort(keys)
    queries = keys[order]
    found = np.searchsorted(sorted_keys, queries, side="right")
    counts = np.empty(keys.size, dtype=np.int64)
    counts[order] = found - np.searchsorted(sorted_keys, queries, side="left")
    return counts


def _assign(
    rng: np.random.Generator, outlet_counts: IntArray, quantity_counts: IntArray
) -> tuple[IntArray, IntArray]:
    """Pair report slots of outlets with report slots of quantities, no pair twice.

    A random matching (configuration model) keeps both count sequences exactly; repeated pairs
    are rewired by swapping their outlet with that of a random report, which keeps the counts.
    """
    n_outlets = outlet_counts.size
    quantity = np.repeat(np.arange(quantity_counts.size, dtype=np.int64), quantity_counts)
    outlet = rng.permutation(np.repeat(np.arange(n_outlets, dtype=np.int64), outlet_counts))
    # Keys ordered by quantity first are already sorted in blocks, which timsort exploits.
    keys = quantity * n_outlets + outlet
    order = np.argsort(keys, kind="stable")
    snapshot = keys[order]
    bad = order[1:][snapshot[1:] == snapshot[:-1]]
    # The current pairs are the snapshot minus the old keys of changed reports plus their new
    # keys, so each round counts a few keys instead of sorting every pair again. Only reports
    # changed in this round can have created a repeat, so only they are checked.
    changed = np.zeros(keys.size, dtype=np.bool_)
    fewest, stalled = bad.size, 0
    while bad.size > 0:
        fewest, stalled = (bad.size, 0) if bad.size < fewest else (fewest, stalled + 1)
        if stalled > REWIRE_PATIENCE:
            raise ValueError(
                f"could not give every outlet distinct quantities ({bad.size} repeated pairs "
                f"left): {keys.size} reports over {n_outlets} outlets x "
                f"{quantity_counts.size} quantities is too dense; add events or outlets"
            )
        partner = rng.integers(0, keys.size, size=bad.size)
        _, first = np.unique(partner, return_index=True)
        keep = np.zeros(bad.size, dtype=np.bool_)
        keep[first] = True
        keep &= ~np.isin(partner, bad)
        outlet[bad[keep]], outlet[partner[keep]] = outlet[partner[keep]], outlet[bad[keep]]
        touched = np.concatenate([bad, partner[keep]])
        changed[touched] = True
        index = np.flatnonzero(changed)
        current = quantity[touched] * n_outlets + outlet[touched]
        count = (
            _occurrences(snapshot, current)
            - _occurrences(np.sort(keys[index]), current)
            + _occurrences(np.sort(quantity[index] * n_outlets + outlet[index]), current)
        )
        bad = touched[count > 1]
    return outlet, quantity


@dataclass(frozen=True)
class _Reports:
    outlet: IntArray
    quantity: IntArray
    x: FloatArray
    y: FloatArray
    gross: npt.NDArray[np.int8]
    typo: BoolArray
    lag_days: FloatArray
    lag_effect: FloatArray
    stratum_effect: FloatArray
    drift_effect: FloatArray
    noise: FloatArray
    published_us: IntArray
    kind: npt.NDArray[np.int8]
    low: FloatArray
    high: FloatArray
    cited: IntArray  # index of the copied report, -1 if none


def _draw_reports(
    rng: np.random.Generator,
    config: SynthConfig,
    outlets: _Outlets,
    quantities: _Quantities,
    outlet: IntArray,
    quantity: IntArray,
    quantity_counts: IntArray,
) -> _Reports:
    n = outlet.size
    n_metrics, n_strata = len(config.metrics), max(len(config.strata), 1)
    metric = quantities.metric[quantity]
    cell = outlet * n_metrics + metric
    unit = np.array([m.unit for m in config.metrics])[metric]
    is_count = np.array([m.scale.is_count for m in config.metrics])[metric]

    lag_days = rng.exponential(config.lag_mean, size=n)
    lag_us = np.round(lag_days * DAY_US).astype(np.int64)
    published_us = quantities.event_day[quantity] * DAY_US + lag_us
    lag_effect = np.zeros(n)
    if config.lag_amplitude > 0:
        lag_effect = -config.lag_amplitude * unit * np.exp(-lag_days / config.lag_scale)
    stratum_effect = np.zeros(n)
    if config.strata:
        stratum = quantities.stratum[quantity]
        stratum_effect = outlets.delta.ravel()[cell * n_strata + stratum]
    drift_effect = np.zeros(n)
    if config.p_drift > 0:
        late = published_us >= _midpoint_us(config)
        drift_effect[late] = outlets.drift.ravel()[cell[late]]
    t = rng.standard_normal(n) if config.nu is None else rng.standard_t(config.nu, size=n)
    noise = outlets.sigma.ravel()[cell] * t
    x = (
        quantities.f_true[quantity]
        + outlets.bias.ravel()[cell]
        + stratum_effect
        + lag_effect
        + quantities.u[quantity]
        + quantities.period_effect[quantity]
        + drift_effect
        + noise
    )
    y = x.copy()
    y[is_count] = np.maximum(np.round(np.expm1(x[is_count])), 0.0)

    gross = np.zeros(n, dtype=np.int8)
    wrong = np.flatnonzero(rng.random(n) < config.p_gross)
    sign = rng.choice(np.array([-1, 1], dtype=np.int8), size=wrong.size)
    gross[wrong] = rng.integers(1, 4, size=wrong.size, dtype=np.int8) * sign
    scaled = y[wrong] * 10.0 ** gross[wrong].astype(np.float64)
    y[wrong] = np.where(is_count[wrong], np.round(scaled), scaled)
    typo = np.zeros(n, dtype=np.bool_)
    # Drawn only when on, so configs without typos keep their exact draws.
    if config.p_typo > 0:
        typo = is_count & (y >= 1) & (rng.random(n) < config.p_typo)
        y[typo] = _extra_digit(rng, y[typo])

    kind, low, high = _censor(rng, config, y, quantities.f_true[quantity], is_count)
    cited = _citations(rng, config.p_cite, quantity, quantity_counts)
    citing = np.flatnonzero(cited >= 0)
    source = cited[citing]
    for array in (x, y, kind, low, high):
        array[citing] = array[source]
    gross[citing] = gross[source]
    typo[citing] = typo[source]
    delay = np.round(rng.exponential(CITATION_DELAY_DAYS, size=citing.size) * DAY_US)
    published_us[citing] = published_us[source] + 1 + delay.astype(np.int64)
    return _Reports(
        outlet=outlet,
        quantity=quantity,
        x=x,
        y=y,
        gross=gross,
        typo=typo,
        lag_days=lag_days,
        lag_effect=lag_effect,
        stratum_effect=stratum_effect,
        drift_effect=drift_effect,
        noise=noise,
        published_us=published_us,
        kind=kind,
        low=low,
        high=high,
        cited=cited,
    )


def _extra_digit(rng: np.random.Generator, y: FloatArray) -> FloatArray:
    """Whole numbers >= 1 with one of their digits typed twice (123 -> 1123, 1223 or 1233)."""
    digits = np.floor(np.log10(y)).astype(np.int64) + 1
    place = 10.0 ** rng.integers(0, digits)
    head = np.floor(y / place)
    typed: FloatArray = head * place * 10 + (head % 10) * place + (y - head * place)
    return typed


def _censor(
    rng: np.random.Generator,
    config: SynthConfig,
    y: FloatArray,
    f_true: FloatArray,
    is_count: BoolArray,
) -> tuple[npt.NDArray[np.int8], FloatArray, FloatArray]:
    """Counts become "at least L" or ranges, by non-informative censoring.

    A threshold or a bin that depended on the report's own figure would make the censored
    likelihood (survival function, CDF difference) biased, so neither does: "at least L" uses a
    round threshold L drawn around the true size, and applies only when the figure reaches it
    (otherwise the report stays exact); a range is the bin that holds the figure in a grid of
    log-spaced bins with random width and offset.
    """
    n = y.size
    draw = rng.random(n)
    at_least = np.flatnonzero(is_count & (draw < config.p_at_least))
    ranged = np.flatnonzero(
        is_count & (draw >= config.p_at_least) & (draw < config.p_at_least + config.p_range)
    )
    kind = np.full(n, _EXACT, dtype=np.int8)
    low, high = y.copy(), y.copy()

    target = np.expm1(f_true[at_least]) * rng.uniform(0.3, 1.2, size=at_least.size)
    digits = rng.integers(1, 3, size=at_least.size)
    magnitude = np.floor(np.log10(np.maximum(target, 1.0)))
    step = np.maximum(10.0 ** (magnitude - (digits - 1)), 1.0)
    threshold = np.maximum(np.floor(target / step) * step, 1.0)
    reached = y[at_least] >= threshold
    censored = at_least[reached]
    kind[censored] = _AT_LEAST
    low[censored] = threshold[reached]
    high[censored] = np.inf

    width = np.log(rng.uniform(1.2, 1.6, size=ranged.size))
    offset = rng.uniform(0.0, 1.0, size=ranged.size) * width
    position = np.floor((np.log1p(y[ranged]) - offset) / width)
    lo_edge = np.expm1(offset + position * width)
    hi_edge = np.expm1(offset + (position + 1) * width)
    low[ranged] = np.maximum(np.ceil(lo_edge - 1e-9), 0.0)
    high[ranged] = np.ceil(hi_edge - 1e-9) - 1.0
    kind[ranged] = np.where(low[ranged] == high[ranged], _EXACT, _RANGE)
    return kind, low, high


def _citations(
    rng: np.random.Generator, p_cite: float, quantity: IntArray, quantity_counts: IntArray
) -> IntArray:
    """For each report the index of the report of the same quantity it copies, or -1.

    Reports are grouped by quantity. A report only copies one that copies nobody, so the
    realised share is a little below ``p_cite``.
    """
    cited = np.full(quantity.size, -1, dtype=np.int64)
    if p_cite == 0:
        return cited
    start = (np.cumsum(quantity_counts) - quantity_counts)[quantity]
    size = quantity_counts[quantity]
    citing = np.flatnonzero((rng.random(quantity.size) < p_cite) & (size >= 2))
    position = citing - start[citing]
    offset = rng.integers(0, size[citing] - 1)
    target = start[citing] + offset + (offset >= position)
    cited[citing] = target
    cited[citing[cited[target] >= 0]] = -1
    return cited


def _midpoint_us(config: SynthConfig) -> int:
    first_day = (config.start - EPOCH).days
    return (first_day * 2 + config.span_days) * DAY_US // 2


def _ids(prefix: str, n: int) -> pl.Series:
    digits = len(str(max(n - 1, 0)))
    numbers = pl.Series(np.arange(n, dtype=np.int64)).cast(pl.String).str.zfill(digits)
    return (prefix + numbers).alias(prefix)


def _frames(
    config: SynthConfig,
    outlets: _Outlets,
    quantities: _Quantities,
    quantity_counts: IntArray,
    reports: _Reports,
    rng: np.random.Generator,
) -> SynthData:
    outlet_ids = _ids("o", config.n_outlets)
    event_ids = _ids("e", config.n_events)
    metric_names = pl.Series([m.name for m in config.metrics])
    group_names = pl.Series([g.name for g in config.groups])
    stratum_names = pl.Series(list(config.strata) or [None], dtype=pl.String)
    kind_names = pl.Series([str(k) for k in _KINDS])
    q = reports.quantity
    copied = reports.cited >= 0

    def stamp(values: IntArray) -> pl.Series:
        return pl.Series(values).cast(pl.Datetime("us", "UTC"))

    def day(values: IntArray) -> pl.Series:
        return pl.Series(values.astype(np.int32)).cast(pl.Date)

    report_ids = _ids("r", q.size)
    frame = pl.DataFrame(
        {
            "report_id": report_ids,
            "event_id": event_ids.gather(quantities.event[q]),
            "outlet": outlet_ids.gather(reports.outlet),
            "metric": metric_names.gather(quantities.metric[q]),
            "stratum": stratum_names.gather(quantities.stratum[q]),
            "value": pl.Series(np.where(reports.kind == _EXACT, reports.y, np.nan)),
            "low": reports.low,
            "high": reports.high,
            "kind": kind_names.gather(reports.kind),
            "published_at": stamp(reports.published_us),
            "event_date": day(quantities.event_day[q]),
            "cites": outlet_ids.gather(np.where(copied, reports.outlet[reports.cited], 0)),
            "copied": copied,
        }
    ).with_columns(
        pl.col("value").fill_nan(None),
        pl.when(pl.col("copied")).then(pl.col("cites")).alias("cites"),
    )
    report_frame = conform(frame, REPORTS)

    has = rng.random(quantity_counts.size) < config.p_consensus
    ranged = has & (rng.random(quantity_counts.size) < config.p_consensus_range)
    true = quantities.true
    is_count = np.array([m.scale.is_count for m in config.metrics])[quantities.metric]
    # Rounded first so that 1.1 * 10 = 11.000000000000002 does not widen the range to 12.
    below, above = np.round(0.9 * true, 9), np.round(1.1 * true, 9)
    low = np.where(ranged, np.minimum(below, above), true)
    high = np.where(ranged, np.maximum(below, above), true)
    low = np.where(is_count, np.floor(low), low)
    high = np.where(is_count, np.ceil(high), high)
    ranged &= low < high
    kept = np.flatnonzero(has)
    delay_us = round(config.consensus_delay_days * DAY_US)
    consensus = conform(
        pl.DataFrame(
            {
                "event_id": event_ids.gather(quantities.event[kept]),
                "metric": metric_names.gather(quantities.metric[kept]),
                "stratum": stratum_names.gather(quantities.stratum[kept]),
                "value": pl.Series(np.where(ranged, np.nan, true)[kept]).fill_nan(None),
                "low": low[kept],
                "high": high[kept],
                "kind": np.where(ranged[kept], str(FigureKind.RANGE), str(FigureKind.EXACT)),
                "established_at": stamp(quantities.event_day[kept] * DAY_US + delay_us),
                "source": pl.Series(["synthetic truth"]).gather(np.zeros(kept.size, np.int64)),
            }
        ),
        CONSENSUS,
    )

    outlet_frame = conform(
        pl.DataFrame(
            {
                "outlet": outlet_ids,
                "name": "Synthetic outlet " + outlet_ids.str.slice(1),
                "group": group_names.gather(outlets.group),
                "aliases": pl.select(
                    pl.repeat(pl.lit([], pl.List(pl.String())), config.n_outlets)
                ).to_series(),
            }
        ),
        OUTLETS,
    )

    n_metrics = len(config.metrics)
    cell = reports.outlet * n_metrics + quantities.metric[q]
    n_cells = config.n_outlets * n_metrics
    # Sort-based: numpy's hash-based np.unique is far slower on ten million keys.
    pairs = np.sort(cell * config.n_events + quantities.event[q])
    cell_events = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] // config.n_events
    o_cell, m_cell = np.divmod(np.arange(n_cells), n_metrics)
    drift_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=_midpoint_us(config))
    nu = config.nu
    truth_outlets = pl.DataFrame(
        {
            "outlet": outlet_ids.gather(o_cell),
            "metric": metric_names.gather(m_cell),
            "group": group_names.gather(outlets.group[o_cell]),
            "bias": outlets.bias.ravel(),
            "sigma": outlets.sigma.ravel(),
            "sd": outlets.sigma.ravel() * (math.sqrt(nu / (nu - 2)) if nu and nu > 2 else np.nan),
            "n_reports": np.bincount(cell, minlength=n_cells),
            "n_events": np.bincount(cell_events, minlength=n_cells),
            "drift": outlets.drift.ravel(),
        }
    ).with_columns(
        pl.col("sd").fill_nan(None),
        pl.when(pl.col("drift") != 0)
        .then(pl.lit(drift_at, pl.Datetime("us", "UTC")))
        .alias("drift_at"),
        *(
            pl.Series(f"bias_{name}", (outlets.bias[:, :, None] + outlets.delta)[..., i].ravel())
            for i, name in enumerate(config.strata)
        ),
    )

    truth_events = (
        pl.DataFrame(
            {
                "event_id": event_ids.gather(quantities.event),
                "metric": metric_names.gather(quantities.metric),
                "stratum": stratum_names.gather(quantities.stratum),
                "event_date": day(quantities.event_day),
                "true": quantities.true,
                "f_true": quantities.f_true,
                "u": quantities.u,
                "n_reports": quantity_counts,
                "has_consensus": has,
                "consensus_range": ranged,
            }
        )
        .with_columns(
            pl.when(pl.col("has_consensus"))
            .then(
                pl.when(pl.col("consensus_range")).then(pl.lit("range")).otherwise(pl.lit("exact"))
            )
            .alias("consensus")
        )
        .drop("has_consensus", "consensus_range")
    )
    if config.tau_c > 0:
        truth_events = truth_events.with_columns(
            pl.Series("period_effect", quantities.period_effect)
        )

    truth_reports = pl.DataFrame(
        {
            "report_id": report_ids,
            "x": reports.x,
            "y": reports.y,
            "gross_power": reports.gross,
            "typo": reports.typo,
            "lag_days": (reports.published_us - quantities.event_day[q] * DAY_US) / DAY_US,
            "lag_effect": reports.lag_effect,
            "stratum_effect": reports.stratum_effect,
            "drift_effect": reports.drift_effect,
            "noise": reports.noise,
            "copied": copied,
        }
    ).with_columns(
        pl.when(~pl.col("copied")).then(pl.col(name)).alias(name)
        for name in ("lag_effect", "stratum_effect", "drift_effect", "noise")
    )

    by_group = {g.name: g for g in config.groups}
    truth = Truth(
        mu={k: g.mu for k, g in by_group.items()},
        tau={k: g.tau for k, g in by_group.items()},
        s={k: g.s for k, g in by_group.items()},
        nu0=config.nu0,
        nu=config.nu,
        tau_u=config.tau_u,
        tau_c=config.tau_c,
        lag_amplitude=config.lag_amplitude,
        lag_scale=config.lag_scale,
        tau_s=config.tau_s,
        drift_at=drift_at if config.p_drift > 0 else None,
        config=config,
    )
    return SynthData(
        report_frame, consensus, outlet_frame, truth_outlets, truth_events, truth_reports, truth
    )


def dataset_toml(config: SynthConfig, name: str) -> str:
    """The ``dataset.toml`` that points the batch job at the written files."""
    lines = [
        "[dataset]",
        f"name = {json.dumps(name)}",
        'reports = ["reports.parquet"]',
        'consensus = ["consensus.parquet"]',
        'outlets = "outlets.parquet"',
        "",
        "[scales]",
        *(f"{json.dumps(m.name)} = {json.dumps(str(m.scale))}" for m in config.metrics),
    ]
    return "\n".join(lines) + "\n"


def write(data: SynthData, out_dir: Path, name: str | None = None) -> list[Path]:
    """Write the frames as Parquet, ``truth.json`` and ``dataset.toml``; return the paths.

    >>> import tempfile
    >>> data = generate(preset("core", n_outlets=10, n_events=20, n_reports=100))
    >>> [p.name for p in write(data, Path(tempfile.mkdtemp()))][:2]
    ['reports.parquet', 'consensus.parquet']
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "reports": data.reports,
        "consensus": data.consensus,
        "outlets": data.outlets,
        "truth_outlets": data.truth_outlets,
        "truth_events": data.truth_events,
        "truth_reports": data.truth_reports,
    }
    # Files follow the data contract: an open bound is left empty, not written as infinity.
    frames["reports"] = data.reports.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in ("low", "high")
    )
    written = []
    for stem, frame in frames.items():
        path = out_dir / f"{stem}.parquet"
        frame.write_parquet(path)
        written.append(path)
    truth_path = out_dir / "truth.json"
    truth_path.write_bytes(msgspec.json.format(msgspec.json.encode(data.truth)) + b"\n")
    toml_path = out_dir / "dataset.toml"
    toml_path.write_text(
        dataset_toml(data.truth.config, name or f"synth-seed{data.truth.config.seed}")
    )
    return [*written, truth_path, toml_path]
