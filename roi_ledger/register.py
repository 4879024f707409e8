"""The initiative register (``initiatives.yml``), validated once at the edge into typed objects.

Everything downstream trusts these objects. A register that breaks the rules stops the run
with :class:`RegisterError`, whose message names the file, the initiative and the field,
before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from roi_ledger.claims.thresholds import ClaimThresholds

# The level of every interval and test unless the business sets its own.
DEFAULT_CONFIDENCE_LEVEL = 0.95


class RegisterError(ValueError):
    """The register cannot be used; the message says where and why."""


class _Strict(BaseModel):
    # Unknown keys are errors: a typo (`go_live_date`) must not silently drop a setting; and no
    # number is infinite or NaN (`amount: .inf` would make every total infinite).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# The years a date in the register may fall in: a cost "dated 1900" or a go-live in 2999 is a
# typo, and a calendar stretched over centuries makes every weekly series that long.
FIRST_YEAR, LAST_YEAR = 1970, 2100
MAX_RAMP_UP_DAYS = 365


def _plausible(value: date | None) -> date | None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value} is outside the years {FIRST_YEAR}-{LAST_YEAR} (a typo?)")
    return value


PlausibleDate = Annotated[date, AfterValidator(_plausible)]

# The largest amount of money the register takes (costs, benefits, values): a trillion in the
# business's currency. A small business's figure above it is a typo, and 1.7e308 would add up to
# infinity and make every ROI NaN.
MAX_MONEY = 1e12
# An expected change of -100% means the metric drops to nothing; below that is impossible.
MIN_CHANGE_PCT = -100.0
# Limits on the file and its text: a register is a few kilobytes; a deeper or larger one is a
# mistake (or an attack) the YAML parser should not be left to find out about.
MAX_REGISTER_BYTES = 1_000_000
MAX_NESTING = 20  # levels of mappings and lists; the deepest legitimate path (claim_checks) has 4
MAX_ALIASES = 100  # YAML `*alias` references: each may repeat a whole list
MAX_ID_CHARS, MAX_TEXT_CHARS = 100, 1000


def _no_bool(value: Any) -> Any:
    # YAML 1.1 reads yes/no/on/off/true/false as booleans, and pydantic would take True for 1.
    if isinstance(value, bool):
        word = "yes/true/on" if value else "no/false/off"
        raise ValueError(f"{word} is not a number: write the number")
    return value


def _money(value: float) -> float:
    if value > MAX_MONEY:
        shown = f"{value:,.0f}" if value < 1e18 else f"{value:.3g}"
        raise ValueError(f"{shown} is over the limit of {MAX_MONEY:,.0f} for an amount (a typo?)")
    return value


def _change(value: float) -> float:
    if value <= MIN_CHANGE_PCT:
        raise ValueError(
            f"{value:g}% is not a change a metric can make: -100 would take it to nothing (-40 means down 40%)"
        )
    return value


Number = Annotated[float, BeforeValidator(_no_bool)]
WholeNumber = Annotated[int, BeforeValidator(_no_bool)]
MoneyAmount = Annotated[float, BeforeValidator(_no_bool), Field(ge=0), AfterValidator(_money)]
ChangePct = Annotated[float, BeforeValidator(_no_bool), AfterValidator(_change)]

# Characters that show as nothing or reorder what is shown: zero-width spaces and joiners,
# bidirectional controls, soft hyphens (Unicode categories Cf and Cc), and the private-use and
# unassigned ones. Two ids differing only by them would look the same and be two.
_INVISIBLE_CATEGORIES = {"Cf", "Cc", "Co", "Cn", "Zl", "Zp"}
# An id: letters, digits, `_`, `-`, `.` and inner spaces, as ids, file names and SQL are safe with.
_SAFE_NAME = re.compile(r"\w(?:[\w .-]*[\w.-])?")
# A metric's name, as the catalogue, the KPI data and dbt's names of split metrics all write it.
_METRIC_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _visible_text(value: str, what: str, limit: int) -> str:
    """``value`` in NFKC form (full-width and compatibility characters folded), refused when it is
    empty, longer than ``limit`` or holds an invisible or direction-changing character."""
    value = unicodedata.normalize("NFKC", value)
    if not value.strip():
        raise ValueError(f"{what} is empty")
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value):,} characters long; the limit is {limit:,}")
    hidden = next((i for i, c in enumerate(value) if unicodedata.category(c) in _INVISIBLE_CATEGORIES), None)
    if hidden is not None:
        character = value[hidden]
        raise ValueError(
            f"{what} holds the invisible character U+{ord(character):04X} ({unicodedata.name(character, 'unnamed')}) "
            f"at character {hidden + 1}: retype it"
        )
    return value


def _safe_id(value: str) -> str:
    value = _visible_text(value, "the id", MAX_ID_CHARS)
    if not _SAFE_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a usable id: use letters, digits, '_', '-', '.' and spaces (no slashes or brackets)"
        )
    return value


def _unit_name(value: str) -> str:
    return _visible_text(value, "the unit", MAX_ID_CHARS)


def _metric_name(value: str) -> str:
    value = _visible_text(value, "the metric", MAX_ID_CHARS)
    if not _METRIC_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a metric name: metrics are named in lower-case letters, digits and '_' "
            "(see docs/metrics.md)"
        )
    return value


def _text(value: str) -> str:
    return _visible_text(value, "the text", MAX_TEXT_CHARS)


Id = Annotated[str, AfterValidator(_safe_id)]
Unit = Annotated[str, AfterValidator(_unit_name)]
MetricName = Annotated[str, AfterValidator(_metric_name)]
Text = Annotated[str, AfterValidator(_text)]


class BusinessValues(_Strict):
    cost_per_order_error: MoneyAmount | None = None
    cost_per_defect_unit: MoneyAmount | None = None
    gross_margin: Number | None = Field(default=None, ge=0, le=1)


class Business(_Strict):
    name: Text
    currency: str
    timezone: str
    loaded_hourly_cost: MoneyAmount | None = None
    discount_rate: Number = Field(default=0.08, ge=0, lt=1)
    # The level of every interval and test: effects, money ranges, the claim checks' own tests.
    confidence_level: Number = Field(default=DEFAULT_CONFIDENCE_LEVEL, ge=0.5, lt=1)
    values: BusinessValues = BusinessValues()

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
            raise ValueError(
                f"{value!r} is not a currency code: use the three capital letters of ISO 4217, such as GBP or EUR"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Europe/London)") from None
        return value


class Objective(_Strict):
    id: Id
    statement: Text
    metric: MetricName | None = None
    target_change_pct: Number | None = Field(default=None, ge=MIN_CHANGE_PCT)
    deadline: PlausibleDate | None = None
    owner: Text | None = None


class Status(str, Enum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    LIVE = "live"
    RETIRED = "retired"


class OneOffCost(_Strict):
    kind: Literal["one_off"]
    amount: MoneyAmount
    date: PlausibleDate
    note: Text | None = None


class MonthlyCost(_Strict):
    kind: Literal["monthly"]
    amount: MoneyAmount
    start: PlausibleDate
    end: PlausibleDate | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> MonthlyCost:
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self


Cost = Annotated[OneOffCost | MonthlyCost, Field(discriminator="kind")]


class Expected(_Strict):
    annual_benefit: MoneyAmount | None = None
    changes: dict[MetricName, ChangePct] = Field(default_factory=dict)


class Feasibility(_Strict):
    effort: WholeNumber = Field(ge=1, le=5)
    complexity: WholeNumber = Field(ge=1, le=5)
    integration: WholeNumber = Field(ge=1, le=5)
    training_need: WholeNumber = Field(ge=1, le=5)


# How far a guardrail may move the wrong way before it counts against the initiative, in % of its
# level before go-live; 0 = any harm the data show.
MAX_GUARDRAIL_MARGIN_PCT = 100


class Guardrail(_Strict):
    """A metric that should simply not get worse (revenue beside fulfilment time): measured like a
    goal, but the initiative is supported when its goals are and its guardrails show no harm beyond
    ``margin_pct`` (docs/claims.md, "Goal metrics and guardrails"). A plain metric name is a
    guardrail with no margin."""

    metric: MetricName
    margin_pct: Number = Field(default=0, ge=0, le=MAX_GUARDRAIL_MARGIN_PCT)

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        return {"metric": value} if isinstance(value, str) else value


class Phase(_Strict):
    units: list[Unit] = Field(min_length=1)
    go_live: PlausibleDate


class Initiative(_Strict):
    id: Id
    name: Text
    status: Status
    objective: Id | None = None
    owner: Text | None = None
    retired_on: PlausibleDate | None = None
    go_live: PlausibleDate | None = None
    treated_units: list[Unit] | None = None
    phases: list[Phase] | None = None
    ramp_up_days: WholeNumber = Field(default=0, ge=0, le=MAX_RAMP_UP_DAYS)
    control_units: list[Unit] | None = None
    metrics: list[MetricName] = Field(min_length=1)
    guardrails: list[Guardrail] = Field(default_factory=list)
    costs: list[Cost] | None = None
    expected: Expected | None = None
    feasibility: Feasibility | None = None
    claim_checks: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_rollout_shape(self) -> Initiative:
        simple = self.go_live is not None or self.treated_units is not None
        if simple and self.phases is not None:
            raise ValueError("give either go_live with treated_units, or phases, not both")
        if self.phases is None:
            if self.go_live is None:
                raise ValueError("go_live is required (or phases for a staged rollout)")
            if not self.treated_units:
                raise ValueError("treated_units is required with go_live and must not be empty")
        elif not self.phases:
            raise ValueError("phases must list at least one phase")
        if self.retired_on is not None and self.retired_on < self.first_go_live:
            raise ValueError("retired_on is before go_live")
        if self.status is Status.RETIRED and self.retired_on is None:
            raise ValueError("a retired initiative needs retired_on, the day it stopped")
        if self.status is not Status.RETIRED and self.retired_on is not None:
            raise ValueError(
                f"retired_on is set but status is {self.status.value}: set status retired, or remove retired_on"
            )
        both = sorted(set(self.metrics) & {g.metric for g in self.guardrails})
        if both:
            raise ValueError(f"{', '.join(both)} is both a goal metric and a guardrail: list it once")
        treated = self.all_treated_units
        if len(set(treated)) != len(treated):
            raise ValueError("a unit appears in more than one phase")
        if self.control_units and set(self.control_units) & set(treated):
            overlap = sorted(set(self.control_units) & set(treated))
            raise ValueError(f"control_units also treated: {', '.join(overlap)}")
        return self

    @property
    def measured_metrics(self) -> list[str]:
        """Every metric the initiative is measured on: its goals, then its guardrails."""
        return [*self.metrics, *(g.metric for g in self.guardrails)]

    def guardrail(self, metric: str) -> Guardrail | None:
        return next((g for g in self.guardrails if g.metric == metric), None)

    @property
    def rollout(self) -> list[Phase]:
        """The rollout as phases; a single go-live is one phase."""
        if self.phases is not None:
            return sorted(self.phases, key=lambda p: p.go_live)
        return [Phase(units=list(self.treated_units or []), go_live=self.go_live)]  # type: ignore[arg-type]

    @property
    def is_staggered(self) -> bool:
        return len({p.go_live for p in self.rollout}) > 1

    @property
    def first_go_live(self) -> date:
        return min(p.go_live for p in self.rollout)

    @property
    def all_treated_units(self) -> list[str]:
        return [u for p in self.rollout for u in p.units]

    def go_live_of(self, unit: str) -> date | None:
        return next((p.go_live for p in self.rollout if unit in p.units), None)


class Register(_Strict):
    business: Business
    objectives: list[Objective] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    catalogue: list[dict[str, Any]] = Field(default_factory=list)
    claim_checks: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _thresholds_known(self) -> Register:
        # Raises, naming the threshold, when an override is unknown or out of range.
        for initiative in [None, *self.initiatives]:
            try:
                self.thresholds_for(initiative)
            except ValidationError as exc:
                where = f"initiative {initiative.id!r}, " if initiative else ""
                details = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
                )
                raise ValueError(f"{where}field claim_checks: {details}") from None
        return self

    def thresholds_for(self, initiative: Initiative | None) -> ClaimThresholds:
        """The claim-check thresholds for one initiative: defaults < business < initiative."""
        overrides = dict(self.claim_checks)
        if initiative is not None and initiative.claim_checks:
            overrides.update(initiative.claim_checks)
        return ClaimThresholds(**overrides)

    @model_validator(mode="after")
    def _ids_unique_and_linked(self) -> Register:
        for kind, items in (("objective", self.objectives), ("initiative", self.initiatives)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"{kind} id {item.id!r} appears twice")
                seen.add(item.id)
        self._no_circular_comparisons()
        objective_ids = {o.id for o in self.objectives}
        for initiative in self.initiatives:
            if initiative.objective is not None and initiative.objective not in objective_ids:
                raise ValueError(
                    f"initiative {initiative.id!r}, field objective: no objective with id "
                    f"{initiative.objective!r} (known: {', '.join(sorted(objective_ids)) or 'none'})"
                )
        return self

    def _no_circular_comparisons(self) -> None:
        """Two initiatives on a shared metric, each comparing against the other's treated
        units: each credits the other's effect to itself (or cancels it), so neither can be
        measured."""
        for i, first in enumerate(self.initiatives):
            for second in self.initiatives[i + 1 :]:
                if not set(first.metrics) & set(second.metrics):
                    continue
                one_way = set(first.control_units or []) & set(second.all_treated_units)
                other_way = set(second.control_units or []) & set(first.all_treated_units)
                if one_way and other_way:
                    raise ValueError(
                        f"initiatives {first.id!r} and {second.id!r} each compare against the other's treated units "
                        f"({', '.join(sorted(one_way))} and {', '.join(sorted(other_way))}) on "
                        f"{', '.join(sorted(set(first.metrics) & set(second.metrics)))}: neither effect can be told "
                        "apart; give each comparison units that neither initiative reached"
                    )

    def initiative(self, initiative_id: str) -> Initiative:
        return next(i for i in self.initiatives if i.id == initiative_id)

    @property
    def measured_initiatives(self) -> list[Initiative]:
        """Initiatives that have gone live: the ones whose effects are measured."""
        return [i for i in self.initiatives if i.status in (Status.LIVE, Status.RETIRED)]


def _describe_location(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into 'initiative "x", field go_live'."""
    if len(loc) >= 2 and loc[0] in ("initiatives", "objectives") and isinstance(loc[1], int):
        items = raw.get(loc[0]) or []
        item_id = None
        if loc[1] < len(items) and isinstance(items[loc[1]], dict):
            item_id = items[loc[1]].get("id")
        # named by its id when the id is one to show (not empty, invisible, huge or markup)
        shown = isinstance(item_id, str) and len(item_id) <= MAX_ID_CHARS and _SAFE_NAME.fullmatch(item_id)
        who = f'{loc[0][:-1]} "{item_id}"' if shown else f"{loc[0][:-1]} #{loc[1] + 1}"
        rest = ".".join(
            str(p)
            for p in loc[2:]
            if str(p) not in ("one_off", "monthly") and not str(p).startswith(("OneOff", "Monthly"))
        )
        return f"{who}, field {rest}" if rest else who
    return "field " + ".".join(str(p) for p in loc) if loc else "top level"


