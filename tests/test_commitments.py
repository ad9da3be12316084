"""[[commitments]] against hand arithmetic: tranches that equal a schedule give the
schedule's results exactly; a savings plan's bill hour by hour below, at and above full
coverage; owned capacity's total and residual; a renewal at a stepped price; upfront and
partial payment in NPV; and the messages a planner expects."""

from __future__ import annotations

import copy
import math

import pytest

from sim.errors import ScenarioError
from sim.montecarlo import run_replication
from sim.scenario import scenario_from_dict

H = 8760.0


def scenario(pools, workloads, overflow=(), commitments=(), years=1.0, contract=None):
    data = {
        "scenario": {"name": "c", "years": years, "seed": 3},
        "pools": copy.deepcopy(pools),
        "workloads": copy.deepcopy(workloads),
    }
    if overflow:
        data["overflow"] = copy.deepcopy(list(overflow))
    if commitments:
        data["commitments"] = copy.deepcopy(list(commitments))
    if contract:
        data["contract"] = dict(contract)
    return scenario_from_dict(data, "<test>")


JOBS = {
    "j": {
        "kind": "jobs",
        "pool": "gpu",
        "arrivals_per_day": 30,
        "units": {"dist": "choice", "values": [1, 2, 4], "weights": [0.5, 0.3, 0.2]},
        "duration_hours": {"dist": "exponential", "mean": 6},
        "max_wait_hours": 2,
    }
}
OD = [{"name": "od", "pool": "gpu", "price_per_unit_hour": 3.0}]


def test_tranches_equal_to_a_schedule_give_its_results_replication_by_replication():
    # reserved [8, 12] at $1 == a 1-year tranche of 8 and a 1-year tranche of 12 from year 1
    plain = scenario({"gpu": {"reserved": [8, 12], "price_per_unit_hour": 1.0}}, JOBS, OD, years=2)
    tranches = scenario(
        {"gpu": {"reserved": 0, "price_per_unit_hour": 1.0}},
        JOBS,
        OD,
        [
            {
                "name": "a",
                "kind": "reserved",
                "pool": "gpu",
                "units": 8,
                "term_years": 1,
                "price_per_unit_hour": 1.0,
            },
            {
                "name": "b",
                "kind": "reserved",
                "pool": "gpu",
                "units": 12,
                "start_years": 1,
                "term_years": 1,
                "price_per_unit_hour": 1.0,
            },
        ],
        years=2,
    )
    for i in range(3):
        a = run_replication(plain, 7, i).metrics
        b = run_replication(tranches, 7, i).metrics
        for key in (
            "spend_usd.total",
            "spend_usd.reserved",
            "spend_usd.overflow",
            "used_unit_hours.gpu",
            "idle_unit_hours.gpu",
            "idle_spend_usd.gpu",
            "utilization.gpu",
            "wait_hours.j.p95",
            "jobs_overflowed.j",
        ):
            assert b[key] == pytest.approx(a[key], rel=1e-12, abs=1e-9), key
        assert b["spend_usd.commitment.a"] == pytest.approx(8 * H)
        assert b["spend_usd.commitment.b"] == pytest.approx(12 * H)
        assert b["commitment_beyond_horizon_usd"] == 0.0
        # busy units shared pro rata: the two tranches' used hours add to the pool's
        used = b["used_unit_hours.commitment.a"] + b["used_unit_hours.commitment.b"]
        assert used == pytest.approx(a["used_unit_hours.gpu"], rel=1e-9)


DEMAND_POOL = {"gpu": {"reserved": 0, "price_per_unit_hour": 1.0}}


def _plan_bill(c: float, usage: dict[str, float], od: dict[str, float], frac: dict[str, float]):
    """One hour by hand: highest savings first; returns (plan paid, on-demand bill)."""
    left = c
    bill = 0.0
    for t in sorted(usage, key=lambda t: (frac[t], frac[t] * od[t])):
        need = usage[t] * frac[t] * od[t]
        take = min(left, need)
        left -= take
        bill += (need - take) / frac[t]
    return c, bill


