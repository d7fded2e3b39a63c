"""The self-contained HTML report: every chart present with one mark per datum, text escaped."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest

from reliability.htmlreport import FOREST_LIMIT, render_report
from tests.table_factory import make_table, outlet


class ChartCounter(HTMLParser):
    """Counts ``class="mark"`` elements inside each ``<svg data-chart=...>``."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: Counter[str] = Counter()
        self.charts: list[str] = []
        self.tags: Counter[str] = Counter()
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        values = dict(attrs)
        if tag == "svg":
            self._current = values["data-chart"]
            assert self._current is not None
            self.charts.append(self._current)
        elif values.get("class") == "mark":
            assert self._current is not None, f"mark outside a chart: {tag}"
            self.marks[self._current] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._current = None


def parse(page: str) -> ChartCounter:
    counter = ChartCounter()
    counter.feed(page)
    counter.close()
    return counter


def test_every_chart_has_one_mark_per_datum() -> None:
    page = parse(render_report(make_table(metrics=("killed", "injured"))))
    for metric in ("killed", "injured"):
        assert page.marks[f"forest-{metric}"] == (3 if metric == "killed" else 0)
        assert page.marks[f"coverage-{metric}"] == 2
        assert page.marks[f"pit-{metric}"] == 10
        assert page.marks[f"lag-{metric}"] == 5
    assert page.marks["scatter-killed"] == 3
    assert page.marks["strata-killed"] == 2
    assert page.tags["script"] == 0
    assert page.tags["img"] == 0
    assert page.tags["link"] == 0


def test_missing_lag_strata_and_diagnostics_are_said_in_words() -> None:
    table = msgspec.structs.replace(make_table([outlet("a")], lag=False), diagnostics=[])
    page = render_report(table)
    assert "No lag effect estimated." in page
    assert "Not cross-validated" in page
    assert "No outlet has per-stratum biases" in page
    charts = parse(page).charts
    assert charts == ["forest-killed", "scatter-killed"]


def test_forest_plot_is_capped_with_a_note() -> None:
    many = [outlet(f"o{i:03d}", n_reports=i + 1) for i in range(FOREST_LIMIT + 25)]
    page = render_report(make_table(many))
    assert parse(page).marks["forest-killed"] == FOREST_LIMIT
    assert parse(page).marks["scatter-killed"] == FOREST_LIMIT + 25
    assert (
        f"Showing the {FOREST_LIMIT} outlets with the most reports of {FOREST_LIMIT + 25}" in page
    )
    assert ">o064<" in page
    assert ">o000<" not in page


def test_text_is_escaped() -> None:
    evil = outlet("<script>alert(1)</script>", group="</svg><b>")
    page = render_report(make_table([evil], version='v"><i>'))
    parsed = parse(page)
    assert parsed.tags["script"] == 0
    assert parsed.tags["b"] == 0
    assert parsed.tags["i"] == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert parsed.marks["forest-killed"] == 1


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(make_table()), encoding="utf-8")
    png = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={png}",
            "--window-size=800,3000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
