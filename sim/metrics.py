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


@dataclass(frozen=True, eq=False)
class _Replication:
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
        out: FloatArray = np.bincount(
            self.hour_month, weights=values * self.hour_len, minlength=self.n_months
        ).astype(float)
        return out


def _prepare(rec: EngineRecord, names: Names, prices: Prices) -> _Replication:
    H = rec.horizon_hours
    edges = month_edges(H)
    n_months = len(edges) - 1
    hour_len, hour_month = _hour_months(H, n_months)
    started = rec.start_hours < H  # nan compares False
    return _Replication(
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
class _Books:
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
    list_eligible: float = 0.0
    total_reserved_spend: float = 0.0
    total_overflow_spend: float = 0.0
    od_equivalent: float = 0.0
    od_spend: float = 0.0

    @classmethod
    def empty(cls, n_months: int, n_targets: int) -> _Books:
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
        )


def compute(
    rec: EngineRecord,
    names: Names,
    prices: Prices,
    demand_paths: dict[str, FloatArray] | None = None,
) -> ReplicationOutput:
    """Every metric of the run directory's ``summary.json``, and the monthly series.

    ``demand_paths`` maps each demand workload to its hourly demand [unit]; a pool's
    unserved demand is shared among its workloads in proportion to it. The accounts are
    kept in sections, in this order: overflow targets, reserved pools, job waits, unserved
    demand, then the contract and the totals.
    """
    r = _prepare(rec, names, prices)
    books = _Books.empty(r.n_months, len(names.targets))
    for k in range(len(names.targets)):
        _target_accounts(r, books, k)
    for p in range(len(names.pools)):
        _pool_accounts(r, books, p)
    _job_accounts(r, books)
    _unserved_accounts(r, books, demand_paths or {})
    return _contract_and_totals(r, books)


