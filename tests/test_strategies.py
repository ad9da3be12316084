"""[[strategies]]: purchases decided inside the simulation, against hand arithmetic and
independent recomputation; non-anticipation; fill; renewals at a stepped price; a strategy
that never decides leaves the run as it was; strategy keys as sweep axes."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from sim.cli import main
from sim.montecarlo import run_replication
from sim.scenario import scenario_from_dict, with_overrides

H = 8760.0
LADDER = {
    "name": "ladder",
    "pool": "gpu",
    "every_years": 0.25,
    "lookback_days": 30,
    "cover": 0.8,
    "term_years": 1,
    "discount": 0.3,
}


def scenario(workloads, strategies, pool=None, years=2.0, changes=None):
    data = {
        "scenario": {"name": "s", "years": years, "seed": 2},
        "pools": {
            "gpu": pool
            or {"reserved": 0, "price_per_unit_hour": 1.0, "on_demand_price_per_unit_hour": 2.0}
        },
        "overflow": [{"name": "od", "pool": "gpu", "price_per_unit_hour": 2.0}],
        "workloads": copy.deepcopy(workloads),
        "strategies": copy.deepcopy(strategies),
    }
    if changes:
        data["changes"] = changes
    return scenario_from_dict(data, "<test>")


CONSTANT = {"d": {"kind": "demand", "pool": "gpu", "demand_units": 10.0}}


def test_a_ladder_on_constant_demand_priced_by_hand():
    # nothing seen at t = 0; at 0.25 y it covers the 10 units it saw (1-year term at 30 % off
    # $2 = $1.40); at 1.0 y it still holds them at the decision; at 1.25 y they end and it
    # buys again, a year that runs 0.25 y past the 2-year horizon
    rep = run_replication(scenario(CONSTANT, [LADDER]), 1, 0, keep_record=True)
    bought = [(b.decided_hours, b.start_hours, b.units) for b in rep.record.purchases]
    assert bought == [(0.25 * H, 0.25 * H, 10), (1.25 * H, 1.25 * H, 10)]
    m = rep.metrics
    assert m["spend_usd.commitment.ladder"] == pytest.approx(10 * 1.4 * 1.75 * H)
    assert m["spend_usd.overflow"] == pytest.approx(10 * 2.0 * 0.25 * H)
    assert m["spend_usd.total"] == pytest.approx(10 * 1.4 * 1.75 * H + 10 * 2.0 * 0.25 * H)
    assert m["commitment_beyond_horizon_usd"] == pytest.approx(10 * 1.4 * 0.25 * H)
    assert m["utilization.commitment.ladder"] == pytest.approx(1.0)
    assert m["purchased_units.ladder.year1"] == 10 and m["purchased_units.ladder.year2"] == 10
    rows = rep.purchases
    assert [r["k"] for r in rows] == [1, 2]
    assert all(r["price_per_unit_hour"] == pytest.approx(1.4) for r in rows)


def test_a_decision_never_sees_the_future():
    # the same demand, except that it doubles from 1.2 y: every purchase decided by then is
    # identical, and a later one differs
    base = scenario(CONSTANT, [LADDER])
    later = scenario(CONSTANT, [LADDER], changes=[{"workload": "d", "at_years": 1.2,
                                                  "factor": 2.0}])  # fmt: skip
    a = run_replication(base, 4, 0, keep_record=True).record.purchases
    b = run_replication(later, 4, 0, keep_record=True).record.purchases
    before = [x for x in a if x.decided_hours <= 1.2 * H]
    assert before == [x for x in b if x.decided_hours <= 1.2 * H]
    assert [x for x in a if x.decided_hours > 1.2 * H] != [
        x for x in b if x.decided_hours > 1.2 * H
    ]


def test_usage_counts_jobs_running_anywhere_as_recomputed_from_the_jobs():
    # jobs on an empty pool all run on the target: the first decision (at 0.5 y, looking
    # back 60 days) buys the 0.8 quantile of the hourly units they held, computed here from
    # jobs.parquet on its own
    jobs = {
        "j": {"kind": "jobs", "pool": "gpu", "arrivals_per_day": 40, "units": 2,
              "duration_hours": {"dist": "exponential", "mean": 5}, "max_wait_hours": 0}
    }  # fmt: skip
    strat = {**LADDER, "every_years": 0.5, "first_years": 0.5, "lookback_days": 60}
    sc = scenario(jobs, [strat], years=0.6)
    rep = run_replication(sc, 3, 0, record_jobs=True, keep_record=True)
    f = rep.jobs
    t1, t0 = 0.5 * H, 0.5 * H - 60 * 24
    edges = np.arange(np.floor(t0), np.floor(t1) + 1)
    s = f["start_hours"].to_numpy()
    e = np.minimum(f["end_hours"].to_numpy(), t1)
    held = f["held_units"].to_numpy() if "held_units" in f else f["units"].to_numpy()
    usage = np.zeros(len(edges) - 1)
    for a, b, w in zip(s, e, held, strict=True):
        if not np.isfinite(a) or b <= t0 or a >= t1:
            continue
        lo = np.clip(edges[:-1], a, b)
        hi = np.clip(edges[1:], a, b)
        usage += w * (hi - lo)
    want = float(np.quantile(usage, 0.8))
    (b,) = rep.record.purchases
    assert b.units_ordered == int(np.floor(want + 0.5))


def test_a_fill_below_one_delivers_that_share_on_average():
    strat = {**LADDER, "fill": {"dist": "uniform", "low": 0.2, "high": 0.8}, "term_years": 0.25}
    sc = scenario({"d": {"kind": "demand", "pool": "gpu", "demand_units": 1000.0}}, [strat],
                  years=4)  # fmt: skip
    shares = []
    for i in range(30):
        for b in run_replication(sc, 9, i, keep_record=True).record.purchases:
            shares.append(b.units / b.units_ordered)
    shares = np.array(shares)
    se = shares.std(ddof=1) / np.sqrt(len(shares))
    assert len(shares) > 100
    assert abs(shares.mean() - 0.5) < 4 * se + 1e-3


def test_renewals_after_a_price_step_pay_the_new_price():
    pool = {"reserved": 0, "price_per_unit_hour": 1.0, "on_demand_price_per_unit_hour": 2.0,
            "price_steps": [{"at_years": 1.0, "factor": 1.5}]}  # fmt: skip
    rep = run_replication(scenario(CONSTANT, [LADDER], pool=pool), 1, 0)
    prices = {round(r["decided_hours"] / H, 2): r["price_per_unit_hour"] for r in rep.purchases}
    assert prices == {0.25: pytest.approx(1.4), 1.25: pytest.approx(2.1)}


def test_a_strategy_that_never_decides_leaves_the_run_as_it_was():
    plain = scenario(CONSTANT, [])
    never = scenario(CONSTANT, [{**LADDER, "first_years": 5.0}])
    a = run_replication(plain, 1, 0).metrics
    b = run_replication(never, 1, 0).metrics
    assert a == b


def ladder_toml(years: float, demand: float, extra: str = "") -> str:
    """A one-pool scenario on demand (reserved 0, on-demand $2) with a quarterly ladder."""
    return f"""
