"""The published JSON Schema: current, pointed at by every shipped config, accepting them,
rejecting typos, and listing exactly the keys the loader accepts."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sim.errors import ScenarioError
from sim.scenario import scenario_from_dict
from sim.schema import scenario_schema

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(
    p
    for p in (ROOT / "configs").rglob("*.toml")
    if "stress" not in p.parts and "alternatives" not in p.parts
)
# partial scenarios merged over a base: stress cases and alternatives
STRESS = sorted((ROOT / "configs/stress").glob("*.toml")) + sorted(
    (ROOT / "configs/alternatives").glob("*.toml")
)


def _plain(obj: Any) -> Any:
    """TOML as an editor's schema check sees it: dates as ISO strings."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def _errors(schema: dict[str, Any], data: dict[str, Any]) -> list[str]:
    v = jsonschema.Draft4Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(_plain(data))
    ]


def test_the_published_schemas_are_current():
    assert json.loads((ROOT / "docs/capsim.schema.json").read_text()) == scenario_schema()
    stress = json.loads((ROOT / "docs/capsim-stress.schema.json").read_text())
    assert stress == scenario_schema(stress=True)
    jsonschema.Draft4Validator.check_schema(scenario_schema())
    jsonschema.Draft4Validator.check_schema(scenario_schema(stress=True))


@pytest.mark.parametrize("path", SCENARIOS + STRESS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_file_names_its_schema_and_meets_it(path):
    first = path.read_text().splitlines()[0]
    m = re.fullmatch(r"#:schema (\S+)", first)
    assert m, f"{path.name} must start with a #:schema line"
    target = (path.parent / m.group(1)).resolve()
    stress = path in STRESS
    assert target == (
        ROOT / ("docs/capsim-stress.schema.json" if stress else "docs/capsim.schema.json")
    )
    assert _errors(json.loads(target.read_text()), tomllib.loads(path.read_text())) == []


@pytest.mark.parametrize(
    ("where", "key"),
    [
        (("pools", "trainium"), "reservd"),
        (("workloads", "pretraining"), "arrival_per_day"),
        (("scenario",), "yeras"),
        (("policy",), "queu"),
    ],
)
def test_a_typo_is_flagged(where, key):
    data = tomllib.loads((ROOT / "configs/baseline.toml").read_text())
    node = data
    for part in where:
        node = node[part]
    node[key] = 1
    errors = _errors(scenario_schema(), data)
    assert any(key in e for e in errors), errors


def test_a_bad_distribution_is_flagged():
    data = tomllib.loads((ROOT / "configs/baseline.toml").read_text())
    data["workloads"]["pretraining"]["duration_hours"] = {"dist": "lognormal", "mean": 3}
    assert _errors(scenario_schema(), data)


def _allowed(data: dict[str, Any], where: tuple[Any, ...]) -> set[str]:
    """The keys the loader allows at ``where``, from its own message for an unknown key."""
    bad = copy.deepcopy(data)
    node: Any = bad
    for part in where:
        node = node[part]
    node["zzz_not_a_key"] = 1
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(bad, "<test>", ROOT / "configs")
    m = re.search(r"allowed: (.*)$", exc.value.message)
    assert m, exc.value.message
    return {k.strip() for k in m.group(1).split(",")}


def _props(schema: dict[str, Any], *path: str) -> set[str]:
    """The keys the schema allows at ``path``, following ``$ref``s; a tagged union (the
    kinds of a workload) allows the union of its members' keys."""

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].split("/")[-1]]
        return node

    node = resolve(schema)
    for part in path:
        node = resolve(node[part])
    if "oneOf" in node:
        return set().union(*(resolve(m)["properties"] for m in node["oneOf"]))
    return set(node["properties"])


