"""Each trap built from scratch in a small synthetic business: its check fires and the grade is
not reliable; a clean business with a real effect passes every check and grades reliable."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats

from roi_ledger.catalogue import load_catalogue, metric_traits
from roi_ledger.claims import engine
from roi_ledger.claims.base import DECLARABLE_READS, METRIC_CHECKS, CheckClass, MetricClaim, claim_check
from roi_ledger.claims.engine import OWN_RESULT_KEY, OWN_RESULT_SCHEMA, own_result_fingerprints, run_claim_checks
from roi_ledger.claims.grading import GRADES, grade_claims, implied_grade
from roi_ledger.effects import estimate_effects
from roi_ledger.effects.panel import build_panel
from roi_ledger.incremental import KeptResults
from roi_ledger.register import parse_register

START = date(2023, 1, 2)  # a Monday
WEEKS = 120
GO_LIVE_WEEK = 70
METRIC = "order_error_rate"  # a rate: volume is the orders it rests on
UNITS = ["t1", "t2", "c1", "c2", "c3", "c4"]
TREATED = ["t1", "t2"]
CATALOGUE = load_catalogue()


class UndeclaredRead(Exception):
    pass


def guarded(claim: MetricClaim, declared: tuple[str, ...], undeclared_reads: list) -> MetricClaim:
    """``claim`` as a check that declared ``declared`` sees it: reading any other of the
    ``DECLARABLE_READS``, itself or through a method of the claim, is noted and raises."""

    def forbidden(name: str) -> property:
        def read(self):
            undeclared_reads.append(name)
            raise UndeclaredRead(name)

        return property(read)

    hidden = {name: forbidden(name) for name in DECLARABLE_READS if name not in declared}
    copy = object.__new__(type("GuardedClaim", (type(claim),), hidden))
    copy.__dict__.update(claim.__dict__)
    return copy


@pytest.fixture(autouse=True)
def checks_read_only_what_they_declare(monkeypatch):
    """Every test here runs each metric check on a claim where what it did not declare it reads
    (``claim_check(..., reads=...)``) cannot be read: a check's result is kept from night to
    night on what it declares, so an undeclared read would keep a result that is out of date."""
    undeclared: dict[str, list] = {}

    def guard(check):
        def run(claim):
            return check.run(guarded(claim, check.reads, undeclared.setdefault(check.check_id, [])))

        return replace(check, run=run)

    monkeypatch.setattr(engine, "METRIC_CHECKS", [guard(check) for check in METRIC_CHECKS])
    yield
    read = {check_id: sorted(set(names)) for check_id, names in undeclared.items() if names}
    assert not read, f"checks read what they do not declare: {read}"


def week(n: int) -> date:
    return START + timedelta(weeks=n)


def panel(
    *,
    effect: float = -0.02,
    noise: float = 0.002,
    seed: int = 1,
    weeks: int = WEEKS,
    treated_extra=None,
    shared_extra=None,
    volume: float = 200.0,
    treated_volume_after: float | None = None,
) -> pl.DataFrame:
    """Weekly error rates around 0.06 for every unit; treated units change by ``effect`` from
    go-live on. ``treated_extra(t)`` adds a pattern to the treated units (a trap),
    ``shared_extra(t)`` one to every unit."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    common = 0.004 * np.sin(2 * np.pi * t / 52)  # a season every unit shares
    rows = []
    for unit in UNITS:
        level = 0.06 + rng.normal(0, 0.003)
        values = level + common + rng.normal(0, noise, weeks)
        if shared_extra is not None:
            values = values + shared_extra(t)
        volumes = np.full(weeks, volume)
        if unit in TREATED:
            values = values + effect * (t >= GO_LIVE_WEEK)
            if treated_extra is not None:
                values = values + treated_extra(t)
            if treated_volume_after is not None:
                volumes = np.where(t >= GO_LIVE_WEEK, treated_volume_after, volume)
        for i in range(weeks):
            rows.append((unit, METRIC, "week", week(i), week(i + 1), float(values[i]), float(volumes[i])))
    return pl.DataFrame(
        rows, schema=["unit_id", "metric", "period", "period_start", "period_end", "value", "volume"], orient="row"
    )


def register(**changes) -> object:
    initiative = {
        "id": "checks",
        "name": "Order checks",
        "objective": "fewer_errors",
        "owner": "Ops",
        "status": "live",
        "go_live": week(GO_LIVE_WEEK).isoformat(),
        "treated_units": TREATED,
        "metrics": [METRIC],
        "costs": [{"kind": "one_off", "amount": 1000, "date": week(GO_LIVE_WEEK - 2).isoformat()}],
    }
    extra = changes.pop("extra_initiatives", [])
    initiative.update(changes)
    initiative = {k: v for k, v in initiative.items() if v is not None}
    document = {
        "business": {"name": "T", "currency": "EUR", "timezone": "UTC"},
        "objectives": [{"id": "fewer_errors", "statement": "Fewer errors", "metric": METRIC}],
        "initiatives": [initiative, *extra],
    }
    return parse_register(yaml.safe_dump(document), "test.yml")


def assess(series: pl.DataFrame, reg=None, as_of: date | None = None, capped=None, only_methods=None):
    """Estimate and check ``series``; ``only_methods``: as if these were the only estimators
    (the first of them primary), to test a check on one method's claim."""
    reg = reg or register()
    traits = metric_traits(CATALOGUE, set(series["metric"].unique().to_list()))
    estimates = estimate_effects(reg, series, traits=traits)
    if only_methods:
        estimates = estimates.filter(pl.col("method").is_in(only_methods)).with_columns(
            (pl.col("method") == only_methods[0]).alias("is_primary")
        )
    checks = run_claim_checks(
        reg,
        series,
        estimates,
        as_of=as_of or series["period_end"].max() - timedelta(days=1),
        catalogue=CATALOGUE,
        traits=traits,
        capped_series=capped or (lambda metric, share: None),
    )
    grades, reasons = grade_claims(checks)
    return checks, grades