class _DatesAsText(yaml.SafeLoader):
    """YAML loader that leaves dates as text, so a bad date reaches pydantic (which names the
    field) instead of crashing the YAML parser, and refuses a key given twice in one mapping
    (plain YAML keeps the last, silently dropping the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice in one mapping (lines {seen[key]} and {line}): keep one",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def check_yaml_shape(text: str, source: str, error: type[ValueError] = ValueError) -> None:
    """Refuse YAML text larger, deeper or with more aliases than a configuration file has, before
    it is built into objects (a 10,000-deep nesting would exhaust the parser's recursion, and
    aliases of aliases multiply a list beyond memory). Raises ``error`` naming ``source`` and the line."""
    if len(text) > MAX_REGISTER_BYTES:
        raise error(f"{source}: {len(text):,} characters; a configuration file is at most {MAX_REGISTER_BYTES:,}")
    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    raise error(
                        f"{source}, line {event.start_mark.line + 1}: nested more than {MAX_NESTING} levels deep "
                        "(lists and mappings inside each other); a configuration file needs a few"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise error(f"{source}, line {event.start_mark.line + 1}: more than {MAX_ALIASES} *aliases")
    except yaml.YAMLError as exc:
        raise error(f"{source}: {yaml_problem(exc)}") from None


def yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong with a YAML text and where, as people read it (the parser's own message
    names its input "<unicode string>" and repeats the line)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or "the text does not follow YAML's rules"
    context = getattr(exc, "context", None)
    return f"cannot be read as YAML{where}: {problem}" + (f" ({context})" if context else "")


def parse_register(text: str, source: str) -> Register:
    """Parse and validate register YAML text; ``source`` names the file in messages."""
    check_yaml_shape(text, source, RegisterError)
    try:
        raw = yaml.load(text, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RegisterError(f"{source}: {yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise RegisterError(f"{source}: expected a mapping with business, objectives, initiatives")
    try:
        return Register.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _describe_location(raw, tuple(err["loc"]))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (check the spelling; see docs/register.md)"
            if where == "top level" and message.startswith(("initiative", "objective")):
                lines.append(f"{source}: {message}")  # the rule names the item itself
            else:
                lines.append(f"{source}: {where}: {message}")
        raise RegisterError("\n".join(lines)) from None


def read_register_text(path: Path) -> str:
    """The register's text as it is on disk (line ends kept, so its hash is the file's)."""
    try:
        size = path.stat().st_size
        if size > MAX_REGISTER_BYTES:
            raise RegisterError(
                f"{path}: {size:,} bytes; a register is at most {MAX_REGISTER_BYTES:,} (the right file?)"
            )
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise RegisterError(f"{path}: register file not found") from None
    except IsADirectoryError:
        raise RegisterError(f"{path}: is a directory; give the register file (initiatives.yml)") from None
    except UnicodeDecodeError as exc:
        raise RegisterError(f"{path}: not UTF-8 text (byte {exc.start}): save the register as UTF-8") from None


def load_register(path: Path) -> Register:
    return parse_register(read_register_text(path), str(path))


def register_hash(text: str) -> str:
    """The SHA-256 of the register's text: which version of the business case a run used."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_against_today(register: Register, source: str, today: date) -> None:
    """A ``live`` initiative whose go-live is still to come is a status not yet true: it would
    be measured on an after window that has not begun. Raises naming the initiative."""
    problems = [
        f'{source}: initiative "{i.id}", field status: live, but it goes live on {i.first_go_live}, after today '
        f"({today}): set status approved until it does"
        for i in register.initiatives
        if i.status is Status.LIVE and i.first_go_live > today
    ]
    if problems:
        raise RegisterError("\n".join(problems))


