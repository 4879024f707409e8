"""The morning report: one self-contained HTML page an owner reads (docs/report.md).

Written by every run beside the warehouse from the published marts: the portfolio in words and
figures, what changed since the last run, per initiative its metric over time against the
counterfactual, its cumulative benefit against cost, its grade with every reason in plain words,
the objectives scorecard and the prioritisation matrix. Charts are plotly's, with plotly.js
embedded once in the page: the file makes no network request, and reads the same when e-mailed.
Every figure comes from a mart; the words are ``roi_ledger.report.summary``'s.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from roi_ledger.claims.labels import Grade
from roi_ledger.effects.synthetic import weights_in_words
from roi_ledger.effects.twins import WEIGHTED_METHODS
from roi_ledger.report.summary import (
    GRADE_WORDS,
    Paragraph,
    breakdown_sentence,
    metric_units,
    paragraphs,
    portfolio_sentence,
)
from roi_ledger.strategy.portfolio import HIGH_FEASIBILITY, HIGH_IMPACT  # the quadrant lines (docs/strategy.md)
from roi_ledger.words import change, figure, money

MARTS = (
    "portfolio_roi",
    "initiative_roi",
    "initiative_roi_history",
    "initiative_roi_periods",
    "initiative_effects",
    "initiative_metric_money",
    "claim_reliability_reasons",
    "metric_catalogue",
    "counterfactual_series",
    "objective_progress",
    "portfolio_priorities",
    "runs",
    "claim_signoffs",
    "business_cases",
    "claim_power",
    "donor_weights",
)
DECISION_WORDS = {"accept": "accepted", "reject": "rejected", "defer": "deferred"}
STATUS_WORDS = {
    "achieved": "achieved",
    "on_track": "on track",
    "at_risk": "at risk",
    "missed": "missed",
    "not_measurable": "not measurable yet",
}
QUADRANT_WORDS = {"quick_win": "quick win", "major_project": "major project", "fill_in": "fill-in", "avoid": "avoid"}
COLOURS = {
    "treated": "#1f5f8b",
    "comparison": "#8a8a8a",
    "counterfactual": "#d9822b",
    "benefit": "#2e8b57",
    "cost": "#b03a2e",
}


@dataclass(frozen=True)
class Report:
    html: str
    charts: int


def _escape(text: object) -> str:
    return html.escape(str(text))


def _date(day: date | None) -> str:
    return f"{day:%d %B %Y}".lstrip("0") if day else "—"


class _Charts:
    """plotly figures as HTML fragments: the first carries plotly.js, the others reuse it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, figure: go.Figure, title: str) -> str:
        figure.update_layout(
            title=title,
            height=340,
            margin={"l": 50, "r": 20, "t": 50, "b": 40},
            template="plotly_white",
            legend={"orientation": "h", "y": -0.2},
        )
        fragment = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=self.count == 0,
            config={"displaylogo": False, "responsive": True},
        )
        self.count += 1
        return f'<figure class="chart" data-chart="{_escape(title)}">{fragment}</figure>'


def band_polygon(counterfactual: pl.DataFrame) -> tuple[list, list]:
    """The counterfactual's range as closed shapes plotly fills (``fill='toself'``): one per run
    of consecutive periods with both ends known (a phased initiative's stages, an estimate with
    no interval for some periods), separated by ``None``. Each runs along the high ends from the
    first period's start to the last period's end and back along the low ends, so one period
    draws as a box and a six-week initiative as a band, never as points."""
    rows = counterfactual.filter(pl.col("value_low").is_not_null() & pl.col("value_high").is_not_null())
    x: list = []
    y: list = []
    run: list[dict] = []
    for row in [*rows.sort("period_start").iter_rows(named=True), None]:
        if run and (row is None or row["period_start"] != run[-1]["period_end"]):
            starts = [r["period_start"] for r in run]
            x += [*starts, run[-1]["period_end"], run[-1]["period_end"], *starts[::-1], None]
            high, low = [r["value_high"] for r in run], [r["value_low"] for r in run]
            y += [*high, high[-1], low[-1], *low[::-1], None]
            run = []
        if row is not None:
            run.append(row)
    return x[:-1], y[:-1]


