"""``roi explain INITIATIVE [METRIC]``: every number of a claim, traced to where it comes from.

Read from the published warehouse only (read-only, closed at once): the input files and rows →
the metric's series → the method, windows and units → the effect and its interval → every claim
check with its threshold and observed value → the money: how a unit of the metric is valued and
the benefit → cost, ROI, payback. Each step names the table where it can be queried.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK
from roi_ledger.effects.selection import CLEARLY_BETTER
from roi_ledger.report.summary import breakdown_sentence
from roi_ledger.words import money, percent


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def command(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse).expanduser().resolve()
    if not warehouse.is_file():
        print(f"roi explain: no warehouse is published at {warehouse}: run `roi run` first", file=sys.stderr)
        return EXIT_INVALID_INPUT
    try:
        print(explain(warehouse, args.initiative, args.metric))
    except KeyError as exc:
        print(f"roi explain: {exc.args[0]}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except duckdb.Error:  # DuckDB's own words name its error class: not for people
        print(
            f"roi explain: {warehouse} cannot be read as a warehouse `roi run` published "
            "(another file, or one an older version built: run `roi run` on it again)",
            file=sys.stderr,
        )
        return EXIT_INVALID_INPUT
    return EXIT_OK


def explain(warehouse: Path, initiative: str, metric: str | None = None) -> str:
    """The chain of ``initiative``'s claim (one metric, or every one) in the published warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return explain_claim(con, initiative, metric, where=str(warehouse))


@dataclass(frozen=True)
class _Claim:
    """What the published marts say of one initiative's claim."""

    initiative: str
    roi: dict
    metrics: list[str]
    effects: pl.DataFrame
    catalogue: pl.DataFrame
    checks: pl.DataFrame
    money: pl.DataFrame
    grades: pl.DataFrame
    runs: pl.DataFrame
    cases: pl.DataFrame
    signoffs: pl.DataFrame
    series: pl.DataFrame
    power: pl.DataFrame
    weights: pl.DataFrame


def explain_claim(
    con: duckdb.DuckDBPyConnection, initiative: str, metric: str | None = None, *, where: str = "the warehouse"
) -> str:
    """The same, on an open connection (the report's page is made from the build's)."""
    claim = _read_claim(con, initiative, metric, where)
    r = claim.roi
    out = [f"{r['name']} ({initiative}) — as of {r['as_of']}, grade {r['grade']}", ""]
    out += _input_lines(claim.runs)
    for m in claim.metrics:
        out += _metric_lines(claim, m)
    out += ["", _roi_line(r)]
    out += [_case_line(c) for c in claim.cases.iter_rows(named=True)]
    return "\n".join(out)


def _read_claim(con: duckdb.DuckDBPyConnection, initiative: str, metric: str | None, where: str) -> _Claim:
    """The claim's rows of every mart the explanation cites (KeyError: no such initiative or metric)."""

    def rows(sql: str, *params) -> pl.DataFrame:
        return con.execute(sql, list(params)).pl()

    roi = rows("select * from marts.initiative_roi where initiative_id = ?", initiative)
    if roi.is_empty():
        known = ", ".join(
            r[0] for r in con.execute("select initiative_id from marts.initiative_roi order by 1").fetchall()
        )
        raise KeyError(f"no measured initiative {initiative!r} in {where} (measured: {known or 'none'})")
    effects = rows(
        "select * from marts.initiative_effects where initiative_id = ? order by metric, is_primary desc, method",
        initiative,
    )
    metrics = [metric] if metric else sorted(set(effects["metric"]))
    if metric and metric not in set(effects["metric"]):
        raise KeyError(
            f"initiative {initiative!r} has no estimate for metric {metric!r} "
            f"(its metrics: {', '.join(sorted(set(effects['metric'])))})"
        )
    return _Claim(
        initiative=initiative,
        roi=roi.row(0, named=True),
        metrics=metrics,
        effects=effects,
        catalogue=rows("select * from marts.metric_catalogue"),
        checks=rows(
            "select * from marts.claim_checks where initiative_id = ? order by metric nulls first, check_id",
            initiative,
        ),
        money=rows("select * from marts.initiative_metric_money where initiative_id = ?", initiative),
        grades=rows("select * from marts.claim_reliability where initiative_id = ?", initiative),
        runs=rows("select * from marts.runs order by ended_at desc limit 1"),
        cases=rows("select * from marts.business_cases where initiative_id = ?", initiative),
        signoffs=rows("select * from marts.claim_signoffs where initiative_id = ?", initiative),
        weights=rows(
            "select * from marts.donor_weights where initiative_id = ? order by metric, method, weight desc", initiative
        ),
        # only this claim's metrics: the report explains every initiative, and the series is the largest mart
        series=rows(
            "select metric, count(distinct unit_id) as units, count(*) as points, "
            "min(period_start) as first, max(period_start) as last "
            "from marts.metric_series where list_contains(?, metric) group by metric",
            metrics,
        ),
        power=rows("select * from marts.claim_power where initiative_id = ?", initiative),
    )


