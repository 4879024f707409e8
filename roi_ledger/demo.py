"""The demo business: Crumb & Co, a bakery whose initiatives have known, planted effects.

Why this exists: ROI Ledger's estimates can only be trusted if they recover effects we know.
This module simulates three years of a small bakery's operational data (orders, support
tickets, time sheets, defects, KPIs) from *latent expected values*, lets a set of automation
initiatives change those expected values by planted amounts, and writes three things:

- ``data/``: the datasets of the data contract (``roi_ledger.contract``), as a business would
  hand them over;
- ``initiatives.yml``: the initiative register, commented so it doubles as the example of
  the format;
- ``truth.csv``: the planted effects, computed from the expected values (not from the noisy
  draws), in each metric's own units as defined in ``catalogue/metrics.yml``. Columns:
  ``initiative_id`` (a ``joint:<a>+<b>`` row is the joint effect of two initiatives on the
  same metric and units), ``metric``, ``true_effect_abs`` (mean over the treated unit-periods
  of the after window of expected metric with every initiative minus without the row's),
  ``baseline`` (mean of the latter), ``true_benefit``, ``units`` and ``note``.

  ``true_benefit`` is the money the money step (``roi_ledger.money``) should find if it
  measured the effect exactly: the planted effect valued per treated unit-week of the same
  after window (weeks starting on or after go-live + ramp-up and, for a retired initiative,
  ending by the retirement day, up to the end of the data), summed:

  - ``per_volume`` metrics: sign x (with - without) x expected volume / scale x value
    (order_error_rate: non-cancelled orders x ``cost_per_order_error``; hours_per_order:
    completed orders x the unit's hourly cost);
  - ``per_period`` metrics: sign x (with - without) x value (hours_{activity}: hours x the
    unit's hourly cost; revenue_per_week: revenue x ``gross_margin``);

  where sign is +1 when the metric's good direction is up, -1 when down, the money values
  are the register's ``business.values`` and a unit's hourly cost is its hours-weighted mean
  over the whole period, from the expected hours and the rates the time sheets carry. Empty
  for metrics without money (fulfilment and ticket times, KPIs); 0 for a no-effect trap on a
  metric with money; for a ``joint:`` row, the joint benefit (what the money step shares
  between the two in proportion to their expected changes: here 4:3, as planted).

The demo plants clean effects and traps on purpose: an initiative that went live into the
Christmas peak (no effect), one launched right after a transient spike (no effect), two that
went live in the same week on the same metric, a phased rollout, a retired initiative and an
initiative nobody owns.

Everything is drawn from a numpy ``Generator`` seeded by ``seed`` (one independent stream per
dataset), so the same seed always writes the same files. Records are generated with numpy
array operations; Python loops run only over units, initiatives and weeks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from string import Template

import numpy as np
import polars as pl

__all__ = ["DEFAULT_END", "DemoBusiness", "generate_demo_business"]

# --- Planted effects: the answers ROI Ledger should find ----------------------------------
# Hours effects are per unit-week at scale 1; they shrink with the workforce at other scales.
POS_ORDER_CHECKS_ERROR_CUT = 0.02  # absolute drop in each order's probability of an error
AUTO_INVOICING_HOURS_CUT = 5.0  # invoicing hours per unit-week, in a normal full week
ROTA_PLANNER_HOURS_PER_ORDER_CUT = 0.020  # staff hours per completed order (sales hours)
STAFF_APP_HOURS_PER_ORDER_CUT = 0.015  # staff hours per completed order (admin, scheduling)
STAFF_APP_SATISFACTION_GAIN = 0.4  # points on the monthly 1-10 staff satisfaction score
SELF_CHECKOUT_FULFILMENT_CUT = 0.30  # relative cut of the time to fulfil a shop order
STOCK_SHEET_ADMIN_HOURS_CUT = 2.0  # admin hours per unit-week, in a normal full week
# festive_upsell_widget, complaint_triage and faq_chatbot have no effect at all (traps).

# The regression-to-the-mean trap: a transient bad spell in shop_central just before
# complaint_triage went live, which would have ended anyway.
COMPLAINT_SPIKE_WEEKS = 4
COMPLAINT_SPIKE_RESOLUTION_FACTOR = 3.0
COMPLAINT_SPIKE_TICKET_FACTOR = 2.5

# --- The register's money values (business.values and business.loaded_hourly_cost) ---------
# truth.csv's true_benefit prices the planted effects with these, as the money step would.
BUSINESS_VALUES = {"cost_per_order_error": 12.0, "cost_per_defect_unit": 4.5, "gross_margin": 0.62}
LOADED_HOURLY_COST = 18.5  # GBP per staff hour where a time-sheet entry has no hourly_cost

# --- Period -----------------------------------------------------------------------------
DEFAULT_END = date(2026, 11, 22)  # a Sunday
N_WEEKS = 156  # three years of Monday-to-Sunday weeks

# --- The business -----------------------------------------------------------------------
ACTIVITIES = ("baking", "sales", "invoicing", "scheduling", "admin")
DEMAND_ACTIVITIES = ("baking", "sales")  # their hours follow the season (overtime at Christmas)
HOURS_FOLLOW_DEMAND = 0.5  # elasticity of baking/sales hours to the seasonal order volume
MAX_OVERTIME = 1.3  # at most 30% longer days at the peak; temporary staff do the rest (unrecorded)
ERRORS_FOLLOW_DEMAND = 0.4  # busy weeks mean more mistakes
FULFILMENT_FOLLOWS_DEMAND = 0.3  # ...and slower service
ABSENCE_RATE = 0.06  # share of planned working days an employee is off (sick, holiday)
ENTRY_HOURS_SIGMA = 0.15  # day-to-day spread of a time-sheet entry around its plan
STAFF_TURNOVER = 0.35  # share of staff slots whose holder is replaced once in three years
YEARLY_PAY_RISE = 1.04  # every 1 April
MISSING_HOURLY_COST = 0.06
REFUND_BASE, REFUND_IF_ERROR = 0.01, 0.20  # refunds are likelier after an order error
REOPEN_RATE = 0.08
CSAT_MISSING = 0.45
CUSTOMER_LOYALTY_SKEW = 2.2  # >1: a few regulars place many of the orders

SHOP, CATERING, WEBSHOP = "shop", "catering", "webshop"


@dataclass(frozen=True)
class _Kind:
    """Behaviour shared by the units of one kind (shop, catering, webshop)."""

    weekday_orders: tuple[float, ...]  # relative order volume Mon..Sun
    christmas_peak: float  # extra order volume at the mid-December peak (0.3 = +30%)
    christmas_width_days: float
    summer_dip: float
    growth: float  # yearly trend of the order volume
    closed_on: tuple[tuple[int, int], ...]  # (month, day) with no orders and no work
    staff_days: str  # "rota": 5 of 7 days per person; "weekdays": Monday to Friday
    order_hours: tuple[float, float]  # local clock hours orders come in between
    cancel_rate: float
    amount_median: float  # GBP
    amount_sigma: float
    christmas_amount_uplift: float  # bigger baskets at the peak
    fulfil_sigma: float
    customers_per_weekly_order: float  # size of the customer pool
    known_customer_share: float  # share of orders with a customer_id
    tickets_per_order: float
    first_response_minutes: float  # median
    resolution_hours: float  # median
    defects_per_1000_orders: float  # defect events
    defect_units: float  # mean units affected per event
    defect_unit_cost: float  # GBP


# fmt: off
_CHRISTMAS_CLOSURE = ((12, 25), (12, 26), (1, 1))
KINDS = {
    SHOP: _Kind(
        weekday_orders=(0.9, 0.9, 0.95, 1.0, 1.2, 1.45, 0.6),
        christmas_peak=0.35, christmas_width_days=9, summer_dip=0.15, growth=0.03,
        closed_on=_CHRISTMAS_CLOSURE, staff_days="rota", order_hours=(7.0, 18.0),
        cancel_rate=0.015, amount_median=7.5, amount_sigma=0.6, christmas_amount_uplift=0.10,
        fulfil_sigma=0.6, customers_per_weekly_order=8, known_customer_share=0.45,
        tickets_per_order=0.02, first_response_minutes=120, resolution_hours=28,
        defects_per_1000_orders=3.5, defect_units=6, defect_unit_cost=2.8,
    ),
    CATERING: _Kind(
        weekday_orders=(1.2, 1.2, 1.2, 1.2, 1.1, 0.1, 0.0),
        christmas_peak=0.8, christmas_width_days=8, summer_dip=0.35, growth=0.05,
        closed_on=tuple((12, d) for d in range(24, 32)) + ((1, 1),), staff_days="weekdays",
        order_hours=(8.0, 17.0), cancel_rate=0.05, amount_median=180, amount_sigma=0.7,
        christmas_amount_uplift=0.15, fulfil_sigma=0.5, customers_per_weekly_order=5,
        known_customer_share=1.0, tickets_per_order=0.4, first_response_minutes=25,
        resolution_hours=10, defects_per_1000_orders=15, defect_units=13, defect_unit_cost=6.0,
    ),
    WEBSHOP: _Kind(
        weekday_orders=(1.0, 0.95, 0.95, 1.0, 1.1, 1.15, 1.25),
        christmas_peak=1.3, christmas_width_days=14, summer_dip=0.10, growth=0.08,
        closed_on=_CHRISTMAS_CLOSURE, staff_days="weekdays", order_hours=(6.0, 24.0),
        cancel_rate=0.04, amount_median=32, amount_sigma=0.5, christmas_amount_uplift=0.25,
        fulfil_sigma=0.6, customers_per_weekly_order=12, known_customer_share=1.0,
        tickets_per_order=0.12, first_response_minutes=40, resolution_hours=18,
        defects_per_1000_orders=5, defect_units=2, defect_unit_cost=9.0,
    ),
}
# fmt: on

# role: (hours per working day by activity, hourly cost in GBP)
ROLES: dict[str, tuple[dict[str, float], float]] = {
    "baker": ({"baking": 6.0, "admin": 0.25}, 14.2),
    "shift_lead": ({"sales": 4.5, "scheduling": 1.0, "admin": 1.25, "invoicing": 0.25}, 16.5),
    "assistant": ({"sales": 6.5, "baking": 0.5}, 12.4),
    "cook": ({"baking": 7.0}, 14.8),
    "driver": ({"sales": 6.0}, 12.9),
    "events_coordinator": ({"sales": 2.0, "invoicing": 2.0, "admin": 2.0, "scheduling": 1.0}, 17.5),
    "office_manager": ({"invoicing": 1.0, "admin": 3.0, "sales": 3.0}, 16.0),
    "packer": ({"baking": 6.0, "sales": 1.0}, 12.6),
    "customer_service": ({"sales": 5.0, "admin": 1.5, "invoicing": 0.5}, 13.5),
    "webshop_manager": ({"invoicing": 1.5, "admin": 2.0, "sales": 3.0, "scheduling": 0.5}, 18.0),
}
SHOP_TEAM = ("baker", "shift_lead", "assistant", "assistant")
CATERING_TEAM = ("cook", "cook", "driver", "events_coordinator", "office_manager")
WEBSHOP_TEAM = ("packer", "customer_service", "webshop_manager")
FLAGSHIP_TEAM = SHOP_TEAM + ("assistant",)


@dataclass(frozen=True)
class _Unit:
    id: str
    kind: str
    orders_per_week: float  # at scale 1, before season and trend
    error_rate: float  # probability that an order needs correcting
    fulfil_median_hours: float
    team: tuple[str, ...]
    staff_satisfaction: float  # 1-10
    scrap_rate: float  # share of the bake thrown away (shops)
    ticket_factor: float = 1.0  # support tickets relative to others of its kind


# fmt: off
UNITS = (
    _Unit("shop_north", SHOP, 270, 0.060, 0.10, SHOP_TEAM, 7.1, 0.048),
    _Unit("shop_south", SHOP, 240, 0.055, 0.12, SHOP_TEAM, 6.8, 0.052),
    _Unit("shop_east", SHOP, 220, 0.050, 0.09, SHOP_TEAM, 6.6, 0.044),
    _Unit("shop_west", SHOP, 200, 0.045, 0.11, SHOP_TEAM, 6.9, 0.050),
    # The flagship also handles click-and-collect, hence more tickets.
    _Unit("shop_central", SHOP, 300, 0.050, 0.13, FLAGSHIP_TEAM, 7.3, 0.041, ticket_factor=2.0),
    _Unit("catering", CATERING, 35, 0.070, 30.0, CATERING_TEAM, 7.0, 0.0),
    _Unit("webshop", WEBSHOP, 200, 0.040, 26.0, WEBSHOP_TEAM, 7.4, 0.0),
)
# fmt: on
UNIT_IDS = tuple(u.id for u in UNITS)


# --- Initiative rollouts ------------------------------------------------------------------


@dataclass(frozen=True)
class _Rollout:
    """Where and when an initiative went live, as the simulation applies it."""

    initiative_id: str
    go_live: dict[str, date]  # treated unit -> its go-live day
    ramp_up_days: int
    retired_on: date | None = None

    def shifted(self, days: int) -> _Rollout:
        move = timedelta(days=days)
        return replace(
            self,
            go_live={u: d + move for u, d in self.go_live.items()},
            retired_on=self.retired_on + move if self.retired_on else None,
        )

    @property
    def first_go_live(self) -> date:
        return min(self.go_live.values())

    def after_start(self, unit: str) -> date:
        """First day of the full effect: the after window starts here."""
        return self.go_live[unit] + timedelta(days=self.ramp_up_days)


def _same_day(units: tuple[str, ...], day: date) -> dict[str, date]:
    return {u: day for u in units}


# Dates for the default end. Another end moves them all by the same whole number of weeks;
# the festive widget is then re-anchored to mid-November (see _festive_go_live).
# fmt: off
_ROLLOUTS = (
    _Rollout("faq_chatbot", _same_day(("webshop",), date(2024, 12, 2)), 14,
             retired_on=date(2026, 3, 30)),
    _Rollout(
        "self_checkout",
        {"shop_north": date(2025, 1, 6), "shop_south": date(2025, 5, 5),
         "shop_east": date(2025, 5, 5), "shop_west": date(2025, 10, 6)},
        14,
    ),
    _Rollout("pos_order_checks", _same_day(("shop_north", "shop_south"), date(2025, 3, 3)), 14),
    _Rollout("stock_sheet_macros", _same_day(("catering",), date(2025, 4, 7)), 14),
    _Rollout("auto_invoicing", _same_day(("catering", "webshop"), date(2025, 6, 2)), 28),
    # Same week, same shops, same metric: rota planner on Monday, staff app on Wednesday;
    # both reach their full effect on the same Monday.
    _Rollout("rota_planner", _same_day(("shop_east", "shop_west"), date(2025, 9, 1)), 14),
    _Rollout("staff_app", _same_day(("shop_east", "shop_west"), date(2025, 9, 3)), 12),
    _Rollout("festive_upsell_widget", _same_day(("webshop",), date(2025, 11, 17)), 7),
    _Rollout("complaint_triage", _same_day(("shop_central",), date(2026, 2, 2)), 14),
)
# fmt: on


@dataclass(frozen=True)
class _TruthSpec:
    """One row of truth.csv: the effect of removing ``initiatives`` on ``metric``."""

    row_id: str
    initiatives: tuple[str, ...]
    metric: str
    note: str


# fmt: off
_TRUTH = (
    _TruthSpec("pos_order_checks", ("pos_order_checks",), "order_error_rate",
               f"clean: each order's error probability drops by {POS_ORDER_CHECKS_ERROR_CUT}, "
               "linear ramp over the ramp-up"),
    _TruthSpec("auto_invoicing", ("auto_invoicing",), "hours_invoicing",
               f"clean: fewer and shorter invoicing entries, {AUTO_INVOICING_HOURS_CUT:g} h per "
               "unit-week in a full week at scale 1"),
    _TruthSpec("festive_upsell_widget", ("festive_upsell_widget",), "revenue_per_week",
               "trap: no effect; went live into the December peak (seasonal upswing)"),
    _TruthSpec("rota_planner", ("rota_planner",), "hours_per_order",
               "overlap: fewer sales hours; live the same week as staff_app on the same metric"),
    _TruthSpec("staff_app", ("staff_app",), "hours_per_order",
               "overlap: fewer admin and scheduling hours; live the same week as rota_planner"),
    _TruthSpec("joint:rota_planner+staff_app", ("rota_planner", "staff_app"), "hours_per_order",
               "joint effect of rota_planner and staff_app (additive: they cut different "
               "activities)"),
    _TruthSpec("staff_app", ("staff_app",), "staff_satisfaction",
               f"clean: +{STAFF_APP_SATISFACTION_GAIN} points on the monthly KPI; averaged over "
               "months, not weeks"),
    _TruthSpec("complaint_triage", ("complaint_triage",), "ticket_resolution_hours",
               "trap: no effect; launched after a transient "
               f"{COMPLAINT_SPIKE_RESOLUTION_FACTOR:g}x spike in the {COMPLAINT_SPIKE_WEEKS} "
               "weeks before (regression to the mean)"),
    _TruthSpec("self_checkout", ("self_checkout",), "order_fulfilment_hours",
               f"phased rollout: fulfilment {SELF_CHECKOUT_FULFILMENT_CUT:.0%} faster; averaged "
               "over each unit's weeks after its own go-live"),
    _TruthSpec("stock_sheet_macros", ("stock_sheet_macros",), "hours_admin",
               f"real effect ({STOCK_SHEET_ADMIN_HOURS_CUT:g} h per unit-week in a full week at "
               "scale 1); no owner, objective or costs"),
    _TruthSpec("faq_chatbot", ("faq_chatbot",), "ticket_first_response_minutes",
               "retired: no effect while it ran; window from go-live + ramp-up to retirement"),
)
# fmt: on


# --- Calendar ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Days of the period (Monday start to Sunday end) and the weeks and months in it."""

    days: np.ndarray  # datetime64[D]

    @property
    def start(self) -> date:
        return self.days[0].astype(date)

    @property
    def end(self) -> date:
        return self.days[-1].astype(date)

    @property
    def n_days(self) -> int:
        return self.days.size

    @property
    def n_weeks(self) -> int:
        return self.days.size // 7

    @property
    def weekday(self) -> np.ndarray:  # Monday = 0
        return (self.days.astype(np.int64) + 3) % 7

    @property
    def week_starts(self) -> np.ndarray:
        return self.days[::7]

    @property
    def month_starts(self) -> np.ndarray:
        """First days of the calendar months that lie wholly inside the period."""
        first = np.datetime64(self.start, "M") + (0 if self.start.day == 1 else 1)
        last = np.datetime64(self.end + timedelta(days=1), "M") - 1
        return np.arange(first, last + 1).astype("datetime64[D]")

    @property
    def quarter_starts(self) -> np.ndarray:
        """First days of the calendar quarters that lie wholly inside the period."""
        months = self.month_starts.astype("datetime64[M]")
        is_quarter_start = months.astype(np.int64) % 3 == 0  # January, April, July, October
        return self.month_starts[is_quarter_start & (months + 2 <= months[-1])]

    def index(self, day: date | np.datetime64) -> int:
        return int((np.datetime64(day, "D") - self.days[0]).astype(np.int64))

    def by_week(self, values: np.ndarray) -> np.ndarray:
        """(..., days) -> (..., weeks, 7)."""
        return values.reshape(*values.shape[:-1], self.n_weeks, 7)

    def weekly_sum(self, values: np.ndarray) -> np.ndarray:
        return self.by_week(values).sum(-1)

    def weekly_mean(self, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        total = self.weekly_sum(weights)
        return np.divide(
            self.weekly_sum(values * weights),
            total,
            out=np.full(total.shape, np.nan),
            where=total > 0,
        )

    def month_day_code(self) -> np.ndarray:
        """month * 100 + day of month, to match fixed yearly dates."""
        months = self.days.astype("datetime64[M]")
        return (months.astype(np.int64) % 12 + 1) * 100 + (self.days - months).astype(np.int64) + 1

    def bump(self, month: int, day: int, width_days: float) -> np.ndarray:
        """A Gaussian bump (1 at the date, falling off over ``width_days``) recurring each year."""
        years = range(self.start.year - 1, self.end.year + 2)
        anchors = np.array([np.datetime64(date(y, month, day)) for y in years])
        distance = np.abs((self.days[:, None] - anchors[None, :]).astype(np.int64)).min(axis=1)
        return np.exp(-0.5 * (distance / width_days) ** 2)

    def ramp(self, rollout: _Rollout) -> np.ndarray:
        """(units, days): 0 before go-live, linear to 1 over the ramp-up, 0 once retired."""
        out = np.zeros((len(UNITS), self.n_days))
        for u, unit_id in enumerate(UNIT_IDS):
            if unit_id not in rollout.go_live:
                continue
            since = np.arange(self.n_days) - self.index(rollout.go_live[unit_id])
            span = max(rollout.ramp_up_days, 1)
            out[u] = np.where(since >= 0, np.clip((since + 1) / span, 0.0, 1.0), 0.0)
            if rollout.retired_on is not None:
                out[u, max(self.index(rollout.retired_on), 0) :] = 0.0
        return out


def _calendar(end: date) -> _Calendar:
    start = end - timedelta(days=7 * N_WEEKS - 1)
    return _Calendar(np.arange(np.datetime64(start), np.datetime64(end) + 1))


# The widget ran as a Christmas campaign: switched off after the rush, so every week it was
# live is a peak week, which is what makes the naive before/after look so good.
FESTIVE_CAMPAIGN_WEEKS = 8


def _festive_go_live(cal: _Calendar) -> date:
    """The latest mid-November Monday with a year of data before and half a year after."""
    earliest = cal.start + timedelta(weeks=52)
    latest = cal.end - timedelta(weeks=26)
    for year in range(cal.end.year, cal.start.year - 1, -1):
        nov_11 = date(year, 11, 11)
        monday = nov_11 + timedelta(days=(7 - nov_11.weekday()) % 7)
        if earliest <= monday <= latest:
            return monday
    raise ValueError("the period is too short for the festive initiative")


def _schedule(cal: _Calendar) -> dict[str, _Rollout]:
    shift = (cal.end - DEFAULT_END).days
    rollouts = {r.initiative_id: r.shifted(shift) for r in _ROLLOUTS}
    festive = rollouts["festive_upsell_widget"]
    go_live = _festive_go_live(cal)
    rollouts[festive.initiative_id] = replace(
        festive,
        go_live=_same_day(("webshop",), go_live),
        retired_on=go_live + timedelta(weeks=FESTIVE_CAMPAIGN_WEEKS),
    )
    return rollouts


# --- The simulated world: everything fixed before any initiative acts -----------------------


@dataclass(frozen=True)
class _Staff:
    """Staff slots (one per role in a unit's team); a slot's holder may change once."""

    unit: np.ndarray  # (S,) unit index
    role_hours: np.ndarray  # (S, activities) planned hours per working day
    works: np.ndarray  # (S, 7) works on that weekday
    first_id: np.ndarray  # (S,) employee number
    next_id: np.ndarray  # (S,) employee number after the change
    change_day: np.ndarray  # (S,) day index of the change (n_days: none)
    rate: np.ndarray  # (S,) hourly cost at the start of the period


@dataclass(frozen=True)
class _World:
    """The simulated business before any initiative: calendar, staff, seasons, latent shocks."""

    cal: _Calendar
    scale: float
    hours_scale: float  # hours per entry shrink with scale so hours keep pace with orders
    rollouts: dict[str, _Rollout]
    staff: _Staff
    season: np.ndarray  # (U, D) relative order volume from the time of year
    open: np.ndarray  # (U, D) bool
    order_shock: np.ndarray  # (U, W) latent weekly demand wobble (log scale)
    error_shock: np.ndarray  # (U, W)
    satisfaction_shock: np.ndarray  # (U, M)

    @property
    def kinds(self) -> list[_Kind]:
        return [KINDS[u.kind] for u in UNITS]

    def per_unit(self, attribute: str) -> np.ndarray:
        return np.array([getattr(k, attribute) for k in self.kinds], dtype=float)

    def ramp(self, initiative_id: str) -> np.ndarray:
        return self.cal.ramp(self.rollouts[initiative_id])

    def unit_hours(self, slot_day: np.ndarray) -> np.ndarray:
        """(S, D) -> (U, D): sum over the unit's staff slots."""
        membership = self.staff.unit[None, :] == np.arange(len(UNITS))[:, None]
        return membership.astype(float) @ slot_day


def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per part, so changing one part leaves the others alone."""
    parts = ("world", "staff", "orders", "tickets", "hours", "defects", "kpis")
    return np.random.default_rng([seed, parts.index(name)])


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float, sd: float) -> np.ndarray:
    """Autocorrelated noise along the last axis (a slow wobble, not white noise)."""
    shocks = rng.normal(0.0, sd, shape)
    out = np.empty(shape)
    out[:, 0] = shocks[:, 0] / np.sqrt(1 - phi**2)
    for t in range(1, shape[1]):
        out[:, t] = phi * out[:, t - 1] + shocks[:, t]
    return out


def _season(cal: _Calendar) -> np.ndarray:
    """(U, D): December peak, summer dip and a January lull, by kind of unit."""
    rows = []
    for unit in UNITS:
        kind = KINDS[unit.kind]
        rows.append(
            1.0
            + kind.christmas_peak * cal.bump(12, 17, kind.christmas_width_days)
            - kind.summer_dip * cal.bump(8, 8, 20)
            - 0.08 * cal.bump(1, 20, 10)
        )
    return np.array(rows)


def _open_days(cal: _Calendar) -> np.ndarray:
    code = cal.month_day_code()
    return np.array(
        [~np.isin(code, [m * 100 + d for m, d in KINDS[u.kind].closed_on]) for u in UNITS]
    )


def _build_staff(cal: _Calendar, scale: float, rng: np.random.Generator) -> tuple[_Staff, float]:
    """Teams per unit; above scale 1.5 whole teams are repeated, below it hours shrink."""
    copies = max(1, round(scale))
    slots = [(u, role) for _ in range(copies) for u, unit in enumerate(UNITS) for role in unit.team]
    n = len(slots)
    unit = np.array([u for u, _ in slots])
    roles = [role for _, role in slots]
    role_hours = np.array([[ROLES[r][0].get(a, 0.0) for a in ACTIVITIES] for r in roles])
    # Shops rota people over the whole week with two days off in a row; the others work
    # Monday to Friday.
    rota = np.array([KINDS[UNITS[u].kind].staff_days == "rota" for u in unit])
    weekday = np.arange(7)[None, :]
    first_day_off = rng.integers(0, 7, n)[:, None]
    day_off = (weekday == first_day_off) | (weekday == (first_day_off + 1) % 7)
    works = np.where(rota[:, None], ~day_off, weekday < 5)
    replaced = rng.random(n) < STAFF_TURNOVER
    change_day = np.where(replaced, rng.integers(60, cal.n_days - 60, n), cal.n_days)
    next_id = n + np.cumsum(replaced)
    rate = np.array([ROLES[r][1] for r in roles]) * np.exp(rng.normal(0.0, 0.05, n))
    staff = _Staff(unit, role_hours, works, np.arange(1, n + 1), next_id, change_day, rate)
    return staff, scale / copies


def _build_world(end: date, seed: int, scale: float) -> _World:
    cal = _calendar(end)
    rng = _stream(seed, "world")
    staff, hours_scale = _build_staff(cal, scale, _stream(seed, "staff"))
    n_units = len(UNITS)
    return _World(
        cal=cal,
        scale=scale,
        hours_scale=hours_scale,
        rollouts=_schedule(cal),
        staff=staff,
        season=_season(cal),
        open=_open_days(cal),
        order_shock=_ar1(rng, (n_units, cal.n_weeks), phi=0.6, sd=0.05),
        error_shock=_ar1(rng, (n_units, cal.n_weeks), phi=0.5, sd=0.06),
        satisfaction_shock=_ar1(rng, (n_units, cal.month_starts.size), phi=0.7, sd=0.15),
    )


# --- Expected values: the latent truth, with and without initiatives ----------------------


@dataclass(frozen=True)
class _Expected:
    """Expected values per unit and day (hours: per staff slot, day and activity)."""

    orders: np.ndarray  # (U, D) orders placed
    error_p: np.ndarray  # (U, D) probability an order has an error
    amount_median: np.ndarray  # (U, D) GBP
    fulfil_median: np.ndarray  # (U, D) hours from order to fulfilment
    tickets: np.ndarray  # (U, D)
    first_response_median: np.ndarray  # (U, D) minutes
    resolution_median: np.ndarray  # (U, D) hours
    hours: np.ndarray  # (S, D, A) hours worked, absences included
    satisfaction: np.ndarray  # (U, M) staff satisfaction score


def _complaint_spike(world: _World) -> np.ndarray:
    """(U, D) bool: shop_central's bad spell in the weeks before complaint_triage went live."""
    go_live = world.cal.index(world.rollouts["complaint_triage"].go_live["shop_central"])
    spike = np.zeros((len(UNITS), world.cal.n_days), dtype=bool)
    spike[
        UNIT_IDS.index("shop_central"),
        max(go_live - 7 * COMPLAINT_SPIKE_WEEKS, 0) : max(go_live, 0),
    ] = True
    return spike


def _baseline(world: _World) -> _Expected:
    """Expected values if no initiative had ever happened (trap spikes included)."""
    cal = world.cal
    week = np.arange(cal.n_days) // 7
    weekday = np.array([k.weekday_orders for k in world.kinds])
    weekday = weekday / weekday.mean(axis=1, keepdims=True)
    years = np.arange(cal.n_days) / 365.25
    trend = (1 + world.per_unit("growth"))[:, None] ** years[None, :]
    per_day = np.array([u.orders_per_week for u in UNITS])[:, None] / 7 * world.scale
    orders = (
        per_day
        * weekday[:, cal.weekday]
        * world.season
        * trend
        * np.exp(world.order_shock[:, week])
        * world.open
    )

    busy = 1 + ERRORS_FOLLOW_DEMAND * (world.season - 1)
    error_p = (
        np.array([u.error_rate for u in UNITS])[:, None] * busy * np.exp(world.error_shock[:, week])
    )

    christmas = np.array([cal.bump(12, 17, k.christmas_width_days) for k in world.kinds])
    amount_median = world.per_unit("amount_median")[:, None] * (
        1 + world.per_unit("christmas_amount_uplift")[:, None] * christmas
    )

    season_week = np.repeat(cal.by_week(world.season).mean(-1), 7, axis=1)  # constant within a week
    slower = 1 + FULFILMENT_FOLLOWS_DEMAND * (season_week - 1)
    fulfil_median = np.array([u.fulfil_median_hours for u in UNITS])[:, None] * slower

    spike = _complaint_spike(world)
    tickets_per_order = world.per_unit("tickets_per_order") * np.array(
        [u.ticket_factor for u in UNITS]
    )
    tickets = (
        orders * tickets_per_order[:, None] * np.where(spike, COMPLAINT_SPIKE_TICKET_FACTOR, 1.0)
    )
    resolution = world.per_unit("resolution_hours")[:, None] * np.where(
        spike, COMPLAINT_SPIKE_RESOLUTION_FACTOR, 1.0
    )
    first_response = np.broadcast_to(
        world.per_unit("first_response_minutes")[:, None], orders.shape
    )

    return _Expected(
        orders=orders,
        error_p=error_p,
        amount_median=amount_median,
        fulfil_median=fulfil_median,
        tickets=tickets,
        first_response_median=np.array(first_response),
        resolution_median=resolution,
        hours=_baseline_hours(world),
        satisfaction=_baseline_satisfaction(world),
    )


def _baseline_hours(world: _World) -> np.ndarray:
    staff, cal = world.staff, world.cal
    on_duty = staff.works[:, cal.weekday] & world.open[staff.unit]  # (S, D)
    busy = np.minimum(
        1 + HOURS_FOLLOW_DEMAND * (world.season[staff.unit] - 1), MAX_OVERTIME
    )  # (S, D)
    follows_demand = np.array([a in DEMAND_ACTIVITIES for a in ACTIVITIES])
    multiplier = np.where(follows_demand[None, None, :], busy[:, :, None], 1.0)
    planned = staff.role_hours[:, None, :] * on_duty[:, :, None] * multiplier * world.hours_scale
    return planned * (1 - ABSENCE_RATE)


def _baseline_satisfaction(world: _World) -> np.ndarray:
    months = world.cal.month_starts.astype("datetime64[M]").astype(np.int64) % 12 + 1
    winter = np.isin(months, (12, 1)) * 0.3  # the Christmas rush wears people out
    base = np.array([u.staff_satisfaction for u in UNITS])[:, None]
    return base - winter[None, :] + world.satisfaction_shock


def _completed_p(world: _World, error_p: np.ndarray) -> np.ndarray:
    """P(status = completed): not cancelled, and not refunded (refunds follow errors)."""
    cancel = world.per_unit("cancel_rate")[:, None]
    return (1 - cancel) * (1 - REFUND_BASE - REFUND_IF_ERROR * error_p)


def _cut_hours_by_week(
    world: _World, hours: np.ndarray, ramp: np.ndarray, activity: str, cut: float
) -> None:
    """Cut ``activity`` hours by ``cut`` per unit-week (scale 1) in a normal full week.

    Applied as a factor on every entry (fewer and shorter entries), so a short holiday week
    saves proportionally less.
    """
    a = ACTIVITIES.index(activity)
    for u in np.flatnonzero(ramp.any(axis=1)):
        slots = np.flatnonzero(world.staff.unit == u)
        weekly = world.cal.weekly_sum(hours[slots, :, a].sum(axis=0))
        typical = np.median(weekly[weekly > 0])
        factor = 1 - ramp[u] * cut * world.scale / typical  # the workforce grows with scale
        hours[slots, :, a] *= np.clip(factor, 0.0, None)[None, :]


def _cut_hours_per_order(
    world: _World,
    hours: np.ndarray,
    ramp: np.ndarray,
    activities: tuple[str, ...],
    cut: float,
    completed: np.ndarray,
) -> None:
    """Cut ``activities`` hours by ``cut`` hours per expected completed order, week by week."""
    acts = [ACTIVITIES.index(a) for a in activities]
    days = np.arange(world.cal.n_days)
    for u in np.flatnonzero(ramp.any(axis=1)):
        block = np.ix_(np.flatnonzero(world.staff.unit == u), days, acts)
        current = hours[block]
        weekly_hours = world.cal.weekly_sum(current.sum(axis=(0, 2)))
        weekly_orders = world.cal.weekly_sum(completed[u])
        share = np.divide(
            cut * weekly_orders,
            weekly_hours,
            out=np.zeros_like(weekly_hours),
            where=weekly_hours > 0,
        )
        factor = np.clip(1 - ramp[u] * np.repeat(share, 7), 0.0, None)
        hours[block] = current * factor[None, :, None]


def _expected(world: _World, active: frozenset[str]) -> _Expected:
    """Expected values with the ``active`` initiatives applied to the baseline."""
    x = _baseline(world)
    if "pos_order_checks" in active:
        x = replace(
            x, error_p=x.error_p - POS_ORDER_CHECKS_ERROR_CUT * world.ramp("pos_order_checks")
        )
    if "self_checkout" in active:
        x = replace(
            x,
            fulfil_median=x.fulfil_median
            * (1 - SELF_CHECKOUT_FULFILMENT_CUT * world.ramp("self_checkout")),
        )

    hours = x.hours.copy()
    if "auto_invoicing" in active:
        _cut_hours_by_week(
            world, hours, world.ramp("auto_invoicing"), "invoicing", AUTO_INVOICING_HOURS_CUT
        )
    if "stock_sheet_macros" in active:
        _cut_hours_by_week(
            world, hours, world.ramp("stock_sheet_macros"), "admin", STOCK_SHEET_ADMIN_HOURS_CUT
        )
    completed = x.orders * _completed_p(world, x.error_p)
    if "rota_planner" in active:
        _cut_hours_per_order(
            world,
            hours,
            world.ramp("rota_planner"),
            ("sales",),
            ROTA_PLANNER_HOURS_PER_ORDER_CUT,
            completed,
        )
    satisfaction = x.satisfaction
    if "staff_app" in active:
        ramp = world.ramp("staff_app")
        _cut_hours_per_order(
            world, hours, ramp, ("admin", "scheduling"), STAFF_APP_HOURS_PER_ORDER_CUT, completed
        )
        mid_month = [
            min(world.cal.index(m + np.timedelta64(14, "D")), world.cal.n_days - 1)
            for m in world.cal.month_starts
        ]
        satisfaction = satisfaction + STAFF_APP_SATISFACTION_GAIN * ramp[:, mid_month]
    # festive_upsell_widget, complaint_triage and faq_chatbot change nothing: they are traps.
    return replace(x, hours=hours, satisfaction=satisfaction)


# --- Sampling records from the expected values ------------------------------------------


def _timestamps(cal: _Calendar, day: np.ndarray, clock_hours: np.ndarray) -> np.ndarray:
    seconds = np.floor(clock_hours * 3600).astype(np.int64)
    return _skip_dst_gap(cal.days[day].astype("datetime64[s]") + seconds.astype("timedelta64[s]"))


def _skip_dst_gap(ts: np.ndarray) -> np.ndarray:
    """Move naive times in the spring-forward hour (01:00-02:00 on the last Sunday of March,
    which never happens on a London clock) one hour later, as a clock would show them."""
    years = np.unique(ts[~np.isnat(ts)].astype("datetime64[Y]").astype(np.int64) + 1970)
    gaps = []
    for year in years:
        march_31 = date(int(year), 3, 31)
        last_sunday = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
        gaps.append(np.datetime64(last_sunday, "h") + 1)
    in_gap = np.isin(ts.astype("datetime64[h]"), np.array(gaps, dtype="datetime64[h]"))
    return np.where(in_gap, ts + np.timedelta64(3600, "s"), ts)


def _after(start: np.ndarray, duration_hours: np.ndarray) -> np.ndarray:
    seconds = np.round(duration_hours * 3600).astype(np.int64)
    return _skip_dst_gap(start + seconds.astype("timedelta64[s]"))


def _lognormal(
    rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray | float
) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(np.shape(median)))