def series_figure(series: pl.DataFrame, go_live: date | None, label: str) -> go.Figure:
    """The metric over time: treated beside the comparison and the counterfactual band."""
    figure = go.Figure()
    band_x, band_y = band_polygon(series.filter(pl.col("series") == "counterfactual"))
    if band_x:
        figure.add_trace(
            go.Scatter(
                x=band_x,
                y=band_y,
                fill="toself",
                fillcolor="rgba(217,130,43,0.18)",
                mode="lines",  # plotly's default marks every vertex of a short trace: dots, not a band
                line={"width": 0},
                name="without it: range",
                hoverinfo="skip",
            )
        )
    twin = series.height and series["method"][0] in WEIGHTED_METHODS
    names = {
        "treated": "observed",
        "comparison": "synthetic twin (weighted donors, shifted)" if twin else "comparison units (shifted)",
        "counterfactual": "without it (estimate)",
    }
    for name in ("comparison", "counterfactual", "treated"):
        rows = series.filter(pl.col("series") == name).sort("period_start")
        if rows.height:
            figure.add_trace(
                go.Scatter(
                    x=rows["period_start"].to_list(),
                    y=rows["value"].to_list(),
                    name=names[name],
                    mode="lines" if rows.height > 1 else "lines+markers",  # one period: a point to see
                    line={
                        "color": COLOURS[name],
                        "dash": "dot" if name == "comparison" else "solid",
                        "width": 2.5 if name == "treated" else 1.8,
                    },
                )
            )
    ramp = series.filter(pl.col("stage") == "ramp")
    if ramp.height:
        figure.add_vrect(
            x0=ramp["period_start"].min(),
            x1=ramp["period_end"].max(),
            fillcolor="#eeeeee",
            line_width=0,
            annotation_text="ramp-up",
            annotation_position="bottom right",
        )
    if go_live is not None:
        figure.add_vline(x=go_live, line_dash="dash", line_color="#444444")
        figure.add_annotation(x=go_live, y=1.04, yref="paper", text="go-live", showarrow=False)
    figure.update_yaxes(title_text=label)
    return figure


def money_figure(periods: pl.DataFrame, currency: str, payback: date | None) -> go.Figure:
    """Cumulative benefit (with its range) against cumulative cost, and the payback point."""
    rows = periods.sort("period_start")
    x = rows["period_start"].to_list()
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=x + x[::-1],
            y=rows["cumulative_benefit_high"].to_list() + rows["cumulative_benefit_low"].reverse().to_list(),
            fill="toself",
            fillcolor="rgba(46,139,87,0.18)",
            line={"width": 0},
            name="benefit: range",
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x, y=rows["cumulative_benefit"].to_list(), name="benefit so far", line={"color": COLOURS["benefit"]}
        )
    )
    figure.add_trace(
        go.Scatter(x=x, y=rows["cumulative_cost"].to_list(), name="spent so far", line={"color": COLOURS["cost"]})
    )
    if payback is not None:
        at = rows.filter(pl.col("period_start") <= payback).tail(1)
        if at.height:
            figure.add_trace(
                go.Scatter(
                    x=[payback],
                    y=at["cumulative_cost"].to_list(),
                    mode="markers+text",
                    text=["paid back"],
                    textposition="top center",
                    marker={"size": 11, "color": "#222222"},
                    name="payback",
                )
            )
    figure.update_yaxes(title_text=currency)
    return figure


