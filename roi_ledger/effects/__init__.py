"""Effect estimation: for every measured initiative x metric, every applicable method's estimate.

Pure functions on the metric series (a polars frame shaped like ``marts.metric_series``); the
Dagster asset in ``pipelines/defs/effects.py`` only reads the series and writes the result.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import replace

import polars as pl

from roi_ledger.catalogue import MetricTraits
from roi_ledger.effects.panel import POST, PRE, Panel, build_panel
from roi_ledger.effects.registry import Estimator, estimators
from roi_ledger.effects.result import EffectEstimate, to_frame
from roi_ledger.effects.selection import choose_primary
from roi_ledger.register import Register

# Every module of this package is imported, so an estimator registers itself by being here
# (``roi_ledger.effects.registry``): adding one is adding a module.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def estimate_effects(
    register: Register,
    series: pl.DataFrame,
    problems: list[str] | None = None,
    traits: dict[str, MetricTraits] | None = None,
    only: set[str] | None = None,
) -> pl.DataFrame:
    """Every estimator's row for every live or retired initiative x metric the data allows,
    with intervals at the business's confidence level (``only``: of these initiatives).

    ``traits`` (from the catalogue) says which metrics are modelled on the log scale and which
    datasets each comes from (see ``build_panel``). An estimator that fails on one panel does
    not stop the others; what went wrong is added to ``problems`` (the asset logs it).
    """
    traits = traits or {}
    problems = problems if problems is not None else []
    confidence = register.business.confidence_level
    estimates: list[EffectEstimate] = []
    by_metric = series.partition_by("metric", as_dict=True)
    for initiative in register.measured_initiatives:
        if only is not None and initiative.id not in only:
            continue
        for metric in initiative.measured_metrics:
            metric_series = by_metric.get((metric,))
            if metric_series is None:
                continue
            panel = build_panel(register, initiative, metric, metric_series, traits)
            if panel is None:
                continue
            rows = []
            for method in estimators():
                row = run_estimator(method, panel, confidence, problems)
                if row is not None:
                    rows.append(row)
            estimates += choose_primary(panel, rows)
    return to_frame(estimates)


def run_estimator(
    method: Estimator, panel: Panel, confidence: float, problems: list[str] | None = None
) -> EffectEstimate | None:
    """One method's estimate in the metric's own units, or None when it does not apply to the
    panel's design, has too little data, or fails (the failure is added to ``problems``)."""
    if not method.applies_to(panel):
        return None
    try:
        estimate = method.estimate(panel, confidence)
    except Exception as exc:  # one method failing must not hide the others
        if problems is not None:
            problems.append(f"{panel.initiative.id} x {panel.metric}: {method.method} failed: {exc}")
        return None
    if estimate is None:
        return None
    return replace(to_metric_units(estimate, panel), method=method.method, confidence_level=confidence)


def to_metric_units(estimate: EffectEstimate, panel: Panel) -> EffectEstimate:
    """Turn an estimate made on the log scale into the metric's own units.

    On the log scale the effect tau is a ratio: counterfactual = observed x exp(-tau), so
    effect_abs = observed x (1 - exp(-tau)); interval ends map the same way (monotone).
    """
    if panel.scale != "log" or estimate.effect_abs is None:
        return estimate
    treated = panel.treated
    observed = float(treated.filter(pl.col("window") == POST)["level"].mean())
    baseline = float(treated.filter(pl.col("window") == PRE)["level"].mean())

    def level(tau: float | None) -> float | None:
        return None if tau is None else observed * (1 - math.exp(-tau))

    return replace(
        estimate,
        baseline_value=baseline,
        observed_value=observed,
        counterfactual_value=observed * math.exp(-estimate.effect_abs),
        effect_abs=level(estimate.effect_abs),
        ci_low=level(estimate.ci_low),
        ci_high=level(estimate.ci_high),
        inference=estimate.inference + "; estimated on the log scale (multiplicative metric)",
    )
