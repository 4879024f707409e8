"""The demo bakery's world: its units, staff, calendar, demand and the planted effects.

Everything here is fixed before any record is drawn: what each initiative changes (the planted
effects), the business's structure, and the latent *expected* values of every unit and day with
and without each initiative (``_expected``). The records (``sampling``) are drawn from these,
and the answer key (``answer_key``) is computed from them, not from the noisy draws.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

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


