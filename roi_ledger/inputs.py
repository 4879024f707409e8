"""Check everything a run reads — the register, the catalogue and the data files — before any
write. ``roi validate`` runs exactly this; ``roi run`` runs it first and stops on a problem.

The register and catalogue arrive parsed in the run's context; what the data holds arrives as
an inventory (``connectors.files.inventory``), so this module reads no file itself.
"""

from __future__ import annotations

import polars as pl

from roi_ledger.catalogue import CatalogueError, known_metric_names
from roi_ledger.contract import ContractError, DataInventory
from roi_ledger.privacy import SaltError
from roi_ledger.register import Initiative, Register, RegisterError, check_against_data
from roi_ledger.run_context import RunContext

InputError = (RegisterError, ContractError, CatalogueError, SaltError)


def check_inputs(context: RunContext, found: DataInventory) -> set[str]:
    """The metric names the register may use; raises ``RegisterError`` naming file,
    initiative and field for a unit or metric the data does not have."""
    metrics = known_metric_names(
        list(context.catalogue), split_values=found.split_values, kpi_metrics=found.kpi_metrics
    )
    # A dataset pulled from a database or an API is known only once pulled: ``roi validate`` reads
    # a sample of it, so its units (and the activities and KPI names it brings) are not checked
    # there; a run checks them against what it pulled (``register_matches_data``).
    complete = not found.pulled
    check_against_data(
        context.register,
        str(context.config_path),
        units=found.units if complete else None,
        metrics=metrics if complete or not ({"hours", "kpis"} & found.pulled) else None,
    )
    return metrics


def register_tables(register: Register) -> dict[str, pl.DataFrame]:
    """The register as tables for SQL users and the dbt marts (``raw.register_*``)."""
    initiatives, units, metrics, costs = [], [], [], []
    for i in register.initiatives:
        initiatives.append(_initiative_row(i))
        units += _unit_rows(i)
        changes = i.expected.changes if i.expected else {}
        metrics += [
            {"initiative_id": i.id, "metric": m, "expected_change_pct": changes.get(m), "role": "goal"}
            for m in i.metrics
        ]
        metrics += [
            {"initiative_id": i.id, "metric": g.metric, "role": "guardrail", "guardrail_margin_pct": g.margin_pct}
            for g in i.guardrails
        ]
        costs += _cost_rows(i)
    objectives = [{"objective_id": o.id} | o.model_dump(exclude={"id"}) for o in register.objectives]
    # Every claim-check threshold as it applies: the business's (initiative null), then each
    # initiative's with its overrides. dbt reads the outlier cap shares from here.
    thresholds = [
        {"initiative_id": i.id if i else None, "threshold": name, "value": float(value)}
        for i in [None, *register.initiatives]
        for name, value in register.thresholds_for(i).model_dump().items()
    ]
    business = register.business
    return {
        "register_business": pl.DataFrame(
            [
                {
                    "name": business.name,
                    "currency": business.currency,
                    "timezone": business.timezone,
                    "loaded_hourly_cost": business.loaded_hourly_cost,
                    "discount_rate": business.discount_rate,
                    "confidence_level": business.confidence_level,
                    **business.values.model_dump(),
                }
            ],
            schema=_BUSINESS_SCHEMA,
        ),
        "register_objectives": pl.DataFrame(objectives, schema=_OBJECTIVE_SCHEMA),
        "register_initiatives": pl.DataFrame(initiatives, schema=_INITIATIVE_SCHEMA),
        "register_initiative_units": pl.DataFrame(units, schema=_UNIT_SCHEMA),
        "register_initiative_metrics": pl.DataFrame(metrics, schema=_METRIC_SCHEMA),
        "register_costs": pl.DataFrame(costs, schema=_COST_SCHEMA),
        "register_claim_thresholds": pl.DataFrame(thresholds, schema=_THRESHOLD_SCHEMA),
    }


def _initiative_row(i: Initiative) -> dict:
    feasibility = i.feasibility.model_dump() if i.feasibility else {}
    return {
        "initiative_id": i.id,
        "name": i.name,
        "objective_id": i.objective,
        "owner": i.owner,
        "status": i.status.value,
        "first_go_live": i.first_go_live,
        "retired_on": i.retired_on,
        "ramp_up_days": i.ramp_up_days,
        "is_staggered": i.is_staggered,
        "controls_declared": i.control_units is not None,
        "expected_annual_benefit": i.expected.annual_benefit if i.expected else None,
        **{f"feasibility_{k}": feasibility.get(k) for k in ("effort", "complexity", "integration", "training_need")},
    }


def _unit_rows(i: Initiative) -> list[dict]:
    """The treated units of each phase, then the declared control units."""
    units = []
    for phase_number, phase in enumerate(i.rollout, start=1):
        units += [
            {"initiative_id": i.id, "unit_id": u, "role": "treated", "phase": phase_number, "go_live": phase.go_live}
            for u in phase.units
        ]
    return units + [
        {"initiative_id": i.id, "unit_id": u, "role": "control", "phase": None, "go_live": None}
        for u in i.control_units or []
    ]


def _cost_rows(i: Initiative) -> list[dict]:
    return [
        {
            "initiative_id": i.id,
            "kind": c.kind,
            "amount": c.amount,
            "on_date": getattr(c, "date", None),
            "start_date": getattr(c, "start", None),
            "end_date": getattr(c, "end", None),
        }
        for c in i.costs or []
    ]


_BUSINESS_SCHEMA = {
    "name": pl.String,
    "currency": pl.String,
    "timezone": pl.String,
    "loaded_hourly_cost": pl.Float64,
    "discount_rate": pl.Float64,
    "confidence_level": pl.Float64,
    "cost_per_order_error": pl.Float64,
    "cost_per_defect_unit": pl.Float64,
    "gross_margin": pl.Float64,
}
_OBJECTIVE_SCHEMA = {
    "objective_id": pl.String,
    "statement": pl.String,
    "metric": pl.String,
    "target_change_pct": pl.Float64,
    "deadline": pl.Date,
    "owner": pl.String,
}
_INITIATIVE_SCHEMA = {
    "initiative_id": pl.String,
    "name": pl.String,
    "objective_id": pl.String,
    "owner": pl.String,
    "status": pl.String,
    "first_go_live": pl.Date,
    "retired_on": pl.Date,
    "ramp_up_days": pl.Int64,
    "is_staggered": pl.Boolean,
    "controls_declared": pl.Boolean,
    "expected_annual_benefit": pl.Float64,
    "feasibility_effort": pl.Int64,
    "feasibility_complexity": pl.Int64,
    "feasibility_integration": pl.Int64,
    "feasibility_training_need": pl.Int64,
}
_UNIT_SCHEMA = {
    "initiative_id": pl.String,
    "unit_id": pl.String,
    "role": pl.String,
    "phase": pl.Int64,
    "go_live": pl.Date,
}
_METRIC_SCHEMA = {
    "initiative_id": pl.String,
    "metric": pl.String,
    "expected_change_pct": pl.Float64,
    "role": pl.String,  # goal: counted as the initiative's benefit; guardrail: must not get worse
    "guardrail_margin_pct": pl.Float64,
}
_THRESHOLD_SCHEMA = {"initiative_id": pl.String, "threshold": pl.String, "value": pl.Float64}
_COST_SCHEMA = {
    "initiative_id": pl.String,
    "kind": pl.String,
    "amount": pl.Float64,
    "on_date": pl.Date,
    "start_date": pl.Date,
    "end_date": pl.Date,
}
