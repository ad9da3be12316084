"""One replication's records prepared for measuring, and the books the sections fill."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.calendar import month_edges
from sim.distributions import FloatArray
from sim.engine import EngineRecord
from sim.metrics.terms import Names, Prices, hour_months


@dataclass(frozen=True, eq=False)
class Replication:
    """One replication's record, prepared once for every section of the accounts."""

    rec: EngineRecord
    names: Names
    prices: Prices
    H: float
    edges: FloatArray
    n_months: int
    hour_len: FloatArray
    hour_month: np.ndarray
    started: np.ndarray
    """Jobs that started before the horizon."""
    run_start: FloatArray
    run_end: FloatArray
    held: FloatArray
    sent: np.ndarray
    """Jobs sent somewhere (reserved units or a target) before the horizon."""

    def hourly_to_months(self, values: FloatArray) -> FloatArray:
        """Rates per hour (units, USD per hour) summed into each month's total."""
        return self.amounts_to_months(values * self.hour_len)

    def extremes_by_month(self, values: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Each month's lowest and highest hourly value (NaN for a month without hours)."""
        low = np.full(self.n_months, np.inf)
        high = np.full(self.n_months, -np.inf)
        np.minimum.at(low, self.hour_month, values)
        np.maximum.at(high, self.hour_month, values)
        return np.where(np.isfinite(low), low, np.nan), np.where(np.isfinite(high), high, np.nan)

    def amounts_to_months(self, amounts: FloatArray) -> FloatArray:
        """Amounts of each hour (unit-hours, dollars) summed into each month."""
        out: FloatArray = np.bincount(
            self.hour_month, weights=amounts, minlength=self.n_months
        ).astype(float)
        return out


def prepare(rec: EngineRecord, names: Names, prices: Prices) -> Replication:
    """The replication's records arranged for the accounts: months, hours and per-job columns."""
    H = rec.horizon_hours
    edges = month_edges(H)
    n_months = len(edges) - 1
    hour_len, hour_month = hour_months(H, n_months)
    started = rec.start_hours < H  # nan compares False
    return Replication(
        rec=rec,
        names=names,
        prices=prices,
        H=H,
        edges=edges,
        n_months=n_months,
        hour_len=hour_len,
        hour_month=hour_month,
        started=started,
        run_start=np.where(started, rec.start_hours, 0.0),
        run_end=np.where(started, np.minimum(rec.end_hours, H), 0.0),
        held=rec.held_units.astype(float),
        sent=rec.send_hours < H,
    )


@dataclass(eq=False)
class Books:
    """What the sections of the accounts add up, in the order they add it."""

    m: dict[str, float]
    monthly: dict[str, dict[str, FloatArray]]
    spend_parts: dict[tuple[str, str, str], FloatArray]
    wait_counts: dict[str, FloatArray]
    eligible_months: FloatArray
    end_cash: FloatArray
    """Paid at month end [USD]."""
    start_cash: FloatArray
    """Paid at month start (upfront reservations) [USD]."""
    target_spend_months: list[FloatArray]
    target_uh_months: list[FloatArray]
    target_work_months: list[FloatArray]
    """Reference-speed unit-hours of work done on each target, by month."""
    target_covered_uh_months: list[FloatArray] | None = None
    """Unit-hours on each target that savings plans paid for, by month (None: no plan)."""
    plan_spend_months: list[FloatArray] | None = None
    """Savings-plan payments shared among the targets they covered, by month."""
    list_eligible: float = 0.0
    total_reserved_spend: float = 0.0
    total_overflow_spend: float = 0.0
    total_owned_spend: float = 0.0
    total_plan_spend: float = 0.0
    residual: float = 0.0
    beyond_horizon: float = 0.0
    """What active tranches still commit after the horizon [USD]."""
    od_equivalent: float = 0.0
    od_spend: float = 0.0

    @classmethod
    def empty(cls, n_months: int, n_targets: int) -> Books:
        return cls(
            m={},
            monthly={},
            spend_parts={},
            wait_counts={},
            eligible_months=np.zeros(n_months),
            end_cash=np.zeros(n_months),
            start_cash=np.zeros(n_months),
            target_spend_months=[np.zeros(n_months) for _ in range(n_targets)],
            target_uh_months=[np.zeros(n_months) for _ in range(n_targets)],
            target_work_months=[np.zeros(n_months) for _ in range(n_targets)],
        )
