"""Contract economics: price paths, capacity schedules, commitments, NPV and savings rates.

Pure functions. Randomness (stochastic prices, target availability) comes from the
generators the caller passes, drawn per replication and keyed by name, so every sweep point
and stress case of replication i sees the same price path (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.calendar import HOURS_PER_MONTH, HOURS_PER_YEAR, month_mid_hours
from sim.distributions import FloatArray
from sim.scenario import Contract, Delivery, Generation, PricePath


def price_path(
    base: float,
    path: PricePath | None,
    params: dict[str, float],
    n_months: int,
    rng: np.random.Generator | None = None,
    generations: Sequence[Generation] = (),
) -> FloatArray:
    """Price per unit-hour in each contract month [USD].

    ``base × (1 + c)^(t/8760) × Π steps × GBM factor`` evaluated at month midpoints, where a
    generation with a price replaces ``base`` from the first month starting at or after it.
    The GBM factor ``exp(σ W(t) − σ² t / 2)`` has mean 1, so the stochastic path's mean is
    the deterministic path.
    """
    starts = np.arange(n_months) * HOURS_PER_MONTH
    prices: FloatArray = np.full(n_months, float(base))
    for g in generations:
        if g.price_per_unit_hour is not None:
            prices[starts >= g.at_hours - 1e-9] = g.price_per_unit_hour
    if path is None:
        return prices
    t_years = month_mid_hours(n_months) / HOURS_PER_YEAR
    prices = prices * (1.0 + params[path.change_per_year.path]) ** t_years
    for at, factor in path.steps:
        prices[starts >= at - 1e-9] *= factor
    sigma = params[path.volatility.path] if path.volatility is not None else 0.0
    if sigma > 0:
        assert rng is not None
        dt = np.diff(np.concatenate([[0.0], t_years]))
        w = np.cumsum(rng.normal(0.0, 1.0, n_months) * np.sqrt(dt))
        prices = prices * np.exp(sigma * w - 0.5 * sigma**2 * t_years)
    return prices


def capacity_changes(
    reserved_by_year: Sequence[int],
    delivery: Sequence[Delivery],
    instance_units: int,
    horizon_hours: float,
) -> tuple[tuple[float, int], ...]:
    """(time, units delivered) change points: contract years × delivery shortfall windows.

    Within a window only ``fraction`` of the contracted units arrive, rounded down to whole
    instances; overlapping windows multiply.
    """
    times = {y * HOURS_PER_YEAR for y in range(len(reserved_by_year))}
    for d in delivery:
        times |= {d.start_hours, d.end_hours}
    out: list[tuple[float, int]] = []
    for t in sorted(x for x in times if x < horizon_hours):
        year = min(int(t // HOURS_PER_YEAR + 1e-9), len(reserved_by_year) - 1)
        frac = 1.0
        for d in delivery:
            if d.start_hours <= t < d.end_hours:
                frac *= d.fraction
        units = math.floor(reserved_by_year[year] * frac / instance_units + 1e-9) * instance_units
        if not out or out[-1][1] != units:
            out.append((t, units))
    return tuple(out) if out else ((0.0, 0),)


def speed_changes(
    speed: float, generations: Sequence[Generation]
) -> tuple[tuple[float, float], ...]:
    """(time, speed) change points of a pool's hardware."""
    return ((0.0, speed), *((g.at_hours, g.speed) for g in generations))


def availability_changes(
    capacity: float,
    unavailable: Sequence[tuple[float, float]],
    availability: float,
    horizon_hours: float,
    rng: np.random.Generator | None,
) -> tuple[tuple[float, float], ...]:
    """(time, capacity) change points of an overflow target after t = 0.

    Capacity drops to zero inside ``unavailable`` windows, and in each contract month with
    probability ``1 − availability`` (drawn per replication).
    """
    n_months = max(1, math.ceil(horizon_hours / HOURS_PER_MONTH - 1e-9))
    up = np.ones(n_months, dtype=bool)
    if availability < 1.0:
        assert rng is not None
        up = rng.random(n_months) < availability
    edges = {m * HOURS_PER_MONTH for m in range(n_months)}
    for a, b in unavailable:
        edges |= {a, b}

    def level(t: float) -> float:
        m = min(int(t // HOURS_PER_MONTH + 1e-9), n_months - 1)
        if not up[m] or any(a <= t < b for a, b in unavailable):
            return 0.0
        return capacity

    out: list[tuple[float, float]] = []
    prev = capacity
    for t in sorted({0.0} | {e for e in edges if 0 < e < horizon_hours}):
        v = level(t)
        if v != prev:
            out.append((t, v))
            prev = v
    return tuple(out)


@dataclass(frozen=True, eq=False)
class CommitmentOutcome:
    """A spend commitment, settled period by period."""

    shortfall_usd: FloatArray
    """Shortfall billed at the end of each period [USD]."""
    eligible_usd: FloatArray
    """Eligible spend (after discount) in each period [USD]."""
    commitment_usd: FloatArray
    remaining_usd: FloatArray
    """Committed dollars not yet spent at the end of each month (lock-in exposure) [USD]."""
    shortfall_month: np.ndarray
    """Contract month in which each period's shortfall is billed."""


def settle_commitment(contract: Contract, eligible_monthly: FloatArray) -> CommitmentOutcome:
    """Shortfall per period: commitment − eligible spend, if positive, billed at period end."""
    n = len(eligible_monthly)
    if not contract.commitment_usd:
        z = np.zeros(0)
        return CommitmentOutcome(z, z, z, np.zeros(n), np.zeros(0, dtype=int))
    if contract.period == "term":
        bounds = [(0, n)]
    else:
        bounds = [(y * 12, min((y + 1) * 12, n)) for y in range(len(contract.commitment_usd))]
        bounds = [(a, b) for a, b in bounds if a < n]
    commit = np.asarray(contract.commitment_usd[: len(bounds)], dtype=float)
    eligible = np.array([eligible_monthly[a:b].sum() for a, b in bounds])
    shortfall = np.maximum(commit - eligible, 0.0)
    remaining = np.zeros(n)
    for (a, b), c in zip(bounds, commit, strict=True):
        spent = np.cumsum(eligible_monthly[a:b])
        remaining[a:b] = np.maximum(c - spent, 0.0)
    return CommitmentOutcome(
        shortfall, eligible, commit, remaining, np.array([b - 1 for _, b in bounds], dtype=int)
    )


def npv(
    cash_by_month: FloatArray, annual_rate: float, at_month_start: FloatArray | None = None
) -> float:
    """Net present value of monthly cash flows paid at each month's end.

    ``at_month_start`` adds flows paid at the start of their month (upfront payments).
    Discounting is ``(1 + r) ** (-t)`` with t in years.
    """
    n = len(cash_by_month)
    end_t = (np.arange(n) + 1) / 12
    value = float(np.sum(cash_by_month * (1 + annual_rate) ** -end_t))
    if at_month_start is not None:
        start_t = np.arange(n) / 12
        value += float(np.sum(at_month_start * (1 + annual_rate) ** -start_t))
    return value
