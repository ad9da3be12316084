"""``capsim optimize``: the reserved level of every contract year of the named pools.

Sample-average approximation with common random numbers: every candidate ramp runs the same
replications 0..n-1, so candidates differ by contract, not by luck. The search works on the
integer lattice of whole instances per pool and contract year:

1. a coarse sweep of one uniform scale of the scenario's own ramps (×0.6 … ×1.4) gives the
   starting point (the best scale meeting every constraint);
2. a pattern search polls, around the incumbent, every coordinate ± the current step (all
   polls of one round run as one batch, in parallel; with ``commitment``, the spend
   commitment is one more coordinate, moving between 0, the scenario's own and the
   thresholds of its ``discount_tiers``), moves to the best improving neighbour once its
   paired difference with the incumbent is settled at 95 % (:mod:`sim.optimize.confirm`:
   more replications while in doubt; a move left in doubt is not taken, and reported), and
   halves the step when none improves, until the step is below one instance or the
   replication budget is spent. ``--shape`` constrains the ramp: ``free`` (any level each
   year), ``flat`` (one level for every year), ``non-decreasing`` (a poll that would break
   the order lifts or lowers the neighbouring years with it).
3. The winner, the scenario's own ramp and the best uniform scale are then evaluated on
   ``holdout`` fresh replications (indices n … n+holdout−1): the in-sample objective of the
   winner is biased down by the search (the optimizer's curse), the held-out one is not.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim import batch, calendar, fmt
from sim.errors import ScenarioError, did_you_mean
from sim.grid import Axis
from sim.optimize import confirm
from sim.optimize.summary import summarize, value_at
from sim.scenario import Scenario, with_overrides
from sim.sweep import (
    BLOCK,
    Constraint,
    check_metrics,
    objective_value,
    parse_objective,
    reserved_units,
)

SHAPES = ("free", "flat", "non-decreasing")
UNIFORM_SCALES = (0.6, 0.8, 1.0, 1.2, 1.4)

Ramp = tuple[tuple[int, ...], ...]
"""Instances per contract year, one tuple per optimised pool."""


@dataclass(frozen=True)
class Evaluation:
    """A candidate's replications and what they say."""

    ramp: Ramp
    frame: pd.DataFrame
    value: float
    feasible: bool
    violation: float
    """How far the constraints are from holding (0 when feasible), to rank infeasible ones."""

    def better_than(self, other: Evaluation) -> bool:
        if self.feasible != other.feasible:
            return self.feasible
        if not self.feasible:
            return self.violation < other.violation - 1e-12
        return self.value < other.value - 1e-9 * max(1.0, abs(other.value))


@dataclass(frozen=True, eq=False)
class OptimizeResult:
    """What an optimize run found: every evaluation, the summary and the best scenario."""

    evaluations: pd.DataFrame
    summary: dict[str, Any]
    best: Scenario


def _violation(frame: pd.DataFrame, constraints: Sequence[Constraint]) -> tuple[bool, float]:
    total = 0.0
    ok = True
    for c in constraints:
        ev = c.evaluate(frame[c.metric].to_numpy())
        if ev["holds"]:
            continue
        ok = False
        if c.kind == "chance":
            total += c.level - ev["share"]
        else:
            v = ev["value"]
            scale = max(abs(c.value), 1e-9)
            total += abs(v - c.value) / scale if math.isfinite(v) else 1e6
    return ok, total