def _draw_records(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts per (unit, period) cell, expanded to one (unit, period) pair per record."""
    counts = rng.poisson(expected)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    return np.divmod(flat, expected.shape[1])


def _ids(prefix: str, n: int, width: int) -> pl.Expr:
    return pl.lit(prefix) + pl.int_range(1, n + 1).cast(pl.String).str.zfill(width)


def _extract_cutoff(cal: _Calendar) -> np.datetime64:
    """The data were extracted at midnight after the last day: later events are not known yet."""
    return np.datetime64(cal.end + timedelta(days=1), "s")


def _order_clock(rng: np.random.Generator, u: np.ndarray) -> np.ndarray:
    """Local clock hour of each order: shops peak at breakfast and lunch, the webshop in the
    evening. Draws outside a unit's order hours are redrawn evenly inside them, so no orders
    pile up at opening or closing time."""
    n = u.size
    kind = np.array([un.kind for un in UNITS])[u]
    pick = rng.random(n)
    shop = np.where(pick < 0.55, rng.normal(8.75, 1.0, n), rng.normal(12.75, 1.5, n))
    catering = rng.uniform(8.0, 17.0, n)
    web = np.where(pick < 0.6, rng.normal(12.5, 2.5, n), rng.normal(20.5, 1.3, n))
    clock = np.select([kind == SHOP, kind == CATERING], [shop, catering], web)
    opens, closes = (np.array([KINDS[un.kind].order_hours[i] for un in UNITS])[u] for i in (0, 1))
    inside = (clock >= opens) & (clock < closes)
    return np.where(inside, clock, opens + (closes - opens) * rng.random(n))


def _sample_orders(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    cal = world.cal
    u, d = _draw_records(rng, x.orders)
    n = u.size
    ordered_at = _timestamps(cal, d, _order_clock(rng, u))

    has_error = rng.random(n) < x.error_p[u, d]
    cancelled = rng.random(n) < world.per_unit("cancel_rate")[u]
    refunded = ~cancelled & (rng.random(n) < REFUND_BASE + REFUND_IF_ERROR * has_error)
    status = np.where(cancelled, "cancelled", np.where(refunded, "refunded", "completed"))
    amount = np.maximum(
        np.round(_lognormal(rng, x.amount_median[u, d], world.per_unit("amount_sigma")[u]), 2), 0.5
    )

    fulfil_hours = _lognormal(rng, x.fulfil_median[u, d], world.per_unit("fulfil_sigma")[u])
    fulfilled_at = _after(ordered_at, fulfil_hours)
    unrecorded = (np.array([un.kind for un in UNITS])[u] == WEBSHOP) & (rng.random(n) < 0.01)
    fulfilled_at[cancelled | unrecorded | (fulfilled_at > _extract_cutoff(cal))] = np.datetime64(
        "NaT"
    )

    customer, known = _customers(world, rng, u)
    order = np.lexsort((u, ordered_at))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[u],
            "ordered_at": ordered_at.astype("datetime64[us]"),
            "fulfilled_at": fulfilled_at.astype("datetime64[us]"),
            "amount": amount,
            "status": status,
            "has_error": has_error,
            "_customer": np.where(known, customer, -1),
        }
    )[order]
    number = pl.col("_customer").cast(pl.String)
    return frame.select(
        _ids("O", n, 7).alias("order_id"),
        "unit_id",
        "ordered_at",
        "fulfilled_at",
        "amount",
        "status",
        "has_error",
        pl.when(pl.col("_customer") > 0)
        .then(pl.lit("C") + number.str.zfill(6))
        .alias("customer_id"),
        # An extra column, as real exports have: ROI Ledger never reads it.
        pl.when(pl.col("_customer") > 0).then(pl.lit("Customer ") + number).alias("customer_name"),
    )


def _customers(
    world: _World, rng: np.random.Generator, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A finite customer pool per unit; regulars (low numbers) order most often."""
    weekly = np.array([un.orders_per_week for un in UNITS])
    pool = np.maximum(
        20, np.round(world.per_unit("customers_per_weekly_order") * weekly * world.scale)
    ).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(pool)[:-1]])
    index = np.floor(pool[u] * rng.random(u.size) ** CUSTOMER_LOYALTY_SKEW).astype(np.int64)
    known = rng.random(u.size) < world.per_unit("known_customer_share")[u]
    return offset[u] + index + 1, known