def matrix_figure(priorities: pl.DataFrame) -> go.Figure:
    """Impact (track-record-discounted benefit ÷ cost) against feasibility, with the quadrants."""
    rows = priorities.filter(pl.col("impact_score").is_not_null() & pl.col("feasibility_score").is_not_null())
    figure = go.Figure(
        go.Scatter(
            x=rows["feasibility_score"].to_list(),
            y=rows["impact_score"].to_list(),
            mode="markers+text",
            text=rows["name"].to_list(),
            textposition="top center",
            marker={"size": 12, "color": COLOURS["treated"]},
            customdata=rows["discounted_net_annual_value"].to_list(),
            hovertemplate=(
                "%{text}<br>feasibility %{x:.1f}, impact %{y:.2f}"
                "<br>net value a year, discounted: %{customdata:,.0f}<extra></extra>"
            ),
            name="initiatives",
        )
    )
    figure.add_hline(y=HIGH_IMPACT, line_dash="dot", line_color="#999999")
    figure.add_vline(x=HIGH_FEASIBILITY, line_dash="dot", line_color="#999999")
    for x, y, word in (
        (4.6, 0.97, "quick wins"),
        (1.4, 0.97, "major projects"),
        (4.6, 0.03, "fill-ins"),
        (1.4, 0.03, "avoid"),
    ):
        figure.add_annotation(x=x, y=y, yref="paper", text=word, showarrow=False, font={"color": "#777777"})
    figure.update_xaxes(title_text="feasibility (1 hard … 5 easy)", range=[0.8, 5.2])
    figure.update_yaxes(title_text="impact (discounted benefit ÷ cost)")
    return figure


def changes_since_last_run(history: pl.DataFrame, as_of: date) -> list[str]:
    """Grades that moved and claims that are new, against the previous run's as-of day."""
    earlier = history.filter(pl.col("as_of") < as_of)
    if earlier.is_empty():
        return ["This is the first run: nothing to compare with yet."]
    previous_day = earlier["as_of"].max()
    before = dict(earlier.filter(pl.col("as_of") == previous_day).select("initiative_id", "grade").iter_rows())
    now = history.filter(pl.col("as_of") == as_of)
    lines = []
    for row in now.sort("name").iter_rows(named=True):
        old = before.get(row["initiative_id"])
        if row["initiative_id"] not in before:
            lines.append(f"New: {row['name']} ({GRADE_WORDS.get(row['grade'] or Grade.NEEDS_MORE_DATA)}).")
        elif old != row["grade"]:
            was, now = (
                GRADE_WORDS.get(old or Grade.NEEDS_MORE_DATA),
                GRADE_WORDS.get(row["grade"] or Grade.NEEDS_MORE_DATA),
            )
            lines.append(f"{row['name']}: was “{was}”, now “{now}”.")
    return lines or [f"No grade changed since the run as of {_date(previous_day)}."]


def signoff_lines(signoffs: pl.DataFrame, labels: dict[str, str], names: dict[str, str]) -> list[str]:
    """The signed claims that changed since their sign-off, in words."""
    changed = signoffs.filter(pl.col("changed_since_signoff").fill_null(False))
    return [
        f"Changed since sign-off: {names.get(r['initiative_id'], r['initiative_id'])} — "
        f"{labels.get(r['metric'], r['metric'])}, "
        f"{DECISION_WORDS.get(r['decision'], r['decision'])} by {r['signed_by']} "
        f"on {_date(r['signed_at'].date())}: {r['change_reasons']}."
        for r in changed.sort("initiative_id", "metric").iter_rows(named=True)
    ]


def oversight_lines(
    initiative_id: str, signoffs: pl.DataFrame, cases: pl.DataFrame, labels: dict[str, str], currency: str
) -> list[str]:
    """Who signed each claim of one initiative, and whether its business case was edited."""
    lines = []
    for r in signoffs.filter(pl.col("initiative_id") == initiative_id).sort("metric").iter_rows(named=True):
        label = labels.get(r["metric"], r["metric"])
        if r["decision"] is None:
            lines.append(f"{label}: not signed off yet (roi signoff).")
            continue
        state = f"changed since: {r['change_reasons']}" if r["changed_since_signoff"] else "unchanged since"
        reason = f" — “{r['comment']}”" if r["comment"] else ""
        lines.append(
            f"{label}: {DECISION_WORDS.get(r['decision'], r['decision'])} by {r['signed_by']} "
            f"on {_date(r['signed_at'].date())}{reason}; {state}."
        )
    for c in cases.filter(pl.col("initiative_id") == initiative_id).iter_rows(named=True):
        if c["edited_fields"]:
            when = "after its results were visible" if c["edited_after_results"] else "after go-live"
            lines.append(
                f"Business case edited {when} ({c['edited_fields']}); judged against the case as registered on "
                f"{_date(c['registered_at'].date())}, "
                f"expecting {money(c['registered_annual_benefit'], currency)} a year."
            )
    return lines


