"""Placebo replays on the business's own data: how often does the method find an effect where none exists?

A 95% interval promises 5% false positives on data that behaves as the method assumes. A
business's own data may not: its shops may wobble together, its weeks may be more alike than
the model thinks. So each claim is replayed where no effect can exist (docs/claims.md, "Your
data's own false-positive rate"):

- **in time**: the same treated and comparison units, with a fake go-live inside the before
  window and the data cut at the real go-live (a phased rollout keeps its phases, all moved
  earlier by the same days);
- **in space**: comparison units posing as the treated ones (as many as there are treated units,
  at least two left as comparison), with the real go-live, and the real treated units left out
  (one date for all: a phased rollout's method then does not apply and only in-time replays count).

Each replay runs the claim's primary method unchanged. Published per claim: the share of replays
whose interval excludes zero (the method's **false-positive rate on your data**, to read against
``1 - confidence``) and the share whose effect is at least as large as the real one (**how often
an effect this large appears where none exists**: an empirical p-value). Replay dates and unit
sets are drawn with a seed fixed per claim, so the same data gives the same rates every night.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from roi_ledger.effects.panel import CONTROL, TREATED, build_panel
from roi_ledger.effects.registry import estimator_of
from roi_ledger.effects.seasons import PERIOD_DAYS
from roi_ledger.register import Initiative, Register

# Not thresholds: how many replays of each kind a claim gets is a budget of work (each one
# re-estimates the claim), and no check or grade reads their rates; a space replay leaves at least
# two comparison units so that the units posing as treated still have a comparison.
_REPLAYS_IN_TIME = 6
_REPLAYS_IN_SPACE = 6
_MIN_CONTROLS_LEFT = 2


@dataclass(frozen=True)
class Replay:
    kind: str  # "time" | "space"
    effect: float
    excludes_zero: bool


@dataclass(frozen=True)
class ReplayRates:
    replays: int
    false_positive_rate: float | None  # share of replays whose interval excludes zero
    share_as_large: float | None  # share with |effect| >= the real |effect|


def _with(register: Register, real: Initiative, fake: Initiative) -> Register:
    return register.model_copy(update={"initiatives": [fake if i.id == real.id else i for i in register.initiatives]})


def replay_designs(
    register: Register,
    initiative: Initiative,
    metric: str,
    series: pl.DataFrame,
    traits: dict,
    *,
    min_pre: int,
    min_post: int,
    seed: int,
) -> list[tuple[str, Register, Initiative, pl.DataFrame]]:
    """(kind, register, fake initiative, series) for every placebo replay of one claim."""
    panel = build_panel(register, initiative, metric, series, traits)
    if panel is None:
        return []
    rng = np.random.default_rng(seed)
    treated, controls = panel.units(TREATED), panel.units(CONTROL)
    go_live = initiative.first_go_live
    days = PERIOD_DAYS[panel.period]
    designs = []
    before = series.filter(pl.col("period_end") <= pl.lit(go_live))
    starts = sorted(before["period_start"].unique().to_list())
    candidates = starts[2 * min_pre : len(starts) - 2 * min_post]
    if candidates:
        for pick in sorted(set(rng.choice(len(candidates), min(_REPLAYS_IN_TIME, len(candidates)), replace=False))):
            fake_date = candidates[int(pick)]
            moved = {"retired_on": None, "ramp_up_days": 0, "control_units": controls or None}
            if initiative.phases is not None:  # a phased rollout keeps its phases, moved earlier
                shift = go_live - fake_date
                moved["phases"] = [
                    phase.model_copy(update={"go_live": phase.go_live - shift}) for phase in initiative.phases
                ]
            else:
                moved.update(go_live=fake_date, treated_units=treated)
            fake = initiative.model_copy(update=moved)
            designs.append(("time", _with(register, initiative, fake), fake, before))
    size = min(len(treated), len(controls) - _MIN_CONTROLS_LEFT)
    if size >= 1:
        own = series.filter(pl.col("unit_id").is_in(controls))
        for _ in range(_REPLAYS_IN_SPACE):
            posing = sorted(rng.choice(controls, size, replace=False).tolist())
            fake = initiative.model_copy(
                update={
                    "go_live": go_live,
                    "treated_units": posing,
                    "phases": None,
                    "retired_on": None,
                    "control_units": [u for u in controls if u not in posing],
                    "ramp_up_days": min(initiative.ramp_up_days, 4 * days),
                }
            )
            designs.append(("space", _with(register, initiative, fake), fake, own))
    return designs


def replay_claim(
    register: Register,
    initiative: Initiative,
    metric: str,
    series: pl.DataFrame,
    traits: dict,
    method: str,
    confidence: float,
    *,
    min_pre: int,
    min_post: int,
) -> list[Replay]:
    """Every placebo replay of one claim, estimated with its primary ``method``."""
    from roi_ledger.effects import run_estimator

    registered = estimator_of(method)
    if registered is None:
        return []
    seed = zlib.crc32(f"{initiative.id}|{metric}".encode())
    replays = []
    designs = replay_designs(
        register, initiative, metric, series, traits, min_pre=min_pre, min_post=min_post, seed=seed
    )
    for kind, fake_register, fake, data in designs:
        panel = build_panel(fake_register, fake, metric, data, traits)
        if panel is None:
            continue
        estimate = run_estimator(registered, panel, confidence)
        if estimate is None or estimate.effect_abs is None or estimate.ci_low is None:
            continue
        replays.append(Replay(kind, estimate.effect_abs, not (estimate.ci_low <= 0 <= estimate.ci_high)))
    return replays


def rates(replays: list[Replay], real_effect: float | None) -> ReplayRates:
    if not replays:
        return ReplayRates(0, None, None)
    positive = float(np.mean([r.excludes_zero for r in replays]))
    as_large = None if real_effect is None else float(np.mean([abs(r.effect) >= abs(real_effect) for r in replays]))
    return ReplayRates(len(replays), positive, as_large)
