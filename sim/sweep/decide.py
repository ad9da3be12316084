"""When a sizing study's answer is settled: sequential elimination with paired differences.

The procedure is the screening step of the ranking-and-selection literature (Nelson, Swann,
Goldsman & Song 2001, "Simple procedures for selecting the best simulated system when the
number of alternatives is large"; Kim & Nelson 2001's KN procedure is its fully sequential
form) applied after every block of replications:

* the *incumbent* is the cheapest point (by the objective) whose constraints hold by their
  point estimates;
* a point is *settled* when it is certainly infeasible (a constraint's 95 % interval lies on
  the wrong side: the Wilson interval for a chance constraint, the t interval of the mean,
  a bootstrap of the percentile), or when it is certainly worse than the incumbent: the
  paired difference of the objective (common random numbers: replication i of both saw the
  same demand) has its confidence interval above zero, at level 1 − α/(k − 1) for k points
  (Bonferroni over the comparisons). For the mean, the interval is the narrower of the plain
  paired-t one and the control-variate-adjusted one (the offered-work controls, mean exactly
  zero) when there are enough replications to fit them;
* the incumbent is settled when every constraint is certainly met;
* the study is *decided* when every point is settled. Otherwise the next block runs at the
  unsettled points and at the incumbent (so the pairing holds), until the budget ends.

Unlike KN, there is no indifference zone: two points whose objectives truly tie are never
separated, and the budget decides (the answer then says which points were still in doubt).
The screening is repeated after each block, which spends some of the nominal α on the
repeated looks: the confidence is nominal, not exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim import fmt
from sim.sweep.objectives import Constraint, objective_value
from sim.variance import CONTROL_PREFIX, adjusted

PROCEDURE = (
    "sequential elimination with paired differences (Nelson et al. 2001 screening, "
    "Bonferroni over the comparisons, after every block)"
)


@dataclass
class Decision:
    """The state of a decision after some blocks: the incumbent and what is still open."""

    best: int | None
    settled: list[bool]
    reasons: list[str]
    replications: list[int]
    confidence: float = 0.95
    alive: list[int] = field(default_factory=list)

    @property
    def decided(self) -> bool:
        return self.best is not None and all(self.settled)

    def to_dict(self, labels: Sequence[str]) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "procedure": PROCEDURE,
            "confidence": self.confidence,
            "replications_used": int(sum(self.replications)),
            "replications_per_point": {
                lab: int(n) for lab, n in zip(labels, self.replications, strict=True)
            },
            "unsettled": [lab for lab, s in zip(labels, self.settled, strict=True) if not s],
            "reasons": dict(zip(labels, self.reasons, strict=True)),
        }


def _interval(z: np.ndarray, level: float) -> tuple[float, float]:
    n = len(z)
    if n < 2:
        return (-math.inf, math.inf)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(z.std(ddof=1)) / math.sqrt(n)
    m = float(z.mean())
    return (m - half, m + half)


def difference_interval(
    a: np.ndarray,
    b: np.ndarray,
    objective: str,
    level: float,
    controls: np.ndarray | None = None,
) -> tuple[float, float]:
    """A ``level`` confidence interval of objective(a) − objective(b) over paired
    replications: paired t for the mean (narrowed by control variates where they help), a
    seeded paired bootstrap for a percentile or CVaR objective."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2:
        return (-math.inf, math.inf)
    if objective == "mean":
        d = a - b
        lo, hi = _interval(d, level)
        if controls is not None and controls.size:
            cv = adjusted(d, controls)
            if cv is not None:
                # the adjusted interval is a 95 % one: rescale its half-width to the level
                dof = max(len(d) - int(cv["controls"]) - 1, 1)
                scale = float(stats.t.ppf(0.5 + level / 2, dof)) / float(stats.t.ppf(0.975, dof))
                half = (cv["ci95_high"] - cv["ci95_low"]) / 2 * scale
                if half < (hi - lo) / 2:
                    lo, hi = cv["mean"] - half, cv["mean"] + half
        return (lo, hi)
    rng = np.random.default_rng(0)
    n = len(a)
    boots = np.empty(1000)
    for k in range(len(boots)):
        idx = rng.integers(0, n, n)
        boots[k] = objective_value(a[idx], objective) - objective_value(b[idx], objective)
    tail = 50 * (1 - level)
    lo, hi = np.percentile(boots, [tail, 100 - tail])
    return (float(lo), float(hi))


