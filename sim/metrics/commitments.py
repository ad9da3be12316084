"""Commitments' accounts: reserved and owned tranches on their pools, savings plans over the
overflow targets they cover (docs/scenario.md, "Commitments"; choices in docs/design.md).

Spend is counted where the capacity is, inside the horizon: a tranche's unit-hours (or a
plan's hours) × its price, whatever the payment terms; payment terms move only the cash
(``upfront``: the whole term at its start; ``partial``: that share at start, the rest
monthly), hence the net present value. What active tranches commit past the horizon is
``commitment_beyond_horizon_usd``.
"""

from __future__ import annotations

import math

import numpy as np

from sim.calendar import HOURS_PER_MONTH, HOURS_PER_YEAR
from sim.distributions import FloatArray
from sim.engine import EngineRecord
from sim.metrics.books import Books, Replication, prepare
from sim.metrics.terms import CommitmentTerms, Names, Prices, binned_integral


def _month_of(r: Replication, hour: float) -> int:
    return min(max(int(hour // HOURS_PER_MONTH), 0), r.n_months - 1)


def tranche_unit_hours(r: Replication, c: CommitmentTerms) -> list[FloatArray]:
    """Unit-hours each tranche of a reserved or owned commitment adds, by month."""
    return [
        binned_integral(np.array([s]), np.array([min(e, r.H)]), np.array([units]), r.edges)
        for s, e, _, units in c.tranches
    ]


def capacity_accounts(
    r: Replication,
    b: Books,
    c: CommitmentTerms,
    used: FloatArray,
    reserved: FloatArray,
    pool_name: str,
) -> tuple[FloatArray, FloatArray]:
    """A reserved or owned commitment on its pool: spend by month (capex, residual and
    opex for owned capacity), its metrics, cash and eligible spend. ``used`` and
    ``reserved`` are the pool's: busy units are shared pro rata among its active capacity.
    Returns (spend by month, cost of its idle units by month)."""
    m = b.m
    net = (1.0 - r.prices.contract.discount) if c.eligible else 1.0
    spend = np.zeros(r.n_months)
    rate_months = np.zeros(r.n_months)  # what a unit-hour of it costs (for idle dollars)
    uh_total = np.zeros(r.n_months)
    for (s, e, price, units), uh in zip(c.tranches, tranche_unit_hours(r, c), strict=True):
        accrual = uh * price * net
        uh_total += uh
        term_cost = units * price * net * (e - s)
        if c.kind == "owned":
            capex = units * c.capex_per_unit
            spend[_month_of(r, s)] += capex
            b.start_cash[_month_of(r, s)] += capex
            b.end_cash += accrual
            residual = capex * max(e - r.H, 0.0) / (e - s)
            spend[-1] -= residual
            b.end_cash[-1] -= residual
            b.residual += residual
            rate_months += uh * (price + c.capex_per_unit / (e - s))
        else:
            b.start_cash[_month_of(r, s)] += c.upfront_fraction * term_cost
            b.end_cash += (1.0 - c.upfront_fraction) * accrual
            b.beyond_horizon += units * price * net * max(e - max(s, r.H), 0.0)
            rate_months += uh * price * net
        spend += accrual
    share = np.divide(uh_total, reserved, out=np.zeros(r.n_months), where=reserved > 0)
    used_c = used * share
    total_uh = float(uh_total.sum())
    m[f"spend_usd.commitment.{c.name}"] = float(spend.sum())
    m[f"used_unit_hours.commitment.{c.name}"] = float(used_c.sum())
    m[f"utilization.commitment.{c.name}"] = (
        float(used_c.sum()) / total_uh if total_uh > 0 else math.nan
    )
    b.spend_parts[(pool_name, "commitment", c.name)] = spend
    if c.kind == "owned":
        b.total_owned_spend += float(spend.sum())
    else:
        b.total_reserved_spend += float(spend.sum())
        if c.eligible:
            b.eligible_months += spend
            b.list_eligible += float(spend.sum()) / net if net > 0 else 0.0
    idle_rate = np.divide(rate_months, uh_total, out=np.zeros(r.n_months), where=uh_total > 0)
    return spend, (uh_total - used_c) * idle_rate


def hourly_target_use(r: Replication, k: int) -> FloatArray:
    """Unit-hours used on overflow target k in each hour of the horizon (jobs and demand)."""
    rec = r.rec
    n = len(r.hour_len)
    edges = np.append(np.arange(n, dtype=float), r.H)
    on_k = r.started & (rec.ran_on == k + 1)
    use = binned_integral(r.run_start[on_k], r.run_end[on_k], r.held[on_k], edges)
    served = rec.demand[r.names.target_pool[k]]
    if served is not None and k in served.targets:
        use = use + served.targets[k][:n] * r.hour_len
    return use


def savings_plans(r: Replication, b: Books) -> None:
    """Apply every savings plan hour by hour, in the order written: each hour the plan pays
    for covered usage at its price, usage with the highest savings percentage first (ties:
    the lowest plan price per unit-hour), until the hour's commitment is used up; the rest
    of the usage is billed on demand by the target accounts; the unused commitment is paid
    all the same."""
    plans = [c for c in r.prices.commitments if c.kind == "savings_plan"]
    if not plans:
        return
    n_t, n = len(r.names.targets), len(r.hour_len)
    left = [hourly_target_use(r, k) for k in range(n_t)]
    od = [r.prices.targets[k].price[r.hour_month] for k in range(n_t)]  # list, per hour
    covered_uh = [np.zeros(n) for _ in range(n_t)]
    alloc = [np.zeros(n) for _ in range(n_t)]
    hour_start = np.arange(n, dtype=float)
    contract = r.prices.contract
    for c in plans:
        net = (1.0 - contract.discount) if c.eligible else 1.0
        commit = np.zeros(n)
        for s, e, price, _ in c.tranches:
            active = (hour_start >= s - 1e-9) & (hour_start < e - 1e-9)
            commit += np.where(active, price * r.hour_len, 0.0)
            b.start_cash[_month_of(r, s)] += c.upfront_fraction * price * net * (e - s)
            b.beyond_horizon += price * net * max(e - max(s, r.H), 0.0)
        remaining = commit.copy()
        order = sorted(
            c.covers, key=lambda kf: (kf[1], kf[1] * float(r.prices.targets[kf[0]].price[0]))
        )
        covered_value = 0.0
        takes = []
        for k, f in order:
            plan_price = f * od[k]
            need = left[k] * plan_price
            take = np.minimum(remaining, need)
            remaining -= take
            got = np.divide(take, plan_price, out=np.zeros(n), where=plan_price > 0)
            left[k] -= got
            covered_uh[k] += got
            covered_value += float(np.sum(got * od[k]))
            takes.append((k, take))
        paid = commit * net
        # the hour's payment is shared among the targets it covered (the first covered
        # target takes an hour that covered nothing): for pools' savings rates
        taken = np.sum([t for _, t in takes], axis=0) if takes else np.zeros(n)
        for i, (k, take) in enumerate(takes):
            share = np.divide(take, taken, out=np.zeros(n), where=taken > 0)
            if i == 0:
                share = np.where(taken > 0, share, 1.0)
            alloc[k] += paid * share
        spend_months = r.amounts_to_months(paid)
        b.end_cash += (1.0 - c.upfront_fraction) * spend_months
        if c.eligible:
            b.eligible_months += spend_months
            b.list_eligible += float(commit.sum())
        total_commit = float(commit.sum())
        unused = float(remaining.sum())
        b.m[f"spend_usd.commitment.{c.name}"] = float(paid.sum())
        b.m[f"sp_covered_usd.{c.name}"] = covered_value
        b.m[f"sp_unused_usd.{c.name}"] = unused
        b.m[f"sp_utilization.{c.name}"] = (
            1.0 - unused / total_commit if total_commit > 0 else math.nan
        )
        b.spend_parts[("savings_plan", "commitment", c.name)] = spend_months
        b.total_plan_spend += float(paid.sum())
    b.target_covered_uh_months = [r.amounts_to_months(u) for u in covered_uh]
    b.plan_spend_months = [r.amounts_to_months(a) for a in alloc]


def locked_in_by_year(r: Replication, b: Books) -> list[float]:
    """Committed dollars still to pay at the start of each contract year, for what was
    bought by then: the rest of every pool's reserved schedule (signed at the start for the
    whole term) and the rest of every reserved tranche's and savings plan's term committed
    to by then (the plan's tranches from the start, renewals from their start, a strategy's
    purchases from their decision; past the horizon included). Owned capacity's capex is
    sunk and counts nothing. The lock-in exposure a planner compares across alternatives."""
    years = max(1, math.ceil(r.H / HOURS_PER_YEAR - 1e-9))
    schedule = np.zeros(r.n_months)
    for (_pool, component, _target), months in b.spend_parts.items():
        if component == "reserved":
            schedule = schedule + months
    contract = r.prices.contract
    out = []
    for k in range(years):
        t = k * HOURS_PER_YEAR
        locked = float(schedule[min(12 * k, r.n_months) :].sum())
        for c in r.prices.commitments:
            if c.kind == "owned":
                continue
            net = (1.0 - contract.discount) if c.eligible else 1.0
            for i, (s, e, price, units) in enumerate(c.tranches):
                if c.signed_at(i) <= t + 1e-9 and e > t:
                    per_hour = price if c.kind == "savings_plan" else price * units
                    locked += per_hour * net * (e - max(s, t))
        out.append(locked)
    return out


def plan_usage_by_hour(
    rec: EngineRecord, names: Names, prices: Prices, covers: tuple[tuple[int, float], ...]
) -> FloatArray:
    """What a savings plan with these ``covers`` (target index, price fraction) would pay each
    hour to cover all the usage of its targets [USD per hour]: the usage a savings-plan
    strategy looks at."""
    r = prepare(rec, names, prices)
    out = np.zeros(len(r.hour_len))
    for k, f in covers:
        od = prices.targets[k].price[r.hour_month]
        out += hourly_target_use(r, k) * f * od / np.maximum(r.hour_len, 1e-12)
    return out
