"""A sweep's summary: every point with its objective, constraints and reserved sizes, the
recommendation with its regret and the value of the stochastic solution, caveats, and
newsvendor levels as a sanity check."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim import calendar
from sim.results import describe
from sim.scenario import DemandWorkload, Scenario, with_overrides
from sim.sweep.objectives import (
    OBJECTIVE_METRIC,
    Constraint,
    objective_ci,
    objective_value,
    paired_difference_ci,
)
from sim.workload import demand_path, draw_params

"""The usual objectives; any ``pN`` or ``cvarN`` (0 < N < 100) is accepted."""


def point_groups(
    frame: pd.DataFrame, keys: Sequence[str]
) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """The frame's rows grouped by sweep point: (the point's key values, its rows)."""
    if not keys:
        return [({}, frame)]
    out = []
    for values, g in frame.groupby(list(keys), sort=False):
        vals = values if isinstance(values, tuple) else (values,)
        out.append((dict(zip(keys, (_py(v) for v in vals), strict=True)), g))
    return out


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def reserved_units(scenario: Scenario) -> dict[str, list[int]]:
    """Reserved units per contract year of every pool, as the scenario runs them."""
    n = calendar.contract_years(scenario.years)
    return {name: [int(u) for u in p.reserved[:n]] for name, p in scenario.pools.items()}


def _point_scenario(base: Scenario, values: dict[str, Any]) -> Scenario:
    return with_overrides(base, values) if values else base


def summarize_sweep(
    frame: pd.DataFrame,
    keys: Sequence[str],
    objective: str,
    constraints: Sequence[Constraint],
    base: Scenario,
    seed: int,
    metric: str = OBJECTIVE_METRIC,
    ev_frame: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Per-point statistics and constraints, the recommendation, its regret against
    hindsight (the expected value of perfect information), the value of the stochastic
    solution (with ``ev_frame``) and reference levels."""
    metric_cols = [c for c in frame.columns if c not in (*keys, "replication")]
    points = []
    value_by_point = []
    inner_by_point = []
    feasible = []
    for values, g in point_groups(frame, keys):
        g = g.sort_values("replication")
        x = g[metric].to_numpy()
        value_by_point.append(x)
        checks = [c.evaluate(g[c.metric].to_numpy()) for c in constraints]
        inner = np.ones(len(g), dtype=bool)
        for c in constraints:
            inner &= c.inner(g[c.metric].to_numpy())
        inner_by_point.append(inner)
        broken = [ch["constraint"] for ch in checks if not ch["holds"]]
        feasible.append(not broken)
        lo, hi = objective_ci(x, objective)
        sc = _point_scenario(base, values)
        points.append(
            {
                **values,
                "objective_value": objective_value(x, objective),
                "objective_ci95": [lo, hi],
                "feasible": not broken,
                "violations": broken,
                "constraints": checks,
                "reserved_units": reserved_units(sc),
                "reserved_spend_usd": float(np.nanmean(g["spend_usd.reserved"]))
                if "spend_usd.reserved" in g
                else math.nan,
                "metrics": {c: describe(g[c].to_numpy()) for c in metric_cols},
            }
        )
    summary: dict[str, Any] = {
        "objective": objective,
        "objective_metric": metric,
        "constraints": [str(c) for c in constraints],
        "keys": list(keys),
        "points": points,
        "recommended": None,
    }
    # a decided sweep runs more replications at some points: hindsight and paired
    # comparisons use the replications every point ran (0..m-1)
    m = min((len(v) for v in value_by_point), default=0)
    value_by_point = [v[:m] for v in value_by_point]
    inner_by_point = [v[:m] for v in inner_by_point]
    ok = [i for i, f in enumerate(feasible) if f]
    if ok:
        best = min(ok, key=lambda i: points[i]["objective_value"])
        summary["recommended"] = {
            **{k: points[best][k] for k in keys},
            "objective_value": points[best]["objective_value"],
            "objective_ci95": points[best]["objective_ci95"],
            "reserved_units": points[best]["reserved_units"],
            "reserved_spend_usd": points[best]["reserved_spend_usd"],
            **_regret(value_by_point, inner_by_point, best, points, keys),
            "caveats": _caveats(points[best]["constraints"], constraints),
        }
        if ev_frame is not None:
            summary["value_of_stochastic_solution"] = _vss(
                ev_frame, keys, objective, constraints, metric, value_by_point, best, points
            )
    summary["newsvendor"] = newsvendor_levels(
        base, seed, n=min(20, int(frame["replication"].nunique()))
    )
    return summary