def _constraint_status(c: Constraint, x: np.ndarray) -> str:
    """``met``, ``broken`` (both certain at 95 %) or ``open``."""
    x = np.asarray(x, dtype=float)
    ev = c.evaluate(x)
    if c.kind == "chance":
        lo, hi = ev["wilson95"]
        if lo >= c.level:
            return "met"
        return "broken" if hi < c.level else "open"
    finite = x[~np.isnan(x)]
    if len(finite) < 2:
        return "open"
    if c.kind == "mean":
        lo, hi = _interval(finite, 0.95)
    else:
        rng = np.random.default_rng(1)
        boots = [
            float(np.percentile(finite[rng.integers(0, len(finite), len(finite))], c.q))
            for _ in range(400)
        ]
        lo, hi = (float(v) for v in np.percentile(boots, [2.5, 97.5]))
    if c.ok(lo) and c.ok(hi):
        return "met"
    if not c.ok(lo) and not c.ok(hi):
        return "broken"
    return "open"


def decide(
    groups: Sequence[pd.DataFrame],
    objective: str,
    constraints: Sequence[Constraint],
    metric: str,
    alpha: float = 0.05,
) -> Decision:
    """Screen the points (one frame of replications each, with a ``replication`` column)
    and say which are settled. Paired comparisons use the replications both points ran."""
    k = len(groups)
    frames = [g.sort_values("replication") for g in groups]
    counts = [len(g) for g in frames]
    status = [[_constraint_status(c, g[c.metric].to_numpy()) for c in constraints] for g in frames]
    values = [objective_value(g[metric].to_numpy(), objective) for g in frames]
    feasible = [
        all(c.evaluate(g[c.metric].to_numpy())["holds"] for c in constraints) for g in frames
    ]
    ok = [i for i in range(k) if feasible[i]]
    best = min(ok, key=lambda i: values[i]) if ok else None
    level = 1 - alpha / max(k - 1, 1)
    settled = [False] * k
    reasons = ["" for _ in range(k)]
    for i in range(k):
        if "broken" in status[i]:
            settled[i] = True
            broken = [str(c) for c, s in zip(constraints, status[i], strict=True) if s == "broken"]
            reasons[i] = "certainly breaks " + ", ".join(broken)
        elif i == best:
            settled[i] = all(s == "met" for s in status[i])
            reasons[i] = (
                "the cheapest point meeting every constraint"
                if settled[i]
                else "the cheapest so far; a constraint is not yet certainly met"
            )
    if best is not None:
        b = frames[best]
        for i in range(k):
            if settled[i] or i == best:
                continue
            both = frames[i].merge(b, on="replication", suffixes=("", "__best"))
            ctl = [c for c in both.columns if c.startswith(CONTROL_PREFIX) and "__" not in c]
            lo, hi = difference_interval(
                both[metric].to_numpy(),
                both[f"{metric}__best"].to_numpy(),
                objective,
                level,
                both[ctl].to_numpy(dtype=float) if ctl else None,
            )
            span = f"{fmt.metric_change(lo, metric)} to {fmt.metric_change(hi, metric)}"
            if lo > 0:
                settled[i] = True
                reasons[i] = f"certainly dearer than the incumbent (by {span})"
            else:
                reasons[i] = f"not yet separated from the incumbent ({span})"
    else:
        for i in range(k):
            if not settled[i]:
                reasons[i] = "no point yet meets every constraint"
    alive = [i for i in range(k) if not settled[i]]
    if alive and best is not None and best not in alive:
        alive.append(best)
    return Decision(best, settled, reasons, counts, 1 - alpha, sorted(alive))