def _target_accounts(r: _Replication, b: _Books, k: int) -> None:
    """Overflow target k: unit-hours, usage and transfer fees, eligible or not."""
    rec, names, prices = r.rec, r.names, r.prices
    contract = prices.contract
    tname = names.targets[k]
    on_k = r.started & (rec.ran_on == k + 1)
    uh = binned_integral(r.run_start[on_k], r.run_end[on_k], r.held[on_k], r.edges)
    p = names.target_pool[k]
    served = rec.demand[p]
    if served is not None and k in served.targets:
        uh = uh + r.hourly_to_months(served.targets[k])
    to_k = r.sent & (rec.ran_on == k + 1)
    month_sent = np.minimum((rec.send_hours[to_k] // HOURS_PER_MONTH).astype(int), r.n_months - 1)
    counts = np.bincount(month_sent, minlength=r.n_months).astype(float)
    tt = prices.targets[k]
    net = (1.0 - contract.discount) if tt.eligible else 1.0
    transfers: FloatArray = counts * float(tt.transfer) * net
    usage: FloatArray = uh * tt.price * net
    spend_months: FloatArray = usage + transfers
    b.target_uh_months[k] = uh
    if tt.eligible:
        b.eligible_months += spend_months
        b.list_eligible += (uh * tt.price + counts * float(tt.transfer)).sum()
    b.spend_parts[(names.pools[p], "overflow", tname)] = usage
    b.spend_parts[(names.pools[p], "transfer", tname)] = transfers
    b.target_spend_months[k] = spend_months
    spend = float(spend_months.sum())
    b.m[f"spend_usd.overflow.{tname}"] = spend
    b.m[f"overflow_unit_hours.target.{tname}"] = float(uh.sum())
    b.total_overflow_spend += spend


def _pool_accounts(r: _Replication, b: _Books, p: int) -> None:
    """Reserved pool p: the schedule, what ran on it, idle, overhang, spend, savings."""
    rec, names, prices = r.rec, r.names, r.prices
    jobs, H, edges, n_months = rec.jobs, r.H, r.edges, r.n_months
    started, run_start, run_end, held, sent = r.started, r.run_start, r.run_end, r.held, r.sent
    contract = prices.contract
    m = b.m
    pname = names.pools[p]
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
        busy = busy + r.hourly_to_months(served.reserved)
        unserved = r.hourly_to_months(served.unserved)
        demand_months = r.hourly_to_months(served.demand)
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
            overflow = overflow + r.hourly_to_months(series)
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
    b.list_eligible += float(
        np.sum((reserved + undelivered * (1 - terms.credit_fraction)) * terms.price)
    )
    b.eligible_months += reserved_spend
    if terms.payment == "upfront":
        for y0 in range(0, n_months, 12):
            b.start_cash[y0] += reserved_spend[y0 : y0 + 12].sum()
    else:
        b.end_cash += reserved_spend
    speed = terms.speed if terms.speed is not None else np.ones(n_months)
    mine_t = [k for k, tp in enumerate(names.target_pool) if tp == p]
    od = terms.od_price
    if od is None and mine_t:
        od = prices.targets[mine_t[0]].price
    # the overhang: eligible spend with the pool's provider, discounted like the pool
    overhang_price = od if od is not None else terms.price  # list USD per unit-hour
    overhang_spend = overhang_uh * overhang_price * net
    b.eligible_months += overhang_spend
    b.list_eligible += float(np.sum(overhang_uh * overhang_price))
    b.end_cash += overhang_spend
    b.total_overflow_spend += float(overhang_spend.sum())
    m[f"spend_usd.overhang.{pname}"] = float(overhang_spend.sum())
    m[f"overhang_unit_hours.{pname}"] = float(overhang_uh.sum())
    pool_spend = reserved_spend + overhang_spend
    # reference-speed unit-hours of work run on targets and on the overhang
    overflow_work = overhang_work_uh * speed
    for k in mine_t:
        pool_spend = pool_spend + b.target_spend_months[k]
        overflow_work = overflow_work + b.target_uh_months[k] * prices.targets[k].speed
    work_uh = used * speed + overflow_work  # reference-speed unit-hours of work done
    b.spend_parts[(pname, "reserved", "")] = reserved_spend
    b.spend_parts[(pname, "overhang", "")] = overhang_spend
    if od is not None:
        equiv = float(np.sum((used * speed + overflow_work) * od))
        b.od_equivalent += equiv
        b.od_spend += float(pool_spend.sum())
        m[f"esr.{pname}"] = 1 - float(pool_spend.sum()) / equiv if equiv > 0 else math.nan
    if terms.work_per_unit_hour is not None:
        work = float(work_uh.sum()) * terms.work_per_unit_hour
        m[f"cost_per_work_unit_usd.{pname}"] = float(pool_spend.sum()) / work if work else math.nan
    m[f"undelivered_unit_hours.{pname}"] = float(undelivered.sum())
    m[f"credit_usd.{pname}"] = float(credit.sum())
    b.monthly[pname] = {
        "reserved_unit_hours": reserved,
        "used_unit_hours": used,
        "idle_unit_hours": idle,
        "overflow_unit_hours": overflow,
        "overhang_unit_hours": overhang_uh,
        "demand_unit_hours": job_running + waiting + demand_months,
        "spend_usd": pool_spend,
        "idle_spend_usd": idle * price,
    }
    res, u, o = float(reserved.sum()), float(used.sum()), float(overflow.sum())
    m[f"spend_usd.reserved.{pname}"] = float(reserved_spend.sum())
    m[f"reserved_unit_hours.{pname}"] = res
    m[f"used_unit_hours.{pname}"] = u
    m[f"idle_unit_hours.{pname}"] = res - u
    m[f"idle_spend_usd.{pname}"] = float((idle * price).sum())
    m[f"utilization.{pname}"] = u / res if res > 0 else math.nan
    # the share of the pool's work (at reference speed) done on reserved units
    w_res, w_all = float((used * speed).sum()), float(work_uh.sum())
    m[f"coverage.{pname}"] = w_res / w_all if w_all > 0 else math.nan
    m[f"overflow_unit_hours.{pname}"] = o
    m[f"unserved_unit_hours.pool.{pname}"] = float(unserved.sum())
    b.total_reserved_spend += float(reserved_spend.sum())


def _job_accounts(r: _Replication, b: _Books) -> None:
    """Per job workload: waits (censored: a job still queued at the horizon waited horizon −
    submit), counts, and work not done by the horizon."""
    rec, H, started, sent = r.rec, r.H, r.started, r.sent
    jobs, m = rec.jobs, b.m
    all_waits = job_waits(rec)
    for w, wname in enumerate(r.names.job_workloads):
        mine = jobs.workload == w
        waits = all_waits[mine]
        m[f"jobs_censored.{wname}"] = float((mine & ~started).sum())
        b.wait_counts[wname] = np.histogram(np.maximum(waits, 0.0), WAIT_BIN_EDGES)[0].astype(float)
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


def _unserved_accounts(r: _Replication, b: _Books, paths: dict[str, FloatArray]) -> None:
    """Demand workloads: a pool's unserved demand is shared in proportion to demand."""
    for p in range(len(r.names.pools)):
        served = r.rec.demand[p]
        mine = {w: paths[w] for w, wp in r.names.demand_workloads if wp == p}
        if served is not None and mine:
            for wname, v in split_unserved(served.unserved, mine, r.H).items():
                b.m[f"unserved_unit_hours.{wname}"] = v


def _contract_and_totals(r: _Replication, b: _Books) -> ReplicationOutput:
    """The commitment settled, the totals, NPV and savings rate; the monthly money series."""
    contract = r.prices.contract
    n_months, m = r.n_months, b.m
    end_cash = b.end_cash
    for k in range(len(r.names.targets)):
        end_cash += b.target_spend_months[k]
    settled = settle_commitment(contract, b.eligible_months)
    shortfall_months = np.zeros(n_months)
    if len(settled.shortfall_usd):
        np.add.at(shortfall_months, settled.shortfall_month, settled.shortfall_usd)
        b.spend_parts[("contract", "shortfall", "")] = shortfall_months
        committed = float(settled.commitment_usd.sum())
        # a commitment of $0 is met whatever is spent: attainment is not a number then
        m["commit_attainment"] = (
            float(settled.eligible_usd.sum()) / committed if committed > 0 else math.nan
        )
    end_cash += shortfall_months
    shortfall = float(shortfall_months.sum())
    m["spend_usd.reserved"] = b.total_reserved_spend
    m["spend_usd.overflow"] = b.total_overflow_spend
    m["spend_usd.shortfall"] = shortfall
    m["spend_usd.total"] = b.total_reserved_spend + b.total_overflow_spend + shortfall
    m["spend_usd.discount_savings"] = b.list_eligible - float(b.eligible_months.sum())
    m["npv_usd.total"] = npv(end_cash, contract.discount_rate, b.start_cash)
    if b.od_equivalent > 0:
        m["esr"] = 1 - (b.od_spend + shortfall) / b.od_equivalent
    t_end = (np.arange(n_months) + 1) / 12
    t_start = np.arange(n_months) / 12
    contract_series: dict[str, FloatArray] = {
        "eligible_spend_usd": b.eligible_months,
        "commitment_remaining_usd": settled.remaining_usd,
        "cash_usd": end_cash + b.start_cash,
        "discounted_cash_usd": end_cash * (1 + contract.discount_rate) ** -t_end
        + b.start_cash * (1 + contract.discount_rate) ** -t_start,
    }
    return ReplicationOutput(m, b.monthly, b.spend_parts, b.wait_counts, contract_series)


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
