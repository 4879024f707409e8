"""The report's charts: the counterfactual range draws as a band at every after-window length,
checked on the figure's data by hand and once in a real headless Chromium."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.io as pio
import polars as pl
import pytest

from roi_ledger.report.html import band_polygon, series_figure

MONDAY = date(2025, 1, 6)
WEEK = timedelta(days=7)


def counterfactual_rows(weeks: list[int], low: float = 9.0, high: float = 11.0) -> list[dict]:
    """Counterfactual rows for the given week numbers after MONDAY, the range [low, high] + week."""
    return [
        {
            "period_start": MONDAY + n * WEEK,
            "period_end": MONDAY + (n + 1) * WEEK,
            "series": "counterfactual",
            "stage": "post",
            "value": (low + high) / 2 + n,
            "value_low": float(low + n),
            "value_high": float(high + n),
        }
        for n in weeks
    ]


def series(pre: int, post_weeks: list[int]) -> pl.DataFrame:
    """An initiative's counterfactual_series rows: ``pre`` observed weeks, then its after weeks."""
    observed = [
        {
            "period_start": MONDAY + n * WEEK,
            "period_end": MONDAY + (n + 1) * WEEK,
            "series": "treated",
            "stage": "pre" if n < pre else "post",
            "value": 10.0 + n,
            "value_low": None,
            "value_high": None,
        }
        for n in range(pre + (max(post_weeks) + 1 - pre if post_weeks else 0))
    ]
    frame = pl.DataFrame(observed + counterfactual_rows(post_weeks), infer_schema_length=None)
    return frame.with_columns(initiative_id=pl.lit("i"), metric=pl.lit("m"), method=pl.lit("did"))


def test_one_week_after_go_live_draws_a_box_across_the_week():
    x, y = band_polygon(pl.DataFrame(counterfactual_rows([0])))
    start, end = MONDAY, MONDAY + WEEK
    assert x == [start, end, end, start] and y == [11.0, 11.0, 9.0, 9.0]


def test_six_weeks_draw_one_closed_band_high_ends_out_and_low_ends_back():
    x, y = band_polygon(pl.DataFrame(counterfactual_rows(list(range(6)))))
    starts = [MONDAY + n * WEEK for n in range(6)]
    last_end = MONDAY + 6 * WEEK
    assert x == [*starts, last_end, last_end, *starts[::-1]]
    assert y == [11, 12, 13, 14, 15, 16, 16, 14, 14, 13, 12, 11, 10, 9]


def test_a_phased_initiative_draws_one_band_per_stretch_of_consecutive_weeks():
    # weeks 0-2 after the first phase, weeks 5-6 after the second (3-4 were a ramp-up between them)
    x, y = band_polygon(pl.DataFrame(counterfactual_rows([5, 0, 1, 2, 6])))
    gap = x.index(None)
    first, second = x[:gap], x[gap + 1 :]
    assert first[0] == MONDAY and first[3] == MONDAY + 3 * WEEK and len(first) == 8
    assert second[0] == MONDAY + 5 * WEEK and second[2] == MONDAY + 7 * WEEK and len(second) == 6
    assert y[gap] is None and None not in x[gap + 1 :]


def test_weeks_without_an_interval_break_the_band_rather_than_close_it_through_nothing():
    rows = counterfactual_rows(list(range(4)))
    rows[2] = {**rows[2], "value_low": None, "value_high": None}
    x, _ = band_polygon(pl.DataFrame(rows))
    assert x.count(None) == 1 and len(x) == 4 + 1 + 6  # weeks 0-1 (6 points), week 3 (4 points)


@pytest.mark.parametrize("post", [1, 6, 156])
def test_the_band_trace_is_a_filled_area_without_markers(post):
    figure = series_figure(series(pre=20, post_weeks=list(range(20, 20 + post))), MONDAY + 20 * WEEK, "m")
    band = next(t for t in figure.data if t.name == "without it: range")
    assert band.fill == "toself" and band.mode == "lines"
    side = [v for v in band.x if v is not None][: post + 1]
    assert len(set(side)) >= 2  # a side runs along at least two dates: an area, not a line or dots


INITIATIVES = {
    "one week": series(pre=30, post_weeks=[30]),
    "six weeks (a festive widget)": series(pre=30, post_weeks=list(range(30, 36))),
    "three years": series(pre=60, post_weeks=list(range(60, 216))),
    "phased": series(pre=30, post_weeks=[30, 31, 32, 33, 38, 39, 40, 41, 42]),
}


def test_in_a_browser_every_band_is_a_drawn_area(browser, tmp_path):
    """Each initiative's band is a filled SVG path with a width and a height on the page."""
    parts = []
    for n, (name, frame) in enumerate(INITIATIVES.items()):
        go_live = frame.filter(pl.col("series") == "counterfactual")["period_start"].min()
        fragment = pio.to_html(series_figure(frame, go_live, name), full_html=False, include_plotlyjs=n == 0)
        parts.append(f'<figure data-chart="{name}">{fragment}</figure>')
    page = tmp_path / "charts.html"
    page.write_text(f"<!doctype html><html><body>{''.join(parts)}</body></html>", encoding="utf-8")
    tab = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        tab.goto(page.as_uri())
        tab.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(INITIATIVES)}")
        bands = tab.evaluate(
            """() => [...document.querySelectorAll('figure')].map(f => {
                   const fills = [...f.querySelectorAll('.scatterlayer .trace:first-child path.js-fill')];
                   const boxes = fills.map(p => p.getBBox()).filter(b => b.width > 0 && b.height > 0);
                   const d = fills.map(p => p.getAttribute('d') || '').join(' ');
                   return {chart: f.dataset.chart, areas: boxes.length,
                           width: Math.max(0, ...boxes.map(b => b.width)),
                           closed: (d.match(/Z/g) || []).length,
                           markers: f.querySelectorAll('.scatterlayer .trace:first-child .point').length};
               })"""
        )
    finally:
        tab.close()
    assert [b["chart"] for b in bands] == list(INITIATIVES)
    for band in bands:
        assert band["areas"] >= 1 and band["width"] > 5 and band["closed"] >= 1, band
        assert band["markers"] == 0, band  # no dots where the band is
    phased = next(b for b in bands if b["chart"] == "phased")
    assert phased["closed"] == 2, phased  # two stretches after go-live, two shapes
