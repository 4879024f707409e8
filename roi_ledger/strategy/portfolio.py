"""Alignment of initiatives with objectives, and the priorities among proposals.

**Alignment** (every initiative): its objective, whether its measured metrics include the
objective's metric, and flags for no objective, an objective without a measurable metric, and
metrics it moved (primary interval excluding zero) that the objective does not care about.

**Priorities** (proposed and approved initiatives):

- ``annualised_cost`` = one-off costs / ``AMORTISATION_YEARS`` + monthly costs x 12;
- ``benefit_kind``: the money kind of its first monetary metric (hours, order_errors,
  defect_units, revenue, fixed) — what kind of benefit its business case promises;
- **track record**: each past (live or retired) initiative with a business case and a measured
  run rate has a realisation rate, run rate / expected annual benefit, clipped to
  [0, ``MAX_REALISATION``]. The business-wide rate shrinks their mean towards
  ``PRIOR_REALISATION`` with the weight of ``PRIOR_WEIGHT`` initiatives; the rate for a kind of
  benefit shrinks that kind's mean towards the business-wide rate with the weight of
  ``KIND_WEIGHT`` initiatives. With no history the prior applies;
- ``discounted_annual_benefit`` = expected annual benefit x the kind's rate;
- ``impact_score`` = discounted annual benefit / annualised cost (a benefit-cost ratio); high
  when >= ``HIGH_IMPACT``;
- ``feasibility_score`` = 6 - the mean of effort, complexity, integration and training need
  (1 hard ... 5 easy); high when >= ``HIGH_FEASIBILITY``; missing inputs leave it null;
- ``quadrant``: high impact and feasibility -> quick_win; high impact, low feasibility ->
  major_project; low impact, high feasibility -> fill_in; both low -> avoid;
- ranked by ``discounted_net_annual_value`` = discounted annual benefit - annualised cost
  (``rank_by_business_case`` shows the ranking the business cases alone would give).
"""

from __future__ import annotations

import polars as pl

from roi_ledger.catalogue import MetricDefinition, definition_of
from roi_ledger.register import Initiative, Register, Status
from roi_ledger.tables import schema

AMORTISATION_YEARS = 3
MAX_REALISATION = 2.0
PRIOR_REALISATION = 0.5
PRIOR_WEIGHT = 3.0
KIND_WEIGHT = 3.0
HIGH_IMPACT = 1.5
HIGH_FEASIBILITY = 3.0
PROPOSALS = (Status.PROPOSED, Status.APPROVED)


def benefit_kind(initiative: Initiative, catalogue: list[MetricDefinition]) -> str | None:
    for metric in initiative.metrics:
        definition = definition_of(catalogue, metric)
        if definition is not None and definition.money.kind != "none":
            return definition.money.kind
    return None


def annualised_cost(initiative: Initiative) -> float:
    total = 0.0
    for item in initiative.costs or []:
        total += item.amount / AMORTISATION_YEARS if item.kind == "one_off" else item.amount * 12
    return total


def initiative_alignment(register: Register, estimates: pl.DataFrame, metrics_in_data: set[str]) -> pl.DataFrame:
    objectives = {o.id: o for o in register.objectives}
    rows = []
    for initiative in register.initiatives:
        objective = objectives.get(initiative.objective) if initiative.objective else None
        objective_metric = objective.metric if objective else None
        moved = estimates.filter(
            (pl.col("initiative_id") == initiative.id)
            & pl.col("is_primary")
            & ((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0))
        )["metric"].to_list()
        rows.append(
            {
                "initiative_id": initiative.id,
                "status": initiative.status.value,
                "objective_id": initiative.objective,
                "objective_metric": objective_metric,
                "measures_objective_metric": objective_metric in initiative.metrics if objective_metric else False,
                "no_objective": objective is None,
                "objective_without_measurable_metric": objective is not None
                and (objective_metric is None or objective_metric not in metrics_in_data),
                "metrics_moved": ", ".join(moved) or None,
                "moved_metrics_outside_objective": ", ".join(m for m in moved if m != objective_metric) or None,
            }
        )
    return pl.DataFrame(rows, schema=schema("initiative_alignment"))


