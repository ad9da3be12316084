"""Contract economics against closed forms and hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import contract
from sim.calendar import HOURS_PER_YEAR
from sim.distributions import Fixed
from sim.montecarlo import run_replication
from sim.scenario import ParamSpec, PricePath
from tests.helpers import NO_JOBS, build, gpu_pool, od, trace_scenario

H_MONTH = HOURS_PER_YEAR / 12


def annuity_value(payment: float, annual_rate: float, months: int) -> float:
    """Closed form (the test's oracle): the present value of ``payment`` at the end of each
    of ``months`` months discounted at ``(1 + r) ** (-t)`` — a geometric series in
    ``v = (1 + r) ** (-1/12)``."""
    v = (1 + annual_rate) ** (-1 / 12)
    if abs(1 - v) < 1e-15:
        return payment * months
    return payment * v * (1 - v**months) / (1 - v)


def idle_pool_scenario(contract_table=None, years=1.0, pool_extra=None, overflow=None):
    pool = gpu_pool(10, price=1.0)
    pool["gpu"].update(pool_extra or {})
    sc_wl = {"j": dict(NO_JOBS)}
    sc = build(pool, sc_wl, overflow, years=years)
    if contract_table is not None:
        from sim import with_overrides

        sc = with_overrides(sc, {f"contract.{k}": v for k, v in contract_table.items()})
    return sc


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.12])
def test_npv_of_a_constant_stream_is_the_annuity(rate):
    cash = np.full(84, 1000.0)
    assert contract.npv(cash, rate) == pytest.approx(annuity_value(1000.0, rate, 84), rel=1e-12)
    # end to end: an idle reservation of 10 units at $1/h is a constant monthly payment of $7,300
    sc = idle_pool_scenario({"discount_rate": rate}, years=2)
    m = run_replication(sc, 1, 0).metrics
    assert m["spend_usd.total"] == pytest.approx(10 * 2 * 8760)
    assert m["npv_usd.total"] == pytest.approx(annuity_value(7300.0, rate, 24), rel=1e-12)
    if rate > 0:  # paying each year upfront costs more in present value than paying monthly
        up = idle_pool_scenario({"discount_rate": rate}, years=2, pool_extra={"payment": "upfront"})
        mu = run_replication(up, 1, 0).metrics
        expect = 87600 * (1 + (1 + rate) ** -1)
        assert mu["npv_usd.total"] == pytest.approx(expect, rel=1e-12)
        assert mu["npv_usd.total"] > m["npv_usd.total"]


def test_shortfall_by_hand_over_the_term_with_a_discount():
    # 10 units × 8,760 h × $1 = $87,600 list; 10 % private-pricing discount → $78,840 eligible
    sc = idle_pool_scenario({"commitment_usd": 100_000.0, "discount": 0.1})
    m = run_replication(sc, 1, 0).metrics
    assert m["spend_usd.reserved"] == pytest.approx(78_840)
    assert m["spend_usd.discount_savings"] == pytest.approx(8_760)
    assert m["spend_usd.shortfall"] == pytest.approx(100_000 - 78_840)
    assert m["spend_usd.total"] == pytest.approx(100_000)  # take-or-pay: never below the commitment
    assert m["commit_attainment"] == pytest.approx(0.7884)


def test_shortfall_per_year_counts_only_eligible_targets(tmp_path):
    # year 1: a 100-hour job overflows to "od" ($3/h) while the single unit is busy
    rows = [(0, 1, 8760), (1, 1, 100)]
    other = {"name": "cloud", "pool": "gpu", "price_per_unit_hour": 5.0}
    sc = trace_scenario(
        tmp_path, rows, gpu_pool(1, price=1.0), overflow=[od(), other], max_wait=0, years=2
    )
    from sim import with_overrides

    sc = with_overrides(
        sc,
        {
            "contract.period": "year",
            "contract.commitment_usd": [9000.0, 9000.0],
            "contract.eligible_targets": ["od"],
        },
    )
    m = run_replication(sc, 1, 0).metrics
    # year 1 eligible: 8,760 reserved + 300 on od = 9,060 ≥ 9,000: no shortfall
    # year 2 eligible: 8,760 reserved: shortfall 240
    assert m["spend_usd.shortfall"] == pytest.approx(240)
    assert m["commit_attainment"] == pytest.approx((9060 + 8760) / 18000)


def test_zero_volatility_path_equals_the_deterministic_one():
    path = PricePath(
        ParamSpec("c", Fixed(-0.26)), ((1.5 * HOURS_PER_YEAR, 0.6),), ParamSpec("v", Fixed(0.0))
    )
    params = {"c": -0.26, "v": 0.0}
    rng = np.random.default_rng(0)
    got = contract.price_path(2.0, path, params, 84, rng)
    t = (np.arange(84) + 0.5) / 12
    expect = 2.0 * 0.74**t * np.where(np.arange(84) >= 18, 0.6, 1.0)
    np.testing.assert_allclose(got, expect, rtol=1e-12)
    no_vol = PricePath(ParamSpec("c", Fixed(-0.26)), path.steps, None)
    np.testing.assert_allclose(contract.price_path(2.0, no_vol, params, 84), expect, rtol=1e-12)


def test_stochastic_path_mean_matches_its_expectation():
    path = PricePath(ParamSpec("c", Fixed(0.1)), (), ParamSpec("v", Fixed(0.4)))
    params = {"c": 0.1, "v": 0.4}
    draws = np.array(
        [contract.price_path(1.0, path, params, 84, np.random.default_rng(i)) for i in range(4000)]
    )
    t = (np.arange(84) + 0.5) / 12
    expect = 1.1**t
    mean = draws.mean(axis=0)
    se = draws.std(axis=0, ddof=1) / math.sqrt(len(draws))
    assert np.all(np.abs(mean - expect) < 4 * se)
    # and it is really random: the last month's spread matches the lognormal's
    sd_theory = expect[-1] * math.sqrt(math.exp(0.16 * t[-1]) - 1)
    assert draws[:, -1].std() == pytest.approx(sd_theory, rel=0.1)


def test_a_generation_speed_up_shortens_durations_exactly(tmp_path):
    rows = [(10, 1, 30), (9000, 1, 30)]
    pool = gpu_pool(1)
    pool["gpu"]["generations"] = [{"at_years": 1.0, "speed": 2.0, "price_per_unit_hour": 3.0}]
    sc = trace_scenario(tmp_path, rows, pool, years=2)
    rep = run_replication(sc, 1, 0, record_jobs=True)
    jobs = rep.jobs
    assert (jobs["end_hours"] - jobs["start_hours"]).tolist() == [30.0, 15.0]
    # the new generation's price applies from its first month
    assert rep.metrics["spend_usd.reserved"] == pytest.approx(8760 * 1.0 + 8760 * 3.0)


def test_undelivered_capacity_is_credited_and_unavailable_targets_take_no_work(tmp_path):
    pool = gpu_pool(4, price=2.0)
    pool["gpu"]["delivery"] = [{"start_years": 0.0, "end_years": 0.5, "fraction": 0.5}]
    pool["gpu"]["credit_fraction"] = 0.75
    sc = build(
        pool,
        {"j": dict(NO_JOBS)},
        years=1,
    )
    m = run_replication(sc, 1, 0).metrics
    half = 0.5 * 8760
    assert m["reserved_unit_hours.gpu"] == pytest.approx(2 * half + 4 * half)
    assert m["undelivered_unit_hours.gpu"] == pytest.approx(2 * half)
    assert m["credit_usd.gpu"] == pytest.approx(2 * half * 2.0 * 0.75)
    assert m["spend_usd.reserved"] == pytest.approx(4 * 8760 * 2.0 - 2 * half * 2.0 * 0.75)

    rows = [(0, 1, 5000), (100, 1, 10)]
    target = od(unavailable=[{"start_years": 0.0, "end_years": 0.1}])
    sc = trace_scenario(tmp_path, rows, gpu_pool(1), overflow=[target], max_wait=0)
    jobs = run_replication(sc, 1, 0, record_jobs=True).jobs
    assert jobs["ran_on"].tolist() == ["gpu", "od"]
    assert jobs["start_hours"].tolist()[1] == pytest.approx(0.1 * 8760)  # when the window ends


def test_effective_savings_rate_and_cost_per_unit_of_work(tmp_path):
    # one unit reserved at $1, on-demand reference $2.5; a job uses it half the year
    pool = gpu_pool(1, price=1.0)
    pool["gpu"]["on_demand_price_per_unit_hour"] = 2.5
    pool["gpu"]["work_per_unit_hour"] = 1000.0
    sc = trace_scenario(tmp_path, [(0, 1, 4380)], pool)
    m = run_replication(sc, 1, 0).metrics
    assert m["esr"] == pytest.approx(1 - 8760 / (4380 * 2.5))  # negative: idle half the year
    assert m["cost_per_work_unit_usd.gpu"] == pytest.approx(8760 / (4380 * 1000))


def test_availability_is_drawn_per_month_and_shared_across_contract_sizes():
    t = od(availability=0.5)
    sc = build(
        gpu_pool(1), {"d": {"kind": "demand", "pool": "gpu", "demand_units": 5.0}}, [t], years=2
    )
    from sim import with_overrides

    big = with_overrides(sc, {"pools.gpu.reserved": 3})
    a = run_replication(sc, 4, 0).metrics["unserved_unit_hours.d"]
    b = run_replication(big, 4, 0).metrics["unserved_unit_hours.d"]
    # unserved hours = months without the target × (demand − reserved): same months down
    months_down_a = a / (4 * 730)
    months_down_b = b / (2 * 730)
    assert months_down_a == pytest.approx(months_down_b)
    assert 3 <= months_down_a <= 21  # about half of 24 months


def test_backfilling_uses_durations_on_the_current_generation(tmp_path):
    # after a 2x generation, a 6-hour job runs 3 hours: it fits before the head's shadow time
    rows = [(9000, 3, 10), (9001, 4, 1), (9002, 1, 6)]
    pool = gpu_pool(4)
    pool["gpu"]["generations"] = [{"at_years": 1.0, "speed": 2.0}]
    sc = trace_scenario(tmp_path, rows, pool, years=2, policy={"queue": "backfill"})
    jobs = run_replication(sc, 1, 0, record_jobs=True).jobs
    # job0 runs 9000-9005; the head (4 units) waits until 9005; job2 ends at 9005 too
    assert jobs["start_hours"].tolist() == [9000.0, 9005.0, 9002.0]


def test_a_zero_commitment_has_no_attainment_rather_than_infinity():
    import warnings

    from sim.montecarlo import run_replication
    from tests.helpers import build

    sc = build(
        {"gpu": {"unit": "gpu", "reserved": 4, "price_per_unit_hour": 1.0}},
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 3}},
        years=0.1,
    )
    from sim.scenario import with_overrides

    sc = with_overrides(sc, {"contract.commitment_usd": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way
        m = run_replication(sc, 1, 0).metrics
    assert math.isnan(m["commit_attainment"])
    assert m["spend_usd.shortfall"] == 0.0


def test_demand_work_is_not_sped_up_by_a_generation():
    # constant demand 10 on reserved 10 at $1, on-demand $2; a speed-2 generation at 0.5 y
    # changes nothing for demand (it is not sped up): work = 10 unit-hours an hour all year,
    # so ESR = 1 - 1/2 and a work unit costs $1 (the old accounts multiplied the unit-hours
    # by the speed of the month: ESR 0.667, $0.667)
    pool = gpu_pool(10, price=1.0)
    pool["gpu"]["on_demand_price_per_unit_hour"] = 2.0
    pool["gpu"]["work_per_unit_hour"] = 1.0
    pool["gpu"]["generations"] = [{"at_years": 0.5, "speed": 2.0}]
    sc = build(pool, {"d": {"kind": "demand", "pool": "gpu", "demand_units": 10.0}}, years=1)
    m = run_replication(sc, 1, 0).metrics
    assert m["esr.gpu"] == pytest.approx(0.5)
    assert m["esr"] == pytest.approx(0.5)
    assert m["cost_per_work_unit_usd.gpu"] == pytest.approx(1.0)
    assert m["coverage.gpu"] == pytest.approx(1.0)


def test_a_job_keeps_the_speed_it_started_with_in_the_accounts(tmp_path):
    # one unit at $1 (on-demand $4); a job of 8000 reference hours starts at t = 0 on the
    # old hardware and runs all year though a speed-2 generation arrives at 0.5 y: its work
    # is 8760 reference unit-hours in the year (the old accounts credited the second half at
    # speed 2: 13140). A job on a speed-3 target does 3 reference unit-hours an hour.
    pool = gpu_pool(1, price=1.0)
    pool["gpu"]["on_demand_price_per_unit_hour"] = 4.0
    pool["gpu"]["work_per_unit_hour"] = 1.0
    pool["gpu"]["generations"] = [{"at_years": 0.5, "speed": 2.0}]
    fast = od(price=4.0, speed=3.0)
    sc = trace_scenario(tmp_path, [(0, 1, 9000), (1, 1, 300)], pool, overflow=[fast], max_wait=0)
    m = run_replication(sc, 1, 0).metrics
    work = 8760.0 + 300.0  # the second job runs 100 h on the target, 3 reference units an hour
    spend = 8760 * 1.0 + 100 * 4.0
    assert m["cost_per_work_unit_usd.gpu"] == pytest.approx(spend / work)
    assert m["esr.gpu"] == pytest.approx(1 - spend / (work * 4.0))
    assert m["coverage.gpu"] == pytest.approx(8760.0 / work)
