"""What a sizing study minimises and what it must satisfy: objectives (mean, pN, cvarN)
with their intervals, constraints (mean, percentile, chance with Wilson intervals) and
paired differences between points."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import ScenarioError
from sim.variance import t975

OBJECTIVES = ("mean", "p95", "cvar95")
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


def replications_for_certainty(level: float, z: float = 1.959963984540054) -> int:
    """The fewest replications at which a chance constraint at ``level`` can be shown met at
    all: even n successes of n have a Wilson lower bound of n / (n + z²), which must clear
    the level (n ≥ z² p / (1 − p)); a level of 1 can never be shown."""
    if level >= 1.0:
        return 10**9
    return math.ceil(z * z * level / (1.0 - level) - 1e-9)


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
