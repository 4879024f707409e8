"""Numbers in the words an owner reads: one formatting for every sentence of the summary, the
morning report, the dashboard and ``roi explain`` (docs/report.md, "Numbers in words").

- money in the business's currency, whole, thousands separated: £3,198, -€8,229, 12 CHF;
- other figures with the digits that matter: two significant below 1, three from 1, never
  scientific notation or trailing zeros: 0.91, 0.0094, 1.39, 932, 1,896;
- a share (a metric whose catalogue ``unit`` is share, stored as a fraction) as a percentage, and
  its changes in percentage points: 6.1%, "2.4 points".
"""

from __future__ import annotations

import math

CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money(amount: float | None, currency: str) -> str:
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "unknown"
    sign = CURRENCY_SIGNS.get(currency)
    text = f"{abs(amount):,.0f}"
    text = f"{sign}{text}" if sign else f"{text} {currency}"
    return f"-{text}" if amount < 0 else text


def number(value: float) -> str:
    """A figure with the digits that matter: two significant below 1, three from 1 (whole numbers
    from 100), thousands separated, no trailing zeros, never scientific notation; under 0.0001
    in size it reads 0 (no owner's figure is that fine)."""
    if abs(value) < 0.0001:
        return "0"
    if abs(value) >= 99.95:  # whole from 100 on: 1,896, never 1,900
        return f"{value:,.0f}"
    significant = 2 if abs(value) < 1 else 3
    rounded = float(f"{value:.{significant}g}")
    digits = max(0, significant - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _hundredths(share: float) -> str:
    """A share in percent: one decimal from 1% (6.1, 61.3, 100), two significant digits below."""
    value = share * 100
    if abs(value) < 1:
        return number(value)
    text = f"{value:,.1f}"
    return text.removesuffix(".0")


def percent(share: float) -> str:
    """A share (0.061) as an owner reads it: 6.1%."""
    return f"{_hundredths(share)}%"


def points(change: float) -> str:
    """A change of a share (-0.0244) in percentage points: 2.4 points (the sign is said apart)."""
    size = _hundredths(abs(change))
    return f"{size} point" if size == "1" else f"{size} points"


def figure(value: float, unit: str, currency: str = "") -> str:
    """A metric's level in its catalogue unit (share, currency or number)."""
    if unit == "share":
        return percent(value)
    if unit == "currency":
        return money(value, currency)
    return number(value)


def change(value: float, unit: str, currency: str = "", *, sign: bool = True) -> str:
    """A change of a metric in its unit: +2.4 points, -£1,896, +0.91 (or its size, sign=False)."""
    if unit == "share":
        text = points(value)
    elif unit == "currency":
        text = money(abs(value), currency)
    else:
        text = number(abs(value))
    if not sign or not value:
        return text
    return f"{'-' if value < 0 else '+'}{text}"
