"""The estimators, each registered beside its code, in the shape of the claim-check registry.

An estimator is a function ``estimate(panel, confidence) -> EffectEstimate | None`` decorated
with :func:`estimator`, which declares what the rest of ROI Ledger needs to know of it: its
method name, its place in the order of preference (the primary-method rule), whether it
compares against comparison units, and which rollout designs it serves. Everything that
lists methods — the primary-method rule, the claim checks that judge comparison units, the
published ``marts.estimation_methods`` that dbt's tests hold the estimates to — is derived from
this registry, so adding an estimator means adding one module to ``roi_ledger/effects/``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import polars as pl

from roi_ledger.effects.panel import Panel
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.tables import schema

SINGLE_GO_LIVE, PHASED_ROLLOUT = "single_go_live", "phased_rollout"
DESIGNS = (SINGLE_GO_LIVE, PHASED_ROLLOUT)

EstimateFunction = Callable[[Panel, float], EffectEstimate | None]
PointFunction = Callable[[Panel], float | None]


def design_of(panel: Panel) -> str:
    """A panel whose treated units went live on different dates is a phased rollout."""
    return PHASED_ROLLOUT if panel.is_staggered else SINGLE_GO_LIVE


@dataclass(frozen=True)
class Estimator:
    method: str
    estimate: EstimateFunction
    preference: int  # lower first: the first that gives an interval is the primary estimate
    uses_comparison_units: bool
    designs: frozenset[str]
    description: str
    # The estimate alone, cheaply (no interval): what the primary-method rule refits at backdated
    # go-lives to see how far each method errs on the site's own history (``selection``).
    point: PointFunction | None = None
    # Rests on parallel trends with the comparison units' plain average (DiD and its staggered
    # forms): its claims carry the honest-DiD breakdown value (``roi_ledger.claims.sensitivity``).
    parallel_trends: bool = False

    def applies_to(self, panel: Panel) -> bool:
        return design_of(panel) in self.designs


_REGISTRY: dict[str, Estimator] = {}


def estimator(
    method: str,
    *,
    preference: int,
    uses_comparison_units: bool,
    designs: Collection[str] = DESIGNS,
    point: PointFunction | None = None,
    parallel_trends: bool = False,
):
    """Register an estimator under ``method`` (the value of ``initiative_effects.method``);
    ``point`` is its estimate without the interval, when the primary-method rule may backtest it."""
    unknown = set(designs) - set(DESIGNS)
    if unknown:
        raise ValueError(
            f"estimator {method!r}: unknown design(s) {', '.join(sorted(unknown))} (known: {', '.join(DESIGNS)})"
        )

    def register(function: EstimateFunction) -> EstimateFunction:
        if method in _REGISTRY and _REGISTRY[method].estimate is not function:
            raise ValueError(f"two estimators are registered as {method!r}")
        _REGISTRY[method] = Estimator(
            method=method,
            estimate=function,
            preference=preference,
            uses_comparison_units=uses_comparison_units,
            designs=frozenset(designs),
            description=" ".join((function.__doc__ or method).strip().split("\n\n")[0].split()),
            point=point,
            parallel_trends=parallel_trends,
        )
        return function

    return register


def unregister(method: str) -> None:
    """Remove an estimator (tests that register a toy one clean up with this)."""
    _REGISTRY.pop(method, None)


def estimators() -> list[Estimator]:
    """Every registered estimator, most preferred first."""
    return sorted(_REGISTRY.values(), key=lambda e: (e.preference, e.method))


def estimator_of(method: str) -> Estimator | None:
    return _REGISTRY.get(method)


def comparison_methods() -> frozenset[str]:
    """Methods whose estimate rests on comparison units (judged by the comparison checks)."""
    return frozenset(e.method for e in _REGISTRY.values() if e.uses_comparison_units)


def parallel_trend_methods() -> frozenset[str]:
    """Methods whose estimate rests on parallel trends with the comparison units' average."""
    return frozenset(e.method for e in _REGISTRY.values() if e.parallel_trends)


def methods_frame() -> pl.DataFrame:
    """The registry as a table (published as ``marts.estimation_methods``)."""
    return pl.DataFrame(
        [
            {
                "method": e.method,
                "preference": e.preference,
                "uses_comparison_units": e.uses_comparison_units,
                "designs": ", ".join(d for d in DESIGNS if d in e.designs),
                "description": e.description,
            }
            for e in estimators()
        ],
        schema=schema("estimation_methods"),
    )
