"""Decided sweeps (``--until-decided``): replications go where the decision is in doubt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import batch, grid, sweep
from sim.scenario import load_scenario
from sim.sweep.decide import decide, difference_interval

# A demand pool whose level is uncertain: uniform on 60..120 units, flat within a run, at
# $1 reserved and $2 on demand. Mean spend per hour at reserved level R is
# R + 2 E[(L − R)⁺] = R + (120 − R)² / 60 on 60 ≤ R ≤ 120: the newsvendor optimum is the
# median, 90 ($105/h), with 70 and 110 both $6.67/h dearer and 50, 130, 150 far off.
KEY = "pools.cpu.reserved"


@pytest.fixture(scope="module")
def level() -> Path:
    return Path(__file__).parent / "data/uncertain-level.toml"


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_decided_sweep_recommends_the_newsvendor_level_and_spends_runs_on_contenders(
    level: Path, seed: int
) -> None:
    sc = load_scenario(level)
    res = sweep.run_sweep(
        sc,
        [grid.parse_vary(f"{KEY}=50:150:20")],
        10,
        seed,
        until_decided=True,
        max_replications=400,
    )
    d = res.summary["decision"]
    assert d["decided"] and d["unsettled"] == []
    assert res.summary["recommended"][KEY] == 90
    runs = {int(label.split("=")[1]): n for label, n in d["replications_per_point"].items()}
    # the file holds exactly the replications the decision counts, 0..m-1 at each point
    counted = res.points.groupby(KEY)["replication"].agg(["count", "max"])
    assert counted["count"].to_dict() == runs
    assert (counted["max"] + 1 == counted["count"]).all()
    assert d["replications_used"] == len(res.points)
    # far points are dropped early; the contenders 70, 90 and 110 need many more
    assert max(runs[50], runs[130], runs[150]) < min(runs[70], runs[90])
    assert runs[90] >= runs[70] and runs[90] >= runs[110]
    assert sum(runs.values()) < 6 * runs[90]  # cheaper than running every point as far


def test_budget_end_with_a_tie_is_reported_as_not_decided(level: Path) -> None:
    # no run ever overflows a reservation of 150, so the on-demand price changes nothing:
    # the two points tie exactly and no number of runs separates them
    sc = load_scenario(level, [f"{KEY}=150"])
    axis = grid.parse_vary("overflow.on-demand.price_per_unit_hour=2,3")
    res = sweep.run_sweep(sc, [axis], 10, 3, until_decided=True, max_replications=30)
    d = res.summary["decision"]
    assert not d["decided"]
    assert d["unsettled"] == ["overflow.on-demand.price_per_unit_hour=3"]
    assert d["replications_per_point"] == {
        "overflow.on-demand.price_per_unit_hour=2": 30,
        "overflow.on-demand.price_per_unit_hour=3": 30,
    }


def _frame(values: np.ndarray, **cols: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"replication": np.arange(len(values)), "spend_usd.total": values, **cols})


def test_a_point_is_dropped_exactly_when_the_bonferroni_paired_t_interval_clears_zero() -> None:
    rng = np.random.default_rng(5)
    common = rng.normal(100.0, 10.0, 40)  # shared luck: common random numbers
    best = common + rng.normal(0.0, 1.0, 40)
    near = common + 0.3 + rng.normal(0.0, 1.0, 40)
    far = common + 3.0 + rng.normal(0.0, 1.0, 40)
    d = decide([_frame(best), _frame(near), _frame(far)], "mean", [], "spend_usd.total")
    assert d.best == 0 and d.settled == [True, False, True] and d.alive == [0, 1]
    # by hand: a paired t interval at 1 − 0.05/2 for each of the two comparisons
    for other, settled in ((near, False), (far, True)):
        diff = other - best
        half = stats.t.ppf(1 - 0.025 / 2, 39) * diff.std(ddof=1) / np.sqrt(40)
        assert (diff.mean() - half > 0) == settled
        lo, hi = difference_interval(other, best, "mean", 1 - 0.025)
        assert (lo, hi) == pytest.approx((diff.mean() - half, diff.mean() + half))
    # without the pairing (independent runs) the far point would not be separable at all
    pooled = np.sqrt((far.var(ddof=1) + best.var(ddof=1)) / 40)
    assert far.mean() - best.mean() < 2 * pooled


def test_control_variates_narrow_the_difference_only_where_they_help() -> None:
    rng = np.random.default_rng(8)
    luck = rng.normal(0.0, 1.0, 60)  # the offered-work control: mean exactly zero
    a = 100 + 5.0 * luck + rng.normal(0.0, 0.5, 60)
    b = 99 + rng.normal(0.0, 0.5, 60)  # the difference a − b moves with the control
    controls = luck[:, None]
    plain = difference_interval(a, b, "mean", 0.95)
    narrowed = difference_interval(a, b, "mean", 0.95, controls)
    assert narrowed[1] - narrowed[0] < 0.3 * (plain[1] - plain[0])
    assert narrowed[0] < 1.0 < narrowed[1]  # the true difference is 1
    noise = rng.normal(0.0, 1.0, (60, 1))  # a control unrelated to the difference
    kept = difference_interval(a, b, "mean", 0.95, noise)
    assert kept[1] - kept[0] <= plain[1] - plain[0] + 1e-12


def test_chance_constraints_are_settled_by_their_wilson_interval() -> None:
    c = sweep.parse_constraint("P(wait_hours.jobs.p95<=24)>=0.9")
    spend = np.full(30, 100.0)
    ok = _frame(spend + 0, **{"wait_hours.jobs.p95": np.full(30, 1.0)})  # 30 of 30
    doubt = _frame(spend - 5, **{"wait_hours.jobs.p95": np.r_[np.full(28, 1.0), 99, 99]})
    bad = _frame(spend - 9, **{"wait_hours.jobs.p95": np.r_[np.full(15, 1.0), np.full(15, 99)]})
    d = decide([ok, doubt, bad], "mean", [c], "spend_usd.total")
    # 28/30 = 93 % meets 0.9 by its estimate, so it is the incumbent, but its Wilson interval
    # (79 %–98 %) straddles the level: the incumbent is not settled and runs on alone (the
    # dearer point waits: it is compared again if the incumbent falls); 15/30 is certainly
    # below the level whatever it costs
    assert sweep.wilson(28, 30)[0] < 0.9 < sweep.wilson(28, 30)[1]
    assert sweep.wilson(15, 30)[1] < 0.9
    assert d.best == 1
    assert d.settled == [True, False, True] and d.alive == [1] and not d.decided
    assert "not yet certainly met" in d.reasons[1]
    assert "certainly breaks" in d.reasons[2]


def test_a_decided_sweep_resumes_from_its_blocks_without_new_work(
    level: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = load_scenario(level)
    axes = [grid.parse_vary(f"{KEY}=50:150:20")]
    store = batch.MemoryStore()
    first = sweep.run_sweep(sc, axes, 10, 3, store=store, until_decided=True)

    def refuse(block: batch.Block) -> None:
        raise AssertionError(f"block {block.id} ran again")

    monkeypatch.setattr(batch, "run_block", refuse)
    again = sweep.run_sweep(sc, axes, 10, 3, store=store, until_decided=True)
    assert again.summary["decision"] == first.summary["decision"]
    pd.testing.assert_frame_equal(again.points, first.points)


def test_cli_until_decided_writes_the_decision_and_names_points_in_doubt(
    level: Path, tmp_path: Path
) -> None:
    cmd = [sys.executable, "-m", "sim", "sweep", str(level), "--until-decided", "-n", "10"]
    done = subprocess.run(
        [*cmd, "--vary", f"{KEY}=50:150:20", "--out", str(tmp_path / "a"), "--show", "idle_unit*"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "a/summary.json").read_text())
    assert summary["decision"]["decided"] and summary["recommended"][KEY] == 90
    assert "decided at 95%" in done.stdout
    # the report says the same, with each size's replications
    from sim.report import sweep_tables

    page = sweep_tables(tmp_path / "a")
    assert "Decided at 95%" in page and "<th>runs</th>" in page
    # --show: the mean of each matching metric per point, beside the objective
    assert "idle" in done.stdout.split("recommended")[0] and "--show PATTERN" in done.stdout
    tie = subprocess.run(
        [
            *cmd,
            "--set",
            f"{KEY}=150",
            "--max-replications",
            "20",
            "--out",
            str(tmp_path / "b"),
            "--vary",
            "overflow.on-demand.price_per_unit_hour=2,3",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tie.returncode == 0, tie.stderr
    assert "NOT decided" in tie.stdout and "price_per_unit_hour=3" in tie.stdout
    both = subprocess.run(
        [*cmd, "--target-ci", "1", "--vary", f"{KEY}=50,90", "--out", str(tmp_path / "c")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert both.returncode != 0 and "--until-decided" in both.stderr
    assert "Traceback" not in both.stderr


@pytest.mark.parametrize("mode", ["until_decided", "target_ci"])
def test_progress_counts_each_replication_once_when_runs_are_added(level: Path, mode: str) -> None:
    """The bar's total grows as blocks are added; what it is told is done must end equal to
    it (the --target-ci loop once re-counted every finished block on each round)."""
    done: list[int] = []
    total: list[int] = []
    extra = {"until_decided": True} if mode == "until_decided" else {"target_ci_pct": 0.5}
    res = sweep.run_sweep(
        load_scenario(level), [grid.parse_vary(f"{KEY}=70,90")], 10, 3,
        max_replications=60, progress=done.append, on_total=total.append, **extra,
    )  # fmt: skip
    assert len(total) > 1  # runs were added after the first block
    assert sum(done) == sum(total) == len(res.points)


def test_the_first_eta_counts_the_blocks_running_beside_the_first_one():
    """Measured on this machine: a 9-point baseline sweep, -n 10, 2 workers: the first block
    of 10 (of 90) finished after 104 s, and the sweep ended 393 s later. Counting only the
    finished block said 832 s to go (2.1× the truth); counting its neighbour, within 30 %."""
    from sim.cli.common import eta_seconds

    truth = 393.0
    assert abs(eta_seconds(104.0, 10, 90, 2) - truth) <= 0.3 * truth
    assert eta_seconds(104.0, 10, 90, 1) == pytest.approx(104.0 / 10 * 80)  # one worker: as was
    assert eta_seconds(50.0, 10, 10, 4) == 0.0  # all done: nothing left
