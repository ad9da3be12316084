"""``capsim compare``: alternatives × cases on common random numbers; regret, worst-case
regret and the minimax-regret choice recomputed from the cells; a closed-form regret."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.cli import main

BASE = """
[scenario]
name = "cmpbase"
years = 2
seed = 5
[pools.gpu]
reserved = 10
price_per_unit_hour = 1.0
on_demand_price_per_unit_hour = 2.0
[[overflow]]
name = "od"
pool = "gpu"
price_per_unit_hour = 2.0
[workloads.d]
kind = "demand"
pool = "gpu"
demand_units = { dist = "uniform", low = 6, high = 14 }
noise_cv = 0.2
daily_amplitude = 0.3
"""
LADDER = """
[scenario]
name = "ladder"
[pools.gpu]
reserved = 0
[[commitments]]
name = "y1"
kind = "reserved"
pool = "gpu"
units = 8
discount = 0.35
term_years = 1
renew = true
"""
PLAN = """
[scenario]
name = "savings-plan"
[pools.gpu]
reserved = 0
[[commitments]]
name = "sp"
kind = "savings_plan"
usd_per_hour = 12
covers = { od = 0.6 }
term_years = 3
"""
BOOM = '[scenario]\nname = "boom"\n[workloads.d]\ndemand_units = { times = 1.6 }\n'
BUST = '[scenario]\nname = "bust"\n[workloads.d]\ndemand_units = { times = 0.4 }\n'


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    for name, text in [("base", BASE), ("ladder", LADDER), ("sp", PLAN), ("boom", BOOM),
                       ("bust", BUST)]:  # fmt: skip
        (d / f"{name}.toml").write_text(text)
    out = d / "out"
    args = ["compare", str(d / "base.toml"), str(d / "ladder.toml"), str(d / "sp.toml")]
    args += ["--stress", str(d / "boom.toml"), str(d / "bust.toml"), "-n", "12"]
    args += ["--out", str(out), "--workers", "1", "--report"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    cells = pd.read_parquet(out / "cells.parquet")
    return out, summary, cells


def _x(cells, a, k, m="spend_usd.total"):
    g = cells[(cells["alternative"] == a) & (cells["case"] == k)].sort_values("replication")
    return g[m].to_numpy()


def test_every_alternative_runs_under_every_case(study):
    _, s, cells = study
    assert s["alternatives"] == ["as-written", "ladder", "savings-plan"]
    assert s["cases"] == ["baseline", "boom", "bust"]
    assert len(cells) == 3 * 3 * 12


def test_replication_i_sees_the_same_demand_in_every_alternative(study):
    _, s, cells = study
    for k in s["cases"]:
        ref = _x(cells, "as-written", k, "control.expected_work.gpu")
        for a in s["alternatives"][1:]:
            assert np.array_equal(_x(cells, a, k, "control.expected_work.gpu"), ref)
            offered = _x(cells, "as-written", k, "control.offered_work.gpu")
            assert np.array_equal(_x(cells, a, k, "control.offered_work.gpu"), offered)


def test_regret_and_minimax_recomputed_from_the_cells(study):
    _, s, cells = study
    worst = {}
    for k in s["cases"]:
        means = {a: _x(cells, a, k).mean() for a in s["alternatives"]}
        best = min(means, key=means.get)
        assert s["best"][k] == best
        for a in s["alternatives"]:
            d = _x(cells, a, k) - _x(cells, best, k)
            r = s["regret"][a][k]
            assert r["mean"] == pytest.approx(d.mean(), rel=1e-9, abs=1e-6)
            assert s["cells"][a][k]["objective_value"] == pytest.approx(means[a])
            worst[a] = max(worst.get(a, -np.inf), d.mean())
    for a, w in worst.items():
        assert s["worst_case_regret"][a]["mean"] == pytest.approx(w, rel=1e-9, abs=1e-6)
    assert s["minimax_regret"] == min(worst, key=worst.get)
    assert s["best_as_planned"] == s["best"]["baseline"]


def test_a_savings_plan_in_place_of_a_reservation_costs_its_premium_in_every_case(study):
    # 10 reserved at $1/h against $12/h that pays on demand at 0.6 x $2 = 10 units an hour:
    # both cover the first 10 units and bill the rest alike, so the plan costs $2/h more in
    # every replication of every case, and leaves one year of its three-year term ($12/h)
    _, s, cells = study
    for k in s["cases"]:
        d = _x(cells, "savings-plan", k) - _x(cells, "as-written", k)
        assert np.allclose(d, 2.0 * 2 * 8760, rtol=1e-9)
    lock = s["cells"]["savings-plan"]["baseline"]["metrics"]["commitment_beyond_horizon_usd"]
    assert lock["mean"] == pytest.approx(12 * 8760)
    assert (
        s["cells"]["as-written"]["baseline"]["metrics"]["commitment_beyond_horizon_usd"]["mean"]
        == 0.0
    )


def test_the_report_and_exports_hold_the_matrix(study):
    out, _, _ = study
    page = (out / "report.html").read_text()
    assert "minimax" in page.lower() or "worst-case regret" in page
    assert sorted(p.stem for p in (out / "figures").glob("*.png")) == [
        "compare-lock-in",
        "compare-regret",
        "compare-spend",
    ]
    assert main(["export", str(out)]) == 0
    matrix = pd.read_csv(out / "export" / "matrix.csv")
    assert len(matrix) == 9 and matrix["minimax_regret_choice"].sum() == 3


def test_a_constraint_keeps_an_infeasible_alternative_from_being_best(tmp_path):
    for name, text in [("base", BASE), ("sp", PLAN)]:
        (tmp_path / f"{name}.toml").write_text(text)
    out = tmp_path / "out"
    # the base (reserved 10, idle when demand is low) breaks a cap on idle spend; the plan
    # has no reserved units, so no idle spend: it must be the best though dearer
    args = ["compare", str(tmp_path / "base.toml"), str(tmp_path / "sp.toml"), "-n", "6"]
    args += ["--constraint", "idle_spend_usd.gpu<=1", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    s = json.loads((out / "summary.json").read_text())
    assert not s["cells"]["as-written"]["baseline"]["feasible"]
    assert s["cells"]["savings-plan"]["baseline"]["feasible"]
    assert s["best"]["baseline"] == "savings-plan"


def test_lock_in_exposure_by_year_priced_by_hand(study):
    # as written: 10 reserved for 2 years at $1 (signed at the start for the term); the
    # savings plan: $12/h for 3 years from the start; the ladder: 8 units at 0.65 x $2 for a
    # year, renewed at 1 y (a renewal counts from its start)
    _, s, _ = study
    H = 8760.0

    def locked(a, year):
        return s["cells"][a]["baseline"]["metrics"][f"locked_in_usd.year{year}"]["mean"]

    assert locked("as-written", 1) == pytest.approx(10 * 2 * H)
    assert locked("as-written", 2) == pytest.approx(10 * H)
    assert locked("savings-plan", 1) == pytest.approx(12 * 3 * H)
    assert locked("savings-plan", 2) == pytest.approx(12 * 2 * H)
    assert locked("ladder", 1) == pytest.approx(8 * 1.3 * H)
    assert locked("ladder", 2) == pytest.approx(8 * 1.3 * H)