def track_record(
    register: Register, roi: pl.DataFrame, catalogue: list[MetricDefinition]
) -> tuple[float, dict[str, float], int]:
    """(business-wide realisation rate, rate by kind of benefit, initiatives it rests on)."""
    realised: list[tuple[str | None, float]] = []
    for row in roi.iter_rows(named=True):
        expected, rate = row["expected_annual_benefit"], row["annual_run_rate"]
        if not expected or expected <= 0 or rate is None:
            continue
        initiative = register.initiative(row["initiative_id"])
        realised.append((benefit_kind(initiative, catalogue), min(max(rate / expected, 0.0), MAX_REALISATION)))
    n = len(realised)
    business = (sum(r for _, r in realised) + PRIOR_WEIGHT * PRIOR_REALISATION) / (n + PRIOR_WEIGHT)
    kinds = {}
    for kind in {k for k, _ in realised if k}:
        rates = [r for k, r in realised if k == kind]
        kinds[kind] = (sum(rates) + KIND_WEIGHT * business) / (len(rates) + KIND_WEIGHT)
    return business, kinds, n


def portfolio_priorities(register: Register, roi: pl.DataFrame, catalogue: list[MetricDefinition]) -> pl.DataFrame:
    business_rate, kind_rates, history = track_record(register, roi, catalogue)
    rows = []
    for initiative in register.initiatives:
        if initiative.status not in PROPOSALS:
            continue
        expected = initiative.expected.annual_benefit if initiative.expected else None
        kind = benefit_kind(initiative, catalogue)
        rate = kind_rates.get(kind, business_rate)
        cost = annualised_cost(initiative)
        discounted = expected * rate if expected is not None else None
        feasibility = initiative.feasibility
        feasibility_score = (
            6 - (feasibility.effort + feasibility.complexity + feasibility.integration + feasibility.training_need) / 4
            if feasibility
            else None
        )
        impact = discounted / cost if discounted is not None and cost > 0 else None
        rows.append(
            {
                "initiative_id": initiative.id,
                "name": initiative.name,
                "status": initiative.status.value,
                "objective_id": initiative.objective,
                "planned_go_live": initiative.first_go_live,
                "benefit_kind": kind,
                "expected_annual_benefit": expected,
                "annualised_cost": cost,
                "effort": feasibility.effort if feasibility else None,
                "complexity": feasibility.complexity if feasibility else None,
                "integration": feasibility.integration if feasibility else None,
                "training_need": feasibility.training_need if feasibility else None,
                "track_record_rate": rate,
                "track_record_basis": (
                    f"{history} past initiative(s); {'kind ' + kind if kind in kind_rates else 'business-wide'} rate"
                ),
                "discounted_annual_benefit": discounted,
                "business_case_net_annual_value": expected - cost if expected is not None else None,
                "discounted_net_annual_value": discounted - cost if discounted is not None else None,
                "impact_score": impact,
                "feasibility_score": feasibility_score,
                "quadrant": _quadrant(impact, feasibility_score),
            }
        )
    frame = pl.DataFrame(rows, schema=schema("portfolio_priorities"))
    return frame.with_columns(
        pl.col("discounted_net_annual_value").rank("ordinal", descending=True).cast(pl.Int64).alias("rank"),
        pl.col("business_case_net_annual_value")
        .rank("ordinal", descending=True)
        .cast(pl.Int64)
        .alias("rank_by_business_case"),
    ).sort("rank", nulls_last=True)


def _quadrant(impact: float | None, feasibility: float | None) -> str | None:
    if impact is None or feasibility is None:
        return None
    high_impact, easy = impact >= HIGH_IMPACT, feasibility >= HIGH_FEASIBILITY
    if high_impact:
        return "quick_win" if easy else "major_project"
    return "fill_in" if easy else "avoid"
