"""The engine's semantics, case by case, on tiny hand-made traces (SCENARIO.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.montecarlo import build_input, run_replication
from tests.helpers import build, gpu_pool, od, trace_scenario, write_trace


def one(scenario):  # the record of replication 0
    rep = run_replication(scenario, 0, 0, record_jobs=True, keep_record=True)
    return rep, rep.jobs


def test_completion_frees_capacity_before_an_arrival_at_the_same_instant(tmp_path):
    # job 0 holds both units until t=5; job 1 arrives at exactly t=5 and must start then
    sc = trace_scenario(tmp_path, [(0, 2, 5), (5, 2, 1)], gpu_pool(2))
    _, jobs = one(sc)
    assert jobs["start_hours"].tolist() == [0.0, 5.0]
    assert jobs["wait_hours"].tolist() == [0.0, 0.0]


def test_fifo_head_of_line_blocks_smaller_jobs(tmp_path):
    # 4 units; job0 takes 3 until t=10; job1 (needs 4) waits; job2 (needs 1) would fit but is behind
    sc = trace_scenario(tmp_path, [(0, 3, 10), (1, 4, 1), (2, 1, 1)], gpu_pool(4))
    _, jobs = one(sc)
    assert jobs["start_hours"].tolist() == [0.0, 10.0, 11.0]


def test_backfill_lets_a_short_job_pass_without_delaying_the_head(tmp_path):
    rows = [(0, 3, 10), (1, 4, 1), (2, 1, 5), (3, 1, 20)]
    sc = trace_scenario(tmp_path, rows, gpu_pool(4), policy={"queue": "backfill"})
    _, jobs = one(sc)
    start = jobs["start_hours"].tolist()
    assert start[0] == 0.0
    assert start[1] == 10.0  # the head starts exactly when it would have under FIFO
    assert start[2] == 2.0  # ends at 7 <= shadow time 10: backfilled
    assert start[3] == 11.0  # would run past t=10 on units the head needs: not backfilled


def test_priority_queue_serves_lower_priority_number_first(tmp_path):
    rows = [(0, 1, 10, 0), (1, 1, 1, 5), (2, 1, 1, 1)]
    sc = trace_scenario(tmp_path, rows, gpu_pool(1), policy={"queue": "priority"}, extra="priority")
    _, jobs = one(sc)
    assert jobs["start_hours"].tolist() == [0.0, 11.0, 10.0]


def test_large_job_takes_whole_instances_and_small_jobs_best_fit(tmp_path):
    # two instances of 8; job0 (5 units) and job1 (3 units) best-fit into one instance,
    # so job2 (8 units) still finds a wholly free instance; job3 (9 units) needs two.
    rows = [(0, 5, 10), (0, 3, 10), (0, 8, 10), (1, 9, 1)]
    sc = trace_scenario(tmp_path, rows, gpu_pool(16, m=8))
    _, jobs = one(sc)
    assert jobs["start_hours"].tolist() == [0.0, 0.0, 0.0, 10.0]
    assert jobs["units"].tolist() == [5, 3, 8, 16]  # the 9-unit job held two whole instances


def test_first_fit_fragments_where_best_fit_does_not(tmp_path):
    # two instances of 8. y fills instance 0 until t=1, so x (5 units) lands on instance 1.
    # At t=2 w (3 units) arrives: first-fit takes the lowest instance with room (0), best-fit
    # the tightest (1, exactly 3 free). At t=3 v needs a whole instance: only best-fit has one.
    rows = [(0, 8, 1), (0, 5, 100), (2, 3, 100), (3, 8, 1)]
    _, best = one(trace_scenario(tmp_path, rows, gpu_pool(16, m=8)))
    _, first = one(
        trace_scenario(tmp_path, rows, gpu_pool(16, m=8), policy={"placement": "first-fit"})
    )
    assert best["start_hours"].tolist() == [0, 0, 2, 3]
    assert first["start_hours"].tolist() == [0, 0, 2, 100]  # when x frees instance 1


def test_wait_then_overflow_with_startup_and_speed(tmp_path):
    rows = [(0, 1, 10), (1, 1, 4)]
    target = od(startup_hours=0.5, speed=2.0)
    sc = trace_scenario(tmp_path, rows, gpu_pool(1), overflow=[target], max_wait=3)
    rep, jobs = one(sc)
    assert jobs["ran_on"].tolist() == ["gpu", "od"]
    # waited 3 h, then 0.5 h of start-up: the wait counts both
    assert jobs["start_hours"].tolist()[1] == pytest.approx(4.5)
    assert jobs["wait_hours"].tolist()[1] == pytest.approx(3.5)
    assert jobs["end_hours"].tolist()[1] == pytest.approx(6.5)  # 4 h of work at speed 2
    assert rep.metrics["spend_usd.overflow.od"] == pytest.approx(2.0 * 3.0)
    assert rep.metrics["jobs_overflowed.t"] == 1


def test_zero_max_wait_overflows_at_once_only_if_it_does_not_fit(tmp_path):
    rows = [(0, 1, 10), (1, 1, 4), (20, 1, 1)]
    sc = trace_scenario(tmp_path, rows, gpu_pool(1), overflow=[od()], max_wait=0)
    _, jobs = one(sc)
    assert jobs["ran_on"].tolist() == ["gpu", "od", "gpu"]
    assert jobs["wait_hours"].tolist() == [0, 0, 0]


def test_full_target_makes_the_job_retry_when_room_appears(tmp_path):
    # reserved 1, target capacity 1: job2 expires at t=2 but the target is busy until t=6
    rows = [(0, 1, 100), (1, 1, 5), (1, 1, 5)]
    sc = trace_scenario(tmp_path, rows, gpu_pool(1), overflow=[od(capacity=1)], max_wait=0)
    _, jobs = one(sc)
    assert jobs["ran_on"].tolist() == ["gpu", "od", "od"]
    assert jobs["start_hours"].tolist() == [0.0, 1.0, 6.0]


def test_reserved_schedule_changes_by_contract_year(tmp_path):
    # one unit in year 0, two in year 1: the second job waits for the new unit
    rows = [(0, 1, 20000), (10, 1, 1)]
    sc = trace_scenario(tmp_path, rows, gpu_pool([1, 2]), years=2)
    rep, jobs = one(sc)
    assert jobs["start_hours"].tolist()[1] == 8760.0
    assert rep.metrics["reserved_unit_hours.gpu"] == pytest.approx(8760 * 3)


def test_capacity_drop_bills_the_schedule_and_the_overhang_at_on_demand(tmp_path):
    # two units then one; a job holds a unit across the boundary until t=9000
    rows = [(0, 1, 9000), (0, 1, 9000)]
    target = od(price=3.0)
    sc = trace_scenario(tmp_path, rows, gpu_pool([2, 1]), overflow=[target], years=2)
    rep, _ = one(sc)
    m = rep.metrics
    # reserved is the schedule, exactly: 2 units in year 1, 1 unit in year 2
    assert m["reserved_unit_hours.gpu"] == pytest.approx(2 * 8760 + 1 * 8760)
    assert m["spend_usd.reserved"] == pytest.approx(2 * 8760 + 8760)
    # the unit still busy from 8760 to 9000 is the overhang, billed at the target's price
    assert m["overhang_unit_hours.gpu"] == pytest.approx(240)
    assert m["spend_usd.overhang.gpu"] == pytest.approx(240 * 3.0)
    assert m["spend_usd.overflow"] == pytest.approx(240 * 3.0)
    assert m["spend_usd.total"] == pytest.approx(3 * 8760 + 720)
    # busy units fill the schedule first: idle is what the schedule left unused
    assert m["idle_unit_hours.gpu"] == pytest.approx(17520 - 9000)
    assert m["used_unit_hours.gpu"] == pytest.approx(2 * 8760 + 240)
    assert m["coverage.gpu"] == pytest.approx((2 * 8760 + 240) / (2 * 9000))


def test_reserved_spend_is_the_same_in_every_replication_of_a_falling_schedule():
    # a busy pool whose schedule halves at the year boundary: jobs running then drain
    sc = build(
        gpu_pool([16, 8], m=4),
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": 40,
                "units": {"dist": "choice", "values": [1, 4, 8]},
                "duration_hours": {"dist": "exponential", "mean": 12},
                "max_wait_hours": 4,
            }
        },
        [od(price=3.0)],
        years=2,
    )
    reps = [run_replication(sc, 5, i).metrics for i in range(6)]
    reserved = np.array([m["spend_usd.reserved"] for m in reps])
    assert reserved.std() == 0.0
    assert reserved[0] == pytest.approx((16 + 8) * 8760 * 1.0)
    overhang = np.array([m["spend_usd.overhang.gpu"] for m in reps])
    assert (overhang > 0).all()  # something was always still running at the boundary
    for m in reps:
        parts = m["spend_usd.reserved"] + m["spend_usd.overflow"]
        assert m["spend_usd.total"] == pytest.approx(parts)


def test_unfinished_jobs_are_counted_not_dropped(tmp_path):
    rows = [(0, 1, 8000), (1, 1, 1000), (8759, 1, 5)]
    sc = trace_scenario(tmp_path, rows, gpu_pool(1))
    rep, _ = one(sc)
    assert rep.metrics["jobs_unfinished.t"] == 2  # one queued, one running at the horizon
    assert rep.metrics["jobs_arrived.t"] == 3
    # job1 runs 8000-9000: 240 h left at the horizon; job2 never starts: all 5 h left
    assert rep.metrics["unfinished_unit_hours.t"] == pytest.approx(240 + 5)


def test_demand_takes_free_units_each_hour_but_never_preempts(tmp_path):
    # 4 units. A job holds 3 of them from t=0.5 to 10.5. Recorded demand is 0 in hour 0 and
    # 3 units from hour 1 on: while the job runs only 1 unit is free, so the demand takes it
    # and overflows the other 2; the job keeps its units and ends on time.
    hours = 88
    (tmp_path / "demand.csv").write_text("units\n0\n" + "3\n" * (hours - 1))
    write_trace(tmp_path / "trace.csv", [(0.5, 3, 10)])
    sc = build(
        gpu_pool(4),
        {
            "d": {"kind": "demand", "pool": "gpu", "file": "demand.csv"},
            "t": {"kind": "trace", "pool": "gpu", "file": "trace.csv"},
        },
        [od()],
        years=hours / 8760,
        base_dir=tmp_path,
    )
    rep = run_replication(sc, 0, 0, record_jobs=True, keep_record=True)
    jobs = rep.jobs
    assert jobs["start_hours"].tolist() == [0.5]
    assert jobs["end_hours"].tolist() == [10.5]  # never preempted
    served = rep.record.demand[0]
    assert served.reserved[0] == 0
    # hours 1-10: the job holds 3 units, the demand gets the 1 free unit and overflows 2
    np.testing.assert_array_equal(served.reserved[1:11], 1.0)
    np.testing.assert_array_equal(served.targets[0][1:11], 2.0)
    # from hour 11 the job is gone: all 3 units of demand on reserved, none overflows
    np.testing.assert_array_equal(served.reserved[11:], 3.0)
    np.testing.assert_array_equal(served.targets[0][11:], 0.0)
    assert rep.metrics["unserved_unit_hours.d"] == 0
    used = 3 * 10 + 1 * 10 + 3 * (hours - 11)
    assert rep.metrics["used_unit_hours.gpu"] == pytest.approx(used)


def test_demand_overflows_in_order_then_is_unserved():
    sc = build(
        gpu_pool(10),
        {"d": {"kind": "demand", "pool": "gpu", "demand_units": 25.0}},
        [
            od(capacity=5, price=2.0),
            {"name": "other", "pool": "gpu", "price_per_unit_hour": 4.0, "capacity": 6},
        ],
        years=0.01,
    )
    rep = run_replication(sc, 0, 0)
    H = sc.horizon_hours
    assert rep.metrics["used_unit_hours.gpu"] == pytest.approx(10 * H)
    assert rep.metrics["overflow_unit_hours.gpu"] == pytest.approx(11 * H)
    assert rep.metrics["unserved_unit_hours.d"] == pytest.approx(4 * H)
    assert rep.metrics["spend_usd.total"] == pytest.approx(H * (10 * 1 + 5 * 2 + 6 * 4))
    assert rep.metrics["coverage.gpu"] == pytest.approx(10 / 21)


def test_jobs_and_demand_share_a_pool(tmp_path):
    (tmp_path / "trace.csv").write_text("submit_hours,units,duration_hours\n0.5,2,3\n0.6,3,1\n")
    sc = build(
        gpu_pool(8),
        {
            "d": {"kind": "demand", "pool": "gpu", "demand_units": 6.0},
            "t": {"kind": "trace", "pool": "gpu", "file": "trace.csv"},
        },
        [od(capacity=1)],
        years=0.01,
        base_dir=tmp_path,
    )
    rep = run_replication(sc, 0, 0, record_jobs=True, keep_record=True)
    jobs = rep.jobs
    # hour 0: demand holds 6 of 8 units; job0 (2 units) fits in the other 2 at t=0.5.
    # job1 (3 units) never fits: each hour the demand claims its 6 first.
    assert jobs["start_hours"].tolist()[0] == 0.5
    assert math.isnan(jobs["start_hours"].tolist()[1])
    served = rep.record.demand[0]
    assert served.reserved[0] == 6
    # from hour 1 to 3 the job holds 2 units, demand takes the other 6
    assert np.all(served.reserved[1:4] == 6)
    assert rep.metrics["used_unit_hours.gpu"] <= rep.metrics["reserved_unit_hours.gpu"] + 1e-9


def easy_reference(rows, capacity):
    """Plain EASY backfilling on one fungible pool, re-evaluated from scratch at every event."""
    submit = [r[0] for r in rows]
    units = [r[1] for r in rows]
    dur = [r[2] for r in rows]
    start = [math.nan] * len(rows)
    running = []  # (end, units)
    queue = []
    free = capacity
    nxt = 0
    while nxt < len(rows) or running:
        t = min([e for e, _ in running] + ([submit[nxt]] if nxt < len(rows) else []))
        for e, u in [x for x in running if x[0] == t]:
            running.remove((e, u))
            free += u
        while nxt < len(rows) and submit[nxt] == t:
            queue.append(nxt)
            nxt += 1
        while queue and units[queue[0]] <= free:
            j = queue.pop(0)
            start[j], free = t, free - units[j]
            running.append((t + dur[j], units[j]))
        if not queue:
            continue
        head = queue[0]
        shadow, cum = math.inf, free
        for e, u in sorted(running):
            cum += u
            if cum >= units[head]:
                shadow = e
                break
        extra = free + sum(u for e, u in running if e <= shadow) - units[head]
        for j in list(queue[1:]):
            if units[j] > free:
                continue
            if t + dur[j] <= shadow or units[j] <= extra:
                if t + dur[j] > shadow:
                    extra -= units[j]
                queue.remove(j)
                start[j], free = t, free - units[j]
                running.append((t + dur[j], units[j]))
    return start


@pytest.mark.parametrize("seed", range(12))
def test_backfill_matches_a_from_scratch_easy_reference(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n, cap = 300, 8
    submit = np.round(np.cumsum(rng.exponential(0.6, n)), 3)
    units = rng.choice([1, 2, 3, 5, 8], n)
    dur = np.round(rng.exponential(3.0, n), 3) + 0.001
    rows = [(float(s), int(u), float(d)) for s, u, d in zip(submit, units, dur, strict=True)]
    sc = trace_scenario(
        tmp_path,
        rows,
        gpu_pool(cap),
        years=(submit[-1] + 2000) / 8760,
        policy={"queue": "backfill", "backfill_depth": 100000},
    )
    _, jobs = one(sc)
    ref = np.array(easy_reference(rows, cap))
    got = jobs["start_hours"].to_numpy()
    assert np.mean(jobs["wait_hours"] > 0) > 0.2  # a congested queue, where backfilling matters
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("m", [1, 4])
def test_a_shrinking_reservation_drains_without_losing_or_double_counting_units(m):
    # a busy pool whose reservation halves at the year boundary, with demand sharing it
    sc = build(
        gpu_pool([16, 8], m=m),
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": 30,
                "units": {"dist": "choice", "values": [1, 2, 4, 8]},
                "duration_hours": {"dist": "exponential", "mean": 6},
                "max_wait_hours": 4,
            },
            "d": {"kind": "demand", "pool": "gpu", "demand_units": 2.0, "noise_cv": 0.5},
        },
        [od()],
        years=1.1,
    )
    rep = run_replication(sc, 3, 0, record_jobs=True, keep_record=True)
    m_ = rep.metrics
    contracted = 16 * 8760 + 8 * (1.1 * 8760 - 8760)
    # what is reserved is the contract; busy units that stay until they drain are the
    # overhang, no more than the drain of the largest units ever held
    assert m_["reserved_unit_hours.gpu"] == pytest.approx(contracted)
    assert 0 < m_["overhang_unit_hours.gpu"] <= 8 * 2000
    assert m_["used_unit_hours.gpu"] <= m_["reserved_unit_hours.gpu"] + 1e-6
    assert (rep.monthly["gpu"]["idle_unit_hours"] >= -1e-6).all()
    # after the drain the level is the new contract: the last change points end at 8 units
    _, d = rep.record.reserved_changes[0]
    assert np.cumsum(d)[-1] == 8
    jobs = rep.jobs
    late = jobs[(jobs["ran_on"] == "gpu") & (jobs["start_hours"] > 8760 + 500)]
    assert len(late) > 50 and late["units"].max() <= 8  # the smaller pool keeps working


def test_jobs_still_queued_at_the_horizon_count_with_censored_waits(tmp_path):
    # one unit, busy past the horizon: job 1 waits from t=10 to the horizon and never starts.
    # Job 2 overflows at t=8759 but its start-up ends after the horizon: censored too.
    rows = [(0, 1, 9000), (10, 1, 1), (8758, 1, 1)]
    target = od(capacity=1, startup_hours=2.0)
    sc = trace_scenario(tmp_path, rows, gpu_pool(1), overflow=[target], max_wait=1)
    rep, jobs = one(sc)
    H = sc.horizon_hours
    m = rep.metrics
    # job 1 overflowed at t=11 and started at 13 (start-up 2 h): wait 3 h; job 2 found the
    # target busy until 14, was sent... at its expiry (8759) and starts at 8761 >= H
    assert jobs["start_hours"].tolist()[:2] == [0.0, 13.0]
    assert math.isnan(jobs["start_hours"].tolist()[2])
    assert math.isnan(jobs["end_hours"].tolist()[2])
    assert jobs["ran_on"].tolist()[2] == ""
    waits = [0.0, 3.0, H - 8758]
    assert jobs["wait_hours"].tolist() == pytest.approx(waits)
    assert m["jobs_censored.t"] == 1
    assert m["wait_hours.t.max"] == pytest.approx(max(waits))
    assert m["wait_hours.t.mean"] == pytest.approx(np.mean(waits))


def test_summary_wait_statistics_are_recomputable_from_the_jobs_table():
    # an undersized pool: many jobs are still queued at the horizon
    sc = build(
        gpu_pool(4),
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": 30,
                "units": {"dist": "choice", "values": [1, 2]},
                "duration_hours": {"dist": "exponential", "mean": 5},
            }
        },
        years=0.2,
    )
    rep = run_replication(sc, 2, 0, record_jobs=True)
    jobs, m = rep.jobs, rep.metrics
    censored = jobs["start_hours"].isna()
    assert m["jobs_censored.j"] == censored.sum() > 20
    assert (jobs["start_hours"].dropna() < sc.horizon_hours).all()
    w = jobs["wait_hours"].to_numpy()
    assert not np.isnan(w).any()
    assert m["wait_hours.j.mean"] == pytest.approx(w.mean())
    assert m["wait_hours.j.p95"] == pytest.approx(np.percentile(w, 95))
    assert m["wait_hours.j.max"] == pytest.approx(w.max())


@pytest.mark.parametrize("capacity", [None, 5])
def test_a_target_takes_no_new_job_inside_an_unavailable_window(tmp_path, capacity):
    # the reserved unit is busy all year. B overflows at t=50 and runs into the window
    # [100, 200) h, ending inside it at 150; C overflows at 160, inside the window, and must
    # wait for its end: units B held come back, but the target takes no new work until 200.
    H = 8760.0
    rows = [(0, 1, 9000), (50, 1, 100), (160, 1, 10)]
    window = [{"start_years": 100 / H, "end_years": 200 / H}]
    target = od(capacity=capacity, unavailable=window)
    sc = trace_scenario(tmp_path, rows, gpu_pool(1), overflow=[target], max_wait=0)
    _, jobs = one(sc)
    assert jobs["ran_on"].tolist() == ["gpu", "od", "od"]
    assert jobs["start_hours"].tolist() == pytest.approx([0.0, 50.0, 200.0])


@pytest.mark.parametrize("capacity", [None, 3])
def test_monthly_availability_is_honoured_by_unlimited_and_finite_targets(capacity):
    sc = build(
        gpu_pool(2),
        {
            "j": {
                "kind": "jobs",
                "pool": "gpu",
                "arrivals_per_day": 24,
                "units": 1,
                "duration_hours": {"dist": "exponential", "mean": 3},
                "max_wait_hours": 0.5,
            }
        },
        [od(capacity=capacity, availability=0.5)],
        years=1,
    )
    inp, _, _ = build_input(sc, 4, 0)
    rep = run_replication(sc, 4, 0, keep_record=True)
    rec = rep.record
    changes = ((0.0, inp.targets[0].capacity), *inp.targets[0].capacity_changes)
    times = np.array([t for t, _ in changes])
    up = np.array([c > 0 for _, c in changes])
    sent = rec.send_hours[rec.ran_on == 1]
    assert 0 < (~up).sum() < len(up)  # some months down, some up
    assert len(sent) > 100
    state = up[np.searchsorted(times, sent, side="right") - 1]
    assert state.all(), f"{(~state).sum()} jobs sent while the target was down"
    # and running jobs never exceed a finite capacity
    if capacity is not None:
        t = np.concatenate([sent, rec.end_hours[rec.ran_on == 1]])
        d = np.concatenate([np.ones(len(sent)), -np.ones(len(sent))])
        o = np.lexsort((d, t))
        assert np.cumsum(d[o]).max() <= capacity


def test_coverage_counts_work_at_reference_speed(tmp_path):
    # one unit of hardware twice as fast as the reference; two jobs of 10 reference hours at
    # t=0: one runs on the pool for 5 h, the other overflows at once and runs 10 h at speed 1.
    # Each did the same work, so coverage is one half (not 5 / (5 + 10) unit-hours).
    pool = gpu_pool(1)
    pool["gpu"]["speed"] = 2.0
    sc = trace_scenario(tmp_path, [(0, 1, 10), (0, 1, 10)], pool, overflow=[od()], max_wait=0)
    rep, jobs = one(sc)
    assert jobs["ran_on"].tolist() == ["gpu", "od"]
    assert rep.metrics["used_unit_hours.gpu"] == pytest.approx(5.0)
    assert rep.metrics["overflow_unit_hours.gpu"] == pytest.approx(10.0)
    assert rep.metrics["coverage.gpu"] == pytest.approx(0.5)


def test_the_engine_uses_only_simpys_public_api():
    import re
    from pathlib import Path

    import sim.engine

    package = Path(sim.engine.__file__).parent
    source = "".join(f.read_text() for f in sorted(package.glob("*.py")))
    assert "class Call(Timeout)" in source  # the whole engine is read
    private = re.findall(r"\.(_queue|_now|_value|_ok|_eid|_defused)\b", source)
    assert not private, f"SimPy internals used: {sorted(set(private))}"


def test_trace_jobs_are_numbered_by_csv_row_and_late_rows_are_reported(tmp_path):
    # rows out of order, one past the one-year horizon
    rows = [(5.0, 1, 1), (1.0, 1, 1), (9000.0, 1, 1), (3.0, 1, 1)]
    sc = trace_scenario(tmp_path, rows, gpu_pool(2))
    _, jobs = one(sc)
    assert jobs["submit_hours"].tolist() == [1.0, 3.0, 5.0]
    assert jobs["job"].tolist() == [2, 4, 1]  # the CSV data row each came from
    assert len(sc.warnings) == 1
    assert "1 of 4 trace rows are submitted at or after the horizon" in sc.warnings[0]


def test_each_pool_runs_its_own_queue_policy_and_placement():
    """Pool a backfills (best-fit); pool b queues FIFO with first-fit. The pools share
    nothing, so each must run exactly as the whole scenario does under that pool's choice
    for every pool, job by job."""
    from pathlib import Path

    from sim.scenario import load_scenario

    path = Path(__file__).parent / "data/two-pools.toml"
    mixed = load_scenario(path)
    assert mixed.pools["a"].queue == "backfill" and mixed.pools["b"].placement == "first-fit"
    as_a = load_scenario(path, ["policy.queue=backfill", "pools.a.queue=backfill"])
    as_b = load_scenario(
        path, ["policy.queue=fifo", "policy.placement=first-fit", 'pools.a.queue="fifo"']
    )
    _, jobs = one(mixed)
    _, ref_a = one(as_a)
    _, ref_b = one(as_b)
    for w, ref in (("ja", ref_a), ("jb", ref_b)):  # ja runs on pool a, jb on pool b
        mine = jobs[jobs["workload"] == w].reset_index(drop=True)
        theirs = ref[ref["workload"] == w].reset_index(drop=True)
        assert len(mine) > 100
        pd.testing.assert_frame_equal(mine, theirs)
    # and the choice matters here: backfilling on pool b would start jobs at other times
    _, all_backfill = one(load_scenario(path, ["policy.queue=backfill"]))
    b_backfill = all_backfill[all_backfill["workload"] == "jb"]["start_hours"].to_numpy()
    b_fifo = jobs[jobs["workload"] == "jb"]["start_hours"].to_numpy()
    assert not np.array_equal(b_backfill, b_fifo, equal_nan=True)
