"""Control variates: unbiased, and tighter than the plain mean on the same replications."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import sim
from sim.montecarlo import run_replication
from sim.variance import adjusted

ROOT = Path(__file__).resolve().parents[1]


def test_the_adjusted_mean_is_unbiased_and_its_spread_is_smaller():
    # jobs that overflow at once when they do not fit: spend follows the offered work
    sc = sim.load_scenario(
        ROOT / "configs/examples/mmc.toml",
        ["scenario.years=0.02", "workloads.jobs.max_wait_hours=0"],
    )
    metric, control = "spend_usd.total", "control.offered_work.gpu"

    def reps(seed, n):
        rows = [run_replication(sc, seed, i).metrics for i in range(n)]
        return np.array([r[metric] for r in rows]), np.array([r[control] for r in rows])

    # the truth, from a long plain run; and 40 short runs of 12 replications on other seeds
    truth, _ = reps(1000, 800)
    plain, adj = [], []
    for seed in range(40):
        y, x = reps(seed, 12)
        est = adjusted(y, x)
        assert est is not None and est["controls"] == 1
        plain.append(y.mean())
        adj.append(est["mean"])
    plain, adj = np.array(plain), np.array(adj)
    se = math.sqrt(adj.var(ddof=1) / len(adj) + truth.var(ddof=1) / len(truth))
    assert se < 0.01 * truth.mean()
    assert abs(adj.mean() - truth.mean()) < 4 * se, (adj.mean(), truth.mean(), se)
    # the same replications, a far smaller spread (the control explains most of it)
    assert adj.var(ddof=1) < 0.5 * plain.var(ddof=1)


def test_the_control_has_mean_zero_given_the_drawn_parameters():
    sc = sim.load_scenario(ROOT / "configs/examples/mmc.toml", ["scenario.years=0.02"])
    x = np.array(
        [run_replication(sc, 3, i).metrics["control.offered_work.gpu"] for i in range(300)]
    )
    # offered work of ~140 jobs of mean 4 h: its sd per replication is about 4 sqrt(2 × 140)
    assert abs(x.mean()) < 4 * x.std(ddof=1) / math.sqrt(len(x))
    assert x.std(ddof=1) > 0


def test_too_few_replications_for_the_controls_give_no_estimate():
    assert adjusted(np.arange(3.0), np.arange(3.0)) is None
    assert adjusted(np.ones(10), np.arange(10.0)) is None  # nothing to fit
    est = adjusted(np.arange(10.0) + 5, np.arange(10.0) - 4.5)  # y = 5 + x + 4.5 exactly
    assert est is not None and math.isclose(est["mean"], 9.5, abs_tol=1e-9)


def test_summary_json_carries_the_adjusted_estimates():
    sc = sim.load_scenario(
        ROOT / "configs/examples/mmc.toml",
        ["scenario.years=0.02", "workloads.jobs.max_wait_hours=0"],
    )
    result = sim.run(sc, n=10, workers=1)
    summary = result.to_json_dict("test")
    adj = summary["adjusted"]["spend_usd.total"]
    plain = summary["metrics"]["spend_usd.total"]
    assert set(adj) == {"mean", "ci95_low", "ci95_high", "controls"}
    assert adj["ci95_high"] - adj["ci95_low"] < plain["ci95_high"] - plain["ci95_low"]


def test_uncertain_parameters_are_controlled_too_and_stay_unbiased():
    # the arrival rate itself is uncertain (drawn per replication, sd 25 %): most of the
    # spread of spend is the luck of that draw, which the expected-work control removes
    overrides = [
        "scenario.years=0.02",
        "workloads.jobs.max_wait_hours=0",
        'workloads.jobs.arrivals_per_day={ dist = "normal", mean = 60, sd = 15 }',
    ]
    sc = sim.load_scenario(ROOT / "configs/examples/mmc.toml", overrides)
    truth = sim.run(sc, n=800, seed=999, workers=1).replications["spend_usd.total"]
    plain, adj, controls = [], [], set()
    for seed in range(30):
        r = sim.run(sc, n=24, seed=seed, workers=1)
        est = r.adjusted()["spend_usd.total"]
        controls.add(est["controls"])
        plain.append(r.replications["spend_usd.total"].mean())
        adj.append(est["mean"])
    plain, adj = np.array(plain), np.array(adj)
    assert controls == {2}  # the luck of arrivals and the luck of the draw
    se = math.sqrt(adj.var(ddof=1) / len(adj) + truth.var(ddof=1) / len(truth))
    assert abs(adj.mean() - truth.mean()) < 4 * se, (adj.mean(), truth.mean(), se)
    assert adj.var(ddof=1) < 0.2 * plain.var(ddof=1)
