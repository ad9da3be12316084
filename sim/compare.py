"""Alternatives under every stress case: the price of lock-in (``capsim compare``).

An alternative is a partial scenario merged over the base like a stress file, changing the
supply side (pools' ``reserved``, ``[[commitments]]``, ``[contract]``, overflow targets);
the base itself is the first alternative ("as written"). A case is the base case or a
stress file merged over each alternative. Every cell (alternative × case) runs replication
indices 0..n-1 from one seed: replication i sees the same demand in every cell (common
random numbers), so differences between alternatives are paired.

In each case the *best* alternative has the lowest objective among those meeting every
constraint (among all when none does); an alternative's *regret* in a case is its objective
minus the best's, paired, with a 95 % CI; its worst-case regret is the largest over the
cases; the *minimax-regret* choice has the smallest worst-case regret (Savage's criterion).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import batch
from sim.errors import ScenarioError
from sim.results import describe
from sim.scenario import Scenario
from sim.stress import BASELINE, Case, load_case
from sim.sweep import BLOCK, Constraint, objective_ci, objective_value, paired_difference_ci

TIE = 1e-9
"""Objectives this close (relative) are equal: both alternatives paid the same (a take-or-pay
minimum), and the difference is the summation's rounding."""

AS_WRITTEN = "as-written"
"""The base scenario's own supply side, the first alternative."""

#: per cell, besides the objective: what a planner quotes when alternatives are compared
QUOTED = (
    "spend_usd.total",
    "npv_usd.total",
    "commitment_beyond_horizon_usd",
    "spend_usd.shortfall",
    "esr",
)


@dataclass(frozen=True)
class Cell:
    alternative: str
    case: str
    scenario: Scenario


def cells(base: Scenario, alternatives: Sequence[Path], stresses: Sequence[Path]) -> list[Cell]:
    """Every alternative × every case, alternatives in the order given (the base first)."""
    alts = [(AS_WRITTEN, base)]
    for f in alternatives:
        alt = load_case(base, Path(f))
        alts.append((alt.name, alt.scenario))
    names = [a for a, _ in alts]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ScenarioError("compare", "scenario.name", f"alternative names must differ: {dup}")
    out: list[Cell] = []
    for a, sc in alts:
        out.append(Cell(a, BASELINE, sc))
        for f in stresses:
            case: Case = load_case(sc, Path(f))
            out.append(Cell(a, case.name, case.scenario))
    case_names = [c.case for c in out if c.alternative == AS_WRITTEN]
    dup = sorted({x for x in case_names if case_names.count(x) > 1})
    if dup:
        raise ScenarioError("compare", "scenario.name", f"case names must differ: {dup}")
    return out


def _locked_in(frame: pd.DataFrame) -> list[str]:
    """``locked_in_usd.year1``, ``.year2``, ...: committed dollars at the start of each year."""
    cols = [c for c in frame.columns if c.startswith("locked_in_usd.year")]
    return sorted(cols, key=lambda c: int(c.rsplit("year", 1)[1]))


def _purchased(frame: pd.DataFrame) -> list[str]:
    """``purchased_units.<strategy>.year<k>``: what strategies bought, year by year."""
    return sorted(c for c in frame.columns if c.startswith("purchased_units."))


def _cell_id(cell: Cell, index: int) -> str:
    key = json.dumps([index, cell.alternative, cell.case])
    return "x" + hashlib.sha256(key.encode()).hexdigest()[:10]


def blocks(grid: Sequence[Cell], n: int, seed: int) -> list[batch.Block]:
    """Replications 0..n-1 of every cell, in blocks (the units of work and of resume)."""
    return [
        batch.Block(
            f"{_cell_id(c, v)}-r{a:06d}-{min(a + BLOCK, n):06d}",
            v,
            c.scenario,
            seed,
            a,
            min(a + BLOCK, n),
            {"alternative": c.alternative, "case": c.case},
        )
        for v, c in enumerate(grid)
        for a in range(0, n, BLOCK)
    ]


def _series(frame: pd.DataFrame, alt: str, case: str, metric: str) -> np.ndarray:
    g = frame[(frame["alternative"] == alt) & (frame["case"] == case)].sort_values("replication")
    if metric not in g.columns:
        return np.zeros(len(g))  # a metric the cell does not have (no commitments: no lock-in)
    return (
        g[metric]
        .fillna(0.0 if metric == "commitment_beyond_horizon_usd" else np.nan)
        .to_numpy(dtype=float)
    )