def verdict_lines(
    initiative_id: str, power: pl.DataFrame, labels: dict[str, str], units: dict[str, str], currency: str
) -> list[str]:
    """For each claim not yet reliable: the smallest change it can detect, and how long until a
    verdict, in the metric's unit (``units``: marts.metric_catalogue.unit)."""
    lines = []
    for r in (
        power.filter((pl.col("initiative_id") == initiative_id) & (pl.col("grade") != Grade.RELIABLE))
        .sort("metric")
        .iter_rows(named=True)
    ):
        label = labels.get(r["metric"], r["metric"])
        unit = units.get(r["metric"], "number")
        detect = (
            f"{label}: with the data so far, only a change of {change(r['mde_abs'], unit, currency, sign=False)} "
            f"per unit and {r['period']} or more can be told apart from none"
        )
        if r["expected_effect_abs"] is None:
            lines.append(detect + " (the business case expects no figure for it).")
        else:
            lines.append(detect + _wait(r, change(r["expected_effect_abs"], unit, currency, sign=False)))
    return lines


def trend_lines(
    initiative_id: str, power: pl.DataFrame, money_by: pl.DataFrame, labels: dict[str, str], currency: str
) -> list[str]:
    """For each claim on comparison units: how far a trend could bend it (``breakdown_sentence``),
    in money where the claim is valued."""
    benefits = {
        r["metric"]: money(r["benefit"], currency)
        for r in money_by.filter((pl.col("initiative_id") == initiative_id) & pl.col("valued")).iter_rows(named=True)
        if r["benefit"] is not None
    }
    lines = []
    for r in power.filter(pl.col("initiative_id") == initiative_id).sort("metric").iter_rows(named=True):
        line = breakdown_sentence(r, labels.get(r["metric"], r["metric"]), benefits.get(r["metric"]))
        if line:
            lines.append(line)
    return lines


def twin_lines(initiative_id: str, effects: pl.DataFrame, weights: pl.DataFrame, labels: dict[str, str]) -> list[str]:
    """For each claim whose primary estimate is a synthetic twin: which donors it mixes, in words."""
    lines = []
    primary = effects.filter(
        (pl.col("initiative_id") == initiative_id)
        & pl.col("is_primary")
        & pl.col("method").is_in(list(WEIGHTED_METHODS))
    )
    for r in primary.sort("metric").iter_rows(named=True):
        mine = weights.filter(
            (pl.col("initiative_id") == initiative_id)
            & (pl.col("metric") == r["metric"])
            & (pl.col("method") == r["method"])
        )
        mix = weights_in_words(dict(zip(mine["unit_id"], mine["weight"], strict=True)))
        if mix:
            method = "synthetic DiD" if r["method"] == "synthetic_did" else "synthetic control"
            why = (
                ": the site did not move like the comparison units' average, and this mix did"
                if "primary because" in r["note"]
                else ""
            )
            label = labels.get(r["metric"], r["metric"])
            lines.append(f"{label} is compared with a synthetic twin of the site built from {mix} ({method}{why}).")
    return lines


