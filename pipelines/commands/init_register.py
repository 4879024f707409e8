"""The commented ``initiatives.yml`` that ``roi init`` writes: one business, one objective, one
initiative, every value chosen from the data so the file passes ``roi validate`` as written
(a real unit, a metric the data can compute, a go-live inside the data's range), each field
commented with what to put there (docs/register.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import yaml

from roi_ledger.catalogue import SPLIT_PLACEHOLDER, MetricDefinition, definition_of

# The metrics an automation most often moves, in the order ``roi init`` suggests them: the first
# the data can compute is the initiative's until the owner says otherwise. The rest of the
# computable metrics follow in the catalogue's order. (order_error_rate is not among them: the
# Shopify and Zendesk presets fill has_error with a constant, so it would not move.)
SUGGESTED_METRICS = (
    "order_fulfilment_hours",
    "ticket_first_response_minutes",
    "ticket_resolution_hours",
    "hours_per_order",
    "orders_per_week",
    "revenue_per_week",
    "csat_mean",
)
PLACEHOLDER_CURRENCY = "XXX"  # ISO 4217's "no currency": valid, and plainly not yours
PLACEHOLDER_TIMEZONE = "UTC"


@dataclass
class Draft:
    """What the register says, before it is written: the guesses and the answers."""

    currency: str
    currency_from: str  # where the guess came from ("" when none could be made)
    timezone: str
    timezone_from: str
    name: str  # what was automated
    units: list[str]
    go_live: date
    metric: str
    one_off: float | None = None
    one_off_date: date | None = None
    monthly: float | None = None
    guardrail: tuple[str, float] | None = None  # (metric, margin in percent)
    business: str = "Your business"
    # for the comments: the units the data holds, and the metrics it can compute
    unit_notes: list[str] = field(default_factory=list)
    computable: list[str] = field(default_factory=list)
    data_range: tuple[date, date] | None = None
    answered: bool = False  # the owner answered the questions (roi init --interactive)


def flow(value) -> str:
    """``value`` as YAML writes it inline (quoted where it has to be)."""
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False).strip()
    return text[1:-1]


def slug(text: str, fallback: str) -> str:
    """An id made from a name: lower case, letters and digits joined by '_'."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "_".join(words)[:60].strip("_") or fallback


def metric_label(metric: str, catalogue: list[MetricDefinition]) -> str | None:
    """The catalogue's label of ``metric``, a template's ``{column}`` filled from the name."""
    definition = definition_of(catalogue, metric)
    if definition is None or not definition.label:
        return None
    before, after = SPLIT_PLACEHOLDER.split(definition.name, maxsplit=1)[0::2] if definition.is_template else ("", "")
    value = metric.removeprefix(before).removesuffix(after).replace("_", " ")
    return SPLIT_PLACEHOLDER.sub(value, definition.label)


def objective_statement(metric: str, catalogue: list[MetricDefinition]) -> str:
    definition = definition_of(catalogue, metric)
    if definition is None:
        return f"Improve {metric}"
    label = metric_label(metric, catalogue) or metric
    verb = "Lower" if definition.good_direction == "down" else "Raise"
    return f"{verb} the {label[0].lower()}{label[1:]}"


def render(draft: Draft, catalogue: list[MetricDefinition], *, written_on: date, data_dir: str) -> str:
    """The register's text: the business, one objective, one initiative, with comments."""
    return "\n".join(
        _header(draft, written_on, data_dir)
        + _business(draft)
        + _objective(draft, catalogue)
        + _initiative(draft, catalogue, guardrails_read=_register_reads_guardrails())
    )


def _register_reads_guardrails() -> bool:
    from roi_ledger.register import Initiative

    return "guardrails" in Initiative.model_fields


def _header(draft: Draft, written_on: date, data_dir: str) -> list[str]:
    how = "from your answers and " if draft.answered else ""
    return [
        f"# initiatives.yml, written by `roi init` {how}from the exports in {data_dir} on {written_on}.",
        "# It passes `roi validate` as it is. Lines marked 'fill in' hold a value chosen from the data",
        "# until you put yours; every key is described in docs/register.md.",
        "",
    ]


