"""The synthetic generator: reproducible, planted distributions right, files loadable."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reliability import exitcodes
from reliability.cli import main
from reliability.dataset import load_dataset
from reliability.frames import CONSENSUS, OUTLETS, QUANTITY_KEY, REPORTS
from reliability.records import FigureKind
from reliability.synth import SynthData, generate, preset, write

KEYS = list(QUANTITY_KEY)


@pytest.fixture(scope="module")
def core() -> SynthData:
    return generate(preset("core", n_outlets=1000, n_events=20000, n_reports=200000, seed=11))


@pytest.fixture(scope="module")
def full() -> SynthData:
    return generate(preset("full", n_outlets=400, n_events=5000, n_reports=60000, seed=5))


def joined(data: SynthData) -> pl.DataFrame:
    """Reports with their per-report truth, the quantity's truth and the outlet's truth."""
    return (
        data.reports.join(data.truth_reports, on="report_id")
        .join(data.truth_events, on=KEYS, nulls_equal=True)
        .join(data.truth_outlets, on=["outlet", "metric"], suffix="_outlet")
    )


def test_same_seed_same_data_different_seed_different_data() -> None:
    config = preset("full", n_outlets=60, n_events=300, n_reports=3000, seed=4)
    a, b = generate(config), generate(config)
    for name in ("reports", "consensus", "outlets", "truth_outlets", "truth_events"):
        assert getattr(a, name).equals(getattr(b, name)), name
    other = generate(preset("full", n_outlets=60, n_events=300, n_reports=3000, seed=5))
    assert not a.reports.equals(other.reports)
    assert not a.truth_outlets.equals(other.truth_outlets)


def test_outlet_biases_match_group_means_and_spread() -> None:
    data = generate(preset("core", n_outlets=40000, n_events=1000, n_reports=40000, seed=1))
    by_group = data.truth_outlets.group_by("group").agg(
        pl.col("bias").mean().alias("mean"), pl.col("bias").std().alias("sd"), pl.len()
    )
    for row in by_group.iter_rows(named=True):
        mu, tau = data.truth.mu[row["group"]], data.truth.tau[row["group"]]
        assert row["len"] > 7000
        assert abs(row["mean"] - mu) < 4 * tau / math.sqrt(row["len"])
        assert row["sd"] == pytest.approx(tau, rel=0.05)


def test_sigma_squared_is_scaled_inverse_chi_squared() -> None:
    data = generate(preset("core", n_outlets=20000, n_events=1000, n_reports=20000, seed=2))
    s = pl.Series([data.truth.s[g] for g in data.truth_outlets["group"]]).to_numpy()
    chi2 = data.truth.nu0 * s**2 / data.truth_outlets["sigma"].to_numpy() ** 2
    assert stats.kstest(chi2, stats.chi2(data.truth.nu0).cdf).pvalue > 0.001


def test_figure_kind_shares(core: SynthData) -> None:
    shares = core.reports["kind"].value_counts(normalize=True)
    share = dict(zip(shares["kind"], shares["proportion"], strict=True))
    # Offered thresholds the figure does not reach leave the report exact.
    assert 0.05 < share["at_least"] < 0.1
    # A bin holding a single whole number is an exact figure, so ranges fall a little short.
    assert 0.04 < share["range"] <= 0.05 + 0.004
    assert set(share) == {"exact", "at_least", "range"}
    exact = core.reports.filter(pl.col("kind") == "exact")
    assert (exact["value"] == exact["low"]).all()
    assert (exact["value"] == exact["high"]).all()
    at_least = core.reports.filter(pl.col("kind") == "at_least")
    assert at_least["value"].is_null().all()
    assert at_least["high"].is_infinite().all()
    rows = joined(core).filter(pl.col("kind") == "at_least")
    assert (rows["low"] <= rows["y"]).all()
    significant = rows["low"].cast(pl.Int64).cast(pl.String).str.strip_chars_end("0")
    assert (significant.str.len_chars() <= 2).all()
    ranges = joined(core).filter(pl.col("kind") == "range")
    assert ((ranges["low"] <= ranges["y"]) & (ranges["y"] <= ranges["high"])).all()
    width = ranges["high"].log1p() - ranges["low"].log1p()
    assert (width < np.log(1.6)).all()


def test_censoring_does_not_depend_on_the_reported_figure(core: SynthData) -> None:
    """Thresholds come from the true size, so they never exceed 1.2 times it."""
    rows = joined(core).filter(pl.col("kind") == "at_least")
    truth = np.expm1(rows["f_true"].to_numpy())
    assert (rows["low"].to_numpy() <= np.maximum(1.2 * truth, 1.0) + 1e-9).all()
    above = rows["y"].to_numpy() > 1.5 * np.maximum(truth, 1.0)
    # Reports far above the truth still get thresholds near the truth, not near their figure.
    assert above.any()
    assert (rows["low"].to_numpy()[above] < rows["y"].to_numpy()[above] / 1.25).all()


def test_reports_per_outlet_are_heavy_tailed_and_every_quantity_is_reported() -> None:
    data = generate(preset("core", n_outlets=2000, n_events=2000, n_reports=10000, seed=3))
    per_outlet = data.truth_outlets["n_reports"]
    assert per_outlet.min() >= 1  # type: ignore[operator]
    assert per_outlet.median() <= 5  # type: ignore[operator]
    assert per_outlet.max() >= 200  # type: ignore[operator]
    per_event = data.truth_events["n_reports"]
    assert per_event.min() == 1
    assert per_event.max() >= 30  # type: ignore[operator]
    assert per_event.sum() == data.reports.height == 10000


def test_no_outlet_reports_a_quantity_twice(core: SynthData) -> None:
    assert core.reports.select([*KEYS, "outlet"]).is_duplicated().sum() == 0
    counts = core.reports.group_by("outlet").len()
    truth = core.truth_outlets.join(counts, on="outlet")
    assert (truth["n_reports"] == truth["len"]).all()


def test_reported_figures_decompose_into_the_planted_terms(core: SynthData) -> None:
    rows = joined(core)
    own = rows.filter(~pl.col("copied"))
    terms = (
        pl.col("f_true")
        + pl.col("bias")
        + pl.col("stratum_effect")
        + pl.col("lag_effect")
        + pl.col("u")
        + pl.col("drift_effect")
        + pl.col("noise")
    )
    assert own.select((pl.col("x") - terms).abs().max()).item() < 1e-9
    clean = own.filter(pl.col("gross_power") == 0)
    rounded = clean.select(pl.col("x").exp().sub(1).round().clip(lower_bound=0.0)).to_series()
    assert (rounded == clean["y"]).all()

    # For exact, uncensored, non-gross counts large enough that rounding is negligible,
    # f(y) - f(T) - b - u is the noise, whose scale is sigma (a t_4 scale, not an sd).
    exact = clean.filter((pl.col("kind") == "exact") & (pl.col("true") >= 50))
    z = exact.select(
        (pl.col("value").log1p() - pl.col("f_true") - pl.col("bias") - pl.col("u"))
        / pl.col("sigma")
    ).to_series()
    t4 = stats.t(4)
    iqr = float(np.subtract(*np.quantile(z.to_numpy(), [0.75, 0.25])))
    assert exact.height > 20000
    assert iqr == pytest.approx(t4.ppf(0.75) - t4.ppf(0.25), rel=0.05)


def test_gross_errors_scale_by_powers_of_ten() -> None:
    data = generate(
        preset("core", n_outlets=200, n_events=3000, n_reports=20000, p_gross=0.1, seed=8)
    )
    rows = joined(data)
    gross = rows.filter(pl.col("gross_power") != 0)
    assert gross.height / rows.height == pytest.approx(0.1, abs=0.01)
    assert set(gross["gross_power"].unique()) == {-3, -2, -1, 1, 2, 3}
    clean = gross.select(pl.col("x").exp().sub(1).round().clip(lower_bound=0.0)).to_series()
    expected = (clean * 10.0 ** gross["gross_power"].cast(pl.Float64)).round()
    assert (expected == gross["y"]).all()


def test_consensus_shares_and_values() -> None:
    data = generate(
        preset(
            "core",
            n_outlets=200,
            n_events=20000,
            n_reports=40000,
            p_consensus=0.5,
            p_consensus_range=0.2,
            seed=9,
        )
    )
    assert data.consensus.height / 20000 == pytest.approx(0.5, abs=0.02)
    settled = data.consensus.join(data.truth_events, on=KEYS, nulls_equal=True)
    exact = settled.filter(pl.col("kind") == "exact")
    assert (exact["value"] == exact["true"]).all()
    ranges = settled.filter(pl.col("kind") == "range")
    assert ranges.height / settled.height == pytest.approx(0.2, abs=0.03)
    assert ranges["value"].is_null().all()
    assert (ranges["low"] == (0.9 * ranges["true"]).round(9).floor()).all()
    assert (ranges["high"] == (1.1 * ranges["true"]).round(9).ceil()).all()
    assert (
        ranges.filter(pl.col("true") == 10)["high"].to_list()
        == [11.0] * ranges.filter(pl.col("true") == 10).height
    )
    assert (settled["consensus"] == settled["kind"]).all()


def test_extensions_off_in_core(core: SynthData) -> None:
    assert core.reports["stratum"].is_null().all()
    assert core.reports["cites"].is_null().all()
    assert (core.truth_reports["lag_effect"] == 0).all()
    assert (core.truth_reports["stratum_effect"] == 0).all()
    assert (core.truth_reports["drift_effect"] == 0).all()
    assert (core.truth_outlets["drift"] == 0).all()
    assert core.truth_outlets["drift_at"].is_null().all()
    assert not any(c.startswith("bias_") for c in core.truth_outlets.columns)
    assert core.reports["metric"].unique().to_list() == ["killed"]
    assert core.truth.drift_at is None


def test_extensions_on_in_full(full: SynthData) -> None:
    config = full.truth.config
    rows = joined(full)
    assert set(full.reports["stratum"].unique()) == {"side_a", "side_b"}

    own = rows.filter(~pl.col("copied"))
    expected_lag = -0.3 * (-own["lag_days"] / 2.0).exp()
    killed = own["metric"] == "killed"
    assert np.allclose(own["lag_effect"].filter(killed), expected_lag.filter(killed))
    early = own.filter(killed & (pl.col("lag_days") < 1))
    assert early["lag_effect"].mean() < -0.2  # type: ignore[operator]

    militant = full.truth_outlets.filter(
        (pl.col("group") == "militant") & (pl.col("metric") == "killed")
    )
    partisan = (militant["bias_side_b"] - militant["bias_side_a"]).mean()
    assert partisan == pytest.approx(0.5, abs=4 * config.tau_s * math.sqrt(2 / militant.height))
    others = full.truth_outlets.filter(
        (pl.col("group") != "militant") & (pl.col("metric") == "killed")
    )
    neutral = others.select((pl.col("bias_side_b") - pl.col("bias_side_a")).mean()).item()
    assert abs(neutral) < 0.05

    drifting = full.truth_outlets.filter((pl.col("drift") != 0) & (pl.col("metric") == "killed"))
    assert drifting.height == math.ceil(0.02 * config.n_outlets)
    assert set(drifting["drift"].abs().round(9)) == {0.3}
    assert full.truth.drift_at is not None
    late = own.filter(pl.col("drift_effect") != 0)
    assert late.height > 0
    assert (late["published_at"] >= full.truth.drift_at).all()
    assert set(late["outlet"]) <= set(drifting["outlet"])

    assert (rows["cites"].is_not_null() == rows["copied"]).all()
    citing = full.reports.filter(pl.col("cites").is_not_null())
    assert 0.03 < citing.height / rows.height < 0.05
    sources = citing.join(
        full.reports, left_on=[*KEYS, "cites"], right_on=[*KEYS, "outlet"], nulls_equal=True
    )
    assert sources.height == citing.height
    assert (sources["published_at"] > sources["published_at_right"]).all()
    for column in ("low", "high", "kind"):
        assert (sources[column] == sources[f"{column}_right"]).all()

    margin = full.reports.filter(pl.col("metric") == "margin")
    assert (margin["kind"] == "exact").all()
    assert (margin["value"] < 0).any()
    assert (margin["value"] != margin["value"].round()).any()


def test_written_files_conform_and_load_back_unchanged(tmp_path: Path, full: SynthData) -> None:
    paths = write(full, tmp_path, name="synthetic")
    assert sorted(p.name for p in paths) == sorted(
        [
            "reports.parquet",
            "consensus.parquet",
            "outlets.parquet",
            "truth_outlets.parquet",
            "truth_events.parquet",
            "truth_reports.parquet",
            "truth.json",
            "dataset.toml",
        ]
    )
    for name, schema in (("reports", REPORTS), ("consensus", CONSENSUS), ("outlets", OUTLETS)):
        assert pl.read_parquet(tmp_path / f"{name}.parquet").schema == pl.Schema(schema), name
    assert set(full.reports["kind"].unique()) <= {k.value for k in FigureKind}
    assert set(full.reports["outlet"]) <= set(full.outlets["outlet"])

    dataset = load_dataset(tmp_path / "dataset.toml")
    assert dataset.name == "synthetic"
    assert {k: str(v) for k, v in dataset.scales.items()} == {"killed": "log", "margin": "linear"}
    loaded = dataset.reports.sort("report_id")
    assert loaded.select(list(REPORTS)).equals(full.reports.sort("report_id"))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_outlets=st.integers(1, 40),
    n_events=st.integers(1, 60),
    extra=st.integers(0, 300),
    name=st.sampled_from(["core", "full"]),
)
def test_any_small_config_keeps_counts_and_distinct_pairs(
    seed: int, n_outlets: int, n_events: int, extra: int, name: str
) -> None:
    quantities = n_events * (4 if name == "full" else 1)
    n_reports = max(n_outlets, quantities) + extra
    try:
        config = preset(
            name, n_outlets=n_outlets, n_events=n_events, n_reports=n_reports, seed=seed
        )
        data = generate(config)
    except ValueError as error:
        refusal = str(error)
    else:
        refusal = ""
    if refusal:
        # Only configs too dense for distinct pairs under the per-item cap may fail, and the
        # refusal must state numbers that really exceed that cap.
        found = re.search(r"cannot place (\d+) reports: at most (\d+) per \w+ over (\d+)", refusal)
        assert found is not None, refusal
        total, cap, items = (int(g) for g in found.groups())
        assert total == n_reports
        assert total > cap * items
        return
    assert data.reports.height == n_reports
    assert data.reports.select([*KEYS, "outlet"]).is_duplicated().sum() == 0
    assert data.reports["outlet"].n_unique() == n_outlets
    assert (data.truth_events["n_reports"] >= 1).all()


def test_invalid_configs_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match=r"p_consensus"):
        preset("core", p_consensus=1.5)
    with pytest.raises(ValueError, match="p_at_least \\+ p_range"):
        generate(preset("core", p_at_least=0.7, p_range=0.5))
    with pytest.raises(ValueError, match="unknown preset 'fancy'"):
        preset("fancy")
    with pytest.raises(ValueError, match="at least n_outlets"):
        preset("core", n_outlets=100, n_events=10, n_reports=50)
    with pytest.raises(ValueError, match="partisan"):
        preset("core", partisan=[{"group": "nobody", "stratum": "x", "shift": 1.0}])


def test_cli_writes_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth"
    argv = ["synth", "--outlets", "30", "--events", "200", "--reports", "1500", "--seed", "7"]
    code = main(
        [*argv, "--preset", "full", "--p-consensus", "0.5", "--nu", "inf", "--out", str(out)]
    )
    assert code == exitcodes.OK
    printed = capsys.readouterr().out
    assert "reports.parquet" in printed
    assert "1,500 rows" in printed
    truth = (out / "truth.json").read_text()
    assert '"nu": null' in truth
    assert '"p_consensus": 0.5' in truth
    assert pl.read_parquet(out / "reports.parquet").height == 1500

    assert main([*argv, "--p-gross", "3", "--out", str(out)]) == exitcodes.USAGE
    assert "p_gross" in capsys.readouterr().err
    code = main(["synth", "--outlets", "50", "--reports", "10", "--out", str(out)])
    assert code == exitcodes.USAGE


def test_cli_help_shows_an_example() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reliability.cli", "synth", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "reliability synth --outlets" in result.stdout
