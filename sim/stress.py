"""Stress tests: partial scenarios merged over a base, run with common random numbers.

A stress file is a TOML scenario fragment with its own ``[scenario] name`` (and
``description``). Tables merge key by key; ``[[overflow]]`` and ``[[commitments]]``
entries merge by ``name`` (a new name adds one); ``[[changes]]`` and ``[[shocks]]`` are
added to the base's; any number may be written relative to the base
(``{ times = 0.6 }``, ``{ plus = -0.1 }``); data-file paths are relative to the stress
file. Every case runs replication indices 0..n-1 from the same seed as the baseline, so
each difference is paired: same demand, different world.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Sequence
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


#: distribution parameters a relative value leaves alone: shapes, weights, files
_SHAPE_KEYS = ("dist", "sigma", "cv", "weights", "file", "column")
#: for ``plus``: the parameters a shift moves, by family (others are not shift-closed)
_SHIFT_KEYS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "normal": ("mean",),
    "choice": ("values",),
}
_ARRAYS = ("changes", "shocks")  # added to the base's, never merged
_BY_NAME = ("overflow", "commitments", "strategies")  # merged entry by entry, by name


def is_relative(value: Any) -> bool:
    """``{ times = x }`` or ``{ plus = x }``."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("times", "plus")


def relative(base: Any, patch: dict[str, Any], where: str, path: str) -> Any:
    """Apply ``{ times = x }`` or ``{ plus = x }`` to a base value: a number, each entry of a
    list, or a distribution's location and scale parameters (``plus``: its location)."""
    ((op, x),) = patch.items()
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ScenarioError(where, f"{path}.{op}", f"must be a finite number, got {x!r}")
    if base is None:
        raise ScenarioError(
            where, path, f"{{ {op} = {x} }} is relative to the base, which sets no {path}"
        )
    if isinstance(base, bool):
        raise ScenarioError(where, path, f"{{ {op} = ... }} needs a number, the base has {base!r}")
    if isinstance(base, int | float):
        return base * x if op == "times" else base + x
    if isinstance(base, str) and base.strip().lower() in ("inf", "infinity"):
        return base  # unlimited stays unlimited
    if isinstance(base, list):
        return [relative(v, patch, where, f"{path}[{i}]") for i, v in enumerate(base)]
    if isinstance(base, dict) and "dist" in base:
        kind = base["dist"]
        if kind == "empirical":
            raise ScenarioError(
                where, path, "an empirical distribution resamples its file: restate it instead"
            )
        if op == "times":
            keys = [k for k in base if k not in _SHAPE_KEYS]
        elif kind in _SHIFT_KEYS:
            keys = [k for k in _SHIFT_KEYS[kind] if k in base]
        else:
            raise ScenarioError(
                where,
                path,
                f"{{ plus = ... }} does not keep a {kind} distribution a {kind}; "
                "use { times = ... } or restate it",
            )
        out = dict(base)
        for k in keys:
            out[k] = relative(base[k], patch, where, f"{path}.{k}")
        return out
    raise ScenarioError(where, path, f"{{ {op} = ... }} needs a number, the base has {base!r}")


def merge(
    base: dict[str, Any],
    patch: dict[str, Any],
    where: str,
    path: str = "",
    rebase: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Deep-merge ``patch`` into a copy of ``base``.

    Overflow targets and commitments merge by name; ``[[changes]]`` and ``[[shocks]]`` are
    added to the base's; ``{ times = x }`` / ``{ plus = x }`` apply to the base's value;
    ``rebase`` maps a data-file path of the patch (relative to the patch's own file) to one
    relative to the base's folder.
    """
    out = copy.deepcopy(base)
    for key, value in patch.items():
        sub = f"{path}.{key}" if path else key
        if key in _BY_NAME and not path:
            if not isinstance(value, list):
                raise ScenarioError(where, key, f"must be an array of tables: [[{key}]]")
            entries = out.setdefault(key, [])
            for i, t in enumerate(value):
                if not isinstance(t, dict) or "name" not in t:
                    raise ScenarioError(
                        where, f"{key}[{i}].name", f"is required: [[{key}]] merge by name"
                    )
                at = [k for k, x in enumerate(entries) if x.get("name") == t["name"]]
                if at:
                    entries[at[0]] = merge(entries[at[0]], t, where, f"{key}.{t['name']}", rebase)
                else:
                    entries.append(merge({}, t, where, f"{key}.{t['name']}", rebase))
        elif key in _ARRAYS and not path:
            if not isinstance(value, list):
                raise ScenarioError(where, key, f"must be an array of tables: [[{key}]]")
            out[key] = list(out.get(key, [])) + [
                merge({}, v, where, f"{key}[{i}]", rebase) if isinstance(v, dict) else v
                for i, v in enumerate(value)
            ]
        elif is_relative(value):
            out[key] = relative(out.get(key), value, where, sub)
        elif key == "file" and isinstance(value, str) and rebase is not None:
            out[key] = rebase(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = merge(out[key], value, where, sub, rebase)
        elif isinstance(value, dict):
            out[key] = merge({}, value, where, sub, rebase)
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
    here = path.resolve().parent

    def rebase(file: str) -> str:  # paths in a stress file are relative to the stress file
        full = (here / file).resolve()
        if not base.allow_external_data and here not in full.parents:
            raise ScenarioError(
                str(path),
                "file",
                f"{file!r} lies outside the stress file's folder ({here}): keep data files "
                "with the file that names them, or pass --allow-external-data",
            )
        return os.path.relpath(full, base.base_dir.resolve())

    replace = head.get("replace_workloads", False)
    if not isinstance(replace, bool):
        raise ScenarioError(
            str(path), "scenario.replace_workloads", f"must be true or false, got {replace!r}"
        )
    patch = {**patch, "scenario": {k: v for k, v in head.items() if k != "replace_workloads"}}
    start = base.raw
    if replace:
        if not isinstance(patch.get("workloads"), dict) or not patch["workloads"]:
            raise ScenarioError(
                str(path),
                "scenario.replace_workloads",
                "replaces the base's workloads with this file's: give at least one "
                "[workloads.NAME] table",
            )
        # the base's workloads go, and with them the changes and shocks that shape them
        start = {k: v for k, v in base.raw.items() if k not in ("workloads", "changes", "shocks")}
    merged = merge(start, patch, str(path), rebase=rebase)
    merged["scenario"]["name"] = name
    # the base's data files were checked when it loaded, the stress file's just now (rebase):
    # the merged scenario may name files outside the base's folder
    try:
        sc = scenario_from_dict(merged, str(path), base.base_dir, allow_external_data=True)
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
        out += [
            f"idle_unit_hours.{p}",
            f"idle_spend_usd.{p}",
            f"overflow_unit_hours.{p}",
            f"utilization.{p}",
            f"esr.{p}",
        ]
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
    metric: str = "spend_usd.total",
    backend: str = "local",
    scheduler: str | None = None,
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
    frame = batch.execute(blocks, store, workers, backend, scheduler, progress)
    summary = compare_cases(frame, cases, headline_metrics(base))
    summary["seed"] = seed
    summary["replications"] = n
    if axes:
        summary["reoptimized"] = {}
        for k, c in enumerate(cases):
            res = run_sweep(
                c.scenario,
                list(axes),
                n,
                seed,
                objective,
                constraints,
                workers,
                backend=backend,
                scheduler=scheduler,
                store=batch.PrefixedStore(store, f"reopt{k}"),  # kept and resumed with the study
                progress=progress,
                metric=metric,
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
