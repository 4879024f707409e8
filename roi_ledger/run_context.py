"""The facts of one run, resolved once at its start and handed to every step.

A run measures the business *as of* one day, against one version of the register and of the
metric catalogue, at one confidence level. If each step decided these for itself, a run that
crossed midnight could cut two steps' data on two different days, and a register edited during
a run could give the estimates and the money two different business cases. So whoever starts a
run (``roi run``, the nightly schedule, a launch from the Dagster UI) fixes the as-of date, and
the run resolves everything else from it exactly once: :func:`resolve_run_context`. The steps
read :class:`RunContext`; none of them reads the clock, the environment or the register file.

The as-of date is the last day the run measures: data after it is ignored and a period counts
only once it has ended by then. By default it is the last *complete* day where the business is
(:func:`last_complete_day`): the nightly run at 02:00 measures up to yesterday, not the two hours
of today it has seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from roi_ledger.catalogue import (
    MetricDefinition,
    MetricTraits,
    catalogue_entries,
    load_catalogue,
    metric_traits,
)
from roi_ledger.claims.thresholds import ClaimThresholds
from roi_ledger.register import (
    Initiative,
    Register,
    check_against_today,
    parse_register,
    read_register_text,
    register_hash,
)


def last_complete_day(moment: datetime, timezone: str) -> date:
    """The day before ``moment``'s date in ``timezone`` (``moment`` must carry its offset)."""
    if moment.tzinfo is None:
        raise ValueError("last_complete_day needs a timezone-aware moment")
    return moment.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


@dataclass(frozen=True)
class RunContext:
    """Everything a step of the run needs to know about the run itself."""

    as_of: date
    started_at: datetime  # when the run started (its as-of date's default comes from it)
    register: Register
    catalogue: tuple[MetricDefinition, ...]
    # The catalogue as plain entries: what dbt generates the metric series from.
    catalogue_entries: tuple[dict, ...]
    config_path: Path
    register_sha256: str  # of the register text the run parsed
    data_dir: Path
    # Where each dataset comes from: the data folder's sources file, parsed once when the run starts
    # (``pipelines.runtime.resources.resolve_run``: the domain does not read it).
    sources: Mapping[str, Any] = field(default_factory=dict)

    @property
    def timezone(self) -> str:
        return self.register.business.timezone

    @property
    def confidence_level(self) -> float:
        """The level of every interval and test of the run (``business.confidence_level``)."""
        return self.register.business.confidence_level

    def thresholds_for(self, initiative: Initiative | None) -> ClaimThresholds:
        """Claim-check thresholds: defaults < business < ``initiative`` (None: the business's)."""
        return self.register.thresholds_for(initiative)

    def traits(self, metrics: set[str]) -> dict[str, MetricTraits]:
        return metric_traits(list(self.catalogue), metrics)


def resolve_run_context(
    config_path: Path,
    data_dir: Path,
    *,
    as_of: date | None,
    started_at: datetime,
) -> RunContext:
    """Read the register and catalogue once and fix the as-of date.

    ``as_of`` None means the last complete day before ``started_at`` (the run's start, not
    the moment of the call) in the business's timezone. Raises ``RegisterError`` or
    ``CatalogueError`` naming the file, initiative and field. The sources are the caller's to add
    (``pipelines.runtime.resources.resolve_run``).
    """
    config_path, data_dir = config_path.expanduser().resolve(), data_dir.expanduser().resolve()
    text = read_register_text(config_path)
    register = parse_register(text, str(config_path))
    check_against_today(register, str(config_path), started_at.astimezone(ZoneInfo(register.business.timezone)).date())
    entries = catalogue_entries(register.catalogue, source=str(config_path))
    return RunContext(
        as_of=as_of if as_of is not None else last_complete_day(started_at, register.business.timezone),
        started_at=started_at,
        register=register,
        catalogue=tuple(load_catalogue(register.catalogue, source=str(config_path))),
        catalogue_entries=tuple(entries),
        config_path=config_path,
        register_sha256=register_hash(text),
        data_dir=data_dir,
    )
