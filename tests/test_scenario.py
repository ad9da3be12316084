"""Scenario loading and validation: good files load, bad ones say what, where and why."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

import sim
from sim import distributions as d
from sim.catalogue import find
from sim.errors import ScenarioError
from sim.scenario import load_scenario

GOOD = """
[scenario]
name = "s"
years = 2

[pools.trn]
unit = "chip"
instance_units = 16
reserved = [32, 64]
price_per_unit_hour = 1.5

[[overflow]]
name = "od"
pool = "trn"
price_per_unit_hour = { dist = "uniform", low = 2.0, high = 3.0 }

[workloads.train]
kind = "jobs"
pool = "trn"
arrivals_per_day = 2
units = { dist = "choice", values = [8, 32], weights = [3, 1] }
duration_hours = { dist = "lognormal", median = 10, sigma = 0.5 }
max_wait_hours = 12
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_scenario_loads(tmp_path):
    sc = load_scenario(write(tmp_path, GOOD))
    assert sc.pools["trn"].reserved == (32, 64)
    assert sc.horizon_hours == 2 * 8760
    assert not sc.overflow[0].price_per_unit_hour.is_fixed
    assert sc.workloads["train"].max_wait_hours.dist.mean() == 12


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            ("reserved = [32, 64]", "reservd = [32, 64]"),
            r"pools\.trn\.reservd: unknown key \(did you mean \"reserved\"\?\)",
        ),
        (
            ("reserved = [32, 64]", "reserved = [32]"),
            r"pools\.trn\.reserved: gives 1 contract years but the horizon has 2",
        ),
        (
            ("reserved = [32, 64]", "reserved = [32, 60]"),
            r"pools\.trn\.reserved\[1\]: must be a multiple of instance_units \(16\), got 60",
        ),
        (
            ("median = 10", "median = -3"),
            r"workloads\.train\.duration_hours\.median: must be > 0, got -3",
        ),
        (
            ('dist = "lognormal"', 'dist = "lognormla"'),
            r"duration_hours\.dist: must be one of .*did you mean \"lognormal\"",
        ),
        (
            ('kind = "jobs"', 'kind = "job"'),
            r"workloads\.train\.kind: must be one of jobs, demand, trace",
        ),
        (
            ('pool = "trn"\narrivals', 'pool = "trm"\narrivals'),
            r"workloads\.train\.pool: names no pool: 'trm' \(did you mean \"trn\"\?\)",
        ),
        (
            ("max_wait_hours = 12", 'max_wait_hours = "soon"'),
            r"max_wait_hours: must be a number or \"inf\", got 'soon'",
        ),
        (("years = 2", "years = 0"), r"scenario\.years: must be > 0, got 0"),
        (('name = "s"', ""), r"scenario\.name: is required"),
    ],
)
def test_bad_scenarios_name_file_key_and_value(tmp_path, edit, match):
    text = GOOD.replace(*edit)
    assert text != GOOD
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=match) as info:
        load_scenario(path)
    assert str(info.value).startswith(str(path))


def test_policy_values_are_checked(tmp_path):
    path = write(tmp_path, GOOD + '\n[policy]\nqueue = "lifo"\n')
    with pytest.raises(
        ScenarioError, match=r"policy\.queue: must be one of fifo, priority, backfill"
    ):
        load_scenario(path)


def test_invalid_toml_is_reported_with_its_position(tmp_path):
    path = write(tmp_path, GOOD + "\nthis is = = not toml\n")
    with pytest.raises(ScenarioError, match=r"not valid TOML: .*line"):
        load_scenario(path)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.toml")


def test_set_overrides_apply_dotted_paths_and_overflow_names(tmp_path):
    path = write(tmp_path, GOOD)
    sc = load_scenario(
        path,
        [
            "pools.trn.reserved=48",
            "overflow.od.capacity=64",
            'policy.queue="backfill"',
            "scenario.years=0.5",
        ],
    )
    assert sc.pools["trn"].reserved == (48,)
    assert sc.overflow[0].capacity.dist.mean() == 64
    assert sc.policy.queue == "backfill"
    with pytest.raises(
        ScenarioError, match=r"--set: overflow\.odd: names no entry \(did you mean \"od\"\?\)"
    ):
        load_scenario(path, ["overflow.odd.capacity=1"])
    with pytest.raises(ScenarioError, match=r"--set: pools\.trm: names no pool"):
        load_scenario(path, ["pools.trm.reserved=1"])
    with pytest.raises(ScenarioError, match=r"--set: pools\.trn\.reserved: must be KEY=VALUE"):
        load_scenario(path, ["pools.trn.reserved"])


def test_reserved_scale_rounds_down_to_whole_instances(tmp_path):
    sc = load_scenario(write(tmp_path, GOOD), ["pools.trn.reserved_scale=1.3"])
    assert sc.pools["trn"].reserved == (32, 80)  # 41.6 -> 32, 83.2 -> 80


