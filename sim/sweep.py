"""Contract-size sweeps and risk-aware recommendations.

Every point of the grid runs the same replication indices from the same root seed, so
replication i of every point sees the same arrivals, sizes, durations and demand (common
random numbers): the differences between points are differences of contract, not of luck.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim import batch
from sim.errors import ScenarioError, did_you_mean
from sim.grid import Axis, grid_points, point_scenarios
from sim.montecarlo import run_replication
from sim.results import describe
from sim.scenario import DemandWorkload, Scenario, scenario_from_dict, with_overrides
from sim.variance import t975
from sim.workload import demand_path, draw_params

OBJECTIVES = ("mean", "p95", "cvar95")
"""The usual objectives; any ``pN`` or ``cvarN`` (0 < N < 100) is accepted."""
BLOCK = 10  # replications per block: the unit of work, of progress and of resume
OBJECTIVE_METRIC = "spend_usd.total"
_NUM = r"([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|inf)"
_METRIC = r"([A-Za-z0-9_.\-]+)"
_MEAN = re.compile(rf"^\s*{_METRIC}\s*(<=|>=|<|>)\s*{_NUM}\s*$")
_PCT = re.compile(rf"^\s*[pP]([0-9]+(?:\.[0-9]+)?)\(\s*{_METRIC}\s*\)\s*(<=|>=|<|>)\s*{_NUM}\s*$")
_CHANCE = re.compile(
    rf"^\s*P\(\s*{_METRIC}\s*(<=|>=|<|>)\s*{_NUM}\s*\)\s*>=\s*([0-9]*\.?[0-9]+)\s*$"
)
CONSTRAINT_FORMS = (
    "METRIC<=X or METRIC>=X (on the mean across runs), pN(METRIC)<=X (on the N-th "
    "percentile across runs), or P(METRIC<=X)>=LEVEL (a chance constraint: the share of "
    "runs in which METRIC<=X), e.g. P(wait_hours.experiments.p95<=24)>=0.9"
)
OBJECTIVE_FORMS = (
    "mean, pN (the N-th percentile across runs, e.g. p90) or cvarN (the mean of the worst "
    "100-N %, e.g. cvar95)"
)
_OPS = {
    "<=": np.less_equal,
    ">=": np.greater_equal,
    "<": np.less,
    ">": np.greater,
}


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95 % interval of a share k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Constraint:
    """A condition on a metric across replications.

    ``kind`` is ``mean`` (the mean satisfies ``op value``), ``percentile`` (the ``q``-th
    percentile does) or ``chance`` (the share of replications in which the metric satisfies
    ``op value`` is at least ``level``). In every replication the inner condition is
    ``metric op value``: what hindsight asks of a size.
    """

    metric: str
    op: str
    value: float
    kind: str = "mean"
    q: float = 50.0
    level: float = 0.0

    def ok(self, x: float) -> bool:
        """``x op value`` for one number (a mean, a percentile, or one replication)."""
        if math.isnan(x):
            return False
        return bool(_OPS[self.op](x, self.value))

    def inner(self, x: np.ndarray) -> np.ndarray:
        """Per replication: does the inner condition hold (NaN: no)."""
        x = np.asarray(x, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(x), False, _OPS[self.op](x, self.value))

    def evaluate(self, x: np.ndarray) -> dict[str, Any]:
        """Whether the constraint holds over a sample of replications, with the statistic
        it is judged on (a chance constraint also with its share's Wilson interval, and
        whether the interval clears the level: ``certain``)."""
        x = np.asarray(x, dtype=float)
        finite = x[~np.isnan(x)]
        out: dict[str, Any] = {"constraint": str(self), "kind": self.kind, "metric": self.metric}
        if self.kind == "chance":
            k = int(self.inner(x).sum())
            n = len(x)
            share = k / n if n else math.nan
            lo, hi = wilson(k, n)
            holds = n > 0 and share >= self.level
            out.update(
                {
                    "value": share,
                    "holds": bool(holds),
                    "share": share,
                    "wilson95": [lo, hi],
                    "certain": bool(lo >= self.level),
                }
            )
            return out
        if self.kind == "percentile":
            stat = float(np.percentile(finite, self.q)) if len(finite) else math.nan
        else:
            stat = float(finite.mean()) if len(finite) else math.nan
        out.update({"value": stat, "holds": self.ok(stat)})
        return out

    def __str__(self) -> str:
        if self.kind == "chance":
            return f"P({self.metric}{self.op}{self.value:g})>={self.level:g}"
        if self.kind == "percentile":
            return f"p{self.q:g}({self.metric}){self.op}{self.value:g}"
        return f"{self.metric}{self.op}{self.value:g}"


def parse_constraint(text: str) -> Constraint:
    """Parse ``"wait_hours.experiments.p95<=12"``, ``"p90(spend_usd.total)<=4.5e9"`` or
    ``"P(wait_hours.experiments.p95<=24)>=0.9"``."""
    m = _CHANCE.match(text)
    if m:
        level = float(m.group(4))
        if not 0 < level <= 1:
            raise ScenarioError("--constraint", text, f"the level must be in (0, 1], got {level:g}")
        return Constraint(m.group(1), m.group(2), float(m.group(3)), "chance", level=level)
    m = _PCT.match(text)
    if m:
        q = float(m.group(1))
        if not 0 < q < 100:
            raise ScenarioError(
                "--constraint", text, f"the percentile must be in (0, 100), got {q:g}"
            )
        return Constraint(m.group(2), m.group(3), float(m.group(4)), "percentile", q=q)
    m = _MEAN.match(text)
    if m:
        return Constraint(m.group(1), m.group(2), float(m.group(3)))
    raise ScenarioError("--constraint", text, f"must be {CONSTRAINT_FORMS}")


def parse_objective(text: str) -> tuple[str, float]:
    """``mean`` → ("mean", 0); ``p90`` → ("p", 90); ``cvar95`` → ("cvar", 95)."""
    m = re.fullmatch(r"(mean)|p([0-9]+(?:\.[0-9]+)?)|cvar([0-9]+(?:\.[0-9]+)?)", text.strip())
    if not m:
        raise ScenarioError("--objective", text, f"must be {OBJECTIVE_FORMS}")
    if m.group(1):
        return ("mean", 0.0)
    q = float(m.group(2) or m.group(3))
    if not 0 < q < 100:
        raise ScenarioError("--objective", text, f"N must be between 0 and 100, got {q:g}")
    return ("p" if m.group(2) else "cvar", q)


def objective_value(x: np.ndarray, objective: str) -> float:
    """The objective of a sample of the objective metric: its mean, its N-th percentile
    (``pN``) or the mean of its worst 100 − N % (``cvarN``)."""
    x = np.asarray(x, dtype=float)
    kind, q = parse_objective(objective)
    if kind == "mean":
        return float(x.mean())
    var = float(np.percentile(x, q))
    if kind == "p":
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
        half = t975(n - 1) * x.std(ddof=1) / math.sqrt(n)
        return (float(x.mean() - half), float(x.mean() + half))
    rng = np.random.default_rng(0)
    boots = [objective_value(x[rng.integers(0, n, n)], objective) for _ in range(resamples)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return (float(lo), float(hi))


def paired_difference_ci(a: np.ndarray, b: np.ndarray, objective: str) -> dict[str, float]:
    """objective(a) − objective(b) over paired replications, with a 95 % CI (t on the
    paired differences for the mean; a paired bootstrap otherwise)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    value = objective_value(a, objective) - objective_value(b, objective)
    n = len(a)
    if n < 2:
        return {"mean": value, "ci95_low": math.nan, "ci95_high": math.nan}
    if objective == "mean":
        d = a - b
        half = t975(n - 1) * float(d.std(ddof=1)) / math.sqrt(n)
        return {"mean": value, "ci95_low": value - half, "ci95_high": value + half}
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(400):
        idx = rng.integers(0, n, n)
        boots.append(objective_value(a[idx], objective) - objective_value(b[idx], objective))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"mean": value, "ci95_low": float(lo), "ci95_high": float(hi)}


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
    metric: str = OBJECTIVE_METRIC,
    vss: bool = False,
) -> SweepResult:
    """Run every grid point for ``n`` replications (more with ``target_ci_pct``).

    ``objective`` (mean, pN, cvarN) of ``metric`` is minimised over the points that meet
    every constraint. With ``vss`` the grid also runs once more with every uncertain input
    at its mean (the mean-value problem), to price planning for the average.
    ``on_total`` is told the number of replications still to come whenever more are
    added (for a progress bar); ``progress`` the number just finished.
    """
    parse_objective(objective)
    points = grid_points(axes)
    scenarios = point_scenarios(base, points)
    keys = tuple(a.key for a in axes)
    store = store if store is not None else batch.MemoryStore()
    total = n
    ev_scenarios = point_scenarios(mean_value_scenario(base), points) if vss else []
    if on_total:
        on_total(n * len(points) * (2 if vss else 1))
    # name a bad metric before any work, from a few simulated hours
    check_metrics(base, seed, metric, constraints)
    blocks = make_blocks(scenarios, points, seed, 0, n, workers)
    frame = batch.execute(blocks, store, workers, backend, scheduler, progress)
    precision: dict[str, Any] | None = None
    if target_ci_pct is not None:
        while True:
            worst = _worst_relative_half_width(frame, keys, objective, metric)
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
    ev_frame = None
    if vss:
        ev_blocks = [
            batch.Block(
                f"ev-{b.id}", b.variant, ev_scenarios[b.variant], b.seed, b.start, b.stop, b.labels
            )
            for b in make_blocks(scenarios, points, seed, 0, n, workers)
        ]
        ev_frame = batch.execute(ev_blocks, store, workers, backend, scheduler, progress)
        ev_frame = ev_frame.sort_values([*keys, "replication"], kind="stable")
    summary = summarize_sweep(
        frame, keys, objective, constraints, base, seed, metric=metric, ev_frame=ev_frame
    )
    summary["replications"] = total
    summary["seed"] = seed
    if precision is not None:
        summary["precision"] = precision
    return SweepResult(frame, summary, keys)


