"""Generator extensions: typos plant an extra digit, and the presets' draws are unchanged."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest

from reliability.synth import generate, preset

# Digests of every frame of each preset (seed 4, small), first taken before the typo option
# existed; re-taken with floats rounded once the current code, under AVX2 (numpy's
# NPY_DISABLE_CPU_FEATURES="AVX512_ICL X86_V4"), still gave the first digests exactly.
PRESET_DIGESTS = {
    "core": [
        "6977e29cc0422a4e",
        "58d7a6e563cbe032",
        "a4ef6408afaca333",
        "a1c7a47a597bb385",
        "22abbbaa22827761",
        "0bbd67940250e874",
    ],
    "full": [
        "e8d160e5cb069ab6",
        "43a1c6022ae4c4ae",
        "a4ef6408afaca333",
        "dd1037b9ee5c92b9",
        "76acf7b358711a8f",
        "0186a823781e0c34",
    ],
}


def _digest(frame: pl.DataFrame) -> str:
    """A hash of the frame's values (numbers by their bytes, so no float formatting enters).

    Floats are rounded to 10 decimals first: numpy's SIMD paths for ``exp`` and ``log`` differ
    in the last bit between CPUs (AVX-512 against AVX2), and a draw is the same draw either way.
    """
    h = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        if column.dtype == pl.String:
            h.update("\x1f".join("" if v is None else v for v in column.to_list()).encode())
        elif column.dtype == pl.List(pl.String):
            h.update(repr(column.to_list()).encode())
        else:
            values = column.to_physical().fill_null(0).to_numpy()
            if values.dtype.kind == "f":
                values = np.round(values, 10) + 0.0
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(PRESET_DIGESTS))
def test_presets_draw_exactly_what_they_drew_before_the_extensions(name: str) -> None:
    data = generate(preset(name, n_outlets=60, n_events=300, n_reports=2000, seed=4))
    frames = (
        data.reports,
        data.consensus,
        data.outlets,
        data.truth_outlets,
        data.truth_events,
        data.truth_reports.drop("typo"),
    )
    assert [_digest(f) for f in frames] == PRESET_DIGESTS[name]
    assert not data.truth_reports["typo"].any()


def test_typos_repeat_one_digit_of_the_figure() -> None:
    data = generate(
        preset("core", n_outlets=200, n_events=3000, n_reports=20000, p_typo=0.05, seed=8)
    )
    rows = data.reports.join(data.truth_reports, on="report_id")
    clean = rows.select(pl.col("x").exp().sub(1).round().clip(lower_bound=0.0)).to_series()
    eligible = (clean >= 1) & (rows["gross_power"] == 0)
    typed = rows.filter(eligible & rows["typo"])
    assert typed.height / rows.filter(eligible).height == pytest.approx(0.05, abs=0.01)
    assert not rows.filter(clean < 1)["typo"].any()
    for before, after in zip(clean.filter(eligible & rows["typo"]), typed["y"], strict=True):
        digits = str(int(before))
        options = {int(digits[: i + 1] + digits[i:]) for i in range(len(digits))}
        assert int(after) in options
    # Untouched reports keep their figure.
    kept = rows.filter(eligible & ~rows["typo"])
    assert (kept["y"] == clean.filter(eligible & ~rows["typo"])).all()
