"""Contract-size sweeps and risk-aware recommendations.

Every point of the grid runs the same replication indices from the same root seed, so
replication i of every point sees the same arrivals, sizes, durations and demand (common
random numbers): the differences between points are differences of contract, not of luck.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim import batch
from sim.errors import ScenarioError, did_you_mean
from sim.grid import Axis, grid_points, point_scenarios
from sim.montecarlo import run_replication
from sim.results import describe
from sim.scenario import DemandWorkload, Scenario, with_overrides
from sim.workload import demand_path, draw_params

OBJECTIVES = ("mean", "p95", "cvar95")
BLOCK = 10  # replications per block: the unit of work, of progress and of resume
OBJECTIVE_METRIC = "spend_usd.total"
_CONSTRAINT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+|inf)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric op value``, applied to the metric's mean across replications."""

    metric: str
    op: str
    value: float

    def ok(self, x: float) -> bool:
        if math.isnan(x):
            return False
        return {
            "<=": x <= self.value,
            ">=": x >= self.value,
            "<": x < self.value,
            ">": x > self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_constraint(text: str) -> Constraint:
    """Parse ``"wait_hours.experiments.p95<=12"``."""
    m = _CONSTRAINT.match(text)
    if not m:
        raise ScenarioError(
            "--constraint",
            text,
            "must be METRIC<=VALUE or METRIC>=VALUE, e.g. wait_hours.experiments.p95<=12",
        )
    return Constraint(m.group(1), m.group(2), float(m.group(3)))


def objective_value(x: np.ndarray, objective: str) -> float:
    """The objective of a sample of total spend [USD]."""
    x = np.asarray(x, dtype=float)
    if objective == "mean":
        return float(x.mean())
    var = float(np.percentile(x, 95))
    if objective == "p95":
        return var
    tail = x[x >= var]
    return float(tail.mean()) if len(tail) else var


def objective_ci(x: np.ndarray, objective: str, resamples: int = 400) -> tuple[float, float]:
    """95% confidence interval: Student t for the mean, a seeded bootstrap otherwise."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 2:
        return (math.nan, math.nan)
    if objective == "mean":
        half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
        return (float(x.mean() - half), float(x.mean() + half))
    rng = np.random.default_rng(0)
    boots = [objective_value(x[rng.integers(0, n, n)], objective) for _ in range(resamples)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return (float(lo), float(hi))


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A finished sweep: one row per point × replication, and its summary."""

    points: pd.DataFrame
    summary: dict[str, Any]
    keys: tuple[str, ...]


def block_id(variant: int, start: int, stop: int) -> str:
    return f"v{variant:04d}-r{start:06d}-{stop:06d}"


def make_blocks(
    scenarios: Sequence[Scenario],
    labels: Sequence[dict[str, Any]],
    seed: int,
    start: int,
    stop: int,
    workers: int,
) -> list[batch.Block]:
    """Blocks of replications ``start..stop-1`` for every variant."""
    del workers  # block boundaries must not depend on it, or --resume could not reuse them
    ranges = [(a, min(a + BLOCK, stop)) for a in range(start, stop, BLOCK)]
    return [
        batch.Block(block_id(v, a, b), v, sc, seed, a, b, dict(lab))
        for v, (sc, lab) in enumerate(zip(scenarios, labels, strict=True))
        for a, b in ranges
    ]


def run_sweep(
    base: Scenario,
    axes: list[Axis],
    n: int,
    seed: int,
    objective: str = "mean",
    constraints: Sequence[Constraint] = (),
    workers: int = 1,
    backend: str = "local",
    scheduler: str | None = None,
    store: batch.BlockStore | None = None,
    target_ci_pct: float | None = None,
    max_replications: int = 2000,
    progress: batch.ProgressFn | None = None,
    on_total: batch.ProgressFn | None = None,
) -> SweepResult:
    """Run every grid point for ``n`` replications (more with ``target_ci_pct``).

    ``on_total`` is told the number of replications still to come whenever more are
    added (for a progress bar); ``progress`` the number just finished.
    """
    if objective not in OBJECTIVES:
        raise ScenarioError("--objective", objective, f"must be one of {', '.join(OBJECTIVES)}")
    points = grid_points(axes)
    scenarios = point_scenarios(base, points)
    keys = tuple(a.key for a in axes)
    store = store if store is not None else batch.MemoryStore()
    total = n
    if on_total:
        on_total(n * len(points))
    if constraints:  # name the bad metric before any work, from a few simulated hours
        probe = with_overrides(base, {"scenario.years": 0.001}, "--constraint")
        _check_constraints(constraints, list(run_replication(probe, seed, 0).metrics))
    blocks = make_blocks(scenarios, points, seed, 0, n, workers)
    frame = batch.execute(blocks, store, workers, backend, scheduler, progress)
    precision: dict[str, Any] | None = None
    if target_ci_pct is not None:
        while True:
            worst = _worst_relative_half_width(frame, keys, objective)
            met = worst <= target_ci_pct / 100
            if met or total >= max_replications:
                precision = {
                    "target_pct": target_ci_pct,
                    "achieved_pct": 100 * worst,
                    "replications": total,
                    "met": bool(met),
                    "cap": max_replications,
                }
                break
            more = min(n, max_replications - total)
            if on_total:
                on_total(more * len(points))
            blocks += make_blocks(scenarios, points, seed, total, total + more, workers)
            total += more
            frame = batch.execute(blocks, store, workers, backend, scheduler, progress)
    frame = frame.sort_values([*keys, "replication"], kind="stable").reset_index(drop=True)
    summary = summarize_sweep(frame, keys, objective, constraints, base, seed)
    summary["replications"] = total
    summary["seed"] = seed
    if precision is not None:
        summary["precision"] = precision
    return SweepResult(frame, summary, keys)


def _check_constraints(constraints: Sequence[Constraint], names: Sequence[str]) -> None:
    for c in constraints:
        if c.metric not in names:
            raise ScenarioError(
                "--constraint", str(c), f"no metric {c.metric!r}{did_you_mean(c.metric, names)}"
            )


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    if not keys:
        return [({}, frame)]
    out = []
    for values, g in frame.groupby(list(keys), sort=False):
        vals = values if isinstance(values, tuple) else (values,)
        out.append((dict(zip(keys, (_py(v) for v in vals), strict=True)), g))
    return out


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _worst_relative_half_width(frame: pd.DataFrame, keys: Sequence[str], objective: str) -> float:
    worst = 0.0
    for _, g in _groups(frame, keys):
        x = g[OBJECTIVE_METRIC].to_numpy()
        lo, hi = objective_ci(x, objective)
        value = abs(objective_value(x, objective))
        rel = (hi - lo) / 2 / value if value > 0 else 0.0
        worst = max(worst, rel if not math.isnan(rel) else math.inf)
    return worst


def summarize_sweep(
    frame: pd.DataFrame,
    keys: Sequence[str],
    objective: str,
    constraints: Sequence[Constraint],
    base: Scenario,
    seed: int,
) -> dict[str, Any]:
    """Per-point statistics, the recommendation, its regret and reference levels."""
    metric_cols = [c for c in frame.columns if c not in (*keys, "replication")]
    points = []
    spend_by_point = []
    feasible = []
    for values, g in _groups(frame, keys):
        x = g.sort_values("replication")[OBJECTIVE_METRIC].to_numpy()
        spend_by_point.append(x)
        means = {
            c: float(np.nanmean(g[c])) if g[c].notna().any() else math.nan for c in metric_cols
        }
        broken = [str(c) for c in constraints if not c.ok(means[c.metric])]
        feasible.append(not broken)
        lo, hi = objective_ci(x, objective)
        points.append(
            {
                **values,
                "objective_value": objective_value(x, objective),
                "objective_ci95": [lo, hi],
                "feasible": not broken,
                "violations": broken,
                "metrics": {c: describe(g[c].to_numpy()) for c in metric_cols},
            }
        )
    summary: dict[str, Any] = {
        "objective": objective,
        "objective_metric": OBJECTIVE_METRIC,
        "constraints": [str(c) for c in constraints],
        "keys": list(keys),
        "points": points,
        "recommended": None,
    }
    ok = [i for i, f in enumerate(feasible) if f]
    if ok:
        best = min(ok, key=lambda i: points[i]["objective_value"])
        spend = np.vstack([spend_by_point[i] for i in ok])  # feasible points × replications
        hindsight = spend.min(axis=0)
        regret = spend_by_point[best] - hindsight
        winners = np.asarray(ok)[spend.argmin(axis=0)]
        share = {
            _label(points[i], keys): float(np.mean(winners == i)) for i in sorted(set(winners))
        }
        summary["recommended"] = {
            **{k: points[best][k] for k in keys},
            "objective_value": points[best]["objective_value"],
            "objective_ci95": points[best]["objective_ci95"],
            "regret_usd": {
                "mean": float(regret.mean()),
                "p95": float(np.percentile(regret, 95)),
                "max": float(regret.max()),
            },
            "hindsight_optimal_share": share,
        }
    summary["newsvendor"] = newsvendor_levels(
        base, seed, n=min(20, int(frame["replication"].nunique()))
    )
    return summary


def _label(point: dict[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{k}={point[k]}" for k in keys) or "base"


def newsvendor_levels(scenario: Scenario, seed: int, n: int = 20) -> dict[str, Any]:
    """For pools serving only fluid demand: the reserved level that minimises mean spend.

    It is the ``1 − reserved price / overflow price`` quantile of the pool's hourly demand
    (pooled over ``n`` replications), with the first overflow target's price; exact when that
    target is unlimited.
    """
    out: dict[str, Any] = {}
    for name, pool in scenario.pools.items():
        mine = [w for w in scenario.workloads.values() if w.pool == name]
        if not mine or not all(isinstance(w, DemandWorkload) for w in mine):
            continue
        targets = [t for t in scenario.overflow if t.pool == name]
        if not targets:
            continue
        r = pool.price_per_unit_hour.dist.mean()
        p = targets[0].price_per_unit_hour.dist.mean()
        if p <= r:
            continue
        series = []
        for i in range(n):
            params = draw_params(scenario, seed, i)
            total = sum(
                demand_path(scenario, w.name, seed, i, params)
                for w in mine
                if isinstance(w, DemandWorkload)
            )
            series.append(np.asarray(total))
        ratio = 1 - r / p
        out[name] = {
            "critical_ratio": ratio,
            "level_units": float(np.quantile(np.concatenate(series), ratio)),
            "reserved_price": r,
            "overflow_price": p,
            "overflow_target": targets[0].name,
        }
    return out
