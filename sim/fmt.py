"""Number formatting for people: money, unit-hours, percentages."""

from __future__ import annotations

import math
from typing import Any

from sim import catalogue
from sim.catalogue import Metric


def usd(x: float, digits: int = 3) -> str:
    """``$1.23B``, ``$340M``, ``$12.5k``, ``$950``; less than half a cent is ``$0`` (a
    rounding residue, never ``$0.0000000878``)."""
    if x is not None and not math.isnan(x) and abs(x) < 0.005:
        return "$0"
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


def _entry(metric: str) -> Metric | None:
    """The catalogue entry of a metric, or of a frame column named as a metric family
    (``spend_usd``, ``idle_unit_hours``: the timeseries' columns)."""
    found = catalogue.find(metric)
    if found is not None:
        return found[0]
    head = metric.split(".", maxsplit=1)[0]
    for entry in catalogue.CATALOGUE:
        if entry.pattern.split(".")[0] == head:
            return entry
    return None


def is_rate(metric: str) -> bool:
    """Metrics that are shares (shown in %, their changes in percentage points)."""
    entry = _entry(metric)
    return entry is not None and entry.unit == catalogue.SHARE


def metric_value(v: float, metric: str) -> str:
    """A metric's value in its unit: dollars, a percentage, or a quantity."""
    if v is None or not isinstance(v, int | float) or math.isnan(v):
        return "–"
    entry = _entry(metric)
    unit = entry.unit if entry is not None else ""
    if unit == catalogue.USD:
        return usd(v)
    if unit.startswith("USD per"):
        return f"${v:.3g}"
    if unit == catalogue.SHARE:
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


def metric_unit(metric: str, units: dict[str, str] | None = None) -> str:
    """The unit a metric is in (:mod:`sim.catalogue`): USD, share 0-1, hours, jobs, or a
    pool's unit-hours (``units`` maps pool, target and workload names to their pool's
    unit)."""
    if catalogue.find(metric) is not None:
        return catalogue.unit_of(metric, units)
    entry = _entry(metric)
    if entry is None:
        return ""
    return "unit-hours" if entry.unit == catalogue.UNIT_HOURS else entry.unit


def metric_label(metric: str, with_unit: bool = True, units: dict[str, str] | None = None) -> str:
    """A metric's name in words, for tables, axes and reports: ``total spend (USD)``,
    ``p95 wait, pretraining (hours)``, ``idle chip-hours, trainium``: the catalogue's
    label (:mod:`sim.catalogue`), with its unit unless that is a share or already said."""
    entry = _entry(metric)
    if catalogue.find(metric) is not None:
        text = catalogue.label_of(metric, units)
    else:  # a frame column named as a family: its words
        text = metric.split(".", maxsplit=1)[0].replace("_usd", "").replace("_", " ")
    if entry is not None and entry.unit == catalogue.UNIT_HOURS:
        return text  # the unit is in the words: idle chip-hours
    unit = metric_unit(metric, units) if with_unit else ""
    if not unit or is_rate(metric):
        return text  # shares read as %
    return f"{text} ({unit})"


def constraint_check(check: dict[str, Any]) -> str:
    """One constraint at one sweep point: ✓ or ✗, then the share of runs meeting it with its
    Wilson 95 % interval (chance constraints) or the statistic it is judged on."""
    if check["kind"] == "chance":
        low, high = check["wilson95"]
        text = f"{check['share']:.0%} [{low:.0%}–{high:.0%}]"
    else:
        text = metric_value(check["value"], str(check.get("metric", "")))
    return ("✓ " if check["holds"] else "✗ ") + text


def year1_and_peak(units: list[int]) -> str:
    """A reserved schedule as ``year 1 / peak``: ``14.7k / 26.2k``."""
    return f"{quantity(units[0])} / {quantity(max(units))}"