def _file_counts(f: dict) -> str:
    from connectors.landing import counts_in_words

    return counts_in_words(f["rows_loaded"], f.get("rows_unchanged", 0), f.get("rows_folded", 0), f["rows_rejected"])


def _input_lines(runs: pl.DataFrame) -> list[str]:
    """1. The last run's input files."""
    if not runs.height:
        return []
    run = runs.row(0, named=True)
    files = json.loads(run["input_files"]) if isinstance(run["input_files"], str) else run["input_files"] or []
    return [f"1. Inputs (marts.runs, raw.loaded_files; rejected rows in raw.rejected_rows) — run {run['run_id']}:"] + [
        f"   {f['dataset']}: {f['source_file']} ({_file_counts(f)}; sha256 {f['content_hash'][:12]}…)" for f in files
    ]


def _metric_lines(claim: _Claim, m: str) -> list[str]:
    """2.–6. One metric of the claim: its definition and series, estimates, checks, money, sign-off."""
    label = claim.catalogue.filter(pl.col("metric") == m)
    entry = label.row(0, named=True) if label.height else {}
    out = ["", f"== {entry.get('label') or m} ({m}) =="]
    if entry:
        out.append(
            f"2. Metric (marts.metric_catalogue): {entry.get('aggregation')} "
            f"of {entry.get('expression') or entry.get('dataset')} "
            f"from {entry.get('dataset')}, per unit and {entry.get('period')}"
            + (f", where {entry['filter']}" if entry.get("filter") else "")
        )
    s = claim.series.filter(pl.col("metric") == m)
    if s.height:
        x = s.row(0, named=True)
        out.append(
            f"   Series (marts.metric_series): {x['points']} unit-periods, {x['units']} units, "
            f"{x['first']} to {x['last']}"
        )
    out += _estimate_lines(claim.effects.filter(pl.col("metric") == m))
    out += _twin_lines(claim.effects.filter(pl.col("metric") == m), claim.weights.filter(pl.col("metric") == m))
    out += _trend_lines(claim.power.filter(pl.col("metric") == m), entry.get("label") or m)
    out += _check_lines(claim, m)
    out += [
        _money_line(x, claim.roi["currency"]) for x in claim.money.filter(pl.col("metric") == m).iter_rows(named=True)
    ]
    out += [_signoff_line(x) for x in claim.signoffs.filter(pl.col("metric") == m).iter_rows(named=True)]
    return out


