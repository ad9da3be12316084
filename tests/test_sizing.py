"""Sizing a planner can act on: objectives of any metric, mean / percentile / chance
constraints with Wilson intervals, regret against an honest hindsight, the value of the
stochastic solution, and sizes in the planner's units."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import grid, sweep
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from tests.helpers import build

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "configs/examples/mmc.toml"


def test_three_kinds_of_constraint_parse_and_read_back():
    c = sweep.parse_constraint("P(wait_hours.experiments.p95<=24)>=0.9")
    assert (c.kind, c.metric, c.op, c.value, c.level) == (
        "chance",
        "wait_hours.experiments.p95",
        "<=",
        24.0,
        0.9,
    )
    assert str(c) == "P(wait_hours.experiments.p95<=24)>=0.9"
    p = sweep.parse_constraint("p90(spend_usd.total)<=4.5e9")
    assert (p.kind, p.q, p.metric, p.value) == ("percentile", 90.0, "spend_usd.total", 4.5e9)
    m = sweep.parse_constraint("utilization.gpu>=0.8")
    assert (m.kind, m.op) == ("mean", ">=")
    for bad, msg in (
        ("P(x<=1)>=1.5", "level must be in"),
        ("p100(x)<=1", "percentile must be in"),
        ("x==1", "chance constraint"),
    ):
        with pytest.raises(ScenarioError, match=msg):
            sweep.parse_constraint(bad)


def test_objectives_pn_and_cvarn_on_a_known_sample():
    x = np.arange(1.0, 101.0)
    assert sweep.objective_value(x, "p90") == pytest.approx(np.percentile(x, 90))
    assert sweep.objective_value(x, "cvar90") == pytest.approx(
        np.mean(x[x >= np.percentile(x, 90)])
    )
    assert sweep.objective_value(x, "p95") == pytest.approx(95.05)  # as before
    with pytest.raises(ScenarioError, match="pN"):
        sweep.parse_objective("median")
    with pytest.raises(ScenarioError, match="between 0 and 100"):
        sweep.parse_objective("p100")


def test_wilson_interval_matches_the_textbook():
    # Wilson (1927) / Agresti & Coull (1998): 8 of 10 → 0.490 to 0.943; 0 of 20 → 0 to 0.161
    assert sweep.wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert sweep.wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)


def test_constraint_evaluation_per_kind():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0])
    mean = sweep.parse_constraint("m<=15").evaluate(x)
    assert mean["holds"] and mean["value"] == pytest.approx(14.5)
    pct = sweep.parse_constraint("p90(m)<=15").evaluate(x)
    assert not pct["holds"] and pct["value"] == pytest.approx(np.percentile(x, 90))
    ch = sweep.parse_constraint("P(m<=8)>=0.8").evaluate(x)
    assert ch["holds"] and ch["share"] == 0.8 and not ch["certain"]
    assert ch["wilson95"] == pytest.approx(list(sweep.wilson(8, 10)))


KEY = "pools.gpu.reserved"


def _frame(spend: dict[int, list[float]], wait: dict[int, list[float]]) -> pd.DataFrame:
    rows = []
    for size, values in spend.items():
        for r, (s, w) in enumerate(zip(values, wait[size], strict=True)):
            rows.append({KEY: size, "replication": r, "spend_usd.total": s, "wait": w})
    return pd.DataFrame(rows)


def test_regret_uses_the_cheapest_size_that_meets_the_condition_in_each_run():
    # three sizes, four runs; the condition is wait <= 10 in the run. Size 1 is cheapest but
    # meets it only in run 0; size 2 in runs 0-2; size 3 always. P(wait<=10)>=0.75 makes
    # size 2 the recommendation (3 of 4 runs) although the mean-based sweep of 0.1 gave $0.
    spend = {1: [100, 100, 100, 100], 2: [200, 210, 220, 230], 3: [300, 300, 300, 300]}
    wait = {1: [5, 50, 50, 50], 2: [5, 5, 5, 50], 3: [1, 1, 1, 1]}
    base = load_scenario(MMC, ["scenario.years=0.01"])
    c = sweep.parse_constraint("P(wait<=10)>=0.75")
    s = sweep.summarize_sweep(_frame(spend, wait), [KEY], "mean", [c], base, 1)
    rec = s["recommended"]
    assert rec[KEY] == 2 and rec["reserved_units"] == {"gpu": [2]}
    # hindsight per run: run 0 → size 1 ($100), runs 1-2 → size 2, run 3 → size 3
    regret = np.array([200 - 100, 0, 0, 230 - 300])
    assert rec["regret_usd"]["mean"] == pytest.approx(regret.mean())
    assert rec["evpi_usd"] == pytest.approx(regret.mean())
    assert rec["regret_usd"]["max"] == pytest.approx(100)
    assert rec["hindsight_optimal_share"] == {
        f"{KEY}={k}": v for k, v in ((1, 0.25), (2, 0.5), (3, 0.25))
    }
    assert rec["replications_without_a_feasible_size"] == 0
    # 3 of 4 is the point estimate; its Wilson interval reaches far below 0.75
    assert rec["caveats"] and "point estimate" in rec["caveats"][0]
    point = next(p for p in s["points"] if p[KEY] == 1)
    assert point["constraints"][0]["share"] == 0.25 and not point["feasible"]


def test_a_sweep_with_a_chance_constraint_reports_shares_that_match_its_runs(tmp_path):
    sc = load_scenario(MMC, ["scenario.years=0.05"])
    axes = [grid.parse_vary("pools.gpu.reserved=10:13:1")]
    c = sweep.parse_constraint("P(wait_hours.jobs.p95<=2)>=0.8")
    res = sweep.run_sweep(sc, axes, 10, 3, "p90", [c], metric="spend_usd.total")
    for p in res.summary["points"]:
        rows = res.points[res.points["pools.gpu.reserved"] == p["pools.gpu.reserved"]]
        share = float((rows["wait_hours.jobs.p95"] <= 2).mean())
        assert p["constraints"][0]["share"] == pytest.approx(share)
        assert p["objective_value"] == pytest.approx(np.percentile(rows["spend_usd.total"], 90))
        assert p["reserved_units"] == {"gpu": [p["pools.gpu.reserved"]]}
        assert p["reserved_spend_usd"] == pytest.approx(rows["spend_usd.reserved"].mean())
    rec = res.summary["recommended"]
    feasible = [p for p in res.summary["points"] if p["feasible"]]
    assert rec["objective_value"] == min(p["objective_value"] for p in feasible)


def test_unknown_objective_metric_is_named_before_any_work():
    sc = load_scenario(MMC, ["scenario.years=0.01"])
    with pytest.raises(ScenarioError, match=r"--metric: spend_usd\.totl: no such metric"):
        sweep.run_sweep(
            sc, [grid.parse_vary("pools.gpu.reserved=10,11")], 2, 1, metric="spend_usd.totl"
        )


def test_sizes_in_units_follow_the_scaled_ramp():
    base = load_scenario(ROOT / "configs/baseline.toml")
    sc = grid.point_scenarios(base, [{"pools.trainium.reserved_scale": 0.8}])[0]
    units = sweep.reserved_units(sc)
    ramp = [18432, 20480, 23552, 27648, 24576, 28672, 32768]
    assert units["trainium"] == [int(r * 0.8 // 16) * 16 for r in ramp]


def test_mean_value_scenario_fixes_every_uncertain_input_at_its_mean():
    base = load_scenario(ROOT / "configs/baseline.toml")
    ev = sweep.mean_value_scenario(base)
    assert all(p.is_fixed for p in ev.params())
    params = {p.path: p.dist.mean() for p in ev.params()}
    assert params["workloads.pretraining.growth_per_year"] == pytest.approx(0.15)
    assert params["overflow.coreweave-h100.speed"] == pytest.approx((1.25 + 2.2) / 2)
    assert params["workloads.online-inference.noise_cv"] == 0.0
    assert all(
        t.price_path is None
        or t.price_path.volatility is None
        or t.price_path.volatility.dist.mean() == 0
        for t in ev.overflow
    )
    assert not ev.shocks


def test_a_shock_at_its_mean_multiplies_demand_by_its_mean_effect():
    # episodes at 2 a year, each x1.5 for a uniform 0.1-0.3 years: the mean demand over many
    # replications is exp(2 × 0.2 × 0.5) = 1.2214 times the shock-free level once episodes
    # reach their stationary rate (overlaps multiply); the mean-value scenario says the same
    from sim.workload import demand_path, draw_params

    sc = build(
        {"gpu": {"unit": "gpu", "reserved": 1, "price_per_unit_hour": 1.0}},
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 100.0}},
        years=3,
    )
    from sim.scenario import scenario_from_dict

    data = dict(sc.raw)
    data["shocks"] = [
        {
            "workload": "d",
            "per_year": 2.0,
            "factor": 1.5,
            "duration_years": {"dist": "uniform", "low": 0.1, "high": 0.3},
        }
    ]
    shocked = scenario_from_dict(data, "<test>")
    ev = sweep.mean_value_scenario(shocked)
    want = math.exp(2 * 0.2 * 0.5)
    mean_path = demand_path(ev, "d", 1, 0, draw_params(ev, 1, 0))
    assert mean_path[-1000:].mean() == pytest.approx(100 * want, rel=1e-9)
    paths = np.array(
        [demand_path(shocked, "d", 1, i, draw_params(shocked, 1, i))[8760:] for i in range(800)]
    )
    per_rep = paths.mean(axis=1)
    se = per_rep.std(ddof=1) / math.sqrt(len(per_rep))
    assert abs(per_rep.mean() - 100 * want) < 4 * se, (per_rep.mean(), se)


def test_value_of_the_stochastic_solution_is_paired_and_consistent():
    # demand growth uncertain (sd 0.6 over a year): planning for the mean growth picks a
    # different reserved level than planning for the spread
    sc = build(
        {"gpu": {"unit": "gpu", "reserved": 100, "price_per_unit_hour": 1.0}},
        {
            "d": {
                "kind": "demand",
                "pool": "gpu",
                "demand_units": 100,
                "growth_per_year": {"dist": "normal", "mean": 0.0, "sd": 0.6},
                "noise_cv": 0.1,
            }
        },
        overflow=[{"name": "od", "pool": "gpu", "price_per_unit_hour": 2.0}],
        years=1.0,
    )
    axes = [grid.parse_vary("pools.gpu.reserved=80:160:20")]
    res = sweep.run_sweep(sc, axes, 20, 4, "cvar90", vss=True)
    v = res.summary["value_of_stochastic_solution"]
    rec = res.summary["recommended"]
    points = {p["pools.gpu.reserved"]: p for p in res.summary["points"]}
    choice = v["mean_value_choice"]["pools.gpu.reserved"]
    assert v["vss_usd"]["mean"] == pytest.approx(
        points[choice]["objective_value"] - rec["objective_value"]
    )
    assert v["vss_usd"]["mean"] >= 0  # the recommendation is optimal for the objective
    assert v["vss_usd"]["ci95_low"] <= v["vss_usd"]["mean"] <= v["vss_usd"]["ci95_high"]
    assert choice != rec["pools.gpu.reserved"]  # a tail objective sizes above the mean plan
    assert not math.isnan(v["vss_usd"]["ci95_low"])