def status(checks: pl.DataFrame, check_id: str, initiative: str = "checks") -> str:
    rows = checks.filter((pl.col("check_id") == check_id) & (pl.col("initiative_id") == initiative))
    return rows["status"][0]


def grade(grades: pl.DataFrame, initiative: str = "checks", metric: str | None = METRIC) -> str:
    rows = grades.filter(pl.col("initiative_id") == initiative)
    rows = rows.filter(pl.col("metric").is_null()) if metric is None else rows.filter(pl.col("metric") == metric)
    return rows["grade"][0]


def test_a_clean_real_effect_passes_every_check_and_grades_reliable():
    checks, grades = assess(panel())
    fired = checks.filter(pl.col("status").is_in(["warn", "fail"]))
    assert fired.is_empty(), fired.select("check_id", "message").to_dicts()
    assert grade(grades) == "reliable"
    assert grade(grades, metric=None) == "reliable"
    # every check ran: one row per registered check
    from roi_ledger.claims.base import INITIATIVE_CHECKS, METRIC_CHECKS

    assert checks.height == len(METRIC_CHECKS) + len(INITIATIVE_CHECKS) == 25


@pytest.mark.parametrize(
    ("check_id", "series_kwargs", "register_kwargs", "expected_grade"),
    [
        # too little history: go-live in week 4 of the data
        ("not_enough_data", {"weeks": 30}, {"go_live": week(4).isoformat()}, "needs_more_data"),
        # a real-looking but tiny-volume metric
        ("not_enough_data", {"volume": 5.0}, {}, "needs_more_data"),
        # no effect in noisy data
        ("ci_covers_zero", {"effect": 0.0, "noise": 0.01}, {}, "needs_more_data"),
        # an effect of 80% of the baseline
        ("suspicious_size", {"effect": -0.05}, {}, "suspicious"),
        # a spike in the four weeks before go-live that passes by itself
        (
            "regression_to_mean",
            {"effect": -0.002, "treated_extra": lambda t: 0.02 * ((t >= GO_LIVE_WEEK - 4) & (t < GO_LIVE_WEEK))},
            {},
            "suspicious",
        ),
        # volume doubles at go-live: a different mix of orders
        ("volume_shift", {"treated_volume_after": 400.0}, {}, "suspicious"),
        # the effect fades: full in the first half of the after window, gone in the second
        (
            "novelty_decay",
            {"effect": 0.0, "treated_extra": lambda t: -0.02 * ((t >= GO_LIVE_WEEK) & (t < GO_LIVE_WEEK + 25))},
            {},
            "suspicious",
        ),
    ],
)
def test_each_trap_fires_its_check_and_is_not_reliable(check_id, series_kwargs, register_kwargs, expected_grade):
    checks, grades = assess(panel(**series_kwargs), register(**register_kwargs))
    assert status(checks, check_id) in ("warn", "fail")
    # at least as severe as the fired check implies (other checks may fire too)
    assert GRADES.index(grade(grades)) >= GRADES.index(expected_grade)


DRIFTING = {"effect": 0.0, "treated_extra": lambda t: -0.0004 * t}  # treated units drift down, no effect


def test_a_drift_before_go_live_fails_pre_trend_when_did_is_the_estimate():
    series = panel(**DRIFTING)
    checks, grades = assess(series, only_methods=("did",))
    assert status(checks, "pre_trend") == "fail"
    assert grade(grades) == "unreliable"


def test_the_primary_rule_hands_a_drifting_site_to_its_own_trend_and_finds_no_effect():
    # The site's own history shows DiD straying at every backdated go-live (the drift carries
    # on), while the segmented regression on the site's trend does not: it becomes primary,
    # finds no effect, and the claim is not supported.
    checks, grades = assess(panel(**DRIFTING))
    primary = checks.filter(pl.col("check_id") == "ci_covers_zero")["method"][0]
    assert primary == "its"
    assert status(checks, "ci_covers_zero") == "warn"
    assert grade(grades) != "reliable"


def test_a_bad_spell_the_comparison_units_shared_is_not_regression_to_the_mean():
    # The same four-week spike as the trap above, but in every unit: the comparison takes it
    # out of the estimate, so nothing would "return to normal" in the treated units alone.
    spike = lambda t: 0.02 * ((t >= GO_LIVE_WEEK - 4) & (t < GO_LIVE_WEEK))  # noqa: E731
    checks, grades = assess(panel(shared_extra=spike), register())
    assert status(checks, "regression_to_mean") == "pass"
    checks, grades = assess(panel(treated_extra=spike), register())
    assert status(checks, "regression_to_mean") == "warn"


def test_a_steady_trend_into_go_live_is_not_a_bad_spell():
    # No comparison units (ITS): error rates creep up all along, and go-live falls near the
    # season's peak. The last four weeks are the worst so far, yet exactly where the earlier
    # trend and seasons put them: nothing to return from.
    creep = lambda t: 0.0003 * t  # noqa: E731
    series = panel(treated_extra=creep).filter(pl.col("unit_id").is_in(TREATED))
    checks, _ = assess(series, register(control_units=[]))
    assert status(checks, "regression_to_mean") == "pass"
    # A real spell on top of the same course still stands out.
    spell = lambda t: creep(t) + 0.02 * ((t >= GO_LIVE_WEEK - 4) & (t < GO_LIVE_WEEK))  # noqa: E731
    checks, _ = assess(panel(treated_extra=spell).filter(pl.col("unit_id").is_in(TREATED)), register(control_units=[]))
    assert status(checks, "regression_to_mean") == "warn"


