"""Pool and target accounts: reserved, used and idle capacity, overhang, overflow work,
coverage and their spend, by month and in total."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.calendar import HOURS_PER_MONTH
from sim.distributions import FloatArray
from sim.engine import DemandServed
from sim.metrics.books import Books, Replication
from sim.metrics.commitments import capacity_accounts, tranche_unit_hours
from sim.metrics.terms import binned_integral


def target_accounts(r: Replication, b: Books, k: int) -> None:
    """Overflow target k: unit-hours, usage and transfer fees, eligible or not."""
    rec, names, prices = r.rec, r.names, r.prices
    contract = prices.contract
    tname = names.targets[k]
    on_k = r.started & (rec.ran_on == k + 1)
    uh = binned_integral(r.run_start[on_k], r.run_end[on_k], r.held[on_k], r.edges)
    tt = prices.targets[k]
    work = uh * tt.speed  # a job runs on the target at its speed; demand is not sped up
    p = names.target_pool[k]
    served = rec.demand[p]
    if served is not None and k in served.targets:
        demand_uh = r.hourly_to_months(served.targets[k])
        uh = uh + demand_uh
        work = work + demand_uh
    b.target_work_months[k] = work
    to_k = r.sent & (rec.ran_on == k + 1)
    month_sent = np.minimum((rec.send_hours[to_k] // HOURS_PER_MONTH).astype(int), r.n_months - 1)
    counts = np.bincount(month_sent, minlength=r.n_months).astype(float)
    net = (1.0 - contract.discount) if tt.eligible else 1.0
    transfers: FloatArray = counts * float(tt.transfer) * net
    billed = uh  # savings plans paid for part of it at their price
    if b.target_covered_uh_months is not None:
        billed = np.maximum(uh - b.target_covered_uh_months[k], 0.0)
    usage: FloatArray = billed * tt.price * net
    spend_months: FloatArray = usage + transfers
    b.target_uh_months[k] = uh
    if tt.eligible:
        b.eligible_months += spend_months
        b.list_eligible += (billed * tt.price + counts * float(tt.transfer)).sum()
    b.spend_parts[(names.pools[p], "overflow", tname)] = usage
    b.spend_parts[(names.pools[p], "transfer", tname)] = transfers
    b.target_spend_months[k] = spend_months
    spend = float(spend_months.sum())
    b.m[f"spend_usd.overflow.{tname}"] = spend
    b.m[f"overflow_unit_hours.target.{tname}"] = float(uh.sum())
    b.total_overflow_spend += spend


@dataclass
class _PoolUse:
    """Pool p's units by month [unit-hours]: the delivered schedule, what ran within it, the
    overhang held beyond it and the work on it, overflow, unserved demand, and all demand."""

    reserved: FloatArray
    used: FloatArray
    overhang: FloatArray
    overhang_work: FloatArray
    """Unit-hours busy beyond the schedule (on the overhang)."""
    work_per_busy: FloatArray
    """Reference-speed work per busy unit-hour on the pool's own units, by month: each job
    at the speed of the hardware it started on, demand at 1 (it is not sped up)."""
    overflow: FloatArray
    unserved: FloatArray
    demand: FloatArray
    demand_range: tuple[FloatArray, FloatArray]
    """A demand workload's lowest and highest hour in each month [units] (NaN: none)."""


def _speed_at(r: Replication, p: int, t: FloatArray) -> FloatArray:
    """The speed of pool p's hardware at times t: a job's speed all its life is the one it
    started with (a generation from time g applies to jobs starting at g or later)."""
    changes = r.prices.pools[p].speed_changes
    times = np.asarray([c[0] for c in changes], dtype=float)
    speeds = np.asarray([c[1] for c in changes], dtype=float)
    out: FloatArray = speeds[np.maximum(np.searchsorted(times, t, side="right") - 1, 0)]
    return out


def _pool_use(r: Replication, p: int) -> _PoolUse:
    rec = r.rec
    jobs, H, edges, n_months = rec.jobs, r.H, r.edges, r.n_months
    started, run_start, run_end, held, sent = r.started, r.run_start, r.run_end, r.held, r.sent
    # reserved = the delivered schedule; units held beyond it (busy when it fell) are the
    # overhang, billed at the on-demand reference price
    ct, cd = rec.reserved_changes[p]
    held_months = binned_integral(ct, np.full(len(ct), H), cd, edges)
    st, sl = _schedule_steps(rec.schedule[p])
    reserved = binned_integral(st, np.full(len(st), H), np.diff(sl, prepend=0.0), edges)
    overhang_uh = np.maximum(held_months - reserved, 0.0)
    on_p = started & (rec.ran_on == 0) & (jobs.pool == p)
    busy = binned_integral(run_start[on_p], run_end[on_p], held[on_p], edges)
    work = binned_integral(
        run_start[on_p], run_end[on_p], held[on_p] * _speed_at(r, p, run_start[on_p]), edges
    )
    served = rec.demand[p]
    unserved = np.zeros(n_months)
    demand_months = np.zeros(n_months)
    demand_range = (np.full(n_months, np.nan), np.full(n_months, np.nan))
    if served is not None:
        on_reserved = r.hourly_to_months(served.reserved)
        busy = busy + on_reserved
        work = work + on_reserved
        unserved = r.hourly_to_months(served.unserved)
        demand_months = r.hourly_to_months(served.demand)
        demand_range = r.extremes_by_month(served.demand)
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
    work_per_busy = np.divide(work, busy, out=np.ones(n_months), where=busy > 0)
    return _PoolUse(
        reserved,
        used,
        overhang_uh,
        overhang_work_uh,
        work_per_busy,
        overflow,
        unserved,
        job_running + waiting + demand_months,
        demand_range,
    )