def summarize(
    frame: pd.DataFrame,
    grid: Sequence[Cell],
    objective: str = "mean",
    metric: str = "spend_usd.total",
    constraints: Sequence[Constraint] = (),
) -> dict[str, Any]:
    """The matrix: each cell's objective with its CI and constraints, regret per case against
    that case's best alternative (paired), worst-case regret and the minimax-regret choice."""
    alts = list(dict.fromkeys(c.alternative for c in grid))
    cases = list(dict.fromkeys(c.case for c in grid))
    out_cells: dict[str, dict[str, Any]] = {a: {} for a in alts}
    for a in alts:
        for k in cases:
            x = _series(frame, a, k, metric)
            lo, hi = objective_ci(x, objective)
            checks = [c.evaluate(_series(frame, a, k, c.metric)) for c in constraints]
            out_cells[a][k] = {
                "objective_value": objective_value(x, objective),
                "ci95": [lo, hi],
                "constraints": checks,
                "feasible": all(ch["holds"] for ch in checks),
                "metrics": {
                    m: describe(_series(frame, a, k, m))
                    for m in (*QUOTED, *_locked_in(frame), *_purchased(frame))
                    if m == "commitment_beyond_horizon_usd"
                    or (m in frame.columns and np.isfinite(_series(frame, a, k, m)).any())
                },
            }
    best: dict[str, str] = {}
    regret: dict[str, dict[str, dict[str, float]]] = {a: {} for a in alts}
    for k in cases:
        feasible = [a for a in alts if out_cells[a][k]["feasible"]] or alts
        low = min(out_cells[a][k]["objective_value"] for a in feasible)
        tie = TIE * max(abs(low), 1.0)  # equal but for rounding: the first written wins
        b = next(a for a in feasible if out_cells[a][k]["objective_value"] <= low + tie)
        best[k] = b
        xb = _series(frame, b, k, metric)
        for a in alts:
            r = paired_difference_ci(_series(frame, a, k, metric), xb, objective)
            if abs(r["mean"]) <= tie and abs(r["ci95_high"] - r["ci95_low"]) <= 2 * tie:
                r = {"mean": 0.0, "ci95_low": 0.0, "ci95_high": 0.0}  # the same, to rounding
            regret[a][k] = r
    worst = {a: max(regret[a][k]["mean"] for k in cases) for a in alts}
    worst_case = {a: max(cases, key=lambda k: regret[a][k]["mean"]) for a in alts}
    minimax = min(alts, key=lambda a: worst[a])
    return {
        "kind": "compare",
        "objective": objective,
        "objective_metric": metric,
        "constraints": [str(c) for c in constraints],
        "alternatives": alts,
        "cases": cases,
        "cells": out_cells,
        "regret": regret,
        "worst_case_regret": {a: {"mean": worst[a], "case": worst_case[a]} for a in alts},
        "best": best,
        "best_as_planned": best[BASELINE],
        "minimax_regret": minimax,
    }


@dataclass(frozen=True, eq=False)
class CompareResult:
    cells: pd.DataFrame
    summary: dict[str, Any]


def run_compare(
    base: Scenario,
    alternatives: Sequence[Path],
    stresses: Sequence[Path],
    n: int,
    seed: int,
    workers: int = 1,
    objective: str = "mean",
    metric: str = "spend_usd.total",
    constraints: Sequence[Constraint] = (),
    store: batch.BlockStore | None = None,
    progress: batch.ProgressFn | None = None,
    backend: str = "local",
    scheduler: str | None = None,
) -> CompareResult:
    """Every alternative under every case on the same replications, and the matrix."""
    grid = cells(base, alternatives, stresses)
    frame = batch.execute(
        blocks(grid, n, seed),
        store if store is not None else batch.MemoryStore(),
        workers,
        backend,
        scheduler,
        progress,
    )
    summary = summarize(frame, grid, objective, metric, constraints)
    summary["seed"] = seed
    summary["replications"] = n
    summary["scenario"] = base.name
    return CompareResult(frame, summary)
