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
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}{prefix}{_sig(a / scale, digits)}{suffix}"
    return f"{sign}{prefix}{_sig(a, digits)}"


def pct(x: float, digits: int = 1) -> str:
    """``81.2%``."""
    if x is None or math.isnan(x):
        return "–"
    return f"{100 * x:.{digits}f}%"


def _sig(v: float, digits: int) -> str:
    if v == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(v)))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