def _business(draft: Draft) -> list[str]:
    currency = (
        f"guessed from {draft.currency_from}: check it"
        if draft.currency_from
        else "fill in: the exports name no currency; your three-letter code (GBP, EUR, USD)"
    )
    timezone = (
        f"guessed from {draft.timezone_from}: check it"
        if draft.timezone_from
        else "fill in: no timestamp in the exports carries an offset; your IANA timezone (Europe/London)"
    )
    return [
        "business:",
        f"  name: {flow(draft.business)}  # fill in: the business's name",
        f"  currency: {flow(draft.currency)}  # {currency}",
        f"  timezone: {flow(draft.timezone)}  # {timezone}",
        "  # loaded_hourly_cost: 18.5  # what a staff hour costs, where the time sheets carry no cost rate",
        "  # values: {cost_per_order_error: 12.0, gross_margin: 0.6}  # to value those metrics in money",
        "",
    ]


def _objective(draft: Draft, catalogue: list[MetricDefinition]) -> list[str]:
    return [
        "objectives:",
        f"  - id: {flow(_objective_id(draft))}",
        f"    statement: {flow(objective_statement(draft.metric, catalogue))}  # fill in: what the business wants",
        f"    metric: {flow(draft.metric)}",
        "    # target_change_pct: -20  # the change it aims for, in percent",
        "",
    ]


def _objective_id(draft: Draft) -> str:
    return f"better_{draft.metric}"


def _initiative(draft: Draft, catalogue: list[MetricDefinition], *, guardrails_read: bool) -> list[str]:
    first, last = draft.data_range or (draft.go_live, draft.go_live)
    fill = "" if draft.answered else "fill in: "
    lines = [
        "initiatives:",
        f"  - id: {flow(slug(draft.name, 'first_automation') if draft.answered else 'first_automation')}",
        f"    name: {flow(draft.name)}  # {fill}what was automated",
        f"    objective: {flow(_objective_id(draft))}",
        "    # owner: Your name  # who answers for its results",
        "    status: live  # live: in use since go_live (proposed or approved: not yet)",
        f"    treated_units: {flow(draft.units)}  # {fill}where it went live; the units in the data:",
        *[f"    #   {note}" for note in draft.unit_notes],
        f"    go_live: {draft.go_live.isoformat()}  # {fill}its first day in use (the data runs {first} to {last})",
        f"    metrics: [{flow(draft.metric)}]  # {fill}the metric it should move; the data can compute:",
        *[f"    #   {line}" for line in metric_lines(draft.computable, catalogue)],
    ]
    return lines + _guardrails(draft, guardrails_read) + _costs(draft) + [""]


def metric_lines(names: list[str], catalogue: list[MetricDefinition]) -> list[str]:
    """Each metric by its name and label: "csat_mean: Mean customer satisfaction (1-5)"."""
    lines = []
    for name in names:
        label = metric_label(name, catalogue)
        lines.append(f"{name}: {label}" if label else name)
    return lines


def _guardrails(draft: Draft, guardrails_read: bool) -> list[str]:
    if draft.guardrail and guardrails_read:
        metric, margin = draft.guardrail
        return [
            "    guardrails:  # what must not get worse, by more than margin_pct percent",
            f"      - {{metric: {flow(metric)}, margin_pct: {margin:g}}}",
        ]
    metric, margin = draft.guardrail or (_example_guardrail(draft), 5.0)
    note = "" if guardrails_read else " (once your version's register reads guardrails: docs/register.md)"
    return [
        f"    # guardrails:  # what must not get worse, by more than margin_pct percent{note}",
        f"    #   - {{metric: {flow(metric)}, margin_pct: {margin:g}}}",
    ]


def _example_guardrail(draft: Draft) -> str:
    return next((m for m in draft.computable if m != draft.metric), draft.metric)


def _costs(draft: Draft) -> list[str]:
    entries = []
    if draft.one_off:
        entries.append(f"{{kind: one_off, amount: {draft.one_off:g}, date: {draft.one_off_date or draft.go_live}}}")
    if draft.monthly:
        entries.append(f"{{kind: monthly, amount: {draft.monthly:g}, start: {draft.go_live}}}")
    if entries:
        return ["    costs:  # what it cost: once, and each month from go-live", *[f"      - {e}" for e in entries]]
    return [
        "    # costs:  # fill in, then remove the '#'s: what it cost, once and each month",
        f"    #   - {{kind: one_off, amount: 0, date: {draft.go_live}}}",
        f"    #   - {{kind: monthly, amount: 0, start: {draft.go_live}}}",
    ]
