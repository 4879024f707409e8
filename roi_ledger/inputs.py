"""Check everything a run reads — the register, the catalogue and the data files — before any
write. ``roi validate`` runs exactly this; ``roi run`` runs it first and stops on a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.files import ContractError, DataInventory, inventory
from roi_ledger.catalogue import CatalogueError, MetricDefinition, catalogue_entries, known_metric_names, load_catalogue
from roi_ledger.register import Register, RegisterError, check_against_data, load_register

InputError = (RegisterError, ContractError, CatalogueError)


@dataclass(frozen=True)
class ValidatedInputs:
    register: Register
    inventory: DataInventory
    catalogue: list[MetricDefinition]
    catalogue_entries: list[dict]
    metrics: set[str]


def validate_inputs(config: Path, data_dir: Path) -> ValidatedInputs:
    """Raise one of ``InputError`` with a message naming file, initiative/row and field."""
    register = load_register(config)
    catalogue = load_catalogue(register.catalogue, source=str(config))
    found = inventory(data_dir)
    metrics = known_metric_names(catalogue, split_values=found.split_values, kpi_metrics=found.kpi_metrics)
    check_against_data(register, str(config), units=found.units, metrics=metrics)
    return ValidatedInputs(
        register=register,
        inventory=found,
        catalogue=catalogue,
        catalogue_entries=catalogue_entries(register.catalogue, source=str(config)),
        metrics=metrics,
    )


def register_tables(register: Register) -> dict[str, pl.DataFrame]:
    """The register as tables for SQL users and the dbt marts (``raw.register_*``)."""
    initiatives, units, metrics, costs = [], [], [], []
    for i in register.initiatives:
        feasibility = i.feasibility.model_dump() if i.feasibility else {}
        initiatives.append(
            {
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
        )
        for phase_number, phase in enumerate(i.rollout, start=1):
            units += [
                {"initiative_id": i.id, "unit_id": u, "role": "treated", "phase": phase_number, "go_live": phase.go_live}
                for u in phase.units
            ]
        units += [
            {"initiative_id": i.id, "unit_id": u, "role": "control", "phase": None, "go_live": None}
            for u in i.control_units or []
        ]
        changes = i.expected.changes if i.expected else {}
        metrics += [
            {"initiative_id": i.id, "metric": m, "expected_change_pct": changes.get(m)} for m in i.metrics
        ]
        for c in i.costs or []:
            costs.append(
                {
                    "initiative_id": i.id,
                    "kind": c.kind,
                    "amount": c.amount,
                    "on_date": getattr(c, "date", None),
                    "start_date": getattr(c, "start", None),
                    "end_date": getattr(c, "end", None),
                }
            )
    objectives = [
        {"objective_id": o.id} | o.model_dump(exclude={"id"}) for o in register.objectives
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
    }


_BUSINESS_SCHEMA = {
    "name": pl.String, "currency": pl.String, "timezone": pl.String, "loaded_hourly_cost": pl.Float64,
    "discount_rate": pl.Float64, "cost_per_order_error": pl.Float64, "cost_per_defect_unit": pl.Float64,
    "gross_margin": pl.Float64,
}
_OBJECTIVE_SCHEMA = {
    "objective_id": pl.String, "statement": pl.String, "metric": pl.String,
    "target_change_pct": pl.Float64, "deadline": pl.Date, "owner": pl.String,
}
_INITIATIVE_SCHEMA = {
    "initiative_id": pl.String, "name": pl.String, "objective_id": pl.String, "owner": pl.String,
    "status": pl.String, "first_go_live": pl.Date, "retired_on": pl.Date, "ramp_up_days": pl.Int64,
    "is_staggered": pl.Boolean, "controls_declared": pl.Boolean, "expected_annual_benefit": pl.Float64,
    "feasibility_effort": pl.Int64, "feasibility_complexity": pl.Int64,
    "feasibility_integration": pl.Int64, "feasibility_training_need": pl.Int64,
}
_UNIT_SCHEMA = {"initiative_id": pl.String, "unit_id": pl.String, "role": pl.String, "phase": pl.Int64, "go_live": pl.Date}
_METRIC_SCHEMA = {"initiative_id": pl.String, "metric": pl.String, "expected_change_pct": pl.Float64}
_COST_SCHEMA = {
    "initiative_id": pl.String, "kind": pl.String, "amount": pl.Float64,
    "on_date": pl.Date, "start_date": pl.Date, "end_date": pl.Date,
}