def test_level_shifts_all_along_make_the_effect_fail_placebo_in_time():
    # The treated units jump by +-0.02 every 8 weeks; the "effect" at go-live is one more jump.
    jumps = lambda t: 0.02 * ((t // 8) % 2)  # noqa: E731
    checks, grades = assess(panel(effect=0.0, noise=0.0005, treated_extra=jumps), register())
    assert status(checks, "placebo_in_time") == "fail"
    # The estimate's own interval covers zero and no fake go-live finds a clear effect: the
    # claim waits (ci_covers_zero) and lists the placebo finding, rather than being doubted.
    assert grade(grades) == "needs_more_data"
    assert "placebo_in_time" in grades["reasons"][0]


def test_placebos_must_be_as_large_and_as_clear_when_the_effect_is_clear():
    from roi_ledger.claims.checks.design import placebo_share

    # A clear effect: -0.6 in [-0.8, -0.4], 3 half-widths from zero. Placebos from shorter,
    # noisier windows: (0.7) and (-0.65) are as large but only 0.44 and 0.76 half-widths from
    # zero; (-0.3) is as clear but half the size; (0.9) is both.
    placebos = [(0.7, -0.9, 2.3), (-0.65, -1.5, 0.2), (-0.3, -0.4, -0.2), (0.9, 0.6, 1.2)]
    assert placebo_share((-0.6, -0.8, -0.4), placebos) == pytest.approx(1 / 4)
    # An effect that cannot be told from zero: 0.1 in [-0.2, 0.4]; by size, 4 of 4 are as large.
    assert placebo_share((0.1, -0.2, 0.4), placebos) == 1.0


def test_an_unclear_effect_is_doubted_only_for_phantom_findings():
    from roi_ledger.claims.checks.design import phantom_share

    placebos = [(0.7, -0.9, 2.3), (-0.65, -1.5, 0.2), (-0.3, -0.4, -0.2), (0.9, 0.6, 1.2)]
    # 0.5 in [-0.2, 1.2] covers zero: of the three as large (0.7, -0.65, 0.9), only (0.9) in
    # [0.6, 1.2] excludes zero itself — one phantom finding in four placebos.
    assert phantom_share((0.5, -0.2, 1.2), placebos) == pytest.approx(1 / 4)
    # For 0.1 in [-0.2, 0.4], (-0.3) in [-0.4, -0.2] is as large and clear as well.
    assert phantom_share((0.1, -0.2, 0.4), placebos) == pytest.approx(2 / 4)
    # A clear effect is judged by placebo_share alone.
    assert phantom_share((-0.6, -0.8, -0.4), placebos) is None


def test_stale_data_fires_when_the_run_date_is_long_after_the_data():
    series = panel()
    checks, grades = assess(series, as_of=series["period_end"].max() + timedelta(days=60))
    assert status(checks, "stale_data") == "warn"
    assert grade(grades) == "needs_more_data"


def test_data_gaps_fire_when_a_window_misses_periods():
    series = panel().filter(
        ~(
            pl.col("unit_id").is_in(TREATED)
            & (pl.col("period_start") < week(GO_LIVE_WEEK))
            & (pl.col("period_start").dt.week() % 3 == 0)
        )
    )
    checks, grades = assess(series)
    assert status(checks, "data_gaps") == "warn"
    assert grade(grades) == "needs_more_data"


def test_seasonality_asks_whether_the_comparison_units_share_the_season():
    # Twelve weeks live, after a year and a third before: the windows cover different seasons
    # of a strongly seasonal metric. When every unit has the season, the treated-minus-
    # comparison difference has none and the comparison takes it out; when only the treated
    # units have it, the difference is seasonal and the check warns.
    season = lambda t: 0.01 * np.sin(2 * np.pi * t / 52)  # noqa: E731
    shared, _ = assess(panel(weeks=GO_LIVE_WEEK + 12, shared_extra=season), register())
    assert status(shared, "seasonality") == "pass"
    assert "share its seasons" in shared.filter(pl.col("check_id") == "seasonality")["message"][0]
    own, grades = assess(panel(weeks=GO_LIVE_WEEK + 12, treated_extra=season), register())
    assert status(own, "seasonality") == "warn"
    assert grade(grades) == "suspicious"


def test_seasonality_does_not_doubt_a_comparison_it_cannot_test_yet():
    # Forty weeks before go-live, twelve after: different seasons, and too short a before window
    # to test whether the comparison units share them. The mixed seasons are reported; the
    # claim, clear and sound otherwise, is not doubted for them.
    season = lambda t: 0.01 * np.sin(2 * np.pi * t / 52)  # noqa: E731
    series = panel(weeks=GO_LIVE_WEEK + 12, shared_extra=season).filter(
        pl.col("period_start") >= week(GO_LIVE_WEEK - 40)
    )
    checks, grades = assess(series)
    row = checks.filter(pl.col("check_id") == "seasonality").row(0, named=True)
    assert (row["status"], row["counts_toward_grade"], row["p_value"]) == ("warn", False, None)
    assert "too short to test" in row["message"]
    assert grade(grades) == "reliable"


def test_seasonal_upswing_without_comparison_units_fires_seasonality():
    # Only the treated units, a strong December peak, go-live into the peak, 6 weeks after.
    peak = lambda t: -0.03 * (((t % 52) >= 47) | ((t % 52) <= 1))  # noqa: E731 - fewer errors at Christmas
    go_live = 99  # week 47 of the third year
    series = panel(effect=0.0, weeks=go_live + 8, treated_extra=peak).filter(pl.col("unit_id").is_in(TREATED))
    reg = register(go_live=week(go_live).isoformat(), control_units=[])
    checks, grades = assess(series, reg)
    assert status(checks, "seasonality") in ("warn", "fail")
    assert grade(grades) != "reliable"


def test_concurrent_initiatives_on_the_same_metric_and_units():
    other = {
        "id": "retraining",
        "name": "Staff retraining",
        "objective": "fewer_errors",
        "owner": "HR",
        "status": "live",
        "go_live": week(GO_LIVE_WEEK).isoformat(),
        "treated_units": ["t1"],
        "metrics": [METRIC],
        "costs": [{"kind": "one_off", "amount": 100, "date": week(GO_LIVE_WEEK).isoformat()}],
    }
    checks, grades = assess(panel(), register(extra_initiatives=[other]))
    assert status(checks, "concurrent_initiatives") == "warn"
    assert grade(grades) == "suspicious"


def _pilot_in_c1(weeks_after_go_live: int) -> dict:
    return {
        "id": "pilot",
        "name": "Pilot in one comparison shop",
        "objective": "fewer_errors",
        "owner": "Ops",
        "status": "live",
        "go_live": week(GO_LIVE_WEEK + weeks_after_go_live).isoformat(),
        "treated_units": ["c1"],
        "metrics": [METRIC],
        "costs": [{"kind": "one_off", "amount": 100, "date": week(GO_LIVE_WEEK).isoformat()}],
    }


def test_a_comparison_unit_another_initiative_reaches_inside_the_windows_bends_the_comparison():
    # c1 is reached by a pilot 5 weeks after go-live: its later weeks still sit in the comparison.
    reg = register(control_units=["c1", "c2", "c3", "c4"], extra_initiatives=[_pilot_in_c1(5)])
    checks, grades = assess(panel(), reg)
    assert status(checks, "control_contamination") == "warn"
    assert grade(grades) == "suspicious"


def test_a_later_wave_going_live_after_the_windows_is_a_fair_comparison():
    # The same pilot registered to go live after the data end: c1 compares cleanly until then.
    reg = register(control_units=["c1", "c2", "c3", "c4"], extra_initiatives=[_pilot_in_c1(200)])
    checks, grades = assess(panel(), reg)
    assert status(checks, "control_contamination") == "pass"
    assert grade(grades) == "reliable"


def test_control_contamination_catches_a_spillover_to_the_comparison_units():
    # Two years before go-live; the comparison units shift at go-live by half the true effect, in
    # its direction (the treated units by the whole): the comparison halves the effect.
    weeks, go_live = 150, 110
    series = panel(weeks=weeks, effect=0.0).with_columns(
        pl.when(pl.col("period_start") >= week(go_live))
        .then(pl.col("value") + pl.when(pl.col("unit_id").is_in(TREATED)).then(-0.02).otherwise(-0.01))
        .otherwise(pl.col("value"))
        .alias("value")
    )
    checks, grades = assess(series, register(go_live=week(go_live).isoformat()))
    assert status(checks, "control_contamination") == "warn"
    assert grade(grades) == "suspicious"
    clean = panel(weeks=weeks, effect=0.0).with_columns(
        pl.when(pl.col("unit_id").is_in(TREATED) & (pl.col("period_start") >= week(go_live)))
        .then(pl.col("value") - 0.02)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    checks, _ = assess(clean, register(go_live=week(go_live).isoformat()))
    assert status(checks, "control_contamination") == "pass"


def test_outliers_fire_when_capping_extreme_records_moves_the_effect():
    # A median metric (records can be capped); the capped series (as the warehouse would
    # recompute it) shows half the effect.
    series = panel().with_columns(pl.lit("order_fulfilment_hours").alias("metric"), pl.col("value") * 100)
    capped = series.with_columns(
        pl.when(pl.col("unit_id").is_in(TREATED) & (pl.col("period_start") >= week(GO_LIVE_WEEK)))
        .then(pl.col("value") + 1.0)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    values = capped.select("unit_id", "period_start", "value")
    checks, grades = assess(series, register(metrics=["order_fulfilment_hours"]), capped=lambda metric, share: values)
    assert status(checks, "outliers") == "warn"
    assert grade(grades, metric="order_fulfilment_hours") == "suspicious"


def test_outliers_cap_the_share_the_initiative_sets_not_the_business_default():
    series = panel().with_columns(pl.lit("order_fulfilment_hours").alias("metric"), pl.col("value") * 100)
    asked = []

    def capped(metric: str, share: float) -> pl.DataFrame:
        asked.append((metric, share))
        return series.select("unit_id", "period_start", "value")

    own = register(metrics=["order_fulfilment_hours"], claim_checks={"outlier_cap_share": 0.05})
    checks, _ = assess(series, own, capped=capped)
    assert asked == [("order_fulfilment_hours", 0.05)]
    assert "5% of records" in checks.filter(pl.col("check_id") == "outliers")["message"][0]
    asked.clear()
    assess(series, register(metrics=["order_fulfilment_hours"]), capped=capped)
    assert asked == [("order_fulfilment_hours", 0.01)]


def test_trend_continuation_explains_a_naive_change_without_a_real_effect():
    series = panel(effect=0.0, treated_extra=lambda t: -0.0003 * t).filter(pl.col("unit_id").is_in(TREATED))
    checks, grades = assess(series, register(control_units=[]))
    row = checks.filter(pl.col("check_id") == "trend_continuation").row(0, named=True)
    assert row["status"] == "warn" and row["observed"] > 0.5
    # the primary estimate (interrupted time series) models the trend, so the finding about the
    # naive number does not by itself lower the grade
    assert not row["counts_toward_grade"]


def test_governance_checks_and_the_initiative_grade():
    checks, grades = assess(panel(), register(owner=None, objective=None, costs=None))
    for check_id in ("missing_costs", "missing_owner", "no_objective"):
        assert status(checks, check_id) == "warn"
    assert grade(grades) == "reliable"  # the number itself is fine
    assert grade(grades, metric=None) == "needs_more_data"  # without costs there is no ROI


def test_thresholds_can_be_overridden_per_initiative():
    series = panel(effect=-0.05)
    _, grades = assess(series, register(claim_checks={"max_plausible_change": 0.9}))
    assert grade(grades) == "reliable"


def test_an_initiative_sets_how_different_its_windows_seasons_may_be():
    # The windows of the seasonality test above cover different seasons, and the treated units'
    # seasons are their own (the check warns by default); allowing any mix of seasons
    # (max_season_mix_difference 1) the check passes, reporting the threshold it was given.
    season = lambda t: 0.01 * np.sin(2 * np.pi * t / 52)  # noqa: E731
    series = panel(weeks=GO_LIVE_WEEK + 12, treated_extra=season)
    checks, _ = assess(series, register(claim_checks={"max_season_mix_difference": 1.0}))
    row = checks.filter(pl.col("check_id") == "seasonality").row(0, named=True)
    assert (row["status"], row["threshold"]) == ("pass", 1.0)
    assert "cover the seasons alike" in row["message"]


@pytest.mark.parametrize(
    ("check_class", "status_", "expected"),
    [
        ("validity", "fail", "unreliable"),
        ("validity", "warn", "suspicious"),
        ("suspicion", "warn", "suspicious"),
        ("data", "fail", "needs_more_data"),
        ("governance", "warn", "reliable"),
        ("info", "warn", "reliable"),
        ("suspicion", "pass", "reliable"),
        ("data", "not_applicable", "reliable"),
    ],
)
def test_the_grading_rule(check_class, status_, expected):
    assert implied_grade(check_class, status_) == expected


def _fired(check_id: str, check_class: str, status_: str) -> dict:
    return {
        "initiative_id": "checks",
        "metric": METRIC,
        "check_id": check_id,
        "check_class": check_class,
        "method": "did",
        "status": status_,
        "observed": None,
        "threshold": None,
        "message": check_id,
        "counts_toward_grade": True,
    }


@pytest.mark.parametrize(
    ("short", "expected"),
    [
        ("fail", "needs_more_data"),  # too few periods: wait, whatever else fired
        ("warn", "unreliable"),  # thin volumes: more weeks do not help, the doubts stand
        ("pass", "unreliable"),
    ],
)
def test_a_claim_without_enough_periods_waits_before_it_is_doubted(short, expected):
    from roi_ledger.tables import schema

    checks = pl.DataFrame(
        [
            _fired("not_enough_data", "data", short),
            _fired("seasonality", "suspicion", "fail"),
            _fired("placebo_in_time", "validity", "fail"),
        ],
        schema=schema("claim_checks"),
    )
    grades, reasons = grade_claims(checks)
    assert grade(grades) == expected
    fired = reasons.filter(pl.col("metric") == METRIC)
    # the other findings stay listed under the grade, each with what it would imply
    assert dict(zip(fired["check_id"], fired["implied_grade"]))["placebo_in_time"] == "unreliable"
    assert "seasonality" in grades.filter(pl.col("metric") == METRIC)["reasons"][0]


def test_power_and_periods_to_a_verdict_follow_the_grades_rule_by_hand():
    """se = 4 / (2 x 1.96) = 1.0204; per-period sd = se / sqrt(1/20 + 1/10) = 2.6347; the
    always-valid half-width now is c(10) se, with c the spending boundary at the look with 10
    after-periods (tested on its own against published boundaries below), and the MDE
    (c(10) + 0.8416) se. An estimate of -1 whose always-valid interval includes zero, against an
    expected -3 the data cannot yet detect: the wait is the fewest periods whose MDE reaches 3
    (basis "expected"). Against an expected -2 the data could already detect: the wait is for
    the measured -1 to clear the boundary (basis "measured")."""
    from roi_ledger.claims.power import Looks, power_of
    from roi_ledger.claims.sequential import boundary

    z, z80 = float(stats.norm.ppf(0.975)), float(stats.norm.ppf(0.8))
    looks = Looks(min_post=4, horizon=26)
    se = 4 / (2 * z)
    sd = se / math.sqrt(1 / 20 + 1 / 10)

    def se_at(after: int) -> float:
        return sd * math.sqrt(1 / 20 + 1 / after)

    def mde_with(after: int, margin: float = z80) -> float:
        return (boundary(20, after, 4, 26, 0.95) + margin) * se_at(after)

    p = power_of(ci_low=-3.0, ci_high=1.0, confidence=0.95, pre=20, post=10, expected_effect=-3.0, looks=looks)
    assert p.se == pytest.approx(se, rel=1e-6) and p.mde == pytest.approx(mde_with(10), rel=1e-9)
    assert 2.3 < boundary(20, 10, 4, 26, 0.95) < 2.9  # between a fixed test's 1.96 and the old mixture's 2.8-3.3
    assert p.power_now == pytest.approx(float(stats.norm.cdf((3 - boundary(20, 10, 4, 26, 0.95) * se) / se)), rel=1e-9)
    needed = next(after for after in range(4, 521) if mde_with(after) <= 3.0)
    assert p.basis == "expected" and p.periods_to_verdict == needed - 10 and p.reachable
    measured = power_of(ci_low=-3.0, ci_high=1.0, confidence=0.95, pre=20, post=10, expected_effect=-8.0, looks=looks)
    assert measured.basis == "measured"  # the expected -8 would have been seen by now: the wait is the measured -1's
    clears = next((after for after in range(4, 521) if mde_with(after, 0.0) <= 1.0), None)
    assert clears is None and measured.reachable is False  # -1 never clears c x sd/sqrt(20) >= 1.4
    now = power_of(ci_low=-6.0, ci_high=-2.0, confidence=0.95, pre=20, post=10, expected_effect=-1.0, looks=looks)
    assert (now.periods_to_verdict, now.basis) == (0, "now")  # -4 clears c(10) x 1.02 already
    # even endless after-periods leave se >= sd / sqrt(20) = 0.589, whose MDE (about 2.2) exceeds 2
    never = power_of(ci_low=-3.0, ci_high=1.0, confidence=0.95, pre=20, post=10, expected_effect=-2.0, looks=looks)
    assert never.reachable is False and never.periods_to_verdict is None  # the before window limits it
    assert power_of(ci_low=-3.0, ci_high=1.0, confidence=0.95, pre=5, post=10, expected_effect=None).reachable is False


def test_spending_boundaries_match_published_lan_demets_boundaries():
    """Five equally spaced looks, two-sided 5%: Pocock-type spending alpha log(1 + (e - 1) t)
    gives 2.4380, 2.4268, 2.4101, 2.3966, 2.3859 (Lan & DeMets 1983; Jennison & Turnbull 2000,
    section 7.2; R's gsDesign sfLDPocock); O'Brien-Fleming-type spending 2 - 2 Phi(1.96 / sqrt(t))
    spends 2 - 2 Phi(4.3827) at the first look, so its first boundary is exactly 4.3827."""
    from roi_ledger.claims.sequential import spending_boundaries

    t = np.arange(1, 6) / 5
    pocock = spending_boundaries(t, 0.05 * np.log(1 + (math.e - 1) * t))
    assert pocock == pytest.approx([2.4380, 2.4268, 2.4101, 2.3966, 2.3859], abs=1e-3)
    obrien_fleming = spending_boundaries(t, 2 - 2 * stats.norm.cdf(1.959964 / np.sqrt(t)))
    assert obrien_fleming[0] == pytest.approx(1.959964 / math.sqrt(0.2), abs=1e-3)
    assert list(obrien_fleming) == sorted(obrien_fleming, reverse=True)


@pytest.mark.parametrize("pre", [52, 10**9])
def test_always_valid_guarantee_over_one_and_ten_years_of_weekly_looks(pre):
    """Gaussian estimates of a null effect, a before mean of ``pre`` periods and one new
    after-period each week, looked at weekly from 4 to 520 periods after go-live: the
    always-valid interval ever excludes zero in at most 5% of 20,000 paths (within Monte Carlo
    error), within the first year and over ten; the ordinary one in far more within a year."""
    from roi_ledger.claims.sequential import always_valid

    rng = np.random.default_rng(7)
    paths = 20_000
    before = rng.normal(0, math.sqrt(1 / pre), paths)
    sums = np.cumsum(rng.normal(size=(paths, 520)), axis=1)
    ordinary = anytime = np.zeros(paths, bool)
    allowed = 0.05 + 2.6 * math.sqrt(0.05 * 0.95 / paths)
    for n in range(4, 521):
        effect, se = sums[:, n - 1] / n - before, math.sqrt(1 / pre + 1 / n)
        bounds = always_valid(
            effect=0.0, ci_low=-1.96 * se, ci_high=1.96 * se, confidence=0.95, pre=pre, post=n, min_post=4, horizon=26
        )
        anytime = anytime | (np.abs(effect) >= bounds.half_width)
        if n <= 56:
            ordinary = ordinary | (np.abs(effect) > 1.96 * se)
        if n == 56:
            assert anytime.mean() <= allowed and ordinary.mean() > 0.15
    assert anytime.mean() <= allowed


def test_holm_adjusts_a_claims_tests_together_by_hand():
    """p = 0.01, 0.04, 0.03 at level 0.05: sorted 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, then
    max(0.06, 0.04 x 1) = 0.06. The first still fires; the two others pass, saying why."""
    from roi_ledger.claims.base import CheckResult
    from roi_ledger.claims.family import adjust_family, holm_adjusted
    from roi_ledger.claims.labels import CheckStatus

    assert holm_adjusted([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    results = {
        "pre_trend": CheckResult(CheckStatus.FAIL, "drifting", p_value=0.01, level=0.05),
        "seasonality": CheckResult(CheckStatus.WARN, "seasons", p_value=0.04, level=0.05),
        "control_contamination": CheckResult(CheckStatus.WARN, "spillover", p_value=0.03, level=0.05),
        "suspicious_size": CheckResult(CheckStatus.WARN, "too large"),  # a rule, not a test: untouched
        "outliers": None,  # could not be computed
    }
    judged, adjusted = adjust_family(results)
    assert judged["pre_trend"].status == CheckStatus.FAIL
    assert judged["seasonality"].status == CheckStatus.PASS and "Holm-adjusted 0.06" in judged["seasonality"].message
    assert judged["seasonality"].message.endswith("Alone it would have said: seasons")
    assert judged["control_contamination"].status == CheckStatus.PASS
    assert judged["suspicious_size"] == results["suspicious_size"] and judged["outliers"] is None
    assert set(adjusted) == {"pre_trend", "seasonality", "control_contamination"}


def test_trend_sensitivity_by_hand():
    """Before window weeks 0-69, after 70-119: D = 94.5 - 34.5 = 60 periods. An effect of -0.02
    with interval [-0.024, -0.016] (q se = 0.004) is overturned by a differential trend of
    (0.02 - 0.004) / 60 = 0.000267 per week; the before window's gap has no trend of its own."""
    from roi_ledger.claims.sensitivity import trend_sensitivity

    reg = register()
    series = panel()
    built = build_panel(reg, reg.initiatives[0], METRIC, series, metric_traits(CATALOGUE, {METRIC}))
    result = trend_sensitivity(built, effect=-0.02, ci_low=-0.024, ci_high=-0.016, observed=0.04, confidence=0.95)
    assert result.scale == "linear" and result.periods_apart == pytest.approx(60.0)
    assert result.breakdown_slope == pytest.approx(0.016 / 60, rel=1e-4)
    assert abs(result.pre_trend_slope) < 3 * result.pre_trend_se
    assert result.breakdown_in_pre_se == pytest.approx(result.breakdown_slope / result.pre_trend_se)
    # an interval that already covers zero is overturned by no trend at all
    covers = trend_sensitivity(built, effect=-0.002, ci_low=-0.006, ci_high=0.002, observed=0.04, confidence=0.95)
    assert covers.breakdown_slope == 0.0


def _binned_by_hand(series: pl.DataFrame, width: int, pre_bins: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Unit x bin means of ``panel()``'s weeks (bins of ``width`` weeks counted back from go-live
    and forward from it; the oldest weeks short of a bin left out): the matrix, treated rows, and
    the column of the reference bin (the one just before go-live)."""
    weeks = series.with_columns(((pl.col("period_start") - pl.lit(week(GO_LIVE_WEEK))).dt.total_days() // 7).alias("w"))
    weeks = weeks.filter(pl.col("w") >= -width * pre_bins).with_columns((pl.col("w") // width).alias("bin"))
    means = weeks.group_by("unit_id", "bin").agg(pl.col("value").mean()).sort("unit_id", "bin")
    matrix = means.pivot(on="bin", index="unit_id", values="value", sort_columns=True).sort("unit_id")
    treated = np.isin(matrix["unit_id"].to_numpy(), TREATED)
    return matrix.drop("unit_id").to_numpy(), treated, pre_bins - 1


def test_relative_magnitudes_breakdown_by_hand():
    """Rambachan & Roth's Delta^RM with the pre-period moves pinned at their estimates, for the
    average of T after bins: each after bin's bias may move by at most M m from the one before
    (m: the largest move of the event-study coefficients before go-live, the reference bin at 0),
    so the average's bias is at most M m (1 + ... + T) / T = M m (T + 1) / 2 and the interval is
    theta -+ (M m (T + 1) / 2 + z se). It reaches zero at M-bar = (|theta| - z se) / (m (T + 1) / 2).
    Weeks 0-69 before go-live and 70-119 after: bins of ceil(50 / 4) = 13 weeks, 4 after and the
    5 complete ones before. The event study (two-way fixed effects, one coefficient per bin) is,
    on this balanced panel, each bin's treated-minus-comparison gap less the reference bin's; its
    classical variance is s2 (1/n_t + 1/n_c)(1/T + 1) for the average, s2 the residual variance of
    both groups' own two-way fits over N B - N - 2B + 2 degrees of freedom."""
    from roi_ledger.claims.sensitivity import event_study, honest_breakdown

    reg = register()
    for effect, seed in [(-0.002, 1), (-0.002, 3), (-0.003, 2), (-0.003, 5)]:
        series = panel(effect=effect, seed=seed)
        built = build_panel(reg, reg.initiatives[0], METRIC, series, metric_traits(CATALOGUE, {METRIC}))
        means, treated, ref = _binned_by_hand(series, width=13, pre_bins=5)
        gap = means[treated].mean(axis=0) - means[~treated].mean(axis=0)
        coefficients = gap - gap[ref]
        fit, width, covariance = event_study(built, 0.95)
        assert width == 13 and covariance == "classical OLS"
        assert fit.att == pytest.approx(coefficients, abs=1e-12)

        def two_way_rss(block):
            residuals = block - block.mean(1, keepdims=True) - block.mean(0, keepdims=True) + block.mean()
            return float((residuals**2).sum())

        units, bins = means.shape
        s2 = (two_way_rss(means[treated]) + two_way_rss(means[~treated])) / (units * bins - units - 2 * bins + 2)
        after = bins - ref - 1
        se = math.sqrt(s2 * (1 / treated.sum() + 1 / (~treated).sum()) * (1 / after + 1))
        theta = coefficients[ref + 1 :].mean()
        largest_move = np.abs(np.diff(coefficients[: ref + 1])).max()
        by_hand = (abs(theta) - 1.959964 * se) / (largest_move * (after + 1) / 2)
        assert 0.3 < by_hand < 3  # the cases are neither trivially fragile nor beyond the search
        result = honest_breakdown(built, ci_low=-0.01, ci_high=-0.0005, confidence=0.95)
        assert (result.pre_bins, result.post_bins, result.bin_periods) == (5, 4, 13)
        assert result.relative_magnitude == pytest.approx(by_hand, abs=0.01)  # the library's search tolerance
    # a claim whose own interval includes zero does not hold even with parallel trends
    assert honest_breakdown(built, ci_low=-0.01, ci_high=0.001, confidence=0.95).relative_magnitude == 0.0
    # a large effect holds beyond the search's end, published as its top
    strong = build_panel(reg, reg.initiatives[0], METRIC, panel(), metric_traits(CATALOGUE, {METRIC}))
    assert honest_breakdown(strong, ci_low=-0.03, ci_high=-0.01, confidence=0.95).relative_magnitude == 10.0


def test_breakdown_sentence_says_it_in_money_and_words():
    from roi_ledger.report.summary import breakdown_sentence

    row = {"breakdown_rm": 1.43, "breakdown_rm_bin_periods": 13, "period": "week", "ci_low": -3.0, "ci_high": -1.0}
    assert breakdown_sentence(row, "Hours on invoicing", "£3,137") == (
        "Hours on invoicing: the £3,137 benefit holds unless, after go-live, the gap to the comparison units "
        "moves more than 1.4× the worst it moved before go-live, from one 13-week stretch to the next."
    )
    assert "no larger than those already seen" in breakdown_sentence({**row, "breakdown_rm": 0.6}, "X")
    assert breakdown_sentence({**row, "ci_high": 0.5}, "X") is None  # no verdict to bend
    assert breakdown_sentence({**row, "breakdown_rm": None}, "X") is None


def test_a_check_keeps_its_result_while_what_it_declares_it_reads_is_unchanged():
    series, reg = panel(), register()
    traits = metric_traits(CATALOGUE, {METRIC})
    estimates = estimate_effects(reg, series, traits=traits)
    as_of = series["period_end"].max() - timedelta(days=1)

    def checks(day: date, stored: pl.DataFrame | None, inputs: str = "inputs-1", capped: str = "c"):
        fingerprints = own_result_fingerprints(
            reg, {"checks": inputs}, as_of=day, capped={METRIC: capped}, catalogue=CATALOGUE
        )
        kept = KeptResults(OWN_RESULT_KEY, OWN_RESULT_SCHEMA, fingerprints, stored, "r")
        rows = run_claim_checks(reg, series, estimates, as_of=day, catalogue=CATALOGUE, traits=traits, kept=kept)
        return rows, kept

    first, kept = checks(as_of, None)
    assert not kept.kept and len(kept.changed) == first.filter(pl.col("metric").is_not_null()).height
    stored = kept.table()
    reads = dict(zip(stored["check_id"], stored["reads"], strict=True))
    assert {check: read for check, read in reads.items() if read} == {
        "stale_data": "as_of",
        "outliers": "capped_series",
    }
    again, kept = checks(as_of, stored)
    assert not kept.changed and again.equals(first)
    # a later day re-runs exactly the checks that read the date, and they see the new date
    later, kept = checks(as_of + timedelta(days=30), stored)
    assert kept.changed == [("checks", METRIC, "stale_data")]
    stale = later.filter(pl.col("check_id") == "stale_data").row(0, named=True)
    assert stale["observed"] == first.filter(pl.col("check_id") == "stale_data")["observed"][0] + 30
    # a new capped series re-runs the outliers check alone
    assert checks(as_of, stored, capped="d")[1].changed == [("checks", METRIC, "outliers")]
    # new estimates' inputs re-run every check, and so does a table an older version stored
    assert not checks(as_of, stored, inputs="inputs-2")[1].kept
    assert not checks(as_of, stored.drop("reads"))[1].kept


def test_a_check_that_reads_what_it_did_not_declare_is_caught():
    reg = register()
    initiative = reg.initiatives[0]
    claim = MetricClaim(
        register=reg,
        initiative=initiative,
        metric=METRIC,
        series=panel(),
        panel=None,
        estimates=pl.DataFrame(),
        thresholds=reg.thresholds_for(initiative),
        as_of=START,
        traits={},
        definition=None,
    )
    undeclared: list[str] = []
    seen = guarded(claim, ("as_of",), undeclared)
    assert seen.as_of == START and seen.metric == METRIC and seen.confidence == claim.confidence
    with pytest.raises(UndeclaredRead):
        seen.capped_series(METRIC, 0.01)
    assert undeclared == ["capped_series"]
    # what a check can declare: only the inputs its estimates do not already fix
    with pytest.raises(ValueError, match="not among"):
        claim_check("reads_the_estimates", check_class=CheckClass.INFO, reads=("estimates",))


# --- goal metrics and guardrails -------------------------------------------------------------

GUARD = "repeat_customer_rate"  # higher is better: a fall is harm


def with_guardrail(effect: float, *, noise: float = 0.002, seed: int = 1) -> pl.DataFrame:
    """The clean goal (order errors down) and a guardrail moved by ``effect`` at go-live."""
    guard = panel(effect=effect, noise=noise, seed=seed + 100).with_columns(pl.lit(GUARD).alias("metric"))
    return pl.concat([panel(seed=seed), guard])


def test_a_guardrail_that_did_not_move_leaves_a_supported_initiative_supported():
    margin = 0  # the default: any harm the data show
    reg = register(guardrails=[GUARD])
    checks, grades = assess(with_guardrail(0.0), reg=reg)
    assert grade(grades, metric=None) == "reliable"
    harm = checks.filter((pl.col("check_id") == "guardrail_harm") & (pl.col("metric") == GUARD)).row(0, named=True)
    assert harm["status"] == "pass" and harm["threshold"] == margin
    goal = checks.filter((pl.col("check_id") == "guardrail_harm") & (pl.col("metric") == METRIC))
    assert goal["status"][0] == "not_applicable"


def test_a_guardrail_harmed_beyond_its_margin_makes_the_initiative_unsupported():
    # the repeat rate (about 0.06) falls by 0.02: a third, far past a 5% margin, clear of the noise
    reg = register(guardrails=[{"metric": GUARD, "margin_pct": 5}])
    checks, grades = assess(with_guardrail(-0.02), reg=reg)
    assert grade(grades, metric=METRIC) == "reliable"  # the goal itself holds
    assert grade(grades, metric=None) == "unreliable"
    harm = checks.filter((pl.col("check_id") == "guardrail_harm") & (pl.col("metric") == GUARD)).row(0, named=True)
    assert harm["status"] == "fail" and harm["observed"] > 5 and "A guardrail got worse" in harm["message"]


def test_the_harm_is_measured_against_the_margin_by_hand():
    """Harm in % of the level before go-live, signed by the catalogue's good direction: the
    check fails exactly when the interval's best end is past the margin."""
    from roi_ledger.claims.checks.guardrails import guardrail_harm

    reg = register(guardrails=[{"metric": GUARD, "margin_pct": 5}])
    initiative = reg.initiatives[0]

    class Claim:
        def __init__(self, low, high, pre=0, post=0):
            self.initiative, self.metric, self.confidence, self.metric_words = initiative, GUARD, 0.95, GUARD
            self.definition = next(d for d in CATALOGUE if d.name == GUARD)
            self.thresholds = reg.thresholds_for(initiative)
            # pre/post 0: no always-valid widening (the fixed interval is used as it is)
            self.primary = {"effect_abs": (low + high) / 2, "ci_low": low, "ci_high": high, "baseline_value": 0.06}
            self.primary |= {"pre_periods": pre, "post_periods": post, "period": "week"}

    # level 0.06: 5% is 0.003. Interval [-0.005, -0.0031]: at least 5.2% worse -> fail
    assert guardrail_harm(Claim(-0.005, -0.0031)).status == "fail"
    # [-0.005, -0.0029]: the best case is 4.8% worse, within the margin -> pass
    assert guardrail_harm(Claim(-0.005, -0.0029)).status == "pass"
    # six weeks after go-live: tonight's interval [-0.0057, -0.0033] is at least 5.5% worse, but
    # allowing for the nightly looks (boundary 2.71 standard errors, not 1.96) only 4.7%: warn
    result = guardrail_harm(Claim(-0.0057, -0.0033, pre=104, post=6))
    assert result.status == "warn" and result.counts_toward_grade is False
    assert result.observed == pytest.approx(5.5)
    # a rise is no harm for a metric whose good direction is up
    assert guardrail_harm(Claim(0.003, 0.009)).status == "pass"


def test_a_metric_cannot_be_both_a_goal_and_a_guardrail():
    with pytest.raises(Exception, match="both a goal metric and a guardrail"):
        register(guardrails=[METRIC])
    assert register(guardrails=[GUARD]).initiatives[0].guardrails[0].margin_pct == 0
