"""Control variates: unbiased, and tighter than the plain mean on the same replications."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

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

    # the truth, from a long plain run; and 40 short runs of 20 replications on other seeds
    truth, _ = reps(1000, 800)
    plain, adj = [], []
    for seed in range(40):
        y, x = reps(seed, 20)
        est = adjusted(y, x)
        assert est is not None and est["controls"] == 1
        plain.append(y.mean())
        adj.append(est["mean"])
    plain, adj = np.array(plain), np.array(adj)
    se = math.sqrt(adj.var(ddof=1) / len(adj) + truth.var(ddof=1) / len(truth))
    assert se < 0.01 * truth.mean()
    assert abs(adj.mean() - truth.mean()) < 4 * se, (adj.mean(), truth.mean(), se)
    # the same replications, a far smaller spread (the control explains most of it; the
    # splitting estimator pays a little for its unbiasedness at 20 replications: 0.57)
    assert adj.var(ddof=1) < 0.65 * plain.var(ddof=1)


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
    est = adjusted(np.arange(20.0) + 5, np.arange(20.0) - 9.5)  # y = 5 + x + 9.5 exactly
    assert est is not None and math.isclose(est["mean"], 14.5, abs_tol=1e-9)


def test_summary_json_carries_the_adjusted_estimates():
    sc = sim.load_scenario(
        ROOT / "configs/examples/mmc.toml",
        ["scenario.years=0.02", "workloads.jobs.max_wait_hours=0"],
    )
    result = sim.run(sc, n=20, workers=1)
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
        r = sim.run(sc, n=40, seed=seed, workers=1)
        est = r.adjusted()["spend_usd.total"]
        controls.add(est["controls"])
        plain.append(r.replications["spend_usd.total"].mean())
        adj.append(est["mean"])
    plain, adj = np.array(plain), np.array(adj)
    assert controls == {2}  # the luck of arrivals and the luck of the draw
    se = math.sqrt(adj.var(ddof=1) / len(adj) + truth.var(ddof=1) / len(truth))
    assert abs(adj.mean() - truth.mean()) < 4 * se, (adj.mean(), truth.mean(), se)
    assert adj.var(ddof=1) < 0.2 * plain.var(ddof=1)


def _kinked_replications(rng, n, cv=1.0, hours=24):
    """n replications of a demand pool's spend: reserved R = 1 at $1, the rest at $3 on
    demand, demand = level × daily cycle × hourly noise (level lognormal: the uncertain
    parameter; noise lognormal with this cv). Returns (spend, controls, exact mean): the
    controls are capsim's two (offered work minus its expectation given the level; that
    expectation minus its mean), the mean is exact (lognormal calls, hour by hour)."""
    from scipy import stats

    s = 0.3
    sn = math.sqrt(math.log(1 + cv * cv))
    cycle = 1 + 0.3 * np.sin(2 * np.pi * np.arange(hours) / 24)
    st, mu = math.sqrt(s * s + sn * sn), -sn * sn / 2
    k = (np.log(1.0 / cycle) - mu) / st
    e_level = math.exp(s * s / 2)
    exact = hours + 2 * float(np.sum(cycle * e_level * stats.norm.cdf(st - k) - stats.norm.cdf(-k)))
    level = rng.lognormal(0, s, n)
    demand = level[:, None] * cycle * rng.lognormal(mu, sn, (n, hours))
    spend = hours + 2 * np.maximum(demand - 1.0, 0).sum(axis=1)
    expected = level * cycle.sum()
    x = np.column_stack([demand.sum(axis=1) - expected, expected - e_level * cycle.sum()])
    return spend, x, exact


def test_the_adjusted_mean_has_no_small_sample_bias_on_a_kinked_metric():
    # spend is not linear in the controls (a kink at the reservation): the least-squares
    # intercept was biased by O(1/n) (at n = 40: -0.10 against a standard error of 0.02
    # over 4000 seeds); the splitting estimator is unbiased at every n
    rng = np.random.default_rng(11)
    errors = []
    for _ in range(4000):
        y, x, exact = _kinked_replications(rng, 40, cv=0.1, hours=24)
        est = adjusted(y, x)
        assert est is not None
        errors.append(est["mean"] - exact)
    errors = np.array(errors)
    se = errors.std(ddof=1) / math.sqrt(len(errors))
    assert abs(errors.mean()) < 4 * se, (errors.mean(), se)


def test_the_adjusted_interval_covers_the_exact_mean_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    seeds = 4000
    covered = 0
    for _ in range(seeds):
        y, x, exact = _kinked_replications(rng, 40)  # 20 replications per control
        est = adjusted(y, x)
        assert est is not None
        covered += est["ci95_low"] <= exact <= est["ci95_high"]
    assert 0.93 <= covered / seeds <= 0.97, covered / seeds


def test_fewer_than_twenty_replications_per_control_give_no_adjusted_estimate():
    rng = np.random.default_rng(3)
    y, x, _ = _kinked_replications(rng, 39)
    assert adjusted(y, x) is None  # 2 controls need 40
    y, x, _ = _kinked_replications(rng, 40)
    assert adjusted(y, x) is not None


def test_the_adjusted_estimate_moves_with_the_metrics_level_and_not_its_width():
    """Adding a constant to a metric (a fixed reservation to overflow spend: the total)
    adds it to the adjusted mean and leaves the interval as it was. The controls are
    unit-hours (~1e8) and spend dollars (~1e9): fitted on raw columns, the pseudo-inverse
    lost the intercept and the baseline's adjusted interval for total spend was 3.5 times
    the plain one, while overflow spend's (the same numbers less a constant) was 0.6."""
    rng = np.random.default_rng(7)
    n = 80
    # offered and expected work's luck per pool [unit-hours]: the baseline's are 1e7-1e8
    x = rng.normal(0.0, 1e8, (n, 2))
    overflow = 3.7e8 + 0.4 * x[:, 0] + rng.normal(0.0, 1e7, n)
    plain = adjusted(overflow, x)
    total = adjusted(overflow + 3.95e9, x)
    assert plain is not None and total is not None
    assert total["mean"] - 3.95e9 == pytest.approx(plain["mean"], rel=1e-9)
    width = plain["ci95_high"] - plain["ci95_low"]
    assert total["ci95_high"] - total["ci95_low"] == pytest.approx(width, rel=1e-6)
    # and the controls help: the plain interval of the same replications is wider
    se = overflow.std(ddof=1) / math.sqrt(n)
    assert width < 0.5 * 2 * 1.99 * se
