"""The demo's initiative register: ``register_template.yml`` with this period's dates filled in."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from string import Template

from roi_ledger.demo.world import (
    BUSINESS_VALUES,
    LOADED_HOURLY_COST,
    _World,
)

# --- The register ------------------------------------------------------------------------

# The register, a YAML file with $placeholders for the dates of the period (string.Template).
_REGISTER = Template((Path(__file__).with_name("register_template.yml")).read_text(encoding="utf-8"))

# Planned initiatives: weeks after the end of the data until their go-live (a Monday).
# The second phase of pos_order_checks (the central shop) is planned this many weeks after the
# data end: its money is projected from the effect measured on the first phase.
POS_ORDER_CHECKS_PHASE_2_WEEKS_AHEAD = 6
_PLANNED_WEEKS_AHEAD = {"demand_forecasting": 7, "online_catering_quotes": 10, "loyalty_app": 14}


def _register_text(world: _World) -> str:
    """The register with this period's dates filled in."""
    dates: dict[str, date] = {
        "deadline_this_year": date(world.cal.end.year, 12, 31),
        "deadline_next_year": date(world.cal.end.year + 1, 6, 30),
    }

    def add(name: str, go_live: date) -> None:
        dates[f"{name}_go_live"] = go_live
        dates[f"{name}_bought"] = go_live - timedelta(weeks=4)  # the one-off cost
        dates[f"{name}_billed"] = go_live.replace(day=1)  # monthly costs start

    for name, rollout in world.rollouts.items():
        add(name, rollout.first_go_live)
    phases = sorted(set(world.rollouts["self_checkout"].go_live.values()))
    for number, go_live in enumerate(phases, start=1):
        dates[f"self_checkout_phase_{number}"] = go_live
        dates[f"self_checkout_bought_{number}"] = go_live - timedelta(weeks=4)
    dates["faq_chatbot_retired"] = world.rollouts["faq_chatbot"].retired_on
    dates["festive_upsell_widget_retired"] = world.rollouts["festive_upsell_widget"].retired_on
    dates["pos_order_checks_phase_2"] = world.cal.end + timedelta(days=1, weeks=POS_ORDER_CHECKS_PHASE_2_WEEKS_AHEAD)
    dates["deadline_next_year_end"] = date(world.cal.end.year + 1, 12, 31)
    for name, weeks in _PLANNED_WEEKS_AHEAD.items():
        add(name, world.cal.end + timedelta(days=1, weeks=weeks))
    values = {key: str(value) for key, value in BUSINESS_VALUES.items()}
    return _REGISTER.substitute(
        {key: value.isoformat() for key, value in dates.items()},
        loaded_hourly_cost=str(LOADED_HOURLY_COST),
        **values,
    )