class Optimizer:
    """One optimisation: the pools, the shape, the replications and where blocks go."""

    def __init__(
        self,
        base: Scenario,
        pools: Sequence[str],
        n: int,
        seed: int,
        objective: str = "mean",
        metric: str = "spend_usd.total",
        constraints: Sequence[Constraint] = (),
        shape: str = "free",
        budget: int | None = None,
        workers: int = 1,
        store: batch.BlockStore | None = None,
        progress: batch.ProgressFn | None = None,
        on_total: batch.ProgressFn | None = None,
        commitment: bool = False,
        axes: Sequence[Axis] = (),
    ) -> None:
        parse_objective(objective)
        if shape not in SHAPES:
            raise ScenarioError("--shape", shape, f"must be one of {', '.join(SHAPES)}")
        if not pools and not axes:
            raise ScenarioError(
                "--pool", "", "name at least one pool to optimise, or a --vary parameter"
            )
        for p in pools:
            if p not in base.pools:
                raise ScenarioError(
                    "--pool",
                    p,
                    f"names no pool{did_you_mean(p, base.pools)}; pools: {', '.join(base.pools)}",
                )
        self.base = base
        self.pools = tuple(dict.fromkeys(pools))
        self.n = n
        self.seed = seed
        self.objective = objective
        self.metric = metric
        self.constraints = tuple(constraints)
        self.shape = shape
        self.years = calendar.contract_years(base.years)
        self.budget = budget
        self.workers = workers
        self.store = store if store is not None else batch.MemoryStore()
        self.progress = progress
        self.on_total = on_total
        self.cache: dict[Ramp, Evaluation] = {}
        self.extra: dict[Ramp, pd.DataFrame] = {}  # confirmation replications (confirm.py)
        self.confirm_cap = 5 * n  # confirmation replications a move's sides may reach
        self.moves: list[dict[str, Any]] = []
        self.used = 0
        self.m = {p: base.pools[p].instance_units for p in self.pools}
        # other numbers searched (a strategy's cover, a tranche's units ...): each one more
        # coordinate, an index into its grid of values, all in one tuple after the pools
        self.axes = tuple(axes)
        for a in self.axes:  # every value must make a valid scenario: fail before any work
            for v in a.values:
                with_overrides(base, {a.key: v}, "--vary")
        # the commitment, when searched, is one more coordinate: an index into its choices
        self.commit_options: list[float] = []
        if commitment:
            c = base.contract
            if not c.discount_tiers:
                raise ScenarioError(
                    "--commitment",
                    "contract.discount_tiers",
                    "a commitment buys nothing without discount tiers: give [contract] "
                    "discount_tiers = [{ commitment_usd = ..., discount = ... }, ...]",
                )
            if c.period != "term":
                raise ScenarioError(
                    "--commitment", "contract.period", 'is searched for period = "term" only'
                )
            options = {0.0, *(t for t, _ in c.discount_tiers), *c.commitment_usd}
            self.commit_options = sorted(options)

    def check_metrics(self) -> None:
        """Name a bad --metric or --constraint metric before any work."""
        check_metrics(self.base, self.seed, self.metric, self.constraints)

    # ----------------------------------------------------------------- candidates

    def units(self, ramp: Ramp) -> dict[str, list[int]]:
        return {p: [k * self.m[p] for k in r] for p, r in zip(self.pools, ramp, strict=False)}

    def parameters(self, ramp: Ramp) -> dict[str, Any]:
        """The searched parameters' values of a candidate (``--vary``)."""
        if not self.axes:
            return {}
        index = ramp[len(self.pools)]
        return {a.key: a.values[i] for a, i in zip(self.axes, index, strict=True)}

    def _own_indices(self) -> tuple[int, ...]:
        """The grid index nearest the scenario's own value of each searched parameter."""
        out = []
        for a in self.axes:
            own = value_at(self.base.raw, a.key)
            nums = [v for v in a.values if isinstance(v, int | float)]
            if own in a.values:
                out.append(a.values.index(own))
            elif isinstance(own, int | float) and len(nums) == len(a.values):
                out.append(min(range(len(a.values)), key=lambda i: abs(a.values[i] - own)))
            else:
                out.append(0)
        return tuple(out)

    def commitment(self, ramp: Ramp) -> float | None:
        """The commitment a candidate signs, when the commitment is searched."""
        return self.commit_options[ramp[-1][0]] if self.commit_options else None

    def scenario(self, ramp: Ramp) -> Scenario:
        values: dict[str, Any] = {}
        for p, u in self.units(ramp).items():
            values[f"pools.{p}.reserved"] = u
            values[f"pools.{p}.reserved_scale"] = 1.0
        c = self.commitment(ramp)
        if c is not None:
            values["contract.commitment_usd"] = c
        values.update(self.parameters(ramp))
        return with_overrides(self.base, values, "optimize")

    def _with_commitment(self, ramp: Ramp, index: int | None = None) -> Ramp:
        if not self.commit_options:
            return ramp
        if index is None:
            own = sum(self.base.contract.commitment_usd)
            index = min(
                range(len(self.commit_options)),
                key=lambda i: abs(self.commit_options[i] - own),
            )
        return (*ramp, (index,))

    def own_ramp(self) -> Ramp:
        units = reserved_units(self.base)
        pools = tuple(tuple(u // self.m[p] for u in units[p]) for p in self.pools)
        return self._with_commitment(self._with_parameters(pools))

    def _with_parameters(self, pools: Ramp, index: tuple[int, ...] | None = None) -> Ramp:
        if not self.axes:
            return pools
        return (*pools, index if index is not None else self._own_indices())

    def shaped_own(self) -> Ramp:
        """The scenario's own ramp put through the asked shape (itself when it has it)."""
        own = self.own_ramp()
        shaped = tuple(self._shaped(r) for r in own[: len(self.pools)])
        return (*shaped, *own[len(self.pools) :])

    def has_shape(self, ramp: Ramp) -> bool:
        """Whether every pool's ramp of a candidate has the asked shape."""
        return all(self._shaped(r) == r for r in ramp[: len(self.pools)])

    def scaled(self, scale: float) -> Ramp:
        own = self.own_ramp()[: len(self.pools)]
        ramp = tuple(self._shaped(tuple(max(0, int(k * scale)) for k in r)) for r in own)
        return self._with_commitment(self._with_parameters(ramp))

    def _shaped(self, r: tuple[int, ...]) -> tuple[int, ...]:
        if self.shape == "flat":
            return (max(r),) * len(r)
        if self.shape == "non-decreasing":
            return tuple(int(v) for v in np.maximum.accumulate(np.asarray(r)))
        return r

    def _id(self, ramp: Ramp, start: int, stop: int) -> str:
        key = json.dumps([list(r) for r in ramp])
        h = hashlib.sha256(key.encode()).hexdigest()[:16]
        return f"c{h}-r{start:06d}-{stop:06d}"

    # ----------------------------------------------------------------- evaluation

    def evaluate(
        self, ramps: Sequence[Ramp], start: int = 0, stop: int | None = None
    ) -> list[Evaluation]:
        """Run (or load) replications start..stop-1 of every ramp, as one batch."""
        stop = self.n if stop is None else stop
        todo = [
            r for r in dict.fromkeys(ramps) if (start, stop) != (0, self.n) or r not in self.cache
        ]
        blocks = []
        for r in todo:
            sc = self.scenario(r)
            label = {"candidate": self._id(r, 0, 0)[1:17]}
            for a in range(start, stop, BLOCK):
                b = min(a + BLOCK, stop)
                blocks.append(batch.Block(self._id(r, a, b), 0, sc, self.seed, a, b, label))
        if blocks:
            if self.on_total:
                self.on_total(sum(b.stop - b.start for b in blocks))
            frame = batch.execute(blocks, self.store, self.workers, progress=self.progress)
            self.used += sum(b.stop - b.start for b in blocks)
        else:
            frame = pd.DataFrame()
        out = []
        for r in ramps:
            if (start, stop) == (0, self.n) and r in self.cache:
                out.append(self.cache[r])
                continue
            f = frame[frame["candidate"] == self._id(r, 0, 0)[1:17]].sort_values("replication")
            ok, violation = _violation(f, self.constraints)
            ev = Evaluation(
                r, f, objective_value(f[self.metric].to_numpy(), self.objective), ok, violation
            )
            if (start, stop) == (0, self.n):
                self.cache[r] = ev
            out.append(ev)
        return out

    def _room(self, k: int) -> bool:
        return self.budget is None or self.used + k * self.n <= self.budget

    # ----------------------------------------------------------------- search

    def neighbours(self, ramp: Ramp, step: int) -> list[Ramp]:
        out = []
        if self.commit_options:  # the commitment moves one choice at a time
            k = ramp[-1][0]
            for d in (1, -1):
                if 0 <= k + d < len(self.commit_options):
                    out.append((*ramp[:-1], (k + d,)))
        if self.axes:  # each searched parameter moves one grid value at a time
            index = ramp[len(self.pools)]
            for j, a in enumerate(self.axes):
                for d in (1, -1):
                    if 0 <= index[j] + d < len(a.values):
                        moved = tuple(v + d if q == j else v for q, v in enumerate(index))
                        out.append((*ramp[: len(self.pools)], moved, *ramp[len(self.pools) + 1 :]))
        for i, r in enumerate(ramp[: len(self.pools)]):
            coords = [0] if self.shape == "flat" else range(len(r))
            for y in coords:
                for d in (step, -step):
                    new = list(r)
                    if self.shape == "flat":
                        new = [max(0, r[0] + d)] * len(r)
                    else:
                        new[y] = max(0, r[y] + d)
                        if self.shape == "non-decreasing":
                            if d > 0:
                                new[y:] = [max(v, new[y]) for v in new[y:]]
                            else:
                                new[: y + 1] = [min(v, new[y]) for v in new[: y + 1]]
                    cand = tuple(tuple(new) if j == i else ramp[j] for j in range(len(ramp)))
                    if cand != ramp:
                        out.append(cand)
        return list(dict.fromkeys(out))

    def run(self, holdout: int = 0, log: Callable[[str], None] | None = None) -> OptimizeResult:
        say = log or (lambda _m: None)
        say(
            f"start: {len(UNIFORM_SCALES)} uniform scales of the scenario's ramp and the ramp "
            f"itself, {self.n} replications each"
        )
        uniform = self.evaluate([self.scaled(s) for s in UNIFORM_SCALES])
        own = self.evaluate([self.own_ramp()])[0]
        # the own ramp is what the answer is compared with; it competes only in the asked
        # shape (a falling ramp under --shape flat starts the search as its flat cover)
        start = self.evaluate([self.shaped_own()])[0]
        best_uniform = uniform[0]
        for ev, _s in zip(uniform[1:], UNIFORM_SCALES[1:], strict=True):
            if ev.better_than(best_uniform):
                best_uniform = ev
        scale = UNIFORM_SCALES[[e.ramp for e in uniform].index(best_uniform.ramp)]
        incumbent = (
            best_uniform
            if best_uniform.better_than(start) or best_uniform.ramp == start.ramp
            else start
        )
        say(
            f"start: uniform scale {scale:g}, {self.objective} "
            f"{fmt.metric_value(incumbent.value, self.metric)}"
        )
        top = max((max(r) for r in incumbent.ramp[: len(self.pools)]), default=1)
        step = max(1, round(0.1 * top))
        rounds = 0
        while step >= 1:
            polls = [r for r in self.neighbours(incumbent.ramp, step) if r not in self.cache]
            if polls and not self._room(len(polls)):
                say("budget reached")
                break
            say(
                f"round {rounds + 1}: {len(polls)} new candidates around the best so far, "
                f"{fmt.metric_value(incumbent.value, self.metric)} (step {step})"
            )
            evs = self.evaluate(self.neighbours(incumbent.ramp, step))
            rounds += 1
            moved = self._move(incumbent, evs, rounds, step)
            if moved is None:
                step //= 2
            else:
                incumbent = moved
                say(
                    f"round {rounds}: moved, {self.objective} "
                    f"{fmt.metric_value(incumbent.value, self.metric)} (step {step})"
                )
        assert self.has_shape(incumbent.ramp), (self.shape, incumbent.ramp)
        summary = self._summary(incumbent, own, best_uniform, scale, rounds, holdout)
        frames = []
        for ramp, ev in self.cache.items():
            f = ev.frame.drop(columns=["candidate"]).copy()
            for p, u in self.units(ramp).items():
                for y, v in enumerate(u):
                    f.insert(0, f"{p}.year{y + 1}", v)
            c = self.commitment(ramp)
            if c is not None:
                f.insert(0, "commitment_usd", c)
            for key, v in self.parameters(ramp).items():
                f.insert(0, key, v)
            frames.append(f)
        evaluations = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return OptimizeResult(evaluations, summary, self.scenario(incumbent.ramp))

    def _move(
        self, incumbent: Evaluation, evs: Sequence[Evaluation], rounds: int, step: int
    ) -> Evaluation | None:
        """The poll to move to: the best-looking ones in turn (at most two), each only if
        the paired difference settles it better (:mod:`sim.optimize.confirm`)."""
        better = [ev for ev in evs if ev.better_than(incumbent)]
        better.sort(key=lambda e: (not e.feasible, e.violation if not e.feasible else e.value))
        for ev in better[:2]:
            v = confirm.confirm(self, incumbent, ev, len(evs), self.confirm_cap)
            self.moves.append(
                {
                    "round": rounds,
                    "step": step,
                    "pools": self.units(ev.ramp),
                    "verdict": v.verdict,
                    "difference_ci": [v.low, v.high],
                    "replications": v.replications,
                }
            )
            if v.verdict in ("accept", "feasibility"):
                return ev
        return None

    def _summary(
        self,
        best: Evaluation,
        own: Evaluation,
        uniform: Evaluation,
        scale: float,
        rounds: int,
        holdout: int,
    ) -> dict[str, Any]:
        return summarize(self, best, own, uniform, scale, rounds, holdout)