def test_trace_files_are_checked_row_by_row(tmp_path):
    (tmp_path / "t.csv").write_text("submit_hours,units,duration_hours\n0,1,2\n1,x,2\n")
    text = (
        GOOD.split("[workloads.train]", maxsplit=1)[0]
        + '[workloads.r]\nkind = "trace"\npool = "trn"\nfile = "t.csv"\n'
    )
    with pytest.raises(
        ScenarioError, match=r"t\.csv: line 3: column 'units' must be a number, got 'x'"
    ):
        load_scenario(write(tmp_path, text))
    (tmp_path / "t.csv").write_text("submit,units,duration_hours\n0,1,2\n")
    with pytest.raises(ScenarioError, match=r"lacks required column 'submit_hours'"):
        load_scenario(write(tmp_path, text))


def test_recorded_demand_refuses_synthetic_keys(tmp_path):
    (tmp_path / "d.csv").write_text("hour,units\n0,5\n1,6\n")
    text = GOOD.split("[workloads.train]", maxsplit=1)[0] + (
        '[workloads.h]\nkind = "demand"\npool = "trn"\nfile = "d.csv"\ndemand_units = 4\n'
    )
    with pytest.raises(
        ScenarioError, match=r"workloads\.h\.demand_units: is not allowed with 'file'"
    ):
        load_scenario(write(tmp_path, text))


def test_empirical_distribution_reads_its_column(tmp_path):
    (tmp_path / "sizes.csv").write_text("units\n4\n8\n8\n")
    text = GOOD.replace(
        '{ dist = "choice", values = [8, 32], weights = [3, 1] }',
        '{ dist = "empirical", file = "sizes.csv", column = "units" }',
    )
    sc = load_scenario(write(tmp_path, text))
    assert sc.workloads["train"].units.mean() == pytest.approx(20 / 3)


DISTS = [
    d.Exponential(3.0),
    d.Lognormal(2.0, 0.7),
    d.Gamma(5.0, 0.4),
    d.Uniform(1.0, 9.0),
    d.Normal(4.0, 1.5),
    d.Choice((1.0, 4.0, 16.0), (0.5, 0.3, 0.2)),
    d.Empirical("x.csv", "v", np.array([1.0, 2.0, 10.0])),
    d.Fixed(7.0),
]


@pytest.mark.parametrize("dist", DISTS, ids=lambda x: type(x).__name__)
def test_sample_means_match_analytic_means(dist):
    x = dist.sample(np.random.default_rng(0), 200_000)
    se = x.std() / math.sqrt(len(x))
    assert abs(x.mean() - dist.mean()) <= 4 * se + 1e-12


def test_lognormal_noise_has_mean_one_and_the_given_cv():
    x = d.lognormal_factor(np.random.default_rng(1), 0.3, 400_000)
    assert abs(x.mean() - 1) < 4 * x.std() / math.sqrt(len(x))
    assert x.std() / x.mean() == pytest.approx(0.3, rel=0.01)


SHIPPED = sorted(
    p
    for p in Path("configs").rglob("*.toml")
    if "stress" not in p.parts and "alternatives" not in p.parts
)


@pytest.mark.parametrize("path", SHIPPED, ids=str)
def test_every_shipped_scenario_loads_and_runs_a_short_horizon(path):
    # (stress files and alternatives are partial scenarios: tests/test_stress.py and
    # tests/test_commitments.py merge and check each)
    sc = load_scenario(path, ["scenario.years=0.1"])
    result = sim.run(sc, n=2, workers=1)
    assert result.replications["spend_usd.total"].gt(0).all()
    assert set(result.timeseries["pool"]) == set(sc.pools)
    # every metric it emits has a label, a unit and a meaning (sim/catalogue.py)
    uncatalogued = [m for m in result.replications if m != "replication" and not find(m)]
    assert not uncatalogued


def test_a_workloads_keys_follow_its_kind(tmp_path):
    """Workloads are a union tagged by kind: a demand key on a jobs workload is unknown
    there, and the message lists the jobs keys."""
    text = GOOD.replace("max_wait_hours = 12", "max_wait_hours = 12\ndemand_units = 3")
    with pytest.raises(
        ScenarioError,
        match=r"workloads\.train\.demand_units: unknown key; allowed: kind, pool, arrivals_per_day",
    ):
        load_scenario(write(tmp_path, text))
    demand = GOOD.replace('kind = "jobs"', 'kind = "demand"').replace(
        "arrivals_per_day = 2", 'column = "units"'
    )
    with pytest.raises(
        ScenarioError, match=r"workloads\.train\.column: is allowed only with 'file'"
    ):
        load_scenario(write(tmp_path, demand))


def test_the_document_keeps_defaults_and_what_the_file_gave(tmp_path):
    from sim.scenario.document import read_document

    doc = read_document(tomllib.loads(GOOD), "s.toml")
    pool = doc.pools["trn"]
    assert pool.instance_units == 16 and pool.reserved == [32.0, 64.0]
    assert pool.speed == 1.0 and not pool.has("speed") and pool.has("reserved")
    assert doc.policy.queue == "fifo" and doc.contract.period == "term"
    train = doc.workloads["train"]
    assert train.kind == "jobs" and train.max_wait_hours == 12.0
    assert doc.overflow[0].price_per_unit_hour.dist == "uniform"
