"""``capsim optimize``: the search finds the newsvendor optimum of every contract year,
respects the ramp's shape and the budget, holds out fresh replications, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from sim import grid, optimize, store
from sim.cli import main
from sim.cli.sizing_tables import optimize_table
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.workload import demand_path, draw_params
from tests.helpers import build

PRICE, OD = 1.0, 2.0  # newsvendor critical ratio 1 - 1/2 = 0.5: the median hour


def _scenario(years: float = 3.0):
    return build(
        {"gpu": {"unit": "gpu", "reserved": [100] * 3, "price_per_unit_hour": PRICE}},
        {
            "d": {
                "kind": "demand",
                "pool": "gpu",
                "demand_units": 100,
                "growth_per_year": 0.5,
                "daily_amplitude": 0.2,
                "noise_cv": 0.1,
            }
        },
        overflow=[{"name": "od", "pool": "gpu", "price_per_unit_hour": OD}],
        years=years,
        seed=11,
    )


def _yearly_quantiles(sc, n: int, q: float) -> list[float]:
    paths = [demand_path(sc, "d", sc.seed, i, draw_params(sc, sc.seed, i)) for i in range(n)]
    out = []
    for y in range(3):
        hours = np.concatenate([p[y * 8760 : (y + 1) * 8760] for p in paths])
        out.append(float(np.quantile(hours, q)))
    return out


def test_free_ramp_reaches_the_newsvendor_level_of_every_year():
    # mean spend of a demand-only pool with unlimited on-demand overflow is separable by
    # year and minimised at the 1 - r/p quantile of that year's hourly demand (the
    # sample-average problem: of the pooled hours of the n replications)
    sc = _scenario()
    n = 6
    res = optimize.Optimizer(sc, ["gpu"], n, sc.seed, "mean").run(holdout=0)
    got = res.summary["pools"]["gpu"]
    want = _yearly_quantiles(sc, n, 1 - PRICE / OD)
    assert np.abs(np.array(got) - np.array(want)).max() <= 1.0, (got, want)
    assert res.summary["improvement"]["ci95_low"] > 0  # better than 100 flat, clearly
    assert res.summary["objective_value"] <= res.summary["uniform"]["objective_value"]


def test_flat_and_non_decreasing_shapes_hold():
    sc = _scenario()
    flat = optimize.Optimizer(sc, ["gpu"], 4, sc.seed, "mean", shape="flat").run()
    assert len(set(flat.summary["pools"]["gpu"])) == 1
    # one level for all years: the median of all hours pooled
    paths = [demand_path(sc, "d", sc.seed, i, draw_params(sc, sc.seed, i)) for i in range(4)]
    assert flat.summary["pools"]["gpu"][0] == pytest.approx(
        np.median(np.concatenate(paths)), abs=1.0
    )
    mono = optimize.Optimizer(sc, ["gpu"], 4, sc.seed, "mean", shape="non-decreasing").run()
    ramp = mono.summary["pools"]["gpu"]
    assert ramp == sorted(ramp)


def test_neighbours_keep_a_non_decreasing_ramp_non_decreasing():
    sc = _scenario()
    opt = optimize.Optimizer(sc, ["gpu"], 2, 1, shape="non-decreasing")
    for cand in opt.neighbours(((10, 20, 30),), 15):
        assert list(cand[0]) == sorted(cand[0]) and min(cand[0]) >= 0


def test_budget_stops_the_search_and_holdout_uses_fresh_replications():
    sc = _scenario()
    opt = optimize.Optimizer(sc, ["gpu"], 4, sc.seed, "mean", budget=60)
    res = opt.run(holdout=5)
    s = res.summary
    # the search stops before a poll would exceed the budget; the holdout comes on top
    assert s["replications_used"] <= 60 + 3 * 5
    held = res.evaluations
    assert set(held["replication"]) == set(range(4))  # evaluations: the search's sample only
    assert s["holdout"]["replications"] == 5
    assert s["holdout"]["ci95"][0] <= s["holdout"]["objective_value"] <= s["holdout"]["ci95"][1]
    # the holdout is replications 4..8 of the chosen ramp, fresh: recomputed here one by one
    from sim.montecarlo import run_replication

    fresh = [run_replication(res.best, sc.seed, i).metrics[opt.metric] for i in range(4, 9)]
    assert s["holdout"]["objective_value"] == pytest.approx(np.mean(fresh), rel=1e-12)
    searched = [run_replication(res.best, sc.seed, i).metrics[opt.metric] for i in range(4)]
    assert s["objective_value"] == pytest.approx(np.mean(searched), rel=1e-12)


def test_instance_pools_move_in_whole_instances_and_unknown_pools_are_named():
    sc = build(
        {
            "trn": {
                "unit": "chip",
                "instance_units": 16,
                "reserved": [64, 64],
                "price_per_unit_hour": 1.0,
            }
        },
        {"d": {"kind": "demand", "pool": "trn", "demand_units": 90, "noise_cv": 0.2}},
        overflow=[{"name": "od", "pool": "trn", "price_per_unit_hour": 3.0}],
        years=2.0,
    )
    res = optimize.Optimizer(sc, ["trn"], 3, 1, "mean").run()
    assert all(u % 16 == 0 for u in res.summary["pools"]["trn"])
    with pytest.raises(ScenarioError, match='--pool: trn2: names no pool \\(did you mean "trn"'):
        optimize.Optimizer(sc, ["trn2"], 3, 1)


def test_cli_writes_a_runnable_optimised_scenario_and_resumes(tmp_path, capsys):
    sc = _scenario(years=1.0)
    src = tmp_path / "s.toml"
    store.write_scenario(src, sc)
    out = tmp_path / "opt"
    argv = [
        "optimize",
        str(src),
        "--pool",
        "gpu",
        "-n",
        "4",
        "--holdout",
        "3",
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    assert main(argv) == 0
    first = json.loads((out / "summary.json").read_text())
    assert store.kind_of(out) == "optimize"
    ran = main(["run", str(out / "scenario.toml"), "-n", "1", "--out", str(tmp_path / "r")])
    assert ran == 0  # the optimised scenario runs as it is
    # an interrupted optimisation: the final files gone, the finished blocks kept
    (out / "summary.json").unlink()
    (out / "evaluations.parquet").unlink()
    assert main([*argv, "--resume"]) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["pools"] == first["pools"]
    assert again["objective_value"] == first["objective_value"]
    assert "on the holdout: Better than the scenario's own ramp by" in capsys.readouterr().out


def test_discount_tiers_set_the_discount_the_commitment_reaches():
    base = {
        "scenario": {"name": "t", "years": 1.0},
        "pools": {"gpu": {"unit": "gpu", "reserved": 10, "price_per_unit_hour": 1.0}},
        "workloads": {"d": {"kind": "demand", "pool": "gpu", "demand_units": 5}},
    }
    from sim.scenario import scenario_from_dict

    tiers = [{"commitment_usd": 4e4, "discount": 0.10}, {"commitment_usd": 2e4, "discount": 0.05}]
    for commit, want in ((3e4, 0.05), (5e4, 0.10), (1e4, 0.0)):
        data = {**base, "contract": {"commitment_usd": commit, "discount_tiers": tiers}}
        assert scenario_from_dict(data, "<t>", None).contract.discount == want
    bad = {**base, "contract": {"commitment_usd": 1e4, "discount": 0.1, "discount_tiers": tiers}}
    with pytest.raises(ScenarioError, match="drop 'discount'"):
        scenario_from_dict(bad, "<t>", None)


def test_commitment_search_picks_the_best_tier_for_the_chosen_ramp():
    # eligible spend is the reservation (~$876k a year at 100 gpus): committing $0.5M buys 5 %,
    # $0.8M buys 8 %, $3M would buy 20 % but leaves a large shortfall
    sc = build(
        {"gpu": {"unit": "gpu", "reserved": 100, "price_per_unit_hour": 1.0}},
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 100, "noise_cv": 0.2}},
        overflow=[{"name": "od", "pool": "gpu", "price_per_unit_hour": 2.0}],
        years=1.0,
        seed=5,
    )
    from sim.scenario import with_overrides

    sc = with_overrides(
        sc,
        {
            "contract.commitment_usd": 0.0,
            "contract.discount_tiers": [
                {"commitment_usd": 5e5, "discount": 0.05},
                {"commitment_usd": 8e5, "discount": 0.08},
                {"commitment_usd": 3e6, "discount": 0.20},
            ],
        },
    )
    opt = optimize.Optimizer(sc, ["gpu"], 4, 5, "mean", commitment=True)
    res = opt.run()
    s = res.summary
    assert s["commitment_searched"] and s["baseline"]["commitment_usd"] == 0.0
    final = next(r for r, ev in opt.cache.items() if ev.value == s["objective_value"])
    values = {}
    for k, c in enumerate(opt.commit_options):
        ev = opt.evaluate([(*final[:-1], (k,))])[0]
        values[c] = ev.value
    assert s["commitment_usd"] == min(values, key=values.get)
    assert s["commitment_usd"] == 8e5  # the largest tier the spend clears
    assert "commitment_usd" in res.evaluations.columns


def test_commitment_search_needs_tiers():
    with pytest.raises(ScenarioError, match="discount tiers"):
        optimize.Optimizer(_scenario(), ["gpu"], 2, 1, commitment=True)


@pytest.mark.parametrize("shape", ["flat", "non-decreasing"])
def test_the_result_has_the_asked_shape_even_when_the_own_ramp_has_not(shape):
    # the scenario's own ramp [10, 5] is the cheapest ramp in sight (demand halves after
    # year 1), but it is neither flat nor non-decreasing: it may be the baseline of the
    # comparison, never the answer (the old search returned [10, 5] under both shapes)
    sc = build(
        {"gpu": {"unit": "gpu", "reserved": [10, 5], "price_per_unit_hour": PRICE}},
        {
            "d": {
                "kind": "demand",
                "pool": "gpu",
                "demand_units": 10,
                "growth_per_year": [0.0, -0.5],
            }
        },
        overflow=[{"name": "od", "pool": "gpu", "price_per_unit_hour": OD}],
        years=2.0,
        seed=3,
    )
    res = optimize.Optimizer(sc, ["gpu"], 2, sc.seed, "mean", shape=shape, budget=30).run()
    ramp = res.summary["pools"]["gpu"]
    if shape == "flat":
        assert len(set(ramp)) == 1, ramp
    else:
        assert ramp == sorted(ramp), ramp
    assert res.summary["baseline"]["pools"]["gpu"] == [10, 5]  # still compared against


def _summary(imp_mean, own_feasible=True, feasible=True):
    imp = {"mean": imp_mean, "ci95_low": imp_mean - 5.0, "ci95_high": imp_mean + 5.0}
    return {
        "objective_metric": "spend_usd.total",
        "improvement": imp,
        "baseline": {"feasible": own_feasible},
        "feasible": feasible,
        "constraints": ["wait_hours.j.p95<=12"],
    }


def test_the_optimize_page_never_says_better_by_a_negative_amount():
    from sim.executive import against_own_ramp

    label, value, _ = against_own_ramp(_summary(859e6))
    assert label == "Better than the scenario's own ramp by" and value == "$859M"
    # the own ramp broke the wait constraint: its cost is not compared (the old page said
    # "Better than the scenario's own ramp by -$859M")
    label, value, spread = against_own_ramp(_summary(-859e6, own_feasible=False))
    assert value == "breaks a constraint" and "wait_hours.j.p95<=12" in spread
    label, value, _ = against_own_ramp(_summary(-40.0))
    assert label.startswith("Costs more") and value == "$40" and "-" not in value


def test_optimize_chooses_a_strategy_parameter_on_common_random_numbers():
    # the quarterly ladder's cover searched one grid step at a time: the answer is the grid
    # value with the lowest mean spend over the same replications, recomputed here point by
    # point (the spend is unimodal in the cover on this grid)
    import sim
    from sim.grid import Axis
    from sim.scenario import scenario_from_dict, with_overrides

    data = {
        "scenario": {"name": "opt-strategy", "years": 1.5, "seed": 4},
        "pools": {"gpu": {"reserved": 0, "price_per_unit_hour": 1.0,
                          "on_demand_price_per_unit_hour": 2.0}},
        "overflow": [{"name": "od", "pool": "gpu", "price_per_unit_hour": 2.0}],
        "workloads": {"d": {"kind": "demand", "pool": "gpu", "demand_units": 10,
                            "noise_cv": 0.4, "daily_amplitude": 0.3}},
        "strategies": [{"name": "ladder", "pool": "gpu", "every_years": 0.25, "cover": 0.5,
                        "term_years": 1, "discount": 0.35}],
    }  # fmt: skip
    sc = scenario_from_dict(data, "<test>")
    grid = (0.2, 0.4, 0.6, 0.8, 0.95)
    res = optimize.Optimizer(
        sc, [], 3, sc.seed, "mean", axes=[Axis("strategies.ladder.cover", grid)]
    ).run(holdout=0)
    means = {}
    for c in grid:
        point = with_overrides(sc, {"strategies.ladder.cover": c})
        means[c] = (
            sim.run(point, n=3, seed=sc.seed, workers=1).replications["spend_usd.total"].mean()
        )
    best = min(means, key=means.get)
    assert res.summary["parameters"] == {"strategies.ladder.cover": best}, means
    assert res.summary["objective_value"] == pytest.approx(means[best], rel=1e-12)
    assert res.summary["baseline"]["parameters"] == {"strategies.ladder.cover": 0.4}  # nearest 0.5


# a demand pool whose level is uniform on 60..120 within a run ($1 reserved, $2 on demand):
# mean spend per hour R + (120 − R)² / 60 at reservation R, lowest at 90 and nearly flat
# there (88 and 92 are $0.07/h dearer, against a run-to-run spread of about $10/h)
LEVEL = Path(__file__).parent / "data/uncertain-level.toml"


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_no_move_is_taken_on_noise(seed: int) -> None:
    """From the true optimum, every neighbour is a near-tie: a search that moves on the
    sample mean alone wanders off (these seeds took it to 86 or 88); the paired rule
    confirms with more runs, cannot settle, stays and says so."""
    sc = load_scenario(LEVEL, ["pools.cpu.reserved=90"])
    axis = grid.parse_vary("pools.cpu.reserved=86,88,90,92,94")
    res = optimize.Optimizer(sc, [], 20, seed, axes=[axis]).run(0)
    assert res.summary["parameters"] == {"pools.cpu.reserved": 90}
    d = res.summary["decision"]
    assert d["moves_taken"] == 0 and not d["settled"] and d["moves_unsettled"]
    for m in d["moves_unsettled"]:
        lo, hi = m["difference_ci"]
        assert lo < 0 < hi and m["replications"] == 20 + 5 * 20  # ran to the cap
    assert d["confirmation_replications"] > 0
    console = Console(width=200, record=True)
    console.print(optimize_table(res.summary))
    assert "NOT settled (not taken)" in console.export_text()


def test_moves_taken_are_settled_by_their_paired_difference() -> None:
    sc = load_scenario(LEVEL, ["pools.cpu.reserved=120"])
    res = optimize.Optimizer(sc, ["cpu"], 20, 4, shape="flat").run(0)
    d = res.summary["decision"]
    assert d["moves_taken"] >= 1
    for m in d["moves"]:
        lo, hi = m["difference_ci"]
        if m["verdict"] == "accept":
            assert hi < 0
        elif m["verdict"] == "reject":
            assert lo >= 0
    assert abs(res.summary["pools"]["cpu"][0] - 90) <= 12  # far better than the start's 120
