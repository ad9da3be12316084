"""Number formatting for people: money, unit-hours, percentages."""

from __future__ import annotations

import math


def usd(x: float, digits: int = 3) -> str:
    """``$1.23B``, ``$340M``, ``$12.5k``, ``$950``."""
    return quantity(x, digits, "$")


def quantity(x: float, digits: int = 3, prefix: str = "") -> str:
    """``1.23B``, ``340M``, ``12.5k``, ``0.82`` (``prefix`` goes after the sign: ``-$3M``)."""
    if x is None or math.isnan(x):
        return "–"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if math.isinf(a):
        return f"{sign}{prefix}∞"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}{prefix}{_sig(a / scale, digits)}{suffix}"
    return f"{sign}{prefix}{_sig(a, digits)}"


def pct(x: float, digits: int = 1) -> str:
    """``81.2%``."""
    if x is None or math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞%" if x > 0 else "-∞%"
    return f"{100 * x:.{digits}f}%"


def _sig(v: float, digits: int) -> str:
    if v == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(v)))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_MONEY = ("spend_usd", "idle_spend_usd", "npv_usd", "credit_usd")
_RATES = ("utilization", "coverage", "esr", "commit_attainment")


def is_rate(metric: str) -> bool:
    """Metrics that are shares (shown in %, their changes in percentage points)."""
    return metric.startswith(_RATES)


def metric_value(v: float, metric: str) -> str:
    """A metric's value in its unit: dollars, a percentage, or a quantity."""
    if v is None or not isinstance(v, int | float) or math.isnan(v):
        return "–"
    if metric.startswith(_MONEY):
        return usd(v)
    if metric.startswith("cost_per_work_unit_usd"):
        return f"${v:.3g}"
    if is_rate(metric):
        return pct(v)
    return quantity(v)


def metric_change(v: float, metric: str) -> str:
    """A signed change of a metric: dollars, percentage points for shares, or a quantity."""
    if v is None or not isinstance(v, int | float) or math.isnan(v):
        return "–"
    sign = "+" if v > 0 else ""
    if is_rate(metric):
        return f"{sign}{100 * v:.1f} pp"
    return sign + metric_value(v, metric)


def metric_interval(low: float, high: float, metric: str, change: bool = False) -> str:
    """``low – high`` in the metric's unit (of a change: signed, pp for shares)."""
    f = metric_change if change else metric_value
    return f"{f(low, metric)} – {f(high, metric)}"