def test_schema_lists_exactly_the_keys_the_loader_accepts():
    data = tomllib.loads((ROOT / "configs/baseline.toml").read_text())
    data["changes"] = [{"pool": "trainium", "at_years": 1.0, "factor": 0.8}]
    data["shocks"] = [{"pool": "trainium", "per_year": 0.1, "factor": 1.5, "duration_years": 0.5}]
    data["policy"] = {"queue": "backfill"}
    s = scenario_schema()
    assert _allowed(data, ()) == _props(s)
    assert _allowed(data, ("scenario",)) == _props(s, "properties", "scenario")
    assert _allowed(data, ("pools", "trainium")) == _props(
        s, "properties", "pools", "additionalProperties"
    )
    assert _allowed(data, ("overflow", 0)) == _props(s, "properties", "overflow", "items")
    assert _allowed(data, ("policy",)) == _props(s, "properties", "policy")
    assert _allowed(data, ("contract",)) == _props(s, "properties", "contract")
    assert _allowed(data, ("changes", 0)) == _props(s, "properties", "changes", "items")
    assert _allowed(data, ("shocks", 0)) == _props(s, "properties", "shocks", "items")
    # workloads: the schema's keys are the union over the kinds the loader knows
    kinds = set()
    for name in ("pretraining", "online-inference"):
        kinds |= _allowed(data, ("workloads", name))
    demand_file = copy.deepcopy(data)
    demand_file["workloads"]["online-inference"] = {
        "kind": "demand",
        "pool": "graviton",
        "file": "examples/data/helios-earth-gpu-demand-hourly.csv",
    }
    kinds |= _allowed(demand_file, ("workloads", "online-inference"))
    trace = copy.deepcopy(data)
    trace["workloads"]["pretraining"] = {
        "kind": "trace",
        "pool": "trainium",
        "file": "examples/data/small-trace.csv",
    }
    kinds |= _allowed(trace, ("workloads", "pretraining"))
    assert kinds == _props(s, "properties", "workloads", "additionalProperties")


def test_capsim_schema_prints_it(capsys):
    from sim.cli import main

    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "capsim scenario"


def test_workloads_are_a_union_tagged_by_kind_and_distributions_by_dist():
    s = scenario_schema()
    union = s["properties"]["workloads"]["additionalProperties"]["oneOf"]
    kinds = []
    for member in union:
        node = s["definitions"][member["$ref"].split("/")[-1]]
        assert "kind" in node["required"] and node["additionalProperties"] is False
        kinds += node["properties"]["kind"]["enum"]
    assert sorted(kinds) == ["demand", "jobs", "trace"]
    dists = s["definitions"]["distribution"]["oneOf"]
    assert len(dists) == 8
    data = tomllib.loads((ROOT / "configs/baseline.toml").read_text())
    data["workloads"]["pretraining"]["demand_units"] = 3  # a demand key on a jobs workload
    assert _errors(s, data)


# where each table of the baseline sits in the document, to try every numeric key there
TABLES = {
    "MetaDoc": ("scenario",),
    "PoolDoc": ("pools", "trainium"),
    "TargetDoc": ("overflow", 0),
    "JobsDoc": ("workloads", "pretraining"),
    "PolicyDoc": ("policy",),
    "ContractDoc": ("contract",),
}


def _number_bounds(prop: dict[str, Any]) -> dict[str, Any] | None:
    """The number schema of a key (alone, or the number among its options)."""
    if prop.get("type") in ("number", "integer"):
        return prop
    for option in prop.get("anyOf", []):
        if option.get("type") == "number":
            return option
    return None


def _cases() -> list[Any]:
    s = scenario_schema()
    out = []
    for table in TABLES:
        for key, prop in s["definitions"][table]["properties"].items():
            b = _number_bounds(prop)
            if b is not None and ("minimum" in b or "maximum" in b):
                out.append(pytest.param(table, key, b, id=f"{table}.{key}"))
    return out


@pytest.mark.parametrize(("table", "key", "bounds"), _cases())
def test_the_loader_enforces_the_bounds_the_schema_publishes(table, key, bounds):
    """An editor and the loader agree: a value just outside a published bound is refused
    naming the key, and one just inside is not refused for that key."""
    data = tomllib.loads((ROOT / "configs/baseline.toml").read_text())
    node = data
    for part in TABLES[table]:
        node = node[part]
    path = ".".join(str(p) for p in TABLES[table] if p != 0)
    if table == "TargetDoc":
        path = f"overflow.{node['name']}"

    def outcome(value: float) -> str:
        trial = copy.deepcopy(data)
        target = trial
        for part in TABLES[table]:
            target = target[part]
        if key == "discount":
            trial["contract"].pop("discount_tiers", None)
        target[key] = value
        try:
            scenario_from_dict(trial, "<test>", ROOT / "configs")
        except ScenarioError as e:
            return e.path
        return ""

    step = 1 if bounds.get("type") == "integer" else 1e-6
    if "minimum" in bounds:
        low = bounds["minimum"]
        assert outcome(low - step).startswith(f"{path}.{key}")
        inside = low + step if bounds.get("exclusiveMinimum") else low
        assert outcome(inside) != f"{path}.{key}"
        if bounds.get("exclusiveMinimum"):
            assert outcome(low).startswith(f"{path}.{key}")
    if "maximum" in bounds:
        high = bounds["maximum"]
        assert outcome(high + step).startswith(f"{path}.{key}")
        assert outcome(high) != f"{path}.{key}"
