"""Stress files: merging over the base, their errors, and paired comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import stress
from sim.errors import ScenarioError
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base():
    return load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=0.1"])


def test_merge_is_deep_and_overflow_merges_by_name(base):
    patch = {
        "scenario": {"name": "x"},
        "pools": {"trainium": {"price_per_unit_hour": 2.0}},
        "overflow": [
            {"name": "coreweave-h100", "capacity": 8},
            {"name": "new", "pool": "trainium", "price_per_unit_hour": 9.0},
        ],
        "workloads": {"pretraining": {"growth_per_year": {"dist": "fixed", "value": 0.1}}},
    }
    merged = stress.merge(base.raw, patch, "s.toml")
    assert merged["pools"]["trainium"]["price_per_unit_hour"] == 2.0
    assert merged["pools"]["trainium"]["instance_units"] == 16  # untouched keys stay
    cw = next(t for t in merged["overflow"] if t["name"] == "coreweave-h100")
    assert cw["capacity"] == 8 and cw["price_per_unit_hour"] == 6.16
    assert merged["overflow"][-1]["name"] == "new"
    # a distribution replaces the old value whole, it is not merged key by key
    assert merged["workloads"]["pretraining"]["growth_per_year"] == {"dist": "fixed", "value": 0.1}
    assert base.raw["pools"]["trainium"]["price_per_unit_hour"] == 1.68  # base untouched


@pytest.mark.parametrize(
    "path", sorted((ROOT / "configs/stress").glob("*.toml")), ids=lambda p: p.name
)
def test_every_shipped_stress_file_merges_and_changes_something(base, path):
    case = stress.load_case(base, path)
    assert case.name == path.stem
    assert case.description

    def body(raw):  # the scenario less its [scenario] table, which a case always renames
        return {k: v for k, v in raw.items() if k != "scenario"}

    assert body(case.scenario.raw) != body(base.raw)


def test_bad_stress_files_say_which_file_and_key(base, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[scenario]\nname = "bad"\n[pools.trainium]\nreservd = 5\n')
    with pytest.raises(
        ScenarioError,
        match=r"bad\.toml: pools\.trainium\.reservd: unknown key "
        r"\(did you mean \"reserved\"\?\).*after merging",
    ):
        stress.load_case(base, p)
    p.write_text("[pools.trainium]\nreserved = 16\n")
    with pytest.raises(ScenarioError, match=r"bad\.toml: scenario\.name: is required"):
        stress.load_case(base, p)
    p.write_text('[scenario]\nname = "x"\n[[overflow]]\ncapacity = 3\n')
    with pytest.raises(ScenarioError, match=r"overflow\[0\]\.name: is required"):
        stress.load_case(base, p)
    for key, value in (("years", "3"), ("seed", "99")):
        p.write_text(f'[scenario]\nname = "x"\n{key} = {value}\n')
        with pytest.raises(
            ScenarioError, match=rf"bad\.toml: scenario\.{key}: cannot be changed by a stress file"
        ):
            stress.load_case(base, p)
    p.write_text('[scenario]\nname = "x"\n[workloads.pretraining]\narrivals_per_day = -1\n')
    with pytest.raises(
        ScenarioError, match=r"workloads\.pretraining\.arrivals_per_day: must be >= 0"
    ):
        stress.load_case(base, p)


def test_stress_cases_are_paired_with_the_baseline(base, tmp_path):
    cut = tmp_path / "price-cut.toml"
    cut.write_text(
        '[scenario]\nname = "price-cut"\ndescription = "overflow at half price"\n'
        '[[overflow]]\nname = "aws-capacity-blocks-trn2"\nprice_steps = '
        '[{ at_years = 0.0, factor = 0.5 }]\n[[overflow]]\nname = "coreweave-h100"\n'
        "price_steps = [{ at_years = 0.0, factor = 0.5 }]\n[[overflow]]\n"
        'name = "aws-on-demand-graviton"\nprice_steps = [{ at_years = 0.0, factor = 0.5 }]\n'
    )
    files = [cut, ROOT / "configs/stress/demand-bust.toml"]
    base = load_scenario(
        ROOT / "configs/baseline.toml",
        ["scenario.years=0.4", "overflow.coreweave-h100.transfer_usd_per_job=0"],
    )
    res = stress.run_stress(base, files, n=2, seed=4)
    cases = {c["case"]: c for c in res.summary["cases"]}
    assert set(cases) == {"baseline", "price-cut", "demand-bust"}
    # a price cut changes no queue: identical waits, lower overflow spend, paired exactly
    pc = cases["price-cut"]["change"]
    assert pc["wait_hours.pretraining.p95"]["mean"] == 0
    assert pc["wait_hours.pretraining.p95"]["sd"] == 0
    assert pc["spend_usd.overflow"]["mean"] < 0
    base_overflow = cases["baseline"]["metrics"]["spend_usd.overflow"]["mean"]
    # every overflow price halves and no queue changes: overflow spend halves, run by run
    assert pc["spend_usd.overflow"]["mean"] == pytest.approx(-base_overflow / 2, rel=1e-9)
    assert cases["baseline"]["change"]["spend_usd.total"]["mean"] == 0
    # a bust leaves more of the reservation idle
    assert cases["demand-bust"]["change"]["idle_unit_hours.trainium"]["mean"] > 0
    assert set(res.cases["case"]) == set(cases)
    assert len(res.cases) == 6


def test_stress_with_vary_reoptimizes_the_contract_per_case(base):
    from sim import grid

    res = stress.run_stress(
        base,
        [ROOT / "configs/stress/demand-boom.toml"],
        n=2,
        seed=1,
        axes=[grid.parse_vary("pools.trainium.reserved_scale=0.8,1.2")],
    )
    reopt = res.summary["reoptimized"]
    assert set(reopt) == {"baseline", "demand-boom"}
    for rec in reopt.values():
        assert rec["pools.trainium.reserved_scale"] in (0.8, 1.2)
    assert reopt["baseline"]["objective_change_vs_baseline"] == 0
    # a boom needs more capacity: the re-optimised size is the larger one, and it costs more
    boom = reopt["demand-boom"]
    assert boom["pools.trainium.reserved_scale"] == 1.2
    assert boom["objective_change_vs_baseline"] > 0


def test_a_stress_file_that_changes_nothing_differs_by_zero_in_every_replication(tmp_path):
    base = load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=0.2"])
    same = tmp_path / "same.toml"
    # restates two base values: merged, the scenario is the base under another name
    same.write_text(
        '[scenario]\nname = "same"\ndescription = "restates the base"\n'
        "[pools.trainium]\ninstance_units = 16\n[policy]\n"
        f'queue = "{base.policy.queue}"\n'
    )
    res = stress.run_stress(base, [same], n=3, seed=2)
    rows = res.cases.set_index(["case", "replication"])
    metrics = [c for c in rows.columns if rows[c].dtype.kind == "f"]
    diff = rows.loc["same", metrics].to_numpy() - rows.loc["baseline", metrics].to_numpy()
    assert len(metrics) > 20
    assert (diff[~np.isnan(diff)] == 0).all()


def test_relative_values_follow_the_base(base, tmp_path):
    patch = {
        "scenario": {"name": "rel"},
        "pools": {"trainium": {"reserved": {"times": 0.5}, "price_per_unit_hour": {"plus": -0.18}}},
        "workloads": {
            "pretraining": {
                "arrivals_per_day": {"times": 0.6},
                "growth_per_year": {"plus": 0.1},  # a normal: its mean moves, its sd stays
                "duration_hours": {"times": 2.0},  # a lognormal: its median scales
            },
            "experiments": {"units": {"times": 2}},  # a choice: every value
        },
        "overflow": [{"name": "coreweave-h100", "price_per_unit_hour": {"times": 0.5}}],
    }
    raw = base.raw
    merged = stress.merge(raw, patch, "rel.toml")
    assert merged["pools"]["trainium"]["reserved"] == [
        r / 2 for r in raw["pools"]["trainium"]["reserved"]
    ]
    assert merged["pools"]["trainium"]["price_per_unit_hour"] == pytest.approx(1.68 - 0.18)
    pre, pre0 = merged["workloads"]["pretraining"], raw["workloads"]["pretraining"]
    assert pre["arrivals_per_day"] == pytest.approx(0.6 * pre0["arrivals_per_day"])
    assert pre["growth_per_year"]["mean"] == pytest.approx(pre0["growth_per_year"]["mean"] + 0.1)
    assert pre["growth_per_year"]["sd"] == pre0["growth_per_year"]["sd"]
    assert pre["duration_hours"]["median"] == 2 * pre0["duration_hours"]["median"]
    assert pre["duration_hours"]["sigma"] == pre0["duration_hours"]["sigma"]
    ex0 = raw["workloads"]["experiments"]["units"]
    assert merged["workloads"]["experiments"]["units"]["values"] == [2 * v for v in ex0["values"]]
    assert merged["workloads"]["experiments"]["units"]["weights"] == ex0["weights"]
    cw = next(t for t in merged["overflow"] if t["name"] == "coreweave-h100")
    assert cw["price_per_unit_hour"] == pytest.approx(6.16 / 2)
    assert cw["pool"] == "trainium"  # the rest of the target is kept


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"workloads": {"pretraining": {"duration_hours": {"plus": 1}}}},
            r"plus = \.\.\. \} does not keep a lognormal",
        ),
        (
            {"pools": {"trainium": {"credit_fraction": {"times": 2}}}},
            r"which sets no pools\.trainium\.credit_fraction",
        ),
        (
            {"workloads": {"pretraining": {"arrivals_per_day": {"times": "x"}}}},
            r"arrivals_per_day\.times: must be a finite number",
        ),
    ],
)
def test_bad_relative_values_name_the_key(base, patch, message):
    with pytest.raises(ScenarioError, match=message):
        stress.merge(base.raw, {"scenario": {"name": "x"}, **patch}, "bad.toml")


def test_a_relative_value_outside_a_stress_file_is_explained(tmp_path):
    from tests.helpers import build, gpu_pool

    with pytest.raises(ScenarioError, match="belongs in a stress file"):
        build(
            gpu_pool(),
            {
                "j": {
                    "kind": "jobs",
                    "pool": "gpu",
                    "arrivals_per_day": {"times": 2},
                    "units": 1,
                    "duration_hours": 1,
                }
            },
        )


def test_stress_changes_add_to_the_base_and_paths_are_relative_to_the_stress_file(base, tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "sizes.csv").write_text("value\n1\n2\n")
    case = folder / "case.toml"
    case.write_text(
        '[scenario]\nname = "case"\n'
        '[workloads.experiments]\nunits = { dist = "empirical", file = "sizes.csv" }\n'
        '[[changes]]\npool = "trainium"\nat_years = 0.05\nfactor = 0.5\n'
    )
    first = stress.load_case(base, case).scenario
    assert len(first.changes) == 1
    assert sorted(np.unique(first.workloads["experiments"].units.values)) == [1, 2]
    # a second case over a base that already has a change: the two compose
    again = stress.load_case(first, case).scenario
    assert len(again.changes) == 2


def test_the_shipped_stress_library_runs_and_each_case_moves_what_it_says():
    base = load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=1.5"])
    files = sorted((ROOT / "configs/stress").glob("*.toml"))
    res = stress.run_stress(base, files, n=1, seed=3, workers=2)
    cases = {c["case"]: c for c in res.summary["cases"]}
    assert set(cases) == {"baseline", *(f.stem for f in files)}
    rows = res.cases.set_index("case")

    def arrived(case, w="pretraining"):
        return rows.loc[case, f"jobs_arrived.{w}"]

    # -40 % from year 2 on 1.5 years: about 1 − 0.4 × 0.5 / 1.5 = 87 % of the jobs
    assert 0.75 < arrived("training-drop") / arrived("baseline") < 0.95
    assert arrived("demand-boom") > 1.3 * arrived("baseline")
    assert arrived("demand-bust") < 0.7 * arrived("baseline")
    # the boom starts in year 3: nothing changes within 1.5 years
    assert arrived("boom-and-return") == arrived("baseline")
    assert arrived("experiment-shocks", "pretraining") == arrived("baseline")
    assert cases["price-cut"]["change"]["wait_hours.pretraining.p95"]["mean"] == 0


def test_the_stress_table_shows_levels_changes_in_units_and_skips_still_metrics():
    import io

    from rich.console import Console

    from sim.cli import stress_tables

    def stat(mean, lo, hi, sd=1.0):
        return {"mean": mean, "sd": sd, "ci95_low": lo, "ci95_high": hi}

    summary = {
        "replications": 4,
        "cases": [
            {
                "case": "baseline",
                "metrics": {
                    "esr": stat(0.33, 0.3, 0.36),
                    "spend_usd.total": stat(4e9, 3.9e9, 4.1e9),
                    "spend_usd.shortfall": stat(0, 0, 0),
                },
                "change": {
                    "esr": stat(0, 0, 0, 0),
                    "spend_usd.total": stat(0, 0, 0, 0),
                    "spend_usd.shortfall": stat(0, 0, 0, 0),
                },
            },
            {
                "case": "bust",
                "metrics": {
                    "esr": stat(0.2, 0.1, 0.3),
                    "spend_usd.total": stat(3.6e9, 3.5e9, 3.7e9),
                    "spend_usd.shortfall": stat(0, 0, 0),
                },
                "change": {
                    "esr": stat(-0.13, -0.15, -0.11),
                    "spend_usd.total": stat(-4e8, -5e8, -3e8),
                    "spend_usd.shortfall": stat(0, 0, 0, 0),
                },
            },
        ],
    }
    # waits of every workload, idle chip-hours, and a metric only --show brings
    more = {
        **{f"wait_hours.w{k}.p95": (10.0 * k, 2.0 * k) for k in range(1, 5)},
        "idle_unit_hours.trainium": (5e6, -1e6),
        "utilization.trainium": (0.7, 0.05),
    }
    for name, (level, change) in more.items():
        summary["cases"][0]["metrics"][name] = stat(level, level, level)
        summary["cases"][0]["change"][name] = stat(0, 0, 0, 0)
        summary["cases"][1]["change"][name] = stat(change, change * 1.1, change * 0.9)

    def shown(show=()):
        console = Console(width=400, file=io.StringIO())
        for table in stress_tables(summary, show):
            console.print(table)
        return console.file.getvalue()

    text = shown()
    assert "33.0%" in text and "-13.0 pp" in text and "± 2.0 pp" in text  # rates: % and pp
    assert "-$400M" in text and "± $100M" in text
    assert "shortfall" not in text  # zero in every case: left out
    for k in range(1, 5):  # every workload's wait, not the first two
        assert f"w{k}" in text
    assert "idle" in text and "5M" in text
    assert "utilization" not in text.split("other metrics")[0]  # only on request
    assert "--show PATTERN" in text
    asked = shown(["utilization.*"])
    assert "asked for" in asked and "70.0%" in asked and "+5.0 pp" in asked
    assert "matches no metric" in shown(["nothing.*"])


def test_a_trace_against_the_bases_pools_replaces_its_workloads(tmp_path):
    from pathlib import Path

    import sim
    from sim.scenario import load_scenario
    from sim.stress import load_case

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "t.csv").write_text("submit_hours,units,duration_hours\n1,16,10\n5,32,20\n")
    case_file = tmp_path / "mine.toml"
    case_file.write_text(
        '[scenario]\nname = "my-trace"\nreplace_workloads = true\n'
        '[workloads.recorded]\nkind = "trace"\npool = "trainium"\nfile = "t.csv"\n'
    )
    base = load_scenario(root / "configs/baseline.toml", ["scenario.years=0.01"])
    case = load_case(base, case_file).scenario
    assert list(case.workloads) == ["recorded"] and set(case.pools) == set(base.pools)
    assert not case.changes and not case.shocks
    result = sim.run(case, n=1, workers=1)
    assert result.replications["spend_usd.total"].gt(0).all()
    # a scenario of its own has no base to replace: refused, by name
    plain = tmp_path / "plain.toml"
    plain.write_text(
        (root / "configs/examples/mmc.toml")
        .read_text()
        .replace("[scenario]", "[scenario]\nreplace_workloads = true", 1)
    )
    with pytest.raises(sim.ScenarioError, match="replace_workloads"):
        load_scenario(plain)
