"""Metrics: pure functions over an :class:`~sim.engine.EngineRecord`.

Levels are integrated over time (busy units × hours), never sampled. Work that runs
past the horizon counts only up to it; what was left is reported as unfinished.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.calendar import HOURS_PER_MONTH, HOURS_PER_YEAR, hours_in_horizon, month_edges
from sim.contract import npv, settle_commitment
from sim.distributions import FloatArray
from sim.engine import DemandServed, EngineRecord
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
    speed: FloatArray | None = None
    """Time-averaged hardware speed in each month (None: 1)."""
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
class Prices:
    """Money terms of one replication: per pool, per target, and the contract."""

    pools: tuple[PoolTerms, ...]
    targets: tuple[TargetTerms, ...]
    contract: Contract = field(default_factory=Contract)


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
    contract: dict[str, FloatArray] = field(default_factory=dict)
    """Monthly money over time: eligible spend, committed dollars not yet spent (lock-in
    exposure), cash paid and its discounted value [USD]."""


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
    target_uh_months: list[FloatArray] = [np.zeros(n_months) for _ in names.targets]
    contract = prices.contract
    eligible_months = np.zeros(n_months)
    list_eligible = 0.0
    end_cash = np.zeros(n_months)  # paid at month end
    start_cash = np.zeros(n_months)  # paid at month start (upfront reservations)
    od_equivalent = 0.0
    od_spend = 0.0
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
        tt = prices.targets[k]
        net = (1.0 - contract.discount) if tt.eligible else 1.0
        transfers: FloatArray = counts * float(tt.transfer) * net
        usage: FloatArray = uh * tt.price * net
        spend_months: FloatArray = usage + transfers
        target_uh_months[k] = uh
        if tt.eligible:
            eligible_months += spend_months
            list_eligible += (uh * tt.price + counts * float(tt.transfer)).sum()
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
        # reserved = the delivered schedule; units held beyond it (busy when it fell) are the
        # overhang, billed at the on-demand reference price
        ct, cd = rec.reserved_changes[p]
        held_months = binned_integral(ct, np.full(len(ct), H), cd, edges)
        st, sl = _schedule_steps(rec.schedule[p])
        reserved = binned_integral(st, np.full(len(st), H), np.diff(sl, prepend=0.0), edges)
        overhang_uh = np.maximum(held_months - reserved, 0.0)
        on_p = started & (rec.ran_on == 0) & (jobs.pool == p)
        busy = binned_integral(run_start[on_p], run_end[on_p], held[on_p], edges)
        served = rec.demand[p]
        unserved = np.zeros(n_months)
        demand_months = np.zeros(n_months)
        if served is not None:
            busy = busy + hourly_to_months(served.reserved)
            unserved = hourly_to_months(served.unserved)
            demand_months = hourly_to_months(served.demand)
        if overhang_uh.sum() > 0:
            # busy units fill the schedule first; the rest ran on the overhang
            used = _busy_within_schedule(
                run_start[on_p], run_end[on_p], held[on_p], served, st, sl, edges
            )
        else:
            used = busy
        overhang_work_uh = busy - used
        over_p = started & (rec.ran_on > 0) & (jobs.pool == p)
        overflow = binned_integral(run_start[over_p], run_end[over_p], held[over_p], edges)
        if served is not None:
            for series in served.targets.values():
                overflow = overflow + hourly_to_months(series)
        overflow = overflow + overhang_work_uh
        # units waiting in queue: submit until sent (or the horizon)
        mine = jobs.pool == p
        wait_end = np.where(sent, np.minimum(rec.send_hours, H), H)
        waiting = binned_integral(
            jobs.submit_hours[mine], wait_end[mine], jobs.units[mine].astype(float), edges
        )
        on = mine & started
        job_running = binned_integral(run_start[on], run_end[on], held[on], edges)
        idle = reserved - used
        terms = prices.pools[p]
        net = 1.0 - contract.discount
        price = terms.price * net  # what a delivered unit-hour costs this month
        cts = np.asarray([t for t, _ in terms.contracted], dtype=float)
        cds = np.diff(np.concatenate([[0.0], [float(u) for _, u in terms.contracted]]))
        contracted = binned_integral(cts, np.full(len(cts), H), cds, edges)
        undelivered = np.maximum(contracted - reserved, 0.0)
        credit = undelivered * price * terms.credit_fraction
        reserved_spend = reserved * price + undelivered * price - credit
        list_eligible += float(
            np.sum((reserved + undelivered * (1 - terms.credit_fraction)) * terms.price)
        )
        eligible_months += reserved_spend
        if terms.payment == "upfront":
            for y0 in range(0, n_months, 12):
                start_cash[y0] += reserved_spend[y0 : y0 + 12].sum()
        else:
            end_cash += reserved_spend
        speed = terms.speed if terms.speed is not None else np.ones(n_months)
        mine_t = [k for k, tp in enumerate(names.target_pool) if tp == p]
        od = terms.od_price
        if od is None and mine_t:
            od = prices.targets[mine_t[0]].price
        # the overhang: eligible spend with the pool's provider, discounted like the pool
        overhang_price = od if od is not None else terms.price  # list USD per unit-hour
        overhang_spend = overhang_uh * overhang_price * net
        eligible_months += overhang_spend
        list_eligible += float(np.sum(overhang_uh * overhang_price))
        end_cash += overhang_spend
        total_overflow_spend += float(overhang_spend.sum())
        m[f"spend_usd.overhang.{pname}"] = float(overhang_spend.sum())
        m[f"overhang_unit_hours.{pname}"] = float(overhang_uh.sum())
        pool_spend = reserved_spend + overhang_spend
        # reference-speed unit-hours of work run on targets and on the overhang
        overflow_work = overhang_work_uh * speed
        for k in mine_t:
            pool_spend = pool_spend + target_spend_months[k]
            overflow_work = overflow_work + target_uh_months[k] * prices.targets[k].speed
        work_uh = used * speed + overflow_work  # reference-speed unit-hours of work done
        spend_parts[(pname, "reserved", "")] = reserved_spend
        spend_parts[(pname, "overhang", "")] = overhang_spend
        if od is not None:
            equiv = float(np.sum((used * speed + overflow_work) * od))
            od_equivalent += equiv
            od_spend += float(pool_spend.sum())
            m[f"esr.{pname}"] = 1 - float(pool_spend.sum()) / equiv if equiv > 0 else math.nan
        if terms.work_per_unit_hour is not None:
            work = float(work_uh.sum()) * terms.work_per_unit_hour
            m[f"cost_per_work_unit_usd.{pname}"] = (
                float(pool_spend.sum()) / work if work else math.nan
            )
        m[f"undelivered_unit_hours.{pname}"] = float(undelivered.sum())
        m[f"credit_usd.{pname}"] = float(credit.sum())
        monthly[pname] = {
            "reserved_unit_hours": reserved,
            "used_unit_hours": used,
            "idle_unit_hours": idle,
            "overflow_unit_hours": overflow,
            "overhang_unit_hours": overhang_uh,
            "demand_unit_hours": job_running + waiting + demand_months,
            "spend_usd": pool_spend,
            "idle_spend_usd": idle * price,
        }
        r, u, o = float(reserved.sum()), float(used.sum()), float(overflow.sum())
        m[f"spend_usd.reserved.{pname}"] = float(reserved_spend.sum())
        m[f"reserved_unit_hours.{pname}"] = r
        m[f"used_unit_hours.{pname}"] = u
        m[f"idle_unit_hours.{pname}"] = r - u
        m[f"idle_spend_usd.{pname}"] = float((idle * price).sum())
        m[f"utilization.{pname}"] = u / r if r > 0 else math.nan
        # the share of the pool's work (at reference speed) done on reserved units
        w_res, w_all = float((used * speed).sum()), float(work_uh.sum())
        m[f"coverage.{pname}"] = w_res / w_all if w_all > 0 else math.nan
        m[f"overflow_unit_hours.{pname}"] = o
        m[f"unserved_unit_hours.pool.{pname}"] = float(unserved.sum())
        total_reserved_spend += float(reserved_spend.sum())

    # job workloads
    # a job still queued at the horizon has a censored wait of horizon - submit
    all_waits = job_waits(rec)
    for w, wname in enumerate(names.job_workloads):
        mine = jobs.workload == w
        waits = all_waits[mine]
        m[f"jobs_censored.{wname}"] = float((mine & ~started).sum())
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

    for k in range(len(names.targets)):
        end_cash += target_spend_months[k]
    settled = settle_commitment(contract, eligible_months)
    shortfall_months = np.zeros(n_months)
    if len(settled.shortfall_usd):
        np.add.at(shortfall_months, settled.shortfall_month, settled.shortfall_usd)
        spend_parts[("contract", "shortfall", "")] = shortfall_months
        committed = float(settled.commitment_usd.sum())
        # a commitment of $0 is met whatever is spent: attainment is not a number then
        m["commit_attainment"] = (
            float(settled.eligible_usd.sum()) / committed if committed > 0 else math.nan
        )
    end_cash += shortfall_months
    shortfall = float(shortfall_months.sum())
    m["spend_usd.reserved"] = total_reserved_spend
    m["spend_usd.overflow"] = total_overflow_spend
    m["spend_usd.shortfall"] = shortfall
    m["spend_usd.total"] = total_reserved_spend + total_overflow_spend + shortfall
    m["spend_usd.discount_savings"] = list_eligible - float(eligible_months.sum())
    m["npv_usd.total"] = npv(end_cash, contract.discount_rate, start_cash)
    if od_equivalent > 0:
        m["esr"] = 1 - (od_spend + shortfall) / od_equivalent
    t_end = (np.arange(n_months) + 1) / 12
    t_start = np.arange(n_months) / 12
    contract_series: dict[str, FloatArray] = {
        "eligible_spend_usd": eligible_months,
        "commitment_remaining_usd": settled.remaining_usd,
        "cash_usd": end_cash + start_cash,
        "discounted_cash_usd": end_cash * (1 + contract.discount_rate) ** -t_end
        + start_cash * (1 + contract.discount_rate) ** -t_start,
    }
    return ReplicationOutput(m, monthly, spend_parts, wait_counts, contract_series)


def job_waits(rec: EngineRecord) -> FloatArray:
    """Each job's wait [h]: start - submit, or horizon - submit if it had not started by then."""
    H = rec.horizon_hours
    started = rec.start_hours < H
    out: FloatArray = np.where(started, rec.start_hours, H) - rec.jobs.submit_hours
    return out