def _reserved_spend(
    r: Replication, b: Books, p: int, reserved: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The schedule's spend by month, with what was contracted but not delivered and its
    credit; books the eligible spend and the cash."""
    H, edges, n_months = r.H, r.edges, r.n_months
    terms = r.prices.pools[p]
    price = terms.price * (1.0 - r.prices.contract.discount)  # a delivered unit-hour
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
    return reserved_spend, undelivered, credit


def _overhang_spend(
    r: Replication, b: Books, p: int, overhang_uh: FloatArray, mine_t: list[int]
) -> tuple[FloatArray, FloatArray | None]:
    """The overhang's spend by month, and the pool's on-demand reference price: eligible
    spend with the pool's provider, discounted like the pool."""
    terms = r.prices.pools[p]
    od = terms.od_price
    if od is None and mine_t:
        od = r.prices.targets[mine_t[0]].price
    overhang_price = od if od is not None else terms.price  # list USD per unit-hour
    overhang_spend = overhang_uh * overhang_price * (1.0 - r.prices.contract.discount)
    b.eligible_months += overhang_spend
    b.list_eligible += float(np.sum(overhang_uh * overhang_price))
    b.end_cash += overhang_spend
    b.total_overflow_spend += float(overhang_spend.sum())
    return overhang_spend, od


def pool_accounts(r: Replication, b: Books, p: int) -> None:
    """Reserved pool p: the schedule, what ran on it, idle, overhang, spend, savings."""
    names, prices, m = r.names, r.prices, b.m
    pname = names.pools[p]
    use = _pool_use(r, p)
    reserved, used = use.reserved, use.used
    idle = reserved - used
    terms = prices.pools[p]
    price = terms.price * (1.0 - prices.contract.discount)
    mine_c = [c for c in prices.commitments if c.pool == p]
    schedule = reserved  # the pool's own schedule, delivered; tranches add to it
    for c in mine_c:
        for uh in tranche_unit_hours(r, c):
            schedule = schedule - uh
    if mine_c:
        schedule = np.maximum(schedule, 0.0)
    reserved_spend, undelivered, credit = _reserved_spend(r, b, p, schedule)
    mine_t = [k for k, tp in enumerate(names.target_pool) if tp == p]
    overhang_spend, od = _overhang_spend(r, b, p, use.overhang, mine_t)
    m[f"spend_usd.overhang.{pname}"] = float(overhang_spend.sum())
    m[f"overhang_unit_hours.{pname}"] = float(use.overhang.sum())
    pool_spend = reserved_spend + overhang_spend
    idle_spend = idle * price
    if mine_c:
        # busy units are shared pro rata among the schedule and the tranches
        sched_share = np.divide(schedule, reserved, out=np.zeros(r.n_months), where=reserved > 0)
        idle_spend = (schedule - used * sched_share) * price
        for c in mine_c:
            spend_c, idle_c = capacity_accounts(r, b, c, used, reserved, pname)
            pool_spend = pool_spend + spend_c
            idle_spend = idle_spend + idle_c
    # reference-speed unit-hours of work, counted where it was done at the speed it was done:
    # on reserved units (busy units fill the schedule first; a month's work shared pro rata
    # between the schedule and the overhang), on the overhang and on targets
    used_work = used * use.work_per_busy
    overflow_work = use.overhang_work * use.work_per_busy
    for k in mine_t:
        pool_spend = pool_spend + b.target_spend_months[k]
        if b.plan_spend_months is not None:
            pool_spend = pool_spend + b.plan_spend_months[k]
        overflow_work = overflow_work + b.target_work_months[k]
    work_uh = used_work + overflow_work
    b.spend_parts[(pname, "reserved", "")] = reserved_spend
    b.spend_parts[(pname, "overhang", "")] = overhang_spend
    if od is not None:
        equiv = float(np.sum((used_work + overflow_work) * od))
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
        "overflow_unit_hours": use.overflow,
        "overhang_unit_hours": use.overhang,
        "demand_unit_hours": use.demand,
        # a demand workload's hourly range within the month (its daily cycle and noise):
        # the lowest and highest hour; NaN where the pool has no demand workload
        "demand_low_units": use.demand_range[0],
        "demand_high_units": use.demand_range[1],
        "spend_usd": pool_spend,
        "idle_spend_usd": idle_spend,
    }
    res, u, o = float(reserved.sum()), float(used.sum()), float(use.overflow.sum())
    m[f"spend_usd.reserved.{pname}"] = float(reserved_spend.sum())
    m[f"reserved_unit_hours.{pname}"] = res
    m[f"used_unit_hours.{pname}"] = u
    m[f"idle_unit_hours.{pname}"] = res - u
    m[f"idle_spend_usd.{pname}"] = float(idle_spend.sum())
    m[f"utilization.{pname}"] = u / res if res > 0 else math.nan
    # the share of the pool's work (at reference speed) done on reserved units
    w_res, w_all = float(used_work.sum()), float(work_uh.sum())
    m[f"coverage.{pname}"] = w_res / w_all if w_all > 0 else math.nan
    m[f"overflow_unit_hours.{pname}"] = o
    m[f"unserved_unit_hours.pool.{pname}"] = float(use.unserved.sum())
    b.total_reserved_spend += float(reserved_spend.sum())


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
