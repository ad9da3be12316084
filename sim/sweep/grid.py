"""Running a grid of scenarios in blocks of replications, with common random numbers;
the mean-value scenario and the checks on metric names before any work starts."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim import batch
from sim.errors import ScenarioError, did_you_mean
from sim.grid import Axis, grid_points, point_scenarios
from sim.montecarlo import run_replication
from sim.scenario import Scenario, Shock, scenario_from_dict, with_overrides
from sim.sweep.decide import Decision, decide
from sim.sweep.objectives import (
    OBJECTIVE_METRIC,
    Constraint,
    objective_ci,
    objective_value,
    parse_objective,
)
from sim.sweep.summary import point_groups, point_label, summarize_sweep

BLOCK = 10  # replications per block: the unit of work, of progress and of resume


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A finished sweep: one row per point × replication, and its summary."""

    points: pd.DataFrame
    summary: dict[str, Any]
    keys: tuple[str, ...]


def block_id(variant: int, start: int, stop: int) -> str:
    """A block of replications' name in a study's ``chunks/`` folder."""
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
    until_decided: bool = False,
) -> SweepResult:
    """Run every grid point for ``n`` replications (more with ``target_ci_pct``).

    ``objective`` (mean, pN, cvarN) of ``metric`` is minimised over the points that meet
    every constraint. With ``vss`` the grid also runs once more with every uncertain input
    at its mean (the mean-value problem), to price planning for the average. With
    ``until_decided``, blocks are added only at the points whose comparison with the
    incumbent is not yet settled (:mod:`sim.sweep.decide`), up to ``max_replications`` a
    point.
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

    def execute(new: list[batch.Block]) -> pd.DataFrame:
        # only new blocks: the finished ones are in the frame (and in the bar)
        return batch.execute(new, store, workers, backend, scheduler, progress)

    precision: dict[str, Any] | None = None
    if target_ci_pct is not None:
        precision, frame = _until_precise(
            frame, scenarios, points, keys, objective, metric, seed, n, target_ci_pct,
            max_replications, execute, on_total,
        )  # fmt: skip
        total = precision["replications"]
    decision: Decision | None = None
    if until_decided:
        decision, frame = _until_decided(
            frame, scenarios, points, keys, objective, constraints, metric, seed,
            max_replications, execute, on_total,
        )  # fmt: skip
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
    if decision is not None:
        summary["replications"] = max(decision.replications)
        summary["decision"] = decision.to_dict([point_label(p, keys) for p in points])
    return SweepResult(frame, summary, keys)


def _until_precise(
    frame: pd.DataFrame,
    scenarios: Sequence[Scenario],
    points: Sequence[dict[str, Any]],
    keys: Sequence[str],
    objective: str,
    metric: str,
    seed: int,
    n: int,
    target_pct: float,
    cap: int,
    execute: Callable[[list[batch.Block]], pd.DataFrame],
    on_total: batch.ProgressFn | None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """``--target-ci``: ``n`` more replications at every point until the worst relative
    half-width of the objective's 95 % CI is below ``target_pct`` % or ``cap`` is reached."""
    total = n
    while True:
        worst = _worst_relative_half_width(frame, keys, objective, metric)
        met = worst <= target_pct / 100
        if met or total >= cap:
            return {
                "target_pct": target_pct,
                "achieved_pct": 100 * worst,
                "replications": total,
                "met": bool(met),
                "cap": cap,
            }, frame
        more = min(n, cap - total)
        if on_total:
            on_total(more * len(points))
        new = make_blocks(scenarios, points, seed, total, total + more, 1)
        total += more
        frame = pd.concat([frame, execute(new)], ignore_index=True)


def _until_decided(
    frame: pd.DataFrame,
    scenarios: Sequence[Scenario],
    points: Sequence[dict[str, Any]],
    keys: Sequence[str],
    objective: str,
    constraints: Sequence[Constraint],
    metric: str,
    seed: int,
    cap: int,
    execute: Callable[[list[batch.Block]], pd.DataFrame],
    on_total: batch.ProgressFn | None,
) -> tuple[Decision, pd.DataFrame]:
    """Add a block at the unsettled points and the incumbent until every point is settled
    or no unsettled point may run more (``cap`` replications a point). Every point's
    replications are 0..m-1 for its own m, so pairs share their first replications. The
    blocks depend only on the results so far, so ``--resume`` finds the same ones."""
    while True:
        by_values = {tuple(v.values()): g for v, g in point_groups(frame, keys)}
        groups = [by_values[tuple(p[k] for k in keys)] for p in points]
        decision = decide(groups, objective, constraints, metric)
        counts = decision.replications
        grow = [i for i in decision.alive if counts[i] < cap]
        if decision.decided or not any(not decision.settled[i] for i in grow):
            return decision, frame
        # one block more at each (to the next multiple of BLOCK): a point that fell behind
        # and is back in doubt catches up a block a round, paired on the runs both have
        stops = {i: min((counts[i] // BLOCK + 1) * BLOCK, cap) for i in grow}
        new = [
            batch.Block(
                block_id(i, counts[i], b), i, scenarios[i], seed, counts[i], b, dict(points[i])
            )
            for i, b in stops.items()
        ]
        if on_total:
            on_total(sum(b.stop - b.start for b in new))
        frame = pd.concat([frame, execute(new)], ignore_index=True)


def _mean_shock(shock: Shock) -> dict[str, Any]:
    """A shock's episodes at their mean, as a change from the start: episodes starting at
    rate λ a year, each multiplying demand by F for D years, multiply it on average by
    exp(λ E[D] (E[F] − 1)) (Campbell's theorem for multiplicative shot noise; overlapping
    episodes multiply)."""
    lam = shock.per_year.dist.mean()
    factor = math.exp(lam * shock.duration_years.mean() * (shock.factor.mean() - 1.0))
    return {"workload": list(shock.workloads), "at_years": 0.0, "factor": factor}


def mean_value_scenario(scenario: Scenario) -> Scenario:
    """The mean-value problem: every per-replication parameter at its mean, demand noise
    and price volatility off, random shock episodes replaced by their mean effect. Job
    arrivals, sizes and durations stay random (they are the queue itself), so each
    replication still differs."""
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
    if scenario.shocks:  # each shock at its mean: the demand multiplier it gives on average
        data["changes"] = [*data.get("changes", []), *map(_mean_shock, scenario.shocks)]
    out = scenario_from_dict(data, scenario.source, scenario.base_dir, scenario.allow_external_data)
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


def _worst_relative_half_width(
    frame: pd.DataFrame, keys: Sequence[str], objective: str, metric: str = OBJECTIVE_METRIC
) -> float:
    worst = 0.0
    for _, g in point_groups(frame, keys):
        x = g[metric].to_numpy()
        lo, hi = objective_ci(x, objective)
        value = abs(objective_value(x, objective))
        rel = (hi - lo) / 2 / value if value > 0 else 0.0
        worst = max(worst, rel if not math.isnan(rel) else math.inf)
    return worst
