"""Synthetic control, synthetic DiD and the primary-method rule, on panels whose answer is known
by construction (the published Proposition 99 numbers are in tests/test_published_studies.py)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from roi_ledger.effects import estimate_effects
from roi_ledger.effects.panel import build_panel
from roi_ledger.effects.synthetic import effective_donors, placebo_interval, site_and_donors, weights_in_words
from roi_ledger.effects.synthetic_control import effect_of as synthetic_control_effect
from roi_ledger.effects.synthetic_did import effect_of as synthetic_did_effect
from tests.test_effects import MONDAY, register, weekly

PRE, POST = 60, 20


def site_register():
    return register(
        rollout=f"""go_live: {MONDAY + timedelta(weeks=PRE)}
    treated_units: [site]"""
    )


def donors(seed: int = 0, periods: int = PRE + POST) -> dict[str, np.ndarray]:
    """Four neighbours with paths of their own: trends, a season and a wander."""
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    return {
        "york": 50 + 0.30 * t + 4 * np.sin(2 * np.pi * t / 52),
        "leeds": 40 - 0.10 * t + 1 * np.sin(2 * np.pi * t / 52),
        "hull": 45 + 0.05 * t + np.cumsum(rng.normal(0, 0.5, periods)),
        "ripon": 55 + 0.00 * t - 3 * np.sin(2 * np.pi * t / 52),
    }


def table_of(values: dict[str, np.ndarray]):
    reg = site_register()
    panel = build_panel(reg, reg.measured_initiatives[0], "m", weekly({k: list(v) for k, v in values.items()}))
    return site_and_donors(panel)


def test_synthetic_control_recovers_the_mix_and_the_effect_exactly_without_noise():
    # The site is 60% York and 40% Leeds, then 5 higher from go-live: the exact answer.
    values = donors()
    site = 0.6 * values["york"] + 0.4 * values["leeds"]
    site[PRE:] += 5.0
    effect, weights = synthetic_control_effect(table_of({"site": site, **values}))
    assert effect == pytest.approx(5.0, abs=1e-4)
    assert weights["york"] == pytest.approx(0.6, abs=1e-3) and weights["leeds"] == pytest.approx(0.4, abs=1e-3)


def test_synthetic_control_allows_a_site_bigger_than_every_neighbour():
    # The same site at three times the level of any neighbour: no mix matches the level, so the
    # demeaned fit is used and the effect is still exact (the before-window gap is taken off).
    values = donors()
    site = 0.6 * values["york"] + 0.4 * values["leeds"] + 100.0
    site[PRE:] += 5.0
    effect, weights = synthetic_control_effect(table_of({"site": site, **values}))
    assert effect == pytest.approx(5.0, abs=1e-4)
    assert weights["york"] == pytest.approx(0.6, abs=1e-3)


def test_synthetic_did_recovers_an_effect_on_a_parallel_mix():
    # SDID's difference removes the level: the site runs parallel to 60/40 York/Leeds, 30 above.
    values = donors()
    site = 0.6 * values["york"] + 0.4 * values["leeds"] + 30.0
    site[PRE:] += 5.0
    effect, weights = synthetic_did_effect(table_of({"site": site, **values}))
    assert effect == pytest.approx(5.0, abs=0.05)
    assert sum(weights.values()) == pytest.approx(1.0)


def test_placebo_interval_is_the_spread_of_the_donors_posing_as_the_site():
    values = donors()
    table = table_of({"site": values["york"] + 1.0, **values})

    def mean_gap(t):  # a toy method: the site less the donors' mean, after minus before
        gap = t.site - t.donors.mean(axis=0)
        return float(gap[t.after].mean() - gap[~t.after].mean()), {}

    (low, high, p_value), described = placebo_interval(table, mean_gap, 0.0, 0.95)
    by_hand = []
    for name, own in values.items():
        others = np.mean([v for n, v in values.items() if n != name], axis=0)
        gap = own - others
        by_hand.append(gap[PRE:].mean() - gap[:PRE].mean())
    se = np.std(by_hand, ddof=1)
    assert high - low == pytest.approx(2 * 3.182446 * se, rel=1e-5)  # t(3) 97.5%
    assert p_value == 1.0 and "4 donors" in described


def test_weights_in_words_and_effective_donors():
    weights = {"York": 0.4, "Harrogate": 0.35, "Leeds": 0.245, "Hull": 0.005}
    assert weights_in_words(weights) == "40% York, 35% Harrogate, 24% Leeds"
    assert effective_donors({"a": 0.5, "b": 0.5}) == pytest.approx(2.0)


def noisy(values: dict[str, np.ndarray], seed: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    return {k: list(v + rng.normal(0, 0.3, len(v))) for k, v in values.items()}


def primary_of(values: dict[str, np.ndarray], seed: int = 1) -> dict:
    effects = estimate_effects(site_register(), weekly(noisy(values, seed)))
    [primary] = effects.filter(effects["is_primary"]).to_dicts()
    return primary


def test_the_rule_hands_a_site_that_trends_unlike_its_neighbours_to_a_synthetic_method():
    # The site follows York, which climbs faster than the neighbours' average: DiD strays at
    # every backdated go-live, a mix of donors does not.
    values = donors()
    site = values["york"] + 10.0
    site[PRE:] += 5.0
    primary = primary_of({"site": site, **values})
    assert primary["method"] in {"synthetic_control", "synthetic_did"}
    assert "did not move like the comparison units' average" in primary["note"]
    assert primary["ci_low"] < 5.0 < primary["ci_high"]


def test_the_rule_keeps_did_where_trends_are_parallel():
    # Every site shares one path and differs in level only: DiD is right and stays primary.
    rng = np.random.default_rng(3)
    path = np.cumsum(rng.normal(0, 0.5, PRE + POST)) + 3 * np.sin(2 * np.pi * np.arange(PRE + POST) / 52)
    values = {name: level + path for name, level in {"york": 50, "leeds": 40, "hull": 45, "ripon": 55}.items()}
    site = 30 + path
    site[PRE:] += 5.0
    primary = primary_of({"site": site, **values})
    assert primary["method"] == "did"


def synthetic_checks(values: dict[str, np.ndarray], seed: int = 1) -> dict[str, str]:
    """The two twin checks' statuses on a synthetic control claim of ``values``."""
    from roi_ledger.catalogue import load_catalogue
    from roi_ledger.claims.engine import run_claim_checks

    reg, series = site_register(), weekly(noisy(values, seed))
    estimates = estimate_effects(reg, series).filter(pl.col("method") == "synthetic_control")
    checks = run_claim_checks(
        reg,
        series,
        estimates.with_columns(pl.lit(True).alias("is_primary")),
        as_of=series["period_end"].max(),
        catalogue=load_catalogue(),
        traits={},
    )
    rows = checks.filter(pl.col("check_id").is_in(["synthetic_fit", "donor_concentration"]))
    return dict(zip(rows["check_id"], rows["status"], strict=True))


