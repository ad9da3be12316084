"""Small scenario builders shared by the tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sim.scenario import Scenario, scenario_from_dict


def build(
    pools: dict[str, Any],
    workloads: dict[str, Any],
    overflow: list[dict[str, Any]] | None = None,
    years: float = 1.0,
    policy: dict[str, Any] | None = None,
    seed: int = 1,
    base_dir: Path | None = None,
    name: str = "test",
) -> Scenario:
    """A scenario from its tables, with the [scenario] table filled in."""
    data: dict[str, Any] = {
        "scenario": {"name": name, "years": years, "replications": 2, "seed": seed},
        "pools": copy.deepcopy(pools),
        "workloads": copy.deepcopy(workloads),
    }
    if overflow:
        data["overflow"] = copy.deepcopy(overflow)
    if policy:
        data["policy"] = dict(policy)
    return scenario_from_dict(data, "<test>", base_dir)


#: a job workload that never submits a job (for pools whose reservation alone is under test)
NO_JOBS: dict[str, Any] = {
    "kind": "jobs",
    "pool": "gpu",
    "arrivals_per_day": 0.0,
    "units": 1,
    "duration_hours": 1,
}


def gpu_pool(reserved: Any = 10, m: int = 1, price: float = 1.0) -> dict[str, Any]:
    return {
        "gpu": {
            "unit": "gpu",
            "instance_units": m,
            "reserved": reserved,
            "price_per_unit_hour": price,
        }
    }


def od(capacity: float | None = None, price: float = 3.0, **kw: Any) -> dict[str, Any]:
    t: dict[str, Any] = {"name": "od", "pool": "gpu", "price_per_unit_hour": price, **kw}
    if capacity is not None:
        t["capacity"] = capacity
    return t


def write_trace(path: Path, rows: list[tuple[float, ...]], extra: str = "") -> Path:
    """A trace CSV with submit_hours, units, duration_hours (and optional columns)."""
    header = "submit_hours,units,duration_hours" + (f",{extra}" if extra else "")
    lines = [header] + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def trace_scenario(
    tmp_path: Path,
    rows: list[tuple[float, ...]],
    pools: dict[str, Any],
    overflow: list[dict[str, Any]] | None = None,
    policy: dict[str, Any] | None = None,
    max_wait: Any = "inf",
    years: float = 1.0,
    extra: str = "",
) -> Scenario:
    write_trace(tmp_path / "trace.csv", rows, extra)
    return build(
        pools,
        {
            "t": {
                "kind": "trace",
                "pool": next(iter(pools)),
                "file": "trace.csv",
                "max_wait_hours": max_wait,
            }
        },
        overflow,
        years=years,
        policy=policy,
        base_dir=tmp_path,
    )
