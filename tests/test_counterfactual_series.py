"""The counterfactual series of a primary estimate, checked by hand on a two-unit panel."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import polars as pl
import pytest

from roi_ledger.effects.panel import Panel
from roi_ledger.effects.series import panel_series


def test_comparison_is_shifted_by_the_pre_gap_and_the_counterfactual_removes_the_effect():
    weeks = [date(2024, 1, 1) + timedelta(weeks=w) for w in range(4)]
    windows = ["pre", "pre", "post", "post"]
    rows = [
        {
            "unit_id": unit,
            "period_start": week,
            "period_end": week + timedelta(days=7),
            "value": value,
            "level": value,
            "volume": 1,
            "role": role,
            "window": window,
            "go_live": date(2024, 1, 15),
        }
        for unit, role, values in (("T", "treated", [10, 12, 7, 8]), ("C", "control", [5, 6, 6, 7]))
        for week, window, value in zip(weeks, windows, values)
    ]
    panel = Panel(initiative=SimpleNamespace(id="labels"), metric="m", period="week", frame=pl.DataFrame(rows))
    # by hand: pre gap = mean(10-5, 12-6) = 5.5; DiD = (7.5 - 11) - (6.5 - 5.5) = -4.5, say [-6, -3]
    out = panel_series(panel, "did", -4.5, -6.0, -3.0)
    series = {name: out.filter(pl.col("series") == name) for name in ("treated", "comparison", "counterfactual")}
    assert series["treated"]["value"].to_list() == [10, 12, 7, 8]
    assert series["comparison"]["value"].to_list() == pytest.approx([10.5, 11.5, 11.5, 12.5])
    cf = series["counterfactual"]
    assert cf["period_start"].to_list() == weeks[2:] and cf["value"].to_list() == pytest.approx([11.5, 12.5])
    assert cf["value_low"].to_list() == pytest.approx([10.0, 11.0]) and cf["value_high"].to_list() == pytest.approx(
        [13.0, 14.0]
    )
    assert set(out["stage"]) == {"pre", "post"} and set(out["initiative_id"]) == {"labels"}


def test_without_comparison_units_there_is_no_comparison_series():
    rows = [
        {
            "unit_id": "T",
            "period_start": date(2024, 1, 1) + timedelta(weeks=w),
            "period_end": date(2024, 1, 8) + timedelta(weeks=w),
            "value": float(w),
            "level": float(w),
            "volume": 1,
            "role": "treated",
            "window": "pre" if w < 2 else "post",
            "go_live": date(2024, 1, 15),
        }
        for w in range(4)
    ]
    panel = Panel(initiative=SimpleNamespace(id="its"), metric="m", period="week", frame=pl.DataFrame(rows))
    out = panel_series(panel, "its", 1.0, None, None)
    assert set(out["series"]) == {"treated", "counterfactual"}
    assert out.filter(pl.col("series") == "counterfactual")["value_low"].null_count() == 2