@pytest.mark.parametrize("commit", [0.5, 3.0, 5.2, 9.0])  # below, between, at, above full
def test_a_savings_plan_bills_each_hour_as_the_published_rule_says(commit):
    # two pools' demand overflows to two targets: 2 units/h at $2 (plan 0.6: 40 % off) and
    # 3 units/h at $1 (plan 0.8: 20 % off); full coverage costs 2*1.2 + 3*0.8 = $4.8/h
    pools = {
        "a": {"reserved": 0, "price_per_unit_hour": 1.0},
        "b": {"reserved": 0, "price_per_unit_hour": 1.0},
    }
    demand = {
        "da": {"kind": "demand", "pool": "a", "demand_units": 2.0},
        "db": {"kind": "demand", "pool": "b", "demand_units": 3.0},
    }
    targets = [
        {"name": "ta", "pool": "a", "price_per_unit_hour": 2.0},
        {"name": "tb", "pool": "b", "price_per_unit_hour": 1.0},
    ]
    plan = {"name": "sp", "kind": "savings_plan", "usd_per_hour": commit,
            "covers": {"tb": 0.8, "ta": 0.6}, "term_years": 1}  # fmt: skip
    sc = scenario(pools, demand, targets, [plan])
    m = run_replication(sc, 1, 0).metrics
    paid, bill = _plan_bill(
        commit, {"ta": 2.0, "tb": 3.0}, {"ta": 2.0, "tb": 1.0}, {"ta": 0.6, "tb": 0.8}
    )
    assert m["spend_usd.commitment.sp"] == pytest.approx(paid * H)
    assert m["spend_usd.overflow"] == pytest.approx(bill * H)
    assert m["spend_usd.total"] == pytest.approx((paid + bill) * H)
    covered = min(commit, 4.8)
    assert m["sp_unused_usd.sp"] == pytest.approx(max(commit - 4.8, 0.0) * H)
    assert m["sp_utilization.sp"] == pytest.approx(covered / commit)
    # the on-demand value it covered: ta first (40 % off), then tb
    ta = min(commit, 2.4) / 0.6
    tb = max(min(commit, 4.8) - 2.4, 0.0) / 0.8
    assert m["sp_covered_usd.sp"] == pytest.approx((ta + tb) * H)


def test_owned_capacity_costs_capex_and_opex_less_its_residual():
    # 4 owned GPUs at $20,000 each, $0.3/h opex, 4-year life, bought at 0.5 y of a 2-year
    # horizon: capex 80,000, opex 4 * 0.3 * 1.5 y, residual 80,000 * 2.5 / 4
    sc = scenario(
        DEMAND_POOL,
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 2.0}},
        OD,
        [{"name": "own", "kind": "owned", "pool": "gpu", "units": 4, "start_years": 0.5,
          "term_years": 4, "capex_usd_per_unit": 20000, "opex_usd_per_unit_hour": 0.3}],
        years=2,
    )  # fmt: skip
    m = run_replication(sc, 1, 0).metrics
    opex = 4 * 0.3 * 1.5 * H
    residual = 80000 * 2.5 / 4
    assert m["residual_usd"] == pytest.approx(residual)
    assert m["spend_usd.owned"] == pytest.approx(80000 + opex - residual)
    # demand 2 on demand for the first half year, then on the owned units
    assert m["spend_usd.overflow"] == pytest.approx(2 * 3.0 * 0.5 * H)
    assert m["spend_usd.total"] == pytest.approx(80000 + opex - residual + 2 * 3.0 * 0.5 * H)
    assert m["utilization.commitment.own"] == pytest.approx(0.5)
    assert m["commitment_beyond_horizon_usd"] == 0.0  # owned: nothing owed


def test_a_renewal_pays_the_price_of_its_own_start():
    # on-demand reference $2 that steps to x1.5 at 1.0 y; a 1-year tranche at 30 % off,
    # renewed: year 1 at 1.40, year 2 at 2.10; a 1-year horizon plus a bit lets the second
    # renewal start inside (1.5 y) and commit half a year past it
    pools = {
        "gpu": {
            "reserved": 0,
            "price_per_unit_hour": 1.0,
            "on_demand_price_per_unit_hour": 2.0,
            "price_steps": [{"at_years": 1.0, "factor": 1.5}],
        }
    }
    sc = scenario(
        pools,
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 1.0}},
        OD,
        [{"name": "r", "kind": "reserved", "pool": "gpu", "units": 1, "discount": 0.3,
          "term_years": 1, "renew": True}],
        years=1.5,
    )  # fmt: skip
    m = run_replication(sc, 1, 0).metrics
    assert m["spend_usd.commitment.r"] == pytest.approx(1.4 * H + 2.1 * 0.5 * H)
    assert m["commitment_beyond_horizon_usd"] == pytest.approx(2.1 * 0.5 * H)


@pytest.mark.parametrize(("payment", "upfront"), [("monthly", 0.0), ("upfront", 1.0),
                                                   ("partial", 0.4)])  # fmt: skip
def test_upfront_and_partial_payment_move_the_npv_not_the_spend(payment, upfront):
    rate = 0.10
    c = {"name": "r", "kind": "reserved", "pool": "gpu", "units": 2, "term_years": 2,
         "price_per_unit_hour": 1.0, "payment": payment}  # fmt: skip
    if payment == "partial":
        c["upfront_fraction"] = upfront
    sc = scenario(
        DEMAND_POOL,
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 1.0}},
        OD,
        [c],
        years=2,
        contract={"discount_rate": rate},
    )
    m = run_replication(sc, 1, 0).metrics
    total = 2 * 1.0 * 2 * H
    assert m["spend_usd.total"] == pytest.approx(total)
    # upfront share at t = 0 (undiscounted), the rest monthly at month ends
    monthly = (1 - upfront) * total / 24
    npv = upfront * total + sum(monthly * (1 + rate) ** -((k + 1) / 12) for k in range(24))
    assert m["npv_usd.total"] == pytest.approx(npv, rel=1e-9)


