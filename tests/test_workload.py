"""Arrivals, demand paths and parameter draws against their closed forms.

Tolerances come from the standard error of the statistic over independent draws
(|simulated − theory| < 4 SE), and each test checks that the SE is small enough to matter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.montecarlo import run_replication
from sim.workload import demand_path, draw_params, job_stream, poisson_arrivals, stream
from tests.helpers import build, gpu_pool

H_YEAR = 8760.0


def jobs_scenario(per_day=50.0, growth=0.0, years=1.0, **kw):
    return build(
        gpu_pool(8),
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": per_day,
                "growth_per_year": growth,
                "units": {"dist": "choice", "values": [1, 2, 4]},
                "duration_hours": {"dist": "lognormal", "median": 2.0, "sigma": 0.8},
                **kw,
            }
        },
        years=years,
    )


@pytest.mark.parametrize("growth", [0.0, 0.3, -0.4])
def test_arrivals_per_year_match_the_integral_of_the_rate(growth):
    # rate(t) = r0 (1 + g)^(t / 8760): year y expects r0 ∫ (1+g)^(t/8760) dt over the year
    r0, years, n = 2.0, 3, 200
    k = math.log1p(growth) / H_YEAR
    edges = np.arange(years + 1) * H_YEAR
    if k == 0:
        expected = np.full(years, r0 * H_YEAR)
    else:
        expected = r0 * np.diff(np.expm1(k * edges)) / k
    counts = np.array(
        [
            np.histogram(poisson_arrivals(stream(9, i, "j", 1), r0, growth, years * H_YEAR), edges)[
                0
            ]
            for i in range(n)
        ]
    )
    mean = counts.mean(axis=0)
    se = np.sqrt(expected / n)  # Poisson counts: variance = mean
    assert (se < 0.01 * expected).all()
    assert (np.abs(mean - expected) < 4 * se).all(), (mean, expected, se)
    # and the variance is Poisson's (a dispersion check: var/mean ≈ 1)
    dispersion = counts.var(axis=0, ddof=1) / mean
    assert (np.abs(dispersion - 1) < 4 * math.sqrt(2 / (n - 1))).all()


def test_a_two_percent_rate_change_keeps_every_job_and_pairs_replications():
    base = jobs_scenario(per_day=40.0, years=0.25)
    more = sim.with_overrides(base, {"workloads.j.arrivals_per_day": 40.8})
    a = job_stream(base, 3, 0, draw_params(base, 3, 0))
    b = job_stream(more, 3, 0, draw_params(more, 3, 0))
    n = min(len(a), len(b))
    assert abs(len(b) / len(a) - 1.02) < 0.05
    # job i is the same job, arriving 2 % earlier (constant rate: time scales by 1/1.02)
    np.testing.assert_array_equal(a.units[:n], b.units[:n])
    np.testing.assert_array_equal(a.duration_hours[:n], b.duration_hours[:n])
    np.testing.assert_allclose(b.submit_hours[:n], a.submit_hours[:n] / 1.02, rtol=1e-12)
    # so a metric that depends on the random demand stays paired across replications
    congested = sim.with_overrides(base, {"pools.gpu.reserved": 6})
    congested_more = sim.with_overrides(more, {"pools.gpu.reserved": 6})
    key = "wait_hours.j.mean"
    x = [run_replication(congested, 11, i).metrics[key] for i in range(16)]
    y = [run_replication(congested_more, 11, i).metrics[key] for i in range(16)]
    assert np.corrcoef(x, y)[0, 1] > 0.8


def test_growth_keeps_pairing_too():
    a = jobs_scenario(growth=0.20, years=2)
    b = sim.with_overrides(a, {"workloads.j.growth_per_year": 0.22})
    ja = job_stream(a, 5, 1, draw_params(a, 5, 1))
    jb = job_stream(b, 5, 1, draw_params(b, 5, 1))
    n = min(len(ja), len(jb))
    np.testing.assert_array_equal(ja.units[:n], jb.units[:n])
    # faster growth: each job arrives no later than before
    assert (jb.submit_hours[:n] <= ja.submit_hours[:n] + 1e-9).all()
    assert np.median(ja.submit_hours[:n] - jb.submit_hours[:n]) < 200


def demand_scenario(**kw):
    return build(
        gpu_pool(8),
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 100.0, **kw}},
        years=8 * 7 * 24 / H_YEAR,  # eight whole weeks
    )


def test_demand_path_mean_and_daily_profile_match_the_cycle():
    a_d, a_w, cv = 0.3, 0.1, 0.2
    sc = demand_scenario(daily_amplitude=a_d, weekly_amplitude=a_w, noise_cv=cv)
    w = sc.workloads["d"]
    params = draw_params(sc, 1, 0)
    path = demand_path(sc, w.name, 1, 0, params)
    n = len(path)
    assert n == 8 * 168
    # over whole weeks both cosines average out: the mean is the level, 100 units
    hours = np.arange(n)
    base = (
        100
        * (1 + a_d * np.cos(2 * np.pi * (hours % 24 - 14) / 24))
        * (1 + a_w * np.cos(2 * np.pi * ((hours / 24) % 7 - 2.5) / 7))
    )
    se = math.sqrt(np.sum((base * cv) ** 2)) / n  # independent lognormal noise of mean 1
    assert se < 0.01 * 100
    assert abs(path.mean() - 100) < 4 * se
    # the average at each hour of the day follows 100 (1 + a_d cos(2π(h − 14)/24))
    by_hour = path.reshape(-1, 24).mean(axis=0)
    profile = 100 * (1 + a_d * np.cos(2 * np.pi * (np.arange(24) - 14) / 24))
    se_h = base.reshape(-1, 24).std(axis=0) / math.sqrt(n / 24) + profile * cv / math.sqrt(n / 24)
    assert (np.abs(by_hour - profile) < 4 * se_h).all()


def test_per_replication_parameter_draws_have_the_stated_mean_and_spread():
    sc = jobs_scenario(
        per_day={"dist": "gamma", "mean": 20.0, "cv": 0.25},
        growth={"dist": "lognormal", "median": 0.2, "sigma": 0.3},
    )
    n = 3000
    draws = [draw_params(sc, 17, i) for i in range(n)]
    rate = np.array([d["workloads.j.arrivals_per_day"] for d in draws])
    growth = np.array([d["workloads.j.growth_per_year"] for d in draws])
    for values, mean, sd in (
        (rate, 20.0, 5.0),
        (
            growth,
            0.2 * math.exp(0.3**2 / 2),
            0.2 * math.sqrt((math.exp(0.09) - 1) * math.exp(0.09)),
        ),
    ):
        se = sd / math.sqrt(n)
        assert abs(values.mean() - mean) < 4 * se
        # the sample sd of n draws has SE about sd / sqrt(2 n) (x kurtosis: allow 6 SE)
        assert abs(values.std(ddof=1) - sd) < 6 * sd / math.sqrt(2 * n)
    # each replication draws its own value, and the same one for every component
    assert len(np.unique(rate)) == n
    again = draw_params(sc, 17, 5)
    assert again == draws[5]


def uncertain_scenario():
    """Every field the contract says may be uncertain, given as a distribution."""
    return build(
        {
            "gpu": {
                "unit": "gpu",
                "reserved": 4,
                "price_per_unit_hour": 1.0,
                "speed": {"dist": "uniform", "low": 1.0, "high": 2.0},
                "credit_fraction": {"dist": "uniform", "low": 0.2, "high": 0.6},
                "work_per_unit_hour": {"dist": "gamma", "mean": 1000.0, "cv": 0.2},
            }
        },
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": 10,
                "units": 1,
                "duration_hours": 2,
                "max_wait_hours": {"dist": "exponential", "mean": 5.0},
            }
        },
        [
            {
                "name": "od",
                "pool": "gpu",
                "price_per_unit_hour": 3.0,
                "capacity": {"dist": "uniform", "low": 2.0, "high": 8.0},
                "speed": {"dist": "uniform", "low": 0.5, "high": 1.5},
                "availability": {"dist": "uniform", "low": 0.3, "high": 0.9},
            }
        ],
        years=2,
    )


def test_uncertain_fields_are_drawn_once_per_replication_and_reach_the_engine():
    from sim.montecarlo import build_input

    sc = uncertain_scenario()
    rows = []
    for i in range(400):
        inp, prices, _ = build_input(sc, 21, i)
        target = inp.targets[0]
        pool = inp.pools[0]
        waits = inp.jobs.max_wait_hours
        assert (waits == waits[0]).all()  # one value per replication, shared by its jobs
        changes = ((0.0, target.capacity), *target.capacity_changes)
        times = np.array([t for t, _ in changes])
        levels = np.array([c for _, c in changes])
        month_starts = np.arange(24) * 730.0
        up_months = np.mean(levels[np.searchsorted(times, month_starts, side="right") - 1] > 0)
        rows.append(
            (
                target.capacity,
                target.speed,
                pool.speed_changes[0][1],
                waits[0],
                prices.pools[0].credit_fraction,
                prices.pools[0].work_per_unit_hour,
                up_months,
            )
        )
    cap, tspeed, pspeed, wait, credit, work, up = np.array(rows).T
    assert set(np.unique(cap)) <= set(range(2, 9)) and len(np.unique(cap)) >= 5  # whole units
    n = len(rows)
    for values, mean, sd in (
        (cap, 4.5, math.sqrt((7**2 - 1) / 12)),  # floor of U(2, 8): uniform on 2..7
        (tspeed, 1.0, 1 / math.sqrt(12)),
        (pspeed, 1.5, 1 / math.sqrt(12)),
        (wait, 5.0, 5.0),
        (credit, 0.4, 0.4 / math.sqrt(12)),
        (work, 1000.0, 200.0),
    ):
        assert abs(values.mean() - mean) < 4 * sd / math.sqrt(n), (values.mean(), mean)
    # a month is up with the drawn availability: averaged over replications, 0.6
    assert abs(up.mean() - 0.6) < 0.03


def test_a_drawn_pool_speed_shortens_jobs_on_reserved_units():
    sc = uncertain_scenario()
    rep = run_replication(sc, 21, 3, record_jobs=True, keep_record=True)
    from sim.montecarlo import build_input

    inp, _, _ = build_input(sc, 21, 3)
    speed = inp.pools[0].speed_changes[0][1]
    on_pool = rep.jobs[rep.jobs["ran_on"] == "gpu"].dropna()
    spans = (on_pool["end_hours"] - on_pool["start_hours"]).to_numpy()
    np.testing.assert_allclose(spans, 2.0 / speed)


def test_a_cyclic_intensity_integrates_and_inverts_exactly():
    from scipy import integrate

    from sim.intensity import Factor, intensity

    it = intensity(2.0, [0.3, 0.1], [Factor("step", 5000.0, 5000.0, 0.5)], 2 * 8760.0, 0.6, 0.2)
    for T in (10.0, 1234.5, 9000.0, 17000.0):
        want = integrate.quad(
            lambda t: float(it.rate(np.array(t))), 0, T, limit=4000, epsabs=0, epsrel=1e-12
        )[0]
        assert it.cumulative(np.array([T]))[0] == pytest.approx(want, rel=1e-10)
    ts = np.random.default_rng(1).uniform(0, 2 * 8760, 2000)
    assert np.abs(it.inverse(it.cumulative(ts)) - ts).max() < 1e-8
