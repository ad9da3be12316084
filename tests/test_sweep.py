"""Sweeps: common random numbers, the recommendation, resume after a kill, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import grid, store, sweep
from sim.errors import ScenarioError
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "configs/examples/mmc.toml"


def test_vary_parses_ranges_lists_and_refuses_nonsense():
    assert grid.parse_vary("pools.gpu.reserved=8:12:2").values == (8, 10, 12)
    assert grid.parse_vary("pools.gpu.reserved_scale=0.5:1.0:0.25").values == (0.5, 0.75, 1.0)
    assert grid.parse_vary("pools.gpu.reserved=8:13:2").values == (8, 10, 12)  # 13 off the grid
    assert grid.parse_vary('policy.queue="fifo","backfill"').values == ("fifo", "backfill")
    with pytest.raises(ScenarioError, match=r"--vary: pools\.gpu\.reserved: needs STEP > 0"):
        grid.parse_vary("pools.gpu.reserved=8:12:0")
    with pytest.raises(ScenarioError, match="must be KEY=START:STOP:STEP"):
        grid.parse_vary("pools.gpu.reserved")
    sc = load_scenario(MMC, ["scenario.years=0.01"])
    with pytest.raises(
        ScenarioError, match=r"--vary: pools\.gpu\.reserved: at pools\.gpu\.reserved=-1"
    ):
        grid.point_scenarios(sc, grid.grid_points([grid.parse_vary("pools.gpu.reserved=-1,4")]))


def test_constraints_parse_and_name_unknown_metrics():
    c = sweep.parse_constraint("wait_hours.jobs.p95<=12")
    assert (c.metric, c.op, c.value) == ("wait_hours.jobs.p95", "<=", 12.0)
    assert c.ok(11.9) and not c.ok(12.1)
    with pytest.raises(ScenarioError, match=r"must be METRIC<=X or METRIC>=X"):
        sweep.parse_constraint("wait p95 small")
    sc = load_scenario(MMC, ["scenario.years=0.01"])
    with pytest.raises(ScenarioError, match=r"no metric 'wait_hours\.job\.p95' \(did you mean"):
        sweep.run_sweep(
            sc,
            [grid.parse_vary("pools.gpu.reserved=10,12")],
            2,
            1,
            constraints=[sweep.parse_constraint("wait_hours.job.p95<=1")],
        )


def test_common_random_numbers_make_point_differences_precise():
    """Var(spend(R+1) − spend(R)) with CRN is far below the independent-sampling variance."""
    # jobs that overflow at once when they do not fit: spend moves with the demand seen
    sc = load_scenario(MMC, ["scenario.years=0.2", "workloads.jobs.max_wait_hours=0"])
    axes = [grid.parse_vary("pools.gpu.reserved=10,11")]
    res = sweep.run_sweep(sc, axes, 30, 5)
    a = res.points[res.points["pools.gpu.reserved"] == 10]["spend_usd.total"].to_numpy()
    b = res.points[res.points["pools.gpu.reserved"] == 11]["spend_usd.total"].to_numpy()
    crn = np.var(b - a, ddof=1)
    independent = np.var(a, ddof=1) + np.var(b, ddof=1)  # what independent runs would give
    # observed ratio ≈ 0.05; with 30 replications the variance ratio is within ×2.2 of its
    # true value at 99%, so 0.25 leaves room for chance and none for broken CRN (ratio ≈ 1)
    assert crn < 0.25 * independent, (crn, independent)
    # replication i of each point saw the very same jobs
    arrived = res.points.pivot(
        index="replication", columns="pools.gpu.reserved", values="jobs_arrived.jobs"
    )
    assert (arrived[10] == arrived[11]).all()


def test_sweep_of_demand_only_scenario_recommends_the_newsvendor_level():
    sc = load_scenario(ROOT / "configs/examples/helios-demand.toml", ["scenario.years=0.25"])
    axes = [grid.parse_vary("pools.gpu.reserved=300:900:25")]
    res = sweep.run_sweep(sc, axes, 6, 7)
    rec = res.summary["recommended"]["pools.gpu.reserved"]
    level = res.summary["newsvendor"]["gpu"]["level_units"]
    assert res.summary["newsvendor"]["gpu"]["critical_ratio"] == pytest.approx(1 - 1.68 / 2.235)
    assert abs(rec - level) <= 25, (rec, level)


def test_recommendation_respects_constraints_and_reports_regret():
    sc = load_scenario(MMC, ["scenario.years=0.1", "workloads.jobs.max_wait_hours=2"])
    axes = [grid.parse_vary("pools.gpu.reserved=6:12:1")]
    key = "pools.gpu.reserved"
    free = sweep.run_sweep(sc, axes, 8, 2)
    tight = sweep.run_sweep(
        sc, axes, 8, 2, constraints=[sweep.parse_constraint("wait_hours.jobs.p95<=1.5")]
    )
    # from points.parquet alone: each size's mean spend and mean p95 wait
    by_size = free.points.groupby(key)[["spend_usd.total", "wait_hours.jobs.p95"]].mean()
    feasible = by_size[by_size["wait_hours.jobs.p95"] <= 1.5]
    assert 0 < len(feasible) < len(by_size)  # the constraint bites
    # the recommendation is the cheapest size overall, and the cheapest feasible one
    assert free.summary["recommended"][key] == by_size["spend_usd.total"].idxmin()
    assert tight.summary["recommended"][key] == feasible["spend_usd.total"].idxmin()
    assert tight.summary["recommended"][key] > free.summary["recommended"][key]
    # regret: per replication, spend at the recommendation minus the cheapest size in hindsight
    spend = free.points.pivot(index="replication", columns=key, values="spend_usd.total")
    regret = spend[free.summary["recommended"][key]] - spend.min(axis=1)
    assert free.summary["recommended"]["regret_usd"]["mean"] == pytest.approx(regret.mean())
    assert regret.mean() > 0  # hindsight picks other sizes in some replications
    best_share = (spend.idxmin(axis=1) == free.summary["recommended"][key]).mean()
    label = f"{key}={free.summary['recommended'][key]}"
    assert free.summary["recommended"]["hindsight_optimal_share"].get(label, 0) == best_share
    for obj, q in (("p95", 95), ("cvar95", None)):
        r = sweep.run_sweep(sc, axes, 8, 2, objective=obj).summary
        assert r["objective"] == obj
        if q is not None:  # numpy's percentile of each size's spend, minimised
            expect = free.points.groupby(key)["spend_usd.total"].quantile(q / 100).idxmin()
        else:  # the mean of each size's worst replication (8 runs: the worst 5 % is one run)
            expect = free.points.groupby(key)["spend_usd.total"].max().idxmin()
        assert r["recommended"][key] == expect


def test_objectives_on_a_known_sample():
    x = np.arange(1, 101, dtype=float)
    assert sweep.objective_value(x, "mean") == 50.5
    assert sweep.objective_value(x, "p95") == pytest.approx(95.05)
    # the mean of the worst 5 % of 100 values: (96 + 97 + 98 + 99 + 100) / 5
    assert sweep.objective_value(x, "cvar95") == 98.0
    assert sweep.objective_value(np.full(7, 3.0), "cvar95") == 3.0


def test_target_ci_adds_replications_until_met_or_capped():
    sc = load_scenario(MMC, ["scenario.years=0.05", "workloads.jobs.max_wait_hours=1"])
    axes = [grid.parse_vary("pools.gpu.reserved=9,10")]
    met = sweep.run_sweep(sc, axes, 4, 1, target_ci_pct=1.0, max_replications=40)
    pr = met.summary["precision"]
    assert pr["met"] and pr["achieved_pct"] <= 1.0
    capped = sweep.run_sweep(sc, axes, 4, 1, target_ci_pct=0.001, max_replications=8)
    assert not capped.summary["precision"]["met"]
    assert capped.summary["replications"] == 8
    assert capped.points["replication"].nunique() == 8


def _sweep_cmd(out: Path, extra: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        str(MMC),
        "--set",
        "scenario.years=0.3",
        "--vary",
        "pools.gpu.reserved=9:12:1",
        "-n",
        "30",
        "--workers",
        "1",
        "--out",
        str(out),
        *extra,
    ]


def test_resume_after_sigkill_gives_the_same_files(tmp_path):
    full = tmp_path / "full"
    subprocess.run(_sweep_cmd(full, []), check=True, capture_output=True, cwd=ROOT, timeout=300)
    part = tmp_path / "part"
    proc = subprocess.Popen(
        _sweep_cmd(part, []), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        done = list((part / "chunks").glob("*.parquet")) if (part / "chunks").exists() else []
        if len(done) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    chunks = sorted((part / "chunks").glob("*.parquet"))
    assert 3 <= len(chunks) < 12, "the kill should land mid-sweep"
    assert not (part / "summary.json").exists()
    before = {p.name: p.stat().st_mtime_ns for p in chunks}
    # without --resume the interrupted sweep is protected
    again = subprocess.run(
        _sweep_cmd(part, []), capture_output=True, text=True, cwd=ROOT, check=False, timeout=300
    )
    assert again.returncode == 2 and "--resume" in again.stderr
    # resuming with other options is refused
    other = subprocess.run(
        _sweep_cmd(part, ["--resume", "--seed", "9"]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert other.returncode == 2 and "differs from the interrupted sweep" in other.stderr
    subprocess.run(
        _sweep_cmd(part, ["--resume"]), check=True, capture_output=True, cwd=ROOT, timeout=300
    )
    after = {p.name: p.stat().st_mtime_ns for p in (part / "chunks").glob("*.parquet")}
    assert all(after[k] == v for k, v in before.items()), "finished chunks were redone"
    pd.testing.assert_frame_equal(
        pd.read_parquet(full / "points.parquet"), pd.read_parquet(part / "points.parquet")
    )
    a = json.loads((full / "summary.json").read_text())
    b = json.loads((part / "summary.json").read_text())
    assert a == b
    # a finished sweep has nothing to resume, and is not replaced without --force
    done = subprocess.run(
        _sweep_cmd(part, ["--resume"]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert done.returncode == 2 and "holds no interrupted sweep" in done.stderr


def test_dask_local_cluster_gives_identical_results(tmp_path):
    import dask.distributed

    sc = load_scenario(MMC, ["scenario.years=0.05"])
    axes = [grid.parse_vary("pools.gpu.reserved=10,11")]
    local = sweep.run_sweep(sc, axes, 12, 3, workers=2)
    dask = sweep.run_sweep(sc, axes, 12, 3, workers=2, backend="dask")
    pd.testing.assert_frame_equal(local.points, dask.points, check_exact=True)
    assert local.summary == dask.summary


def test_folder_store_writes_each_block_atomically(tmp_path):
    st = store.FolderStore(tmp_path)
    frame = pd.DataFrame({"replication": [0, 1], "x": [1.0, 2.0]})
    st.save("v0000-r000000-000002", frame)
    assert st.has("v0000-r000000-000002")
    assert list((tmp_path / "chunks").iterdir()) == [
        tmp_path / "chunks/v0000-r000000-000002.parquet"
    ]
    pd.testing.assert_frame_equal(st.load("v0000-r000000-000002"), frame)


def test_a_chance_constraint_says_how_many_replications_it_needs(tmp_path):
    # at n runs the best Wilson lower bound is n / (n + z^2): 0.9 needs 35 (34 of 34 gives
    # 0.8985), 0.95 needs 73
    from sim.sweep import replications_for_certainty, wilson

    for level, need in ((0.9, 35), (0.95, 73), (0.99, 381)):
        assert replications_for_certainty(level) == need
        assert wilson(need, need)[0] >= level > wilson(need - 1, need - 1)[0]
    r = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", "configs/examples/mmc.toml", "--set",
         "scenario.years=0.02", "--vary", "pools.gpu.reserved=10,12", "-n", "6",
         "--constraint", "P(wait_hours.jobs.p95<=5)>=0.9", "--out", str(tmp_path / "s")],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0
    err, out = " ".join(r.stderr.split()), " ".join(r.stdout.split())  # as wrapped
    assert "that takes at least 35 replications" in err  # said up front
    assert "it takes 35 to be sure" in out  # and beside the result
