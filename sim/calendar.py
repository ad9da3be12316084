"""The time axis: hours, contract years and contract months. Nothing else defines them.

A contract year is 8,760 h and the horizon is ``years × 8760`` h from hour 0; a contract
month is a twelfth of a contract year (730 h), so years align exactly with months. Hourly
demand lives on hour slots of 1 h (the last one may be shorter).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

HOURS_PER_YEAR = 8760.0
"""A contract year [h]."""
HOURS_PER_MONTH = HOURS_PER_YEAR / 12
"""A contract month, 730 h [h]."""


def years(hours: float) -> float:
    """Hours as contract years."""
    return hours / HOURS_PER_YEAR


def contract_years(years: float) -> int:
    """Contract years a horizon of ``years`` touches (a part year counts; at least one)."""
    return max(1, math.ceil(years - 1e-9))


def month_edges(horizon_hours: float) -> NDArray[np.float64]:
    """Edges of contract months (730 h each; the last may be shorter) [h]."""
    n = max(1, math.ceil(horizon_hours / HOURS_PER_MONTH - 1e-9))
    edges: NDArray[np.float64] = np.arange(n + 1, dtype=float) * HOURS_PER_MONTH
    edges[-1] = horizon_hours
    return edges


def month_mid_hours(n_months: int) -> NDArray[np.float64]:
    """The middle of each contract month [h]."""
    out: NDArray[np.float64] = (np.arange(n_months, dtype=float) + 0.5) * HOURS_PER_MONTH
    return out


def hours_in_horizon(horizon_hours: float) -> NDArray[np.float64]:
    """Length of each hour slot [h]: 1, except a fractional last one."""
    n = math.ceil(horizon_hours - 1e-9)
    lengths = np.ones(n)
    if n:
        lengths[-1] = horizon_hours - (n - 1)
    return lengths