@pytest.mark.parametrize(
    ("commitment", "key", "says"),
    [
        ({"kind": "reserved", "pool": "gpux", "units": 1, "price_per_unit_hour": 1},
         "commitments[0].pool", "names no pool: 'gpux'"),
        ({"kind": "savings_plan", "usd_per_hour": 1, "covers": {"odd": 0.7}},
         "commitments[0].covers", "names no overflow target: 'odd'"),
        ({"kind": "reserved", "pool": "gpu", "units": 3, "price_per_unit_hour": 1},
         "commitments[0].units", "whole number of gpu's instances (2 units each)"),
        ({"kind": "reserved", "pool": "gpu", "units": 2, "price_per_unit_hour": 1,
          "term_years": 0}, "commitments[0].term_years", "must be > 0"),
        ({"kind": "reserved", "pool": "gpu", "units": 2},
         "commitments[0].price_per_unit_hour", "give price_per_unit_hour or discount"),
        ({"kind": "savings_plan", "usd_per_hour": 1, "covers": {"od": 0.7}, "units": 2},
         "commitments[0].units", "is a key of kind = 'reserved'"),
        ({"kind": "savings_plan", "usd_per_hour": 1, "covers": {"od": 1.7}},
         "commitments[0].covers.od", "fraction in (0, 1]"),
    ],
)  # fmt: skip
def test_commitment_mistakes_are_named(commitment, key, says):
    c = {"name": "x", "term_years": 1, **commitment}
    with pytest.raises(ScenarioError) as e:
        scenario(
            {"gpu": {"reserved": 0, "price_per_unit_hour": 1.0, "instance_units": 2}},
            {"d": {"kind": "demand", "pool": "gpu", "demand_units": 1.0}},
            OD,
            [c],
        )
    assert e.value.path == key and says in e.value.message, (e.value.path, e.value.message)


def test_a_scenario_without_commitments_has_no_commitment_metrics():
    sc = scenario(DEMAND_POOL, {"d": {"kind": "demand", "pool": "gpu", "demand_units": 1.0}}, OD)
    m = run_replication(sc, 1, 0).metrics
    assert "commitment_beyond_horizon_usd" not in m
    assert not any(k.startswith("spend_usd.commitment.") for k in m)
    assert math.isclose(m["spend_usd.total"], 3.0 * H)


def test_the_shipped_deal_as_tranches_gives_the_baseline_exactly():
    from pathlib import Path

    from sim.scenario import load_scenario
    from sim.stress import load_case

    root = Path(__file__).resolve().parents[1]
    base = load_scenario(root / "configs/baseline.toml", ["scenario.years=0.15"])
    case = load_case(base, root / "configs/alternatives/deal-as-tranches.toml").scenario
    a = run_replication(base, 1, 0).metrics
    b = run_replication(case, 1, 0).metrics
    for key in ("spend_usd.total", "spend_usd.reserved", "idle_spend_usd.graviton",
                "utilization.graviton", "esr", "npv_usd.total"):  # fmt: skip
        assert b[key] == pytest.approx(a[key], rel=1e-12), key
    # tranches that start after a shortened horizon buy nothing
    assert "spend_usd.commitment.grv-y2" in b and b["spend_usd.commitment.grv-y2"] == 0.0


def test_a_tranche_past_the_horizon_buys_nothing():
    sc = scenario(
        DEMAND_POOL,
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 1.0}},
        OD,
        [{"name": "late", "kind": "reserved", "pool": "gpu", "units": 1, "start_years": 2,
          "term_years": 1, "price_per_unit_hour": 1.0}],
    )  # fmt: skip
    m = run_replication(sc, 1, 0).metrics
    assert m["spend_usd.commitment.late"] == 0.0 and m["commitment_beyond_horizon_usd"] == 0.0
    assert m["spend_usd.total"] == pytest.approx(3.0 * H)


ALTERNATIVES = sorted(
    (__import__("pathlib").Path(__file__).resolve().parents[1] / "configs/alternatives").glob(
        "*.toml"
    )
)


@pytest.mark.parametrize("path", ALTERNATIVES, ids=lambda p: p.name)
def test_every_shipped_alternative_merges_over_the_baseline_and_runs(path):
    import sim
    from sim.scenario import load_scenario
    from sim.stress import load_case

    root = path.parents[2]
    base = load_scenario(root / "configs/baseline.toml", ["scenario.years=0.3"])
    case = load_case(base, path).scenario
    assert case.commitments or case.strategies
    result = sim.run(case, n=1, workers=1)
    assert result.replications["spend_usd.total"].gt(0).all()
    from sim.catalogue import find

    assert not [m for m in result.replications if m != "replication" and not find(m)]
