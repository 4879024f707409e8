"""One run, one context: the as-of date fixed once (by the schedule's tick or the run's start),
one confidence level everywhere, and estimators found in one registry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from dagster import build_schedule_context
from scipy import stats

from pipelines.defs.schedule import business_timezone, nightly_schedule
from roi_ledger.effects import estimate_effects
from roi_ledger.effects.registry import (
    comparison_methods,
    estimator,
    estimators,
    methods_frame,
    unregister,
)
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.run_context import last_complete_day, resolve_run_context
from tests.test_effects import register, weekly

LONDON = ZoneInfo("Europe/London")
REGISTER = "business: {name: T, currency: EUR, timezone: %s}\n"


def test_the_last_complete_day_is_yesterday_where_the_business_is():
    assert last_complete_day(datetime(2026, 12, 2, 2, 0, tzinfo=LONDON), "Europe/London") == date(2026, 12, 1)
    # 03:30 UTC is still the evening before in California
    assert last_complete_day(datetime(2026, 7, 1, 3, 30, tzinfo=UTC), "America/Los_Angeles") == date(2026, 6, 29)
    # the night the clocks go forward
    assert last_complete_day(datetime(2026, 3, 29, 2, 30, tzinfo=UTC), "Europe/London") == date(2026, 3, 28)
    with pytest.raises(ValueError):
        last_complete_day(datetime(2026, 12, 2, 2, 0), "Europe/London")


def test_a_run_without_a_date_measures_as_of_the_day_before_it_started(tmp_path):
    config = tmp_path / "initiatives.yml"
    config.write_text(REGISTER % "Europe/London")
    started = datetime(2026, 12, 1, 23, 59, 59, tzinfo=LONDON)
    context = resolve_run_context(config, tmp_path, as_of=None, started_at=started)
    assert context.as_of == date(2026, 11, 30)
    assert resolve_run_context(config, tmp_path, as_of=date(2026, 1, 5), started_at=started).as_of == date(2026, 1, 5)
    assert context.confidence_level == 0.95 and len(context.register_sha256) == 64


@pytest.fixture
def code_location(tmp_path, monkeypatch):
    config = tmp_path / "initiatives.yml"
    config.write_text(REGISTER % "Asia/Tokyo")
    monkeypatch.setenv("ROI_CONFIG", str(config))
    monkeypatch.setenv("ROI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    return tmp_path


def test_the_schedule_ticks_in_the_registers_timezone(code_location):
    assert business_timezone() == "Asia/Tokyo"
    assert nightly_schedule(business_timezone()).execution_timezone == "Asia/Tokyo"


def test_a_stale_roi_as_of_in_the_daemons_environment_does_not_freeze_the_nightly_date(code_location, monkeypatch):
    monkeypatch.setenv("ROI_AS_OF", "2020-01-01")
    schedule = nightly_schedule("Asia/Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    dates = []
    for night in (datetime(2026, 12, 2, 2, 0, tzinfo=tokyo), datetime(2026, 12, 3, 2, 0, tzinfo=tokyo)):
        request = schedule(build_schedule_context(scheduled_execution_time=night))
        config = request.run_config["resources"]["run"]["config"]
        assert config["warehouse_path"] == str(code_location / "warehouse.duckdb")
        dates.append(config["as_of"])
    assert dates == ["2026-12-01", "2026-12-02"]


def test_the_schedule_skips_when_the_code_location_names_no_business(monkeypatch):
    for variable in ("ROI_CONFIG", "ROI_DATA_DIR", "ROI_WAREHOUSE"):
        monkeypatch.delenv(variable, raising=False)
    assert business_timezone() == "UTC"
    result = nightly_schedule("UTC")(
        build_schedule_context(scheduled_execution_time=datetime(2026, 12, 2, 2, tzinfo=UTC))
    )
    assert "ROI_DATA_DIR" in result.skip_message


# --- one confidence level -----------------------------------------------------------------


def two_unit_values() -> dict[str, list[float]]:
    rng = np.random.default_rng(5)
    return {
        "a": list(np.r_[[10.0] * 10, [8.5], [7.0] * 11] + rng.normal(0, 0.3, 22)),
        "b": list(np.r_[[20.0] * 11, [19.0] * 11] + rng.normal(0, 0.3, 22)),
    }


def test_the_business_confidence_level_sets_every_interval():
    series = weekly(two_unit_values())
    at_95 = estimate_effects(register(), series)
    business = register().business.model_copy(update={"confidence_level": 0.8})
    at_80 = estimate_effects(register().model_copy(update={"business": business}), series)
    assert set(at_95["confidence_level"]) == {0.95} and set(at_80["confidence_level"]) == {0.8}
    for method in ("did", "its", "before_after"):
        wide = at_95.filter(pl.col("method") == method).row(0, named=True)
        narrow = at_80.filter(pl.col("method") == method).row(0, named=True)
        assert narrow["effect_abs"] == pytest.approx(wide["effect_abs"])
        ratio = (narrow["ci_high"] - narrow["ci_low"]) / (wide["ci_high"] - wide["ci_low"])
        # t intervals: the half-width scales with the quantile (df as the inference names it)
        if method != "before_after":
            df = int(wide["inference"].split("t with ")[1].split(" df")[0])
            assert ratio == pytest.approx(stats.t.ppf(0.9, df) / stats.t.ppf(0.975, df), rel=1e-9)
        else:
            assert ratio < 1


def test_a_confidence_level_outside_the_sensible_range_is_refused():
    from roi_ledger.register import RegisterError, parse_register

    with pytest.raises(RegisterError, match="confidence_level"):
        parse_register("business: {name: T, currency: EUR, timezone: UTC, confidence_level: 1.5}\n", "test.yml")


# --- adding an estimator is one module ----------------------------------------------------


def test_a_toy_estimator_registered_in_one_place_is_run_published_and_judged():
    @estimator("toy_mean_shift", preference=5, uses_comparison_units=True)
    def estimate_toy(panel, confidence):
        """The treated units' after mean minus the comparison units' (a toy)."""
        treated, control = panel.treated, panel.control
        effect = float(
            treated.filter(pl.col("window") == "post")["value"].mean()
            - control.filter(pl.col("window") == "post")["value"].mean()
        )
        return EffectEstimate(
            initiative_id=panel.initiative.id,
            metric=panel.metric,
            method="ignored: the registry names it",
            period=panel.period,
            pre_periods=1,
            post_periods=1,
            baseline_value=None,
            observed_value=None,
            counterfactual_value=None,
            effect_abs=effect,
            ci_low=effect - 1,
            ci_high=effect + 1,
            p_value=None,
            n_treated_units=1,
            n_control_units=1,
            inference="toy",
        )

    try:
        effects = estimate_effects(register(), weekly(two_unit_values()))
        toy = effects.filter(pl.col("method") == "toy_mean_shift")
        assert toy.height == 1 and toy["is_primary"][0]  # most preferred, with an interval
        assert "toy_mean_shift" in comparison_methods()  # the comparison checks judge it
        assert methods_frame()["method"][0] == "toy_mean_shift"  # dbt's tests accept it
        assert estimators()[0].description.startswith("The treated units' after mean")
    finally:
        unregister("toy_mean_shift")
    assert "toy_mean_shift" not in methods_frame()["method"].to_list()


def test_two_estimators_cannot_share_a_method_name():
    with pytest.raises(ValueError, match="two estimators"):
        estimator("did", preference=1, uses_comparison_units=True)(lambda panel, confidence: None)
