"""The coverage benchmark's bookkeeping: which truth each published number is judged against."""

import importlib.util
from pathlib import Path

import polars as pl
import pytest

_SPEC = importlib.util.spec_from_file_location(
    "coverage_benchmark", Path(__file__).parents[1] / "benchmarks" / "coverage.py"
)
coverage = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(coverage)

TRUTH = pl.DataFrame(
    {
        "initiative_id": ["checks", "rota", "app", "joint:rota+app", "app", "widget"],
        "metric": ["errors", "hours", "hours", "hours", "satisfaction", "revenue"],
        "true_effect_abs": [-0.02, -0.02, -0.015, -0.035, 0.4, 0.0],
        "true_benefit": [3000.0, 2300.0, 1700.0, 4000.0, None, 0.0],
    }
)
MONEY = pl.DataFrame(
    {
        "initiative_id": ["checks", "rota", "app", "app", "widget"],
        "metric": ["errors", "hours", "hours", "satisfaction", "revenue"],
        "counted": [True, True, True, False, True],
        "benefit": [2500.0, 2000.0, 1500.0, None, 900.0],
        "benefit_low": [2000.0, 1500.0, 1100.0, None, -400.0],
        "benefit_high": [2900.0, 2500.0, 1900.0, None, 2200.0],
    }
)


def test_benefits_are_judged_per_planted_row_and_jointly_for_shared_claims():
    judged = {row["initiative_id"]: row for row in coverage.benefits_vs_truth(MONEY, TRUTH).iter_rows(named=True)}
    # The two shares of one joint benefit are judged together, never alone; metrics without
    # money (satisfaction) are not judged.
    assert set(judged) == {"checks", "joint:rota+app", "widget"}
    joint = judged["joint:rota+app"]
    assert (joint["benefit"], joint["benefit_low"], joint["benefit_high"]) == (3500.0, 2600.0, 4400.0)
    assert joint["covers"]  # 2600 <= 4000 <= 4400
    assert not judged["checks"]["covers"]  # 3000 is above 2900
    assert judged["widget"]["covers"]  # the trap's zero lies inside


def test_calibration_reports_coverage_error_and_standard_error():
    benefits = coverage.benefits_vs_truth(MONEY, TRUTH)
    row = coverage.benefit_calibration(benefits).filter(pl.col("initiative_id") == "checks").row(0, named=True)
    assert row["coverage"] == 0.0 and row["mean_error"] == -500.0
    assert row["mean_se"] == pytest.approx(900.0 / (2 * 1.96))