def _wait(r: dict, expected: str) -> str:
    """The rest of a claim's power line: how long until the grade's own rule can decide
    (``expected``: the business case's change, in words)."""
    unit = f"{r['period']}s"
    if r["verdict_basis"] == "now":
        return f"; the expected {expected} can be judged now."
    if r["verdict_basis"] == "expected":
        if r["verdict_reachable"] is False:
            return f"; the expected {expected} cannot be, however long it runs, with these comparison units."
        return f"; about {r['periods_to_verdict']} more {unit} until the expected {expected} can be judged."
    found = "The data could already detect the expected change and do not: it is probably smaller"
    if r["verdict_reachable"] is False:
        return f". {found}, and the change measured so far could not be told apart from none however long it runs."
    return (
        f". {found}; if it stays at its measured size, about {r['periods_to_verdict']} more {unit} "
        "until it can be told apart from none."
    )


def build_report(tables: dict[str, pl.DataFrame], business: str, explanations: dict[str, str] | None = None) -> Report:
    """The page, from the marts (``MARTS``) of one published warehouse; ``explanations`` are
    each initiative's ``roi explain`` text, shown under it."""
    explanations = explanations or {}
    charts = _Charts()
    roi, portfolio = tables["initiative_roi"], tables["portfolio_roi"]
    currency = portfolio["currency"][0] if portfolio.height else ""
    as_of = portfolio["as_of"][0] if portfolio.height else None
    catalogue = tables["metric_catalogue"]
    labels = dict(zip(catalogue["metric"], catalogue["label"]))
    found = {
        p.initiative_id: p
        for p in paragraphs(
            roi,
            tables["initiative_effects"],
            tables["initiative_metric_money"],
            tables["claim_reliability_reasons"],
            catalogue,
        )
    }
    parts = [f"<h1>Morning report — {_escape(business)}</h1>", f'<p class="as-of">Measured up to {_date(as_of)}.</p>']
    if portfolio.height:
        parts += _portfolio_tiles(portfolio.row(0, named=True), currency)
    parts += _since_last_run(tables, as_of, labels)
    parts.append("<h2>Initiative by initiative</h2>")
    for initiative_id, paragraph in found.items():
        row = roi.filter(pl.col("initiative_id") == initiative_id).row(0, named=True)
        parts += _initiative_section(row, paragraph, tables, labels, currency, charts, explanations.get(initiative_id))
    parts += _objectives_table(tables["objective_progress"], labels, metric_units(catalogue), currency)
    parts += _priorities(tables["portfolio_priorities"], currency, charts)
    parts.append(
        '<p class="foot">Every figure comes from the published tables (marts.*) of the warehouse; '
        "how each is made: docs/money.md, docs/claims.md, docs/effects.md.</p>"
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Morning report — {_escape(business)} — {_date(as_of)}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>"
    )
    return Report(page, charts.count)


def _portfolio_tiles(p: dict, currency: str) -> list[str]:
    """The portfolio in one sentence and five figures (a row of ``marts.portfolio_roi``); with no
    initiative valued in money, its benefit and net say so rather than £0."""
    valued = p.get("n_valued", p["n_initiatives"]) > 0
    net = (p["benefit_to_date"] or 0) - (p["cost_to_date"] or 0)
    if valued:
        benefit = _escape(money(p["benefit_to_date"], currency))
        benefit_range = f"between {money(p['benefit_ci_low'], currency)} and {money(p['benefit_ci_high'], currency)}"
        net_figure = _escape(money(net, currency))
    else:
        benefit, benefit_range, net_figure = "not valued", "nothing measured has a price", "not valued"
    return [
        f'<p class="lead" data-figure="portfolio">{_escape(portfolio_sentence(p))}</p>',
        '<div class="tiles">'
        f'<div class="tile"><b data-mart="portfolio_roi.benefit_to_date">{benefit}</b>'
        f"benefit so far<br><small>{_escape(benefit_range)}</small></div>"
        f'<div class="tile"><b data-mart="portfolio_roi.cost_to_date">{_escape(money(p["cost_to_date"], currency))}</b>'
        "spent so far</div>"
        f'<div class="tile"><b data-mart="portfolio_roi.net">{net_figure}</b>net so far</div>'
        f'<div class="tile"><b data-mart="portfolio_roi.n_reliable">{p["n_reliable"]} of {p["n_initiatives"]}</b>'
        "claims the data support</div>"
        '<div class="tile"><b data-mart="portfolio_roi.benefit_signed_off">'
        f"{_escape(money(p['benefit_signed_off'], currency))}</b>"
        "of the benefit rests on claims a person signed off</div>"
        "</div>",
    ]