def mean_value_scenario(scenario: Scenario) -> Scenario:
    """The mean-value problem: every per-replication parameter at its mean, demand noise,
    price volatility and random shock episodes off. Job arrivals, sizes and durations stay
    random (they are the queue itself), so each replication still differs."""
    means = {p.path: p.dist.mean() for p in scenario.params() if not p.is_fixed}
    data = copy.deepcopy(scenario.raw)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in list(node.items()):
                sub = f"{path}.{key}" if path else key
                if sub in means:
                    node[key] = means[sub]
                elif isinstance(value, list) and any(
                    f"{sub}[{k}]" in means for k in range(len(value))
                ):
                    node[key] = [means.get(f"{sub}[{k}]", v) for k, v in enumerate(value)]
                else:
                    walk(value, sub)
        elif isinstance(node, list):
            for k, value in enumerate(node):
                name = value.get("name") if isinstance(value, dict) else None
                walk(value, f"{path}.{name}" if name else f"{path}[{k}]")

    walk(data, "")
    for w in data.get("workloads", {}).values():
        if isinstance(w, dict) and w.get("kind") == "demand":
            w["noise_cv"] = 0.0
    for table in [*data.get("pools", {}).values(), *data.get("overflow", [])]:
        if isinstance(table, dict) and "price_volatility" in table:
            table["price_volatility"] = 0.0
    data.pop("shocks", None)
    out = scenario_from_dict(data, scenario.source, scenario.base_dir)
    left = [p.path for p in out.params() if not p.is_fixed]
    if left:
        raise ScenarioError(
            "--vss", left[0], "cannot be set to its mean for the mean-value problem"
        )
    return out