def _estimate_lines(mine: pl.DataFrame) -> list[str]:
    """3.–4. The primary method and effect, and the other methods' estimates."""
    out = []
    for e in mine.filter(pl.col("is_primary")).iter_rows(named=True):
        out.append(
            f"3. Method (marts.initiative_effects, primary): {e['method']} — {e['pre_periods']} periods before, "
            f"{e['post_periods']} after (ramp-up left out), {e['n_treated_units']} treated and "
            f"{e['n_control_units']} comparison units; inference: {e['inference']}"
        )
        out.append(
            f"4. Effect: {_fmt(e['effect_abs'])} per unit and {e['period']} ({_fmt(e['effect_pct'])}%), "
            f"{e['confidence_level']:.0%} interval [{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}], "
            f"p = {_fmt(e['p_value'])}; "
            f"observed {_fmt(e['observed_value'])} against a counterfactual of {_fmt(e['counterfactual_value'])}"
            + (f". Note: {e['note']}" if e["note"] else "")
        )
    others = mine.filter(~pl.col("is_primary"))
    if others.height:
        out.append(
            "   Other methods: "
            + "; ".join(
                f"{o['method']} {_fmt(o['effect_abs'])} [{_fmt(o['ci_low'])}, {_fmt(o['ci_high'])}]"
                for o in others.iter_rows(named=True)
            )
        )
    return out


def _twin_lines(mine: pl.DataFrame, weights: pl.DataFrame) -> list[str]:
    """How the primary method was chosen (the backdated errors) and each synthetic twin's donors."""
    out = []
    errors = mine.filter(pl.col("backdated_rmse").is_not_null())
    if errors.height:
        out.append(
            "   Primary-method rule (initiative_effects.backdated_rmse: root mean square of each method's estimates "
            "at go-lives backdated into the before window, where the truth is zero; a method must stray "
            f"< {CLEARLY_BETTER}x the default's to take over): "
            + "; ".join(f"{e['method']} {_fmt(e['backdated_rmse'])}" for e in errors.iter_rows(named=True))
        )
    for (method,), twin in weights.partition_by("method", as_dict=True).items() if weights.height else []:
        out.append(
            f"   Synthetic twin of {method} (marts.donor_weights): "
            + ", ".join(f"{w['unit_id']} {w['weight']:.4f}" for w in twin.iter_rows(named=True) if w["weight"] >= 1e-4)
        )
    return out


def _trend_lines(power: pl.DataFrame, label: str) -> list[str]:
    """How far a departure from parallel trends could bend the claim (DiD claims)."""
    out = []
    for p in power.filter(pl.col("breakdown_rm").is_not_null()).iter_rows(named=True):
        out.append(
            f"   Sensitivity to trends (marts.claim_power): breakdown M-bar {_fmt(p['breakdown_rm'])} (relative "
            f"magnitudes, Rambachan & Roth 2023; event study on {p['breakdown_rm_pre_bins']} bins before and "
            f"{p['breakdown_rm_post_bins']} after go-live of {p['breakdown_rm_bin_periods']} {p['period']}s, "
            f"{p['breakdown_rm_covariance']}); linear-trend breakdown {_fmt(p['trend_breakdown_slope'])} per "
            f"{p['period']} ({_fmt(p['trend_breakdown_in_pre_se'])} standard errors of the trend before go-live)"
        )
        sentence = breakdown_sentence(p, label)
        if sentence:
            out.append(f"   {sentence}")
    return out


def _check_lines(claim: _Claim, m: str) -> list[str]:
    """5. Every claim check on the metric (and the initiative's own), and the grade."""
    out = ["5. Claim checks (marts.claim_checks; thresholds in raw.register_claim_thresholds):"]
    for c in claim.checks.filter((pl.col("metric") == m) | pl.col("metric").is_null()).iter_rows(named=True):
        counts = "" if c["counts_toward_grade"] else " (informational)"
        out.append(
            f"   {c['status']:<14} {c['check_id']}: observed {_fmt(c['observed'])}, "
            f"threshold {_fmt(c['threshold'])}{counts} — {c['message']}"
        )
    g = claim.grades.filter(pl.col("metric") == m)
    if g.height:
        out.append(f"   Grade (marts.claim_reliability): {g['grade'][0]}")
    return out