def _sample_tickets(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    cal = world.cal
    u, d = _draw_records(rng, x.tickets)
    n = u.size
    is_web = np.array([un.kind == WEBSHOP for un in UNITS])[u]
    opened_at = _timestamps(
        cal, d, np.where(is_web, rng.uniform(7.0, 23.0, n), rng.uniform(8.0, 19.0, n))
    )

    resolution_hours = _lognormal(rng, x.resolution_median[u, d], 0.8)
    response_minutes = np.minimum(
        _lognormal(rng, x.first_response_median[u, d], 0.9), 0.9 * resolution_hours * 60
    )
    first_response_at = _after(opened_at, response_minutes / 60)
    resolved_at = _after(opened_at, resolution_hours)
    unanswered = rng.random(n) < 0.02
    unresolved = unanswered | (rng.random(n) < 0.01) | (resolved_at > _extract_cutoff(cal))
    first_response_at[unanswered | (first_response_at > _extract_cutoff(cal))] = np.datetime64(
        "NaT"
    )
    resolved_at[unresolved] = np.datetime64("NaT")
    reopened = ~unresolved & (rng.random(n) < REOPEN_RATE)

    # Satisfaction falls with slow resolution and reopened tickets; many customers never rate.
    slowness = np.log(resolution_hours / x.resolution_median[u, d]) / 0.8
    score = np.round(4.1 - 0.5 * slowness - 0.8 * reopened + rng.normal(0.0, 0.8, n)).clip(1, 5)
    csat = np.where(unresolved | (rng.random(n) < CSAT_MISSING), np.nan, score)

    order = np.lexsort((u, opened_at))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[u],
            "opened_at": opened_at.astype("datetime64[us]"),
            "first_response_at": first_response_at.astype("datetime64[us]"),
            "resolved_at": resolved_at.astype("datetime64[us]"),
            "reopened": reopened,
            "csat": pl.Series(csat, nan_to_null=True).cast(pl.Int64),
        }
    )[order]
    return frame.select(_ids("T", n, 6).alias("ticket_id"), pl.all())


