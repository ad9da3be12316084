"""``capsim optimize``: the search finds the newsvendor optimum of every contract year,
respects the ramp's shape and the budget, holds out fresh replications, and resumes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim import optimize, store
from sim.cli import main
from sim.errors import ScenarioError
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
    assert "improvement over the scenario's own ramp on the holdout" in capsys.readouterr().out
