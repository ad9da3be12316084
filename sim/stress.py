"""Stress tests: partial scenarios merged over a base, run with common random numbers.

A stress file is a TOML scenario fragment with its own ``[scenario] name`` (and
``description``). Tables merge key by key; ``[[overflow]]`` entries merge by ``name``
(a new name adds a target). Every case runs replication indices 0..n-1 from the same
seed as the baseline, so each difference is paired: same demand, different world.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import batch
from sim.errors import ScenarioError
from sim.grid import Axis
from sim.results import describe
from sim.scenario import Scenario, read_toml, scenario_from_dict
from sim.sweep import BLOCK, Constraint, block_id, run_sweep

BASELINE = "baseline"


def merge(
    base: dict[str, Any], patch: dict[str, Any], where: str, path: str = ""
) -> dict[str, Any]:
    """Deep-merge ``patch`` into a copy of ``base`` (overflow targets by name)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        sub = f"{path}.{key}" if path else key
        if key == "overflow" and not path:
            if not isinstance(value, list):
                raise ScenarioError(where, "overflow", "must be an array of tables: [[overflow]]")
            targets = out.setdefault("overflow", [])
            for i, t in enumerate(value):
                if not isinstance(t, dict) or "name" not in t:
                    raise ScenarioError(
                        where, f"overflow[{i}].name", "is required: a stress target merges by name"
                    )
                match = [x for x in targets if x.get("name") == t["name"]]
                if match:
                    match[0].update(copy.deepcopy(t))
                else:
                    targets.append(copy.deepcopy(t))
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = merge(out[key], value, where, sub)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class Case:
    """A named scenario variant."""

    name: str
    description: str
    scenario: Scenario


def load_case(base: Scenario, path: Path) -> Case:
    """Merge a stress file over the base scenario and validate the result."""
    patch = read_toml(path)
    head = patch.get("scenario")
    if not isinstance(head, dict) or not isinstance(head.get("name"), str):
        raise ScenarioError(
            str(path), "scenario.name", "is required: each stress case names itself"
        )
    name = head["name"]
    if name == BASELINE:
        raise ScenarioError(str(path), "scenario.name", f"{BASELINE!r} is reserved for the base")
    for key in ("years", "seed"):
        if key in head:
            raise ScenarioError(
                str(path),
                f"scenario.{key}",
                f"cannot be changed by a stress file (got {head[key]!r}; the base has "
                f"{getattr(base, key)!r}): each case must be paired with the base run by run; "
                f"use --set scenario.{key}=... on the command line to change both",
            )
    merged = merge(base.raw, patch, str(path))
    merged["scenario"]["name"] = name
    try:
        sc = scenario_from_dict(merged, str(path), base.base_dir)
    except ScenarioError as exc:
        raise ScenarioError(
            str(path), exc.path, f"{exc.message} (after merging over {base.source})"
        ) from None
    return Case(name, str(head.get("description", "")), sc)


# metrics compared between cases: (label, metric) with <pool>/<workload> expanded
def headline_metrics(base: Scenario) -> list[str]:
    """Metrics whose change against the baseline a stress summary reports."""
    out = [
        "spend_usd.total",
        "spend_usd.reserved",
        "spend_usd.overflow",
        "spend_usd.shortfall",
        "npv_usd.total",
        "esr",
        "commit_attainment",
    ]
    for p in base.pools:
        out += [f"idle_unit_hours.{p}", f"overflow_unit_hours.{p}", f"utilization.{p}"]
    for name, w in base.workloads.items():
        if w.kind == "demand":
            out.append(f"unserved_unit_hours.{name}")
        else:
            out += [
                f"wait_hours.{name}.p95",
                f"jobs_overflowed.{name}",
                f"unfinished_unit_hours.{name}",
            ]
    return out


@dataclass(frozen=True, eq=False)
class StressResult:
    """All cases × replications, and the comparison against the baseline."""

    cases: pd.DataFrame
    summary: dict[str, Any]


def run_stress(
    base: Scenario,
    stress_files: Sequence[Path],
    n: int,
    seed: int,
    workers: int = 1,
    axes: Sequence[Axis] = (),
    objective: str = "mean",
    constraints: Sequence[Constraint] = (),
    store: batch.BlockStore | None = None,
    progress: batch.ProgressFn | None = None,
) -> StressResult:
    """Run the baseline and every stress case; with ``axes``, re-optimise each case's contract."""
    cases = [Case(BASELINE, base.description, base)] + [
        load_case(base, Path(f)) for f in stress_files
    ]
    names = [c.name for c in cases]
    dup = {x for x in names if names.count(x) > 1}
    if dup:
        raise ScenarioError("stress", "scenario.name", f"case names must differ: {sorted(dup)}")
    store = store if store is not None else batch.MemoryStore()
    blocks = [
        batch.Block(
            block_id(v, a, min(a + BLOCK, n)),
            v,
            c.scenario,
            seed,
            a,
            min(a + BLOCK, n),
            {"case": c.name},
        )
        for v, c in enumerate(cases)
        for a in range(0, n, BLOCK)
    ]
    frame = batch.execute(blocks, store, workers, progress=progress)
    summary = compare_cases(frame, cases, headline_metrics(base))
    summary["seed"] = seed
    summary["replications"] = n
    if axes:
        summary["reoptimized"] = {}
        for c in cases:
            res = run_sweep(
                c.scenario, list(axes), n, seed, objective, constraints, workers, progress=progress
            )
            summary["reoptimized"][c.name] = res.summary["recommended"]
        base_best = summary["reoptimized"][BASELINE]
        for c in cases:
            rec = summary["reoptimized"][c.name]
            if rec is not None and base_best is not None:
                rec["objective_change_vs_baseline"] = (
                    rec["objective_value"] - base_best["objective_value"]
                )
    return StressResult(frame, summary)


def compare_cases(
    frame: pd.DataFrame, cases: Sequence[Case], metrics: Sequence[str]
) -> dict[str, Any]:
    """Per case: each metric's statistics and its paired change against the baseline."""
    base = frame[frame["case"] == BASELINE].sort_values("replication")
    out: dict[str, Any] = {"cases": []}
    for c in cases:
        g = frame[frame["case"] == c.name].sort_values("replication")
        entry: dict[str, Any] = {
            "case": c.name,
            "description": c.description,
            "metrics": {},
            "change": {},
        }
        for m in metrics:
            if m not in g.columns:
                continue
            entry["metrics"][m] = describe(g[m].to_numpy())
            diff = g[m].to_numpy() - base[m].to_numpy()
            entry["change"][m] = describe(diff)
            bmean = float(np.nanmean(base[m])) if base[m].notna().any() else 0.0
            rel = entry["change"][m]["mean"] / bmean if bmean else None
            entry["change"][m]["relative"] = rel
        out["cases"].append(entry)
    return out