def _sample_hours(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    """One entry per employee, working day and activity; absences leave the day empty."""
    staff, cal = world.staff, world.cal
    planned = x.hours / (1 - ABSENCE_RATE)
    present = rng.random(planned.shape[:2]) >= ABSENCE_RATE
    s, d, a = np.nonzero((planned > 0) & present[:, :, None])
    n = s.size
    noise = np.exp(rng.normal(-0.5 * ENTRY_HOURS_SIGMA**2, ENTRY_HOURS_SIGMA, n))  # mean 1
    exact = np.minimum(planned[s, d, a] * noise, 24.0)

    changed = d >= staff.change_day[s]
    employee = np.where(changed, staff.next_id[s], staff.first_id[s])
    rate = _hourly_rates(world)[s, d]
    hourly_cost = np.where(rng.random(n) < MISSING_HOURLY_COST, np.nan, np.round(rate, 2))

    # Time sheets record hundredths of an hour. Round up or down at random, in proportion to
    # the remainder, so each entry's expected hours stay exactly its planned hours: rounding to
    # the nearest hundredth (and flooring at 0.01) is biased for the tiny entries of small
    # scales, and truth.csv is computed from the unrounded expected hours. An entry that rounds
    # to 0 is not booked. (Drawn last, so the draws above do not depend on it.)
    cents = np.floor(exact * 100 + rng.random(n)) / 100
    booked = cents > 0
    s, d, a, employee = s[booked], d[booked], a[booked], employee[booked]
    hours, hourly_cost, n = cents[booked], hourly_cost[booked], int(booked.sum())

    order = np.lexsort((a, employee, staff.unit[s], d))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[staff.unit[s]],
            "_employee": employee,
            "work_date": cal.days[d],
            "activity": np.array(ACTIVITIES)[a],
            "hours": hours,
            "hourly_cost": pl.Series(hourly_cost, nan_to_null=True),
        }
    )[order]
    return frame.select(
        _ids("H", n, 7).alias("entry_id"),
        "unit_id",
        (pl.lit("E") + pl.col("_employee").cast(pl.String).str.zfill(3)).alias("employee_id"),
        "work_date",
        "activity",
        "hours",
        "hourly_cost",
    )


