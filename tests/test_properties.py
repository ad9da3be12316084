"""Invariants that must hold for any scenario (Hypothesis), and determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.montecarlo import run_replication
from tests.helpers import build

settings.register_profile(
    "capsim", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("capsim")


@st.composite
def scenarios(draw, fungible=False):
    m = 1 if fungible else draw(st.sampled_from([1, 4]))
    years = draw(st.sampled_from([0.05, 0.12]))
    n_years = max(1, math.ceil(years))
    reserved = [m * draw(st.integers(0, 6)) for _ in range(n_years)]
    sizes = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3))
    max_wait = draw(st.sampled_from([0, 1.5, 12, "inf"]))
    workloads = {
        "j": {
            "kind": "jobs",
            "pool": "gpu",
            "arrivals_per_day": draw(st.floats(2, 40)),
            "units": {"dist": "choice", "values": sizes},
            "duration_hours": {"dist": "exponential", "mean": draw(st.floats(0.5, 10))},
            "max_wait_hours": max_wait,
            "priority": 0,
        }
    }
    if draw(st.booleans()):
        workloads["d"] = {
            "kind": "demand",
            "pool": "gpu",
            "demand_units": float(draw(st.integers(0, 8))),
            "noise_cv": 0.3,
        }
    overflow = []
    if draw(st.booleans()):
        cap = draw(st.sampled_from([None, 3, 12]))
        t = {
            "name": "od",
            "pool": "gpu",
            "price_per_unit_hour": 3.0,
            "transfer_usd_per_job": draw(st.sampled_from([0.0, 5.0])),
            "startup_hours": draw(st.sampled_from([0.0, 0.25])),
        }
        if not fungible:
            t["speed"] = draw(st.sampled_from([1.0, 2.0]))
        if cap is not None:
            t["capacity"] = cap
        overflow.append(t)
    policy = {
        "queue": draw(st.sampled_from(["fifo", "priority", "backfill"])),
        "placement": draw(st.sampled_from(["best-fit", "first-fit"])),
    }
    pools = {
        "gpu": {
            "unit": "gpu",
            "instance_units": m,
            "reserved": reserved,
            "price_per_unit_hour": 1.0,
        }
    }
    return build(
        pools, workloads, overflow, years=years, policy=policy, seed=draw(st.integers(0, 1000))
    )


@given(scenarios())
def test_capacity_and_spend_invariants(sc):
    rep = run_replication(sc, sc.seed, 0, record_jobs=True, keep_record=True)
    m, H = rep.metrics, sc.horizon_hours
    reserved = m["reserved_unit_hours.gpu"]
    assert -1e-6 <= m["used_unit_hours.gpu"] <= reserved + 1e-6
    assert m["idle_unit_hours.gpu"] == pytest.approx(reserved - m["used_unit_hours.gpu"])
    if reserved > 0:
        assert 0 <= m["utilization.gpu"] <= 1 + 1e-12
    # the reservation is paid every hour of the horizon, used or not (one contract year here)
    assert reserved == pytest.approx(sc.pools["gpu"].reserved[0] * H)
    # spend is the sum of its parts, overall and month by month
    parts = m["spend_usd.reserved"] + m["spend_usd.overflow"]
    assert m["spend_usd.total"] == pytest.approx(parts)
    assert m["spend_usd.reserved"] == pytest.approx(m["spend_usd.reserved.gpu"])
    assert m["spend_usd.overflow"] == pytest.approx(
        sum(m[f"spend_usd.overflow.{t.name}"] for t in sc.overflow)
    )
    monthly = rep.monthly["gpu"]
    assert monthly["spend_usd"].sum() == pytest.approx(m["spend_usd.total"])
    assert monthly["reserved_unit_hours"].sum() == pytest.approx(reserved)
    assert np.all(monthly["idle_unit_hours"] >= -1e-6)
    # jobs: nobody starts before arriving; targets never exceed their capacity
    jobs = rep.jobs
    started = jobs["start_hours"].notna()
    assert (jobs.loc[started, "wait_hours"] >= -1e-9).all()
    for t in sc.overflow:
        on = jobs[jobs["ran_on"] == t.name]
        rec = rep.record
        send = rec.send_hours[jobs.index[jobs["ran_on"] == t.name]]
        times = np.concatenate([send, on["end_hours"].to_numpy()])
        deltas = np.concatenate([on["units"].to_numpy(), -on["units"].to_numpy()])
        order = np.lexsort((deltas, times))  # releases first at a tie
        demand_peak = 0.0
        served = rec.demand[0]
        if served is not None and 0 in served.targets:
            demand_peak = served.targets[0].max(initial=0.0)
        assert (
            np.cumsum(deltas[order]).max(initial=0) <= t.capacity.dist.mean() + demand_peak + 1e-9
        )


@given(scenarios(fungible=True))
def test_work_is_conserved(sc):
    """Offered work = work on reserved + on overflow + unserved + unfinished (unit-hours)."""
    rep = run_replication(sc, sc.seed, 0, keep_record=True)
    m, rec = rep.metrics, rep.record
    offered_jobs = float(np.sum(rec.jobs.units * rec.jobs.duration_hours))
    served = rec.demand[0]
    hours = np.ones(len(served.demand)) if served is not None else np.ones(0)
    if len(hours):
        hours[-1] = sc.horizon_hours - (len(hours) - 1)
    offered_demand = float(np.sum(served.demand * hours)) if served is not None else 0.0
    done = m["used_unit_hours.gpu"] + m["overflow_unit_hours.gpu"]
    left = m["unfinished_unit_hours.j"] + m.get("unserved_unit_hours.d", 0.0)
    assert done + left == pytest.approx(offered_jobs + offered_demand, rel=1e-9, abs=1e-6)


@given(scenarios(), st.floats(0.5, 3.0))
def test_spend_is_monotone_in_price(sc, factor):
    base = run_replication(sc, 1, 0).metrics["spend_usd.total"]
    raw = {"pools.gpu.price_per_unit_hour": factor}
    if sc.overflow:
        raw["overflow.od.price_per_unit_hour"] = 3.0 * factor
    dearer = run_replication(sim.with_overrides(sc, raw), 1, 0).metrics["spend_usd.total"]
    assert (dearer >= base - 1e-9) if factor >= 1 else (dearer <= base + 1e-9)


def test_fifo_starts_reserved_jobs_in_arrival_order():
    sc = build(
        {"gpu": {"unit": "gpu", "instance_units": 4, "reserved": 16, "price_per_unit_hour": 1}},
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": 60,
                "units": {"dist": "choice", "values": [1, 3, 4, 9]},
                "duration_hours": {"dist": "exponential", "mean": 2},
            }
        },
        years=0.1,
    )
    jobs = run_replication(sc, 0, 0, record_jobs=True).jobs
    on = jobs[jobs["ran_on"] == "gpu"].sort_values("submit_hours")
    assert on["start_hours"].is_monotonic_increasing
    assert (on["wait_hours"] > 0).mean() > 0.2


def test_same_seed_same_numbers_whatever_the_worker_count():
    sc = sim.load_scenario("configs/examples/mmc.toml", ["scenario.years=0.1"])
    one = sim.run(sc, n=6, seed=42, workers=1, record_jobs=True)
    two = sim.run(sc, n=6, seed=42, workers=2, record_jobs=True)
    pd.testing.assert_frame_equal(one.replications, two.replications, check_exact=True)
    pd.testing.assert_frame_equal(one.timeseries, two.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(one.jobs, two.jobs, check_exact=True)
    other = sim.run(sc, n=6, seed=43, workers=1)
    assert not one.replications.equals(other.replications)


def test_contract_size_does_not_change_the_demand_seen():
    """Common random numbers: a bigger reservation sees the very same jobs."""
    sc = sim.load_scenario("configs/examples/mmc.toml", ["scenario.years=0.05"])
    big = sim.with_overrides(sc, {"pools.gpu.reserved": 40})
    a = run_replication(sc, 9, 3, record_jobs=True).jobs
    b = run_replication(big, 9, 3, record_jobs=True).jobs
    np.testing.assert_array_equal(a["submit_hours"], b["submit_hours"])
    assert b["wait_hours"].sum() < a["wait_hours"].sum()


def test_parallel_run_from_a_plain_script(tmp_path):
    """A user's script needs no ``if __name__ == "__main__"`` guard to use workers."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "plain.py"
    script.write_text(
        "import sim\n"
        f"sc = sim.load_scenario({str(root / 'configs/examples/mmc.toml')!r}, "
        "['scenario.years=0.02'])\n"
        "r = sim.run(sc, n=4, workers=2)\n"
        "print(len(r.replications))\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "4"
