"""The vocabulary of metrics: prices and names a replication is measured with, the output
it gives, and the integrals every section uses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.calendar import HOURS_PER_MONTH, HOURS_PER_YEAR, hours_in_horizon
from sim.distributions import FloatArray
from sim.scenario import Contract

WAIT_STATS = ("mean", "p50", "p95", "p99", "max")


@dataclass(frozen=True, eq=False)
class PoolTerms:
    """What one pool costs in one replication (prices already drawn)."""

    price: FloatArray
    """List USD per reserved unit-hour in each contract month."""
    contracted: tuple[tuple[float, int], ...]
    """(time [h], units contracted) change points: what is paid for, delivered or not."""
    credit_fraction: float = 1.0
    payment: str = "monthly"
    od_price: FloatArray | None = None
    """On-demand reference USD per unit-hour per month, for the effective savings rate."""
    speed_changes: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    """(time [h], speed of the pool's hardware from then on): a job runs at the speed of
    its start all its life."""
    work_per_unit_hour: float | None = None


@dataclass(frozen=True, eq=False)
class TargetTerms:
    """What one overflow target costs in one replication."""

    price: FloatArray
    """List USD per unit-hour in each contract month."""
    transfer: float = 0.0
    speed: float = 1.0
    eligible: bool = False
    """Counts toward the spend commitment (and gets the private-pricing discount)."""


@dataclass(frozen=True, eq=False)
class CommitmentTerms:
    """One [[commitments]] entry as billed: its tranches (renewals included), priced."""

    name: str
    kind: str
    """``reserved``, ``savings_plan`` or ``owned``."""
    pool: int
    """Index of the pool it adds capacity to (-1: a savings plan)."""
    tranches: tuple[tuple[float, float, float, float], ...]
    """(start [h], end [h], possibly past the horizon; list price; units): the price per
    unit-hour for a reserved tranche, per hour of commitment for a savings plan, opex per
    unit-hour owned."""
    units: float = 0.0
    upfront_fraction: float = 0.0
    """Share of each tranche's payments made at its start."""
    capex_per_unit: float = 0.0
    covers: tuple[tuple[int, float], ...] = ()
    """Savings plan: (target index, plan price as a fraction of its on-demand price)."""
    eligible: bool = False
    """Counts toward the spend commitment (and gets the contract's discount)."""
    signed: tuple[float, ...] = ()
    """When each tranche was committed to [h] (default: the first at the start, as part of
    the plan; each renewal at its own start)."""

    def signed_at(self, i: int) -> float:
        if i < len(self.signed):
            return self.signed[i]
        return 0.0 if i == 0 else self.tranches[i][0]


@dataclass(frozen=True, eq=False)
class Prices:
    """Money terms of one replication: per pool, per target, the contract, commitments."""

    pools: tuple[PoolTerms, ...]
    targets: tuple[TargetTerms, ...]
    contract: Contract = field(default_factory=Contract)
    commitments: tuple[CommitmentTerms, ...] = ()
    references: dict[int, FloatArray] = field(default_factory=dict)
    """Pool index → its on-demand reference price by month (for strategies' purchases)."""


def by_year(reserved: tuple[int, ...]) -> tuple[tuple[float, int], ...]:
    """(time, units) change points of a schedule given per contract year."""
    return tuple((y * HOURS_PER_YEAR, u) for y, u in enumerate(reserved))


@dataclass(frozen=True)
class Names:
    """Names of pools, targets and workloads, in engine order."""

    pools: tuple[str, ...]
    targets: tuple[str, ...]
    target_pool: tuple[int, ...]
    job_workloads: tuple[str, ...]
    demand_workloads: tuple[tuple[str, int], ...]
    """(name, pool index) of each demand workload."""


def binned_integral(
    starts: FloatArray, ends: FloatArray, weights: FloatArray, edges: FloatArray
) -> FloatArray:
    """Σ weight × |[start, end) ∩ bin| for each bin between ``edges``.

    Integrates the piecewise-constant level Σ weight·1[start ≤ t < end] exactly, in
    O(n log bins): with ``H(x; t) = Σ w·min(x, t)``, a bin's integral is
    ``[H(x; end) − H(x; start)]`` differenced across its edges.
    """
    if len(starts) == 0:
        return np.zeros(len(edges) - 1)
    h: FloatArray = _h_at_edges(ends, weights, edges) - _h_at_edges(starts, weights, edges)
    out: FloatArray = np.diff(h)
    return out


def _h_at_edges(t: FloatArray, w: FloatArray, edges: FloatArray) -> FloatArray:
    """``Σ_j w_j min(x, t_j)`` at every edge x."""
    n = len(edges)
    idx = np.searchsorted(edges, t, side="right")  # t_j < edges[idx] ... t_j >= edges[idx-1]
    wt = np.bincount(idx, weights=w * t, minlength=n + 1)
    ww = np.bincount(idx, weights=w, minlength=n + 1)
    # at edge k: t_j <= x_k exactly when idx_j <= k (side="right"), contributing w_j t_j;
    # the others contribute w_j x_k
    below_wt = np.cumsum(wt)[:n]
    above_w = ww.sum() - np.cumsum(ww)[:n]
    out: FloatArray = below_wt + edges * above_w
    return out


def hour_months(horizon_hours: float, n_months: int) -> tuple[FloatArray, np.ndarray]:
    """Each hour slot's length and the contract month it falls in."""
    lengths = hours_in_horizon(horizon_hours)
    idx = np.minimum((np.arange(len(lengths)) // HOURS_PER_MONTH).astype(int), n_months - 1)
    return lengths, idx


@dataclass(frozen=True, eq=False)
class ReplicationOutput:
    """Metrics and monthly series of one replication."""

    metrics: dict[str, float]
    monthly: dict[str, dict[str, FloatArray]]
    """Pool → column → one value per contract month."""
    spend: dict[tuple[str, str, str], FloatArray]
    """(pool, component, target) → USD per contract month; component is ``reserved``,
    ``overflow`` (unit-hours on a target) or ``transfer`` (per-job fees); target is ``""``
    for reserved spend."""
    wait_counts: dict[str, FloatArray]
    """Job workload → started jobs per wait bin (see :data:`WAIT_BIN_EDGES`)."""
    contract: dict[str, FloatArray] = field(default_factory=dict)
    """Monthly money over time: eligible spend, committed dollars not yet spent (lock-in
    exposure), cash paid and its discounted value [USD]."""


#: Edges of the wait histogram bins [h]: a bin for zero waits, one up to 0.01 h, then 10 bins
#: per decade up to 10,000 h, then everything longer.
WAIT_BIN_EDGES = np.concatenate([[0.0, 1e-9], np.logspace(-2, 4, 61), [np.inf]])