def _hourly_rates(world: _World) -> np.ndarray:
    """(S, D) hourly cost of each staff slot's holder on each day: a replacement earns 3% more,
    and everyone gets the yearly pay rise on 1 April."""
    staff, cal = world.staff, world.cal
    changed = np.arange(cal.n_days)[None, :] >= staff.change_day[:, None]
    pay_rise = YEARLY_PAY_RISE ** _pay_rises(cal)
    return staff.rate[:, None] * np.where(changed, 1.03, 1.0) * pay_rise[None, :]


def _pay_rises(cal: _Calendar) -> np.ndarray:
    """(D,) number of 1 April pay rises since the start of the period."""
    code = cal.month_day_code()
    return np.cumsum((code == 401) & (np.arange(cal.n_days) > 0))


def _sample_defects(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    """Weekly Poisson counts of defect events per unit, in proportion to the orders."""
    cal = world.cal
    not_cancelled = x.orders * (1 - world.per_unit("cancel_rate")[:, None])
    events = (
        cal.weekly_sum(not_cancelled) * world.per_unit("defects_per_1000_orders")[:, None] / 1000
    )
    u, w = _draw_records(rng, events)
    n = u.size
    workdays = np.where(np.array([KINDS[un.kind].staff_days == "rota" for un in UNITS])[u], 7, 5)
    day = w * 7 + np.floor(rng.random(n) * workdays).astype(np.int64)
    detected_at = _timestamps(cal, day, rng.uniform(6.0, 18.0, n))
    units_affected = 1 + rng.poisson(world.per_unit("defect_units")[u] - 1)
    cost = np.round(
        units_affected * world.per_unit("defect_unit_cost")[u] * np.exp(rng.normal(0.0, 0.25, n)), 2
    )
    cost = np.where(rng.random(n) < 0.1, np.nan, cost)

    order = np.lexsort((u, detected_at))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[u],
            "detected_at": detected_at.astype("datetime64[us]"),
            "units_affected": units_affected,
            "cost": pl.Series(cost, nan_to_null=True),
        }
    )[order]
    return frame.select(_ids("D", n, 5).alias("defect_id"), pl.all())