[scenario]
name = "s"
years = {years}
seed = 1
[pools.gpu]
reserved = 0
price_per_unit_hour = 1.0
on_demand_price_per_unit_hour = 2.0
[[overflow]]
name = "od"
pool = "gpu"
price_per_unit_hour = 2.0
[workloads.d]
kind = "demand"
pool = "gpu"
demand_units = {demand}
{extra}
[[strategies]]
name = "ladder"
pool = "gpu"
every_years = 0.25
term_years = 1
"""


def test_strategy_keys_are_sweep_axes(tmp_path):
    text = ladder_toml(1.5, 10, "noise_cv = 0.3") + "cover = 0.5\ndiscount = 0.3\n"
    (tmp_path / "s.toml").write_text(text)
    out = tmp_path / "sweep"
    args = ["sweep", str(tmp_path / "s.toml"), "--vary", "strategies.ladder.cover=0.5,0.95"]
    args += ["-n", "3", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["points"]) == 2
    sc = scenario_from_dict(__import__("tomllib").loads(text), "<t>")
    hi = with_overrides(sc, {"strategies.ladder.cover": 0.95})
    assert hi.strategies[0].cover == 0.95


def test_a_shortage_stress_lowers_a_strategys_fill_by_name(tmp_path):
    from sim.stress import load_case

    base_text = ladder_toml(1, 100)
    (tmp_path / "b.toml").write_text(base_text)
    (tmp_path / "short.toml").write_text(
        '[scenario]\nname = "shortage"\n[[strategies]]\nname = "ladder"\nfill = 0.5\n'
    )
    from sim.scenario import load_scenario

    base = load_scenario(tmp_path / "b.toml")
    case = load_case(base, tmp_path / "short.toml").scenario
    assert len(case.strategies) == 1 and case.strategies[0].fill.dist.mean() == 0.5
    bought = run_replication(case, 1, 0, keep_record=True).record.purchases
    assert bought and all(b.units == int(b.units_ordered * 0.5 + 0.5) for b in bought)  # half up


def test_a_savings_plan_ladder_priced_by_hand():
    # 10 units an hour on demand at $2 (no reservation); the plan prices them at 0.6: $12 an
    # hour of plan covers everything. Nothing seen at t = 0; at 0.25 y it buys $12/h for a
    # year; at 1.25 y that plan ends and it buys again, 0.25 y of it past the horizon
    plan = {"name": "sp-ladder", "buys": "savings_plan", "covers": {"od": 0.6},
            "every_years": 0.25, "lookback_days": 30, "cover": 0.8, "term_years": 1}  # fmt: skip
    sc = scenario(CONSTANT, [plan])
    rep = run_replication(sc, 1, 0)
    m = rep.metrics
    assert [(r["decided_hours"], r["usd_per_hour"]) for r in rep.purchases] == [
        (0.25 * H, 12.0),
        (1.25 * H, 12.0),
    ]
    assert m["spend_usd.overflow"] == pytest.approx(10 * 2.0 * 0.25 * H)
    assert m["spend_usd.commitment.sp-ladder"] == pytest.approx(12 * 1.75 * H)
    assert m["spend_usd.total"] == pytest.approx(10 * 2.0 * 0.25 * H + 12 * 1.75 * H)
    assert m["commitment_beyond_horizon_usd"] == pytest.approx(12 * 0.25 * H)
    assert m["sp_utilization.sp-ladder"] == pytest.approx(1.0)
    assert m["purchased_usd_per_hour.sp-ladder.year1"] == 12.0
    assert m["purchased_usd_per_hour.sp-ladder.year2"] == 12.0


def test_a_savings_plan_strategy_needs_covers_and_no_pool():
    from sim.errors import ScenarioError

    with pytest.raises(ScenarioError, match="covers"):
        scenario(CONSTANT, [{"name": "x", "buys": "savings_plan", "every_years": 1,
                             "term_years": 1}])  # fmt: skip
    with pytest.raises(ScenarioError, match="pool"):
        scenario(CONSTANT, [{"name": "x", "buys": "savings_plan", "every_years": 1,
                             "term_years": 1, "covers": {"od": 0.6}, "pool": "gpu"}])  # fmt: skip
