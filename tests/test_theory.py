"""The engine against queueing theory and an independent simulator (Ciw).

Tolerances come from standard errors across independent replications: a statistic's
replication means are i.i.d., so |mean - theory| < 4 SE fails by chance with
probability about 6e-5, and each test also checks that the SE is small enough for the
comparison to mean something.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammaln

import sim
from sim.montecarlo import run_replication
from tests.helpers import build, gpu_pool, od, trace_scenario


def rep_values(scenario, key, n, seed=7):
    return np.array([run_replication(scenario, seed, i).metrics[key] for i in range(n)])


def within(values, theory, z=4.0, rel_se=0.05):
    mean = values.mean()
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert se < rel_se * abs(theory), f"SE {se:.4g} too large to test against {theory:.4g}"
    assert abs(mean - theory) < z * se + 1e-12, (
        f"simulated {mean:.5g} ± {se:.2g} (SE) vs theory {theory:.5g}: "
        f"{abs(mean - theory) / se:.1f} SE apart"
    )
    return mean, se


def erlang_c_wait(c: int, lam: float, mean_service: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam * mean_service
    terms = [math.exp(k * math.log(a) - gammaln(k + 1)) for k in range(c)]
    top = math.exp(c * math.log(a) - gammaln(c + 1)) * c / (c - a)
    p_wait = top / (sum(terms) + top)
    return p_wait / (c / mean_service - lam)


@pytest.mark.parametrize(("c", "per_day", "mean"), [(10, 48.0, 4.0), (1, 16.8, 1.0)])
def test_mmc_mean_wait_matches_erlang_c(c, per_day, mean):
    sc = build(
        gpu_pool(c),
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": per_day,
                "units": 1,
                "duration_hours": {"dist": "exponential", "mean": mean},
            }
        },
        years=2,
    )
    theory = erlang_c_wait(c, per_day / 24, mean)
    sim_mean, se = within(rep_values(sc, "wait_hours.j.mean", 12), theory, rel_se=0.06)
    print(f"M/M/{c}: simulated {sim_mean:.4f} ± {se:.4f} h, Erlang C {theory:.4f} h")


def kaufman_roberts(capacity: int, sizes: list[int], loads: list[float]) -> list[float]:
    """Per-class blocking probabilities of a multi-rate loss system."""
    q = np.zeros(capacity + 1)
    q[0] = 1.0
    for j in range(1, capacity + 1):
        q[j] = sum(a * b * q[j - b] for b, a in zip(sizes, loads, strict=True) if j >= b) / j
    q /= q.sum()
    return [float(q[capacity - b + 1 :].sum()) for b in sizes]


def test_gang_loss_system_overflow_share_matches_kaufman_roberts():
    C = 32
    sizes = [1, 4, 8]
    per_day = [96.0, 12.0, 6.0]
    durations = [
        {"dist": "exponential", "mean": 2.0},
        {"dist": "lognormal", "median": 3.0, "sigma": 0.5},  # loss systems are insensitive
        {"dist": "gamma", "mean": 4.0, "cv": 0.5},
    ]
    means = [2.0, 3.0 * math.exp(0.125), 4.0]
    loads = [r / 24 * m for r, m in zip(per_day, means, strict=True)]
    workloads = {
        f"c{b}": {
            "kind": "jobs",
            "pool": "gpu",
            "arrivals_per_day": r,
            "units": b,
            "duration_hours": d,
            "max_wait_hours": 0,
        }
        for b, r, d in zip(sizes, per_day, durations, strict=True)
    }
    sc = build(gpu_pool(C), workloads, [od()], years=1)
    blocking = kaufman_roberts(C, sizes, loads)
    offered = [a * b for a, b in zip(loads, sizes, strict=True)]
    theory = sum(o * B for o, B in zip(offered, blocking, strict=True)) / sum(offered)
    reps = [run_replication(sc, 3, i) for i in range(12)]
    share = np.array(
        [
            r.metrics["overflow_unit_hours.gpu"]
            / (r.metrics["overflow_unit_hours.gpu"] + r.metrics["used_unit_hours.gpu"])
            for r in reps
        ]
    )
    within(share, theory)
    for b, B in zip(sizes, blocking, strict=True):
        frac = np.array(
            [r.metrics[f"jobs_overflowed.c{b}"] / r.metrics[f"jobs_arrived.c{b}"] for r in reps]
        )
        within(frac, B, rel_se=0.1)


def test_littles_law_busy_units_equal_arrival_rate_times_work():
    # gang jobs on 8-unit instances: a 12-unit job holds two whole instances (16 units)
    units = {"dist": "choice", "values": [2, 8, 12], "weights": [0.5, 0.3, 0.2]}
    held_mean = 0.5 * 2 + 0.3 * 8 + 0.2 * 16
    sc = build(
        gpu_pool(64, m=8),
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": 24.0,
                "units": units,
                "duration_hours": {"dist": "lognormal", "median": 4.0, "sigma": 0.8},
            }
        },
        years=1,
    )
    mean_d = 4.0 * math.exp(0.32)
    theory = 1.0 * held_mean * mean_d  # λ = 1 job/h
    busy = rep_values(sc, "used_unit_hours.gpu", 10) / sc.horizon_hours
    within(busy, theory, rel_se=0.03)


def test_newsvendor_reserved_level_minimizes_mean_spend():
    r, p = 0.6, 1.0  # reserved and on-demand prices: critical ratio 1 - r/p = 0.4
    base = build(
        {"cpu": {"unit": "vcpu", "reserved": 1000, "price_per_unit_hour": r}},
        {
            "d": {
                "kind": "demand",
                "pool": "cpu",
                "demand_units": 1000.0,
                "daily_amplitude": 0.3,
                "noise_cv": 0.2,
            }
        },
        [{"name": "od", "pool": "cpu", "price_per_unit_hour": p}],
        years=0.25,
    )
    grid = list(range(700, 1300, 25))
    n = 6
    spend = np.zeros((len(grid), n))
    for gi, level in enumerate(grid):
        sc = sim.with_overrides(base, {"pools.cpu.reserved": level})
        spend[gi] = [run_replication(sc, 11, i).metrics["spend_usd.total"] for i in range(n)]
    best = grid[int(np.argmin(spend.mean(axis=1)))]
    rec = run_replication(base, 11, 0, keep_record=True).record
    hourly = np.concatenate(
        [run_replication(base, 11, i, keep_record=True).record.demand[0].demand for i in range(n)]
    )
    quantile = float(np.quantile(hourly, 1 - r / p))
    assert abs(best - quantile) <= 25, f"argmin {best} vs newsvendor quantile {quantile:.0f}"
    # and the spend of one replication is exactly the newsvendor cost of its demand path
    d = rec.demand[0].demand
    level = 900
    sc = sim.with_overrides(base, {"pools.cpu.reserved": level})
    got = run_replication(sc, 11, 0).metrics["spend_usd.total"]
    hours = np.ones(len(d))
    hours[-1] = base.horizon_hours - (len(d) - 1)
    expect = r * level * base.horizon_hours + p * float(np.sum(np.maximum(d - level, 0) * hours))
    assert got == pytest.approx(expect, rel=1e-12)


def test_waits_agree_job_by_job_with_ciw(tmp_path):
    import ciw  # a dev dependency: missing it must fail the run, not skip it

    rng = np.random.default_rng(5)
    n, c = 3000, 3
    inter = rng.exponential(1.0, n)
    service = rng.lognormal(math.log(2.2), 0.7, n)
    submit = np.cumsum(inter)
    rows = [(float(s), 1, float(d)) for s, d in zip(submit, service, strict=True)]
    years = (submit[-1] + 500) / 8760
    sc = trace_scenario(tmp_path, rows, gpu_pool(c), years=years)
    jobs = run_replication(sc, 0, 0, record_jobs=True).jobs
    ours = jobs["wait_hours"].to_numpy()

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Sequential([float(x) for x in inter])],
        service_distributions=[ciw.dists.Sequential([float(x) for x in service])],
        number_of_servers=[c],
    )
    q = ciw.Simulation(network)
    q.simulate_until_max_time(float(submit[-1]) + 0.5)
    recs = q.get_all_records()  # completed customers only, matched to ours by id
    ids = np.array([r.id_number for r in recs]) - 1
    theirs = np.array([r.waiting_time for r in recs])
    assert len(ids) > 0.95 * n
    assert np.mean(ours[ids] > 0) > 0.2  # a busy queue, not a trivial one
    np.testing.assert_allclose(ours[ids], theirs, atol=1e-6)