def _since_last_run(tables: dict[str, pl.DataFrame], as_of: date | None, labels: dict[str, str]) -> list[str]:
    """Grades that moved, signed claims that changed and the rows the last run landed."""
    parts = ["<h2>Since the last run</h2><ul>"]
    parts += (
        [f"<li>{_escape(line)}</li>" for line in changes_since_last_run(tables["initiative_roi_history"], as_of)]
        if as_of
        else []
    )
    roi = tables["initiative_roi"]
    names = dict(zip(roi["initiative_id"], roi["name"]))
    parts += [
        f'<li class="changed-since-signoff">{_escape(line)}</li>'
        for line in signoff_lines(tables["claim_signoffs"], labels, names)
    ]
    runs = tables["runs"].sort("ended_at") if tables["runs"].height else tables["runs"]
    if runs.height:
        last = runs.row(-1, named=True)
        rejected = last["rows_rejected"] or 0
        parts.append(
            f"<li>{last['rows_loaded']:,} new rows landed; "
            + (
                f"{rejected:,} rows were rejected and kept with their reasons in raw.rejected_rows.</li>"
                if rejected
                else "none was rejected.</li>"
            )
        )
    parts.append("</ul>")
    return parts


def _initiative_section(
    row: dict,
    paragraph: Paragraph,
    tables: dict[str, pl.DataFrame],
    labels: dict[str, str],
    currency: str,
    charts: _Charts,
    explanation: str | None,
) -> list[str]:
    """One initiative (``row`` of ``marts.initiative_roi``): its paragraph, what oversight says,
    its metrics against their counterfactuals, its benefit against cost and its ``roi explain``."""
    initiative_id = row["initiative_id"]
    grade = row["grade"] or Grade.NEEDS_MORE_DATA.value
    parts = [f'<section class="initiative grade-{_escape(grade)}" id="{_escape(initiative_id)}">']
    parts.append(f"<h3>{_escape(paragraph.title)}</h3><ul>")
    parts += [f"<li>{_escape(line)}</li>" for line in paragraph.lines]
    parts.append("</ul>")
    overseen = twin_lines(initiative_id, tables["initiative_effects"], tables["donor_weights"], labels)
    units = metric_units(tables["metric_catalogue"])
    overseen += verdict_lines(initiative_id, tables["claim_power"], labels, units, currency)
    overseen += trend_lines(initiative_id, tables["claim_power"], tables["initiative_metric_money"], labels, currency)
    overseen += oversight_lines(initiative_id, tables["claim_signoffs"], tables["business_cases"], labels, currency)
    if overseen:
        parts.append('<ul class="oversight">' + "".join(f"<li>{_escape(line)}</li>" for line in overseen) + "</ul>")
    drawn = tables["counterfactual_series"].filter(pl.col("initiative_id") == initiative_id)
    for (metric,), one in drawn.partition_by("metric", as_dict=True).items() if drawn.height else []:
        label = labels.get(metric, metric)
        parts.append(charts(series_figure(one, row["first_go_live"], label), f"{row['name']}: {label}"))
    money_by = tables["initiative_metric_money"]
    valued = money_by.filter((pl.col("initiative_id") == initiative_id) & pl.col("valued")).height > 0
    mine = tables["initiative_roi_periods"].filter(pl.col("initiative_id") == initiative_id)
    if valued and mine.height:
        payback = row["payback_date"] if grade == Grade.RELIABLE else None  # no payback point while unreliable
        parts.append(charts(money_figure(mine, currency, payback), f"{row['name']}: benefit against cost"))
    if explanation is not None:
        parts.append(
            '<details class="explain"><summary>How these numbers were made (roi explain)</summary>'
            f"<pre>{_escape(explanation)}</pre></details>"
        )
    parts.append("</section>")
    return parts