def check_against_data(
    register: Register,
    source: str,
    *,
    units: set[str] | None,
    metrics: set[str] | None,
) -> None:
    """Cross-check the register against what the data holds and the catalogue knows.

    Raises one :class:`RegisterError` listing every problem: a unit no dataset contains, or a
    metric the catalogue does not know.
    """
    problems: list[str] = []
    known_units = ", ".join(sorted(units or ())) or "none"

    def unknown_units(initiative: Initiative, field: str, listed: list[str]) -> None:
        if units is None:  # not known before the run (a pulled dataset)
            return
        for unit in listed:
            if unit not in units:
                problems.append(
                    f'{source}: initiative "{initiative.id}", field {field}: unit {unit!r} is in '
                    f"no dataset (units in the data: {known_units})"
                )

    for initiative in register.initiatives:
        field = "phases" if initiative.phases is not None else "treated_units"
        unknown_units(initiative, field, initiative.all_treated_units)
        unknown_units(initiative, "control_units", initiative.control_units or [])
        for field, listed in (
            ("metrics", initiative.metrics),
            ("guardrails", [g.metric for g in initiative.guardrails]),
        ):
            for metric in listed:
                if metrics is not None and metric not in metrics:
                    problems.append(
                        f'{source}: initiative "{initiative.id}", field {field}: unknown metric '
                        f"{metric!r} (see docs/metrics.md for the catalogue)"
                    )
        for metric in initiative.expected.changes if initiative.expected else {}:
            if metrics is not None and metric not in metrics:
                problems.append(
                    f'{source}: initiative "{initiative.id}", field expected.changes: unknown metric {metric!r}'
                )
    for objective in register.objectives:
        if objective.metric is not None and objective.metric not in metrics:
            problems.append(f'{source}: objective "{objective.id}", field metric: unknown metric {objective.metric!r}')
    if problems:
        raise RegisterError("\n".join(problems))