def check_metrics(
    base: Scenario, seed: int, metric: str, constraints: Sequence[Constraint]
) -> None:
    """Name a bad objective metric or constraint metric before any work, from the metric
    names of a few simulated hours."""
    probe = with_overrides(base, {"scenario.years": 0.001}, "--constraint")
    names = list(run_replication(probe, seed, 0).metrics)
    if metric not in names:
        raise ScenarioError("--metric", metric, f"no such metric{did_you_mean(metric, names)}")
    _check_constraints(constraints, names)


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


def _worst_relative_half_width(
    frame: pd.DataFrame, keys: Sequence[str], objective: str, metric: str = OBJECTIVE_METRIC
) -> float:
    worst = 0.0
    for _, g in _groups(frame, keys):
        x = g[metric].to_numpy()
        lo, hi = objective_ci(x, objective)
        value = abs(objective_value(x, objective))
        rel = (hi - lo) / 2 / value if value > 0 else 0.0
        worst = max(worst, rel if not math.isnan(rel) else math.inf)
    return worst


def reserved_units(scenario: Scenario) -> dict[str, list[int]]:
    """Reserved units per contract year of every pool, as the scenario runs them."""
    n = max(1, math.ceil(scenario.years - 1e-9))
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
    for values, g in _groups(frame, keys):
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
        _label(points[i], keys): float(np.mean(winners == i)) for i in sorted(set(winners.tolist()))
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
    ev_groups = _groups(ev_frame, keys)
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
