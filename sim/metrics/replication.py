"""``compute``: the sections in order over one set of books (targets, pools, job waits,
unserved demand), then the contract and the totals."""

from __future__ import annotations

import math

import numpy as np

from sim.contract import npv, settle_commitment
from sim.distributions import FloatArray
from sim.engine import EngineRecord
from sim.metrics.books import Books, Replication, prepare
from sim.metrics.commitments import locked_in_by_year, savings_plans
from sim.metrics.jobs import job_accounts, unserved_accounts
from sim.metrics.pools import pool_accounts, target_accounts
from sim.metrics.terms import Names, Prices, ReplicationOutput


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
    r = prepare(rec, names, prices)
    books = Books.empty(r.n_months, len(names.targets))
    savings_plans(r, books)  # before the targets: they bill what the plans did not cover
    for k in range(len(names.targets)):
        target_accounts(r, books, k)
    for p in range(len(names.pools)):
        pool_accounts(r, books, p)
    job_accounts(r, books)
    unserved_accounts(r, books, demand_paths or {})
    return _contract_and_totals(r, books)


def _contract_and_totals(r: Replication, b: Books) -> ReplicationOutput:
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
    if r.prices.commitments:
        m["spend_usd.owned"] = b.total_owned_spend
        m["spend_usd.savings_plans"] = b.total_plan_spend
        m["residual_usd"] = b.residual
        m["commitment_beyond_horizon_usd"] = b.beyond_horizon
        m["spend_usd.total"] += b.total_owned_spend + b.total_plan_spend
    m["spend_usd.discount_savings"] = b.list_eligible - float(b.eligible_months.sum())
    m["npv_usd.total"] = npv(end_cash, contract.discount_rate, b.start_cash)
    for k, locked in enumerate(locked_in_by_year(r, b)):
        m[f"locked_in_usd.year{k + 1}"] = locked
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