def _money_line(x: dict, currency: str) -> str:
    """6. How the metric was valued and counted."""
    if not x["valued"]:
        return f"6. Money: not valued in money ({x['value_source']})"
    return (
        f"6. Money (marts.initiative_metric_money): pool {x['pool']}, valued by {x['value_source']}; "
        f"{'counted' if x['counted'] else 'not counted (another metric of the pool is)'}"
        + (f", shared with {x['shared_with']} ({_fmt(x['share'])})" if x["shared_with"] else "")
        + f"; benefit {money(x['benefit'], currency)} "
        f"[{money(x['benefit_low'], currency)}, {money(x['benefit_high'], currency)}]"
    )


def _signoff_line(x: dict) -> str:
    """The latest decision on the claim, and whether it changed since."""
    if x["decision"] is None:
        return "   Sign-off (marts.claim_signoffs): nobody has signed this claim (roi signoff)."
    return (
        f"   Sign-off (marts.claim_signoffs; every decision in marts.signoff_log): {x['decision']} "
        f"by {x['signed_by']} on {x['signed_at']:%Y-%m-%d} of run {x['signed_run_id']} "
        f"({x['signed_method']} {_fmt(x['signed_effect_abs'])} "
        f"[{_fmt(x['signed_ci_low'])}, {_fmt(x['signed_ci_high'])}], {x['signed_grade']})"
        + (f"; CHANGED since: {x['change_reasons']}" if x["changed_since_signoff"] else "; unchanged since")
        + (f". Reason given: {x['comment']}" if x["comment"] else "")
    )


def _cash(value: float | None, currency: str) -> str:
    return money(value, currency) if value is not None else "—"


def _ratio(value: float | None) -> str:
    return percent(value) if value is not None else "—"


def _roi_line(r: dict) -> str:
    """7. Cost, benefit, ROI, payback, NPV and realisation (money in the currency, ROI and
    realisation in percent; with no metric valued, no benefit or ROI at all)."""
    c = r["currency"]
    cost = (
        "7. ROI (marts.initiative_roi; per month in marts.initiative_roi_periods): "
        f"cost to date {_cash(r['cost_to_date'], c)}"
    )
    if r.get("benefit_valued") is False:
        return f"{cost}; benefit not valued in money (no metric it is measured on has a price). How: docs/money.md."
    return (
        f"{cost}, benefit to date {_cash(r['benefit_to_date'], c)} "
        f"[{_cash(r['benefit_ci_low'], c)}, {_cash(r['benefit_ci_high'], c)}]; "
        f"ROI = (benefit − cost) ÷ cost = {_ratio(r['roi'])} [{_ratio(r['roi_ci_low'])}, {_ratio(r['roi_ci_high'])}]; "
        f"payback {r['payback_date'] or 'not yet'}, projected {r['projected_payback_date'] or '—'}; "
        f"NPV {_cash(r['npv'], c)} to {r['npv_horizon_end']}; "
        f"realisation {_ratio(r['realisation_rate'])} of the business case "
        f"({_cash(r['expected_annual_benefit'], c)} a year expected, "
        f"{_cash(r['annual_run_rate'], c)} run rate). How: docs/money.md."
    )


def _case_line(c: dict) -> str:
    """8. The business case as registered, and its edits since go-live."""
    when = (
        "before go-live"
        if c["registered_before_go_live"]
        else "after go-live (first seen live: nothing shows it predates the results)"
    )
    edits = (
        f"; edited {c['n_edits_after_go_live']} time(s) since, last on {c['last_edit_at']:%Y-%m-%d}"
        + (" after its results were visible" if c["edited_after_results"] else "")
        + (
            f" (differs now in: {c['edited_fields']}; realisation stays judged against the registered case)"
            if c["edited_fields"]
            else " (now as registered again)"
        )
        if c["n_edits_after_go_live"]
        else "; not edited since"
    )
    return (
        f"8. Business case (marts.business_cases; versions in marts.business_case_history): as recorded on "
        f"{c['registered_at']:%Y-%m-%d}, {when}, expecting {_fmt(c['registered_annual_benefit'])} a year" + edits
    )