def test_a_twin_of_well_spread_donors_passes_both_twin_checks():
    # Selby moves much like York, so the twin does not hinge on York alone: left out, Selby stands in.
    values = donors()
    values["selby"] = 0.9 * values["york"] + 0.1 * values["leeds"] + 2.0
    site = 0.3 * values["york"] + 0.3 * values["selby"] + 0.4 * values["leeds"]
    site[PRE:] += 5.0
    assert synthetic_checks({"site": site, **values}) == {"synthetic_fit": "pass", "donor_concentration": "pass"}


def test_a_twin_that_is_one_donor_is_flagged():
    values = donors()
    site = values["york"].copy()
    site[PRE:] += 5.0
    assert synthetic_checks({"site": site, **values})["donor_concentration"] == "warn"


def test_a_site_swinging_beyond_every_donor_is_flagged():
    # A season three times any neighbour's: no mix of them can follow it.
    values = donors()
    site = 50 + 15 * np.sin(2 * np.pi * np.arange(PRE + POST) / 52)
    site[PRE:] += 5.0
    assert synthetic_checks({"site": site, **values})["synthetic_fit"] == "warn"


def test_a_rerun_on_last_bit_noise_gives_the_same_intervals():
    # A warehouse's parallel sums can differ in the last bit from night to night; the synthetic
    # fits have thresholds (Frank-Wolfe's sparsifying step), so the inputs are rounded first.
    values = noisy(donors(), 5)
    site = list(np.array(values["york"]) * 0.5 + np.array(values["ripon"]) * 0.5 + 3.0)
    rng = np.random.default_rng(9)
    shaken = {k: list(np.array(v) * (1 + rng.normal(0, 1e-14, len(v)))) for k, v in {"site": site, **values}.items()}
    first = estimate_effects(site_register(), weekly({"site": site, **values}))
    again = estimate_effects(site_register(), weekly(shaken))
    for column in ("effect_abs", "ci_low", "ci_high"):
        assert np.allclose(first[column].to_numpy(), again[column].to_numpy(), rtol=1e-9, atol=0)
