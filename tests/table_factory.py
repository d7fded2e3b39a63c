"""Hand-built score tables for tests of table handling (store, diff, report, commands)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from reliability.table import (
    SCHEMA_VERSION,
    Accuracy,
    CalibrationBin,
    EventPrior,
    GroupPrior,
    InputFingerprint,
    Interval,
    LagEffect,
    MetricDiagnostics,
    MetricParams,
    OutletScore,
    ScoreTable,
    StratumBias,
)

CREATED = datetime(2026, 11, 25, 12, 3, 5, tzinfo=UTC)


def interval(estimate: float, half: float) -> Interval:
    return Interval(estimate=estimate, lo90=estimate - half, hi90=estimate + half)


def outlet(
    name: str,
    metric: str = "killed",
    *,
    bias: float = 0.0,
    bias_half: float = 0.1,
    sd: float = 0.3,
    sd_half: float = 0.05,
    group: str | None = "wire",
    n_reports: int = 20,
    strata: list[StratumBias] | None = None,
) -> OutletScore:
    return OutletScore(
        outlet=name,
        metric=metric,
        group=group,
        n_reports=n_reports,
        n_events=n_reports,
        effective_n=n_reports * 0.8,
        bias=interval(bias, bias_half),
        bias_se=bias_half / 1.645,
        factor=Interval(
            estimate=float(np.exp(bias)),
            lo90=float(np.exp(bias - bias_half)),
            hi90=float(np.exp(bias + bias_half)),
        ),
        sd=interval(sd, sd_half),
        sd_dof=float(n_reports),
        weight=1.0 / sd**2,
        last_report_at=CREATED,
        cold_start=False,
        name=name.title(),
        aliases=[f"{name}-alias"],
        strata=strata or [],
    )


def metric_params(metric: str = "killed", *, lag: bool = True) -> MetricParams:
    days = [0.0, 1.0, 3.0, 7.0, 14.0]
    return MetricParams(
        metric=metric,
        scale="log",
        df=4.0,
        event_sd=1.5,
        global_bias=0.05,
        global_bias_se=0.02,
        between_group_sd=0.1,
        pooled_between_sd=0.2,
        sd_prior_dof=5.0,
        sd_prior_scale=0.3,
        typical_sd=0.3,
        n_reports=500,
        n_events=100,
        n_outlets=10,
        event_priors=[
            EventPrior(
                stratum=None,
                n_events=100,
                grid_start=0.0,
                grid_step=0.5,
                log_density=[-3.0, -2.0, -1.5, -2.0, -3.0],
            )
        ],
        lag=LagEffect(
            days=days,
            effect=[-0.2, -0.1, -0.05, 0.0, 0.0],
            lo90=[-0.3, -0.2, -0.1, -0.05, -0.05],
            hi90=[-0.1, 0.0, 0.0, 0.05, 0.05],
        )
        if lag
        else None,
    )


def diagnostics(metric: str = "killed", *, coverage90: float = 0.9) -> MetricDiagnostics:
    return MetricDiagnostics(
        metric=metric,
        folds=5,
        model=Accuracy(
            method="model", n_events=100, mae=0.2, rmse=0.3, coverage50=0.5, coverage90=coverage90
        ),
        baselines=[
            Accuracy(method="median", n_events=100, mae=0.35, rmse=0.5),
            Accuracy(method="mean", n_events=100, mae=0.4, rmse=0.6),
        ],
        by_n_reports=[
            CalibrationBin(
                min_reports=1, max_reports=1, n_events=40, coverage50=0.48, coverage90=0.88, mae=0.3
            ),
            CalibrationBin(
                min_reports=2,
                max_reports=5,
                n_events=60,
                coverage50=0.52,
                coverage90=0.91,
                mae=0.15,
            ),
        ],
        pit_histogram=[0.1] * 10,
    )


def make_table(
    outlets: list[OutletScore] | None = None,
    *,
    metrics: tuple[str, ...] = ("killed",),
    created_at: datetime = CREATED,
    coverage90: float = 0.9,
    lag: bool = True,
    version: str = "",
) -> ScoreTable:
    if outlets is None:
        outlets = [
            outlet("reuters", bias=0.05, sd=0.2),
            outlet("tass", bias=0.6, sd=0.5, group="state"),
            outlet(
                "kyiv-post",
                bias=-0.2,
                sd=0.35,
                group=None,
                strata=[
                    StratumBias(
                        stratum="civilians",
                        n_reports=8,
                        bias=interval(-0.3, 0.2),
                        bias_se=0.12,
                        factor=None,
                    ),
                    StratumBias(
                        stratum="military", n_reports=5, bias=interval(-0.1, 0.25), bias_se=0.15
                    ),
                ],
            ),
        ]
    return ScoreTable(
        schema_version=SCHEMA_VERSION,
        version=version,
        created_at=created_at,
        config={"df": 4.0, "cv_folds": 5},
        inputs=InputFingerprint(
            files=[],
            n_reports=500,
            n_consensus=100,
            n_outlets=len(outlets),
            first_report_at=CREATED,
            last_report_at=CREATED,
            digest="0" * 64,
        ),
        metrics=[metric_params(m, lag=lag) for m in metrics],
        groups=[
            GroupPrior(
                group="wire",
                metric="killed",
                n_outlets=1,
                bias_mean=0.05,
                bias_mean_se=0.05,
                between_sd=0.1,
                sd_prior_dof=6.0,
                sd_prior_scale=0.25,
            )
        ],
        outlets=outlets,
        diagnostics=[diagnostics(m, coverage90=coverage90) for m in metrics],
    )