def _regret(
    values: list[np.ndarray],
    inner: list[np.ndarray],
    best: int,
    points: list[dict[str, Any]],
    keys: Sequence[str],
) -> dict[str, Any]:
    """Per replication, the hindsight-best point is the cheapest whose inner conditions
    hold in that replication; regret = the recommendation's value − that point's. Its mean
    is the expected value of perfect information."""
    v = np.vstack(values)  # points × replications
    allowed = np.vstack(inner)
    masked = np.where(allowed, v, np.inf)
    hindsight = masked.min(axis=0)
    some = np.isfinite(hindsight)
    regret = v[best][some] - hindsight[some]
    winners = masked.argmin(axis=0)[some]
    share = {
        point_label(points[i], keys): float(np.mean(winners == i))
        for i in sorted(set(winners.tolist()))
    }
    if len(regret) == 0:
        stats_ = {"mean": math.nan, "p95": math.nan, "max": math.nan}
    else:
        stats_ = {
            "mean": float(regret.mean()),
            "p95": float(np.percentile(regret, 95)),
            "max": float(regret.max()),
        }
    return {
        "regret_usd": stats_,
        "evpi_usd": stats_["mean"],
        "hindsight_optimal_share": share,
        "replications_without_a_feasible_size": int((~some).sum()),
    }


def _caveats(checks: list[dict[str, Any]], constraints: Sequence[Constraint]) -> list[str]:
    out = []
    for ch, c in zip(checks, constraints, strict=True):
        if c.kind == "chance" and ch["holds"] and not ch["certain"]:
            lo, hi = ch["wilson95"]
            out.append(
                f"{ch['constraint']} holds by its point estimate ({ch['share']:.0%}) only: its "
                f"95 % interval is {lo:.0%} to {hi:.0%}; more runs would settle it"
            )
    return out


def _vss(
    ev_frame: pd.DataFrame,
    keys: Sequence[str],
    objective: str,
    constraints: Sequence[Constraint],
    metric: str,
    values: list[np.ndarray],
    best: int,
    points: list[dict[str, Any]],
) -> dict[str, Any]:
    """The size the mean-value problem chooses, evaluated under uncertainty, against the
    recommendation: what planning for the average would cost (paired over replications)."""
    ev_groups = point_groups(ev_frame, keys)
    ev_values = []
    ev_ok = []
    for _, g in ev_groups:
        g = g.sort_values("replication")
        ev_values.append(objective_value(g[metric].to_numpy(), objective))
        ev_ok.append(all(c.evaluate(g[c.metric].to_numpy())["holds"] for c in constraints))
    candidates = [i for i, f in enumerate(ev_ok) if f] or list(range(len(ev_values)))
    choice = min(candidates, key=lambda i: ev_values[i])
    diff = paired_difference_ci(values[choice], values[best], objective)
    return {
        "mean_value_choice": {k: points[choice][k] for k in keys},
        "mean_value_choice_feasible": bool(points[choice]["feasible"]),
        "mean_value_choice_violations": points[choice]["violations"],
        "vss_usd": diff,
    }


def point_label(point: dict[str, Any], keys: Sequence[str]) -> str:
    """A sweep point as ``key=value, ...`` (``base`` with no keys): the name summary.json
    gives it in ``hindsight_optimal_share`` and ``decision``, and the tables look it up by."""
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