def _sample_kpis(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    """Monthly staff satisfaction for every unit, quarterly scrap rate for the shops."""
    cal = world.cal
    months = cal.month_starts
    satisfaction = np.round(
        np.clip(x.satisfaction + rng.normal(0.0, 0.2, x.satisfaction.shape), 1, 10), 1
    )
    frames = [
        pl.DataFrame(
            {
                "unit_id": np.repeat(np.array(UNIT_IDS), months.size),
                "period_start": np.tile(months, len(UNITS)),
                "metric": "staff_satisfaction",
                "value": satisfaction.ravel(),
            }
        )
    ]
    shops = [un for un in UNITS if un.kind == SHOP]
    quarters = cal.quarter_starts
    fourth = (quarters.astype("datetime64[M]").astype(np.int64) % 12) == 9
    scrap = np.array([un.scrap_rate for un in shops])[:, None] + 0.008 * fourth[None, :]
    scrap = np.round(np.clip(scrap + rng.normal(0.0, 0.004, scrap.shape), 0.0, None), 4)
    frames.append(
        pl.DataFrame(
            {
                "unit_id": np.repeat(np.array([un.id for un in shops]), quarters.size),
                "period_start": np.tile(quarters, len(shops)),
                "metric": "scrap_rate",
                "value": scrap.ravel(),
            }
        )
    )
    return pl.concat(frames).sort("unit_id", "metric", "period_start")


# --- Truth -----------------------------------------------------------------------------


def _metric_series(world: _World, x: _Expected, metric: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Expected metric per unit and period: (values (U, P), period starts, period length in days).

    Weekly medians are taken as the volume-weighted mean of the daily medians: exact in the
    after windows, where the daily medians of a week are equal.
    """
    cal = world.cal
    weeks = (cal.week_starts, 7)
    not_cancelled = x.orders * (1 - world.per_unit("cancel_rate")[:, None])
    completed = x.orders * _completed_p(world, x.error_p)
    if metric == "order_error_rate":
        return cal.weekly_mean(x.error_p, not_cancelled), *weeks
    if metric == "order_fulfilment_hours":
        return cal.weekly_mean(x.fulfil_median, not_cancelled), *weeks
    if metric == "revenue_per_week":
        mean_amount = x.amount_median * np.exp(world.per_unit("amount_sigma")[:, None] ** 2 / 2)
        return cal.weekly_sum(completed * mean_amount), *weeks
    if metric == "hours_per_order":
        hours, orders = (
            cal.weekly_sum(world.unit_hours(x.hours.sum(axis=2))),
            cal.weekly_sum(completed),
        )
        return np.divide(hours, orders, out=np.full(hours.shape, np.nan), where=orders > 0), *weeks
    if metric.startswith("hours_") and metric.removeprefix("hours_") in ACTIVITIES:
        a = ACTIVITIES.index(metric.removeprefix("hours_"))
        return cal.weekly_sum(world.unit_hours(x.hours[:, :, a])), *weeks
    if metric == "ticket_resolution_hours":
        return cal.weekly_mean(x.resolution_median, x.tickets), *weeks
    if metric == "ticket_first_response_minutes":
        return cal.weekly_mean(x.first_response_median, x.tickets), *weeks
    if metric == "staff_satisfaction":
        return x.satisfaction, cal.month_starts, 31
    raise ValueError(f"no truth for metric {metric!r}")


def _metric_volume(world: _World, x: _Expected, metric: str) -> np.ndarray:
    """(U, W) expected weekly volume of a per_volume metric: what the catalogue's ``volume``
    counts (non-cancelled orders for the error rate, completed orders for hours per order)."""
    cal = world.cal
    if metric == "order_error_rate":
        return cal.weekly_sum(x.orders * (1 - world.per_unit("cancel_rate")[:, None]))
    if metric == "hours_per_order":
        return cal.weekly_sum(x.orders * _completed_p(world, x.error_p))
    raise ValueError(f"no volume for metric {metric!r}")


@dataclass(frozen=True)
class _MoneyRule:
    """How the money step values a change in one metric (catalogue/metrics.yml's ``money``)."""

    basis: str  # per_volume: effect x volume / scale x value; per_period: effect x value
    sign: float  # +1 if the metric's good direction is up, -1 if down
    value: str  # a key of BUSINESS_VALUES, or "hourly_cost" (the unit's from the time sheets)
    scale: float = 1.0  # ratio metrics only


def _money_rule(metric: str) -> _MoneyRule | None:
    """The catalogue's money rule for the metrics truth.csv covers; None: no money value
    (fulfilment and ticket times, KPIs). Kept here rather than read from the catalogue so that
    truth.csv stays an answer key independent of ROI Ledger's code; a test checks they agree."""
    if metric == "order_error_rate":
        return _MoneyRule("per_volume", -1.0, "cost_per_order_error")
    if metric == "revenue_per_week":
        return _MoneyRule("per_period", 1.0, "gross_margin")
    if metric == "hours_per_order":
        return _MoneyRule("per_volume", -1.0, "hourly_cost")
    if metric.startswith("hours_") and metric.removeprefix("hours_") in ACTIVITIES:
        return _MoneyRule("per_period", -1.0, "hourly_cost")
    return None


def _unit_hourly_cost(world: _World, x: _Expected) -> np.ndarray:
    """(U,) each unit's hours-weighted hourly cost over the whole period, from the expected
    hours and the rates the time sheets are drawn with: what the money step takes from the
    hours data (sum(hours x hourly_cost) / sum(hours))."""
    hours = x.hours.sum(axis=2)  # (S, D)
    paid = world.unit_hours(hours * _hourly_rates(world)).sum(axis=1)
    worked = world.unit_hours(hours).sum(axis=1)
    return np.divide(
        paid, worked, out=np.full(worked.shape, LOADED_HOURLY_COST), where=worked > 0
    )


def _true_benefit(
    world: _World,
    with_all: _Expected,
    effect: np.ndarray,
    metric: str,
    mask: np.ndarray,
) -> float | None:
    """Money value of ``effect`` ((U, P) with-minus-without metric values) over the unit-periods
    in ``mask``, by the money step's convention; None for a metric without money."""
    rule = _money_rule(metric)
    if rule is None:
        return None
    if rule.value == "hourly_cost":
        value = _unit_hourly_cost(world, with_all)
    else:
        value = np.full(len(UNITS), BUSINESS_VALUES[rule.value])
    if rule.basis == "per_volume":
        volume = _metric_volume(world, with_all, metric)
        quantity = np.where(volume > 0, volume / rule.scale, 0.0)
        effect = np.where(volume > 0, effect, 0.0)  # no volume: no ratio, no money
    else:
        quantity = np.ones(effect.shape)
    weekly = rule.sign * effect * quantity * value[:, None]
    return round(float(weekly[mask].sum()), 2) + 0.0  # + 0.0: no "-0.0" for a zero effect


def _after_window(
    world: _World, spec: _TruthSpec, starts: np.ndarray, length_days: int
) -> tuple[np.ndarray, list[str]]:
    """(U, P) bool: treated unit-periods that start on or after go-live + ramp-up (the later
    one of the initiatives) and, for a retired initiative, end by the retirement day."""
    rollouts = [world.rollouts[i] for i in spec.initiatives]
    units = [u for u in UNIT_IDS if all(u in r.go_live for r in rollouts)]
    mask = np.zeros((len(UNITS), starts.size), dtype=bool)
    for unit in units:
        after = np.datetime64(max(r.after_start(unit) for r in rollouts))
        inside = starts >= after
        for r in rollouts:
            if r.retired_on is not None:
                inside &= starts + np.timedelta64(length_days, "D") <= np.datetime64(r.retired_on)
        mask[UNIT_IDS.index(unit)] = inside
    return mask, units


def _truth(world: _World) -> pl.DataFrame:
    """truth.csv: for each planted row, the mean over the treated unit-periods of the after
    window of (expected metric with every initiative - expected metric without the row's
    initiatives), and the mean of the latter (the baseline). Expected values, not draws;
    a ratio metric is the ratio of expected sums. ``true_benefit`` is that difference in money,
    summed over the same unit-periods (see the module docstring and ``_true_benefit``)."""
    everything = frozenset(world.rollouts)
    with_all = _expected(world, everything)
    rows = []
    for spec in _TRUTH:
        without = _expected(world, everything - set(spec.initiatives))
        observed, starts, length = _metric_series(world, with_all, spec.metric)
        counterfactual, _, _ = _metric_series(world, without, spec.metric)
        mask, units = _after_window(world, spec, starts, length)
        effect = observed - counterfactual
        rows.append(
            {
                "initiative_id": spec.row_id,
                "metric": spec.metric,
                "true_effect_abs": round(float(np.mean(effect[mask])), 6),
                "baseline": round(float(np.mean(counterfactual[mask])), 6),
                "true_benefit": _true_benefit(world, with_all, effect, spec.metric, mask),
                "units": ";".join(units),
                "note": spec.note,
            }
        )
    return pl.DataFrame(rows, schema_overrides={"true_benefit": pl.Float64})


# --- The register ------------------------------------------------------------------------

_REGISTER = Template(
    """\
# Initiative register of Crumb & Co, the ROI Ledger demo business: a bakery with five shops,
# a catering kitchen and a webshop. It is also the commented example of this file's format:
# copy it and replace the content with your own business.
#
# ROI Ledger reads the operational data in data/ and, for every initiative that went live,
# measures how its metrics changed in the treated units compared with what would have
# happened anyway, and sets that against the costs and the expectation below.
# The demo data were simulated with known effects: truth.csv next to this file holds them.
#
# Dates are ISO (YYYY-MM-DD). Metric names come from the metric catalogue
# (roi_ledger/catalogue/metrics.yml; hours_{activity} gives hours_baking, hours_invoicing, ...)
# or are KPI names from data/kpis.csv (staff_satisfaction, scrap_rate).
# Unknown keys are errors, so a typo cannot silently drop a setting.

# The business, and the values that turn metric changes into money.
business:
  name: Crumb & Co
  currency: GBP
  timezone: Europe/London        # naive timestamps in the data are local times here
  loaded_hourly_cost: $loaded_hourly_cost       # GBP per staff hour, used where hours.hourly_cost is empty
  discount_rate: 0.08            # yearly, to discount future costs and benefits
  values:
    cost_per_order_error: $cost_per_order_error   # GBP to put one wrong order right (remake, refund, goodwill)
    cost_per_defect_unit: $cost_per_defect_unit    # GBP per faulty item thrown away or replaced
    gross_margin: $gross_margin           # share of extra revenue that is profit

# Objectives: what the business wants to achieve, each measured on one metric.
# target_change_pct is the wanted change of that metric in percent (negative = down).
objectives:
  - id: fewer_order_errors
    statement: Cut the share of orders that need correcting by a quarter
    metric: order_error_rate
    target_change_pct: -25
    deadline: $deadline_next_year_end
    owner: Operations lead
  - id: less_staff_time
    statement: Serve every order with a tenth less staff time
    metric: hours_per_order
    target_change_pct: -10
    deadline: $deadline_next_year
    owner: Finance lead
  - id: faster_service
    statement: Resolve customer complaints within a day
    metric: ticket_resolution_hours
    target_change_pct: -30
    deadline: $deadline_this_year
    owner: Customer service lead
  - id: grow_webshop
    statement: Grow webshop revenue by a quarter
    metric: revenue_per_week
    target_change_pct: 25
    deadline: $deadline_next_year
    owner: Marketing lead

# Initiatives: what was done (or is planned), where, from when, at what cost, and what it
# was expected to bring.
#   status         proposed | approved | live | retired
#   go_live        first day in use; treated_units: the units that got it
#   phases         instead of go_live + treated_units, for a rollout in stages
#   ramp_up_days   days after go-live before the full effect can be expected; they are left
#                  out of the comparison
#   control_units  optional; omitted = every unit no live initiative reached on related data
#                  (the same metric or dataset); [] = none
#   metrics        the metrics the initiative should move
#   costs          one_off (amount, date) and monthly (amount, start, optional end), in GBP
#   expected       the business case: annual_benefit in GBP and the expected change of each
#                  metric in percent
#   feasibility    for proposed and approved ones: 1 (easy) to 5 (hard) for effort,
#                  complexity, integration and training_need
initiatives:
  # Order checks at the till in two shops. The units that never got them are the comparison
  # (control_units is omitted).
  - id: pos_order_checks
    name: Order checks at the till
    objective: fewer_order_errors
    owner: Priya (shops manager)
    status: live
    phases:                      # a rollout in stages: the central shop gets the checks next
      - {units: [shop_north, shop_south], go_live: $pos_order_checks_go_live}
      - {units: [shop_central], go_live: $pos_order_checks_phase_2}
    ramp_up_days: 14             # staff took two weeks to get used to the checks
    # Compared with the other shops (catering and the webshop take orders differently).
    control_units: [shop_east, shop_west]
    metrics: [order_error_rate]
    costs:
      - {kind: one_off, amount: 4200, date: $pos_order_checks_bought}
      - {kind: monthly, amount: 150, start: $pos_order_checks_billed}
    expected:
      annual_benefit: 9000
      changes: {order_error_rate: -40}

  # Catering and webshop invoices are created and sent by the order system instead of being
  # typed up by hand. Measured on the time sheets: hours booked to invoicing.
  - id: auto_invoicing
    name: Automatic invoicing from the order system
    objective: less_staff_time
    owner: Tom (finance)
    status: live
    go_live: $auto_invoicing_go_live
    treated_units: [catering, webshop]
    ramp_up_days: 28             # a month of checking every invoice by hand as well
    metrics: [hours_invoicing]
    costs:
      - {kind: one_off, amount: 6500, date: $auto_invoicing_bought}
      - {kind: monthly, amount: 220, start: $auto_invoicing_billed}
    expected:
      annual_benefit: 11000
      changes: {hours_invoicing: -40}

  # A "goes well with..." widget in the webshop basket, run as a Christmas campaign: it went
  # live in mid-November, just before the rush, and was switched off in January, so the weeks
  # it ran are not comparable with the weeks before.
  - id: festive_upsell_widget
    name: Festive upsell widget in the webshop
    objective: grow_webshop
    owner: Sam (marketing)
    status: retired
    retired_on: $festive_upsell_widget_retired
    go_live: $festive_upsell_widget_go_live
    treated_units: [webshop]
    ramp_up_days: 7
    metrics: [revenue_per_week]
    costs:
      - {kind: one_off, amount: 2500, date: $festive_upsell_widget_bought}
      - {kind: monthly, amount: 60, start: $festive_upsell_widget_billed, end: $festive_upsell_widget_retired}
    expected:
      annual_benefit: 15000
      changes: {revenue_per_week: 8}

  # Two initiatives that went live in the same week in the same two shops and act on the
  # same metric: their separate effects are hard to tell apart. control_units names the
  # comparison explicitly: the other shops, not catering or the webshop, whose hours per
  # order are of another kind.
  - id: rota_planner
    name: Demand-based rota planner
    objective: less_staff_time
    owner: Priya (shops manager)
    status: live
    go_live: $rota_planner_go_live
    treated_units: [shop_east, shop_west]
    control_units: [shop_north, shop_south, shop_central]
    ramp_up_days: 14
    metrics: [hours_per_order]
    costs:
      - {kind: one_off, amount: 3000, date: $rota_planner_bought}
      - {kind: monthly, amount: 180, start: $rota_planner_billed}
    expected:
      annual_benefit: 8000
      changes: {hours_per_order: -4}
  - id: staff_app
    name: Staff app for shift swaps and paperwork
    objective: less_staff_time
    owner: Dan (people and payroll)
    status: live
    go_live: $staff_app_go_live
    treated_units: [shop_east, shop_west]
    control_units: [shop_north, shop_south, shop_central]
    ramp_up_days: 12
    metrics: [hours_per_order, staff_satisfaction]   # staff_satisfaction: a KPI in data/kpis.csv
    costs:
      - {kind: one_off, amount: 1800, date: $staff_app_bought}
      - {kind: monthly, amount: 95, start: $staff_app_billed}
    expected:
      annual_benefit: 5000
      changes: {hours_per_order: -3, staff_satisfaction: 5}

  # Triage of complaints in the flagship shop, started after a bad month in which complaints
  # piled up and took days to resolve.
  - id: complaint_triage
    name: Complaint triage board
    objective: faster_service
    owner: Aisha (customer service)
    status: live
    go_live: $complaint_triage_go_live
    treated_units: [shop_central]
    ramp_up_days: 14
    metrics: [ticket_resolution_hours]
    costs:
      - {kind: one_off, amount: 1500, date: $complaint_triage_bought}
      - {kind: monthly, amount: 40, start: $complaint_triage_billed}
    expected:
      annual_benefit: 4000
      changes: {ticket_resolution_hours: -50}

  # Self-service tills, rolled out shop by shop: phases replace go_live and treated_units,
  # and each shop is compared from its own go-live. Only shop_central is a fitting
  # comparison: catering and webshop orders take days to fulfil, shop orders minutes.
  - id: self_checkout
    name: Self-service tills
    objective: faster_service
    owner: Priya (shops manager)
    status: live
    phases:
      - {units: [shop_north], go_live: $self_checkout_phase_1}
      - {units: [shop_south, shop_east], go_live: $self_checkout_phase_2}
      - {units: [shop_west], go_live: $self_checkout_phase_3}
    control_units: [shop_central]
    ramp_up_days: 14
    metrics: [order_fulfilment_hours]
    costs:                       # one set of tills per shop, bought before each phase
      - {kind: one_off, amount: 6000, date: $self_checkout_bought_1}
      - {kind: one_off, amount: 12000, date: $self_checkout_bought_2}
      - {kind: one_off, amount: 6000, date: $self_checkout_bought_3}
      - {kind: monthly, amount: 400, start: $self_checkout_billed}
    expected:
      annual_benefit: 18000
      changes: {order_fulfilment_hours: -25}

  # Retired: an FAQ chatbot on the webshop, switched off on retired_on. It is measured over
  # the time it ran; its monthly cost ends then.
  - id: faq_chatbot
    name: FAQ chatbot on the webshop
    objective: faster_service
    owner: Aisha (customer service)
    status: retired
    go_live: $faq_chatbot_go_live
    retired_on: $faq_chatbot_retired
    treated_units: [webshop]
    ramp_up_days: 14
    metrics: [ticket_first_response_minutes]
    costs:
      - {kind: one_off, amount: 3500, date: $faq_chatbot_bought}
      - {kind: monthly, amount: 120, start: $faq_chatbot_billed, end: $faq_chatbot_retired}
    expected:
      annual_benefit: 6000
      changes: {ticket_first_response_minutes: -50}

  # Built in the catering kitchen and never given an owner, an objective or a budget line.
  # ROI Ledger still measures it, and reports what is missing.
  - id: stock_sheet_macros
    name: Stock-count spreadsheet macros
    status: live
    go_live: $stock_sheet_macros_go_live
    treated_units: [catering]
    ramp_up_days: 14
    metrics: [hours_admin]

  # Not live yet: nothing to measure, but the business case and a feasibility score, to rank
  # what to do next. go_live is the planned date.
  - id: demand_forecasting
    name: Demand forecast for the morning bake
    objective: less_staff_time
    owner: Priya (shops manager)
    status: approved
    go_live: $demand_forecasting_go_live
    treated_units: [shop_north, shop_south, shop_east, shop_west, shop_central]
    ramp_up_days: 28
    metrics: [scrap_rate, hours_baking]
    costs:
      - {kind: one_off, amount: 9000, date: $demand_forecasting_bought}
      - {kind: monthly, amount: 250, start: $demand_forecasting_billed}
    expected:
      annual_benefit: 14000
      changes: {scrap_rate: -25, hours_baking: -10}
    feasibility: {effort: 3, complexity: 4, integration: 3, training_need: 2}
  - id: online_catering_quotes
    name: Online quotes for catering orders
    objective: less_staff_time
    owner: Tom (finance)
    status: proposed
    go_live: $online_catering_quotes_go_live
    treated_units: [catering]
    ramp_up_days: 14
    metrics: [hours_admin]
    costs:
      - {kind: one_off, amount: 3800, date: $online_catering_quotes_bought}
      - {kind: monthly, amount: 90, start: $online_catering_quotes_billed}
    expected:
      annual_benefit: 5200
      changes: {hours_admin: -30}
    feasibility: {effort: 2, complexity: 2, integration: 3, training_need: 1}
  - id: loyalty_app
    name: Loyalty stamps in the webshop
    objective: grow_webshop
    owner: Sam (marketing)
    status: proposed
    go_live: $loyalty_app_go_live
    treated_units: [webshop]
    ramp_up_days: 28
    metrics: [repeat_customer_rate, revenue_per_week]
    costs:
      - {kind: one_off, amount: 7500, date: $loyalty_app_bought}
      - {kind: monthly, amount: 300, start: $loyalty_app_billed}
    expected:
      annual_benefit: 12000
      changes: {repeat_customer_rate: 15, revenue_per_week: 6}
    feasibility: {effort: 4, complexity: 3, integration: 4, training_need: 2}
"""
)

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


# --- Writing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoBusiness:
    """Where the demo was written; ``as_of`` is the last day of its data."""

    root: Path
    data_dir: Path
    config_path: Path
    truth_path: Path
    as_of: date


_CSV = {"datetime_format": "%Y-%m-%d %H:%M:%S", "date_format": "%Y-%m-%d"}


def _write_hours(hours: pl.DataFrame, folder: Path) -> None:
    """One file per year, as a time-sheet system exports them."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("hours_*.csv"):
        stale.unlink()
    with_year = hours.with_columns(pl.col("work_date").dt.year().alias("_year"))
    for year in sorted(with_year["_year"].unique().to_list()):
        part = with_year.filter(pl.col("_year") == year).drop("_year")
        part.write_csv(folder / f"hours_{year}.csv", **_CSV)


def generate_demo_business(
    out_dir: Path,
    *,
    seed: int = 7,
    scale: float = 1.0,
    end: date = DEFAULT_END,
    records_seed: int | None = None,
) -> DemoBusiness:
    """Write the Crumb & Co demo into ``out_dir``: data/, initiatives.yml and truth.csv.

    ``seed`` draws the business itself (staffing, demand wobbles, the planted truths);
    ``records_seed`` (default: ``seed``) draws its records (orders, tickets, time-sheet
    entries, defects, KPI readings) from it, so other values give the same business with new
    records. ``scale`` multiplies record volumes (orders, tickets, defects; staff hours keep
    pace so hours per order stays realistic). ``end`` is the last day of the data and must be
    a Sunday; the data cover the 156 weeks up to it.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if end.weekday() != 6:
        raise ValueError(f"end must be a Sunday (weeks run Monday to Sunday), got {end:%A} {end}")
    root = Path(out_dir)
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)

    world = _build_world(end, seed, scale)
    x = _expected(world, frozenset(world.rollouts))
    draw = seed if records_seed is None else records_seed
    _sample_orders(world, x, _stream(draw, "orders")).write_parquet(data_dir / "orders.parquet")
    _sample_tickets(world, x, _stream(draw, "tickets")).write_csv(data_dir / "tickets.csv", **_CSV)
    _write_hours(_sample_hours(world, x, _stream(draw, "hours")), data_dir / "hours")
    _sample_defects(world, x, _stream(draw, "defects")).write_csv(data_dir / "defects.csv", **_CSV)
    _sample_kpis(world, x, _stream(draw, "kpis")).write_csv(data_dir / "kpis.csv", **_CSV)

    config_path = root / "initiatives.yml"
    config_path.write_text(_register_text(world), encoding="utf-8")
    truth_path = root / "truth.csv"
    _truth(world).write_csv(truth_path)
    return DemoBusiness(root, data_dir, config_path, truth_path, as_of=end)
