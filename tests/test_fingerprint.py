"""Fingerprints of an initiative's inputs: they change with what its results are computed from,
and with nothing else, and what a run keeps by them (roi_ledger.incremental)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from roi_ledger.claims.evidence import Evidence, evidence_frame, evidence_from_frame
from roi_ledger.claims.replays import ReplayRates
from roi_ledger.claims.sensitivity import Breakdown, TrendSensitivity
from roi_ledger.incremental import KeptResults, digest, effect_fingerprints, series_digests
from roi_ledger.register import parse_register

MONDAY = date(2024, 1, 1)
COLUMNS = ("unit_id", "metric", "period_start", "value")


def register(second_metric: str = "n") -> object:
    """Two initiatives, ``one`` on metric m and ``two`` on ``second_metric``."""
    return parse_register(
        f"""
business: {{name: T, currency: EUR, timezone: UTC}}
initiatives:
  - id: one
    name: One
    status: live
    go_live: {MONDAY + timedelta(weeks=10)}
    treated_units: [a]
    metrics: [m]
  - id: two
    name: Two
    status: live
    go_live: {MONDAY + timedelta(weeks=10)}
    treated_units: [b]
    metrics: [{second_metric}]
""",
        "test.yml",
    )


def series(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> dict[str, str]:
    con.register("frame", frame)
    return series_digests(con, "frame", COLUMNS, floats=("value",))


def weekly(values: dict[tuple[str, str], list[float]]) -> pl.DataFrame:
    rows = [
        (unit, metric, MONDAY + timedelta(weeks=week), value)
        for (unit, metric), weeks in values.items()
        for week, value in enumerate(weeks)
    ]
    return pl.DataFrame(rows, schema=list(COLUMNS), orient="row")


BASE = {("a", "m"): [1.0, 2.0, 3.0], ("b", "m"): [4.0, 5.0, 6.0], ("a", "n"): [7.0, 8.0, 9.0]}


def test_a_change_in_one_metric_changes_only_the_initiatives_that_measure_it():
    with duckdb.connect() as con:
        before = effect_fingerprints(register(), series=series(con, weekly(BASE)), traits={})
        moved = {**BASE, ("a", "n"): [7.0, 8.0, 9.5]}
        after = effect_fingerprints(register(), series=series(con, weekly(moved)), traits={})
        longer = {**BASE, ("b", "m"): [4.0, 5.0, 6.0, 7.0]}  # a new week in an untreated unit's series
        extended = effect_fingerprints(register(), series=series(con, weekly(longer)), traits={})
    assert after["one"] == before["one"] and after["two"] != before["two"]
    # a comparison unit's new week moves the estimate of the initiative on that metric
    assert extended["one"] != before["one"] and extended["two"] == before["two"]


def test_row_order_and_last_bit_noise_in_a_sum_are_not_a_change():
    frame = weekly(BASE)
    noisy = frame.with_columns(pl.col("value") * (1 + 1e-13)).reverse()
    with duckdb.connect() as con:
        assert series(con, noisy) == series(con, frame)
        # a real change in the value is
        assert series(con, frame.with_columns(pl.col("value") * 1.001)) != series(con, frame)
    assert digest(0.1 + 0.2) == digest(0.3) and digest(0.3001) != digest(0.3)


def test_another_initiatives_edit_re_estimates_every_initiative():
    with duckdb.connect() as con:
        digests = series(con, weekly(BASE))
    effects = effect_fingerprints(register(), series=digests, traits={})
    # the register is shared: a panel's comparison pool leaves out the other initiatives' units
    assert effect_fingerprints(register(second_metric="m"), series=digests, traits={})["one"] != effects["one"]
    assert effect_fingerprints(register(), series=digests, traits={}) == effects


def test_evidence_stored_between_runs_reads_back_as_it_was():
    evidence = Evidence(
        min_posts={("one", "m"): 4, ("two", "n"): 8},
        replay_rates={("one", "m"): ReplayRates(12, 1 / 12, 0.0), ("two", "n"): ReplayRates(0, None, None)},
        sensitivities={("one", "m"): TrendSensitivity("log", 20.5, 0.001, 0.002, 0.03, 15.0)},
        breakdowns={("one", "m"): Breakdown(1.25, 13, 5, 4, "classical OLS")},
    )
    assert evidence_from_frame(evidence_frame(evidence)) == evidence
    newer = Evidence(min_posts={("two", "n"): 6})
    assert evidence.merged(newer).min_posts == {("one", "m"): 4, ("two", "n"): 6}


def test_a_run_keeps_the_rows_of_the_unchanged_keys_and_stores_the_others_with_their_fingerprints():
    schema = {"initiative_id": pl.String, "metric": pl.String, "value": pl.Float64}
    stored = pl.DataFrame(
        {
            "initiative_id": ["one", "one", "two", "gone"],
            "metric": ["m", "n", "m", "m"],
            "value": [1.0, 2.0, 3.0, 9.0],
            "fingerprint": ["f1", "f1", "old", "f9"],
            "computed_by_run": ["r1", "r1", "r1", "r1"],
        }
    )
    kept = KeptResults(("initiative_id",), schema, {"two": "f2", "one": "f1", "three": "f3"}, stored, "r2")
    assert kept.kept == {"one": "r1"} and kept.changed == ["two", "three"]
    assert (
        kept.kept_row("one") == {"initiative_id": "one", "metric": "m", "value": 1.0} and kept.kept_row("two") is None
    )
    fresh = pl.DataFrame({"initiative_id": ["three", "two"], "metric": ["m", "m"], "value": [5.0, 4.0]})
    # in the order of this run's fingerprints, one key's rows as they were
    assert kept.merged(fresh, stored)["initiative_id"].to_list() == ["two", "one", "one", "three"]
    assert kept.table(fresh).rows() == [
        ("two", "m", 4.0, "f2", "r2"),
        ("one", "m", 1.0, "f1", "r1"),
        ("one", "n", 2.0, "f1", "r1"),
        ("three", "m", 5.0, "f3", "r2"),
    ]
    # nothing stored, or a table an older version stored without these columns: nothing is kept
    assert KeptResults(("initiative_id",), schema, {"one": "f1"}, None, "r2").changed == ["one"]
    assert not KeptResults(("initiative_id",), schema, {"one": "f1"}, stored.drop("value"), "r2").kept
