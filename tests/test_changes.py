"""Growth by year, dated changes and random shocks against their closed forms.

Counts of Poisson arrivals have variance equal to their mean, so a count's SE over n
replications is sqrt(expected / n); |mean − theory| < 4 SE, and the SE is checked small.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

import sim
from sim import stress
from sim.errors import ScenarioError
from sim.intensity import Factor, intensity
from sim.workload import (
    demand_path,
    draw_params,
    job_stream,
    offered_work_by_year,
    shock_episodes,
)
from tests.helpers import build

ROOT = Path(__file__).resolve().parents[1]
Y = 8760.0


def two_pools(years=3.0, changes=None, shocks=None, growth=0.0, per_day=24.0):
    """A training pool with two jobs workloads and an inference pool with a demand."""
    sc = build(
        {
            "trn": {"unit": "chip", "reserved": 8, "price_per_unit_hour": 1.0},
            "cpu": {"unit": "vcpu", "reserved": 100, "price_per_unit_hour": 0.1},
        },
        {
            "train": {
                "kind": "jobs",
                "pool": "trn",
                "arrivals_per_day": per_day,
                "growth_per_year": growth,
                "units": 1,
                "duration_hours": 1,
            },
            "tune": {
                "kind": "jobs",
                "pool": "trn",
                "arrivals_per_day": per_day / 2,
                "units": 2,
                "duration_hours": 3,
            },
            "serve": {"kind": "demand", "pool": "cpu", "demand_units": 50.0},
        },
        years=years,
    )
    raw = dict(sc.raw)
    if changes:
        raw["changes"] = changes
    if shocks:
        raw["shocks"] = shocks
    return sim.scenario_from_dict(raw, "<test>")


def yearly_counts(sc, workload, n, seed=3):
    edges = np.arange(math.ceil(sc.years) + 1) * Y
    wi = [k for k, w in sc.workloads.items() if w.kind != "demand"].index(workload)
    out = []
    for i in range(n):
        jobs = job_stream(sc, seed, i, draw_params(sc, seed, i))
        out.append(np.histogram(jobs.submit_hours[jobs.workload == wi], edges)[0])
    return np.array(out)


def check_counts(counts, expected):
    n = len(counts)
    se = np.sqrt(expected / n)
    assert (se < 0.02 * expected).all()
    mean = counts.mean(axis=0)
    assert (np.abs(mean - expected) < 4 * se).all(), (mean, expected, se)


def test_training_demand_falls_40_percent_from_year_2_in_three_lines(tmp_path):
    base = two_pools()
    case = tmp_path / "fall.toml"
    case.write_text(
        '[scenario]\nname = "fall"\ndescription = "training −40 % from year 2"\n'
        '[[changes]]\npool = "trn"\nat_years = 1.0\nfactor = 0.6\n'
    )
    sc = stress.load_case(base, case).scenario
    assert sc.changes[0].workloads == ("train", "tune")  # the pool's jobs workloads
    r = 24.0  # per day
    check_counts(yearly_counts(sc, "train", 40), np.array([r * 365, 0.6 * r * 365, 0.6 * r * 365]))
    # the demand on the other pool is untouched
    params = draw_params(sc, 3, 0)
    assert demand_path(sc, "serve", 3, 0, params, noise=False)[-1] == pytest.approx(50.0)


def test_growth_by_contract_year_compounds_piecewise_and_continuously():
    g = [0.5, -0.2, 0.1]
    sc = two_pools(growth=g)
    r = 24.0 * 365  # arrivals in year 1 at the rate of hour 0
    level = np.cumprod([1.0, *[1 + x for x in g[:-1]]])  # G at the start of each year
    expected = np.array([r * lv * x / math.log1p(x) for lv, x in zip(level, g, strict=True)])
    check_counts(yearly_counts(sc, "train", 40), expected)
    inten = intensity(1.0, g, [], 3 * Y)
    for b in (Y, 2 * Y):  # continuous at year boundaries
        assert inten.rate(np.array(b - 1e-6)) == pytest.approx(inten.rate(np.array(b)), rel=1e-6)
    assert inten.rate(np.array(3 * Y - 1e-9)) == pytest.approx(1.5 * 0.8 * 1.1, rel=1e-6)


def test_a_ramp_moves_demand_linearly_and_arrivals_follow_its_integral():
    ramp = [{"workload": ["train", "serve"], "start_years": 1.0, "end_years": 2.0, "factor": 3.0}]
    sc = two_pools(changes=ramp)
    r = 24.0 * 365
    # year 2 ramps from ×1 to ×3: mean ×2; year 3 holds ×3
    check_counts(yearly_counts(sc, "train", 30), np.array([r, 2 * r, 3 * r]))
    check_counts(yearly_counts(sc, "tune", 30), np.array([r / 2, r / 2, r / 2]))  # not selected
    path = demand_path(sc, "serve", 3, 0, draw_params(sc, 3, 0), noise=False)
    assert path[int(Y) - 1] == pytest.approx(50.0)
    assert path[int(1.5 * Y)] == pytest.approx(100.0)
    assert path[int(2.5 * Y)] == pytest.approx(150.0)


def test_a_drawn_change_factor_is_one_draw_per_replication_shared_by_its_workloads():
    change = [
        {"pool": "trn", "at_years": 0.0, "factor": {"dist": "uniform", "low": 0.5, "high": 1.5}}
    ]
    sc = two_pools(years=1, changes=change)
    factors = np.array([draw_params(sc, 1, i)["changes[0].factor"] for i in range(400)])
    assert abs(factors.mean() - 1.0) < 4 * (1 / math.sqrt(12)) / math.sqrt(400)
    # one replication: both workloads scaled by its draw (counts ≈ factor × expected)
    i = int(np.argmin(factors))
    jobs = job_stream(sc, 1, i, draw_params(sc, 1, i))
    n_train = int(np.sum(jobs.workload == 0))
    expect = factors[i] * 24 * 365
    assert abs(n_train - expect) < 5 * math.sqrt(expect)


def test_shocks_start_as_a_poisson_process_and_multiply_overlapping_episodes():
    shock = [
        {
            "workload": "train",
            "per_year": 2.0,
            "factor": {"dist": "uniform", "low": 0.5, "high": 2.5},
            "duration_years": {"dist": "exponential", "mean": 0.25},
        }
    ]
    sc = two_pools(years=2, shocks=shock)
    n = 300
    counts = [
        len(shock_episodes(sc.shocks[0], 5, i, draw_params(sc, 5, i), sc.horizon_hours))
        for i in range(n)
    ]
    assert abs(np.mean(counts) - 4.0) < 4 * math.sqrt(4.0 / n)  # 2 per year × 2 years
    # arrivals given the episodes: E[N] = E[Λ], with Λ each replication's exact integral
    lam, got = [], []
    for i in range(60):
        params = draw_params(sc, 5, i)
        eps = shock_episodes(sc.shocks[0], 5, i, params, sc.horizon_hours)
        inten = intensity(1.0, [0.0], eps, sc.horizon_hours)
        lam.append(inten.total())
        jobs = job_stream(sc, 5, i, params)
        got.append(int(np.sum(jobs.workload == 0)) / 1.0)
        # the multiplier is the product of the episodes covering t
        t = np.array([eps[0].start + 1e-6]) if eps else np.array([0.0])
        expect = np.prod([e.factor for e in eps if e.start <= t[0] < e.end]) if eps else 1.0
        assert inten.multiplier(t)[0] == pytest.approx(expect)
    lam_jobs = np.array(lam)  # base 1 an hour: 24 jobs a day
    se = math.sqrt(lam_jobs.mean() / 60)
    assert abs(np.mean(got) - lam_jobs.mean()) < 4 * se
    assert np.std(got) > 3 * math.sqrt(lam_jobs.mean())  # shocks spread the counts


def test_the_cumulative_intensity_is_exact_against_adaptive_quadrature():
    H = 3 * Y
    factors = [
        Factor("step", Y, Y, 0.6),
        Factor("ramp", 10000, 15000, 1.8),
        Factor("episode", 12000, 13000, 0.3),
        Factor("ramp", 14000, 20000, 0.5),
    ]
    inten = intensity(2.0, [0.3, -0.2, 0.1], factors, H)
    cuts = sorted({Y, 2 * Y, 10000, 12000, 13000, 14000, 15000, 20000})
    ts = np.random.default_rng(1).uniform(0, H, 40)
    for t in ts:
        ref = integrate.quad(
            lambda x: float(inten.rate(np.array(x))),
            0,
            t,
            points=[c for c in cuts if c < t],
            limit=200,
            epsabs=0,
            epsrel=1e-12,
        )[0]
        assert inten.cumulative(np.array(t)) == pytest.approx(ref, rel=1e-10)
    y = inten.cumulative(ts)
    np.testing.assert_allclose(inten.inverse(y), ts, atol=1e-6)


def test_a_change_keeps_replications_paired():
    a = two_pools(years=2, changes=[{"pool": "trn", "at_years": 1.0, "factor": 0.6}])
    b = two_pools(years=2, changes=[{"pool": "trn", "at_years": 1.0, "factor": 0.5}])
    ja = job_stream(a, 2, 0, draw_params(a, 2, 0))
    jb = job_stream(b, 2, 0, draw_params(b, 2, 0))
    first = ja.submit_hours < Y  # before the change both scenarios are the same
    np.testing.assert_array_equal(ja.submit_hours[first], jb.submit_hours[: first.sum()])
    np.testing.assert_array_equal(ja.units[first], jb.units[: first.sum()])


def test_offered_work_per_year_is_the_closed_form():
    sc = two_pools(changes=[{"pool": "trn", "at_years": 1.0, "factor": 0.6}])
    work = offered_work_by_year(sc)
    r = 24.0 * 365
    np.testing.assert_allclose(work["train"], [r, 0.6 * r, 0.6 * r], rtol=1e-9)
    np.testing.assert_allclose(
        work["tune"], [r / 2 * 6, 0.6 * r / 2 * 6, 0.6 * r / 2 * 6], rtol=1e-9
    )
    np.testing.assert_allclose(work["serve"], [50 * Y] * 3, rtol=1e-9)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"pool": "trn", "workload": "train", "at_years": 1, "factor": 1},
            "give pool or workload, not both",
        ),
        (
            {"workload": "trian", "at_years": 1, "factor": 1},
            r'names no workload: .trian. \(did you mean "train"\?\)',
        ),
        ({"pool": "trn", "factor": 0.5}, "at_years: is required"),
        (
            {"pool": "trn", "start_years": 2, "end_years": 1, "factor": 0.5},
            r"end_years: must be > start_years \(2\), got 1",
        ),
        (
            {"pool": "trn", "at_years": 1, "start_years": 1, "end_years": 2, "factor": 1},
            "give at_years .a step. or start_years",
        ),
        (
            {"pool": "trn", "at_years": 1, "factor": -1},
            r"changes\[0\]\.factor: must be >= 0, got -1",
        ),
        ({"pool": "trn", "at_years": 1, "factr": 1}, r'unknown key \(did you mean "factor"\?\)'),
    ],
)
def test_bad_changes_name_the_key_and_value(table, message):
    with pytest.raises(ScenarioError, match=message):
        two_pools(changes=[table])


def test_a_growth_list_must_cover_the_horizon():
    with pytest.raises(
        ScenarioError, match=r"growth_per_year: gives 2 contract years but the horizon has 3"
    ):
        two_pools(growth=[0.1, 0.2])