def _objectives_table(
    objectives: pl.DataFrame, labels: dict[str, str], units: dict[str, str], currency: str
) -> list[str]:
    """The objectives scorecard (``marts.objective_progress``), its levels in each metric's unit;
    nothing without objectives."""
    if not objectives.height:
        return []
    parts = [
        "<h2>Objectives</h2><table><tr><th>objective</th><th>measured on</th><th>before</th><th>now</th>"
        "<th>target</th><th>change</th><th>status</th></tr>"
    ]
    for o in objectives.iter_rows(named=True):
        change = f"{o['change_pct']:+.1f}%" if o["change_pct"] is not None else "—"
        target = (
            f"{o['target_change_pct']:+.0f}% by {_date(o['deadline'])}" if o["target_change_pct"] is not None else "—"
        )
        status = STATUS_WORDS.get(o["status"], o["status"])
        unit = units.get(o["metric"], "number")
        before, now = (_level(o[c], unit, currency) for c in ("baseline_value", "current_value"))
        parts.append(
            f"<tr><td>{_escape(o['statement'])}</td><td>{_escape(labels.get(o['metric'], o['metric']))}</td>"
            f"<td>{_escape(before)}</td><td>{_escape(now)}</td>"
            f"<td>{_escape(target)}</td><td>{change}</td>"
            f'<td class="status-{_escape(o["status"])}">{_escape(status)}</td></tr>'
        )
    parts.append("</table>")
    return parts


def _priorities(priorities: pl.DataFrame, currency: str, charts: _Charts) -> list[str]:
    """What to do next: the prioritisation matrix and the ranking (``marts.portfolio_priorities``)."""
    if not priorities.height:
        return []
    parts = [
        "<h2>What to do next</h2><p>Proposed and approved initiatives by impact — their business case "
        "discounted by how well this business's past initiatives delivered theirs — and feasibility.</p>",
        charts(matrix_figure(priorities), "Prioritisation matrix"),
        "<table><tr><th>initiative</th><th>quadrant</th><th>net value a year, discounted</th></tr>",
    ]
    for r in priorities.sort("discounted_net_annual_value", descending=True, nulls_last=True).iter_rows(named=True):
        quadrant = QUADRANT_WORDS.get(r["quadrant"], r["quadrant"] or "—")
        parts.append(
            f"<tr><td>{_escape(r['name'])}</td><td>{_escape(quadrant)}</td>"
            f"<td>{_escape(money(r['discounted_net_annual_value'], currency))}</td></tr>"
        )
    parts.append("</table>")
    return parts


def _level(value: float | None, unit: str, currency: str) -> str:
    return figure(value, unit, currency) if value is not None else "—"


STYLE = (
    """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:980px;margin:0 auto;padding:24px}
h1{margin-bottom:4px}.as-of{color:#666;margin-top:0}.lead{font-size:1.1em}
.tiles{display:flex;gap:12px;flex-wrap:wrap}"""
    """.tile{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;min-width:180px}
.tile b{display:block;font-size:1.4em}
section.initiative{background:#fff;border:1px solid #ddd;border-left:6px solid #999;border-radius:6px;"""
    """padding:4px 16px 12px;margin:16px 0}
.grade-reliable{border-left-color:#2e8b57!important}.grade-suspicious,.grade-unreliable{border-left-color:#b03a2e!important}
.grade-needs_more_data{border-left-color:#d9a02b!important}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border:1px solid #ddd;padding:6px 8px;text-align:left}
figure.chart{margin:8px 0}ul.oversight{color:#444}.changed-since-signoff{color:#b03a2e}
details.explain pre{white-space:pre-wrap;font-size:.85em;background:#f4f4f4;padding:8px}.foot{color:#666;font-size:.9em}
.status-at_risk,.status-missed{color:#b03a2e}.status-on_track,.status-achieved{color:#2e8b57}
"""
)
