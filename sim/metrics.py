"""Metrics: pure functions over an :class:`~sim.engine.EngineRecord`.

Levels are integrated over time (busy units × hours), never sampled. Work that runs
past the horizon counts only up to it; what was left is reported as unfinished.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.distributions import FloatArray
from sim.engine import EngineRecord
from sim.scenario import HOURS_PER_YEAR
from sim.workload import hours_in_horizon

HOURS_PER_MONTH = HOURS_PER_YEAR / 12  # a contract month, 730 h
WAIT_STATS = ("mean", "p50", "p95", "p99", "max")


@dataclass(frozen=True)
class Prices:
    """Prices of one replication (already drawn)."""

    pool_price: tuple[float, ...]
    """USD per reserved unit-hour, per pool."""
    target_price: tuple[float, ...]
    """USD per unit-hour on each overflow target."""
    target_transfer: tuple[float, ...]
    """USD per job sent to each overflow target."""


@dataclass(frozen=True)
class Names:
    """Names of pools, targets and workloads, in engine order."""

    pools: tuple[str, ...]
    targets: tuple[str, ...]
    target_pool: tuple[int, ...]
    job_workloads: tuple[str, ...]
    demand_workloads: tuple[tuple[str, int], ...]
    """(name, pool index) of each demand workload."""


def month_edges(horizon_hours: float) -> FloatArray:
    """Edges of contract months (730 h each; the last may be shorter) [h]."""
    n = max(1, math.ceil(horizon_hours / HOURS_PER_MONTH - 1e-9))
    edges: FloatArray = np.arange(n + 1, dtype=float) * HOURS_PER_MONTH
    edges[-1] = horizon_hours
    return edges


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


def _hour_months(horizon_hours: float, n_months: int) -> tuple[FloatArray, np.ndarray]:
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


#: Edges of the wait histogram bins [h]: a bin for zero waits, one up to 0.01 h, then 10 bins
#: per decade up to 10,000 h, then everything longer.
WAIT_BIN_EDGES = np.concatenate([[0.0, 1e-9], np.logspace(-2, 4, 61), [np.inf]])


def compute(
    rec: EngineRecord,
    names: Names,
    prices: Prices,
    demand_paths: dict[str, FloatArray] | None = None,
) -> ReplicationOutput:
    """Every metric of the run directory's ``summary.json``, and the monthly series.

    ``demand_paths`` maps each demand workload to its hourly demand [unit]; a pool's
    unserved demand is shared among its workloads in proportion to it.
    """
    H = rec.horizon_hours
    jobs = rec.jobs
    edges = month_edges(H)
    n_months = len(edges) - 1
    hour_len, hour_month = _hour_months(H, n_months)

    def hourly_to_months(values: FloatArray) -> FloatArray:
        out: FloatArray = np.bincount(
            hour_month, weights=values * hour_len, minlength=n_months
        ).astype(float)
        return out

    started = rec.start_hours < H  # nan compares False
    run_start = np.where(started, rec.start_hours, 0.0)
    run_end = np.where(started, np.minimum(rec.end_hours, H), 0.0)
    held = rec.held_units.astype(float)
    sent = rec.send_hours < H

    m: dict[str, float] = {}
    monthly: dict[str, dict[str, FloatArray]] = {}
    total_reserved_spend = 0.0
    total_overflow_spend = 0.0
    target_uh = np.zeros(len(names.targets))
    target_spend_months: list[FloatArray] = [np.zeros(n_months) for _ in names.targets]
    spend_parts: dict[tuple[str, str, str], FloatArray] = {}
    wait_counts: dict[str, FloatArray] = {}

    # overflow targets
    for k, tname in enumerate(names.targets):
        on_k = started & (rec.ran_on == k + 1)
        uh = binned_integral(run_start[on_k], run_end[on_k], held[on_k], edges)
        p = names.target_pool[k]
        served = rec.demand[p]
        if served is not None and k in served.targets:
            uh = uh + hourly_to_months(served.targets[k])
        to_k = sent & (rec.ran_on == k + 1)
        month_sent = np.minimum((rec.send_hours[to_k] // HOURS_PER_MONTH).astype(int), n_months - 1)
        counts = np.bincount(month_sent, minlength=n_months).astype(float)
        transfers: FloatArray = counts * float(prices.target_transfer[k])
        usage: FloatArray = uh * float(prices.target_price[k])
        spend_months: FloatArray = usage + transfers
        spend_parts[(names.pools[p], "overflow", tname)] = usage
        spend_parts[(names.pools[p], "transfer", tname)] = transfers
        target_uh[k] = uh.sum()
        target_spend_months[k] = spend_months
        spend = float(spend_months.sum())
        m[f"spend_usd.overflow.{tname}"] = spend
        m[f"overflow_unit_hours.target.{tname}"] = float(uh.sum())
        total_overflow_spend += spend

    # pools
    for p, pname in enumerate(names.pools):
        ct, cd = rec.reserved_changes[p]
        reserved = binned_integral(ct, np.full(len(ct), H), cd, edges)
        on_p = started & (rec.ran_on == 0) & (jobs.pool == p)
        used = binned_integral(run_start[on_p], run_end[on_p], held[on_p], edges)
        served = rec.demand[p]
        unserved = np.zeros(n_months)
        demand_months = np.zeros(n_months)
        if served is not None:
            used = used + hourly_to_months(served.reserved)
            unserved = hourly_to_months(served.unserved)
            demand_months = hourly_to_months(served.demand)
        over_p = started & (rec.ran_on > 0) & (jobs.pool == p)
        overflow = binned_integral(run_start[over_p], run_end[over_p], held[over_p], edges)
        if served is not None:
            for series in served.targets.values():
                overflow = overflow + hourly_to_months(series)
        # units waiting in queue: submit until sent (or the horizon)
        mine = jobs.pool == p
        wait_end = np.where(sent, np.minimum(rec.send_hours, H), H)
        waiting = binned_integral(
            jobs.submit_hours[mine], wait_end[mine], jobs.units[mine].astype(float), edges
        )
        on = mine & started
        job_running = binned_integral(run_start[on], run_end[on], held[on], edges)
        idle = reserved - used
        price = prices.pool_price[p]
        pool_spend = reserved * price
        for k, tp in enumerate(names.target_pool):
            if tp == p:
                pool_spend = pool_spend + target_spend_months[k]
        spend_parts[(pname, "reserved", "")] = reserved * price
        monthly[pname] = {
            "reserved_unit_hours": reserved,
            "used_unit_hours": used,
            "idle_unit_hours": idle,
            "overflow_unit_hours": overflow,
            "demand_unit_hours": job_running + waiting + demand_months,
            "spend_usd": pool_spend,
            "idle_spend_usd": idle * price,
        }
        r, u, o = float(reserved.sum()), float(used.sum()), float(overflow.sum())
        m[f"spend_usd.reserved.{pname}"] = r * price
        m[f"reserved_unit_hours.{pname}"] = r
        m[f"used_unit_hours.{pname}"] = u
        m[f"idle_unit_hours.{pname}"] = r - u
        m[f"idle_spend_usd.{pname}"] = (r - u) * price
        m[f"utilization.{pname}"] = u / r if r > 0 else math.nan
        m[f"coverage.{pname}"] = u / (u + o) if u + o > 0 else math.nan
        m[f"overflow_unit_hours.{pname}"] = o
        m[f"unserved_unit_hours.pool.{pname}"] = float(unserved.sum())
        total_reserved_spend += r * price

    # job workloads
    for w, wname in enumerate(names.job_workloads):
        mine = jobs.workload == w
        waits = (rec.start_hours - jobs.submit_hours)[mine & started]
        wait_counts[wname] = np.histogram(np.maximum(waits, 0.0), WAIT_BIN_EDGES)[0].astype(float)
        if len(waits):
            q = np.percentile(waits, [50, 95, 99])
            vals = (float(waits.mean()), float(q[0]), float(q[1]), float(q[2]), float(waits.max()))
        else:
            vals = (math.nan,) * 5
        for stat, v in zip(WAIT_STATS, vals, strict=True):
            m[f"wait_hours.{wname}.{stat}"] = v
        m[f"jobs_arrived.{wname}"] = float(mine.sum())
        m[f"jobs_overflowed.{wname}"] = float((mine & (rec.ran_on > 0) & sent).sum())
        finished = started & (rec.end_hours <= H)
        m[f"jobs_unfinished.{wname}"] = float((mine & ~finished).sum())
        # work (unit-hours at reference speed) not done by the horizon
        m[f"unfinished_unit_hours.{wname}"] = float(_unfinished_work(rec, mine, started, H).sum())

    # demand workloads: a pool's unserved demand is shared in proportion to demand
    paths = demand_paths or {}
    for p in range(len(names.pools)):
        served = rec.demand[p]
        mine = {w: paths[w] for w, wp in names.demand_workloads if wp == p}
        if served is not None and mine:
            for wname, v in split_unserved(served.unserved, mine, H).items():
                m[f"unserved_unit_hours.{wname}"] = v

    m["spend_usd.reserved"] = total_reserved_spend
    m["spend_usd.overflow"] = total_overflow_spend
    m["spend_usd.total"] = total_reserved_spend + total_overflow_spend
    return ReplicationOutput(m, monthly, spend_parts, wait_counts)


def _unfinished_work(
    rec: EngineRecord, mine: np.ndarray, started: np.ndarray, H: float
) -> FloatArray:
    """Reference-speed unit-hours of each job of ``mine`` not done by the horizon."""
    jobs = rec.jobs
    units = jobs.units.astype(float)
    dur = jobs.duration_hours
    never = mine & ~started
    running = mine & started & (rec.end_hours > H)
    out = np.zeros(len(jobs))
    out[never] = units[never] * dur[never]
    span = rec.end_hours - rec.start_hours
    left = np.divide(rec.end_hours - H, span, out=np.zeros(len(jobs)), where=span > 0)
    out[running] = (units * dur * left)[running]
    return out[mine]


def split_unserved(
    unserved_hourly: FloatArray, demand_by_workload: dict[str, FloatArray], horizon_hours: float
) -> dict[str, float]:
    """Share a pool's unserved demand among its demand workloads by their demand."""
    hour_len = hours_in_horizon(horizon_hours)
    total = sum(demand_by_workload.values())
    out = {}
    for name, d in demand_by_workload.items():
        share = np.divide(d, total, out=np.zeros_like(d), where=np.asarray(total) > 0)
        out[name] = float(np.sum(unserved_hourly * share * hour_len))
    return out