def _schedule_steps(
    changes: tuple[tuple[float, int], ...],
) -> tuple[FloatArray, FloatArray]:
    """(times, levels) of a schedule's change points."""
    t = np.asarray([c[0] for c in changes], dtype=float)
    v = np.asarray([c[1] for c in changes], dtype=float)
    return t, v


def _busy_within_schedule(
    starts: FloatArray,
    ends: FloatArray,
    held: FloatArray,
    served: DemandServed | None,
    sched_t: FloatArray,
    sched_level: FloatArray,
    edges: FloatArray,
) -> FloatArray:
    """∫ min(busy units, scheduled units) dt per bin: busy units fill the schedule first.

    The busy level (jobs on reserved units plus the hourly demand claim) and the schedule
    are step functions; merged at every change point and bin edge, each segment's
    integrand is constant.
    """
    H = edges[-1]
    times = [starts, ends, sched_t, edges]
    deltas = [held, -held, np.zeros(len(sched_t)), np.zeros(len(edges))]
    if served is not None:
        claim = served.reserved
        times.append(np.arange(len(claim), dtype=float))
        deltas.append(np.diff(claim, prepend=0.0))
    t = np.concatenate(times)
    d = np.concatenate(deltas)
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    level = np.cumsum(d)
    seg = np.diff(t, append=H)
    keep = (t < H) & (seg > 0)
    t, level, seg = t[keep], level[keep], seg[keep]
    sched = sched_level[np.maximum(np.searchsorted(sched_t, t, side="right") - 1, 0)]
    inside = np.minimum(level, sched) * seg
    idx = np.searchsorted(edges, t, side="right") - 1
    out: FloatArray = np.bincount(idx, weights=inside, minlength=len(edges) - 1)[
        : len(edges) - 1
    ].astype(float)
    return out


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
